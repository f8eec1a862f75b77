"""A working copy of the store's columns that the scoring run reads, made once per run.

:func:`rapport.scoring.run` queries the store about ten times (purchase summaries, the
degrees at three dates, the churn features and labels, the scores). DuckDB attached to
the store reads every table through the store's own driver in each of those queries,
converting every value again — at 1,000,000 customers, tens of millions of rows per
query. :func:`working_sources` copies the columns of :data:`READ` once into a DuckDB
database file of its own (compressed on disk, paged in by DuckDB's buffer manager within
its memory limit, so memory does not grow with the store) and returns the
:class:`~rapport.analytics.sources.Sources` every query of the run then reads. What the
run computes once and reads several times (the degrees the churn features of two dates
and the scores share) is kept there too (:func:`kept`), not in Python's memory.

The other canonical columns are typed nulls in those sources: no query of the run reads
them. ``tests/test_working_copy.py`` holds that true — it runs the scoring queries on the
store itself and checks, in DuckDB's plans, that every column they scan is in
:data:`READ` — so a query that starts reading another column fails that test until the
column is listed here.

Other engines need no copy: Parquet is already DuckDB's own columnar format, and
PostgreSQL and Spark run the queries themselves.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.types as ir
import sqlglot as sg
import sqlglot.expressions as sge

from rapport.analytics.sources import Sources
from rapport.analytics.tables import SCHEMAS
from rapport.config import Rules

#: Per canonical table, the columns the scoring run's queries read (see the module).
READ: dict[str, tuple[str, ...]] = {
    "customers": ("id", "created_at", "deleted_at", "loyalty_joined_at"),
    "orders": ("id", "customer_id", "status", "ordered_at", "net_amount", "channel"),
    "order_items": ("order_id", "product_id"),
    "products": ("id", "category"),
    "events": ("customer_id", "kind", "occurred_at"),
    "interactions": ("customer_id", "channel", "direction", "occurred_at"),
    "tickets": (
        "id",
        "customer_id",
        "kind",
        "priority",
        "opened_at",
        "first_response_at",
        "resolved_at",
        "closed_at",
        "first_response_due_at",
        "resolution_due_at",
        "satisfaction_rating",
    ),
    # every column: the latest answer per customer is a join that carries the whole row
    "survey_responses": tuple(SCHEMAS["survey_responses"].names),
    "referrals": ("referrer_customer_id", "referred_at", "converted", "converted_at"),
    "campaigns": ("id", "channel"),
    "campaign_deliveries": ("customer_id", "campaign_id", "sent_at"),
    "loyalty_ledger": ("customer_id", "points", "reason", "occurred_at"),
}
#: The tables that usually hold the most rows, copied first (an events table holds as
#: many as all the others together: 35 of 72 million rows in the sample company). A fixed
#: order rather than the store's row counts: SQLite counts a table's rows by reading a
#: whole index of it, and with two threads only which table goes first matters.
LARGEST = ("events", "orders", "order_items")
#: Tables copied at once (:func:`copy_store`).
COPY_THREADS = 2
#: The name under which the copy is attached to the DuckDB connection.
DATABASE = "rapport_work"
#: DuckDB's memory limit while a run works on its copy, unless one is configured
#: (``RAPPORT_DUCKDB_MEMORY_LIMIT``): DuckDB's own default, 80 % of the machine's memory,
#: let the scores query of 1,000,000 customers grow the process from 1.9 to 3.4 GB; within
#: 1 GB (DuckDB spills beyond it) the peak was 2.7 GB (docs/benchmarks.md). The same
#: figures either way.
MEMORY_LIMIT = "1GB"


class WorkingSources(Sources):
    """The sources of a working copy (from :func:`working_sources`)."""


def kept(eng: Any, src: Sources, expr: ir.Table) -> ir.Table:
    """``expr`` computed now and kept for the queries that follow (such as the degrees
    that the churn features of two dates and the scores share): a table of the working
    copy when ``src`` reads one — on disk, like the copy — else an in-memory table."""
    if isinstance(src, WorkingSources):
        return _create(eng, f"kept_{uuid.uuid4().hex[:12]}", expr)
    from rapport.analytics.metrics import execute

    return ibis.memtable(execute(expr, eng.con))


def _create(eng: Any, name: str, expr: ir.Table) -> ir.Table:
    """A table ``name`` of the working copy holding ``expr``'s rows, typed as ``expr``.

    What Ibis's ``create_table`` does (the columns declared with ``expr``'s types, then
    the rows inserted by the query), with the query compiled once and sent as text:
    ``create_table`` copies the whole compiled query tree to embed it in its ``INSERT``,
    which on the degrees' queries costs as much CPU as compiling them."""
    table, insert = _declare(eng, name, expr)
    eng.con.raw_sql(insert).fetchall()
    return table


def _declare(eng: Any, name: str, expr: ir.Table) -> tuple[ir.Table, str]:
    """The empty table ``name`` of the working copy, typed as ``expr``, and the statement
    that inserts ``expr``'s rows into it (see :func:`_create`)."""
    dialect = eng.con.dialect
    target = sg.table(name, db="main", catalog=DATABASE, quoted=True)
    columns = expr.schema().to_sqlglot_column_defs(dialect)
    create = sge.Create(kind="TABLE", this=sge.Schema(this=target, expressions=columns))
    names = ", ".join(sge.to_identifier(c, quoted=True).sql(dialect) for c in expr.columns)
    eng.con._run_pre_execute_hooks(expr)  # registers the in-memory tables it reads
    query = eng.con.compile(expr)
    eng.con.raw_sql(create.sql(dialect)).fetchall()
    insert = f"INSERT INTO {target.sql(dialect)} ({names}) {query}"
    return eng.con.table(name, database=(DATABASE, "main")), insert


def _copy_side_by_side(eng: Any, inserts: list[str]) -> None:
    """Run ``inserts`` on :data:`COPY_THREADS` threads, each on a DuckDB cursor of its own
    (a connection to the same database, in the same time zone as ``eng``'s): DuckDB reads
    an attached SQLite store one statement at a time through its driver, so two tables
    copied at once use both cores — 27 s against 19 s for the store of 1,000,000
    customers (docs/benchmarks.md). The first statement is the largest table's."""
    zone = eng.con.raw_sql("SELECT current_setting('TimeZone')").fetchone()[0]

    def run(insert: str) -> None:
        cursor = eng.con.con.cursor()
        try:
            cursor.execute(f"SET TimeZone = '{zone}'")
            cursor.execute(insert).fetchall()
        finally:
            cursor.close()

    with ThreadPoolExecutor(max_workers=COPY_THREADS, thread_name_prefix="rapport-copy") as pool:
        list(pool.map(run, inserts))


def copy_store(eng: Any, rules: Rules) -> dict[str, ir.Table]:
    """Copy the columns of :data:`READ` from the store into the attached working database,
    the tables side by side (:func:`_copy_side_by_side`, the largest first); each copied
    table with the other canonical columns as typed nulls."""
    store = Sources(eng, rules=rules)
    tables = {}
    inserts: dict[str, str] = {}
    for name, columns in READ.items():
        schema = SCHEMAS[name]
        copy, inserts[name] = _declare(eng, name, getattr(store, name).select(*columns))
        nulls = {c: ibis.null(schema[c]) for c in schema.names if c not in columns}
        tables[name] = copy.mutate(**nulls).select(*schema.names)
    first = [inserts.pop(name) for name in LARGEST if name in inserts]
    with _any_order(eng):
        _copy_side_by_side(eng, [*first, *inserts.values()])
    return tables


@contextlib.contextmanager
def _setting(eng: Any, name: str, value: str) -> Iterator[None]:
    """DuckDB's setting ``name`` (a setting of the whole database) at ``value``, an SQL
    literal, while the block runs; DuckDB's default again on leaving."""
    eng.con.raw_sql(f"SET {name} = {value}")
    try:
        yield
    finally:
        eng.con.raw_sql(f"RESET {name}")


def _any_order(eng: Any) -> contextlib.AbstractContextManager[None]:
    """DuckDB free to store the rows it copies in any order while the block runs
    (``preserve_insertion_order``, reset on leaving).

    A query's result never depends on the order of a table's rows — DuckDB reads a table
    on several threads and gives no order without ``ORDER BY`` — but keeping the order
    makes each insert from the attached SQLite store wait for its rows in sequence: the
    events of 1,000,000 customers took 17.3 s on one thread, 10.6 s on two without it
    (docs/benchmarks.md)."""
    return _setting(eng, "preserve_insertion_order", "false")


def _directory(settings: Any) -> Path:
    return (Path(settings.data_dir) / "duckdb" / "work").resolve()


@contextlib.contextmanager
def working_sources(eng: Any, settings: Any, *, rules: Rules) -> Iterator[Sources]:
    """Sources over a one-run copy of :data:`READ` when ``eng`` is DuckDB attached to the
    store, else over ``eng`` itself; the copy's file is removed on leaving.

    Every table is copied through its canonical schema
    (:func:`~rapport.analytics.sources.conform`), so the copy holds exactly what the
    queries would have read from the store. Meanwhile DuckDB works within
    :data:`MEMORY_LIMIT` unless a limit is configured.
    """
    if eng.kind != "duckdb":
        yield Sources(eng, rules=rules)
        return
    directory = _directory(settings)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"scoring-{os.getpid()}-{uuid.uuid4().hex[:8]}.duckdb"
    bounded = not settings.duckdb_memory_limit
    limit = _setting(eng, "memory_limit", f"'{MEMORY_LIMIT}'") if bounded else None
    with limit or contextlib.nullcontext():
        eng.con.attach(path, name=DATABASE)
        try:
            yield WorkingSources(eng, tables=copy_store(eng, rules), rules=rules)
        finally:
            eng.con.detach(DATABASE)
            for suffix in ("", ".wal"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)


__all__ = [
    "COPY_THREADS",
    "DATABASE",
    "LARGEST",
    "MEMORY_LIMIT",
    "READ",
    "WorkingSources",
    "copy_store",
    "kept",
    "working_sources",
]
