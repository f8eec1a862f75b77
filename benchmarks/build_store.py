"""Benchmark data: a sample company as import files, canonical Parquet and a SQLite store.

    .venv/bin/python -m benchmarks.build_store --data DIR [--customers 1000000]

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

Prints the time of each step and ends with one query over the three copies: row counts
per table must be equal.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import time
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import ibis
import pyarrow.parquet as pq

from rapport.analytics.connect import _install_extension
from rapport.analytics.periods import to_utc
from rapport.analytics.tables import SCHEMAS
from rapport.ingest.entities import ENTITIES, IMPORT_ORDER
from rapport.sample.generator import generate_to_dir
from rapport.store.db import create_engine, upgrade

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


# --- check -------------------------------------------------------------------------------


def check(data: Path) -> None:
    """One query: rows per table in the import files, the canonical Parquet and the store."""
    con = duckdb_connection(data)
    try:
        _install_extension(con, "sqlite", con._rapport_extensions)
        con.raw_sql(
            f"ATTACH {_sql((data / 'store.db').resolve())} AS store (TYPE sqlite, READ_ONLY)"
        )
        parts = []
        for table in SCHEMAS:
            source = data / "import" / f"{table}.parquet"
            imported = (
                f"(SELECT count(*) FROM read_parquet({_sql(source.resolve())}))"
                if source.is_file()
                else "0"
            )
            canonical = _sql((data / "canonical" / f"{table}.parquet").resolve())
            parts.append(
                f"SELECT '{table}' AS t, {imported} AS imported, "
                f"(SELECT count(*) FROM read_parquet({canonical})) AS canonical, "
                f"(SELECT count(*) FROM store.{table}) AS stored"
            )
        rows = con.raw_sql(" UNION ALL ".join(parts)).fetchall()
    finally:
        con.disconnect()
    bad = [r for r in rows if not r[1] == r[2] == r[3]]
    total = sum(r[3] for r in rows)
    if bad:
        raise SystemExit(f"row counts differ (table, import, canonical, store): {bad}")
    print(f"check: {len(rows)} tables, {total:,} rows, equal in import, canonical and store")


def build(data: str | Path, customers: int) -> dict[str, Path]:
    """Build (or find) the three copies under ``data``; returns their paths."""
    data = Path(data)
    data.mkdir(parents=True, exist_ok=True)
    import_dir = build_import(data, customers)
    canonical = build_canonical(data, import_dir)
    store = build_store(data, canonical)
    check(data)
    return {"import": import_dir, "canonical": canonical, "store": store}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="directory of the cached data")
    parser.add_argument("--customers", type=int, default=1_000_000)
    args = parser.parse_args()
    build(args.data, args.customers)


if __name__ == "__main__":
    main()
