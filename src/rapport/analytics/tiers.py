"""Value tiers (价值分层): diamond 钻石, gold 黄金, silver 白银, bronze 青铜 — and why.

A buyer gets the first tier of ``[scores.tiers] rules`` (from the top) whose every check
holds, and bronze otherwise; a customer who never bought has no tier. The checks:

============  ==============================================================================
revenue       window revenue's percent rank among the window's buyers >= 1 - revenue_top_share
loyalty       loyalty >= min_loyalty
satisfaction  satisfaction >= min_satisfaction, or satisfaction unknown
engagement    engagement >= min_engagement, or engagement unknown
churn_risk    churn_risk <= max_churn_risk, or churn risk unknown (no prediction)
stage         the lifecycle stage is not one of excluded_stages
============  ==============================================================================

With the tier come ``tier_next`` (the tier above; null for the top) and ``tier_missing``:
the checks of ``tier_next`` the customer fails, comma-separated in the order above.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from rapport.analytics.metrics_base import const
from rapport.config import TierRule, TierScoreRules
from rapport.domain import ValueTier

CHECKS = ("revenue", "loyalty", "satisfaction", "engagement", "churn_risk", "stage")


def revenue_percent_rank(monetary: ir.FloatingValue) -> ir.FloatingValue:
    """``rank / (n - 1)`` of ``monetary`` in cents over its whole table — the percent rank:
    0 for the lowest, 1 for the highest (and for a single buyer). Use it on a table without
    nulls (the RFM values of the window's buyers): engines order nulls differently."""
    rank = ibis.rank().over(order_by=monetary.round(2)).cast("float64")
    n = monetary.count().over()
    return ibis.ifelse(n > 1, rank / (n - 1).cast("float64"), const(1))


def checks(
    rule: TierRule,
    *,
    revenue_rank: ir.FloatingValue,
    loyalty: ir.FloatingValue,
    satisfaction: ir.FloatingValue,
    engagement: ir.FloatingValue,
    churn_risk: ir.FloatingValue,
    stage: ir.StringValue,
) -> dict[str, ir.BooleanValue]:
    """Each check of ``rule`` as a non-null boolean (a check without a threshold holds)."""
    out: dict[str, ir.BooleanValue] = {}
    out["revenue"] = (
        (revenue_rank >= const(1 - rule.revenue_top_share)).fill_null(False)
        if rule.revenue_top_share < 1
        else ibis.literal(True)
    )
    out["loyalty"] = (
        (loyalty >= const(rule.min_loyalty)).fill_null(False)
        if rule.min_loyalty > 0
        else ibis.literal(True)
    )
    out["satisfaction"] = satisfaction.isnull() | (satisfaction >= const(rule.min_satisfaction))
    out["engagement"] = engagement.isnull() | (engagement >= const(rule.min_engagement))
    out["churn_risk"] = (
        churn_risk.isnull() | (churn_risk <= const(rule.max_churn_risk))
        if rule.max_churn_risk < 1
        else ibis.literal(True)
    )
    excluded = [s.value for s in rule.excluded_stages]
    out["stage"] = ~stage.isin(excluded).fill_null(False) if excluded else ibis.literal(True)
    return out


def value_tier(
    *,
    buyer: ir.BooleanValue,
    rules: TierScoreRules,
    revenue_rank: ir.FloatingValue,
    loyalty: ir.FloatingValue,
    satisfaction: ir.FloatingValue,
    engagement: ir.FloatingValue,
    stage: ir.StringValue,
    churn_risk: ir.FloatingValue | None = None,
) -> dict[str, ir.Value]:
    """``value_tier``, ``tier_next`` and ``tier_missing`` expressions (see the module)."""
    inputs = {
        "revenue_rank": revenue_rank,
        "loyalty": loyalty,
        "satisfaction": satisfaction,
        "engagement": engagement,
        "churn_risk": churn_risk if churn_risk is not None else ibis.null("float64"),
        "stage": stage,
    }
    passed = [checks(rule, **inputs) for rule in rules.rules]
    all_pass = [ibis.and_(*c.values()) for c in passed]
    none = ibis.null("string")
    tier = ibis.cases(
        *(
            (buyer & ok, ibis.literal(rule.tier.value))
            for rule, ok in zip(rules.rules, all_pass, strict=True)
        ),
        (buyer, ibis.literal(ValueTier.BRONZE.value)),
        else_=none,
    )
    tiers = [rule.tier.value for rule in rules.rules] + [ValueTier.BRONZE.value]
    above = {tiers[i + 1]: tiers[i] for i in range(len(tiers) - 1)}
    failing = {
        rule.tier.value: ibis.literal(",").join(
            [ibis.ifelse(c[name], none, ibis.literal(name)) for name in CHECKS]
        )
        for rule, c in zip(rules.rules, passed, strict=True)
    }
    next_tier = tier.cases(*((t, ibis.literal(a)) for t, a in above.items()), else_=none)
    missing = tier.cases(*((t, failing[a]) for t, a in above.items()), else_=none)
    return {"value_tier": tier, "tier_next": next_tier, "tier_missing": missing}
