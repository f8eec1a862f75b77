"""Behaviour event bodies: ``EventCreate`` (one event), ``EventPublic`` (properties removed
for analysts) and ``EventsPublic`` (a page)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, FiniteFloat, field_validator

from rapport.api.schemas.common import MAX_INT32, Page, Text, Time, check_json
from rapport.domain import EventKind

Json = Annotated[dict[str, Any], AfterValidator(check_json)]
Id = Annotated[int, Field(ge=1, le=MAX_INT32)]


class EventCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    customer_id: Id
    kind: EventKind
    occurred_at: Time | None = Field(default=None, description="Default: now.")
    external_id: Annotated[str, Text(64, 1)] | None = Field(
        default=None, description="The id in the source system (unique when given)."
    )
    session_id: Annotated[str, Text(64)] | None = None
    channel: Annotated[str, Text(32)] | None = None
    product_id: Id | None = None
    campaign_id: Id | None = None
    dwell_seconds: Annotated[FiniteFloat, Field(ge=0, le=1e9)] | None = None
    properties: Json | None = Field(default=None, description="Anything else about the event.")


class EventPublic(BaseModel):
    """An event as the caller may see it (``masked``: properties removed)."""

    id: int
    external_id: str | None
    customer_id: int
    kind: EventKind
    occurred_at: dt.datetime
    session_id: str | None
    channel: str | None
    product_id: int | None
    campaign_id: int | None
    dwell_seconds: float | None
    properties: dict[str, Any] | None
    masked: bool = Field(description="Whether free-form properties are removed for your role.")

    @field_validator("properties", mode="before")
    @classmethod
    def _documents_only(cls, value: Any) -> Any:
        return value if value is None or isinstance(value, dict) else {"value": value}


class EventsPublic(Page[EventPublic]):
    """One page of a customer's events."""
