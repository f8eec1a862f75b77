"""A working copy of the store's columns that the scoring run reads, kept between runs.

:func:`rapport.scoring.run` queries the store about ten times (purchase summaries, the
degrees at two dates, the churn features and labels, the scores). DuckDB attached to
the store reads every table through the store's own driver in each of those queries,
converting every value again — at 1,000,000 customers, tens of millions of rows per
query. :func:`working_sources` copies the columns of :data:`READ` into a DuckDB database
file of its own (compressed on disk, paged in by DuckDB's buffer manager within its
memory limit, so memory does not grow with the store) and returns the
:class:`~rapport.analytics.sources.Sources` every query of the run then reads. What the
run computes once and reads several times (the degrees the churn features of two dates
and the scores share) is kept there too (:func:`kept`), not in Python's memory, and
dropped when the run ends.

Copying a store of 1,000,000 customers whole takes 12–31 s, yet from one run to the next
most tables only grow. On a SQLite store the copy is therefore kept
(``<data_dir>/duckdb/work/copy.duckdb``, :data:`KEPT_FILE`) and each run brings it up to
date (:func:`plan`): a table's rows added since are copied alone, and a table where a row
was updated or deleted since is copied whole again, as the store's ``table_changes``
counts (migration 0021, :mod:`rapport.store.table_changes`). Deleting the file is always
safe: the next run copies the store whole. A PostgreSQL store is copied whole by every
run, into a file of the run's own, as is a SQLite store while another run holds the kept
copy.

The other canonical columns are typed nulls in those sources: no query of the run reads
them. ``tests/test_scoring_copy.py`` holds that true — it runs the scoring queries on the
store itself and checks, in DuckDB's plans, that every column they scan is in
:data:`READ` — so a query that starts reading another column fails that test until the
column is listed here (and, as the copy's shape changes, a kept copy is copied whole
again: :func:`_key`).

Other engines need no copy: Parquet is already DuckDB's own columnar format, and
PostgreSQL and Spark run the queries themselves.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import threading
import uuid
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Literal

import duckdb
import ibis
import ibis.expr.types as ir
import pyarrow as pa
import sqlglot as sg
import sqlglot.expressions as sge
from sqlalchemy.engine import make_url

from rapport.analytics.sources import Sources, conform
from rapport.analytics.tables import SCHEMAS
from rapport.config import Rules
from rapport.store import table_changes
from rapport.store.db import engine_from_settings
from rapport.store.table_changes import TableMark, row_digest

log = logging.getLogger(__name__)

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
    """The sources of a working copy (from :func:`working_sources`); ``refresh``, how each
    table of a kept copy was brought up to date (``None``: a copy of the run's own)."""

    def __init__(
        self,
        engine: Any = None,
        *,
        tables: dict[str, ibis.Table] | None = None,
        rules: Rules | None = None,
        refresh: Mapping[str, Refresh] | None = None,
    ) -> None:
        super().__init__(engine, tables=tables, rules=rules)
        self.refresh = None if refresh is None else dict(refresh)


def kept(eng: Any, src: Sources, expr: ir.Table) -> ir.Table:
    """``expr`` computed now and kept for the queries that follow (such as the degrees
    that the churn features of two dates and the scores share): a table of the working
    copy when ``src`` reads one — on disk, like the copy — else an in-memory table."""
    if isinstance(src, WorkingSources):
        return _create(eng, f"kept_{uuid.uuid4().hex[:12]}", expr, schema=RUN)
    from rapport.analytics.metrics import execute

    return ibis.memtable(execute(expr, eng.con))


def _create(eng: Any, name: str, expr: ir.Table, *, schema: str = "main") -> ir.Table:
    """A table ``name`` of the working copy (in ``schema``) holding ``expr``'s rows, typed
    as ``expr``.

    What Ibis's ``create_table`` does (the columns declared with ``expr``'s types, then
    the rows inserted by the query), with the query compiled once and sent as text:
    ``create_table`` copies the whole compiled query tree to embed it in its ``INSERT``,
    which on the degrees' queries costs as much CPU as compiling them."""
    table, insert = _declare(eng, name, expr, schema=schema)
    eng.con.raw_sql(insert).fetchall()
    return table


def _declare(eng: Any, name: str, expr: ir.Table, *, schema: str = "main") -> tuple[ir.Table, str]:
    """The empty table ``name`` of the working copy (in ``schema``), typed as ``expr``, and
    the statement that inserts ``expr``'s rows into it (see :func:`_create`)."""
    dialect = eng.con.dialect
    columns = expr.schema().to_sqlglot_column_defs(dialect)
    target = _target(name, schema)
    create = sge.Create(kind="TABLE", this=sge.Schema(this=target, expressions=columns))
    insert = _insert(eng, name, expr, schema=schema)
    eng.con.raw_sql(create.sql(dialect)).fetchall()
    return eng.con.table(name, database=(DATABASE, schema)), insert


def _target(name: str, schema: str = "main") -> sge.Table:
    return sg.table(name, db=schema, catalog=DATABASE, quoted=True)


def _insert(eng: Any, name: str, expr: ir.Table, *, schema: str = "main") -> str:
    """The statement that inserts ``expr``'s rows into the table ``name`` of the working
    copy (in ``schema``), column by column."""
    dialect = eng.con.dialect
    names = ", ".join(sge.to_identifier(c, quoted=True).sql(dialect) for c in expr.columns)
    eng.con._run_pre_execute_hooks(expr)  # registers the in-memory tables it reads
    query = eng.con.compile(expr)
    return f"INSERT INTO {_target(name, schema).sql(dialect)} ({names}) {query}"


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


@dataclasses.dataclass(frozen=True)
class Refresh:
    """How a table of a kept copy is brought up to date (:func:`plan`): ``"whole"``, copied
    again entirely; ``"added"``, the store's rows with ids above ``after`` inserted;
    ``"kept"``, left as it is. ``upto`` bounds the ids copied (the highest id the store held
    when the run looked; ``None``: every row), so a row added meanwhile is the next run's."""

    how: Literal["whole", "added", "kept"]
    after: int | None = None
    upto: int | None = None


#: Every table copied whole, into tables made for this run.
WHOLE = Refresh("whole")


def copy_store(
    eng: Any,
    rules: Rules,
    *,
    refresh: Mapping[str, Refresh] | None = None,
    added: Mapping[str, ir.Table] | None = None,
) -> dict[str, ir.Table]:
    """Copy the columns of :data:`READ` from the store into the attached working database,
    the tables side by side (:func:`_copy_side_by_side`, the largest first); each copied
    table with the other canonical columns as typed nulls.

    ``refresh`` says per table how a kept copy is brought up to date (:func:`plan`; a table
    copied whole is made again); without it every table is copied whole into a new table.
    ``added`` holds, for a table refreshed with its added rows, those rows already read
    (:func:`_added_rows`), inserted as they are.
    """
    store = Sources(eng, rules=rules)
    inserts: dict[str, str] = {}
    for name, columns in READ.items():
        how = refresh[name] if refresh is not None else WHOLE
        if how.how == "kept":
            continue
        if added is not None and name in added:
            eng.con.raw_sql(_insert(eng, name, added[name])).fetchall()  # a few rows, here
            continue
        source = getattr(store, name)
        if how.after is not None:
            source = source.filter(source.id > how.after)
        if how.upto is not None:
            source = source.filter(source.id <= how.upto)
        expr = source.select(*columns)
        if how.how == "added":
            inserts[name] = _insert(eng, name, expr)
            continue
        if refresh is not None:
            eng.con.raw_sql(f"DROP TABLE IF EXISTS {_target(name).sql(eng.con.dialect)}")
        _, inserts[name] = _declare(eng, name, expr)
    first = [inserts.pop(name) for name in LARGEST if name in inserts]
    with _any_order(eng):
        _copy_side_by_side(eng, [*first, *inserts.values()])
    return {name: _canonical(eng, name) for name in READ}


def _canonical(eng: Any, name: str) -> ir.Table:
    """The copy of table ``name`` with the canonical columns it does not hold as typed
    nulls."""
    schema = SCHEMAS[name]
    copy = eng.con.table(name, database=(DATABASE, "main"))
    nulls = {c: ibis.null(schema[c]) for c in schema.names if c not in READ[name]}
    return copy.mutate(**nulls).select(*schema.names)


@dataclasses.dataclass(frozen=True)
class Copied:
    """What a kept copy of one table was made from: the store's ``since`` and ``changes``
    for the table then (:class:`rapport.store.table_changes.TableMark`), the highest id
    copied (``None``: the table had no row) and the digest of that row."""

    since: str
    changes: int
    last_id: int | None
    last_digest: str | None


def plan(copied: Mapping[str, Copied], marks: Mapping[str, TableMark]) -> dict[str, Refresh]:
    """Per table of :data:`READ`, how the kept copy described by ``copied`` is brought up to
    the store's state ``marks`` (:func:`rapport.store.table_changes.marks`).

    A table is copied again whole when the store keeps no count of its changes, when the
    copy was made of another store (``since``) or before a row of it was updated or deleted
    (``changes``), when the copy holds no row of it, or when the last row copied is no
    longer there as it was (a store put back from an older file); else only the rows added
    since are copied, if any."""
    refresh: dict[str, Refresh] = {}
    for name in READ:
        mark, was = marks.get(name), copied.get(name)
        upto = None if mark is None else mark.top
        if (
            mark is None
            or was is None
            or was.since != mark.since
            or was.changes != mark.changes
            or was.last_id is None
            or mark.top is None
            or mark.top < was.last_id
            or mark.copied_digest != was.last_digest
        ):
            refresh[name] = Refresh("whole", upto=upto)
        elif mark.top == was.last_id:
            refresh[name] = Refresh("kept")
        else:
            refresh[name] = Refresh("added", after=was.last_id, upto=upto)
    return refresh


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


#: The kept copy's file in the working directory (``<data_dir>/duckdb/work``).
KEPT_FILE = "copy.duckdb"
#: The shape of what a kept copy holds: a file of another shape is copied again whole.
FORMAT = 1
#: The kept copy's description of itself: what it was made of, and per table from what
#: (:class:`Copied`).
_OF, _COPIED = "_copy_of", "_copied"
#: The working copy's schema for what a run keeps (:func:`kept`), dropped when it ends.
RUN = "run"
#: One run at a time in a process uses the kept copy; another one meanwhile makes a copy of
#: its own (DuckDB keeps another process out of the file by a lock of its own).
_KEPT = threading.Lock()


def _store_file(settings: Any) -> Path | None:
    """The SQLite store's file, or ``None`` for another store."""
    url = make_url(settings.database_url)
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    return Path(url.database).expanduser().resolve()


def _key(eng: Any, store: Path) -> str:
    """What a kept copy is a copy of: the store's file, the columns copied with their
    canonical types, the session's time zone and :data:`FORMAT`."""
    zone = eng.con.raw_sql("SELECT current_setting('TimeZone')").fetchone()[0]
    shape = {name: (columns, str(SCHEMAS[name])) for name, columns in READ.items()}
    return row_digest((FORMAT, str(store), shape, zone))


def _attach_kept(eng: Any, path: Path, key: str) -> bool:
    """Attach the kept copy at ``path``, a copy of ``key`` (:func:`_key`); ``False`` when
    another process or connection holds it. A file of something else, or one DuckDB
    cannot open, is made again."""
    for attempt in (1, 2):
        try:
            eng.con.attach(path, name=DATABASE)
        except duckdb.Error as exc:
            text = str(exc).lower()
            if "lock" in text or "conflict" in text:
                log.info("the kept working copy is in use (%s): copying the store", exc)
                return False
            if attempt == 2:
                raise
            log.warning("the kept working copy %s cannot be opened (%s): made again", path, exc)
        else:
            of = _copy_of(eng)
            if of == key:
                return True
            if of is None:  # a new file
                _copy_of(eng, key)
                return True
            log.info("the kept working copy %s is of another store or shape: made again", path)
            eng.con.detach(DATABASE)
        for suffix in ("", ".wal"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    return False  # pragma: no cover - the loop returns or raises


def _sql(eng: Any, statement: str, *params: Any) -> list[Any]:
    return list(eng.con.con.execute(statement, list(params)).fetchall())


def _described(eng: Any) -> dict[str, Copied]:
    """The kept copy's :class:`Copied` per table (none in a new file)."""
    copied = _target(_COPIED).sql(eng.con.dialect)
    _sql(
        eng,
        f"CREATE TABLE IF NOT EXISTS {copied} (table_name VARCHAR PRIMARY KEY, "
        "since VARCHAR, changes BIGINT, last_id BIGINT, last_digest VARCHAR)",
    )
    rows = _sql(eng, f"SELECT table_name, since, changes, last_id, last_digest FROM {copied}")
    return {row[0]: Copied(*row[1:]) for row in rows}


def _copy_of(eng: Any, key: str | None = None) -> str | None:
    """What the attached kept copy is a copy of (:func:`_key`; ``None``: a new file);
    with ``key``, set to it."""
    of = _target(_OF).sql(eng.con.dialect)
    _sql(eng, f"CREATE TABLE IF NOT EXISTS {of} (key VARCHAR)")
    if key is not None:
        _sql(eng, f"DELETE FROM {of}")
        _sql(eng, f"INSERT INTO {of} VALUES (?)", key)
    rows = _sql(eng, f"SELECT key FROM {of}")
    return rows[0][0] if rows else None


def _run_schema(eng: Any, *, drop: bool = False, create: bool = False) -> None:
    """The working copy's schema :data:`RUN`, where a run keeps what it computed
    (:func:`kept`): dropped with its tables, made anew."""
    if drop:
        _sql(eng, f"DROP SCHEMA IF EXISTS {DATABASE}.{RUN} CASCADE")
    if create:
        _sql(eng, f"CREATE SCHEMA IF NOT EXISTS {DATABASE}.{RUN}")


def _marks(settings: Any, copied: Mapping[str, Copied]) -> dict[str, TableMark]:
    """The store's :class:`~rapport.store.table_changes.TableMark` per table, read in one
    transaction on a connection of the store's own driver, closed before DuckDB reads the
    store again (two copies of SQLite in one process must not hold the file at once)."""
    store = engine_from_settings(settings)
    try:
        with store.connect() as conn, conn.begin():
            ids = {name: was.last_id for name, was in copied.items()}
            return table_changes.marks(conn, READ, ids)
    finally:
        store.dispose()


#: The widest range of ids whose added rows a run reads through the store's driver, by the
#: primary key, into the process (:func:`_added_rows`); the rows of a wider one DuckDB
#: copies from the store, which reads the whole table for them (its SQLite reader filters
#: rows only after reading them).
ADDED_IN_PROCESS = 1_000_000


def _driver_type(dtype: Any) -> pa.DataType | None:
    """The Arrow type of the values the store's driver gives for a column DuckDB reads from
    the store as ``dtype``: times come as their text, cast afterwards as DuckDB casts text;
    ``None`` for a type of another kind (the table is then copied by DuckDB)."""
    if dtype.is_int64():
        return pa.int64()
    if dtype.is_float64():
        return pa.float64()
    if dtype.is_string() or dtype.is_date() or (dtype.is_timestamp() and dtype.timezone is None):
        return pa.string()
    return None


def _added_rows(eng: Any, settings: Any, refresh: Mapping[str, Refresh]) -> dict[str, ir.Table]:
    """Per table to be refreshed with its added rows (at most :data:`ADDED_IN_PROCESS` ids
    apart), those rows read down the store's primary key
    (:func:`rapport.store.table_changes.added`), typed as DuckDB reads the store's table
    and cast to the canonical columns (:func:`~rapport.analytics.sources.conform`): what
    a copy by DuckDB would insert, without DuckDB reading the whole table for them."""
    wanted = {
        name: how
        for name, how in refresh.items()
        if how.how == "added"
        and how.after is not None
        and how.upto is not None
        and how.upto - how.after <= ADDED_IN_PROCESS
    }
    # the store's types as DuckDB reads them, before the driver opens the file
    types: dict[str, dict[str, Any]] = {}
    for name in wanted:
        raw = eng.table(name).schema()
        found = {c: raw[c] for c in READ[name]}
        if all(_driver_type(t) is not None for t in found.values()):
            types[name] = found
    if not types:
        return {}
    store = engine_from_settings(settings)
    try:
        with store.connect() as conn, conn.begin():
            rows = {
                name: table_changes.added(
                    conn,
                    name,
                    READ[name],
                    int(wanted[name].after or 0),
                    int(wanted[name].upto or 0),
                )
                for name in types
            }
    finally:
        store.dispose()
    tables = {}
    for name, found in types.items():
        columns = list(zip(*rows[name], strict=True)) if rows[name] else [()] * len(found)
        try:
            arrow = pa.table(
                {
                    c: pa.array(values, _driver_type(t))
                    for (c, t), values in zip(found.items(), columns, strict=True)
                }
            )
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
            continue  # a value of another kind than its column's (SQLite allows it): DuckDB's
        table = ibis.memtable(arrow)
        timed = {c: table[c].cast(t) for c, t in found.items() if t.is_temporal()}
        tables[name] = conform(table.mutate(**timed) if timed else table, name, READ[name])
    return tables


def _refresh(eng: Any, settings: Any, rules: Rules) -> WorkingSources:
    """Bring the attached kept copy up to the store (:func:`plan`) and describe it anew."""
    copied = _described(eng)
    marks = _marks(settings, copied)
    refresh = plan(copied, marks)
    added = _added_rows(eng, settings, refresh)
    described = _target(_COPIED).sql(eng.con.dialect)
    # a table being refreshed is described again only once its rows are in: a run stopped
    # meanwhile leaves it undescribed, to be copied whole by the next
    for name, how in refresh.items():
        if how.how != "kept":
            _sql(eng, f"DELETE FROM {described} WHERE table_name = ?", name)
    tables = copy_store(eng, rules, refresh=refresh, added=added)
    for name, how in refresh.items():
        mark = marks.get(name)
        if how.how == "kept" or mark is None:
            continue
        _sql(
            eng,
            f"INSERT INTO {described} VALUES (?, ?, ?, ?, ?)",
            name,
            mark.since,
            mark.changes,
            mark.top,
            mark.top_digest,
        )
    log.info(
        "working copy refreshed: %s",
        ", ".join(f"{name} {how.how}" for name, how in refresh.items()),
    )
    return WorkingSources(eng, tables=tables, rules=rules, refresh=refresh)


@contextlib.contextmanager
def working_sources(eng: Any, settings: Any, *, rules: Rules) -> Iterator[Sources]:
    """Sources over a copy of :data:`READ` when ``eng`` is DuckDB attached to the store,
    else over ``eng`` itself.

    On a SQLite store the copy is kept between runs (:data:`KEPT_FILE`) and brought up to
    date from what changed (:func:`plan`); what a run keeps in it (:func:`kept`) is dropped
    on leaving. On another store, or while another run uses the kept copy, the run makes a
    copy of its own, removed on leaving.

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
    bounded = not settings.duckdb_memory_limit
    limit = _setting(eng, "memory_limit", f"'{MEMORY_LIMIT}'") if bounded else None
    store = _store_file(settings)
    with limit or contextlib.nullcontext(), contextlib.ExitStack() as stack:
        if store is not None and _KEPT.acquire(blocking=False):
            stack.callback(_KEPT.release)
            if _attach_kept(eng, directory / KEPT_FILE, _key(eng, store)):
                stack.callback(eng.con.detach, DATABASE)
                stack.callback(_run_schema, eng, drop=True)
                _run_schema(eng, drop=True, create=True)  # a run stopped may have left one
                yield _refresh(eng, settings, rules)
                return
        path = directory / f"scoring-{os.getpid()}-{uuid.uuid4().hex[:8]}.duckdb"
        eng.con.attach(path, name=DATABASE)
        try:
            _run_schema(eng, create=True)
            yield WorkingSources(eng, tables=copy_store(eng, rules), rules=rules)
        finally:
            eng.con.detach(DATABASE)
            for suffix in ("", ".wal"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)


__all__ = [
    "ADDED_IN_PROCESS",
    "COPY_THREADS",
    "DATABASE",
    "FORMAT",
    "KEPT_FILE",
    "LARGEST",
    "MEMORY_LIMIT",
    "READ",
    "RUN",
    "WHOLE",
    "Copied",
    "Refresh",
    "WorkingSources",
    "copy_store",
    "kept",
    "plan",
    "working_sources",
]
