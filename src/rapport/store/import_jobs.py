"""Import jobs: one row per uploaded file, seen alike by every server process.

A job is ``queued``, ``running``, then ``done`` or ``failed``. The process that holds an
unfinished job (queued in its worker, or running it) refreshes the job's ``heartbeat_at``
every :data:`HEARTBEAT`; a job whose heartbeat is older than :data:`STALE_AFTER` has lost
that process (stopped, killed, its machine gone) and reads as failed — ``interrupted`` —
which :func:`fail_stale` records.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Collection, Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from rapport.domain import ImportJobStatus
from rapport.errors import NotFound
from rapport.store import schema
from rapport.store.db import rowcount
from rapport.store.repository import Repository, Row, utcnow

repo = Repository(schema.import_jobs, entity="import job", key=None)
_j = schema.import_jobs

#: A job's id: a UUID's 32 lower-case hexadecimal digits.
ID = re.compile(r"[0-9a-f]{32}")
#: How often the holding process refreshes the heartbeat of its unfinished jobs.
HEARTBEAT = dt.timedelta(seconds=15)
#: An unfinished job whose heartbeat is older than this has lost its process.
STALE_AFTER = dt.timedelta(seconds=120)
#: States a job leaves; the others are final.
UNFINISHED = (ImportJobStatus.QUEUED.value, ImportJobStatus.RUNNING.value)
#: The report's counts, each in a column of its own (``rows_<count>``).
COUNTS = ("read", "inserted", "updated", "unchanged", "rejected")
#: The error of a job whose process stopped before the job ended.
INTERRUPTED: dict[str, Any] = {
    "code": "interrupted",
    "message": "the import stopped before it finished: the server process running it "
    f"gave no sign of life for {int(STALE_AFTER.total_seconds())} seconds",
    "field": None,
    "hint": "upload the file again: rows already imported are found and reported unchanged",
}


def create(*, session: Session, values: Mapping[str, Any]) -> Row:
    """Record a new job (``queued``, its heartbeat now); returns the row."""
    now = utcnow()
    row = {"status": ImportJobStatus.QUEUED.value, "heartbeat_at": now, **values}
    return repo.create(session=session, values=row)


def get(*, session: Session, id: str) -> Row | None:
    """The job ``id``, or ``None``."""
    row = session.execute(sa.select(_j).where(_j.c.id == id)).mappings().first()
    return dict(row) if row is not None else None


def not_found(id: str, *, entity: str = "import job") -> NotFound:
    """The :class:`NotFound` of a job that is missing or hidden from the caller ("no import
    job with id …"; ``entity`` names the kind, ``scoring job``), as
    :meth:`Repository.not_found` is a record's."""
    return NotFound(
        "no {entity} with id {id}",
        table=_j.name,
        field="id",
        value=id,
        key="record_not_found",
        params={"entity": entity, "id": id},
    )


def recent(
    *,
    session: Session,
    submitted_by_id: int | None = None,
    limit: int = 50,
    except_entity: str | None = None,
) -> tuple[list[Row], int]:
    """The latest ``limit`` jobs, newest first, and how many there are in all — of one
    submitter, or of everyone when ``submitted_by_id`` is ``None``; without the jobs of
    ``except_entity``."""
    where = [] if submitted_by_id is None else [_j.c.submitted_by_id == submitted_by_id]
    if except_entity is not None:
        where.append(_j.c.entity != except_entity)
    count = session.execute(sa.select(sa.func.count()).select_from(_j).where(*where)).scalar_one()
    stmt = (
        sa.select(_j).where(*where).order_by(_j.c.submitted_at.desc(), _j.c.id.desc()).limit(limit)
    )
    return [dict(r) for r in session.execute(stmt).mappings()], int(count)


def unfinished(*, session: Session, entity: str) -> list[Row]:
    """The jobs of ``entity`` that are queued or running (stale ones included)."""
    stmt = sa.select(_j).where(_j.c.entity == entity, _j.c.status.in_(UNFINISHED))
    return [dict(r) for r in session.execute(stmt).mappings()]


def update(*, session: Session, id: str, values: Mapping[str, Any]) -> None:
    """Set the given fields of job ``id`` (checked against the table's rules)."""
    clean = repo.validate(values, partial=True)
    with repo.writing(session, clean):
        session.execute(sa.update(_j).where(_j.c.id == id).values(**clean))


def beat(*, session: Session, ids: Collection[str], at: dt.datetime | None = None) -> None:
    """Refresh the heartbeat of the unfinished jobs among ``ids``."""
    if not ids:
        return
    session.execute(
        sa.update(_j)
        .where(_j.c.id.in_(list(ids)), _j.c.status.in_(UNFINISHED))
        .values(heartbeat_at=at or utcnow())
    )


def is_stale(row: Mapping[str, Any], now: dt.datetime | None = None) -> bool:
    """Whether ``row`` is unfinished and its holding process gave no sign of life for
    longer than :data:`STALE_AFTER`."""
    now = now or utcnow()
    return row["status"] in UNFINISHED and row["heartbeat_at"] < now - STALE_AFTER


def settled(row: Row, now: dt.datetime | None = None) -> Row:
    """``row`` as it reads: failed (``interrupted``) when it is stale, as it is otherwise."""
    if not is_stale(row, now):
        return row
    return {
        **row,
        "status": ImportJobStatus.FAILED.value,
        "finished_at": row["finished_at"] or now or utcnow(),
        "error": INTERRUPTED,
    }


def fail_stale(*, session: Session, now: dt.datetime | None = None) -> int:
    """Record every stale job as failed (``interrupted``); returns how many."""
    now = now or utcnow()
    result = session.execute(
        sa.update(_j)
        .where(_j.c.status.in_(UNFINISHED), _j.c.heartbeat_at < now - STALE_AFTER)
        .values(status=ImportJobStatus.FAILED.value, finished_at=now, error=INTERRUPTED)
    )
    return rowcount(result)


__all__ = [
    "COUNTS",
    "HEARTBEAT",
    "INTERRUPTED",
    "STALE_AFTER",
    "UNFINISHED",
    "beat",
    "create",
    "fail_stale",
    "get",
    "is_stale",
    "recent",
    "settled",
    "unfinished",
    "update",
]
