"""Benchmark data: a sample company as import files, canonical Parquet and a store.

    .venv/bin/python -m benchmarks.build_store --data DIR [--customers 1000000]
    .venv/bin/python -m benchmarks.build_store --data DIR [--customers N] --postgres URL

Builds, once, under ``DIR`` (each step is skipped when its output is already there, and
each output appears only when complete):

``DIR/import/``
    :func:`rapport.sample.generator.generate_to_dir` — ``customers`` customers, 24 months,
    seed 42, Parquet in the import format (references by external key).
``DIR/canonical/<table>.parquet``
    Every canonical table, columns and types exactly
    :data:`rapport.analytics.tables.SCHEMAS`, converted from the import files by DuckDB
    SQL: surrogate ``id`` = row number in the import file, references resolved by joins on
    the business keys of :data:`rapport.ingest.entities.ENTITIES`, ``created_at`` /
    ``updated_at`` filled from the row's own times (the history's start for users, products
    and campaigns), ticket due times left null, tables the sample has no rows for empty.
    This is preparation of benchmark data, not the product's load path: that path is the
    importer (validation, normalization, upsert), measured by ``benchmarks.import_orders``.
``DIR/store.db``
    A SQLite store made by :func:`rapport.store.db.create_engine` and
    :func:`rapport.store.db.upgrade` (the migrations), filled from the canonical Parquet by
    DuckDB's sqlite extension (``INSERT INTO store.<table> SELECT … FROM read_parquet(…)``).
    Values are written as SQLAlchemy writes them — times as naive UTC text
    ``YYYY-MM-DD HH:MM:SS.ffffff``, dates ``YYYY-MM-DD``, booleans 0/1, JSON as text, money
    as numbers. For the load the secondary indexes are dropped and built again afterwards
    with the migrations' own statements, and the rollback journal replaces WAL (WAL is back
    on at the end), so the finished file has exactly the migrated schema.

``--postgres URL`` (instead of ``DIR/store.db``)
    A PostgreSQL store, e.g. ``postgresql+psycopg://postgres@127.0.0.1:5432/rapport_bench``:
    the database is created when missing (``CREATE DATABASE`` from the server's
    ``postgres`` database), migrated by :func:`rapport.store.db.upgrade`, and refused when a
    canonical table already holds rows. Filled from the canonical Parquet (built first when
    missing; the SQLite store is neither built nor read) by DuckDB's postgres extension
    (``INSERT INTO pg.public.<table> SELECT … FROM read_parquet(…)``, which the extension
    sends as a binary ``COPY … FROM STDIN``; a DuckDB connection per table), each table in a
    transaction of its own; when anything fails, the tables are emptied and what was set
    aside is made again, so the store is left migrated and empty. Values are stored as the
    product stores them — times as ``timestamptz`` holding the same UTC instants, JSON as
    ``jsonb`` documents, money as ``NUMERIC(14,2)``, booleans, dates. For the load the
    primary keys, unique constraints, secondary indexes and foreign keys of (and into) the
    loaded tables are dropped; after it they are created again from their own definitions
    (``pg_get_constraintdef``, ``pg_indexes``), then ``ANALYZE``, then the foreign keys,
    each checking every row; the ``SERIAL`` id sequences are set past the largest ids.
    After that ``VACUUM``
    leaves the tables' visibility maps and hint bits as a settled store has them.

Prints the time of each step and ends with one query over the three copies (import files,
canonical Parquet, the SQLite or the PostgreSQL store): row counts per table must be equal.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import sqlite3
import time
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import ibis
import pyarrow.parquet as pq
import sqlalchemy as sa
from sqlalchemy.engine import URL

from rapport.analytics.connect import _install_extension, _libpq
from rapport.analytics.periods import to_utc
from rapport.analytics.tables import SCHEMAS
from rapport.ingest.entities import ENTITIES, IMPORT_ORDER
from rapport.sample.generator import generate_to_dir
from rapport.store import schema
from rapport.store.db import create_engine, normalize_url, upgrade

MONTHS = 24
SEED = 42
#: DuckDB's memory cap while converting (it spills to ``DIR/tmp`` beyond it).
MEMORY_LIMIT = "4GB"
ROW_GROUP_SIZE = 1_000_000
#: How SQLAlchemy's SQLite ``DateTime`` stores a time (``strftime`` of DuckDB).
SQLITE_TIMESTAMP = "%Y-%m-%d %H:%M:%S.%f"

_SQL_TYPES = {
    "int64": "BIGINT",
    "float64": "DOUBLE",
    "string": "VARCHAR",
    "timestamp": "TIMESTAMP",
    "date": "DATE",
    "boolean": "BOOLEAN",
}

#: Canonical columns the import format lacks, as SQL over the import row ``s`` (and the
#: resolved references). ``{start}`` is the history's first instant, a TIMESTAMP literal.
_FILLED: dict[str, dict[str, str]] = {
    "users": {"is_active": "TRUE", "created_at": "{start}", "updated_at": "{start}"},
    "customers": {"updated_at": "CAST(s.created_at AS TIMESTAMP)"},
    "leads": {"updated_at": "CAST(coalesce(s.converted_at, s.created_at) AS TIMESTAMP)"},
    "products": {"is_active": "TRUE", "created_at": "{start}", "updated_at": "{start}"},
    "campaigns": {"created_at": "{start}", "updated_at": "{start}"},
    "orders": {
        "created_at": "CAST(s.ordered_at AS TIMESTAMP)",
        "updated_at": "CAST(s.ordered_at AS TIMESTAMP)",
    },
    "tickets": {
        "created_at": "CAST(s.opened_at AS TIMESTAMP)",
        "updated_at": (
            "CAST(coalesce(s.closed_at, s.resolved_at, s.first_response_at, s.opened_at)"
            " AS TIMESTAMP)"
        ),
    },
}


def _sql(value: str | Path) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def _seconds(start: float) -> str:
    return f"{time.perf_counter() - start:.1f} s"


def duckdb_connection(data: Path) -> Any:
    """An Ibis DuckDB connection in UTC, its extensions and spill files under ``data``."""
    extensions = (data / ".rapport" / "duckdb" / "extensions").resolve()
    extensions.mkdir(parents=True, exist_ok=True)
    con = ibis.duckdb.connect(
        extension_directory=str(extensions),
        autoinstall_known_extensions=False,
        autoload_known_extensions=False,
        memory_limit=MEMORY_LIMIT,
        temp_directory=str((data / "tmp").resolve()),
    )
    con.raw_sql("SET TimeZone = 'UTC'")
    con._rapport_extensions = extensions
    return con


# --- 1. import files ---------------------------------------------------------------------


def build_import(data: Path, customers: int) -> Path:
    """``DIR/import``: the generated company in the import format."""
    out = data / "import"
    if (out / "params.json").is_file():
        made = json.loads((out / "params.json").read_text("utf-8"))["customers"]
        if made != customers:
            raise SystemExit(
                f"{out} holds {made:,} customers, not {customers:,}: use another --data"
            )
        print(f"import files: cached in {out}")
        return out
    partial = data / "import.partial"
    shutil.rmtree(partial, ignore_errors=True)
    start = time.perf_counter()
    rows = generate_to_dir(partial, customers=customers, months=MONTHS, seed=SEED, format="parquet")
    os.replace(partial, out)
    print(
        f"import files: {customers:,} customers, {sum(rows.values()):,} rows "
        f"(orders {rows['orders']:,}, events {rows['events']:,}) in {_seconds(start)}"
    )
    return out


def history(import_dir: Path) -> tuple[datetime, datetime]:
    """First and end instants (naive UTC) of the generated history."""
    params = json.loads((import_dir / "params.json").read_text("utf-8"))
    zone = ZoneInfo(params["timezone"])
    first = datetime.combine(date.fromisoformat(params["start"]), datetime.min.time())
    end = datetime.combine(date.fromisoformat(params["end"]), datetime.min.time())
    return to_utc(first, zone), to_utc(end, zone)


# --- 2. canonical Parquet ----------------------------------------------------------------


def canonical_select(table: str, source: Path, canonical: Path, start: datetime) -> str:
    """The DuckDB query giving ``table`` in the canonical schema from its import file."""
    spec = ENTITIES[table]
    present = set(pq.read_schema(source).names)
    fields = {f.column: f for f in spec.fields if f.name in present}
    filled = _FILLED.get(table, {})
    start_sql = f"TIMESTAMP '{start.isoformat(sep=' ')}'"
    columns, joins = [], []
    for name, dtype in SCHEMAS[table].items():
        sql_type = _SQL_TYPES[str(dtype).rstrip("!")]
        field = fields.get(name)
        if name == "id":
            expr = "s.file_row_number + 1"
        elif name in filled:
            expr = filled[name].format(start=start_sql)
        elif field is not None and field.reference is not None:
            alias = f"r_{name}"
            target = canonical / f"{field.reference.table.name}.parquet"
            key = field.reference.key
            joins.append(
                f"LEFT JOIN (SELECT id, {key} FROM read_parquet({_sql(target)})) {alias} "
                f"ON {alias}.{key} = s.{field.name}"
            )
            expr = f"{alias}.id"
        elif field is not None:
            expr = f"s.{name}"
        else:
            expr = "NULL"
        columns.append(f"CAST({expr} AS {sql_type}) AS {name}")
    return (
        f"SELECT {', '.join(columns)}\n"
        f"FROM read_parquet({_sql(source)}, file_row_number = true) s\n"
        + "\n".join(joins)
        + "\nORDER BY s.file_row_number"
    )


def _types(schema: ibis.Schema) -> list[tuple[str, str]]:
    """Column names and type names, nullability and timestamp precision aside."""
    return [
        (name, "timestamp" if t.is_timestamp() and t.timezone is None else str(t).rstrip("!"))
        for name, t in schema.items()
    ]


def empty_select(table: str) -> str:
    columns = [
        f"CAST(NULL AS {_SQL_TYPES[str(t).rstrip('!')]}) AS {n}" for n, t in SCHEMAS[table].items()
    ]
    return f"SELECT {', '.join(columns)} WHERE FALSE"


def build_canonical(data: Path, import_dir: Path) -> Path:
    """``DIR/canonical``: one Parquet file per canonical table."""
    out = data / "canonical"
    if out.is_dir():
        print(f"canonical Parquet: cached in {out}")
        return out
    partial = data / "canonical.partial"
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    start, _ = history(import_dir)
    con = duckdb_connection(data)
    total = time.perf_counter()
    try:
        order = [*IMPORT_ORDER, *(t for t in SCHEMAS if t not in ENTITIES)]
        for table in order:
            began = time.perf_counter()
            source = import_dir / f"{table}.parquet"
            query = (
                canonical_select(table, source.resolve(), partial.resolve(), start)
                if table in ENTITIES
                else empty_select(table)
            )
            target = partial / f"{table}.parquet"
            con.raw_sql(
                f"COPY ({query}) TO {_sql(target.resolve())} "
                f"(FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE {ROW_GROUP_SIZE})"
            )
            rows = con.raw_sql(f"SELECT count(*) FROM read_parquet({_sql(target)})").fetchone()[0]
            print(f"  canonical {table:<22}{rows:>12,} rows  {_seconds(began)}")
        for table in SCHEMAS:  # the files have exactly the canonical columns and types
            found = con.read_parquet(str(partial / f"{table}.parquet")).schema()
            if _types(found) != _types(SCHEMAS[table]):
                raise SystemExit(f"canonical {table}: schema {found} is not {SCHEMAS[table]}")
    finally:
        con.disconnect()
    os.replace(partial, out)
    print(f"canonical Parquet: {len(SCHEMAS)} tables in {_seconds(total)}")
    return out


# --- 3. SQLite store ---------------------------------------------------------------------


def _store_value(name: str, dtype: str) -> str:
    """A canonical Parquet column as SQLAlchemy stores it in SQLite, as text."""
    if dtype == "timestamp":
        return f"strftime({name}, '{SQLITE_TIMESTAMP}')"
    if dtype == "boolean":
        return f"CAST(CAST({name} AS INTEGER) AS VARCHAR)"
    return f"CAST({name} AS VARCHAR)"  # SQLite's column affinity makes numbers of numbers


def build_store(data: Path, canonical: Path) -> Path:
    """``DIR/store.db``: the migrated SQLite store holding the canonical tables."""
    out = data / "store.db"
    if out.is_file():
        print(f"SQLite store: cached in {out}")
        return out
    partial = data / "store.partial.db"
    for leftover in data.glob("store.partial.db*"):
        leftover.unlink()
    total = time.perf_counter()
    engine = create_engine(f"sqlite:///{partial.resolve()}")
    upgrade(engine)
    engine.dispose()
    with sqlite3.connect(partial) as db:
        indexes = db.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
        ).fetchall()
        for name, _ in indexes:
            db.execute(f'DROP INDEX "{name}"')
    db.close()
    with sqlite3.connect(partial) as db:
        db.execute("PRAGMA journal_mode = DELETE")
    db.close()
    print(f"  migrated store, {len(indexes)} secondary indexes set aside  {_seconds(total)}")

    con = duckdb_connection(data)
    try:
        _install_extension(con, "sqlite", con._rapport_extensions)
        con.raw_sql("SET sqlite_all_varchar = true")  # write the text given, as SQLAlchemy does
        con.raw_sql(f"ATTACH {_sql(partial.resolve())} AS store (TYPE sqlite)")
        for table, schema in SCHEMAS.items():
            began = time.perf_counter()
            names = list(schema.names)
            values = [_store_value(n, str(t).rstrip("!")) for n, t in schema.items()]
            source = _sql((canonical / f"{table}.parquet").resolve())
            con.raw_sql(
                f"INSERT INTO store.{table} ({', '.join(names)}) "
                f"SELECT {', '.join(values)} FROM read_parquet({source})"
            )
            print(f"  store {table:<26}{_seconds(began):>12}")
        con.raw_sql("DETACH store")
    finally:
        con.disconnect()

    began = time.perf_counter()
    db = sqlite3.connect(partial)
    try:
        db.execute("PRAGMA cache_size = -1048576")  # 1 GiB for the index sorts
        for _name, sql in indexes:
            db.execute(sql)
        db.commit()
        db.execute("PRAGMA journal_mode = WAL")
    finally:
        db.close()
    print(f"  {len(indexes)} secondary indexes built  {_seconds(began)}")
    os.replace(partial, out)
    print(f"SQLite store: {out} ({out.stat().st_size / 2**30:.1f} GiB) in {_seconds(total)}")
    return out


# --- 3b. PostgreSQL store ----------------------------------------------------------------

#: DuckDB catalog name of the PostgreSQL store while it is filled or checked.
PG_CATALOG = "pgstore"
#: Databases of the server asked to ``CREATE DATABASE`` the store, the first reachable one.
PG_ADMIN_DATABASES = ("postgres", "test")
#: ``maintenance_work_mem`` of the load's transaction: the sorts of the index builds.
PG_MAINTENANCE_WORK_MEM = "1GB"
#: ``work_mem`` of the load's transaction: the joins checking the foreign keys.
PG_WORK_MEM = "256MB"


@dataclass
class SetAside:
    """What the load drops from the migrated schema and creates again after it.

    ``keys`` and ``foreign_keys`` are ``(table, constraint, definition)`` — primary keys and
    unique constraints of the loaded tables; foreign keys of the loaded tables or referring
    to them. ``indexes`` are ``(table, index, CREATE INDEX statement)``, the loaded tables'
    indexes that back no constraint. ``sequences`` maps each loaded table to the sequence
    of its ``SERIAL`` id.
    """

    keys: list[tuple[str, str, str]] = field(default_factory=list)
    indexes: list[tuple[str, str, str]] = field(default_factory=list)
    foreign_keys: list[tuple[str, str, str]] = field(default_factory=list)
    sequences: dict[str, str] = field(default_factory=dict)


def _ident(name: str) -> str:
    """``name`` as a quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def pg_load_order() -> list[str]:
    """The canonical tables, each after the tables its foreign keys refer to."""
    ordered = [t.name for t in schema.metadata.sorted_tables if t.name in SCHEMAS]
    return ordered + [t for t in SCHEMAS if t not in ordered]


def ensure_pg_database(url: URL) -> bool:
    """Create the database of ``url`` when the server has none of that name (connected to
    one of :data:`PG_ADMIN_DATABASES`, autocommit); returns whether it was created."""
    name = url.database
    if not name:
        raise SystemExit(f"{url.render_as_string(hide_password=True)} names no database")
    failures = []
    for admin_db in PG_ADMIN_DATABASES:
        if admin_db == name:
            continue
        admin = sa.create_engine(url.set(database=admin_db), isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as conn:
                found = conn.execute(
                    sa.text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
                ).first()
                if found:
                    return False
                conn.exec_driver_sql(f"CREATE DATABASE {_ident(name)}")
                return True
        except sa.exc.OperationalError as exc:
            failures.append(f"{admin_db}: {str(exc.orig).strip().splitlines()[0]}")
        finally:
            admin.dispose()
    raise SystemExit(f"cannot reach the server to create database {name!r}: {failures}")


def refuse_filled(conn: sa.Connection, where: str) -> None:
    """Stop when a canonical table of the store already holds rows."""
    filled = [
        table
        for table in SCHEMAS
        if conn.exec_driver_sql(f"SELECT EXISTS (SELECT 1 FROM {_ident(table)})").scalar()
    ]
    if filled:
        customers = conn.exec_driver_sql("SELECT count(*) FROM customers").scalar_one()
        raise SystemExit(
            f"{where} already holds data ({customers:,} customers; rows in "
            f"{', '.join(filled)}): load into a new database, or drop this one first"
        )


def pg_set_aside(conn: sa.Connection, tables: list[str]) -> SetAside:
    """The keys, indexes and foreign keys the load of ``tables`` drops, and their sequences.

    Read from the catalog of the migrated store (schema ``public``), so that what is built
    again after the load is exactly what the migrations made.
    """
    loaded = set(tables)
    aside = SetAside()
    constraints = conn.execute(
        sa.text(
            "SELECT cl.relname, co.conname, co.contype, pg_get_constraintdef(co.oid),"
            " rf.relname"
            " FROM pg_constraint co"
            " JOIN pg_class cl ON cl.oid = co.conrelid"
            " LEFT JOIN pg_class rf ON rf.oid = co.confrelid"
            " WHERE co.connamespace = 'public'::regnamespace AND co.contype IN ('p', 'u', 'f')"
            " ORDER BY cl.relname, co.contype DESC, co.conname"
        )
    ).all()
    for table, name, kind, definition, referred in constraints:
        if kind == "f" and (table in loaded or referred in loaded):
            aside.foreign_keys.append((table, name, definition))
        elif kind in ("p", "u") and table in loaded:
            aside.keys.append((table, name, definition))
    aside.indexes = [
        (table, name, definition)
        for table, name, definition in conn.execute(
            sa.text(
                "SELECT i.tablename, i.indexname, i.indexdef FROM pg_indexes i"
                " WHERE i.schemaname = 'public' AND i.tablename = ANY(:tables)"
                " AND NOT EXISTS (SELECT 1 FROM pg_constraint co"
                "  WHERE co.conindid = format('%I.%I', i.schemaname, i.indexname)::regclass"
                "  AND co.contype IN ('p', 'u', 'x'))"
                " ORDER BY i.tablename, i.indexname"
            ),
            {"tables": tables},
        ).all()
    ]
    for table in tables:
        if "id" in SCHEMAS[table]:
            sequence = conn.execute(
                sa.text("SELECT pg_get_serial_sequence(:table, 'id')"),
                {"table": f"public.{_ident(table)}"},
            ).scalar()
            if sequence is not None:
                aside.sequences[table] = sequence
    return aside


def _pg_value(name: str, dtype: str) -> str:
    """A canonical Parquet column as the PostgreSQL store holds it: naive UTC times as the
    same instants (``timestamptz``); the other columns are cast by the insert to the
    columns' types (JSON text to ``jsonb``, money to ``NUMERIC(14,2)``, ids to integer)."""
    if dtype == "timestamp":
        return f"timezone('UTC', {_ident(name)}) AS {_ident(name)}"
    return _ident(name)


def _rate(rows: int, began: float) -> str:
    seconds = time.perf_counter() - began
    return f"{rows / seconds:>12,.0f} rows/s" if rows and seconds > 0 else ""


def pg_load_table(data: Path, canonical: Path, url: URL, table: str) -> int:
    """Insert the canonical ``table`` into the PostgreSQL store of ``url`` (a DuckDB
    connection of its own, which the extension sends as one binary ``COPY``); returns the
    rows written. One connection per table: after a ``COPY`` of a million rows, the
    extension's next statement on the same connection found the previous one still in
    progress."""
    began = time.perf_counter()
    source = (canonical / f"{table}.parquet").resolve()
    count = pq.read_metadata(source).num_rows
    if not count:  # nothing to write (and its file may predate a column added since)
        print(f"  postgres {table:<23}{0:>12,} rows")
        return 0
    names = ", ".join(_ident(n) for n in SCHEMAS[table].names)
    values = ", ".join(_pg_value(n, str(t).rstrip("!")) for n, t in SCHEMAS[table].items())
    con = duckdb_connection(data)
    try:
        _install_extension(con, "postgres", con._rapport_extensions)
        libpq = _libpq(url.render_as_string(hide_password=False))
        con.raw_sql(f"ATTACH {_sql(libpq)} AS {PG_CATALOG} (TYPE postgres)")
        con.raw_sql(
            f"INSERT INTO {PG_CATALOG}.public.{_ident(table)} ({names}) "
            f"SELECT {values} FROM read_parquet({_sql(source)})"
        )
        con.raw_sql(f"DETACH {PG_CATALOG}")
    finally:
        con.disconnect()
    print(f"  postgres {table:<23}{count:>12,} rows{_seconds(began):>10}{_rate(count, began)}")
    return count


def pg_filled(tables: list[str], aside: SetAside) -> list[str]:
    """The tables a load fills: ``tables``, then the others referring to them, whose rows
    the triggers of the loaded tables write (``customer_search``)."""
    referring = {table for table, _, _ in aside.foreign_keys} - set(tables)
    return [*tables, *sorted(referring)]


def pg_restore(conn: sa.Connection, tables: list[str], aside: SetAside, *, report: bool) -> None:
    """Make again what the load set aside (:class:`SetAside`), in ``conn``'s transaction:
    the keys and indexes, ``ANALYZE`` (after the indexes: it samples their expressions
    too), the foreign keys (each checking every row), the id sequences past the largest
    ids. ``report``: print the time of each step."""

    def say(text: str, began: float) -> None:
        if report:
            print(f"  {text}  {_seconds(began)}")

    conn.exec_driver_sql(f"SET LOCAL maintenance_work_mem = '{PG_MAINTENANCE_WORK_MEM}'")
    conn.exec_driver_sql(f"SET LOCAL work_mem = '{PG_WORK_MEM}'")
    for table in tables:
        began = time.perf_counter()
        keys = [(n, d) for t, n, d in aside.keys if t == table]
        indexes = [d for t, _, d in aside.indexes if t == table]
        for name, definition in keys:
            conn.exec_driver_sql(
                f"ALTER TABLE {_ident(table)} ADD CONSTRAINT {_ident(name)} {definition}"
            )
        for definition in indexes:
            conn.exec_driver_sql(definition)
        if keys or indexes:
            say(f"keys and indexes of {table:<22}{len(keys) + len(indexes):>4}", began)
    began = time.perf_counter()
    filled = pg_filled(tables, aside)
    conn.exec_driver_sql(f"ANALYZE {', '.join(_ident(t) for t in filled)}")
    say(f"ANALYZE of {len(filled)} tables", began)
    began = time.perf_counter()
    for table, name, definition in aside.foreign_keys:
        conn.exec_driver_sql(
            f"ALTER TABLE {_ident(table)} ADD CONSTRAINT {_ident(name)} {definition}"
        )
    say(f"{len(aside.foreign_keys)} foreign keys added and checked", began)
    for table, sequence in aside.sequences.items():
        conn.exec_driver_sql(
            f"SELECT setval({_sql(sequence)}, "
            f"coalesce((SELECT max(id) FROM {_ident(table)}), 0) + 1, false)"
        )


def build_postgres(data: Path, canonical: Path, url: str) -> str:
    """Fill the PostgreSQL store ``url`` with the canonical tables (see the module's
    docstring); returns the URL without its password."""
    parsed = normalize_url(url)
    if parsed.get_backend_name() != "postgresql":
        raise SystemExit(f"--postgres wants a PostgreSQL URL, not {parsed.drivername}://")
    where = parsed.render_as_string(hide_password=True)
    total = time.perf_counter()
    created = ensure_pg_database(parsed)
    engine = create_engine(parsed)
    try:
        upgrade(engine)
        tables = pg_load_order()
        with engine.connect() as conn:
            refuse_filled(conn, where)
            aside = pg_set_aside(conn, tables)
    finally:
        engine.dispose()
    print(
        f"  {'created and ' if created else ''}migrated {where}; set aside "
        f"{len(aside.keys)} keys, {len(aside.indexes)} secondary indexes, "
        f"{len(aside.foreign_keys)} foreign keys  {_seconds(total)}"
    )

    engine = create_engine(parsed)
    try:
        with engine.begin() as conn:
            listed = ", ".join(_ident(t) for t in tables)
            conn.exec_driver_sql(f"LOCK TABLE {listed} IN ACCESS EXCLUSIVE MODE")
            refuse_filled(conn, where)  # a writer came between the check above and the lock
            for table, name, _ in aside.foreign_keys:
                conn.exec_driver_sql(f"ALTER TABLE {_ident(table)} DROP CONSTRAINT {_ident(name)}")
            for _, name, _ in aside.indexes:
                conn.exec_driver_sql(f"DROP INDEX public.{_ident(name)}")
            for table, name, _ in aside.keys:
                conn.exec_driver_sql(f"ALTER TABLE {_ident(table)} DROP CONSTRAINT {_ident(name)}")
        try:
            loaded = time.perf_counter()
            rows = 0
            for table in tables:
                rows += pg_load_table(data, canonical, parsed, table)
            print(f"  {rows:,} rows loaded  {_seconds(loaded)}{_rate(rows, loaded)}")
            with engine.begin() as conn:
                pg_restore(conn, tables, aside, report=True)
        except BaseException:
            with contextlib.suppress(Exception), engine.begin() as conn:  # the first error counts
                emptied = ", ".join(_ident(t) for t in pg_filled(tables, aside))
                conn.exec_driver_sql(f"TRUNCATE {emptied}")
                pg_restore(conn, tables, aside, report=False)
            print(f"  load failed: {where} is migrated and empty again")
            raise
    finally:
        engine.dispose()

    began = time.perf_counter()
    engine = create_engine(parsed, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            filled = pg_filled(tables, aside)
            conn.exec_driver_sql(f"VACUUM {', '.join(_ident(t) for t in filled)}")
            size = conn.exec_driver_sql("SELECT pg_database_size(current_database())").scalar_one()
    finally:
        engine.dispose()
    print(f"  VACUUM of {len(filled)} tables  {_seconds(began)}")
    print(f"PostgreSQL store: {where} ({size / 2**30:.2f} GiB) in {_seconds(total)}")
    return where


# --- check -------------------------------------------------------------------------------


def check(data: Path, postgres: str | None = None) -> None:
    """One query: rows per table in the import files, the canonical Parquet and the store —
    ``DIR/store.db``, or with ``postgres`` the PostgreSQL store of that URL (counted by
    PostgreSQL itself)."""
    con = duckdb_connection(data)
    try:
        if postgres is None:
            _install_extension(con, "sqlite", con._rapport_extensions)
            con.raw_sql(
                f"ATTACH {_sql((data / 'store.db').resolve())} AS store (TYPE sqlite, READ_ONLY)"
            )
        else:
            _install_extension(con, "postgres", con._rapport_extensions)
            libpq = _libpq(normalize_url(postgres).render_as_string(hide_password=False))
            con.raw_sql(f"ATTACH {_sql(libpq)} AS {PG_CATALOG} (TYPE postgres, READ_ONLY)")
        parts = []
        for table in SCHEMAS:
            source = data / "import" / f"{table}.parquet"
            imported = (
                f"(SELECT count(*) FROM read_parquet({_sql(source.resolve())}))"
                if source.is_file()
                else "0"
            )
            canonical = _sql((data / "canonical" / f"{table}.parquet").resolve())
            if postgres is None:
                stored = f"(SELECT count(*) FROM store.{table})"
            else:
                query = _sql(f"SELECT count(*) AS n FROM {_ident(table)}")
                stored = f"(SELECT n FROM postgres_query('{PG_CATALOG}', {query}))"
            parts.append(
                f"SELECT '{table}' AS t, {imported} AS imported, "
                f"(SELECT count(*) FROM read_parquet({canonical})) AS canonical, "
                f"{stored} AS stored"
            )
        rows = con.raw_sql(" UNION ALL ".join(parts)).fetchall()
        # the searched text the triggers write: one row per customer
        if postgres is None:
            searched = con.raw_sql("SELECT count(*) FROM store.customer_search").fetchone()
        else:
            query = _sql("SELECT count(*) AS n FROM customer_search")
            searched = con.raw_sql(
                f"SELECT n FROM postgres_query('{PG_CATALOG}', {query})"
            ).fetchone()
    finally:
        con.disconnect()
    bad = [r for r in rows if not r[1] == r[2] == r[3]]
    customers = next(r[3] for r in rows if r[0] == "customers")
    if searched is None or searched[0] != customers:
        bad.append(("customer_search", customers, customers, searched and searched[0]))
    total = sum(r[3] for r in rows)
    store = "store" if postgres is None else "PostgreSQL store"
    if bad:
        raise SystemExit(f"row counts differ (table, import, canonical, {store}): {bad}")
    print(f"check: {len(rows)} tables, {total:,} rows, equal in import, canonical and {store}")


def _sources(data: Path, customers: int) -> tuple[Path, Path]:
    """Build (or find) the import files and the canonical Parquet under ``data``."""
    data.mkdir(parents=True, exist_ok=True)
    import_dir = build_import(data, customers)
    return import_dir, build_canonical(data, import_dir)


def build(data: str | Path, customers: int) -> dict[str, Path]:
    """Build (or find) the three copies under ``data``; returns their paths."""
    data = Path(data)
    import_dir, canonical = _sources(data, customers)
    store = build_store(data, canonical)
    check(data)
    return {"import": import_dir, "canonical": canonical, "store": store}


def build_on_postgres(data: str | Path, customers: int, url: str) -> str:
    """Build (or find) the import files and canonical Parquet under ``data``, then fill the
    PostgreSQL store ``url`` from them (``DIR/store.db`` is left alone); returns the URL
    without its password."""
    data = Path(data)
    _, canonical = _sources(data, customers)
    where = build_postgres(data, canonical, url)
    check(data, postgres=url)
    return where


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="directory of the cached data")
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument(
        "--postgres",
        metavar="URL",
        help="fill this PostgreSQL store (SQLAlchemy URL) instead of DIR/store.db",
    )
    args = parser.parse_args()
    if args.postgres:
        build_on_postgres(args.data, args.customers, args.postgres)
    else:
        build(args.data, args.customers)


if __name__ == "__main__":
    main()
