"""Behavioural clusters and degree relations on a small generated, scored company."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import numpy as np
import pyarrow as pa
import pytest

from rapport import scoring
from rapport.analytics.metrics import execute
from rapport.analytics.relations import snapshot_relations
from rapport.analytics.sources import Sources
from rapport.config import Settings
from rapport.models.clusters import (
    CITIES_SHOWN,
    DEMOGRAPHICS,
    FIT_SAMPLE,
    SILHOUETTE_SAMPLE,
    buyer_agreement,
    choose_k,
    cluster_customers,
    cluster_summary,
    demography_grid,
    describe,
    description,
    feature_label,
    features_expr,
    standardize,
)

END = dt.date(2025, 1, 1)


@pytest.fixture(scope="module")
def scored(tmp_path_factory) -> Settings:
    """1,500 customers over 12 months, loaded and scored as of the generator's last day."""
    from rapport.sample import generate
    from rapport.sample.load import load_company
    from rapport.store.db import create_engine, upgrade

    company = generate(customers=1500, months=12, seed=3, end=END)
    root = tmp_path_factory.mktemp("clusters")
    url = f"sqlite:///{root / 'store.db'}"
    engine = create_engine(url)
    upgrade(engine)
    load_company(company, engine=engine, work_dir=root)
    engine.dispose()
    settings = Settings(_env_file=None, database_url=url, data_dir=root / "data")
    assert scoring.score(settings, as_of=END - dt.timedelta(days=1)) == 1500
    return settings


@pytest.fixture(scope="module")
def features(scored: Settings) -> pa.Table:
    from rapport.analytics.connect import connect

    with connect(scored) as eng:
        return execute(features_expr(Sources(eng)), eng.con)


@pytest.fixture(scope="module")
def clustering(features: pa.Table) -> Any:
    return cluster_customers(features)


def test_k_is_chosen_in_range_by_the_best_silhouette(clustering) -> None:
    assert 2 <= clustering.k <= 8
    assert clustering.criterion == "silhouette"
    assert clustering.score == clustering.silhouettes[clustering.k]
    left = {k: v for k, v in clustering.silhouettes.items() if k not in clustering.excluded}
    assert clustering.k == max(left, key=left.get)
    assert all(-1 <= s <= 1 for s in clustering.silhouettes.values())
    assert set(clustering.excluded) <= {2}
    assert 0 < clustering.sample <= SILHOUETTE_SAMPLE


def test_the_clustering_is_the_same_every_run(features, clustering) -> None:
    again = cluster_customers(features)
    assert again.k == clustering.k and again.silhouettes == clustering.silhouettes
    assert np.array_equal(again.labels, clustering.labels)


def _blobs(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Two well-separated groups of customers in 7 features, and which group each is in."""
    rng = np.random.default_rng(seed)
    group = rng.uniform(size=n) < 0.6
    z = rng.normal(0, 1, (n, 7))
    z[group, :3] += 6.0
    return standardize(z), group


def test_k2_is_left_out_when_it_splits_buyers_from_non_buyers() -> None:
    z, group = _blobs(2000, 1)
    scores, excluded, _ = choose_k(z, buyers=group)
    assert max(scores, key=scores.get) == 2  # the best silhouette by far
    assert list(excluded) == [2] and "buyers" in excluded[2]
    scores, excluded, _ = choose_k(z, buyers=np.random.default_rng(2).uniform(size=2000) < 0.5)
    assert excluded == {}
    assert buyer_agreement(np.array([0, 0, 1, 1]), np.array([True, True, False, False])) == 1.0
    assert buyer_agreement(np.array([0, 1, 0, 1]), np.array([True, True, False, False])) == 0.5


def test_the_silhouette_sample_is_bounded() -> None:
    z, group = _blobs(FIT_SAMPLE + 2000, 3)
    scores, _, sample = choose_k(z, buyers=group)
    assert sample == SILHOUETTE_SAMPLE and scores


def test_every_customer_is_in_exactly_one_cluster(clustering, features) -> None:
    assert len(clustering.labels) == features.num_rows == 1500
    assert len(set(clustering.customer_ids.tolist())) == 1500
    assert set(clustering.labels.tolist()) == set(range(clustering.k))
    assert sum(c.size for c in clustering.clusters) == 1500
    assert sum(c.share for c in clustering.clusters) == pytest.approx(1.0)
    sizes = [c.size for c in clustering.clusters]
    assert sizes == sorted(sizes, reverse=True)


def test_descriptions_name_a_distinguishing_feature(clustering) -> None:
    for cluster in clustering.clusters:
        assert cluster.description("zh_CN") and cluster.description("en")
        if cluster.distinguishing:
            name = cluster.distinguishing[0][0]
            assert feature_label(name, "en") in cluster.description("en")
            assert feature_label(name, "zh_CN") in cluster.description("zh_CN")
    assert any(c.distinguishing for c in clustering.clusters)


def test_demographic_shares_sum_to_one_per_cluster(clustering) -> None:
    for name in DEMOGRAPHICS:
        table = clustering.demographics[name].to_pylist()
        assert table
        for c in range(clustering.k):
            shares = [r["share"] for r in table if r["cluster"] == c]
            assert sum(shares) == pytest.approx(1.0)
            assert all(0 <= s <= 1 for s in shares)


def test_the_summary_is_the_clustering_in_plain_values(clustering, scored: Settings) -> None:
    found = clustering.summary()
    json.dumps(found)  # plain values only: what a worker process sends back
    assert (found["k"], found["criterion"], found["score"]) == (
        clustering.k,
        "silhouette",
        clustering.silhouettes[clustering.k],
    )
    assert found["customers"] == 1500 and found["sample"] == clustering.sample
    assert [(c["id"], c["size"]) for c in found["clusters"]] == [
        (c.id, c.size) for c in clustering.clusters
    ]
    assert [c["distinguishing"] for c in found["clusters"]] == [
        [[name, v] for name, v in c.distinguishing] for c in clustering.clusters
    ]
    assert found["demographics"]["city"] == clustering.demographics["city"].to_pylist()
    # what rapport clusters runs: the snapshot of the store, the same clustering
    again = cluster_summary(scored, as_of=END - dt.timedelta(days=1))
    assert again is not None and again["silhouettes"] == found["silhouettes"]
    assert cluster_summary(scored, as_of=END - dt.timedelta(days=2)) is None


def test_the_demography_grid_is_the_breakdown_per_cluster(clustering) -> None:
    for name in DEMOGRAPHICS:
        rows = clustering.demographics[name].to_pylist()
        values, grid = demography_grid(rows, clustering.k, name=name)
        assert len(grid) == clustering.k and all(len(line) == len(values) for line in grid)
        shares = {(r["cluster"], r["value"]): r["share"] for r in rows}
        for c, line in enumerate(grid):
            assert line == [shares.get((c, v), 0.0) for v in values]
        every = list(dict.fromkeys(r["value"] for r in rows))
        if name == "city" and len(every) > CITIES_SHOWN:
            totals = {v: sum(r["customers"] for r in rows if r["value"] == v) for v in every}
            assert len(values) == CITIES_SHOWN
            assert min(totals[v] for v in values) >= max(
                totals[v] for v in every if v not in values
            )
        else:
            assert sorted(values, key=str) == sorted(every, key=str)
    bands, _ = demography_grid(
        clustering.demographics["age_band"].to_pylist(), clustering.k, name="age_band"
    )
    assert bands == sorted(bands, key=lambda v: (v is None, v or ""))


def test_describe() -> None:
    picked = describe({"frequency": 1.2, "recency_days": -0.8, "advocacy": 0.1})
    assert [p[0] for p in picked] == ["frequency", "recency_days"]
    assert description(picked, "en") == "high frequency, low recency days"
    assert description(picked, "zh_CN") == "高购买频次，低距上次购买天数"
    assert description(describe({"frequency": 0.2}), "en") == "close to average"


@pytest.mark.parametrize(
    ("birthday", "as_of", "band"),
    [
        (dt.date(1989, 6, 1), dt.date(2024, 5, 31), "25-34"),  # the day before the birthday
        (dt.date(1989, 6, 1), dt.date(2024, 6, 1), "35-44"),  # 35 on the birthday
        (dt.date(2000, 2, 29), dt.date(2024, 12, 31), "<25"),
        (dt.date(1969, 1, 1), dt.date(2024, 1, 1), "55+"),
        (None, dt.date(2024, 6, 1), None),
    ],
)
def test_age_band_is_the_age_on_the_as_of_date(birthday, as_of, band) -> None:
    import ibis

    from rapport.analytics.demographics import age_band

    table = ibis.memtable({"birthday": [birthday]}, schema={"birthday": "date"})
    expr = table.select(band=age_band(table.birthday, as_of))
    assert ibis.duckdb.connect().to_pyarrow(expr).column("band").to_pylist() == [band]


def test_the_age_bands_of_the_clusters_are_on_the_snapshot_date(features) -> None:
    bands = set(features.column("age_band").to_pylist())
    assert bands <= {"<25", "25-34", "35-44", "45-54", "55+", None} and len(bands) > 2


def test_relations_of_the_sample_snapshot(scored: Settings) -> None:
    from rapport.analytics.connect import connect

    with connect(scored) as eng:
        rel = snapshot_relations(Sources(eng), con=eng.con)
    assert rel is not None
    c = rel.correlation
    finite = c[~np.isnan(c)]
    assert np.all((finite >= -1) & (finite <= 1))
    assert np.allclose(c, c.T, equal_nan=True)
    assert np.allclose(np.diag(c), 1.0)
    assert len(rel.links) == 3
    for link in rel.links:
        for value in (link.share, link.base_rate):
            assert value is not None and 0 <= value <= 1
    assert rel.correlation_table().num_rows == 4


def test_no_snapshot_gives_none(tmp_path) -> None:
    from rapport.analytics.connect import connect
    from rapport.store.db import create_engine, upgrade

    url = f"sqlite:///{tmp_path / 'empty.db'}"
    engine = create_engine(url)
    upgrade(engine)
    engine.dispose()
    settings = Settings(_env_file=None, database_url=url, data_dir=tmp_path / "data")
    with connect(settings) as eng:
        assert snapshot_relations(Sources(eng), con=eng.con) is None


def _app() -> Any:
    import typer

    from rapport.cli.clusters import clusters_command
    from rapport.cli.relations import relations_command

    app = typer.Typer()
    app.command("clusters")(clusters_command)
    app.command("relations")(relations_command)
    return app


@pytest.mark.parametrize("locale", ["zh_CN", "en"])
def test_cli_prints_clusters_and_relations(scored: Settings, monkeypatch, locale) -> None:
    from typer.testing import CliRunner

    from rapport.config import get_settings

    monkeypatch.setenv("RAPPORT_DATABASE_URL", scored.database_url)
    monkeypatch.setenv("RAPPORT_LOCALE", locale)
    get_settings.cache_clear()
    runner = CliRunner()
    result = runner.invoke(_app(), ["clusters"], env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    assert ("行为聚类" if locale == "zh_CN" else "Behavioural clusters") in result.output
    result = runner.invoke(_app(), ["clusters", "--format", "json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert doc["criterion"] == "silhouette" and 2 <= doc["k"] <= 8
    assert doc["silhouette"] == doc["silhouettes"][str(doc["k"])]
    assert len(doc["clusters"]) == doc["k"] and 0 < doc["silhouette_sample"] <= 3000
    result = runner.invoke(_app(), ["relations", "--high", "60"], env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    assert ("基准比例" if locale == "zh_CN" else "Base rate") in result.output


def test_cli_without_a_snapshot_says_so() -> None:
    from typer.testing import CliRunner

    from rapport.config import get_settings
    from rapport.errors import NotFound
    from rapport.store.db import create_engine, upgrade

    engine = create_engine(get_settings().database_url)
    upgrade(engine)
    engine.dispose()
    for command in ("clusters", "relations"):
        result = CliRunner().invoke(_app(), [command])
        assert isinstance(result.exception, NotFound)
        assert "rapport score" in str(result.exception.hint)
