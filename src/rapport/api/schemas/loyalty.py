"""Loyalty bodies: the balance card (``LoyaltyPublic``: balance, programme tier, a ledger
page) and the ``EarnRequest`` / ``RedeemRequest`` bodies (points are positive whole
numbers)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from rapport.api.schemas.common import Page, Text, Time
from rapport.domain import LoyaltyReason, TicketPriority, ValueTier

#: The most points one request may earn or redeem.
MAX_POINTS = 10_000_000


class EarnReason(StrEnum):
    """Why points are earned (redeem, expire and adjust are not earnings)."""

    PURCHASE = LoyaltyReason.PURCHASE.value
    BONUS = LoyaltyReason.BONUS.value
    REFERRAL = LoyaltyReason.REFERRAL.value
    BIRTHDAY = LoyaltyReason.BIRTHDAY.value
    REVIEW = LoyaltyReason.REVIEW.value


class _PointsRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    points: int = Field(ge=1, le=MAX_POINTS, description="A positive number of points.")
    reference: Annotated[str, Text(128)] | None = Field(
        default=None, description="What it is for, e.g. order:SO123, gift:杯子."
    )
    occurred_at: Time | None = Field(default=None, description="Default: now.")
    external_id: Annotated[str, Text(64, 1)] | None = Field(
        default=None,
        description="The source system's id of the entry (unique): a retry with the same id "
        "is refused with 409 instead of counted twice.",
    )


class EarnRequest(_PointsRequest):
    reason: EarnReason = EarnReason.BONUS


class RedeemRequest(_PointsRequest):
    """Spend points; refused with 409 when the balance is smaller."""


class LedgerEntry(BaseModel):
    id: int
    external_id: str | None
    customer_id: int
    points: int = Field(description="Positive: earned; negative: spent.")
    reason: LoyaltyReason
    reference: str | None = Field(description="What it is for (masked for analysts).")
    occurred_at: dt.datetime
    created_by: int | None = Field(description="The user who wrote the entry.")


class LedgerPage(Page[LedgerEntry]):
    """One page of a customer's loyalty ledger."""


class TierPublic(BaseModel):
    """A programme tier and its thresholds over the rolling window (``[loyalty]
    tier_basis`` says which one counts)."""

    code: str
    name_zh: str
    name_en: str
    min_points: int
    min_spend: Decimal


class TierBenefits(BaseModel):
    """What a programme tier gives: its earn multiplier (``[loyalty.multipliers] tier``),
    the priority of its members' tickets and its gifts (reward codes or text)."""

    earn_multiplier: float
    sla_priority: TicketPriority
    gifts: list[str]


class ProgrammeTier(BaseModel):
    """A member's programme tier (docs/loyalty.md "Tiers"): upgraded at once, downgraded only
    after a review date and the grace period."""

    tier: TierPublic
    since: dt.date = Field(description="The local date the member entered the tier.")
    review_on: dt.date = Field(description="The next review date (a downgrade only then).")
    grace_until: dt.date | None = Field(
        description="Set while the member is below the tier after a review: kept until then."
    )
    evaluated: bool = Field(
        description="false: never evaluated yet; the tier the next evaluation would give."
    )
    basis: Literal["spend", "points"]
    window_months: int
    basis_value: Decimal = Field(description="Spend or points earned over the window now.")
    next_tier: TierPublic | None = Field(description="null: already in the highest tier.")
    to_next_tier: Decimal | None = Field(description="What the basis misses for the next tier.")
    value_tier: ValueTier | None = Field(description="The latest score snapshot's value tier.")
    floor_tier: str | None = Field(
        description="The lowest tier the value tier gives ([loyalty.value_tier_map])."
    )
    benefits: TierBenefits


class ExpiringPoints(BaseModel):
    """Points that expire at one moment unless spent first (spends take the oldest)."""

    expires_at: Time
    points: int


class LoyaltyPublic(BaseModel):
    """A customer's points: balance, programme tier, the next tier, what expires when, and a
    page of the ledger in id order."""

    customer_id: int
    balance: int
    tier: TierPublic | None = Field(description="The programme tier; null: not a member.")
    next_tier: TierPublic | None = Field(description="null: the highest tier, or no member.")
    points_to_next_tier: int | None = Field(
        description="Points earned the next tier still needs (tier_basis = points; else null)."
    )
    programme: ProgrammeTier | None = Field(description="The tier in full; null: not a member.")
    expiring: list[ExpiringPoints] = Field(
        description="The points left of each lot earned, by expiry (soonest first): a lot "
        "expires [loyalty] points_expire_days after it was earned; spends take the oldest."
    )
    ledger: LedgerPage


class LoyaltyEntryResult(BaseModel):
    """The entry written and the balance after it."""

    entry: LedgerEntry
    balance: int
    tier: TierPublic | None = Field(description="The programme tier; null: not a member.")
