"""Body of ``GET /loyalty/report``: the programme evaluation and its health (the fields of
:class:`rapport.reports.loyalty.LoyaltyReport`)."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, Field


class MatchingPublic(BaseModel):
    """Who was compared (docs/loyalty.md "Does the programme work?")."""

    window_months: int = Field(description="Months after joining (30.4375 days each).")
    baseline_months: int = Field(description="Months before joining matched on.")
    joined_from: dt.datetime | None = Field(description="Members who joined from, UTC.")
    joined_until: dt.datetime | None = Field(description="… until (exclusive), UTC.")
    members: int = Field(description="Members with a complete window.")
    members_matched: int = Field(description="Of them, in a stratum with a non-member.")
    non_member_observations: int = Field(description="Non-members (per month) in those strata.")
    strata: int = Field(description="Strata with members and non-members.")
    spend_edges: list[float] = Field(description="Quantile edges of the baseline spend bins.")


class OutcomePublic(BaseModel):
    """Members against matched non-members on one outcome, with a 95 % interval."""

    id: str = Field(
        description="retention, purchases_per_customer, average_order_value, value_in_window."
    )
    label_zh: str
    label_en: str
    unit: str = Field(description="percent (0-100), count or currency.")
    members: float | None
    non_members: float | None = Field(description="Matched non-members, weighted.")
    difference: float | None = Field(description="members - non_members.")
    low: float | None = Field(description="95 % interval of the difference (stratified Welch).")
    high: float | None
    relative: float | None = Field(description="difference / non_members * 100.")
    members_n: int
    non_members_n: int


class PointsPublic(BaseModel):
    """The ledger's flows over a span."""

    earned: int = Field(description="Points earned, less clawbacks.")
    redeemed: int
    expired: int
    adjusted: int = Field(description="Net adjustments.")
    redemption_rate: float | None = Field(description="redeemed / earned * 100.")
    breakage_rate: float | None = Field(description="expired / earned * 100.")
    vouchers_issued: int
    vouchers_used: int


class HealthPublic(BaseModel):
    """The programme as of the report."""

    members: int
    active_customers: int
    active_members: int
    participation: float | None = Field(description="active_members / active_customers * 100.")
    balance: int = Field(description="Points outstanding.")
    point_value: float = Field(description="[costs] point_value.")
    liability: float = Field(description="balance * point_value.")
    window: PointsPublic = Field(description="Over [window_start, as_of).")
    to_date: PointsPublic = Field(description="The whole ledger before as_of.")


class TierMonthPublic(BaseModel):
    """Members per programme tier at a month's end, and who moved in the month."""

    month: str = Field(description="Local month, YYYY-MM.")
    end: dt.datetime
    tiers: dict[str, int]
    upgrades: int
    downgrades: int
    joined: int


class LoyaltyReportPublic(BaseModel):
    """Does the loyalty programme work? (``rapport loyalty report``)."""

    as_of: dt.datetime
    window_start: dt.datetime
    engine: str
    matching: MatchingPublic
    outcomes: list[OutcomePublic]
    health: HealthPublic
    tier_codes: list[str]
    tiers: list[TierMonthPublic]
