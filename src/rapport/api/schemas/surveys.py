"""Survey response bodies: ``SurveyResponseCreate`` (an answer entered by staff),
``SurveyResponsePublic`` (the comment removed for analysts) and ``SurveyResponsesPublic``
(a page)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, FiniteFloat

from rapport.api.schemas.common import MAX_INT32, Page, Text, Time
from rapport.domain import SurveyKind

Id = Annotated[int, Field(ge=1, le=MAX_INT32)]
Score = Annotated[FiniteFloat, Field(ge=-1e9, le=1e9)]


class SurveyResponseCreate(BaseModel):
    """One answer. The scale defaults to the kind's usual one (CSAT 1–5, NPS 0–10, CES,
    perceived value and expectation 1–7); the score must lie on it."""

    model_config = ConfigDict(extra="forbid")

    customer_id: Id
    kind: SurveyKind
    score: Score
    scale_min: Score | None = None
    scale_max: Score | None = None
    comment: Annotated[str, Text(5_000)] | None = None
    channel: Annotated[str, Text(32)] | None = None
    responded_at: Time | None = Field(default=None, description="Default: now.")
    ticket_id: Id | None = Field(default=None, description="A ticket of the same customer.")
    campaign_id: Id | None = None
    external_id: Annotated[str, Text(64, 1)] | None = None


class SurveyResponsePublic(BaseModel):
    """A survey answer as the caller may see it (``masked``: comment removed)."""

    id: int
    external_id: str | None
    customer_id: int
    kind: SurveyKind
    score: float
    scale_min: float
    scale_max: float
    comment: str | None
    channel: str | None
    responded_at: dt.datetime
    ticket_id: int | None
    campaign_id: int | None
    masked: bool = Field(description="Whether free text is removed for your role.")


class SurveyResponsesPublic(Page[SurveyResponsePublic]):
    """One page of survey answers."""
