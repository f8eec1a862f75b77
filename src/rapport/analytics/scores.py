"""Every per-customer score of docs/metrics.md as of ``as_of``, in one Ibis expression.

:func:`customer_scores` joins the four degrees, the relationship index, RFM values, scores
and segment, the value tier with its reason and the lifecycle stage onto the customers a
snapshot covers (:func:`~rapport.analytics.scoring_features.scored_customers`). Its
columns are those of the ``customer_scores`` table that the scores fill, followed by the
inputs each score used (:data:`COMPONENTS`), which the scoring pipeline stores as the
row's ``components`` document.
"""

from __future__ import annotations

from datetime import datetime

import ibis
import ibis.expr.types as ir

from rapport.analytics import degrees
from rapport.analytics.lifecycle import at_risk_threshold, lifecycle_phase, lifecycle_stage
from rapport.analytics.rfm import rfm_values
from rapport.analytics.scoring_features import purchase_features, scored_customers
from rapport.analytics.segments import rfm_scores, rfm_segment
from rapport.analytics.sources import Sources
from rapport.analytics.tiers import revenue_percent_rank, value_tier
from rapport.config import Rules

#: Columns of ``customer_scores`` computed here, in the table's order.
SCORE_COLUMNS = (
    "customer_id",
    "satisfaction",
    "loyalty",
    "engagement",
    "advocacy",
    "relationship_index",
    "recency_days",
    "frequency",
    "monetary",
    "r_score",
    "f_score",
    "m_score",
    "rfm_segment",
    "value_tier",
    "lifecycle_stage",
)

#: The inputs behind each score, grouped as in the ``components`` document.
COMPONENTS: dict[str, tuple[str, ...]] = {
    "satisfaction": ("sat_answers", "sat_ticket_ratings", "sat_complaints", "sat_weight"),
    "loyalty": ("loy_repeat", "loy_recency", "loy_tenure", "loy_membership"),
    "engagement": ("eng_events", "eng_interactions", "eng_weighted"),
    "advocacy": ("adv_nps", "adv_referrals", "adv_shares"),
    "rfm": ("revenue_rank",),
    "value_tier": ("tier_next", "tier_missing"),
    "lifecycle": (
        "lifecycle_phase",
        "purchases_total",
        "purchases_window",
        "days_since_first",
        "days_since_last",
        "mean_gap_days",
        "at_risk_after_days",
        "revenue_first_half",
        "revenue_second_half",
    ),
}


def _attach(base: ir.Table, other: ir.Table) -> ir.Table:
    """Left-join ``other`` (keyed by ``customer_id``) onto ``base``."""
    other = other.rename(_key="customer_id")
    return base.left_join(other, base.customer_id == other._key).drop("_key")


def customer_scores(
    src: Sources,
    as_of: datetime,
    *,
    rules: Rules,
    predictions: ir.Table | None = None,
    degrees_table: ir.Table | None = None,
) -> ir.Table:
    """One row per customer of the snapshot as of ``as_of`` with every score and its
    inputs (see the module; the definitions are in the modules of each score and in
    docs/scores.md).

    Parameters
    ----------
    src
        The canonical tables (any engine).
    as_of
        The moment scored, naive UTC: only what happened before it counts.
    rules
        Business rules (``[activity]`` and ``[scores]``).
    predictions
        ``customer_id, churn_risk`` from the models (:mod:`rapport.models.pipeline`), for
        the tiers' churn-risk check; without it the check passes (risk unknown).
    degrees_table
        The four degrees as of ``as_of`` with their inputs, when already computed
        (:func:`rapport.analytics.churn_features.degrees_at` with ``inputs``: the scoring
        pipeline's churn features have them); without it they are computed here. The
        same definitions either way, so the same figures.

    Returns
    -------
    ibis.Table
        :data:`SCORE_COLUMNS` then the inputs of :data:`COMPONENTS`.
    """
    people = scored_customers(src, as_of)
    features = purchase_features(src, as_of, rules=rules)
    rfm = rfm_values(src, as_of, window_days=rules.scores.rfm.window_days)
    rfm = rfm_scores(rfm).mutate(revenue_rank=revenue_percent_rank(rfm.monetary))

    t = people.select("customer_id", "member")
    t = _attach(t, features)
    if degrees_table is None:
        t = _attach(t, degrees.satisfaction(src, as_of, rules=rules))
        t = _attach(t, degrees.engagement(src, as_of, rules=rules))
        t = _attach(t, degrees.advocacy(src, as_of, rules=rules))
        t = _attach(t, rfm)
        t = _attach(t, degrees.loyalty_from(features, people, rules=rules))
    else:
        names = [*degrees.DEGREES, *(c for k in degrees.DEGREES for c in COMPONENTS[k])]
        t = _attach(t, degrees_table.select("customer_id", *names))
        t = _attach(t, rfm)
    if predictions is not None:
        t = _attach(t, predictions.select("customer_id", tier_churn_risk="churn_risk"))

    buyer = t.purchases_total.notnull()
    stage = lifecycle_stage(t, rules=rules)
    t = t.mutate(
        relationship_index=degrees.relationship_index(t, rules=rules),
        lifecycle_stage=stage,
        lifecycle_phase=lifecycle_phase(stage, rules=rules),
        at_risk_after_days=ibis.ifelse(
            buyer, at_risk_threshold(t, rules=rules), ibis.null("float64")
        ),
        rfm_segment=ibis.ifelse(
            t.r_score.notnull(),
            rfm_segment(t.r_score, t.f_score, t.m_score, rules=rules.scores.rfm),
            ibis.ifelse(buyer, ibis.literal(rules.scores.rfm.lapsed_segment), ibis.null("string")),
        ),
    )
    tier = value_tier(
        buyer=buyer,
        rules=rules.scores.tiers,
        revenue_rank=t.revenue_rank,
        loyalty=t.loyalty,
        satisfaction=t.satisfaction,
        engagement=t.engagement,
        stage=t.lifecycle_stage,
        churn_risk=t.tier_churn_risk if predictions is not None else None,
    )
    t = t.mutate(**tier)
    inputs = [c for group in COMPONENTS.values() for c in group]
    return t.select(*SCORE_COLUMNS, *inputs)


#: Scores whose coverage (share of customers with a value) is reported.
COVERED = ("satisfaction", "loyalty", "engagement", "advocacy", "relationship_index", "r_score")


def coverage(scores: ir.Table) -> ir.Table:
    """The population coverage of each score of :data:`COVERED` in ``scores`` (a table
    with those columns, such as :func:`customer_scores`): one row with ``customers`` and,
    per score, ``<score>`` = customers with a value / customers * 100 (null when there are
    no customers)."""
    n = scores.count()
    share = {
        name: scores[name].count().cast("float64") * 100 / n.cast("float64").nullif(0)
        for name in COVERED
    }
    return scores.aggregate(customers=n, **share)
