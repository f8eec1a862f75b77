"""The coarse bins the programme evaluation matches members on, with and without edges (a
store whose members spent nothing before joining has no spend to cut into bins)."""

from __future__ import annotations

import ibis

from rapport.analytics.loyalty import _bin


def test_values_fall_in_their_bins_and_without_edges_all_in_the_first() -> None:
    values = ibis.memtable({"v": [0.0, 1.0, 2.5, 3.0, 10.0]})
    con = ibis.duckdb.connect()
    with_edges = con.execute(values.select(b=_bin(values.v, [1.0, 3.0]))).b.tolist()
    assert with_edges == [0, 1, 1, 2, 2]
    without = con.execute(values.select(b=_bin(values.v, []))).b.tolist()
    assert without == [0, 0, 0, 0, 0]
