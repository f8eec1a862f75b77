"""Engines, sessions and migrations of the operational store.

SQLite (the embedded default) runs in WAL mode with foreign keys on and a busy timeout, so
several processes can read while one writes; transactions begin explicitly so that
savepoints work. PostgreSQL is used as it is.

Writers wait their turn instead of failing: a transaction that will write begins as a
writer (:func:`begin_writing` for a session, :func:`begin_writer` for a connection; on
SQLite ``BEGIN IMMEDIATE``, which waits up to the busy timeout —
``RAPPORT_BUSY_TIMEOUT_SECONDS`` — for the write lock), and a bulk upsert that looks keys
up before it writes them takes :func:`lock_for_upsert` so that no other writer adds the
same keys in between (PostgreSQL; on SQLite the write lock already does).
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

from rapport.config import Settings, get_settings
from rapport.errors import StoreUnavailable

log = logging.getLogger(__name__)

#: Execution option naming how a SQLite transaction begins: "" (deferred) or "IMMEDIATE".
SQLITE_BEGIN_OPTION = "sqlite_begin"
SQLITE_CACHE_KIB = 65_536  # page cache per connection: big batches touch many index pages
#: How much of a SQLite store a connection reads through a memory map of the file
#: (``PRAGMA mmap_size``) instead of copying each page out of the operating system's cache
#: with a system call: a report over a snapshot of 1,000,000 customers reads hundreds of
#: megabytes of index and customer pages, and spent as much time in those calls as in its
#: query (docs/benchmarks.md). Writes still go through the journal; the map only reads.
#: SQLite as Python ships it maps at most 2 GB of a file (its compile-time maximum); 1 GiB
#: reads as fast (the page reports of 1,000,000 customers 23.1 s against 23.5–26.3 s on a
#: store grown by daily snapshots, 21.6–21.9 s against 22.4–23.1 s on a compacted one), and
#: the pages a process maps count in its resident memory: on the compacted store the
#: reports peaked at 2.4 GB with 2 GB mapped, 1.5 GB with 1 GiB (docs/benchmarks.md).
SQLITE_MMAP_BYTES = 1 << 30
#: The page size of a SQLite store created by Rapport (``PRAGMA page_size``, set before the
#: file's first page is written; an existing store keeps its own). SQLite's default is
#: 4 KiB; with 16 KiB, a snapshot of 1,000,000 customers was written in 31.9–40.3 s against
#: 40.7–43.3 s and the scoring run's copy of the store read in 20.2–21.9 s against
#: 23.0–23.9 s, the same store compacted with each page size (docs/benchmarks.md).
SQLITE_PAGE_SIZE = 16_384


def _configure_sqlite(engine: Engine, busy_timeout_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide when transactions begin (savepoints work).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        # before the journal mode, whose setting writes a new file's first page; a no-op
        # on a store that has pages already
        cursor.execute(f"PRAGMA page_size = {SQLITE_PAGE_SIZE}")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute(f"PRAGMA busy_timeout = {busy_timeout_ms}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute(f"PRAGMA cache_size = -{SQLITE_CACHE_KIB}")
        cursor.execute("PRAGMA temp_store = MEMORY")
        cursor.execute(f"PRAGMA mmap_size = {SQLITE_MMAP_BYTES}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        # ``BEGIN IMMEDIATE`` (execution option ``sqlite_begin="IMMEDIATE"``) takes the write
        # lock first, waiting up to busy_timeout: a transaction that reads before it writes
        # would otherwise fail at once when another connection committed in between.
        mode = conn.get_execution_options().get(SQLITE_BEGIN_OPTION, "")
        conn.exec_driver_sql(f"BEGIN {mode}".strip())


def normalize_url(url: str | URL) -> URL:
    """Parse a database URL; ``postgresql://`` means the psycopg 3 driver."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def json_dumps(value: Any) -> str:
    """How JSON documents are written: UTF-8 text, Chinese kept readable."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def create_engine(
    url: str | URL | None = None, *, busy_timeout_seconds: float | None = None, **kwargs: Any
) -> Engine:
    """An engine for the store at ``url`` (default: the configured database URL).

    On SQLite a connection waits up to ``busy_timeout_seconds`` (default: the setting
    ``busy_timeout_seconds``) for a lock another connection holds before it fails with
    "database is locked".
    """
    parsed = normalize_url(url or get_settings().database_url)
    kwargs.setdefault("json_serializer", json_dumps)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:":
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        # No idle pooled connections: DuckDB attaches the same file with its own copy of
        # SQLite, and two copies in one process must not both hold an open WAL database
        # (closing one unmaps the other's shared memory). Opening a SQLite file is cheap.
        if database and database != ":memory:":
            kwargs.setdefault("poolclass", NullPool)
        engine = sa.create_engine(parsed, **kwargs)
        if busy_timeout_seconds is None:
            busy_timeout_seconds = get_settings().busy_timeout_seconds
        _configure_sqlite(engine, round(busy_timeout_seconds * 1000))
        return engine
    if parsed.get_backend_name() == "postgresql":
        kwargs.setdefault("pool_pre_ping", True)
        return sa.create_engine(parsed, **kwargs)
    raise StoreUnavailable(
        "unsupported database {backend!r}",
        field="RAPPORT_DATABASE_URL",
        hint="use sqlite:///path.db or postgresql+psycopg://user@host/db",
        key="store_unsupported",
        params={"backend": parsed.get_backend_name()},
    )


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def rowcount(result: sa.Result[Any]) -> int:
    """Rows the INSERT, UPDATE or DELETE whose ``result`` this is changed.

    ``Session.execute`` is typed to return a plain ``Result``; for these statements it is a
    ``CursorResult``, which alone counts the rows.
    """
    if not isinstance(result, sa.CursorResult):
        kind = type(result).__name__
        raise TypeError(f"a {kind} counts no rows: not the result of an INSERT, UPDATE or DELETE")
    return result.rowcount or 0


#: Rows per INSERT statement of :func:`insert_ignoring_duplicates` (SQLite caps the bound
#: parameters of one statement).
INSERT_CHUNK = 500


def insert_ignoring_duplicates(
    session: Session | sa.Connection, table: sa.Table, rows: Sequence[Mapping[str, Any]]
) -> int:
    """Insert ``rows`` into ``table``, skipping each row that would break one of its unique
    keys (``ON CONFLICT DO NOTHING`` on SQLite and PostgreSQL); returns the rows inserted.

    The one way to write "once per key" records (outbox messages, enrolments, throttle
    counters): a second writer, a retry or a rerun inserts nothing and fails nothing.
    """
    bind = session.get_bind() if isinstance(session, Session) else session
    dialect = bind.dialect.name
    stmt: sa.Insert
    if dialect == "postgresql":
        stmt = postgresql.insert(table).on_conflict_do_nothing()
    elif dialect == "sqlite":
        stmt = sqlite.insert(table).on_conflict_do_nothing()
    else:  # pragma: no cover - the store is SQLite or PostgreSQL
        raise NotImplementedError(dialect)
    # RETURNING counts what was written: the driver's row count is -1 on PostgreSQL when
    # SQLAlchemy batches the VALUES. One statement, compiled once and cached, executed for
    # each chunk of parameter sets (SQLAlchemy's "insertmanyvalues" batches them into
    # multi-row VALUES): several times faster than compiling a VALUES clause per chunk.
    stmt = stmt.returning(next(iter(table.primary_key.columns)))
    inserted = 0
    for start in range(0, len(rows), INSERT_CHUNK):
        chunk = [dict(row) for row in rows[start : start + INSERT_CHUNK]]
        inserted += len(session.execute(stmt, chunk).all())
    return inserted


#: The most values :func:`one_of` lists in a SQLite statement as bound parameters (SQLite
#: allows 32,766); more are bound as one JSON array.
SQLITE_LISTED = 10_000


def one_of(
    column: sa.ColumnElement[Any], values: Sequence[Any], *, dialect: str
) -> sa.ColumnElement[bool]:
    """The condition that ``column`` is one of ``values``.

    * PostgreSQL: ``= ANY`` of the values bound as one array. An ``IN`` of thousands of
      bound values is parsed and planned value by value: at 8,438 customer ids PostgreSQL
      counted the customers in 119–268 ms that way and in 28–47 ms through the array.
    * SQLite: ``IN`` the values listed, up to :data:`SQLITE_LISTED` of them — SQLite plans
      a listed ``IN`` by its length, so a statement can start from a short list (from
      ``json_each`` it knows no row count, and a service agent's search counted through
      their 78,000 customers instead of the 8,438 found); more, ``IN`` the elements of
      one JSON array (``json_each``), as SQLite caps a statement's parameters."""
    if dialect == "postgresql":
        array = sa.bindparam("one_of", list(values), type_=sa.ARRAY(column.type), unique=True)
        return column == sa.func.any(array)
    if len(values) <= SQLITE_LISTED:
        return column.in_(list(values))
    listed: sa.Select[Any] = sa.select(sa.column("value")).select_from(
        sa.func.json_each(sa.bindparam("one_of", json.dumps(list(values)), unique=True))
    )
    return column.in_(listed.scalar_subquery())


def engine_of(session: Session) -> Engine:
    """The engine ``session`` is bound to (for a session bound to a connection, its engine)."""
    bind = session.get_bind()
    return bind if isinstance(bind, Engine) else bind.engine


def sqlite_foreign_keys(conn: sa.Connection, *, on: bool) -> None:
    """Turn SQLite's foreign-key checks on or off for ``conn``.

    Issued on the driver's connection: SQLite ignores the pragma inside a transaction, and
    through SQLAlchemy it would begin one. Call it before the transaction begins.
    """
    driver = conn.connection.driver_connection
    if driver is None:
        raise RuntimeError("the connection is closed")
    driver.execute(f"PRAGMA foreign_keys = {'ON' if on else 'OFF'}")


#: The page cache of a connection writing a score snapshot (:func:`sqlite_bulk_write`).
#: A snapshot's rows reach the indexes that sort it by a score (predicted CLV, churn risk,
#: relationship index) in no order, so each insert lands on any page of their new range;
#: with 64 MiB those pages left the cache and came back again. Writing 1,000,000 rows took
#: 56.9 and 68.0 s with 64 MiB, 41.1 and 45.7 s with 256 MiB (docs/benchmarks.md). The
#: cache takes memory only as pages fill it, and only for the write.
SQLITE_BULK_CACHE_KIB = 262_144


@contextmanager
def sqlite_bulk_write(conn: sa.Connection) -> Iterator[None]:
    """On SQLite, ``conn`` set up for one large write while the block runs; nothing
    elsewhere. Its page cache is :data:`SQLITE_BULK_CACHE_KIB`, and its temporary storage
    is in files instead of memory (``PRAGMA temp_store``). Above all that storage holds the
    statement journal of a savepoint — the prior content of every page the savepoint
    changes — which in memory holds the whole of what a large deletion removes: replacing
    the snapshot of a million customers held 1.5–1.9 GB more while it deleted the old rows.
    Its commit leaves the journal's pages in the WAL file (``PRAGMA wal_autocheckpoint =
    0``): copying them into the database, about 1.6 GB for a million customers' snapshot,
    took 2.5–3 s inside the commit; :func:`checkpoint_beside` does it on a thread of its
    own. All three return to every connection's settings on leaving. Enter it before the
    transaction begins (SQLite refuses ``temp_store`` inside one)."""
    if conn.dialect.name != "sqlite":
        yield
        return
    driver = conn.connection.driver_connection
    if driver is None:
        raise RuntimeError("the connection is closed")
    driver.execute("PRAGMA temp_store = FILE")
    driver.execute(f"PRAGMA cache_size = -{SQLITE_BULK_CACHE_KIB}")
    driver.execute("PRAGMA wal_autocheckpoint = 0")
    try:
        yield
    finally:
        # as every connection is configured (_configure_sqlite; SQLite's default)
        driver.execute(f"PRAGMA wal_autocheckpoint = {SQLITE_WAL_AUTOCHECKPOINT}")
        driver.execute(f"PRAGMA cache_size = -{SQLITE_CACHE_KIB}")
        driver.execute("PRAGMA temp_store = MEMORY")


#: Pages in the WAL file from which a connection's commit copies them into the database
#: (SQLite's default, which every connection but a bulk writer keeps).
SQLITE_WAL_AUTOCHECKPOINT = 1000


@contextmanager
def checkpoint_beside(engine: Engine) -> Iterator[Callable[[], None]]:
    """On a SQLite store, a connection of its own, open while the block runs, that copies
    what the WAL file holds into the database on a thread of its own once the block calls
    the function it gets (``PRAGMA wal_checkpoint(PASSIVE)``, which waits for no reader
    or writer and copies what none of them still needs); leaving waits for it. Enter it
    before a bulk write (:func:`sqlite_bulk_write`) and call the function once the write
    has committed: while its connection is open, the close of the writer's does not
    checkpoint in the writer's thread (SQLite does so on the close of a database's last
    connection, and a store's engine closes each connection it is done with). While a
    reader still reads a state from before that commit, or another connection
    checkpoints, it tries again every :data:`CHECKPOINT_RETRY_SECONDS` until the block
    ends. A checkpoint that fails is logged: SQLite checkpoints again at a later commit.
    Elsewhere, or when its connection cannot be opened (logged), the function does
    nothing."""
    url = engine.url
    path = url.database
    con = None
    if url.get_backend_name() == "sqlite" and path is not None and path not in ("", ":memory:"):
        try:
            con = sqlite3.connect(path, check_same_thread=False)
            # a connection holds the database once it has read from it
            con.execute("SELECT count(*) FROM sqlite_master").fetchall()
        except sqlite3.Error:
            log.warning("the store's WAL file will not be checkpointed", exc_info=True)
            con = None
    if con is None:
        yield lambda: None
        return
    leaving = threading.Event()
    started: list[threading.Thread] = []

    def copy() -> None:
        try:
            while True:
                # (blocked, frames in the file, frames copied): -1 for both while another
                # connection checkpoints; fewer copied while a reader still reads a state
                # older than the last commit, whose pages the copy would overwrite
                row = con.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                if (row[1] >= 0 and row[2] == row[1]) or leaving.wait(CHECKPOINT_RETRY_SECONDS):
                    return
        except sqlite3.Error:
            log.warning("the store's WAL file was not checkpointed", exc_info=True)

    def start() -> None:
        if not started:
            started.append(threading.Thread(target=copy, name="rapport-checkpoint", daemon=True))
            started[0].start()

    try:
        yield start
    finally:
        leaving.set()
        for thread in started:
            thread.join()
        con.close()


#: Seconds between a :func:`checkpoint_beside` that could not copy everything and its next.
CHECKPOINT_RETRY_SECONDS = 0.25


def begin_writing(session: Session) -> None:
    """Begin ``session``'s transaction as a writer: on SQLite with ``BEGIN IMMEDIATE`` (the
    write lock first, waiting its turn); elsewhere an ordinary begin. A no-op when the
    session's transaction has already begun."""
    if session.in_transaction():
        return
    session.connection(execution_options={SQLITE_BEGIN_OPTION: "IMMEDIATE"})


def begin_writer(conn: sa.Connection) -> sa.RootTransaction:
    """Begin ``conn``'s transaction as a writer, as :func:`begin_writing` does for a session
    (SQLite: ``BEGIN IMMEDIATE``, waiting its turn for the write lock). Use it for every
    transaction that writes, above all one that reads before it writes: begun deferred, it
    would fail at once (no busy wait) when another connection committed meanwhile."""
    return conn.execution_options(**{SQLITE_BEGIN_OPTION: "IMMEDIATE"}).begin()


def lock_for_upsert(conn: sa.Connection, table: sa.Table) -> None:
    """Inside a writer's transaction, keep other writers out of ``table`` until it ends.

    For a bulk upsert that looks its keys up, then inserts the missing ones: no other
    transaction may insert (or change) rows of ``table`` in between, or the insert fails on
    the unique key. PostgreSQL: ``LOCK TABLE … IN SHARE ROW EXCLUSIVE MODE`` (readers go
    on; writers of the table, this lock's other holders included, wait their turn). Take it
    before the transaction writes anything, so that it never holds rows another holder
    waits for. SQLite: nothing to do, the writer's transaction holds the database's write
    lock.
    """
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f'LOCK TABLE "{table.name}" IN SHARE ROW EXCLUSIVE MODE')


@contextmanager
def session_scope(engine: Engine, *, writing: bool = False) -> Iterator[Session]:
    """A session whose work commits at the end of the block, or rolls back on error; with
    ``writing``, its transaction begins as a writer (see :func:`begin_writing`)."""
    with session_factory(engine)() as session, session.begin():
        if writing:
            session.connection(execution_options={SQLITE_BEGIN_OPTION: "IMMEDIATE"})
        yield session


# --- migrations --------------------------------------------------------------------------


def alembic_config(engine: Engine) -> AlembicConfig:
    """An Alembic configuration bound to ``engine``, using the packaged migrations."""
    cfg = AlembicConfig()
    cfg.set_main_option(
        "script_location", str(resources.files("rapport.store").joinpath("migrations"))
    )
    cfg.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    cfg.attributes["engine"] = engine
    return cfg


def head_revision(engine: Engine) -> str:
    script = ScriptDirectory.from_config(alembic_config(engine))
    head = script.get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    """The schema version of the database, or ``None`` when it was never initialised."""
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    except sa.exc.OperationalError as exc:
        raise StoreUnavailable(
            "cannot open the database: {reason}",
            field="RAPPORT_DATABASE_URL",
            hint="check the URL and that the server is running",
            key="store_cannot_open",
            params={"reason": str(exc.orig).splitlines()[0]},
            hint_key="store_check_url",
        ) from exc


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Create or migrate the schema up to ``revision``."""
    command.upgrade(alembic_config(engine), revision)


def downgrade(engine: Engine, revision: str = "base") -> None:
    command.downgrade(alembic_config(engine), revision)


def sqlite_file(url: str | URL) -> Path | None:
    """The file of a SQLite store URL; ``None`` for PostgreSQL and in-memory SQLite."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return None
    database = parsed.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database).expanduser()


def ensure_exists(url: str | URL) -> None:
    """Refuse a SQLite store whose file is missing or empty, without opening it.

    Opening a missing SQLite file creates it, and opening an empty one writes its header
    (WAL mode), so a command that only reads checks this first and leaves both alone.

    Raises
    ------
    StoreUnavailable
        Naming the file and saying to run ``rapport init`` (or ``rapport demo``).
    """
    path = sqlite_file(url)
    if path is None:
        return
    if not path.is_file():
        raise StoreUnavailable.missing(str(path.resolve()))
    if path.stat().st_size == 0:
        raise StoreUnavailable.not_initialised(str(path.resolve()))


def _where(engine: Engine) -> str:
    path = sqlite_file(engine.url)
    return str(path.resolve()) if path else engine.url.render_as_string(hide_password=True)


def ensure_initialised(engine: Engine) -> str:
    """The schema version of the store; :class:`StoreUnavailable` when it has none."""
    current = current_revision(engine)
    if current is None:
        raise StoreUnavailable.not_initialised(_where(engine))
    return current


def ensure_current(engine: Engine) -> None:
    """Raise :class:`StoreUnavailable` unless the database is at the head revision."""
    current = ensure_initialised(engine)
    head = head_revision(engine)
    if current != head:
        raise StoreUnavailable(
            "the store {where} is at version {current}, not {head}",
            hint="run `rapport init` to migrate it",
            key="store_outdated",
            params={"where": _where(engine), "current": current, "head": head},
        )


def engine_from_settings(settings: Settings | None = None, **kwargs: Any) -> Engine:
    """An engine for the store of ``settings`` (its URL and busy timeout)."""
    settings = settings or get_settings()
    return create_engine(
        settings.database_url, busy_timeout_seconds=settings.busy_timeout_seconds, **kwargs
    )
