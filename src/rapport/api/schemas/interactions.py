"""Interaction bodies: ``InteractionCreate`` (a call, e-mail, chat, visit … with a
customer), ``InteractionPublic`` (free text removed for analysts) and
``InteractionsPublic`` (a page)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from rapport.api.schemas.common import MAX_INT32, Page, Text, Time, check_json
from rapport.domain import Direction, InteractionChannel

Json = Annotated[dict[str, Any], AfterValidator(check_json)]
Id = Annotated[int, Field(ge=1, le=MAX_INT32)]


class InteractionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    customer_id: Id
    channel: InteractionChannel
    direction: Direction = Field(
        default=Direction.UNKNOWN, description="Default: unknown (the source did not say)."
    )
    occurred_at: Time | None = Field(default=None, description="Default: now.")
    staff_id: Id | None = Field(
        default=None,
        description="The staff member (default: you; admins and managers may name another).",
    )
    duration_seconds: Annotated[int, Field(ge=0, le=MAX_INT32)] | None = None
    subject: Annotated[str, Text(255)] | None = None
    summary: Annotated[str, Text(20_000)] | None = None
    external_id: Annotated[str, Text(64, 1)] | None = Field(
        default=None, description="The id in the source system (unique when given)."
    )
    extra: Json | None = None


class InteractionPublic(BaseModel):
    """An interaction as the caller may see it (``masked``: subject, summary, extra removed)."""

    id: int
    external_id: str | None
    customer_id: int
    channel: InteractionChannel
    direction: Direction
    staff_id: int | None
    occurred_at: dt.datetime
    duration_seconds: int | None
    subject: str | None
    summary: str | None
    extra: dict[str, Any] | None
    masked: bool = Field(description="Whether free text is removed for your role.")

    @field_validator("extra", mode="before")
    @classmethod
    def _documents_only(cls, value: Any) -> Any:
        return value if value is None or isinstance(value, dict) else {"value": value}


class InteractionsPublic(Page[InteractionPublic]):
    """One page of interactions."""
