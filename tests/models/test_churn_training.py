"""The churn classifier's training sample computed on its customers' rows alone.

``pipeline.churn_training`` samples the churn population first and computes the features
and labels on :class:`rapport.analytics.sources.CustomersOnly` sources: the table must be
the whole population's table, sampled. The sample company (3,000 customers) has fewer
buyers than ``CHURN_TRAIN_MAX``, which is lowered here so that it samples.
"""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest

from rapport.analytics.connect import connect
from rapport.analytics.sources import CUSTOMER_KEYS, CustomersOnly, Sources
from rapport.config import Settings, load_rules
from rapport.models import pipeline

pytestmark = pytest.mark.slow  # the sample company's store

RULES = load_rules()


@pytest.fixture(scope="module")
def store(sample_store, tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, dt.datetime]:
    root = tmp_path_factory.mktemp("churn-training")
    url = sample_store.copy(root)
    settings = Settings(_env_file=None, database_url=url, data_dir=root / "data")
    moment = dt.datetime.combine(sample_store.end, dt.time())
    return settings, moment - dt.timedelta(days=RULES.models.churn_horizon_days)


def _training(settings: Settings, cutoff: dt.datetime, *, shared: bool) -> pa.Table:
    with connect(settings) as eng:
        src = Sources(eng, rules=RULES)
        degrees = None
        if shared:  # as fit_models passes them: the cut-off's of every customer, kept
            degrees = pipeline.shared_degrees(eng, src, RULES, (cutoff,))
        return pipeline.churn_training(eng, src, settings, RULES, cutoff, degrees=degrees)


@pytest.mark.parametrize("shared", [False, True], ids=["own-degrees", "shared-degrees"])
def test_the_sample_is_the_whole_populations_table_sampled(store, monkeypatch, shared) -> None:
    settings, cutoff = store
    whole = _training(settings, cutoff, shared=shared)
    n = whole.num_rows
    assert n > 1000  # the population of the sample company at the cut-off
    monkeypatch.setattr(pipeline, "CHURN_TRAIN_MAX", n * 2 // 5)
    sample = _training(settings, cutoff, shared=shared)

    ids = whole.column("customer_id").to_numpy()
    kept = pipeline.training_sample(ids)
    assert len(kept) == n * 2 // 5 and (kept[1:] > kept[:-1]).all()
    expected = whole.take(pa.array(ids.searchsorted(kept)))
    assert sample.schema == expected.schema
    assert sample.combine_chunks().equals(expected.combine_chunks())
    # the features do differ from customer to customer (the comparison is not vacuous)
    for column in ("advocacy", "engagement_change", "sla_breaches_recent", "p_alive"):
        assert len(set(sample.column(column).to_pylist())) > 2, column


def test_a_population_under_the_cap_is_taken_whole() -> None:
    import numpy as np

    ids = np.arange(10, 10 + pipeline.CHURN_TRAIN_MAX, dtype=np.int64)
    assert pipeline.training_sample(ids) is ids
    more = np.arange(pipeline.CHURN_TRAIN_MAX + 7, dtype=np.int64) * 3
    taken = pipeline.training_sample(more)
    assert len(taken) == pipeline.CHURN_TRAIN_MAX and np.isin(taken, more).all()
    assert (np.diff(taken) > 0).all()


def test_customers_only_keeps_each_tables_rows_of_those_customers(store) -> None:
    settings, _ = store
    with connect(settings) as eng:
        src = Sources(eng, rules=RULES)
        ids = [1, 2, 3, 5, 8, 13, 21, 34, 55, 89]
        only = CustomersOnly(src, _memtable(ids))
        for name, key in CUSTOMER_KEYS.items():
            table = getattr(only, name)
            got = set(table.execute()[key].dropna().astype(int))
            assert got <= set(ids), name
            whole = getattr(src, name)
            assert table.count().execute() == whole.filter(whole[key].isin(ids)).count().execute()
        # a table naming no customer is the whole one
        assert only.products.count().execute() == src.products.count().execute()
        assert only.purchase_statuses == src.purchase_statuses


def _memtable(ids: list[int]):
    import ibis

    return ibis.memtable(pa.table({"customer_id": pa.array(ids, pa.int64())}))
