"""Ticket bodies: ``TicketCreate``, ``TicketTransition`` (a move along the workflow),
``TicketAssign``, ``TicketPublic`` (free text masked for analysts), ``TicketDetail`` (with
its status history) and ``TicketsPublic`` (a page)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from rapport.api.schemas.common import MAX_INT32, Page, Text, Time, check_json
from rapport.domain import TicketKind, TicketPriority, TicketStatus

Json = Annotated[dict[str, Any], AfterValidator(check_json)]
Id = Annotated[int, Field(ge=1, le=MAX_INT32)]


class TicketCreate(BaseModel):
    """A new ticket; its SLA due times follow from ``priority`` and the configured targets."""

    model_config = ConfigDict(extra="forbid")

    customer_id: Id
    kind: TicketKind
    priority: TicketPriority = TicketPriority.NORMAL
    external_id: Annotated[str, Text(64, 1)] | None = Field(
        default=None, description="The id in the source system (unique); generated if left out."
    )
    channel: Annotated[str, Text(32)] | None = None
    subject: Annotated[str, Text(255)] | None = None
    description: Annotated[str, Text(20_000)] | None = None
    assignee_id: Id | None = Field(
        default=None,
        description="Admins and managers assign anyone on staff; service and sales users "
        "only themselves (service users become the assignee when they leave it out).",
    )
    opened_at: Time | None = Field(default=None, description="Default: now; not in the future.")
    extra: Json | None = None


class TicketTransition(BaseModel):
    """Move a ticket to ``to`` (see the workflow in the docs), with an optional note."""

    model_config = ConfigDict(extra="forbid")

    to: TicketStatus
    note: Annotated[str, Text(2000)] | None = None


class TicketAssign(BaseModel):
    """Give the ticket to a user (``null``: nobody)."""

    model_config = ConfigDict(extra="forbid")

    assignee_id: Id | None


class TicketPublic(BaseModel):
    """A ticket as the caller may see it (``masked``: subject, description, extra removed)."""

    id: int
    external_id: str
    customer_id: int
    kind: TicketKind
    channel: str | None
    priority: TicketPriority
    status: TicketStatus
    subject: str | None
    description: str | None
    assignee_id: int | None
    opened_at: dt.datetime
    first_response_at: dt.datetime | None
    resolved_at: dt.datetime | None
    closed_at: dt.datetime | None
    first_response_due_at: dt.datetime | None
    resolution_due_at: dt.datetime | None
    satisfaction_rating: int | None
    extra: dict[str, Any] | None
    created_at: dt.datetime
    updated_at: dt.datetime
    masked: bool = Field(description="Whether free text is removed for your role.")

    @field_validator("extra", mode="before")
    @classmethod
    def _documents_only(cls, value: Any) -> Any:
        return value if value is None or isinstance(value, dict) else {"value": value}


class TicketHistoryEntry(BaseModel):
    """One status change (``from_status`` is null for the opening)."""

    id: int
    from_status: TicketStatus | None
    to_status: TicketStatus
    changed_at: dt.datetime
    changed_by: int | None
    note: str | None


class TicketDetail(TicketPublic):
    """A ticket with its status history, oldest first."""

    history: list[TicketHistoryEntry]


class TicketsPublic(Page[TicketPublic]):
    """One page of tickets."""
