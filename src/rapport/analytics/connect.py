"""The one module that names a backend: build an Ibis connection from the settings.

Engines (``RAPPORT_ENGINE`` or ``--engine``):

``duckdb`` (default)
    DuckDB in process, attached read-only to the store — the SQLite file or the PostgreSQL
    database — without copying it. The DuckDB extensions come from the pinned
    ``duckdb-extension-sqlite`` / ``duckdb-extension-postgres`` wheels and are installed into
    ``<data_dir>/duckdb/extensions``; nothing is ever downloaded. ``RAPPORT_DUCKDB_MEMORY_LIMIT``
    caps its memory; it spills to ``<data_dir>/duckdb/tmp``.
``postgres``
    PostgreSQL itself runs the expressions (store URL must be PostgreSQL).
``parquet``
    DuckDB over a directory of Parquet tables in the canonical schema
    (``RAPPORT_PARQUET_DIR``; ``rapport export`` writes one from the store). A table is a
    file ``<name>.parquet`` or a directory ``<name>/`` of Parquet files, possibly
    hive-partitioned (``<name>/year=2024/part-0.parquet``).
``spark``
    Spark (``RAPPORT_SPARK_MASTER``, default ``local[2]``) over the same Parquet directory.
    One Spark context serves the whole process: every :func:`connect` gets its own Spark
    session on it (its own temporary views, each registered when :meth:`Engine.table` first
    asks for it), and :meth:`Engine.close` keeps the context running for the next one;
    :func:`stop_spark` ends it.

All engines run in UTC, so naive timestamps mean UTC everywhere.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from importlib import import_module
from pathlib import Path
from typing import Any

import ibis
from sqlalchemy.engine import make_url

from rapport.analytics.sources import Sources
from rapport.analytics.tables import SCHEMAS
from rapport.config import Settings, get_settings
from rapport.errors import (
    ConfigError,
    Conflict,
    StoreUnavailable,
    UnsupportedBackend,
    ValidationFailed,
)

ENGINES = ("duckdb", "postgres", "parquet", "spark")
STORE = "store"  # DuckDB catalog name of the attached store

#: Heap of the Spark driver JVM (local mode runs the executors inside it too).
SPARK_DRIVER_MEMORY = "2g"
#: Rows per Parquet row group written by :func:`export_parquet`.
PARQUET_ROW_GROUP_SIZE = 1_000_000


@dataclass
class Engine:
    """An open analytics connection and where the canonical tables live in it."""

    kind: str
    con: Any  # ibis BaseBackend
    database: str | tuple[str, str] | None = None
    _spark: Any = field(default=None, repr=False)
    _unread: dict[str, Path] = field(default_factory=dict, repr=False)
    _views: list[str] = field(default_factory=list, repr=False)

    def table(self, name: str) -> ibis.Table:
        """The raw canonical table ``name`` as the engine presents it."""
        path = self._unread.get(name)
        if path is not None:  # Spark reads a Parquet table's footers when first asked for it
            self._spark.read.parquet(str(path)).createOrReplaceTempView(name)
            self._views.append(name)
            del self._unread[name]
        if self.database is None:
            return self.con.table(name)
        return self.con.table(name, database=self.database)

    def close(self) -> None:
        """Release the connection. A Spark engine drops its views and leaves the shared
        Spark context running for the next :func:`connect`."""
        if self.kind == "spark":
            for name in self._views:
                self._spark.catalog.dropTempView(name)
            self._views.clear()
            return
        self.con.disconnect()

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def _cpu_count() -> int:
    """Cores this process may use (its affinity mask, not the host's core count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


# --- DuckDB ------------------------------------------------------------------------------

_EXTENSIONS = {
    "sqlite": ("duckdb_extension_sqlite", "sqlite", "sqlite_scanner"),
    "postgres": ("duckdb_extension_postgres", "postgres", "postgres_scanner"),
}


def _sql_string(value: str) -> str:
    """``value`` as a SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def _install_extension(con: Any, which: str, directory: Path) -> None:
    """Copy the packaged extension into DuckDB's extension directory, then load it."""
    import duckdb

    package_name, file_stem, extension = _EXTENSIONS[which]
    wheel = package_name.replace("_", "-")
    try:
        location = import_module(package_name).__file__
        if location is None:  # a namespace package of that name, not the wheel
            raise ImportError(package_name)
    except ImportError as exc:
        raise UnsupportedBackend(
            "the DuckDB {which} extension is not installed",
            hint="pip install {wheel}=={version}",
            key="duckdb_extension_missing",
            params={"which": which, "wheel": wheel, "version": duckdb.__version__},
        ) from exc
    version = f"v{duckdb.__version__}"
    source = Path(location).parent / "extensions" / version / f"{file_stem}.duckdb_extension"
    if not source.is_file():
        raise UnsupportedBackend(
            "{package} has no extension for DuckDB {version}",
            hint="pin {wheel} to DuckDB's version {duckdb}",
            key="duckdb_extension_version",
            params={
                "package": package_name,
                "version": version,
                "wheel": wheel,
                "duckdb": duckdb.__version__,
            },
        )
    platform = con.raw_sql("PRAGMA platform").fetchone()[0]
    target = directory / version / platform / f"{extension}.duckdb_extension"
    if not target.is_file() or target.stat().st_size != source.stat().st_size:
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
        shutil.copyfile(source, partial)
        os.replace(partial, target)  # atomic: parallel processes never load half a file
    con.raw_sql(f"LOAD {which}")


def _duckdb(settings: Settings) -> Any:
    """An in-process DuckDB in UTC that may load extensions only from the data dir."""
    import duckdb

    root = (settings.data_dir / "duckdb").resolve()
    extensions = root / "extensions"
    extensions.mkdir(parents=True, exist_ok=True)
    config: dict[str, Any] = {
        "extension_directory": str(extensions),
        "autoinstall_known_extensions": False,
        "autoload_known_extensions": False,
        "threads": _cpu_count(),
        "temp_directory": str(root / "tmp"),
    }
    if settings.duckdb_memory_limit:
        config["memory_limit"] = settings.duckdb_memory_limit
    try:
        con = ibis.duckdb.connect(**config)
    except duckdb.Error as exc:
        if not settings.duckdb_memory_limit:
            raise
        raise ConfigError(
            "DuckDB refused the memory limit {limit!r}: {reason}",
            field="RAPPORT_DUCKDB_MEMORY_LIMIT",
            hint="give a size such as 4GB or 512MiB",
            key="duckdb_memory_limit",
            params={"limit": settings.duckdb_memory_limit, "reason": str(exc)},
        ) from exc
    con.raw_sql("SET TimeZone = 'UTC'")
    con._rapport_extensions = extensions
    return con


def _libpq_escape(value: Any) -> str:
    return str(value).replace("\\", "\\\\").replace("'", "\\'")


def _libpq(url: str) -> str:
    """A libpq connection string (``key='value' …``) for the SQLAlchemy ``url``."""
    parsed = make_url(url)
    parts: dict[str, Any] = {
        "host": parsed.host,
        "port": parsed.port,
        "dbname": parsed.database,
        "user": parsed.username,
        "password": parsed.password,
        **{k: v for k, v in parsed.query.items() if isinstance(v, str)},
    }
    return " ".join(f"{k}='{_libpq_escape(v)}'" for k, v in parts.items() if v is not None)


#: The table every initialised store has (the schema version, written by ``rapport init``).
SCHEMA_VERSION_TABLE = "alembic_version"


def _require_schema(con: Any, database: str | tuple[str, str] | None, where: str) -> None:
    """:class:`StoreUnavailable` unless the store has a schema (``rapport init`` ran).

    Looks the one table up rather than listing the store's tables: DuckDB lists the
    tables of an attached SQLite store by reading every table's definition, 2.2 s on a
    store of 1,000,000 customers against 0.09 s for one table (docs/benchmarks.md)."""
    from ibis.common.exceptions import TableNotFound

    try:
        con.table(SCHEMA_VERSION_TABLE, database=database)
    except TableNotFound:
        raise StoreUnavailable.not_initialised(where) from None


def _sqlite_store(path: str) -> str:
    """The resolved path of an existing, non-empty SQLite store file; checked before
    anything is opened or created, so a missing store stays missing."""
    where = str(Path(path).expanduser().resolve())
    if not Path(where).is_file():
        raise StoreUnavailable.missing(where)
    if Path(where).stat().st_size == 0:
        raise StoreUnavailable.not_initialised(where)
    return where


def attach_store(con: Any, database_url: str) -> str | tuple[str, str]:
    """Attach the store read-only to a DuckDB connection; returns the Ibis database path."""
    backend = make_url(database_url).get_backend_name()
    directory = con._rapport_extensions
    if backend == "sqlite":
        path = make_url(database_url).database
        if not path or path == ":memory:":
            raise UnsupportedBackend(
                "DuckDB cannot attach the SQLite store {path!r}",
                hint="use a SQLite file: sqlite:///path/to/rapport.db",
                key="duckdb_sqlite_memory",
                params={"path": path},
            )
        where = _sqlite_store(path)
        _install_extension(con, "sqlite", directory)
        con.raw_sql(f"ATTACH {_sql_string(where)} AS {STORE} (TYPE sqlite, READ_ONLY)")
        _require_schema(con, (STORE, "main"), where)
        return (STORE, "main")
    if backend == "postgresql":
        import duckdb

        _install_extension(con, "postgres", directory)
        try:
            con.raw_sql(
                f"ATTACH {_sql_string(_libpq(database_url))} AS {STORE} (TYPE postgres, READ_ONLY)"
            )
        except duckdb.Error as exc:
            reason = str(exc).splitlines()[0]
            password = make_url(database_url).password
            if password:  # DuckDB quotes the whole connection string in its message
                reason = reason.replace(_libpq_escape(password), "***")
            raise StoreUnavailable(
                "DuckDB cannot attach the PostgreSQL store: {reason}",
                field="RAPPORT_DATABASE_URL",
                hint="check the URL and that the server is running",
                key="duckdb_postgres_attach",
                params={"reason": reason},
                hint_key="store_check_url",
            ) from exc
        where = make_url(database_url).render_as_string(hide_password=True)
        _require_schema(con, (STORE, "public"), where)
        return (STORE, "public")
    raise UnsupportedBackend(
        "DuckDB cannot attach a {backend} store",
        key="duckdb_attach_backend",
        params={"backend": backend},
    )


# --- Parquet -----------------------------------------------------------------------------


def _parquet_tables(settings: Settings) -> dict[str, Path]:
    """The tables of ``RAPPORT_PARQUET_DIR``: ``<name>.parquet`` files and ``<name>/`` dirs."""
    directory = settings.parquet_dir
    if directory is None:
        raise UnsupportedBackend(
            "the parquet and spark engines need RAPPORT_PARQUET_DIR, a directory of tables",
            field="RAPPORT_PARQUET_DIR",
            hint="write one with `rapport export --to DIR`",
            key="parquet_dir_unset",
            hint_key="parquet_dir.hint",
        )
    directory = Path(directory)
    if not directory.is_dir():
        raise UnsupportedBackend(
            "RAPPORT_PARQUET_DIR {directory} is not a directory",
            field="RAPPORT_PARQUET_DIR",
            hint="write one with `rapport export --to DIR`",
            key="parquet_dir_not_dir",
            params={"directory": directory},
            hint_key="parquet_dir.hint",
        )
    found: dict[str, Path] = {}
    for path in sorted(directory.iterdir()):
        if path.name.startswith((".", "_")):
            continue  # hidden files, _SUCCESS markers, partial writes
        if path.is_file() and path.suffix == ".parquet":
            name = path.stem
        elif path.is_dir() and next(path.rglob("*.parquet"), None) is not None:
            name = path.name
        else:
            continue
        if name in found:
            raise UnsupportedBackend(
                "table {table} is both {first} and {second} in {directory}",
                field="RAPPORT_PARQUET_DIR",
                hint="keep one of them",
                key="parquet_table_twice",
                params={
                    "table": name,
                    "first": found[name].name,
                    "second": path.name,
                    "directory": directory,
                },
            )
        found[name] = path
    if not found:
        raise UnsupportedBackend(
            "RAPPORT_PARQUET_DIR {directory} holds no Parquet tables",
            field="RAPPORT_PARQUET_DIR",
            hint="write one with `rapport export --to DIR`",
            key="parquet_dir_empty",
            params={"directory": directory},
            hint_key="parquet_dir.hint",
        )
    return found


def _parquet(settings: Settings) -> Engine:
    tables = _parquet_tables(settings)
    con = _duckdb(settings)
    for name, path in tables.items():
        if path.is_dir():
            pattern = str(path.resolve() / "**" / "*.parquet")
            con.read_parquet(pattern, table_name=name, hive_partitioning=True, union_by_name=True)
        else:
            con.read_parquet(str(path.resolve()), table_name=name)
    return Engine("parquet", con, None)


# --- Spark -------------------------------------------------------------------------------

_spark_lock = threading.Lock()
_spark_root: Any = None  # the process's first SparkSession; every engine gets a child of it

_LOG4J2 = """\
rootLogger.level = warn
rootLogger.appenderRef.stderr.ref = stderr
appender.console.type = Console
appender.console.name = stderr
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{HH:mm:ss} %p %c{1}: %m%n%ex
logger.native.name = org.apache.hadoop.util.NativeCodeLoader
logger.native.level = error
"""


def _spark_alive(session: Any) -> bool:
    context = session.sparkContext
    return context._jsc is not None and not context._jsc.sc().isStopped()


@contextlib.contextmanager
def _local_ip(master: str) -> Iterator[None]:
    """In local mode, bind Spark to the loopback interface while its JVM starts."""
    if not master.startswith("local") or "SPARK_LOCAL_IP" in os.environ:
        yield
        return
    os.environ["SPARK_LOCAL_IP"] = "127.0.0.1"
    try:
        yield
    finally:
        os.environ.pop("SPARK_LOCAL_IP", None)


def _spark_session(settings: Settings) -> Any:
    """A new Spark session on the process's shared Spark context (started on first use)."""
    global _spark_root
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:
        raise UnsupportedBackend(
            "the spark engine needs pyspark",
            hint='pip install "rapport[spark]"',
            key="spark_missing",
        ) from exc
    with _spark_lock:
        if _spark_root is not None and _spark_alive(_spark_root):
            running = _spark_root.sparkContext.master
            if running != settings.spark_master:
                raise UnsupportedBackend(
                    "this process already runs Spark on {running}, not {wanted}",
                    field="RAPPORT_SPARK_MASTER",
                    hint="one Spark master per process",
                    key="spark_other_master",
                    params={"running": running, "wanted": settings.spark_master},
                )
            return _spark_root.newSession()
        root = (settings.data_dir / "spark").resolve()
        root.mkdir(parents=True, exist_ok=True)
        log_config = root / "log4j2.properties"
        log_config.write_text(_LOG4J2, encoding="utf-8")
        builder = (
            SparkSession.builder.master(settings.spark_master)
            .appName("rapport")
            .config("spark.driver.memory", SPARK_DRIVER_MEMORY)
            .config("spark.driver.extraJavaOptions", f"-Dlog4j2.configurationFile={log_config}")
            .config("spark.sql.session.timeZone", "UTC")
            .config("spark.sql.warehouse.dir", str(root / "warehouse"))
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.sql.shuffle.partitions", str(2 * _cpu_count()))
            .config("spark.sql.execution.arrow.pyspark.enabled", "true")
            .config("spark.sql.debug.maxToStringFields", "1000")
        )
        if settings.spark_master.startswith("local"):
            builder = builder.config("spark.driver.host", "127.0.0.1").config(
                "spark.driver.bindAddress", "127.0.0.1"
            )
        try:
            with _local_ip(settings.spark_master):
                session = builder.getOrCreate()
        except Exception as exc:  # pyspark reports a missing Java as a bare runtime error
            raise UnsupportedBackend(
                "Spark did not start: {reason}",
                hint="the spark engine needs Java 17 (JAVA_HOME) and pyspark",
                key="spark_failed",
                params={"reason": str(exc).splitlines()[0] if str(exc) else repr(exc)},
            ) from exc
        session.sparkContext.setLogLevel("WARN")
        _spark_root = session
        return session.newSession()


def stop_spark() -> None:
    """Stop the process's Spark context, if one was started (the next connect restarts it)."""
    global _spark_root
    with _spark_lock:
        if _spark_root is not None:
            _spark_root.stop()
            _spark_root = None


def _spark(settings: Settings) -> Engine:
    tables = _parquet_tables(settings)  # before starting a JVM for nothing
    session = _spark_session(settings)
    con = ibis.pyspark.connect(session)
    unread = {name: path.resolve() for name, path in tables.items()}
    return Engine("spark", con, None, _spark=session, _unread=unread)


# --- PostgreSQL --------------------------------------------------------------------------


def _postgres(settings: Settings) -> Engine:
    url = make_url(settings.database_url)
    if url.get_backend_name() != "postgresql":
        raise UnsupportedBackend(
            "the postgres engine needs a PostgreSQL store",
            field="RAPPORT_DATABASE_URL",
            hint="use the duckdb engine with a SQLite store",
            key="postgres_engine_store",
        )
    import psycopg

    extra = {k: v for k, v in url.query.items() if isinstance(v, str)}
    try:
        con = ibis.postgres.connect(
            host=url.host,
            port=url.port,
            user=url.username,
            password=url.password,
            database=url.database,
            options="-c TimeZone=UTC",
            **extra,
        )
    except psycopg.OperationalError as exc:
        raise StoreUnavailable(
            "cannot reach PostgreSQL: {reason}",
            field="RAPPORT_DATABASE_URL",
            hint="check the URL and that the server is running",
            key="postgres_unreachable",
            params={"reason": str(exc).splitlines()[0]},
            hint_key="store_check_url",
        ) from exc
    try:
        _require_schema(con, None, url.render_as_string(hide_password=True))
    except BaseException:
        con.disconnect()
        raise
    return Engine("postgres", con, None)


def connect(settings: Settings | None = None, *, engine: str | None = None) -> Engine:
    """Open the analytics engine named by ``engine`` (default: ``settings.engine``).

    Raises
    ------
    UnsupportedBackend
        For an unknown engine, or one the store or the installation cannot serve.
    StoreUnavailable
        When the PostgreSQL store cannot be reached.
    """
    settings = settings or get_settings()
    kind = engine or settings.engine
    if kind not in ENGINES:
        raise UnsupportedBackend(
            "unknown engine {engine!r}",
            field="engine",
            hint="use one of: {engines}",
            key="engine_unknown",
            params={"engine": kind, "engines": ", ".join(ENGINES)},
        )
    if kind == "duckdb":
        url = make_url(settings.database_url)
        if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
            _sqlite_store(url.database)  # before DuckDB creates its directories
        con = _duckdb(settings)
        try:
            return Engine("duckdb", con, attach_store(con, settings.database_url))
        except BaseException:
            con.disconnect()
            raise
    if kind == "postgres":
        return _postgres(settings)
    if kind == "parquet":
        return _parquet(settings)
    return _spark(settings)


def export_parquet(
    settings: Settings, out_dir: str | Path, tables: Iterable[str] | None = None
) -> dict[str, int]:
    """Write the store's canonical ``tables`` (default: all) to ``<out_dir>/<table>.parquet``.

    Each table is read through DuckDB attached to the store and cast to
    :data:`rapport.analytics.tables.SCHEMAS`, so the files have the same types whichever
    database the store is: naive UTC timestamps, float64 money, booleans, JSON as text.

    Returns
    -------
    dict[str, int]
        Rows written per table.
    """
    import pyarrow.parquet as pq

    names = list(SCHEMAS) if tables is None else list(dict.fromkeys(tables))
    unknown = [name for name in names if name not in SCHEMAS]
    if unknown:
        raise ValidationFailed(
            f"unknown table{'s' if len(unknown) > 1 else ''} {{tables}}",
            field="tables",
            hint="choose from: {known}",
            key="export_unknown_tables",
            params={"tables": ", ".join(unknown), "known": ", ".join(SCHEMAS)},
        )
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise Conflict(
            "{out} exists and is not a directory",
            hint="choose another --to",
            key="export_not_dir",
            params={"out": out},
        )
    for name in names:
        if (out / name).is_dir():
            raise Conflict(
                "{path} is a directory: the export would shadow it",
                hint="remove it or export to another directory",
                key="export_shadowed",
                params={"path": out / name},
            )
    out.mkdir(parents=True, exist_ok=True)
    con = _duckdb(settings)
    rows: dict[str, int] = {}
    try:
        sources = Sources(Engine("duckdb", con, attach_store(con, settings.database_url)))
        for name in names:
            target = (out / f"{name}.parquet").resolve()
            partial = target.with_name(f".{target.name}.partial")
            con.to_parquet(
                getattr(sources, name),
                partial,
                compression="zstd",
                row_group_size=PARQUET_ROW_GROUP_SIZE,
            )
            os.replace(partial, target)
            rows[name] = pq.read_metadata(target).num_rows
    finally:
        con.disconnect()
    return rows
