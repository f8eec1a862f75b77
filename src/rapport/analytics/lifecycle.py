"""Lifecycle stages (生命周期阶段) and the five lifecycle phases they belong to.

The stage of a customer as of ``as_of`` is the first of these that applies
(``[scores.lifecycle]``; ``W`` is the activity window ``[activity] window_days``):

==============  ==========================================================================
prospect        no purchase before ``as_of``
churned         no purchase in ``[as_of - W, as_of)``
at_risk         days since the last purchase above the customer's threshold:
                ``min(at_risk_days, max(at_risk_min_days, at_risk_gap_factor * mean gap))``,
                or ``at_risk_days`` for a single purchase
new             first purchase less than ``new_days`` ago
reactivated     the first purchase of the last ``reactivated_days`` came after a gap
                longer than ``W``
growing         revenue of the window's second half >= ``(1 + growth_share)`` times the
                first half's, which is above 0
active          any other buyer of the window
==============  ==========================================================================
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from rapport.analytics.metrics_base import const
from rapport.config import Rules
from rapport.domain import LifecycleStage

#: Stages in the order they are tested.
STAGE_ORDER = (
    LifecycleStage.PROSPECT,
    LifecycleStage.CHURNED,
    LifecycleStage.AT_RISK,
    LifecycleStage.NEW,
    LifecycleStage.REACTIVATED,
    LifecycleStage.GROWING,
    LifecycleStage.ACTIVE,
)


def at_risk_threshold(features: ir.Table, *, rules: Rules) -> ir.FloatingValue:
    """Days without a purchase after which a buyer is at risk (see the module's table)."""
    cfg = rules.scores.lifecycle
    gap = features.mean_gap_days
    by_gap = ibis.least(
        ibis.greatest(gap * const(cfg.at_risk_gap_factor), const(cfg.at_risk_min_days)),
        const(cfg.at_risk_days),
    )
    # explicit: engines disagree on whether GREATEST/LEAST skip nulls
    return ibis.ifelse(gap.isnull(), const(cfg.at_risk_days), by_gap)


def lifecycle_stage(features: ir.Table, *, rules: Rules) -> ir.StringValue:
    """The stage of each row of a table with the columns of
    :func:`~rapport.analytics.scoring_features.purchase_features` (left-joined onto the
    customers: a row without ``purchases_total`` is a prospect)."""
    cfg = rules.scores.lifecycle
    f = features
    window = rules.activity.window_days
    second, first = f.revenue_second_half, f.revenue_first_half
    tests = {
        LifecycleStage.PROSPECT: f.purchases_total.isnull() | (f.purchases_total == 0),
        LifecycleStage.CHURNED: f.days_since_last > window,
        LifecycleStage.AT_RISK: f.days_since_last > at_risk_threshold(f, rules=rules),
        LifecycleStage.NEW: f.days_since_first < cfg.new_days,
        LifecycleStage.REACTIVATED: f.reactivated,
        LifecycleStage.GROWING: (first > 0) & (second >= first * const(1 + cfg.growth_share)),
    }
    cases = [(tests[s].fill_null(False), ibis.literal(s.value)) for s in STAGE_ORDER[:-1]]
    return ibis.cases(*cases, else_=ibis.literal(LifecycleStage.ACTIVE.value))


def lifecycle_phase(stage: ir.StringValue, *, rules: Rules) -> ir.StringValue:
    """The lifecycle phase (acquisition … win_back) of each stage, from
    ``[scores.lifecycle.phases]``."""
    phases = rules.scores.lifecycle.phases
    return stage.cases(*((s.value, ibis.literal(p)) for s, p in phases.items()))
