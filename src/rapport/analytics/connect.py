"""The one module that names a backend: build an Ibis connection from the settings.

Engines (``RAPPORT_ENGINE`` or ``--engine``):

``duckdb`` (default)
    DuckDB in process, attached read-only to the store — the SQLite file or the PostgreSQL
    database — without copying it. The DuckDB extensions come from the pinned
    ``duckdb-extension-sqlite`` / ``duckdb-extension-postgres`` wheels and are installed into
    ``<data_dir>/duckdb/extensions``; nothing is ever downloaded.
``postgres``
    PostgreSQL itself runs the expressions (store URL must be PostgreSQL).
``parquet``
    DuckDB over a directory of Parquet files in the canonical schema
    (``RAPPORT_PARQUET_DIR``; ``rapport export`` writes one from the store).
``spark``
    Spark (``RAPPORT_SPARK_MASTER``, default ``local[2]``) over the same Parquet directory.

All engines run in UTC, so naive timestamps mean UTC everywhere.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from importlib import import_module
from pathlib import Path
from typing import Any

import ibis
from sqlalchemy.engine import make_url

from rapport.config import Settings, get_settings
from rapport.errors import UnsupportedBackend

ENGINES = ("duckdb", "postgres", "parquet", "spark")
STORE = "store"  # DuckDB catalog name of the attached store


@dataclass
class Engine:
    """An open analytics connection and where the canonical tables live in it."""

    kind: str
    con: Any  # ibis BaseBackend
    database: str | tuple[str, str] | None = None
    _spark: Any = field(default=None, repr=False)

    def table(self, name: str) -> ibis.Table:
        """The raw canonical table ``name`` as the engine presents it."""
        if self.database is None:
            return self.con.table(name)
        return self.con.table(name, database=self.database)

    def close(self) -> None:
        self.con.disconnect()


# --- DuckDB ------------------------------------------------------------------------------

_EXTENSIONS = {
    "sqlite": ("duckdb_extension_sqlite", "sqlite", "sqlite_scanner"),
    "postgres": ("duckdb_extension_postgres", "postgres", "postgres_scanner"),
}


def _install_extension(con: Any, which: str, directory: Path) -> None:
    """Copy the packaged extension into DuckDB's extension directory, then load it."""
    import duckdb

    package_name, file_stem, extension = _EXTENSIONS[which]
    try:
        package = import_module(package_name)
    except ImportError as exc:
        raise UnsupportedBackend(
            f"the DuckDB {which} extension is not installed",
            hint=f"pip install {package_name.replace('_', '-')}=={duckdb.__version__}",
        ) from exc
    version = f"v{duckdb.__version__}"
    source = (
        Path(package.__file__).parent / "extensions" / version / f"{file_stem}.duckdb_extension"
    )
    if not source.is_file():
        raise UnsupportedBackend(
            f"{package_name} has no extension for DuckDB {version}",
            hint=f"pin {package_name.replace('_', '-')} to DuckDB's version {duckdb.__version__}",
        )
    platform = con.raw_sql("PRAGMA platform").fetchone()[0]
    target = directory / version / platform / f"{extension}.duckdb_extension"
    if not target.is_file() or target.stat().st_size != source.stat().st_size:
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
    con.raw_sql(f"LOAD {which}")


def _duckdb(settings: Settings) -> Any:
    directory = (settings.data_dir / "duckdb" / "extensions").resolve()
    directory.mkdir(parents=True, exist_ok=True)
    con = ibis.duckdb.connect(
        extension_directory=str(directory),
        autoinstall_known_extensions=False,
        autoload_known_extensions=False,
    )
    con.raw_sql("SET TimeZone = 'UTC'")
    con._rapport_extensions = directory  # type: ignore[attr-defined]
    return con


def _libpq(url: str) -> str:
    parsed = make_url(url)
    parts = {
        "host": parsed.host,
        "port": parsed.port,
        "dbname": parsed.database,
        "user": parsed.username,
        "password": parsed.password,
    }
    return " ".join(f"{k}={v}" for k, v in parts.items() if v is not None)


def attach_store(con: Any, database_url: str) -> str | tuple[str, str]:
    """Attach the store read-only to a DuckDB connection; returns the Ibis database path."""
    backend = make_url(database_url).get_backend_name()
    directory = con._rapport_extensions
    if backend == "sqlite":
        path = make_url(database_url).database
        if not path or path == ":memory:" or not Path(path).is_file():
            raise UnsupportedBackend(
                f"no SQLite store at {path!r}", hint="run `rapport init` and load data first"
            )
        _install_extension(con, "sqlite", directory)
        con.raw_sql(f"ATTACH '{Path(path).resolve()}' AS {STORE} (TYPE sqlite, READ_ONLY)")
        return (STORE, "main")
    if backend == "postgresql":
        _install_extension(con, "postgres", directory)
        con.raw_sql(f"ATTACH '{_libpq(database_url)}' AS {STORE} (TYPE postgres, READ_ONLY)")
        return (STORE, "public")
    raise UnsupportedBackend(f"DuckDB cannot attach a {backend} store")


# --- the other engines -------------------------------------------------------------------


def _parquet_tables(settings: Settings) -> dict[str, Path]:
    directory = settings.parquet_dir
    if directory is None or not Path(directory).is_dir():
        raise UnsupportedBackend(
            "the parquet and spark engines need RAPPORT_PARQUET_DIR, a directory of tables",
            field="RAPPORT_PARQUET_DIR",
            hint="write one with `rapport export --to DIR`",
        )
    found = {}
    for path in sorted(Path(directory).iterdir()):
        name = path.name.removesuffix(".parquet")
        if path.suffix == ".parquet" or path.is_dir():
            found[name] = path
    return found


def _spark(settings: Settings) -> Engine:
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:
        raise UnsupportedBackend(
            "the spark engine needs pyspark", hint="pip install pyspark"
        ) from exc
    session = (
        SparkSession.builder.master(settings.spark_master)
        .appName("rapport")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .getOrCreate()
    )
    for name, path in _parquet_tables(settings).items():
        pattern = str(path / "*.parquet") if path.is_dir() else str(path)
        session.read.parquet(pattern).createOrReplaceTempView(name)
    return Engine("spark", ibis.pyspark.connect(session), None, _spark=session)


def connect(settings: Settings | None = None, *, engine: str | None = None) -> Engine:
    """Open the analytics engine named by ``engine`` (default: ``settings.engine``)."""
    settings = settings or get_settings()
    kind = engine or settings.engine
    if kind not in ENGINES:
        raise UnsupportedBackend(
            f"unknown engine {kind!r}", field="engine", hint=f"use one of: {', '.join(ENGINES)}"
        )
    if kind == "duckdb":
        con = _duckdb(settings)
        return Engine("duckdb", con, attach_store(con, settings.database_url))
    if kind == "postgres":
        url = make_url(settings.database_url)
        if url.get_backend_name() != "postgresql":
            raise UnsupportedBackend(
                "the postgres engine needs a PostgreSQL store",
                field="RAPPORT_DATABASE_URL",
                hint="use the duckdb engine with a SQLite store",
            )
        con = ibis.postgres.connect(
            host=url.host,
            port=url.port,
            user=url.username,
            password=url.password,
            database=url.database,
            options="-c TimeZone=UTC",
        )
        return Engine("postgres", con, None)
    if kind == "parquet":
        con = _duckdb(settings)
        for name, path in _parquet_tables(settings).items():
            pattern = str(path / "*.parquet") if path.is_dir() else str(path)
            con.read_parquet(pattern, table_name=name)
        return Engine("parquet", con, None)
    return _spark(settings)


def export_parquet(settings: Settings, out_dir: str | Path, tables: list[str]) -> dict[str, int]:
    """Copy the store's ``tables`` to ``<out_dir>/<table>.parquet`` (canonical schema)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    con = _duckdb(settings)
    database = attach_store(con, settings.database_url)
    catalog = ".".join(database) if isinstance(database, tuple) else database
    rows = {}
    try:
        for name in tables:
            target = (out / f"{name}.parquet").resolve()
            con.raw_sql(
                f"COPY (SELECT * FROM {catalog}.{name}) TO '{target}' "
                "(FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 1000000)"
            )
            rows[name] = con.raw_sql(f"SELECT count(*) FROM '{target}'").fetchone()[0]
    finally:
        con.disconnect()
    return rows
