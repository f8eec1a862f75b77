"""``exact_sum``: a sum that does not depend on the order the engine adds the rows in.

A parallel engine adds a group's rows in an order that varies from run to run; with
floats the sum then moves in its last digits (0.1 + 0.2 + 0.3 is not 0.3 + 0.2 + 0.1),
and a model fitted on such a sum ends somewhere else. DuckDB on one thread adds the rows of
a small table in the order they come, so permuting the rows plays the part of the threads.
"""

from __future__ import annotations

import itertools

import ibis
import pyarrow as pa

from rapport.analytics.metrics_base import MONEY_DECIMALS, exact_sum

#: Weights and amounts as the rules and the store hold them (decimals, not binary fractions).
VALUES = [0.1, 0.2, 0.3, 0.7, 1.1, 2.2, 12.34, 0.05, 0.01, 3.3]


def _sums(values: list[float], **kwargs) -> tuple[float, float]:
    con = ibis.duckdb.connect(threads=1)
    try:
        t = ibis.memtable(pa.table({"g": [1] * len(values), "x": values}))
        agg = t.group_by("g").aggregate(plain=t.x.sum(), exact=exact_sum(t.x, **kwargs))
        row = con.to_pyarrow(agg).to_pylist()[0]
    finally:
        con.disconnect()
    return row["plain"], row["exact"]


def test_the_sum_is_the_same_in_every_order_a_float_sum_is_not() -> None:
    orders = [VALUES, VALUES[::-1], *itertools.islice(itertools.permutations(VALUES), 0, 400, 37)]
    results = [_sums(list(order), decimals=6) for order in orders]
    plain = {p for p, _ in results}
    exact = {e for _, e in results}
    assert len(plain) > 1  # the orders are ones that move a float sum
    assert exact == {round(sum(VALUES), 6)}


def test_money_is_summed_in_cents() -> None:
    amounts = [19.99, 0.01, 5.1, 100.2, 0.7]
    assert {_sums(o, decimals=MONEY_DECIMALS)[1] for o in (amounts, amounts[::-1])} == {126.0}


def test_rows_with_more_decimals_count_rounded_and_no_rows_give_null() -> None:
    assert _sums([1.0000004, 1.0000004], decimals=6)[1] == 2.0
    con = ibis.duckdb.connect(threads=1)
    try:
        t = ibis.memtable(pa.table({"x": pa.array([1.5], pa.float64())}))
        agg = t.aggregate(s=exact_sum(t.x, decimals=6, where=t.x > 2))
        assert con.to_pyarrow(agg).to_pylist() == [{"s": None}]
    finally:
        con.disconnect()
