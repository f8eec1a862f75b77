"""A SQLite store's connections (:func:`rapport.store.db.create_engine`): the file read
through a memory map, and what one connection writes read by another that maps it."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from rapport.store import db


def test_a_connection_reads_the_file_through_a_memory_map(tmp_path: Path) -> None:
    engine = db.create_engine(f"sqlite:///{tmp_path / 'store.db'}")
    try:
        with engine.connect() as conn:
            mapped = conn.exec_driver_sql("PRAGMA mmap_size").scalar()
    finally:
        engine.dispose()
    # SQLite caps the map at its compile-time maximum; it is never off
    assert mapped is not None and 0 < mapped <= db.SQLITE_MMAP_BYTES


def test_a_mapped_reader_sees_every_commit_of_a_writer(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    writer, reader = db.create_engine(url), db.create_engine(url)
    try:
        with writer.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
        with reader.connect() as seen:
            for step in range(3):
                with writer.begin() as conn:
                    conn.execute(
                        sa.text("INSERT INTO t (v) VALUES (:v)"),
                        [{"v": "x" * 3000} for _ in range(500)],
                    )
                    conn.exec_driver_sql("UPDATE t SET v = 'changed' WHERE id = 1")
                count = seen.exec_driver_sql("SELECT count(*) FROM t").scalar()
                first = seen.exec_driver_sql("SELECT v FROM t WHERE id = 1").scalar()
                seen.rollback()  # a new read transaction for the next step
                assert count == 500 * (step + 1) and first == "changed"
            with writer.connect() as conn:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            assert seen.exec_driver_sql("SELECT count(*) FROM t").scalar() == 1500
    finally:
        writer.dispose()
        reader.dispose()


def test_a_new_store_has_the_stores_page_size(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    engine = db.create_engine(f"sqlite:///{path}")
    try:
        db.upgrade(engine)
        with engine.connect() as conn:
            size = conn.exec_driver_sql("PRAGMA page_size").scalar()
            mode = conn.exec_driver_sql("PRAGMA journal_mode").scalar()
    finally:
        engine.dispose()
    assert size == db.SQLITE_PAGE_SIZE != 4096 and mode == "wal"
    # the header of the file says so too (bytes 16–17, big-endian)
    assert int.from_bytes(path.read_bytes()[16:18], "big") == db.SQLITE_PAGE_SIZE


def test_an_existing_store_keeps_its_page_size(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    con = sqlite3.connect(path)
    con.execute("PRAGMA page_size = 4096")
    con.execute("PRAGMA journal_mode = WAL")
    con.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
    con.execute("INSERT INTO t (v) VALUES ('kept')")
    con.commit()
    con.close()
    engine = db.create_engine(f"sqlite:///{path}")
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("INSERT INTO t (v) VALUES ('added')")
        with engine.connect() as conn:
            size = conn.exec_driver_sql("PRAGMA page_size").scalar()
            values = conn.exec_driver_sql("SELECT v FROM t ORDER BY id").scalars().all()
            check = conn.exec_driver_sql("PRAGMA integrity_check").scalar()
    finally:
        engine.dispose()
    assert size == 4096 and values == ["kept", "added"] and check == "ok"


def _bulk_insert(conn: sa.Connection) -> None:
    conn.execute(sa.text("INSERT INTO t (v) VALUES (:v)"), [{"v": "x" * 3000} for _ in range(7000)])


def _bulk_write(engine: sa.Engine) -> None:
    """About 20 MB written as a snapshot is: far more than the 1,000 pages from which a
    commit checkpoints."""
    with engine.connect() as conn, db.sqlite_bulk_write(conn), db.begin_writer(conn):
        _bulk_insert(conn)


@pytest.fixture
def table_store(tmp_path: Path) -> Iterator[tuple[sa.Engine, Path]]:
    """A SQLite store of one empty table ``t``, and its file."""
    path = tmp_path / "store.db"
    engine = db.create_engine(f"sqlite:///{path}")
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
        yield engine, path
    finally:
        engine.dispose()


def test_a_bulk_write_leaves_its_pages_to_the_checkpoint_beside(table_store) -> None:
    engine, path = table_store
    empty = path.stat().st_size
    with db.checkpoint_beside(engine) as checkpoint:
        _bulk_write(engine)
        # committed, and the writer's connection closed: all of it still in the WAL
        assert path.stat().st_size == empty
        assert Path(f"{path}-wal").stat().st_size > 20_000_000
        checkpoint()
    assert path.stat().st_size > empty + 20_000_000
    # an ordinary commit checkpoints by itself
    with engine.begin() as conn:
        _bulk_insert(conn)
    assert path.stat().st_size > empty + 40_000_000
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM t").scalar() == 14_000


def test_a_checkpoint_beside_not_asked_for_copies_nothing_itself(table_store) -> None:
    engine, path = table_store
    empty = path.stat().st_size
    with db.checkpoint_beside(engine):
        _bulk_write(engine)
        # nor does a reader that comes and goes
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT count(*) FROM t").scalar() == 7000
        time.sleep(3 * db.CHECKPOINT_RETRY_SECONDS)
        assert path.stat().st_size == empty
    # the database's last connection closed, SQLite copied it all
    assert path.stat().st_size > empty + 20_000_000


def test_a_checkpoint_beside_is_nothing_without_a_sqlite_file() -> None:
    engine = db.create_engine("sqlite://")
    try:
        with db.checkpoint_beside(engine) as checkpoint:
            checkpoint()
            assert not [t for t in threading.enumerate() if t.name == "rapport-checkpoint"]
    finally:
        engine.dispose()


def test_a_checkpoint_beside_waits_for_a_reader_of_an_older_state(table_store) -> None:
    engine, path = table_store
    reader = sqlite3.connect(path, isolation_level=None)
    try:
        reader.execute("BEGIN")  # reads the table as it is before the write
        assert reader.execute("SELECT count(*) FROM t").fetchall() == [(0,)]
        empty = path.stat().st_size
        with db.checkpoint_beside(engine) as checkpoint:
            _bulk_write(engine)
            checkpoint()
            time.sleep(3 * db.CHECKPOINT_RETRY_SECONDS)
            assert path.stat().st_size == empty  # the reader's pages are still needed
            reader.execute("COMMIT")
            waited = 0.0
            while path.stat().st_size == empty and waited < 5:
                time.sleep(0.05)
                waited += 0.05
        assert path.stat().st_size > empty + 20_000_000
    finally:
        reader.close()
