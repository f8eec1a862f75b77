"""Lead bodies: ``LeadCreate``, ``LeadUpdate`` (PATCH: only the fields sent),
``LeadPublic`` (masked for analysts), ``LeadsPublic`` (a page), and the conversion
(``LeadConvert`` → ``LeadConversion``)."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from rapport.api.schemas.common import MAX_INT32, Page, Text, check_json
from rapport.domain import LeadStatus

Json = Annotated[dict[str, Any], AfterValidator(check_json)]
UserId = Annotated[int, Field(ge=1, le=MAX_INT32)]


class OpenLeadStatus(StrEnum):
    """The statuses a client sets; ``converted`` comes only from POST /leads/{id}/convert."""

    NEW = LeadStatus.NEW.value
    QUALIFIED = LeadStatus.QUALIFIED.value
    LOST = LeadStatus.LOST.value


class LeadFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Text(128)] | None = None
    email: Annotated[str, Text(254)] | None = Field(
        default=None, description="Lowercased; must be an address."
    )
    phone: Annotated[str, Text(64)] | None = Field(default=None, description="Stored as E.164.")
    company: Annotated[str, Text(128)] | None = None
    source: Annotated[str, Text(32)] | None = Field(
        default=None, description="Where the lead came from."
    )
    owner_id: UserId | None = Field(default=None, description="Sales: always yourself.")
    extra: Json | None = None


class LeadCreate(LeadFields):
    external_id: Annotated[str, Text(64, 1)] = Field(
        description="The id in the source system (unique)."
    )
    status: OpenLeadStatus = OpenLeadStatus.NEW


class LeadUpdate(LeadFields):
    """PATCH: only the fields sent change; ``null`` clears an optional field."""

    external_id: Annotated[str, Text(64, 1)] = None  # type: ignore[assignment]
    status: OpenLeadStatus = None  # type: ignore[assignment]


class LeadPublic(BaseModel):
    id: int
    external_id: str
    name: str | None
    email: str | None
    phone: str | None
    company: str | None
    source: str | None
    status: LeadStatus
    owner_id: int | None
    converted_customer_id: int | None
    converted_at: dt.datetime | None
    extra: dict[str, Any] | None
    created_at: dt.datetime
    updated_at: dt.datetime
    masked: bool = Field(description="Whether personal fields are masked for your role.")

    @field_validator("extra", mode="before")
    @classmethod
    def _documents_only(cls, value: Any) -> Any:
        return value if value is None or isinstance(value, dict) else {"value": value}


class LeadsPublic(Page[LeadPublic]):
    """One page of leads."""


class LeadConvert(BaseModel):
    """Convert into an existing customer (``customer_id``, in your scope) or, without it,
    into a new customer made from the lead's name, e-mail, phone and source."""

    model_config = ConfigDict(extra="forbid")

    customer_id: int | None = Field(default=None, ge=1, le=MAX_INT32)
    external_id: Annotated[str, Text(64, 1)] | None = Field(
        default=None, description="The new customer's external id; default lead-<lead's>."
    )


class LeadConversion(BaseModel):
    lead: LeadPublic
    customer_id: int
    created_customer: bool = Field(description="Whether the conversion created the customer.")
