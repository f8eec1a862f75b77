"""The daily pipeline's record: each step of each day, once.

The table is :data:`rapport.store.schema.pipeline_runs`, one row per ``(run_date, step)``:
running while the step works (its ``heartbeat_at`` kept fresh), done with a summary, or
failed with the error. A done step is never run again for its day; a failed one, or one
left running by a worker that was killed, is taken up again by the next run.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from rapport.domain import RunStatus
from rapport.store import schema
from rapport.store.db import insert_ignoring_duplicates

_t = schema.pipeline_runs


@dataclass(frozen=True)
class StepRun:
    """One step of one day as recorded."""

    run_date: dt.date
    step: str
    status: RunStatus
    started_at: dt.datetime
    finished_at: dt.datetime | None
    heartbeat_at: dt.datetime
    summary: Mapping[str, Any] | None
    error: Mapping[str, Any] | None


def _step_run(row: Any) -> StepRun:
    return StepRun(
        run_date=row.run_date,
        step=row.step,
        status=RunStatus(row.status),
        started_at=row.started_at,
        finished_at=row.finished_at,
        heartbeat_at=row.heartbeat_at,
        summary=row.summary,
        error=row.error,
    )


def runs(
    *, session: Session, since: dt.date | None = None, until: dt.date | None = None
) -> list[StepRun]:
    """The recorded steps of the days ``since`` … ``until`` (inclusive), by day and start."""
    stmt = sa.select(_t).order_by(_t.c.run_date, _t.c.started_at, _t.c.id)
    if since is not None:
        stmt = stmt.where(_t.c.run_date >= since)
    if until is not None:
        stmt = stmt.where(_t.c.run_date <= until)
    return [_step_run(row) for row in session.execute(stmt)]


def done_steps(*, session: Session, days: Iterable[dt.date]) -> dict[dt.date, set[str]]:
    """The steps done on each of ``days`` (a day with none done is missing)."""
    wanted = list(days)
    if not wanted:
        return {}
    stmt = sa.select(_t.c.run_date, _t.c.step).where(
        _t.c.run_date.in_(wanted), _t.c.status == RunStatus.DONE.value
    )
    done: dict[dt.date, set[str]] = {}
    for run_date, step in session.execute(stmt):
        done.setdefault(run_date, set()).add(step)
    return done


def recorded_days(*, session: Session) -> tuple[dt.date | None, dt.date | None]:
    """The first and the latest day with any step recorded (``None`` before the first run)."""
    first, last = session.execute(
        sa.select(sa.func.min(_t.c.run_date), sa.func.max(_t.c.run_date))
    ).one()
    return _date(first), _date(last)


def _date(value: Any) -> dt.date | None:
    """A date an aggregate returned (SQLite gives the stored text)."""
    if value is None or isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))


def start(*, session: Session, day: dt.date, step: str, at: dt.datetime) -> bool:
    """Record ``step`` of ``day`` as running from ``at``; ``False`` when it is done already
    (then nothing changes). A failed step, or one left running, starts again."""
    row = {
        "run_date": day,
        "step": step,
        "status": RunStatus.RUNNING.value,
        "started_at": at,
        "heartbeat_at": at,
    }
    if insert_ignoring_duplicates(session, _t, [row]):
        return True
    stmt = (
        sa.update(_t)
        .where(_t.c.run_date == day, _t.c.step == step, _t.c.status != RunStatus.DONE.value)
        .values(
            status=RunStatus.RUNNING.value,
            started_at=at,
            heartbeat_at=at,
            finished_at=None,
            error=None,
            summary=None,
        )
        .returning(_t.c.id)
    )
    return session.execute(stmt).first() is not None


def beat(*, session: Session, day: dt.date, step: str, at: dt.datetime) -> None:
    """Show that ``step`` of ``day`` is still running at ``at``."""
    session.execute(
        sa.update(_t)
        .where(_t.c.run_date == day, _t.c.step == step, _t.c.status == RunStatus.RUNNING.value)
        .values(heartbeat_at=at)
    )


def finish(
    *,
    session: Session,
    day: dt.date,
    step: str,
    at: dt.datetime,
    summary: Mapping[str, Any] | None = None,
    error: Mapping[str, Any] | None = None,
) -> None:
    """Record ``step`` of ``day`` as done (with its ``summary``) or, given an ``error``,
    failed."""
    status = RunStatus.FAILED if error is not None else RunStatus.DONE
    session.execute(
        sa.update(_t)
        .where(_t.c.run_date == day, _t.c.step == step)
        .values(
            status=status.value,
            finished_at=at,
            heartbeat_at=at,
            summary=dict(summary) if summary is not None else None,
            error=dict(error) if error is not None else None,
        )
    )
