"""Bodies of the score routes: one customer's snapshots, group summaries of a snapshot, and
the diamond, churn-warning and CLV lists (docs/scores.md)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, Field

from rapport.api.schemas.common import Page
from rapport.api.schemas.customers import ScoreSnapshot


class ScoreHistoryEntry(BaseModel):
    """The headline scores of one snapshot of the customer."""

    as_of: dt.date
    relationship_index: float | None
    satisfaction: float | None
    loyalty: float | None
    engagement: float | None
    advocacy: float | None
    rfm_segment: str | None
    value_tier: str | None
    lifecycle_stage: str | None
    churn_risk: float | None
    predicted_clv: float | None


class CustomerScores(BaseModel):
    """A customer's latest snapshot (or the one dated ``as_of``) and their history."""

    customer_id: int
    scores: ScoreSnapshot | None = Field(description="null: not scored (on that date).")
    history: list[ScoreHistoryEntry] = Field(description="Snapshots, newest first.")


class GroupSummary(BaseModel):
    """One segment, tier or stage of a snapshot."""

    group: str | None = Field(description="The id; null: customers without one.")
    label_zh: str | None
    label_en: str | None
    customers: int
    customer_share: float = Field(description="% of the snapshot's customers in your scope.")
    revenue: float = Field(description="Sum of the RFM window's revenue (monetary).")
    revenue_share: float | None = Field(description="% of the revenue; null when it is 0.")
    avg_satisfaction: float | None
    avg_loyalty: float | None
    avg_engagement: float | None
    avg_advocacy: float | None
    avg_relationship_index: float | None


class GroupSummaries(BaseModel):
    as_of: dt.date = Field(description="The snapshot's date.")
    by: str = Field(description="rfm_segment, value_tier or lifecycle_stage.")
    data: list[GroupSummary]


class ListedCustomer(BaseModel):
    """Who a list row is about (external id and name masked for analysts)."""

    customer_id: int
    external_id: str | None
    name: str | None
    city: str | None
    marketable: bool = Field(
        description="Consent given, not opted out, not erased: may receive marketing."
    )
    value_tier: str | None
    lifecycle_stage: str | None


class Diamond(ListedCustomer):
    monetary: float | None
    frequency: int | None
    recency_days: int | None
    satisfaction: float | None
    loyalty: float | None
    engagement: float | None
    advocacy: float | None
    relationship_index: float | None
    rfm_segment: str | None
    churn_risk: float | None
    predicted_clv: float | None
    reasons: list[str] = Field(description="The diamond checks it meets, with its values.")


class ChurnWarning(ListedCustomer):
    churn_risk: float
    predicted_clv: float
    value_at_risk: float = Field(description="churn_risk × predicted_clv.")
    reasons: list[dict[str, Any]] = Field(
        description="The features that raise the risk most (feature, value, contribution)."
    )


class ClvEntry(ListedCustomer):
    predicted_clv: float
    clv_low: float | None = Field(description="Lower end of the 95 % interval.")
    clv_high: float | None = Field(description="Upper end of the 95 % interval.")
    p_alive: float | None
    expected_purchases_90d: float | None


class SnapshotList(BaseModel):
    """What a list of a snapshot says besides its page."""

    as_of: dt.date = Field(description="The snapshot's date.")
    masked: bool = Field(description="Whether names are masked for your role.")


class Diamonds(SnapshotList, Page[Diamond]):
    """Diamond customers, highest window revenue first."""


class ChurnWarnings(SnapshotList, Page[ChurnWarning]):
    """Churn warnings, highest value at risk first."""


class ClvList(SnapshotList, Page[ClvEntry]):
    """Customers by predicted CLV, highest first."""
