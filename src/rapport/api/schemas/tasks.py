"""Task bodies: ``TaskCreate`` (a task made by hand), ``TaskUpdate`` (PATCH: done, skipped,
reassigned, moved — only the fields sent apply), ``TaskPublic`` and ``TasksPublic`` (a
page)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from rapport.api.schemas.common import MAX_INT32, Page, Text, Time
from rapport.domain import CallResult, TaskStatus, TicketPriority

Id = Annotated[int, Field(ge=1, le=MAX_INT32)]


class TaskCreate(BaseModel):
    """A task for a customer in your scope. Leave ``assignee_id`` and ``team`` out to take
    it yourself; admins and managers give it to anyone, the others only to themselves or
    their team's queue."""

    model_config = ConfigDict(extra="forbid")

    customer_id: Id
    title: Annotated[str, Text(200, 1)]
    due_at: Time
    priority: TicketPriority = TicketPriority.NORMAL
    assignee_id: Id | None = None
    team: Annotated[str, Text(64, 1)] | None = None
    script: Annotated[str, Text(5000)] | None = Field(
        default=None, description="What to say or do: shown to whoever works the task."
    )


class TaskUpdate(BaseModel):
    """A change of an open task; only the fields sent apply. ``status: done`` with the call's
    ``result`` and a ``note``; ``status: skipped`` with a ``reason`` (required).
    ``assignee_id``/``team`` give it to a user or a team's queue (admins and managers);
    ``due_at`` moves it (admins, managers, and its assignee)."""

    model_config = ConfigDict(extra="forbid")

    status: Literal[TaskStatus.DONE, TaskStatus.SKIPPED] | None = None
    result: CallResult | None = Field(
        default=None, description="The call's result: reached, no_answer, callback, declined."
    )
    note: Annotated[str, Text(2000)] | None = None
    reason: Annotated[str, Text(500)] | None = Field(
        default=None, description="Why the task is skipped (required with status skipped)."
    )
    assignee_id: Id | None = None
    team: Annotated[str, Text(64)] | None = None
    due_at: Time | None = None


class TaskPublic(BaseModel):
    """A task as the caller may see it (``masked``: note and skip reason removed, the
    customer's name masked)."""

    id: int
    customer_id: int
    customer_name: str | None
    assignee_id: int | None
    assignee_name: str | None
    team: str | None
    enrolment_id: int | None = Field(description="The playbook enrolment that made it.")
    title: str
    script: str | None
    priority: TicketPriority
    status: TaskStatus
    due_at: dt.datetime
    result: str | None
    note: str | None
    skip_reason: str | None
    created_at: dt.datetime
    updated_at: dt.datetime
    completed_at: dt.datetime | None
    completed_by: int | None
    masked: bool = Field(description="Whether free text is removed for your role.")


class TasksPublic(Page[TaskPublic]):
    """A page of tasks, soonest due first."""
