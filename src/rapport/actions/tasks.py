"""Tasks as staff work them: the list each user sees, done, skipped, given to someone else,
moved, and made by hand — each write checked against the user's role and scope, and audited.

The CLI, the API and the web workspace call these; the store's own functions
(:mod:`rapport.store.tasks`) write. Who sees which task is :class:`rapport.access.TaskScope`.

========================================  ==========================================
write                                     who
========================================  ==========================================
done (with the call's result), skipped    admin, manager, sales, service — a task they
(with a reason)                           see
given to someone or a team's queue        admin, manager
due date moved                            admin, manager, and the task's assignee
made by hand                              admin, manager (for anyone); sales and service
                                          (for themselves or their team's queue), for a
                                          customer of their scope
========================================  ==========================================
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from rapport.access import WRITERS, CustomerScope, Principal, TaskScope
from rapport.actions.acting import Actor
from rapport.domain import AuditAction, CallResult, Role, TaskStatus
from rapport.errors import Forbidden, ValidationFailed
from rapport.masking import mask_name
from rapport.reports.service_queue import assignees
from rapport.store import customers, tasks
from rapport.store.paging import Page, PageRequest
from rapport.store.repository import Row

ENTITY = "tasks"
#: Who gives tasks to others (or to a team's queue).
ASSIGNERS = frozenset({Role.ADMIN, Role.MANAGER})
#: Fields of a task analysts do not see (free text that may describe a person).
MASKED_FIELDS = ("note", "skip_reason", "script")


def _where(principal: Principal | None) -> list[sa.ColumnElement[bool]]:
    return [] if principal is None else [TaskScope(principal).clause()]


def _shown(row: Row, principal: Principal | None) -> Row:
    if principal is not None and TaskScope(principal).masked:
        row.update(dict.fromkeys(MASKED_FIELDS))
        row["customer_name"] = mask_name(row.get("customer_name"))
    return row


def task_page(
    *,
    session: Session,
    principal: Principal | None,
    page: PageRequest,
    filters: tasks.TaskFilter | None = None,
) -> Page:
    """The tasks ``principal`` sees (``None``: every task) meeting ``filters``, soonest due
    first (:func:`rapport.store.tasks.list_tasks`); free text removed for analysts."""
    found = tasks.list_tasks(session=session, page=page, filters=filters, where=_where(principal))
    return Page(
        data=[_shown(r, principal) for r in found.data],
        count=found.count,
        next_key=found.next_key,
    )


def task_detail(*, session: Session, principal: Principal | None, task_id: int) -> Row:
    """One task as ``principal`` sees it; :class:`~rapport.errors.NotFound` outside their
    scope, as for a missing task."""
    row = tasks.get(session=session, task_id=task_id, where=_where(principal))
    return _shown(row, principal)


def _visible(session: Session, actor: Actor, task_id: int) -> Row:
    """The task if the actor sees it and may work tasks at all."""
    row = tasks.get(session=session, task_id=task_id, where=_where(actor.principal))
    if not actor.may(WRITERS["tasks"]):
        raise Forbidden(
            "the {role} role may not work tasks",
            hint="ask the task's assignee or a manager",
            key="task_write_forbidden",
            params={"role": actor.role},
        )
    return row


def call_result(value: str | None) -> CallResult | None:
    """The call's ``result`` as a :class:`~rapport.domain.CallResult` (``None`` or blank:
    none given).

    Raises
    ------
    ValidationFailed
        When ``value`` is no call result; the hint lists the ones allowed.
    """
    if value is None or not str(value).strip():
        return None
    try:
        return CallResult(str(value).strip())
    except ValueError:
        allowed = ", ".join(r.value for r in CallResult)
        raise ValidationFailed(
            "result: {value} is no call result",
            table=ENTITY,
            field="result",
            value=value,
            hint="give one of {allowed}",
            key="task_result_unknown",
            params={"value": value, "allowed": allowed},
        ) from None


def _aware(value: dt.datetime, field: str) -> dt.datetime:
    if value.tzinfo is None:
        raise ValidationFailed(
            "{field}: a time without a time zone",
            table=ENTITY,
            field=field,
            hint="give the offset, e.g. 2026-03-01T18:00:00+08:00",
            key="task_naive_time",
            params={"field": field},
        )
    return value


def finish_task(
    *,
    session: Session,
    actor: Actor,
    task_id: int,
    at: dt.datetime,
    result: str | None = None,
    note: str | None = None,
) -> Row:
    """Mark the task done with the call's ``result`` (a :class:`~rapport.domain.CallResult`
    value, or none) and a ``note``; the task after.

    Raises
    ------
    NotFound
        When the task does not exist or lies outside the actor's scope.
    Forbidden
        When the actor's role does not work tasks (analysts).
    Conflict
        When it is no longer open.
    ValidationFailed
        When ``result`` is no call result (:func:`call_result`).
    """
    called = call_result(result)
    _visible(session, actor, task_id)
    row = tasks.complete(
        session=session, task_id=task_id, at=at, by=actor.user_id, result=called, note=note
    )
    actor.record(
        session,
        AuditAction.UPDATE,
        ENTITY,
        task_id,
        {"customer_id": row["customer_id"], "to": TaskStatus.DONE.value, "result": row["result"]},
    )
    return _shown(row, actor.principal)


def skip_task(
    *, session: Session, actor: Actor, task_id: int, at: dt.datetime, reason: str | None
) -> Row:
    """Skip the task for ``reason`` (required); the task after. Raises as
    :func:`finish_task`, and :class:`~rapport.errors.ValidationFailed` without a reason."""
    _visible(session, actor, task_id)
    row = tasks.skip(session=session, task_id=task_id, at=at, by=actor.user_id, reason=reason)
    actor.record(
        session,
        AuditAction.UPDATE,
        ENTITY,
        task_id,
        {"customer_id": row["customer_id"], "to": TaskStatus.SKIPPED.value},
    )
    return _shown(row, actor.principal)


_KEEP: Any = object()


@dataclass(frozen=True)
class TaskChange:
    """A change of a task (``PATCH /tasks/{id}``): only the fields given apply. ``status``
    ``done`` takes ``result`` and ``note``; ``skipped`` takes ``reason``."""

    status: TaskStatus | None = None
    result: str | None = None
    note: str | None = None
    reason: str | None = None
    assignee_id: Any = _KEEP  # int | None: a user, or None for the team's queue
    team: Any = _KEEP  # str | None
    due_at: dt.datetime | None = None
    fields: frozenset[str] = field(default_factory=frozenset)

    @property
    def sent(self) -> frozenset[str]:
        """The fields the change names: ``fields`` when given (a PATCH's body), else those
        set to anything but their default."""
        if self.fields:
            return self.fields
        unset: dict[str, Any] = {"assignee_id": _KEEP, "team": _KEEP}
        names = ("status", "result", "note", "reason", "assignee_id", "team", "due_at")
        return frozenset(n for n in names if getattr(self, n) is not unset.get(n))


def _check_assignee(
    session: Session, actor: Actor, assignee_id: int | None, team: str | None
) -> None:
    """Admins and managers give a task to any active staff user or team; the others only to
    themselves or their own team's queue."""
    p = actor.principal
    if not actor.may(ASSIGNERS):
        own = assignee_id is not None and p is not None and assignee_id == p.user_id
        own_queue = assignee_id is None and p is not None and team is not None and team == p.team
        if not (own or own_queue):
            raise Forbidden(
                "the {role} role may give a task only to themselves or their team's queue",
                field="assignee_id",
                hint="leave assignee_id out to take it yourself",
                key="task_assign_forbidden",
                params={"role": actor.role},
            )
    if assignee_id is not None and not assignees(session=session, user_id=assignee_id):
        raise ValidationFailed(
            "assignee_id: no active staff user with id {id}",
            table=ENTITY,
            field="assignee_id",
            value=assignee_id,
            hint="give the task to an active admin, manager, sales or service user",
            key="task_assignee_unknown",
            params={"id": assignee_id},
        )


def change_task(
    *, session: Session, actor: Actor, task_id: int, change: TaskChange, at: dt.datetime
) -> Row:
    """Apply ``change`` to the task: reassign, move the due date, then done or skipped —
    in one transaction, audited as one update naming the fields; the task after.

    Raises
    ------
    NotFound
        When the task does not exist or lies outside the actor's scope.
    Forbidden
        When the actor may not make one of the changes (see the module's table).
    Conflict
        When the task is no longer open.
    ValidationFailed
        A skip without a reason, an unknown assignee, a naive due time, a result that is
        no call result.
    """
    row = _visible(session, actor, task_id)
    called = call_result(change.result)
    if not change.sent:  # nothing sent: nothing changes, nothing to audit
        return _shown(row, actor.principal)
    if change.assignee_id is not _KEEP or change.team is not _KEEP:
        if not actor.may(ASSIGNERS):
            raise Forbidden(
                "the {role} role may not give tasks to others",
                field="assignee_id",
                hint="ask a manager",
                key="task_reassign_forbidden",
                params={"role": actor.role},
            )
        assignee = row["assignee_id"] if change.assignee_id is _KEEP else change.assignee_id
        team = row["team"] if change.team is _KEEP else change.team
        _check_assignee(session, actor, assignee, team)
        row = tasks.reassign(
            session=session, task_id=task_id, at=at, assignee_id=assignee, team=team
        )
    if change.due_at is not None:
        p = actor.principal
        if not actor.may(ASSIGNERS) and (p is None or row["assignee_id"] != p.user_id):
            raise Forbidden(
                "the {role} role may move the due date only of a task assigned to them",
                field="due_at",
                hint="ask a manager",
                key="task_due_forbidden",
                params={"role": actor.role},
            )
        due = _aware(change.due_at, "due_at")
        row = tasks.reschedule(session=session, task_id=task_id, at=at, due_at=due)
    if change.status is TaskStatus.DONE:
        row = tasks.complete(
            session=session,
            task_id=task_id,
            at=at,
            by=actor.user_id,
            result=called,
            note=change.note,
        )
    elif change.status is TaskStatus.SKIPPED:
        row = tasks.skip(
            session=session, task_id=task_id, at=at, by=actor.user_id, reason=change.reason
        )
    elif change.status is not None:
        raise ValidationFailed(
            "status: a task is marked done or skipped; {status} comes by itself",
            table=ENTITY,
            field="status",
            value=change.status.value,
            hint="use done or skipped",
            key="task_status_change",
            params={"status": change.status.value},
        )
    detail: dict[str, Any] = {"customer_id": row["customer_id"], "fields": sorted(change.sent)}
    if change.status is not None:
        detail["to"] = change.status.value
    actor.record(session, AuditAction.UPDATE, ENTITY, task_id, detail)
    return _shown(row, actor.principal)


def add_task(*, session: Session, actor: Actor, task: tasks.NewTask, at: dt.datetime) -> Row:
    """Make ``task`` by hand (``rapport tasks add``, ``POST /tasks``) for a customer of the
    actor's scope; given to the actor when it names neither a user nor a team (a task made
    by hand belongs to no enrolment). Returns the task.

    Raises
    ------
    NotFound
        When the customer does not exist or lies outside the actor's scope.
    Forbidden
        When the actor's role does not work tasks, or gives it to someone they may not.
    ValidationFailed
        An empty or long title, an unknown assignee, a naive due time.
    """
    if not actor.may(WRITERS["tasks"]):
        raise Forbidden(
            "the {role} role may not work tasks",
            hint="ask the task's assignee or a manager",
            key="task_write_forbidden",
            params={"role": actor.role},
        )
    if actor.principal is not None:
        CustomerScope(actor.principal).get(session=session, id=task.customer_id)
    else:
        customers.repo.get(session=session, id=task.customer_id)
    title = (task.title or "").strip()
    if not title or len(title) > 200:
        raise ValidationFailed(
            "title: 1 to 200 characters",
            table=ENTITY,
            field="title",
            hint="say what to do, e.g. 回访：询问使用体验",
            key="task_title",
        )
    assignee, team = task.assignee_id, (task.team or "").strip() or None
    if assignee is None and team is None:
        assignee = actor.user_id
        if assignee is None:
            raise ValidationFailed(
                "assignee_id: a task is for a user or a team's queue",
                table=ENTITY,
                field="assignee_id",
                hint="give a user id, or a team for the team's queue",
                key="task_no_assignee",
            )
    _check_assignee(session, actor, assignee, team)
    new = tasks.NewTask(
        customer_id=task.customer_id,
        title=title,
        due_at=_aware(task.due_at, "due_at"),
        priority=task.priority,
        assignee_id=assignee,
        team=team,
        script=task.script,
    )
    task_id = tasks.add_task(session=session, task=new, at=at)
    actor.record(session, AuditAction.CREATE, ENTITY, task_id, {"customer_id": task.customer_id})
    return task_detail(session=session, principal=actor.principal, task_id=task_id)
