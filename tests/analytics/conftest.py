"""The analytics engine matrix: one dataset, five engines, the same tests on each.

``sources`` is parametrized over the engines and yields ``(Sources, con)``: the conformed
canonical tables of that engine and the Ibis backend that executes expressions on them.

============== ================================================= =========================
engine          store / data                                      runs the expressions
============== ================================================= =========================
duckdb-sqlite   SQLite file (the default product path)            DuckDB, store attached
duckdb-postgres PostgreSQL database                               DuckDB, store attached
postgres        PostgreSQL database                               PostgreSQL
parquet         Parquet written by ``export_parquet``             DuckDB
spark           the same Parquet                                  Spark ``local[2]``
============== ================================================= =========================

The dataset (``tests.analytics.fixture_data.TABLES``: table name → rows in the canonical
schema, naive datetimes meaning UTC, floats for money) is loaded into a migrated store once
per test session. PostgreSQL engines follow the policy of ``tests/conftest.py``: they fail
when ``RAPPORT_TEST_POSTGRES_URL`` is set but unreachable, and are reported as skipped with
the reason when it is unset. Spark starts once, on first use, and runs in CI (marker
``spark``).

Known gaps are declared per test, as in Ibis, with the engines, the reason and the
exception expected; the test then runs as a strict ``xfail`` on those engines only::

    @pytest.mark.notimpl(["spark"], raises=NotImplementedError, reason="...")  # we could
    @pytest.mark.notyet(["postgres"], reason="...")   # upstream (Ibis, the engine) must
    @pytest.mark.never(["parquet"], reason="...")     # impossible by nature

Engine names are those of the table above, or ``duckdb`` for the three engines that DuckDB
runs. A misspelt engine, a missing reason or a gap marker on a test that does not run on
the engine matrix stops the collection.
"""

from __future__ import annotations

import datetime as dt
import importlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import ibis
import pytest
import sqlalchemy as sa

from rapport.analytics.connect import Engine, connect, export_parquet, stop_spark
from rapport.analytics.sources import Sources
from rapport.config import Settings
from rapport.store import schema
from rapport.store.db import create_engine, upgrade
from rapport.store.types import UTCDateTime, is_json, money
from tests.conftest import (
    POSTGRES_ENV,
    create_postgres_database,
    drop_postgres_database,
    postgres_url,
)

ENGINE_FIXTURE = "analytics_engine"
ENGINE_NAMES = ("duckdb-sqlite", "duckdb-postgres", "postgres", "parquet", "spark")
#: Names a gap marker may use besides the engine names: the executor they share.
ENGINE_FAMILIES = {"duckdb": ("duckdb-sqlite", "duckdb-postgres", "parquet")}
GAP_MARKERS = ("notimpl", "notyet", "never")

ENGINE_PARAMS = [
    pytest.param("duckdb-sqlite"),
    pytest.param("duckdb-postgres", marks=pytest.mark.postgres),
    pytest.param("postgres", marks=pytest.mark.postgres),
    pytest.param("parquet"),
    pytest.param("spark", marks=[pytest.mark.spark, pytest.mark.xdist_group("spark")]),
]


#: Deprecation notices that the pinned Ibis, PySpark and pandas 3 raise inside their own code.
UPSTREAM_WARNINGS = (
    "ignore:fetch_arrow_table\\(\\) is deprecated:DeprecationWarning:ibis\\.backends\\.duckdb",
    "ignore::pandas.errors.Pandas4Warning:pyspark\\.",
    "ignore::pandas.errors.Pandas4Warning:ibis\\.formats\\.pandas",
)


def pytest_configure(config: pytest.Config) -> None:
    import pandas.errors

    for line in UPSTREAM_WARNINGS:
        if "Pandas4Warning" in line and not hasattr(pandas.errors, "Pandas4Warning"):
            continue  # pandas 2 (the declared minimum) has no such warning to silence
        config.addinivalue_line("filterwarnings", line)


# --- the dataset -------------------------------------------------------------------------


def dataset() -> dict[str, list[dict[str, Any]]]:
    """The rows every engine is loaded with (``fixture_data.TABLES``, else the stand-in)."""
    try:
        module = importlib.import_module("tests.analytics.fixture_data")
    except ModuleNotFoundError as exc:
        if exc.name != "tests.analytics.fixture_data":
            raise
        module = importlib.import_module("tests.analytics.test_engines")
        return module.STAND_IN
    return module.TABLES


def _server_default(column: sa.Column) -> Any:
    """The value the database fills in for ``column`` when a row leaves it out."""
    default = column.server_default
    if default is None:
        return None
    arg = default.arg  # type: ignore[attr-defined]
    if isinstance(arg, str):
        python_type = column.type.python_type
        return python_type(arg) if python_type is not str else arg
    return {"true": True, "false": False}.get(str(arg.compile()).lower(), arg)


def stored_row(table: sa.Table, row: dict[str, Any]) -> dict[str, Any]:
    """``row`` as the store reads it back, in canonical Python values.

    Aware datetimes become naive UTC, and a column the row leaves out holds its server
    default (or ``None``).
    """
    out = {}
    for column in table.columns:
        if column.name not in row:
            out[column.name] = _server_default(column)
            continue
        value = row[column.name]
        if isinstance(value, dt.datetime) and value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        out[column.name] = value
    return out


def _for_store(table: sa.Table, row: dict[str, Any]) -> dict[str, Any]:
    """``row`` as the store's column types accept it: aware UTC datetimes, Decimal money,
    ``None`` as SQL NULL in JSON columns."""
    unknown = set(row) - set(table.c.keys())
    if unknown:
        raise KeyError(f"fixture rows of {table.name} have unknown columns {sorted(unknown)}")
    out = {}
    for key, value in row.items():
        column_type = table.c[key].type
        if isinstance(column_type, UTCDateTime) and isinstance(value, dt.datetime):
            value = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
        elif isinstance(column_type, sa.Numeric) and not isinstance(column_type, sa.Float):
            value = money(value)
        elif is_json(column_type) and value is None:
            value = sa.null()  # SQL NULL; a bare None would be stored as the JSON text 'null'
        out[key] = value
    return out


def load_dataset(engine: sa.Engine, tables: dict[str, list[dict[str, Any]]]) -> None:
    """Insert ``tables`` into the migrated store behind ``engine``, parents first."""
    known = {table.name for table in schema.TABLES}
    unknown = set(tables) - known
    if unknown:
        raise KeyError(f"the fixture data has unknown tables {sorted(unknown)}")
    with engine.begin() as conn:
        for table in schema.TABLES:
            groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
            for row in tables.get(table.name, ()):
                groups.setdefault(tuple(sorted(row)), []).append(_for_store(table, row))
            for rows in groups.values():  # one executemany per set of columns given
                conn.execute(table.insert(), rows)


def analytics_settings(**values: Any) -> Settings:
    """Settings from ``values`` alone: never the developer's environment or ``.env``."""
    with pytest.MonkeyPatch.context() as mp:
        for name in list(os.environ):
            if name.startswith("RAPPORT_") and name != POSTGRES_ENV:
                mp.delenv(name)
        return Settings(_env_file=None, **values)


# --- stores and engines, once per test session -------------------------------------------


@pytest.fixture(scope="session")
def analytics_dataset() -> dict[str, list[dict[str, Any]]]:
    """The dataset loaded into every engine (read it, never change it)."""
    return dataset()


@pytest.fixture(scope="session")
def analytics_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The data dir of the session's engines (DuckDB extensions, Spark state)."""
    return tmp_path_factory.mktemp("analytics-data")


@pytest.fixture(scope="session")
def analytics_sqlite_url(
    tmp_path_factory: pytest.TempPathFactory, analytics_dataset: dict[str, list[dict[str, Any]]]
) -> str:
    """A SQLite store holding the dataset."""
    url = f"sqlite:///{tmp_path_factory.mktemp('analytics-sqlite') / 'store.db'}"
    engine = create_engine(url)
    upgrade(engine)
    load_dataset(engine, analytics_dataset)
    engine.dispose()
    return url


@pytest.fixture(scope="session")
def analytics_postgres_url(analytics_dataset: dict[str, list[dict[str, Any]]]) -> Iterator[str]:
    """A PostgreSQL store holding the dataset (a database of its own, dropped afterwards)."""
    base = postgres_url()
    if base is None:
        pytest.skip(f"PostgreSQL backend not tested: {POSTGRES_ENV} is not set")
    url = create_postgres_database(base)
    engine = create_engine(url)
    try:
        upgrade(engine)
        load_dataset(engine, analytics_dataset)
    finally:
        engine.dispose()
    yield url
    drop_postgres_database(base, url)


@pytest.fixture(scope="session")
def analytics_parquet_dir(
    tmp_path_factory: pytest.TempPathFactory, analytics_sqlite_url: str, analytics_data_dir: Path
) -> Path:
    """The dataset as canonical Parquet, written by ``export_parquet`` from the SQLite store."""
    out = tmp_path_factory.mktemp("analytics-parquet")
    export_parquet(
        analytics_settings(database_url=analytics_sqlite_url, data_dir=analytics_data_dir), out
    )
    return out


@pytest.fixture(scope="session")
def spark_shared() -> Iterator[None]:
    """Stops the process's Spark context at the end of the test session, if one started."""
    yield
    stop_spark()


def open_engine(name: str, request: pytest.FixtureRequest) -> Engine:
    """Open engine ``name`` of the matrix on the session's data."""
    data_dir = request.getfixturevalue("analytics_data_dir")
    if name in ("duckdb-sqlite", "duckdb-postgres", "postgres"):
        store = "analytics_sqlite_url" if name == "duckdb-sqlite" else "analytics_postgres_url"
        settings = analytics_settings(
            database_url=request.getfixturevalue(store), data_dir=data_dir
        )
        return connect(settings, engine="postgres" if name == "postgres" else "duckdb")
    if name == "spark":
        request.getfixturevalue("spark_shared")
    settings = analytics_settings(
        database_url=request.getfixturevalue("analytics_sqlite_url"),
        data_dir=data_dir,
        parquet_dir=request.getfixturevalue("analytics_parquet_dir"),
    )
    return connect(settings, engine=name)


@pytest.fixture(scope="session", params=ENGINE_PARAMS)
def analytics_engine(request: pytest.FixtureRequest) -> Iterator[Engine]:
    """An open :class:`~rapport.analytics.connect.Engine` of the matrix, on the dataset."""
    engine = open_engine(request.param, request)
    yield engine
    engine.close()


@pytest.fixture(scope="session")
def sources(analytics_engine: Engine) -> tuple[Sources, Any]:
    """``(Sources, con)``: the conformed canonical tables and the backend that runs them."""
    return Sources(analytics_engine), analytics_engine.con


@pytest.fixture
def engine_name(request: pytest.FixtureRequest) -> str:
    """The name of the matrix engine the current test runs on."""
    return request.node.callspec.params[ENGINE_FIXTURE]


def execute(con: Any, expr: ibis.Expr) -> Any:
    """Run ``expr`` on ``con``: a table as a list of row dicts, a scalar as a Python value."""
    if isinstance(expr, ibis.Table):
        return con.to_pyarrow(expr).to_pylist()
    result = con.to_pyarrow(expr)
    return result.to_pylist() if isinstance(expr, ibis.Column) else result.as_py()


# --- known gaps --------------------------------------------------------------------------


def gap_engines(mark: pytest.Mark) -> tuple[str, ...]:
    """The matrix engines a gap marker names, checked: a typo is an error, not a no-op."""
    if len(mark.args) != 1 or not mark.kwargs.get("reason"):
        raise pytest.UsageError(
            f"@pytest.mark.{mark.name} takes a list of engines and reason=...: {mark}"
        )
    names = mark.args[0]
    names = [names] if isinstance(names, str) else list(names)
    engines: list[str] = []
    for name in names:
        if name in ENGINE_FAMILIES:
            engines.extend(ENGINE_FAMILIES[name])
        elif name in ENGINE_NAMES:
            engines.append(name)
        else:
            valid = ", ".join((*ENGINE_NAMES, *ENGINE_FAMILIES))
            raise pytest.UsageError(
                f"@pytest.mark.{mark.name}: unknown engine {name!r}; use one of {valid}"
            )
    return tuple(engines)


def gap_xfail(engine: str, marks: list[pytest.Mark]) -> pytest.MarkDecorator | None:
    """The strict xfail that the gap markers ``marks`` put on a test running on ``engine``."""
    for mark in marks:
        if engine in gap_engines(mark):
            return pytest.mark.xfail(
                raises=mark.kwargs.get("raises", Exception),
                reason=f"{mark.name} on {engine}: {mark.kwargs['reason']}",
                strict=True,
            )
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        marks = [m for kind in GAP_MARKERS for m in item.iter_markers(kind)]
        if not marks:
            continue
        params = getattr(getattr(item, "callspec", None), "params", {})
        if ENGINE_FIXTURE not in params:
            raise pytest.UsageError(
                f"{item.nodeid}: gap markers need a test that runs on the engine matrix "
                "(uses the sources or analytics_engine fixture)"
            )
        xfail = gap_xfail(params[ENGINE_FIXTURE], marks)
        if xfail is not None:
            item.add_marker(xfail)
