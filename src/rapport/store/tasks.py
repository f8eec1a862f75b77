"""Tasks for staff: a call, a visit, a gift to hand over — made by a playbook or by hand.

The table is :data:`rapport.store.schema.tasks`; docs/actions.md says how tasks are made,
worked and expired. This module is the one way to write them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from rapport.domain import TaskStatus, TicketPriority
from rapport.store import schema

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


def add_tasks(*, session: Session, tasks: Sequence[NewTask], at: dt.datetime) -> int:
    """Write ``tasks`` as open tasks created at ``at``; returns how many were written."""
    rows = [
        {
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
        for task in tasks
    ]
    if rows:
        session.execute(sa.insert(_t), rows)
    return len(rows)
