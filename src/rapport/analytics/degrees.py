"""The four degrees (CRM四度) and the relationship index, per customer as of ``as_of``.

Each function returns one row per customer who has data for the degree, with the score
(0–100) and the inputs it used; a customer without a row has no data (null score). Rules
come from ``[scores.*]`` in ``defaults.toml`` (see docs/scores.md for the rationale).

satisfaction 满意度
    Recency-weighted mean of normalized ratings: survey answers (weight per kind), ticket
    ratings (1–5) and complaints (each an observation of ``complaint_score``); an
    observation ``a`` days old weighs ``kind_weight * 0.5 ** (a / half_life_days)``.
loyalty 忠诚度
    Weighted mean of repeat purchasing, recency, tenure and programme membership.
engagement 参与度
    ``100 * x / (x + half_saturation)`` with ``x`` the weighted count of events and
    interactions in the recent window.
advocacy 推荐度
    Weighted mean of the latest NPS answer, converted referrals and social shares.
relationship_index 客户关系指数
    Weighted mean of the four, nulls skipped.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import ibis
import ibis.expr.types as ir

from rapport.analytics.metrics_base import (
    FLOAT,
    before,
    const,
    exact_sum,
    normalized,
    ts,
    union,
    within,
)
from rapport.analytics.metrics_surveys import latest_per_customer
from rapport.analytics.scoring_features import (
    age_days,
    decay,
    purchase_features,
    saturate,
    scored_customers,
    weight_of,
    weighted_mean,
)
from rapport.analytics.sources import Sources
from rapport.config import Rules
from rapport.domain import Direction, EventKind, SurveyKind, TicketKind

#: Scale of ``tickets.satisfaction_rating`` (a CHECK constraint of the store).
TICKET_RATING_MIN, TICKET_RATING_MAX = 1, 5
DEGREES = ("satisfaction", "loyalty", "engagement", "advocacy")
#: Satisfaction sums its observations' weights and weighted scores to this many decimals
#: (:func:`~rapport.analytics.metrics_base.exact_sum`: the same figures every run).
SATISFACTION_DECIMALS = 14
#: Engagement sums its configured weights to this many decimals (weights with more are
#: counted rounded to it).
ENGAGEMENT_DECIMALS = 6


def _observations(
    table: ir.Table,
    *,
    customer_id: ir.Value,
    score: ir.Value,
    weight: ir.Value,
    source: str,
) -> ir.Table:
    """One rating observation per row: ``customer_id, score (0–100), weight, source``."""
    return table.select(
        customer_id=customer_id.cast("int64"),
        score=score.cast(FLOAT).clip(lower=0, upper=100),
        weight=weight.cast(FLOAT),
        source=ibis.literal(source),
    )


def satisfaction(src: Sources, as_of: datetime, *, rules: Rules) -> ir.Table:
    """满意度 — recency-weighted mean of normalized survey answers, ticket ratings and
    complaints.

    ``satisfaction = sum(w_i * s_i) / sum(w_i)``, ``s_i`` in 0–100 (survey answers
    normalized by their scale, ticket ratings 1–5 as 0–100, a complaint as
    ``complaint_score``) and ``w_i = kind_weight * 0.5 ** (age_days / half_life_days)``.

    Returns
    -------
    ibis.Table
        ``customer_id, satisfaction, sat_answers, sat_ticket_ratings, sat_complaints,
        sat_weight`` (the weights summed: how much evidence there is).
    """
    cfg = rules.scores.satisfaction
    hl = cfg.half_life_days
    parts = []
    kinds = {k.value: w for k, w in cfg.survey_weights.items() if w > 0}
    s = src.survey_responses
    if kinds:
        s = s.filter(
            s.customer_id.notnull() & before(s.responded_at, as_of) & s.kind.isin(list(kinds))
        )
        parts.append(
            _observations(
                s,
                customer_id=s.customer_id,
                score=normalized(s.score, s.scale_min, s.scale_max),
                weight=weight_of(s.kind, kinds) * decay(age_days(s.responded_at, as_of), hl),
                source="answer",
            )
        )
    t = src.tickets
    if cfg.ticket_rating_weight > 0:
        linked = src.survey_responses
        linked = linked.filter(linked.ticket_id.notnull()).select(_ticket=linked.ticket_id)
        rated = t.filter(t.customer_id.notnull() & t.satisfaction_rating.notnull())
        rated = rated.anti_join(linked, rated.id == linked._ticket)
        rated = rated.mutate(_at=ibis.coalesce(rated.resolved_at, rated.closed_at, rated.opened_at))
        rated = rated.filter(before(rated._at, as_of))
        span = TICKET_RATING_MAX - TICKET_RATING_MIN
        parts.append(
            _observations(
                rated,
                customer_id=rated.customer_id,
                score=(rated.satisfaction_rating.cast(FLOAT) - TICKET_RATING_MIN) * 100 / span,
                weight=const(cfg.ticket_rating_weight) * decay(age_days(rated._at, as_of), hl),
                source="rating",
            )
        )
    if cfg.complaint_weight > 0:
        c = t.filter(
            t.customer_id.notnull()
            & (t.kind == TicketKind.COMPLAINT.value)
            & before(t.opened_at, as_of)
        )
        parts.append(
            _observations(
                c,
                customer_id=c.customer_id,
                score=const(cfg.complaint_score),
                weight=const(cfg.complaint_weight) * decay(age_days(c.opened_at, as_of), hl),
                source="complaint",
            )
        )
    o = union(*parts)
    o = o.filter(o.score.notnull() & (o.weight > 0))
    agg = o.group_by("customer_id").aggregate(
        _num=exact_sum(o.score * o.weight, decimals=SATISFACTION_DECIMALS),
        sat_weight=exact_sum(o.weight, decimals=SATISFACTION_DECIMALS),
        sat_answers=o.count(where=o.source == "answer"),
        sat_ticket_ratings=o.count(where=o.source == "rating"),
        sat_complaints=o.count(where=o.source == "complaint"),
    )
    return agg.select(
        "customer_id",
        satisfaction=(agg._num / agg.sat_weight.nullif(const(0))).clip(lower=0, upper=100),
        sat_answers=agg.sat_answers.cast("int64"),
        sat_ticket_ratings=agg.sat_ticket_ratings.cast("int64"),
        sat_complaints=agg.sat_complaints.cast("int64"),
        sat_weight=agg.sat_weight,
    )


def loyalty_from(features: ir.Table, customers: ir.Table, *, rules: Rules) -> ir.Table:
    """忠诚度 from :func:`~rapport.analytics.scoring_features.purchase_features` and
    :func:`~rapport.analytics.scoring_features.scored_customers` (for membership).

    ``loyalty = (w_r * repeat + w_c * recency + w_t * tenure + w_m * membership) / sum(w)``
    with ``repeat = 100 * (n - 1) / (n - 1 + repeat_half)`` (n = purchases in the activity
    window), ``recency = 100 * 0.5 ** (days since the last purchase / half-life)``,
    ``tenure = 100 * min(1, days since the first purchase / tenure_full_days)``,
    ``membership = 100`` for a programme member.

    Returns
    -------
    ibis.Table
        ``customer_id, loyalty, loy_repeat, loy_recency, loy_tenure, loy_membership`` for
        every buyer.
    """
    cfg = rules.scores.loyalty
    f = features
    members = customers.select(_member_id=customers.customer_id, _member=customers.member)
    f = f.left_join(members, f.customer_id == members._member_id)
    repeats = ibis.greatest(f.purchases_window - 1, 0)
    repeat = saturate(repeats, cfg.repeat_half)
    recency = decay(f.days_since_last, cfg.recency_half_life_days) * 100
    tenure = ibis.least(f.days_since_first / const(cfg.tenure_full_days), const(1)) * 100
    membership = ibis.ifelse(f._member.fill_null(False), const(100), const(0))
    w = cfg.weights
    score = weighted_mean(
        [(w.repeat, repeat), (w.recency, recency), (w.tenure, tenure), (w.membership, membership)]
    )
    return f.select(
        "customer_id",
        loyalty=score.clip(lower=0, upper=100),
        loy_repeat=repeat,
        loy_recency=recency,
        loy_tenure=tenure,
        loy_membership=membership,
    )


def loyalty(src: Sources, as_of: datetime, *, rules: Rules) -> ir.Table:
    """忠诚度 per buyer; see :func:`loyalty_from`."""
    return loyalty_from(
        purchase_features(src, as_of, rules=rules), scored_customers(src, as_of), rules=rules
    )


def engagement(src: Sources, as_of: datetime, *, rules: Rules) -> ir.Table:
    """参与度 — weighted behaviour in the recent window, saturating.

    ``engagement = 100 * x / (x + half_saturation)``, ``x`` = the sum over events and
    interactions in ``[as_of - recent_window_days, as_of)`` of their weight (events by
    kind, interactions by channel, outbound ones times ``outbound_factor``).

    Returns
    -------
    ibis.Table
        ``customer_id, engagement, eng_events, eng_interactions, eng_weighted`` for every
        customer with at least one event or interaction before ``as_of`` (0 when none of
        them is recent).
    """
    return engagement_from(engagement_sums(src, [as_of], rules=rules), 0, as_of, rules=rules)


def engagement_sums(src: Sources, moments: Sequence[datetime], *, rules: Rules) -> ir.Table:
    """What :func:`engagement` adds up, as of each of ``moments``, in one pass over the
    events and interactions (the churn features read the degrees at two dates for every
    customer, the cut-off's and the scoring date's).

    Returns
    -------
    ibis.Table
        ``customer_id``, ``_first`` (the customer's first event or interaction) and, for
        the ``k``-th moment, ``_weighted_k``, ``_events_k`` and ``_interactions_k`` (its
        recent window's weight, events and interactions); one row for every customer with
        an event or an interaction before the latest moment. :func:`engagement_from`
        reads one moment's degree from it.
    """
    cfg = rules.scores.engagement
    last = max(moments)
    e = src.events
    e = e.filter(e.customer_id.notnull() & before(e.occurred_at, last))
    events = e.select(
        customer_id=e.customer_id.cast("int64"),
        at=e.occurred_at,
        weight=weight_of(e.kind, {k.value: w for k, w in cfg.event_weights.items()}),
        source=ibis.literal("event"),
    )
    i = src.interactions
    i = i.filter(i.customer_id.notnull() & before(i.occurred_at, last))
    channel = weight_of(i.channel, {k.value: w for k, w in cfg.interaction_weights.items()})
    outbound = (i.direction == Direction.OUTBOUND.value).fill_null(False)
    interactions = i.select(
        customer_id=i.customer_id.cast("int64"),
        at=i.occurred_at,
        weight=ibis.ifelse(outbound, channel * const(cfg.outbound_factor), channel),
        source=ibis.literal("interaction"),
    )
    u = union(events, interactions)
    sums: dict[str, ir.Value] = {"_first": u.at.min()}
    for k, moment in enumerate(moments):
        recent = within(u.at, moment - timedelta(days=cfg.recent_window_days), moment)
        sums[f"_weighted_{k}"] = exact_sum(u.weight, decimals=ENGAGEMENT_DECIMALS, where=recent)
        sums[f"_events_{k}"] = u.count(where=recent & (u.source == "event"))
        sums[f"_interactions_{k}"] = u.count(where=recent & (u.source == "interaction"))
    return u.group_by("customer_id").aggregate(**sums)


def engagement_from(sums: ir.Table, k: int, as_of: datetime, *, rules: Rules) -> ir.Table:
    """:func:`engagement` as of ``as_of``, the ``k``-th moment of ``sums``
    (:func:`engagement_sums`): its customers with an event or an interaction before it."""
    t = sums.filter(before(sums._first, as_of))
    x = t[f"_weighted_{k}"].cast(FLOAT).fill_null(const(0))
    return t.select(
        "customer_id",
        engagement=saturate(x, rules.scores.engagement.half_saturation),
        eng_events=t[f"_events_{k}"].cast("int64"),
        eng_interactions=t[f"_interactions_{k}"].cast("int64"),
        eng_weighted=x,
    )


def advocacy(src: Sources, as_of: datetime, *, rules: Rules) -> ir.Table:
    """推荐度 — latest NPS answer, converted referrals, social shares.

    ``advocacy = (w_n * nps + w_r * referrals + w_s * shares) / (w_n [if answered] + w_r +
    w_s)`` with ``nps`` the latest answer before ``as_of`` normalized to 0–100,
    ``referrals = 100 * r / (r + referrals_half)`` (referrals converted before ``as_of``)
    and ``shares = 100 * s / (s + shares_half)`` (social_share events in the last
    ``shares_window_days``).

    Returns
    -------
    ibis.Table
        ``customer_id, advocacy, adv_nps, adv_referrals, adv_shares`` (the last two are
        counts) for every customer with an answer, a converted referral or a share.
    """
    cfg = rules.scores.advocacy
    s = src.survey_responses
    s = s.filter(
        s.customer_id.notnull() & (s.kind == SurveyKind.NPS.value) & before(s.responded_at, as_of)
    )
    s = s.mutate(normalized=normalized(s.score, s.scale_min, s.scale_max))
    latest = latest_per_customer(s)
    answers = latest.select(
        customer_id=latest.customer_id.cast("int64"),
        nps=latest.normalized.cast(FLOAT),
        referrals=ibis.literal(0, type="int64"),
        shares=ibis.literal(0, type="int64"),
    )
    r = src.referrals
    done = before(r.converted_at, as_of) | (
        r.converted.fill_null(False) & r.converted_at.isnull() & before(r.referred_at, as_of)
    )
    r = r.filter(r.referrer_customer_id.notnull() & done)
    referred = r.group_by(customer_id=r.referrer_customer_id.cast("int64")).aggregate(
        nps=ibis.null(FLOAT), referrals=r.count().cast("int64"), shares=ibis.literal(0, "int64")
    )
    e = src.events
    start = as_of - timedelta(days=cfg.shares_window_days)
    e = e.filter(
        e.customer_id.notnull()
        & (e.kind == EventKind.SOCIAL_SHARE.value)
        & (e.occurred_at >= ts(start))
        & (e.occurred_at < ts(as_of))
    )
    shared = e.group_by(customer_id=e.customer_id.cast("int64")).aggregate(
        nps=ibis.null(FLOAT), referrals=ibis.literal(0, "int64"), shares=e.count().cast("int64")
    )
    u = union(answers, referred.select(*answers.columns), shared.select(*answers.columns))
    agg = u.group_by("customer_id").aggregate(
        adv_nps=u.nps.max(), adv_referrals=u.referrals.sum(), adv_shares=u.shares.sum()
    )
    w = cfg.weights
    score = weighted_mean(
        [
            (w.nps, agg.adv_nps),
            (w.referrals, saturate(agg.adv_referrals, cfg.referrals_half)),
            (w.shares, saturate(agg.adv_shares, cfg.shares_half)),
        ]
    )
    return agg.select(
        "customer_id",
        advocacy=score.clip(lower=0, upper=100),
        adv_nps=agg.adv_nps.cast(FLOAT),
        adv_referrals=agg.adv_referrals.cast("int64"),
        adv_shares=agg.adv_shares.cast("int64"),
    )


def relationship_index(degrees: ir.Table, *, rules: Rules) -> ir.FloatingValue:
    """客户关系指数 — the weighted mean of the degree columns of ``degrees`` that are not
    null (``[scores.relationship_index.weights]``); null when all four are."""
    w = rules.scores.relationship_index.weights
    return weighted_mean([(getattr(w, d), degrees[d]) for d in DEGREES]).clip(lower=0, upper=100)
