"""A SQLite store's connections (:func:`rapport.store.db.create_engine`): the file read
through a memory map, and what one connection writes read by another that maps it."""

from __future__ import annotations

import sqlite3
from pathlib import Path

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
