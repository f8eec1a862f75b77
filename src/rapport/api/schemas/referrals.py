"""Referral bodies: ``ReferralCreate``, ``ReferralPublic``, ``ReferralsPublic`` (a page).
A referral is a customer (the referrer) bringing a lead or another customer."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from rapport.api.schemas.common import MAX_INT32, Page, Text, Time

Id = Annotated[int, Field(ge=1, le=MAX_INT32)]


class ReferralCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    external_id: Annotated[str, Text(64, 1)] | None = Field(
        default=None, description="Unique when given."
    )
    referrer_customer_id: Id = Field(description="The customer who referred (in your scope).")
    referred_lead_id: Id | None = Field(default=None, description="A lead in your scope.")
    referred_customer_id: Id | None = Field(default=None, description="A customer in your scope.")
    referred_at: Time | None = Field(default=None, description="Default: now.")
    channel: Annotated[str, Text(32)] | None = None
    converted: bool = False
    converted_at: Time | None = None

    @model_validator(mode="after")
    def _has_a_referred_party(self) -> ReferralCreate:
        if self.referred_lead_id is None and self.referred_customer_id is None:
            raise ValueError("give referred_lead_id or referred_customer_id (or both)")
        if self.referred_customer_id == self.referrer_customer_id:
            raise ValueError("a customer cannot refer themselves")
        return self


class ReferralPublic(BaseModel):
    id: int
    external_id: str | None
    referrer_customer_id: int
    referred_lead_id: int | None
    referred_customer_id: int | None
    referred_at: dt.datetime
    channel: str | None
    converted: bool
    converted_at: dt.datetime | None


class ReferralsPublic(Page[ReferralPublic]):
    """One page of referrals."""
