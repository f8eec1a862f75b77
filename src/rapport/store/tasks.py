"""Tasks for staff: a call, a visit, a gift to hand over — made by a playbook or by hand.

The table is :data:`rapport.store.schema.tasks`; docs/actions.md says how tasks are made,
worked and expired. This module is the one way to write them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from rapport.config import load_rules
from rapport.domain import TaskStatus, TicketPriority
from rapport.errors import Conflict, NotFound, ValidationFailed
from rapport.store import schema
from rapport.store.db import rowcount
from rapport.store.paging import MAX_ID, Page, PageRequest, SortKey, read_page
from rapport.store.repository import Row

_t = schema.tasks


@dataclass(frozen=True)
class NewTask:
    """A task to write: for ``assignee_id`` (a user) or, with none, the ``team`` queue."""

    customer_id: int
    title: str
    due_at: dt.datetime
    priority: TicketPriority = TicketPriority.NORMAL
    assignee_id: int | None = None
    team: str | None = None
    script: str | None = None
    enrolment_id: int | None = None


def _row(task: NewTask, at: dt.datetime) -> dict[str, Any]:
    return {
        "customer_id": task.customer_id,
        "assignee_id": task.assignee_id,
        "team": task.team,
        "enrolment_id": task.enrolment_id,
        "title": task.title,
        "script": task.script,
        "priority": TicketPriority(task.priority).value,
        "status": TaskStatus.OPEN.value,
        "due_at": task.due_at,
        "created_at": at,
        "updated_at": at,
    }


def add_tasks(*, session: Session, tasks: Sequence[NewTask], at: dt.datetime) -> int:
    """Write ``tasks`` as open tasks created at ``at``; returns how many were written."""
    rows = [_row(task, at) for task in tasks]
    if rows:
        session.execute(sa.insert(_t), rows)
    return len(rows)


def add_task(*, session: Session, task: NewTask, at: dt.datetime) -> int:
    """Write ``task`` as an open task created at ``at``; returns its id."""
    stmt = sa.insert(_t).values(**_row(task, at)).returning(_t.c.id)
    return int(session.execute(stmt).scalar_one())


# --- reading -------------------------------------------------------------------------------

_c = schema.customers
_u = schema.users
#: A task list's order: soonest due first, then by id (the keyset of its pages).
ORDER = (SortKey(_t.c.due_at), SortKey(_t.c.id))


@dataclass(frozen=True)
class TaskFilter:
    """The filters of a task list (all optional, combined with AND): ``due_after`` is
    inclusive, ``due_before`` exclusive (aware times)."""

    status: TaskStatus | None = None
    assignee_id: int | None = None
    team: str | None = None
    customer_id: int | None = None
    due_after: dt.datetime | None = None
    due_before: dt.datetime | None = None

    def conditions(self) -> list[sa.ColumnElement[bool]]:
        out: list[sa.ColumnElement[bool]] = []
        for column, value in (
            (_t.c.status, None if self.status is None else TaskStatus(self.status).value),
            (_t.c.assignee_id, self.assignee_id),
            (_t.c.team, self.team),
            (_t.c.customer_id, self.customer_id),
        ):
            if value is not None:
                out.append(column == value)
        if self.due_after is not None:
            out.append(_t.c.due_at >= self.due_after)
        if self.due_before is not None:
            out.append(_t.c.due_at < self.due_before)
        return out


def _select() -> sa.Select[Any]:
    return sa.select(
        _t,
        _c.c.name.label("customer_name"),
        sa.func.coalesce(_u.c.display_name, _u.c.username).label("assignee_name"),
    ).select_from(
        _t.join(_c, _c.c.id == _t.c.customer_id).outerjoin(_u, _u.c.id == _t.c.assignee_id)
    )


def list_tasks(
    *,
    session: Session,
    page: PageRequest,
    filters: TaskFilter | None = None,
    where: Sequence[sa.ColumnElement[bool]] = (),
) -> Page:
    """The tasks meeting ``filters`` and ``where`` (the caller's scope:
    :class:`rapport.access.TaskScope`), soonest due first, one keyset page at a time.

    Each row is the task with ``customer_name`` and ``assignee_name`` (display name, else
    username; ``None`` for a team's queue).
    """
    stmt = _select().where(*where, *(filters or TaskFilter()).conditions())
    return read_page(session, stmt, page, ORDER)


def _not_found(task_id: int) -> NotFound:
    return NotFound(
        "no task with id {id}",
        table="tasks",
        field="id",
        value=task_id,
        key="task_not_found",
        params={"id": task_id},
    )


def get(*, session: Session, task_id: int, where: Sequence[sa.ColumnElement[bool]] = ()) -> Row:
    """Task ``task_id`` (with ``customer_name`` and ``assignee_name``) when it meets
    ``where``; otherwise the same :class:`NotFound` as a missing task."""
    if not 1 <= task_id <= MAX_ID:
        raise _not_found(task_id)
    row = session.execute(_select().where(_t.c.id == task_id, *where)).mappings().first()
    if row is None:
        raise _not_found(task_id)
    return dict(row)


# --- working a task ------------------------------------------------------------------------


def _change_open(session: Session, task_id: int, values: dict[str, Any], at: dt.datetime) -> Row:
    """Write ``values`` on task ``task_id`` while it is open (one statement, so of two
    people finishing the same task one wins); the task after.

    Raises
    ------
    NotFound
        When there is no such task.
    Conflict
        When it is no longer open (done, skipped or expired), naming its status.
    """
    changed = session.execute(
        sa.update(_t)
        .where(_t.c.id == task_id, _t.c.status == TaskStatus.OPEN.value)
        .values(**values, updated_at=at)
    )
    if rowcount(changed) == 0:
        current = session.execute(
            sa.select(_t.c.status).where(_t.c.id == task_id)
        ).scalar_one_or_none()
        if current is None:
            raise _not_found(task_id)
        raise Conflict(
            "task {id} is {status}, not open: only an open task can change",
            table="tasks",
            field="status",
            value=current,
            hint="list the open tasks with status=open",
            key="task_not_open",
            params={"id": task_id, "status": current},
        )
    return get(session=session, task_id=task_id)


def _text(value: str | None, field: str, limit: int) -> str | None:
    clean = (value or "").strip()
    if len(clean) > limit:
        raise ValidationFailed(
            "{field}: at most {limit} characters",
            table="tasks",
            field=field,
            hint="shorten it",
            key="task_text_long",
            params={"field": field, "limit": limit},
        )
    return clean or None


def complete(
    *,
    session: Session,
    task_id: int,
    at: dt.datetime,
    by: int | None,
    result: str | None = None,
    note: str | None = None,
) -> Row:
    """Mark open task ``task_id`` done at ``at`` by user ``by``, with the call's
    ``result`` (e.g. ``reached``, ``no_answer``) and a ``note``; the task after.

    Raises
    ------
    NotFound, Conflict
        See :func:`_change_open`.
    ValidationFailed
        When ``result`` or ``note`` is too long.
    """
    values = {
        "status": TaskStatus.DONE.value,
        "result": _text(result, "result", 64),
        "note": _text(note, "note", 2000),
        "completed_at": at,
        "completed_by": by,
    }
    return _change_open(session, task_id, values, at)


def skip(
    *, session: Session, task_id: int, at: dt.datetime, by: int | None, reason: str | None
) -> Row:
    """Skip open task ``task_id`` for ``reason`` (required); the task after.

    Raises
    ------
    ValidationFailed
        When ``reason`` is empty or too long.
    NotFound, Conflict
        See :func:`_change_open`.
    """
    why = _text(reason, "reason", 500)
    if why is None:
        raise ValidationFailed(
            "reason: a skipped task needs a reason",
            table="tasks",
            field="reason",
            hint="say why the task is not done (e.g. the customer asked not to be called)",
            key="task_skip_reason",
        )
    values = {
        "status": TaskStatus.SKIPPED.value,
        "skip_reason": why,
        "completed_at": at,
        "completed_by": by,
    }
    return _change_open(session, task_id, values, at)


def reassign(
    *,
    session: Session,
    task_id: int,
    at: dt.datetime,
    assignee_id: int | None,
    team: str | None = None,
) -> Row:
    """Give open task ``task_id`` to user ``assignee_id``, or with none to the ``team``
    queue; the task after.

    Raises
    ------
    ValidationFailed
        When neither a user nor a team is given.
    NotFound, Conflict
        See :func:`_change_open`.
    """
    team = _text(team, "team", 64)
    if assignee_id is None and team is None:
        raise ValidationFailed(
            "assignee_id: a task is for a user or a team's queue",
            table="tasks",
            field="assignee_id",
            hint="give a user id, or a team for the team's queue",
            key="task_no_assignee",
        )
    return _change_open(session, task_id, {"assignee_id": assignee_id, "team": team}, at)


def reschedule(*, session: Session, task_id: int, at: dt.datetime, due_at: dt.datetime) -> Row:
    """Move the due time of open task ``task_id`` to ``due_at``; the task after."""
    return _change_open(session, task_id, {"due_at": due_at}, at)


def expire_tasks(*, session: Session, at: dt.datetime, after_days: int | None = None) -> int:
    """Mark expired every open task due more than ``after_days`` days before ``at``
    (default: ``[tasks] expire_after_days`` of the rules); returns how many. Running it
    again at the same time expires nothing more."""
    days = load_rules().tasks.expire_after_days if after_days is None else after_days
    cutoff = at - dt.timedelta(days=days)
    changed = session.execute(
        sa.update(_t)
        .where(_t.c.status == TaskStatus.OPEN.value, _t.c.due_at < cutoff)
        .values(status=TaskStatus.EXPIRED.value, updated_at=at)
    )
    return rowcount(changed)
