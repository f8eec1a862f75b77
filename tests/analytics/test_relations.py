"""Degree relations on hand-made snapshots with known answers."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from rapport.analytics.relations import pearson, relations


def snapshot() -> pa.Table:
    # loyalty = 2 · satisfaction (r = 1); engagement reversed (r = -1);
    # advocacy known for four customers only
    return pa.table(
        {
            "satisfaction": [10.0, 20.0, 30.0, 40.0, 50.0, 60.0],
            "loyalty": [20.0, 40.0, 60.0, 80.0, 100.0, None],
            "engagement": [60.0, 50.0, 40.0, 30.0, 20.0, 10.0],
            "advocacy": [None, 10.0, 30.0, 20.0, 40.0, None],
        }
    )


def test_known_correlations() -> None:
    rel = relations(snapshot())
    c = rel.correlation
    assert c[0, 1] == pytest.approx(1.0)
    assert c[0, 2] == pytest.approx(-1.0)
    assert c[1, 2] == pytest.approx(-1.0)
    # satisfaction vs advocacy over customers 2..5: x = 20,30,40,50; y = 10,30,20,40 → r = 0.8
    assert c[0, 3] == pytest.approx(0.8)
    assert np.allclose(c, c.T)
    assert np.allclose(np.diag(c), 1.0)
    assert rel.pairs[0, 1] == 5 and rel.pairs[0, 3] == 4 and rel.pairs[3, 3] == 4


def test_pearson_matches_numpy_and_handles_degenerate_input() -> None:
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=50), rng.normal(size=50)
    assert pearson(x, y)[0] == pytest.approx(np.corrcoef(x, y)[0, 1])
    assert np.isnan(pearson(np.array([1.0]), np.array([2.0]))[0])
    assert np.isnan(pearson(np.array([1.0, 1.0, 1.0]), np.array([1.0, 2.0, 3.0]))[0])


def test_chain_with_top_quartile_cuts() -> None:
    rel = relations(snapshot())
    # satisfaction's cut: 75th percentile of 10..60 = 47.5; loyalty's: of 20..100 = 80
    assert rel.cuts["satisfaction"] == pytest.approx(47.5)
    assert rel.cuts["loyalty"] == pytest.approx(80)
    sat_loy = rel.links[0]
    assert (sat_loy.source, sat_loy.target) == ("satisfaction", "loyalty")
    # both known: customers 1..5; high satisfaction: customer 5 (50); high loyalty: 4, 5
    assert sat_loy.high_source == 1
    assert sat_loy.share == pytest.approx(1.0)
    assert sat_loy.base_rate == pytest.approx(2 / 5)
    assert sat_loy.lift == pytest.approx(2.5)
    loy_eng = rel.links[1]
    assert loy_eng.share == pytest.approx(0.0)  # the most loyal are the least engaged
    table = rel.chain_table()
    assert table.column("share").to_pylist()[0] == pytest.approx(1.0)


def test_chain_with_an_absolute_threshold() -> None:
    rel = relations(snapshot(), high=50)
    assert set(rel.cuts.values()) == {50.0}
    link = rel.links[0]
    # both known 1..5: satisfaction ≥ 50 → customer 5; loyalty ≥ 50 → customers 3, 4, 5
    assert link.high_source == 1 and link.share == 1.0
    assert link.base_rate == pytest.approx(3 / 5)
    for link in rel.links:
        assert link.share is None or 0 <= link.share <= 1
