"""Snapshot reports kept in the store, so every process finds what one of them computed.

The pages' snapshot reports (:mod:`rapport.reports.snapshot_cache`) are the same for every
request until a snapshot is written again or the customers change. Each process keeps them
in memory; ``kept_reports`` keeps them across processes and restarts: the scoring run
writes the reports the pages ask for first right after the snapshot
(:mod:`rapport.reports.prepared`), and a server process that computes one writes it too.

A row is a report's result as JSON under the SHA-256 of its key (the report, its
arguments, who asks, and the state of the snapshot and the customers it read), with the
snapshot's date and a *generation*: the digest of that state. The table is a cache: a row
is never read under another key, so a stale row is only dead weight, and any row may be
deleted at any time. Stale rows go when a row of a newer generation of the same report
and date is written (:func:`keep`), when the date's snapshot is written again
(:func:`rapport.store.scores.replace_snapshot`) and, as rows may name customers, on an
erasure (:func:`forget`, from :func:`rapport.api.privacy.erase_customer`).

Writing waits :data:`WAIT_MS` at most for the store's write lock: a request never waits
behind an import or a scoring run to keep a result it already has.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import threading
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from rapport.store import schema
from rapport.store.db import begin_writer, insert_ignoring_duplicates, rowcount
from rapport.store.repository import utcnow

log = logging.getLogger(__name__)

_k = schema.kept_reports.c

#: Milliseconds a write waits for the store's write lock before it gives up.
WAIT_MS = 200

_writing = threading.Lock()


def read(conn: sa.Connection | sa.orm.Session, key: str) -> str | None:
    """The JSON kept under ``key`` (``None``: none); one look-up by primary key."""
    found: str | None = conn.execute(
        sa.select(_k.payload).where(_k.key == key)
    ).scalar_one_or_none()
    return found


@contextlib.contextmanager
def _short_wait(conn: sa.Connection) -> Iterator[None]:
    """``conn`` waiting :data:`WAIT_MS` at most for a lock while the block runs."""
    if conn.dialect.name != "sqlite":
        yield
        return
    raw: Any = conn.connection.dbapi_connection  # outside SQLAlchemy's transaction
    before = raw.execute("PRAGMA busy_timeout").fetchone()[0]
    raw.execute(f"PRAGMA busy_timeout = {WAIT_MS}")
    try:
        yield
    finally:
        raw.execute(f"PRAGMA busy_timeout = {int(before)}")


def keep(
    engine: Engine, *, key: str, as_of: dt.date, report: str, generation: str, payload: str
) -> bool:
    """Keep ``payload`` under ``key`` in a short transaction of its own, deleting the rows
    of the same ``report`` and ``as_of`` of any other generation; whether it was kept
    (``False`` when the store's write lock was not free within :data:`WAIT_MS`, or the store
    refused: a cache write never fails its caller)."""
    if engine.dialect.name == "sqlite" and engine.url.database in (None, "", ":memory:"):
        return False  # one connection for every session: a transaction of its own is none
    try:
        # one writer of this process at a time: threads of one process never make each
        # other wait for the store's lock, only other processes do
        with _writing, engine.connect() as conn, _short_wait(conn), begin_writer(conn):
            if conn.dialect.name == "postgresql":
                conn.exec_driver_sql(f"SET LOCAL lock_timeout = '{WAIT_MS}ms'")
            conn.execute(
                sa.delete(schema.kept_reports).where(
                    _k.as_of == as_of, _k.report == report, _k.generation != generation
                )
            )
            row = {
                "key": key,
                "as_of": as_of,
                "report": report,
                "generation": generation,
                "payload": payload,
                "created_at": utcnow(),
            }
            insert_ignoring_duplicates(conn, schema.kept_reports, [row])
        return True
    except sa.exc.DBAPIError:
        log.info("a snapshot report was not kept in the store", exc_info=True)
        return False


def forget(conn: sa.Connection | sa.orm.Session, *, as_of: dt.date | None = None) -> int:
    """Delete the kept reports of the snapshot dated ``as_of`` (of every date when
    ``None``) in the caller's transaction; returns the rows deleted."""
    stmt = sa.delete(schema.kept_reports)
    if as_of is not None:
        stmt = stmt.where(_k.as_of == as_of)
    return rowcount(conn.execute(stmt))


__all__ = ["WAIT_MS", "forget", "keep", "read"]
