"""Bodies of the survey links: created by staff, answered by the customer without a login."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from rapport.api.schemas.common import MAX_INT32, Text, check_json
from rapport.domain import SurveyKind

#: Days a link stays valid unless the request says otherwise.
DEFAULT_LINK_DAYS = 14
MAX_LINK_DAYS = 90


class SurveyLinkCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    customer_id: int = Field(ge=1, le=MAX_INT32, description="Who is asked.")
    kind: SurveyKind = Field(description="Which question: nps, csat, ces …")
    campaign_id: int | None = Field(
        default=None, ge=1, le=MAX_INT32, description="The campaign sending it."
    )
    context: Annotated[dict[str, Any] | None, AfterValidator(check_json)] = Field(
        default=None, description="What it is about (order, ticket); never shown publicly."
    )
    valid_days: int = Field(
        default=DEFAULT_LINK_DAYS, ge=1, le=MAX_LINK_DAYS, description="Days until it expires."
    )


class SurveyLinkPublic(BaseModel):
    """A new link: send ``url`` to the customer (it is shown only this once)."""

    id: int
    customer_id: int
    kind: SurveyKind
    url: str
    expires_at: dt.datetime


class SurveyQuestion(BaseModel):
    """What the public page shows: the question and its scale, nothing personal."""

    kind: SurveyKind
    scale_min: float
    scale_max: float
    expires_at: dt.datetime


class SurveyAnswer(BaseModel):
    model_config = ConfigDict(extra="forbid")

    score: float = Field(description="Within the question's scale (see GET).", allow_inf_nan=False)
    comment: Annotated[str, Text(2000)] | None = None


class SurveyAnswerRecorded(BaseModel):
    status: str = "recorded"
    kind: SurveyKind
    score: float
