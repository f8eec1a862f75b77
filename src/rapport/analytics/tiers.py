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


def active(check: str, rule: TierRule) -> bool:
    """Whether ``check`` constrains ``rule``: a check without a threshold (a top share of 1,
    a minimum of 0, a maximum churn risk of 1, no excluded stage) holds for everyone, so
    it is neither computed nor named among a tier's reasons."""
    if check == "revenue":
        return rule.revenue_top_share < 1
    if check == "stage":
        return bool(rule.excluded_stages)
    if check == "churn_risk":
        return rule.max_churn_risk < 1
    if check in ("loyalty", "satisfaction", "engagement"):
        return getattr(rule, f"min_{check}") > 0
    raise ValueError(f"no tier check {check!r}; the checks are {CHECKS}")


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
    """Each check of ``rule`` as a non-null boolean (a check that is not :func:`active`
    holds)."""
    held = {
        "revenue": lambda: (revenue_rank >= const(1 - rule.revenue_top_share)).fill_null(False),
        "loyalty": lambda: (loyalty >= const(rule.min_loyalty)).fill_null(False),
        "satisfaction": lambda: (
            satisfaction.isnull() | (satisfaction >= const(rule.min_satisfaction))
        ),
        "engagement": lambda: engagement.isnull() | (engagement >= const(rule.min_engagement)),
        "churn_risk": lambda: churn_risk.isnull() | (churn_risk <= const(rule.max_churn_risk)),
        "stage": lambda: ~stage.isin([s.value for s in rule.excluded_stages]).fill_null(False),
    }
    return {name: held[name]() if active(name, rule) else ibis.literal(True) for name in CHECKS}


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
