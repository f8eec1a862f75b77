"""Checks across the fields of one row, per entity (the schema's multi-column CHECKs).

Each rule is data: the fields it reads, a Polars expression that is true for valid rows
(nulls count as valid: required fields are checked elsewhere) and the message for the
reject report. Single-field rules (types, enums, ranges, lengths) come from the schema.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl


@dataclass(frozen=True)
class RowRule:
    fields: tuple[str, ...]
    valid: pl.Expr
    message: str

    @property
    def column(self) -> str:
        return self.fields[-1]


c = pl.col

ROW_RULES: dict[str, tuple[RowRule, ...]] = {
    "leads": (
        RowRule(
            ("status", "converted_at"),
            (c("status") == "converted") == c("converted_at").is_not_null(),
            "a converted lead needs converted_at, and only a converted lead has one",
        ),
    ),
    "tickets": tuple(
        RowRule(("opened_at", f), c(f) >= c("opened_at"), f"{f} is before opened_at")
        for f in ("first_response_at", "resolved_at", "closed_at")
    ),
    "survey_responses": (
        RowRule(
            ("scale_min", "scale_max"),
            c("scale_max") > c("scale_min"),
            "scale_max must be greater than scale_min",
        ),
        RowRule(
            ("scale_min", "scale_max", "score"),
            (c("score") >= c("scale_min")) & (c("score") <= c("scale_max")),
            "score is outside the scale",
        ),
    ),
    "referrals": (
        RowRule(
            ("referred_lead_external_id", "referred_customer_external_id"),
            c("referred_lead_external_id").is_not_null()
            | c("referred_customer_external_id").is_not_null(),
            "a referral needs referred_lead_external_id or referred_customer_external_id",
        ),
        RowRule(
            ("referrer_external_id", "referred_customer_external_id"),
            c("referred_customer_external_id") != c("referrer_external_id"),
            "a customer cannot refer themselves",
        ),
    ),
    "campaign_deliveries": (
        RowRule(
            ("holdout", "sent_at"),
            ~(c("holdout") & c("sent_at").is_not_null()),
            "a holdout delivery is never sent: leave sent_at empty",
        ),
    ),
    "campaigns": (
        RowRule(
            ("started_at", "ended_at"),
            c("ended_at") >= c("started_at"),
            "ended_at is before started_at",
        ),
        RowRule(("holdout_share",), c("holdout_share") < 1, "holdout_share must be below 1"),
    ),
}
