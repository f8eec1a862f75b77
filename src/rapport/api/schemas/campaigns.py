"""Campaign bodies: ``CampaignCreate``, ``CampaignUpdate`` (PATCH: only the fields sent),
``CampaignPublic``, ``CampaignsPublic`` (a page); deliveries: ``DeliveriesCreate`` (a
batch recorded all or nothing), ``DeliveryPublic`` and ``DeliveriesPublic``."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, FiniteFloat, field_validator

from rapport.api.schemas.common import MAX_INT32, Page, Text, Time, check_json
from rapport.domain import CampaignChannel

Json = Annotated[dict[str, Any], AfterValidator(check_json)]
Id = Annotated[int, Field(ge=1, le=MAX_INT32)]
Budget = Annotated[Decimal, Field(ge=0, max_digits=14, decimal_places=2, allow_inf_nan=False)]
Share = Annotated[FiniteFloat, Field(ge=0, lt=1)]
MAX_DELIVERIES = 500


class CampaignFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    objective: Annotated[str, Text(64)] | None = Field(
        default=None, description="e.g. win_back, upsell"
    )
    started_at: Time | None = None
    ended_at: Time | None = Field(default=None, description="Not before started_at.")
    budget: Budget | None = None
    extra: Json | None = None


class CampaignCreate(CampaignFields):
    name: Annotated[str, Text(255, 1)]
    channel: CampaignChannel
    holdout_share: Share = Field(default=0, description="Share of the audience held out, [0, 1).")
    external_id: Annotated[str, Text(64, 1)] | None = Field(
        default=None, description="The id in the source system (unique); generated if left out."
    )


class CampaignUpdate(CampaignFields):
    """PATCH: only the fields sent change; ``null`` clears an optional field."""

    name: Annotated[str, Text(255, 1)] = None  # type: ignore[assignment]
    channel: CampaignChannel = None  # type: ignore[assignment]
    holdout_share: Share = None  # type: ignore[assignment]
    external_id: Annotated[str, Text(64, 1)] = None  # type: ignore[assignment]


class CampaignPublic(BaseModel):
    id: int
    external_id: str
    name: str
    channel: CampaignChannel
    objective: str | None
    started_at: dt.datetime | None
    ended_at: dt.datetime | None
    budget: Decimal | None
    holdout_share: float
    extra: dict[str, Any] | None
    created_at: dt.datetime
    updated_at: dt.datetime

    @field_validator("extra", mode="before")
    @classmethod
    def _documents_only(cls, value: Any) -> Any:
        return value if value is None or isinstance(value, dict) else {"value": value}


class CampaignsPublic(Page[CampaignPublic]):
    """One page of campaigns."""


class DeliveryCreate(BaseModel):
    """One customer of the campaign's audience: sent to, or held out (``holdout``)."""

    model_config = ConfigDict(extra="forbid")

    customer_id: Id
    holdout: bool = Field(default=False, description="Held out: selected but not contacted.")
    sent_at: Time | None = Field(default=None, description="Must be null for a holdout.")
    delivered_at: Time | None = None
    opened_at: Time | None = None
    clicked_at: Time | None = None
    converted_at: Time | None = None
    order_id: Id | None = Field(default=None, description="The order the delivery converted to.")
    external_id: Annotated[str, Text(64, 1)] | None = None


class DeliveriesCreate(BaseModel):
    """Deliveries recorded all or nothing: one refused customer refuses the batch."""

    model_config = ConfigDict(extra="forbid")

    deliveries: list[DeliveryCreate] = Field(min_length=1, max_length=MAX_DELIVERIES)


class DeliveryPublic(BaseModel):
    id: int
    external_id: str | None
    campaign_id: int
    customer_id: int
    holdout: bool
    sent_at: dt.datetime | None
    delivered_at: dt.datetime | None
    opened_at: dt.datetime | None
    clicked_at: dt.datetime | None
    converted_at: dt.datetime | None
    order_id: int | None


class DeliveriesPublic(Page[DeliveryPublic]):
    """One page of a campaign's deliveries to customers in your scope."""
