"""The fixture company as in-memory Ibis tables, run by an explicit DuckDB connection.

Metric tests receive ``sources`` as a ``(Sources, con)`` pair: the canonical tables and the
backend that executes them. This module builds the pair over ``ibis.memtable``; the engine
matrix (DuckDB attached to SQLite/PostgreSQL, PostgreSQL, Parquet, Spark) provides a
fixture of the same name and shape.
"""

from __future__ import annotations

from typing import Any

import ibis
import pyarrow as pa

from rapport.analytics.sources import Sources
from rapport.analytics.tables import SCHEMAS
from tests.analytics import fixture_data


def memory_tables(tables: dict[str, list[dict[str, Any]]]) -> dict[str, ibis.Table]:
    """One memtable per canonical table, typed by its canonical schema."""
    out = {}
    for name, rows in tables.items():
        schema = SCHEMAS[name]
        data = pa.Table.from_pylist(rows, schema=schema.to_pyarrow())
        out[name] = ibis.memtable(data, schema=schema)
    return out


def memory_sources(
    tables: dict[str, list[dict[str, Any]]] | None = None,
) -> tuple[Sources, Any]:
    """``(Sources, con)`` over ``tables`` (default: the fixture company) and DuckDB."""
    con = ibis.duckdb.connect()
    con.raw_sql("SET TimeZone = 'UTC'")
    src = Sources(tables=memory_tables(tables if tables is not None else fixture_data.TABLES))
    return src, con
