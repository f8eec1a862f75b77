"""Dated score snapshots: one row per customer and ``as_of`` date, history kept."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from rapport.errors import NotFound, ValidationFailed
from rapport.store import schema
from rapport.store.db import begin_writing, lock_for_upsert
from rapport.store.repository import Repository, Row, utcnow

repo = Repository(schema.customer_scores, entity="score snapshot", key=None)
_s = schema.customer_scores


def write_snapshot(*, session: Session, as_of: dt.date, rows: Iterable[Mapping[str, Any]]) -> int:
    """Replace the snapshot of ``as_of`` with ``rows``, atomically; returns rows written.

    Rows may carry different fields: every given field is written, and a field a row does
    not carry is stored as NULL. The session's transaction begins as a writer when it has
    not begun yet (waiting its turn for the write lock), and no other snapshot is written
    while it lasts.
    """
    computed_at = utcnow()
    clean = [
        repo.validate({**row, "as_of": as_of, "computed_at": row.get("computed_at", computed_at)})
        for row in rows
    ]
    # One executemany per set of fields: a batch takes its columns from its first row.
    batches: dict[frozenset[str], list[Row]] = {}
    for row in clean:
        batches.setdefault(frozenset(row), []).append(row)
    begin_writing(session)
    lock_for_upsert(session.connection(), _s)
    with repo.writing(session):
        session.execute(sa.delete(_s).where(_s.c.as_of == as_of))
        for batch in batches.values():
            session.execute(sa.insert(_s), batch)
    return len(clean)


def snapshot_dates(*, session: Session) -> list[dt.date]:
    stmt = sa.select(_s.c.as_of).distinct().order_by(_s.c.as_of)
    return list(session.execute(stmt).scalars())


#: Snapshot dates named in full by :func:`check_snapshot_date`; more are elided.
SHOWN_DATES = 8


def _dates_text(dates: list[dt.date]) -> str:
    shown = [d.isoformat() for d in dates]
    if len(shown) > SHOWN_DATES:
        shown = [*shown[:3], "…", *shown[-(SHOWN_DATES - 3) :]]
    return f"{', '.join(shown)} ({len(dates)} in all)"


def check_snapshot_date(
    dates: list[dt.date], as_of: dt.date | None, *, field: str = "as_of"
) -> dt.date:
    """The snapshot date to read: ``as_of`` when a snapshot has that date, the latest when
    ``as_of`` is ``None``.

    Raises
    ------
    NotFound
        When there is no snapshot at all (run ``rapport score``).
    ValidationFailed
        When no snapshot is dated ``as_of``: names ``field``, the date, and the dates that
        exist — never an empty answer that reads as "nobody".
    """
    if not dates:
        raise NotFound(
            "no score snapshot", table="customer_scores", hint="run `rapport score` first"
        )
    if as_of is None:
        return dates[-1]
    if as_of not in dates:
        raise ValidationFailed(
            f"no score snapshot dated {as_of.isoformat()}",
            field=field,
            value=as_of.isoformat(),
            hint=f"snapshots exist on {_dates_text(sorted(dates))}; "
            f"`rapport score --as-of {as_of.isoformat()}` makes one on that day",
        )
    return as_of


def require_snapshot(*, session: Session, as_of: dt.date | None, field: str = "as_of") -> dt.date:
    """:func:`check_snapshot_date` against the snapshots in the store."""
    return check_snapshot_date(snapshot_dates(session=session), as_of, field=field)


def for_customer(*, session: Session, customer_id: int, limit: int = 2) -> list[Row]:
    """The latest ``limit`` snapshots of one customer, newest first."""
    stmt = (
        sa.select(_s)
        .where(_s.c.customer_id == customer_id)
        .order_by(_s.c.as_of.desc())
        .limit(limit)
    )
    return [dict(r) for r in session.execute(stmt).mappings()]
