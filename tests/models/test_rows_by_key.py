"""Joining a table to customers by key (:func:`rapport.models.data.rows_by_key`, behind the
models' left joins and the snapshot's predictions): the same table as Arrow's hash join
followed by a sort, keys missing on either side, unsorted and empty tables."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from rapport.models import pipeline
from rapport.models.data import rows_by_key


def _hash_join(left: pa.Table, right: pa.Table) -> pa.Table:
    return left.join(right, "customer_id", join_type="left outer").sort_by("customer_id")


@pytest.mark.parametrize("seed", range(8))
def test_the_join_is_arrows_left_join_in_customer_order(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n, m = (int(v) for v in rng.integers(0, 400, 2))
    if seed == 0:
        m = 0  # nothing to join: every value null
    left_ids = rng.choice(1_000, n, replace=False)
    right_ids = rng.choice(1_000, m, replace=False)
    left = pa.table(
        {
            "customer_id": pa.array(left_ids, pa.int64()),
            "x": pa.array(rng.random(n)),
            "label": pa.array([None if i % 5 == 0 else bool(i % 2) for i in left_ids]),
        }
    )
    right = pa.table(
        {
            "customer_id": pa.array(right_ids, pa.int64()),
            "p_alive": pa.array(rng.random(m)),
            "kind": pa.array([f"k{i % 3}" for i in right_ids], pa.string()),
        }
    )
    joined = pipeline._join(left, right)
    expected = _hash_join(left, right)
    assert joined.schema == expected.schema
    assert joined.equals(expected)
    assert joined.column("p_alive").null_count == n - len(set(left_ids) & set(right_ids))


def test_a_key_found_nowhere_is_null_and_the_wanted_order_is_kept() -> None:
    keys = np.array([30, 10, 20])
    rows = rows_by_key(keys, np.array([20, 40, 10, 5, 30]))
    assert rows.to_pylist() == [2, None, 1, None, 0]
    assert rows_by_key(np.array([], np.int64), np.array([1, 2])).to_pylist() == [None, None]
