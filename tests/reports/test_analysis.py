"""The snapshot distributions of the analysis page (:mod:`rapport.reports.analysis`) on
SQLite and PostgreSQL, against the snapshot rows recomputed in Python: the RFM grid and
the predicted CLV's bins, with the deleted customer out and a sales user's scope."""

from __future__ import annotations

import datetime as dt
import itertools
import statistics
from collections import defaultdict
from typing import Any

import pytest
import sqlalchemy as sa

from rapport.access import CustomerScope
from rapport.errors import ValidationFailed
from rapport.reports import analysis
from rapport.store import schema
from rapport.store.db import session_scope

from .conftest import DAY, ReportStore

_s = schema.customer_scores.c
_c = schema.customers.c


def snapshot_rows(store: ReportStore, day: dt.date) -> list[dict[str, Any]]:
    """The snapshot rows of ``day`` of the customers not deleted, with their owner."""
    engine = store.engine()
    try:
        with engine.connect() as conn:
            stmt = (
                sa.select(schema.customer_scores, _c.owner_id)
                .join(schema.customers, _c.id == _s.customer_id)
                .where(_s.as_of == day, _c.deleted_at.is_(None))
            )
            return [dict(r) for r in conn.execute(stmt).mappings()]
    finally:
        engine.dispose()


def expected_grid(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    cells: dict[tuple[int, int], list[float]] = defaultdict(lambda: [0, 0.0])
    for r in rows:
        if r["r_score"] is None or r["f_score"] is None:
            continue
        cell = cells[(r["r_score"], r["f_score"])]
        cell[0] += 1
        cell[1] += float(r["monetary"] or 0)
    return [
        {"r_score": r, "f_score": f, "customers": n, "revenue": pytest.approx(v)}
        for (r, f), (n, v) in sorted(cells.items(), key=lambda kv: (-kv[0][0], kv[0][1]))
    ]


@pytest.mark.parametrize("who", ["admin", "sales"])
def test_the_rfm_grid_counts_each_scored_customer_in_scope_once(
    report_store: ReportStore, who: str
) -> None:
    rows = snapshot_rows(report_store, DAY)
    if who == "sales":
        rows = [r for r in rows if r["customer_id"] in report_store.sales_ids]
    scope = CustomerScope(report_store.principal(who))
    with session_scope(report_store.engine()) as session:
        grid = analysis.rfm_grid(session, day=DAY, scope=scope)
    assert grid == expected_grid(rows)
    assert sum(c["customers"] for c in grid) == sum(
        1 for r in rows if r["r_score"] is not None and r["f_score"] is not None
    )
    assert report_store.deleted_id not in {r["customer_id"] for r in rows}


@pytest.mark.parametrize("who", ["admin", "sales"])
def test_the_clv_bins_cover_every_predicted_clv_once(report_store: ReportStore, who: str) -> None:
    rows = snapshot_rows(report_store, DAY)
    if who == "sales":
        rows = [r for r in rows if r["customer_id"] in report_store.sales_ids]
    values = [float(r["predicted_clv"]) for r in rows if r["predicted_clv"] is not None]
    assert values, "the later snapshot is scored with the models"
    scope = CustomerScope(report_store.principal(who))
    with session_scope(report_store.engine()) as session:
        bins = analysis.clv_distribution(session, day=DAY, scope=scope, bins=8)
    assert 1 <= len(bins) <= 10
    assert bins[0]["low"] <= min(values) and bins[-1]["high"] > max(values)
    for before, after in itertools.pairwise(bins):
        assert before["high"] == after["low"]  # contiguous, equal width
        assert after["high"] - after["low"] == pytest.approx(bins[0]["high"] - bins[0]["low"])
    for b in bins:
        inside = [v for v in values if b["low"] <= v < b["high"]]
        assert b["customers"] == len(inside), b
        assert b["clv"] == pytest.approx(sum(inside))


def test_the_clv_distribution_of_a_snapshot_without_models_is_empty(
    report_store: ReportStore,
) -> None:
    engine = report_store.engine()
    with session_scope(engine) as session:
        earlier = session.execute(
            sa.select(_s.as_of).where(_s.as_of < DAY, _s.predicted_clv.is_(None)).limit(1)
        ).scalar()
        assert earlier is not None
        assert analysis.clv_distribution(session, day=earlier) == []


@pytest.mark.parametrize("bins", [0, analysis.MAX_CLV_BINS + 1])
def test_a_bin_count_out_of_range_is_refused(report_store: ReportStore, bins: int) -> None:
    with session_scope(report_store.engine()) as session, pytest.raises(ValidationFailed) as err:
        analysis.clv_distribution(session, day=DAY, bins=bins)
    assert err.value.field == "bins"


def test_edges_are_readable_and_hold_the_highest_value() -> None:
    assert analysis._edges(0.0, 1000.0, 10)[-1] > 1000.0
    edges = analysis._edges(12.0, 987.0, 10)
    assert edges[0] == 0.0 and edges[1] == 100.0 and edges[-1] > 987.0
    single = analysis._edges(5.0, 5.0, 10)  # one value: bins still cover it
    assert single[0] == 0.0 and single[-2] <= 5.0 < single[-1]


@pytest.mark.parametrize("who", ["admin", "sales"])
def test_the_degree_correlations_are_pearsons(report_store: ReportStore, who: str) -> None:
    rows = snapshot_rows(report_store, DAY)
    if who == "sales":
        rows = [r for r in rows if r["customer_id"] in report_store.sales_ids]
    scope = CustomerScope(report_store.principal(who))
    with session_scope(report_store.engine()) as session:
        found = analysis.degree_correlations(session, day=DAY, scope=scope)
    n = len(analysis.CORRELATED)
    assert len(found) == n * (n + 1) // 2
    for pair in found:
        both = [
            (float(r[pair["x"]]), float(r[pair["y"]]))
            for r in rows
            if r[pair["x"]] is not None and r[pair["y"]] is not None
        ]
        assert pair["customers"] == len(both), pair
        expected = statistics.correlation([x for x, _ in both], [y for _, y in both])
        assert pair["r"] == pytest.approx(expected, abs=1e-6), pair
        if pair["x"] == pair["y"]:
            assert pair["r"] == pytest.approx(1.0)


def _chain_of(rows: list[dict[str, Any]]) -> Any:
    """rapport.analytics.relations.relations of the degrees of ``rows`` (the function
    ``rapport relations`` reaches through the analytics engine)."""
    import pyarrow as pa

    from rapport.analytics.degrees import DEGREES
    from rapport.analytics.relations import relations

    return relations(
        pa.table(
            {
                name: pa.array(
                    [None if r[name] is None else float(r[name]) for r in rows], pa.float64()
                )
                for name in DEGREES
            }
        )
    )


@pytest.mark.parametrize("who", ["admin", "sales"])
def test_the_degree_chain_is_the_relations_of_the_customers_in_scope(
    report_store: ReportStore, who: str
) -> None:
    rows = snapshot_rows(report_store, DAY)
    if who == "sales":
        rows = [r for r in rows if r["customer_id"] in report_store.sales_ids]
    expected = _chain_of(rows)
    scope = CustomerScope(report_store.principal(who))
    with session_scope(report_store.engine()) as session:
        found = analysis.degree_chain(session, day=DAY, scope=scope)
    assert found is not None
    assert [link.source for link in found.links] == ["satisfaction", "loyalty", "engagement"]
    assert [link.target for link in found.links] == ["loyalty", "engagement", "advocacy"]
    for link, want in zip(found.links, expected.links, strict=True):
        assert link.high_source == want.high_source > 0
        assert link.share == pytest.approx(want.share)
        assert link.base_rate == pytest.approx(want.base_rate)
        assert link.lift == pytest.approx(want.lift)
    assert found.cuts == pytest.approx(expected.cuts)


def test_the_chain_of_the_whole_snapshot_is_rapport_relations(report_store: ReportStore) -> None:
    """Without a scope, degree_chain gives what snapshot_relations computes on the analytics
    engine for ``rapport relations`` (the deleted customer aside)."""
    from rapport.analytics.connect import connect
    from rapport.analytics.relations import snapshot_relations
    from rapport.analytics.sources import Sources

    with session_scope(report_store.engine()) as session:
        deleted = session.execute(
            sa.update(schema.customers)
            .where(_c.id == report_store.deleted_id)
            .values(deleted_at=None)
            .returning(_c.id)
        ).all()
        found = analysis.degree_chain(session, day=DAY)
        session.rollback()
    assert deleted
    with connect(report_store.settings) as eng:
        engine_side = snapshot_relations(Sources(eng), DAY, con=eng.con)
    assert found is not None and engine_side is not None
    for link, want in zip(found.links, engine_side.links, strict=True):
        assert (link.source, link.target, link.high_source) == (
            want.source,
            want.target,
            want.high_source,
        )
        assert link.lift == pytest.approx(want.lift)


def test_chain_rows_in_a_session_of_its_own(report_store: ReportStore) -> None:
    principal = report_store.principal("sales")
    found = analysis.chain_rows(report_store.settings, None, day=DAY, principal=principal)  # type: ignore[arg-type]
    rows = [
        r for r in snapshot_rows(report_store, DAY) if r["customer_id"] in report_store.sales_ids
    ]
    expected = _chain_of(rows)
    assert found is not None
    assert [(r["source"], r["high_source"]) for r in found["links"]] == [
        (link.source, link.high_source) for link in expected.links
    ]
    for row, link in zip(found["links"], expected.links, strict=True):
        both = [r for r in rows if r[link.source] is not None and r[link.target] is not None]
        assert row["customers"] == len(both)
        assert row["lift"] == pytest.approx(link.lift)
    assert (
        analysis.chain_rows(
            report_store.settings,
            None,
            day=DAY - dt.timedelta(days=1),
            principal=principal,  # type: ignore[arg-type]
        )
        is None
    )


def test_saved_models_are_the_registrys_latest_fits(tmp_path) -> None:
    from rapport.config import Settings
    from rapport.models.registry import registry

    settings = Settings(_env_file=None, data_dir=tmp_path)
    assert analysis.saved_models(settings) == []
    reg = registry(settings)
    moment = "2026-11-30T16:00:00"
    early = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    reg.save(
        "gammagamma", {"p": 1}, data={"customers": 90}, metrics={"log_likelihood": -5.0}, now=early
    )
    reg.save(
        "gammagamma",
        {"p": 2},
        data={"customers": 120, "moment": moment},
        metrics={"log_likelihood": -4.0},
        now=early + dt.timedelta(hours=1),
    )
    reg.save("churn", {"training": {"rows": 300, "base_rate": 0.2}}, data={"moment": moment})
    found = analysis.saved_models(settings)
    assert [m["kind"] for m in found] == ["gammagamma", "churn"]
    spend, churn = found
    assert (spend["customers"], spend["moment"], spend["metrics"]) == (
        120,
        moment,
        {"log_likelihood": -4.0},
    )
    assert spend["version"] == reg.versions("gammagamma")[-1]
    assert churn["customers"] == 300 and churn["metrics"] == {}
