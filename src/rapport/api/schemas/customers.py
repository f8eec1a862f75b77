"""Customer bodies: ``CustomerCreate``, ``CustomerUpdate`` (PATCH: only the fields sent),
``CustomerPublic`` (masked for analysts), ``CustomersPublic`` (a page), the 360 card and
the data-subject export.

Text, JSON documents and times are checked as :mod:`rapport.api.schemas.common` says.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
)

from rapport.api.schemas.common import MAX_INT32, Page, Text, Time, check_json, check_text
from rapport.api.schemas.loyalty import ProgrammeTier
from rapport.domain import Gender
from rapport.store.customers import MAX_TAG_LENGTH, MAX_TAGS

Tag = Annotated[
    str, StringConstraints(min_length=1, max_length=MAX_TAG_LENGTH), AfterValidator(check_text)
]
Json = Annotated[dict[str, Any], AfterValidator(check_json)]
Handles = Annotated[dict[str, str], AfterValidator(check_json)]
UserId = Annotated[int, Field(ge=1, le=MAX_INT32)]


class CustomerFields(BaseModel):
    """The fields a client may write (all optional here)."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Text(128)] | None = None
    email: Annotated[str, Text(254)] | None = Field(
        default=None, description="Lowercased; must be an address."
    )
    phone: Annotated[str, Text(64)] | None = Field(
        default=None,
        description="Any usual spelling; stored as E.164 (+8613812345678). Numbers without a "
        "country code are read in the business's default region.",
    )
    wechat_id: Annotated[str, Text(64)] | None = None
    social_handles: Handles | None = Field(
        default=None, description='Platform → handle, e.g. {"weibo": "..."}'
    )
    country: Annotated[str, Text(2, 2)] | None = Field(
        default=None, description="ISO 3166-1 alpha-2"
    )
    province: Annotated[str, Text(64)] | None = None
    city: Annotated[str, Text(64)] | None = None
    district: Annotated[str, Text(64)] | None = None
    street: Annotated[str, Text(255)] | None = None
    postal_code: Annotated[str, Text(16)] | None = None
    birthday: dt.date | None = None
    gender: Gender | None = None
    occupation: Annotated[str, Text(64)] | None = None
    income_band: Annotated[str, Text(32)] | None = None
    source_channel: Annotated[str, Text(32)] | None = None
    owner_id: UserId | None = Field(
        default=None, description="The responsible user (sales: always yourself)."
    )
    loyalty_joined_at: Time | None = None
    tags: list[Tag] | None = Field(default=None, max_length=MAX_TAGS)
    extra: Json | None = Field(default=None, description="Source fields without a place.")


class CustomerCreate(CustomerFields):
    external_id: Annotated[str, Text(64, 1)] = Field(
        description="The id in the source system (unique)."
    )
    marketing_consent: bool = False
    marketing_opt_out: bool = False


class CustomerUpdate(CustomerFields):
    """PATCH: only the fields sent change; ``null`` clears an optional field."""

    external_id: Annotated[str, Text(64, 1)] = None  # type: ignore[assignment]
    marketing_consent: bool = None  # type: ignore[assignment]
    marketing_opt_out: bool = None  # type: ignore[assignment]


class CustomerPublic(BaseModel):
    """A customer as the caller may see it (``masked``: personal fields masked)."""

    id: int
    external_id: str = Field(description="The id in the source system (masked for analysts).")
    name: str | None
    email: str | None
    phone: str | None
    wechat_id: str | None
    social_handles: dict[str, Any] | None
    country: str | None
    province: str | None
    city: str | None
    district: str | None
    street: str | None
    postal_code: str | None
    birthday: dt.date | None
    gender: Gender | None
    occupation: str | None
    income_band: str | None
    source_channel: str | None
    owner_id: int | None
    marketing_consent: bool
    marketing_opt_out: bool
    loyalty_joined_at: dt.datetime | None
    tags: list[Any] | None
    extra: dict[str, Any] | None
    created_at: dt.datetime
    updated_at: dt.datetime
    deleted_at: dt.datetime | None
    erased_at: dt.datetime | None
    masked: bool = Field(description="Whether personal fields are masked for your role.")

    @field_validator("social_handles", "extra", mode="before")
    @classmethod
    def _documents_only(cls, value: Any) -> Any:
        # Imports may have stored other JSON shapes; a public body shows objects only.
        return value if value is None or isinstance(value, dict) else {"value": value}

    @field_validator("tags", mode="before")
    @classmethod
    def _lists_only(cls, value: Any) -> Any:
        return value if value is None or isinstance(value, list) else [value]


class CustomersPublic(Page[CustomerPublic]):
    """One page of customers."""


class TimelineEntry(BaseModel):
    at: dt.datetime
    source: str = Field(
        description="orders, interactions, tickets, survey_responses, events or notes"
    )
    kind: str | None
    detail: str | None
    value: float | None
    entry_id: int


class ScoreSnapshot(BaseModel):
    """One dated score snapshot of the customer (docs/scores.md)."""

    as_of: dt.date
    satisfaction: float | None
    loyalty: float | None
    engagement: float | None
    advocacy: float | None
    relationship_index: float | None
    recency_days: int | None
    frequency: int | None
    monetary: float | None
    r_score: int | None
    f_score: int | None
    m_score: int | None
    rfm_segment: str | None
    value_tier: str | None
    lifecycle_stage: str | None
    p_alive: float | None
    expected_purchases_90d: float | None
    predicted_clv: float | None
    churn_risk: float | None
    components: dict[str, Any] | None = Field(description="Inputs and reasons of each score.")
    computed_at: dt.datetime

    @field_validator("components", mode="before")
    @classmethod
    def _parse(cls, value: Any) -> Any:
        from rapport.store.components import expand

        return expand(value)


class Customer360(BaseModel):
    """The customer 360 card: profile, merged timeline, latest scores and the ones before."""

    customer: CustomerPublic
    timeline: list[TimelineEntry] = Field(description="Newest first.")
    scores: ScoreSnapshot | None = Field(description="The latest snapshot; null: never scored.")
    previous_scores: ScoreSnapshot | None = Field(description="The snapshot before it.")
    loyalty: ProgrammeTier | None = Field(
        default=None, description="The loyalty programme tier; null: not a member."
    )


class CustomerDataExport(BaseModel):
    """Everything stored about one customer (a data-subject access request)."""

    exported_at: dt.datetime
    customer: dict[str, Any]
    records: dict[str, list[dict[str, Any]]] = Field(
        description="Rows of every table that refers to the customer, by table."
    )
