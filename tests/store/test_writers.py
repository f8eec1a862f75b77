"""Writers wait their turn (SQLite and PostgreSQL): the busy timeout is a setting; a
transaction begun as a writer with :func:`lock_for_upsert` on a table waits for another
such writer to commit — and then reads what it wrote — instead of failing; readers never
wait."""

from __future__ import annotations

import datetime as dt
import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from rapport.config import Settings, get_settings
from rapport.store import schema
from rapport.store.db import begin_writer, create_engine, engine_from_settings, lock_for_upsert

HOLD_SECONDS = 1.0
_c = schema.customers


def _busy_timeout_ms(engine: Engine) -> int:
    with engine.connect() as conn:
        return conn.exec_driver_sql("PRAGMA busy_timeout").scalar_one()


def test_the_sqlite_busy_timeout_is_a_setting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    default = create_engine(url)
    assert _busy_timeout_ms(default) == round(Settings(_env_file=None).busy_timeout_seconds * 1000)
    assert Settings(_env_file=None).busy_timeout_seconds >= 30  # batches of 100,000 rows
    monkeypatch.setenv("RAPPORT_BUSY_TIMEOUT_SECONDS", "2.5")
    get_settings.cache_clear()
    assert _busy_timeout_ms(create_engine(url)) == 2_500
    assert _busy_timeout_ms(create_engine(url, busy_timeout_seconds=0.25)) == 250
    settings = Settings(_env_file=None, database_url=url, busy_timeout_seconds=7)
    assert _busy_timeout_ms(engine_from_settings(settings)) == 7_000


def _insert(conn: sa.Connection, key: str) -> None:
    now = dt.datetime.now(dt.UTC)
    conn.execute(sa.insert(_c).values(external_id=key, name="张伟", created_at=now, updated_at=now))


def _count(conn: sa.Connection) -> int:
    return conn.execute(sa.select(sa.func.count()).select_from(_c)).scalar_one()


def test_a_writer_waits_for_another_then_sees_its_rows(fresh_engine: Engine) -> None:
    """A looks up, inserts and holds; B (the same steps) waits for A's commit, finds A's
    row and adds its own; a reader meanwhile answers at once."""
    holding = threading.Event()
    errors: list[BaseException] = []

    def first() -> None:
        try:
            with fresh_engine.connect() as conn, begin_writer(conn):
                lock_for_upsert(conn, _c)
                _count(conn)
                _insert(conn, "C-A")
                holding.set()
                time.sleep(HOLD_SECONDS)
        except BaseException as exc:
            errors.append(exc)
            holding.set()

    thread = threading.Thread(target=first)
    thread.start()
    assert holding.wait(30)
    started = time.monotonic()
    with fresh_engine.connect() as reader:
        assert _count(reader) == 0  # A's row is not committed; the read did not wait
    read_seconds = time.monotonic() - started
    with fresh_engine.connect() as conn, begin_writer(conn):
        lock_for_upsert(conn, _c)
        seen = _count(conn)
        _insert(conn, "C-B")
    waited = time.monotonic() - started
    thread.join()
    assert not errors, errors
    assert seen == 1  # B began after A's commit
    assert waited >= HOLD_SECONDS / 2 > read_seconds
    with fresh_engine.connect() as conn:
        assert _count(conn) == 2
