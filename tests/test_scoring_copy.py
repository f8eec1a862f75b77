"""The scoring run's working copy (:mod:`rapport.analytics.working_copy`) holds every column
its queries read, and leaves no file behind but the copy it keeps.

The copy's other columns are typed nulls, so a query that read one of them would silently
see nothing. Here the scoring run's queries run on the store itself (no copy) and DuckDB's
plan of each says which columns its scans read: every one must be listed in ``READ``.
That the figures are those of the store read directly is
``tests/test_scoring_reference.py``'s comparison (its reference pipeline reads the store).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

import pytest

from rapport import scoring
from rapport.analytics import metrics, working_copy
from rapport.analytics.sources import Sources
from rapport.config import Settings


def _scans(node: Any, found: list[dict[str, Any]]) -> None:
    """The ``extra_info`` of every scan operator in a DuckDB JSON plan."""
    if isinstance(node, dict):
        info = node.get("extra_info")
        if "SCAN" in str(node.get("operator_name") or node.get("name")) and isinstance(info, dict):
            found.append(info)
        for value in node.values():
            _scans(value, found)
    elif isinstance(node, list):
        for value in node:
            _scans(value, found)


@pytest.fixture
def settings(sample_store, tmp_path) -> Settings:
    url = sample_store.copy(tmp_path)
    return Settings(_env_file=None, database_url=url, data_dir=tmp_path / "data")


def test_every_column_the_scoring_queries_read_is_copied(settings, monkeypatch) -> None:
    read: dict[str, set[str]] = {}
    execute = metrics.execute

    def explained(expr: Any, con: Any = None, **kwargs: Any) -> Any:
        con._run_pre_execute_hooks(expr)  # registers in-memory tables
        plan = con.con.sql("EXPLAIN (FORMAT json) " + con.compile(expr.as_table())).fetchall()
        scans: list[dict[str, Any]] = []
        for _, text in plan:
            _scans(json.loads(text), scans)
        for scan in scans:
            if scan.get("Table"):
                columns = scan.get("Projections") or []
                columns = [columns] if isinstance(columns, str) else columns
                read.setdefault(scan["Table"], set()).update(columns)
        return execute(expr, con, **kwargs)

    @contextlib.contextmanager
    def the_store(eng: Any, _settings: Any, *, rules: Any) -> Iterator[Sources]:
        yield Sources(eng, rules=rules)

    monkeypatch.setattr(metrics, "execute", explained)
    monkeypatch.setattr(working_copy, "working_sources", the_store)
    result = scoring.run(settings, as_of=dt.date(2024, 12, 31))
    assert result.rows > 0 and result.models is not None and not result.models.notes
    assert {"orders", "events", "customers"} <= set(read)
    for table, columns in read.items():
        assert table in working_copy.READ, f"{table} is read but not copied"
        missing = columns - set(working_copy.READ[table])
        assert not missing, f"{table}: {sorted(missing)} read but not copied"


def test_the_run_leaves_its_kept_copy_alone_behind(settings) -> None:
    result = scoring.run(settings, as_of=dt.date(2024, 12, 31), models=False)
    assert result.rows > 0
    directory = settings.data_dir / "duckdb" / "work"
    # the copy of a SQLite store is kept for the next run (tests/test_working_copy_refresh.py)
    assert [p.name for p in directory.iterdir()] == [working_copy.KEPT_FILE]


def test_a_kept_table_holds_its_querys_rows_and_types(settings) -> None:
    import ibis
    import pyarrow as pa

    from rapport.analytics.connect import connect
    from rapport.config import load_rules

    given = pa.table({"customer_id": pa.array([1, 2, 3], pa.int64()), "w": [0.5, None, 2.0]})
    with (
        connect(settings) as eng,
        working_copy.working_sources(eng, settings, rules=load_rules(settings)) as src,
    ):
        c = src.customers
        # an in-memory table too: kept registers it before the query runs
        expr = c.select(customer_id=c.id, joined=c.created_at).inner_join(
            ibis.memtable(given), "customer_id"
        )
        kept = working_copy.kept(eng, src, expr)
        assert kept.get_name().startswith(f"{working_copy.DATABASE}.{working_copy.RUN}.kept_")
        assert kept.columns == expr.columns
        got = metrics.execute(kept.order_by("customer_id"), eng.con)
        want = metrics.execute(expr.order_by("customer_id"), eng.con)
    assert got.num_rows == 3 and got.equals(want)  # values and Arrow types


def _memory_limit(eng: Any) -> str:
    return eng.con.raw_sql("SELECT current_setting('memory_limit')").fetchone()[0]


@pytest.mark.parametrize("configured", [None, "700MB"])
def test_duckdb_works_within_a_bounded_memory_while_it_reads_the_copy(settings, configured) -> None:
    from rapport.analytics.connect import connect
    from rapport.config import load_rules

    settings = settings.model_copy(update={"duckdb_memory_limit": configured})
    with connect(settings) as eng:
        before = _memory_limit(eng)
        with working_copy.working_sources(eng, settings, rules=load_rules(settings)):
            during = _memory_limit(eng)
        after = _memory_limit(eng)
        eng.con.raw_sql(f"SET memory_limit = '{configured or working_copy.MEMORY_LIMIT}'")
        want = _memory_limit(eng)
    # the configured limit is kept; without one, the run's own for its length only
    assert during == want and after == before


def test_the_copy_holds_the_stores_rows_of_every_column_it_lists(settings, monkeypatch) -> None:
    from rapport.analytics.connect import connect
    from rapport.config import load_rules

    rules = load_rules(settings)
    ran: list[str] = []
    side_by_side = working_copy._copy_side_by_side

    def spied(eng: Any, inserts: list[str]) -> None:
        ran.extend(inserts)
        side_by_side(eng, inserts)

    monkeypatch.setattr(working_copy, "_copy_side_by_side", spied)
    with (
        connect(settings) as eng,
        working_copy.working_sources(eng, settings, rules=rules) as src,
    ):
        store = Sources(eng, rules=rules)
        for name, columns in working_copy.READ.items():
            want = metrics.execute(getattr(store, name).select(*columns), eng.con)
            got = metrics.execute(getattr(src, name).select(*columns), eng.con)
            key = [(c, "ascending") for c in columns]
            assert got.num_rows == want.num_rows, name
            assert got.sort_by(key).equals(want.sort_by(key)), name
    # every table in one call, the largest first
    assert len(ran) == len(working_copy.READ)
    assert '"events"' in ran[0]


def test_the_copy_stores_rows_in_any_order_and_the_run_keeps_its_order_after(
    settings, monkeypatch
) -> None:
    from rapport.analytics.connect import connect
    from rapport.config import load_rules

    def preserved(eng: Any) -> bool:
        return eng.con.raw_sql("SELECT current_setting('preserve_insertion_order')").fetchone()[0]

    seen: list[bool] = []
    side_by_side = working_copy._copy_side_by_side

    def spied(eng: Any, inserts: list[str]) -> None:
        seen.append(preserved(eng))
        side_by_side(eng, inserts)

    monkeypatch.setattr(working_copy, "_copy_side_by_side", spied)
    with connect(settings) as eng:
        before = preserved(eng)
        with working_copy.working_sources(eng, settings, rules=load_rules(settings)):
            during = preserved(eng)
    # free while copying (each insert on both cores), DuckDB's default again for the queries
    assert seen == [False]
    assert before is True and during is True
