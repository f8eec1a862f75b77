"""Features and labels of the churn early warning (流失预警), as of a moment.

``churn_risk`` is the probability that a customer makes no purchase (a completed order,
docs/metrics.md) in the next ``horizon_days``. :func:`churn_features` describes every customer
of the population at ``moment`` with what was known before it; :func:`churn_labels` says
who then bought nothing in ``[moment, moment + horizon_days)``. Both only build Ibis
expressions (engine-blind, never executed); run them with
:func:`rapport.analytics.metrics.execute`. docs/churn.md has the definitions and their
rationale.

Population
    The buyers **active at** ``moment`` (a purchase in ``[moment - W, moment)``, ``W`` =
    ``[activity] window_days``) who are not deleted by then — the customers the RFM of
    :func:`~rapport.analytics.rfm.rfm_values` covers. Customers gone for longer than ``W``
    are left out: they have churned already, and predicting it would only inflate the
    scores.

With ``h = horizon_days``, "recent" means ``[moment - h, moment)`` and "prior" the
horizon before it, ``[moment - 2h, moment - h)``. Every feature is null only where its
column says so; the model (:mod:`rapport.models.churn`) imputes nulls and adds missing
indicators.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

import ibis
import ibis.expr.types as ir

from rapport.analytics import degrees
from rapport.analytics.degrees import DEGREES
from rapport.analytics.metrics_base import (
    FLOAT,
    MONEY_DECIMALS,
    before,
    const,
    exact_sum,
    normalized,
    purchases,
    ts,
    union,
    within,
)
from rapport.analytics.metrics_service import timed_tickets
from rapport.analytics.periods import Period
from rapport.analytics.rfm import rfm_values
from rapport.analytics.scoring_features import purchase_features, scored_customers
from rapport.analytics.sources import Sources
from rapport.config import Rules
from rapport.domain import SurveyKind, TicketKind
from rapport.errors import ValidationFailed

#: The default churn horizon, in days.
DEFAULT_HORIZON_DAYS = 90
#: Engagement decay compares the actions of the last this many days ...
ACTIONS_RECENT_DAYS = 30
#: ... with those of this many days before them.
ACTIONS_PRIOR_DAYS = 60

#: The feature columns of :func:`churn_features`, in order (after ``customer_id``).
CHURN_FEATURES: tuple[str, ...] = (
    "recency_days",
    "frequency",
    "monetary",
    "purchases_recent",
    "purchase_trend",
    "revenue_recent",
    "revenue_trend",
    *DEGREES,
    *(f"{d}_change" for d in DEGREES),
    "tickets_recent",
    "complaints_recent",
    "sla_breaches_recent",
    "nps_change",
    "actions_30d",
    "engagement_decay",
    "tenure_days",
    "mean_gap_days",
    "overdue_ratio",
)


def _check_horizon(horizon_days: int) -> None:
    if isinstance(horizon_days, bool) or not isinstance(horizon_days, int) or horizon_days <= 0:
        raise ValidationFailed(
            "the churn horizon must be a positive whole number of days, not {horizon!r}",
            field="horizon_days",
            value=horizon_days,
            hint="e.g. 90d, 13w or 12m",
            key="churn_horizon",
            params={"horizon": horizon_days},
            hint_key="duration_invalid.hint",
        )


def _attach(base: ir.Table, other: ir.Table) -> ir.Table:
    """Left-join ``other`` (keyed by ``customer_id``) onto ``base``."""
    other = other.rename(_key="customer_id")
    return base.left_join(other, base.customer_id == other._key).drop("_key")


def churn_population(src: Sources, moment: datetime, *, rules: Rules) -> ir.Table:
    """The buyers active at ``moment`` and not deleted by then, with their RFM.

    Returns
    -------
    ibis.Table
        ``customer_id, recency_days, frequency, monetary`` as
        :func:`~rapport.analytics.rfm.rfm_values` with ``window_days = W``.
    """
    rfm = rfm_values(src, moment, window_days=rules.activity.window_days)
    alive = scored_customers(src, moment).select(_alive="customer_id")
    return rfm.semi_join(alive, rfm.customer_id == alive._alive)


def _purchase_trends(src: Sources, moment: datetime, horizon: timedelta) -> ir.Table:
    """Purchases and revenue in the recent horizon and their change from the prior one."""
    recent, prior = moment - horizon, moment - 2 * horizon
    p = purchases(src)
    p = p.filter(within(p.ordered_at, prior, moment))
    is_recent = p.ordered_at >= ts(recent)
    net = p.net_amount.cast(FLOAT)
    agg = p.group_by("customer_id").aggregate(
        _n_recent=p.count(where=is_recent),
        _n_prior=p.count(where=~is_recent),
        _r_recent=exact_sum(net, decimals=MONEY_DECIMALS, where=is_recent),
        _r_prior=exact_sum(net, decimals=MONEY_DECIMALS, where=~is_recent),
    )
    r_recent = agg._r_recent.fill_null(const(0))
    r_prior = agg._r_prior.fill_null(const(0))
    return agg.select(
        customer_id=agg.customer_id.cast("int64"),
        purchases_recent=agg._n_recent.cast("int64"),
        purchase_trend=(agg._n_recent - agg._n_prior).cast("int64"),
        revenue_recent=r_recent.round(2),
        revenue_trend=(r_recent - r_prior).round(2),
    )


def degrees_at(
    src: Sources,
    moment: datetime,
    *,
    rules: Rules,
    inputs: bool = False,
    engagement: ir.Table | None = None,
) -> ir.Table:
    """The four degrees as of ``moment``, one row per customer with any of them:
    ``customer_id`` and :data:`~rapport.analytics.degrees.DEGREES` — what
    :func:`churn_features` reads at ``moment`` and one horizon earlier — and with
    ``inputs`` the inputs each degree used (``sat_*``, ``loy_*``, ``eng_*``, ``adv_*``, as
    :mod:`rapport.analytics.degrees` returns them), which the scores of ``moment`` can
    then take instead of computing the degrees again
    (:func:`rapport.analytics.scores.customer_scores`). ``engagement`` is
    :func:`~rapport.analytics.degrees.engagement` as of ``moment`` computed already (from
    :func:`~rapport.analytics.degrees.engagement_sums` of several dates)."""
    parts = {
        "satisfaction": degrees.satisfaction(src, moment, rules=rules),
        "loyalty": degrees.loyalty(src, moment, rules=rules),
        "engagement": (
            degrees.engagement(src, moment, rules=rules) if engagement is None else engagement
        ),
        "advocacy": degrees.advocacy(src, moment, rules=rules),
    }
    keys = union(*(t.select("customer_id") for t in parts.values())).distinct()
    out = keys
    for name, table in parts.items():
        out = _attach(out, table if inputs else table.select("customer_id", name))
    return out


def _degrees(
    src: Sources, moment: datetime, *, rules: Rules, given: Mapping[datetime, ir.Table] | None
) -> ir.Table:
    if given is not None and moment in given:
        return given[moment]
    return degrees_at(src, moment, rules=rules)


def _tickets(src: Sources, moment: datetime, horizon: timedelta, *, rules: Rules) -> ir.Table:
    """Tickets and complaints opened in the recent horizon and SLA breaches due in it.

    A breach is a ticket of :func:`~rapport.analytics.metrics_service.timed_tickets` due in
    ``[moment - h, moment)`` that did not meet its targets by ``moment`` (the misses of
    ``sla_attainment`` over that period).
    """
    t = timed_tickets(src, Period(moment - horizon, moment), rules=rules)
    t = t.filter(t.customer_id.notnull() & (t.opened | t.due))
    return t.group_by(customer_id=t.customer_id.cast("int64")).aggregate(
        tickets_recent=t.count(where=t.opened).cast("int64"),
        complaints_recent=t.count(where=t.opened & (t.kind == TicketKind.COMPLAINT.value)).cast(
            "int64"
        ),
        sla_breaches_recent=t.count(where=t.due & ~t.met).cast("int64"),
    )


def _latest_nps(r: ir.Table) -> ir.Table:
    """Each customer's latest answer in ``r`` (ties at one instant: the highest id)."""
    last = r.group_by("customer_id").aggregate(_last_at=r.responded_at.max())
    tied = r.inner_join(
        last, (r.customer_id == last.customer_id) & (r.responded_at == last._last_at)
    )
    return tied.group_by("customer_id").aggregate(
        _id=tied.id.max(), points=tied.points.argmax(tied.id)
    )


def _nps_change(src: Sources, moment: datetime) -> ir.Table:
    """Latest NPS answer before ``moment`` minus the one before it, on the 0–10 scale."""
    s = src.survey_responses
    s = s.filter(
        s.customer_id.notnull() & (s.kind == SurveyKind.NPS.value) & before(s.responded_at, moment)
    )
    s = s.mutate(points=normalized(s.score, s.scale_min, s.scale_max).cast(FLOAT) / 10)
    latest = _latest_nps(s)
    taken = latest.select(_taken=latest._id)
    previous = _latest_nps(s.anti_join(taken, s.id == taken._taken))
    previous = previous.select(_prev_id="customer_id", _prev=previous.points)
    joined = latest.inner_join(previous, latest.customer_id == previous._prev_id)
    return joined.select(
        customer_id=joined.customer_id.cast("int64"), nps_change=joined.points - joined._prev
    )


def _actions(src: Sources, moment: datetime) -> ir.Table:
    """Events and interactions in the last 30 days and the 60 before, and their decay."""
    recent = moment - timedelta(days=ACTIONS_RECENT_DAYS)
    start = recent - timedelta(days=ACTIONS_PRIOR_DAYS)
    e, i = src.events, src.interactions
    u = union(
        e.select(customer_id=e.customer_id.cast("int64"), at=e.occurred_at),
        i.select(customer_id=i.customer_id.cast("int64"), at=i.occurred_at),
    )
    u = u.filter(u.customer_id.notnull() & within(u.at, start, moment))
    agg = u.group_by("customer_id").aggregate(
        _recent=u.count(where=u.at >= ts(recent)), _prior=u.count(where=u.at < ts(recent))
    )
    per_30d = agg._prior.cast(FLOAT) * const(ACTIONS_RECENT_DAYS / ACTIONS_PRIOR_DAYS)
    return agg.select(
        "customer_id",
        actions_30d=agg._recent.cast("int64"),
        engagement_decay=(per_30d + const(1)).ln() - (agg._recent.cast(FLOAT) + const(1)).ln(),
    )


def churn_features(
    src: Sources,
    moment: datetime,
    *,
    rules: Rules,
    horizon_days: int = DEFAULT_HORIZON_DAYS,
    degrees: Mapping[datetime, ir.Table] | None = None,
) -> ir.Table:
    """One row per customer of the churn population at ``moment`` with the features of
    :data:`CHURN_FEATURES` (see the module for the population and the periods).

    Below, ``h = horizon_days``; a count over nothing is 0, never null.

    Columns
    -------
    recency_days, frequency, monetary
        RFM over the activity window (:func:`~rapport.analytics.rfm.rfm_values`):
        calendar days since the last purchase, purchases and revenue in ``[moment - W,
        moment)``. Never null.
    purchases_recent, revenue_recent
        Purchases and net revenue in ``[moment - h, moment)``.
    purchase_trend, revenue_trend
        The same minus those of ``[moment - 2h, moment - h)``: negative = slowing down.
    satisfaction, loyalty, engagement, advocacy
        The four degrees as of ``moment`` (:mod:`rapport.analytics.degrees`); null where
        the customer has no data for the degree (loyalty is never null here).
    satisfaction_change, loyalty_change, engagement_change, advocacy_change
        The degree at ``moment`` minus the degree at ``moment - h``; null when either is.
    tickets_recent, complaints_recent
        Tickets and complaint tickets opened in ``[moment - h, moment)``.
    sla_breaches_recent
        Tickets due in ``[moment - h, moment)`` that missed their response or resolution
        target (as ``sla_attainment`` judges them as of ``moment``).
    nps_change
        The latest NPS answer before ``moment`` minus the answer before it, on the 0–10
        scale (negative = a drop); null with fewer than two answers.
    actions_30d
        Behaviour events plus interactions in the last 30 days.
    engagement_decay
        ``ln(1 + a_prior / 2) - ln(1 + a_30d)`` with ``a_prior`` the actions of the 60 days
        before those 30: the log ratio of the monthly action rates (smoothed by 1 so it is
        never null): 0 = steady, positive = fewer actions lately, negative = more.
    tenure_days
        Fractional days since the first purchase.
    mean_gap_days
        ``(last - first purchase) / (purchases - 1)`` in days, over every purchase before
        ``moment``; null for a customer with one purchase.
    overdue_ratio
        Fractional days since the last purchase / ``mean_gap_days``: above 1 = the next
        purchase is later than usual (an additive model cannot form this ratio itself);
        null where ``mean_gap_days`` is null or 0.

    Parameters
    ----------
    src
        The canonical tables (any engine).
    moment
        The cut-off, naive UTC: only what happened strictly before it counts.
    rules
        Business rules (``[activity]``, ``[sla]``, ``[scores]``).
    horizon_days
        The churn horizon ``h`` in days (default 90).
    degrees
        The tables of :func:`degrees_at` by moment, when they are already at hand (the
        scoring pipeline computes the degrees at the training cut-off once for both of
        its dates); those of ``moment`` and ``moment - h`` are computed where missing.

    Returns
    -------
    ibis.Table
        ``customer_id`` (int64) then :data:`CHURN_FEATURES` (``recency_days`` and the
        counts int64, the rest float64).

    Raises
    ------
    ValidationFailed
        When ``horizon_days`` is not a positive whole number.
    """
    _check_horizon(horizon_days)
    horizon = timedelta(days=horizon_days)
    t = churn_population(src, moment, rules=rules)
    t = t.select(
        customer_id=t.customer_id,
        recency_days=t.recency_days,
        frequency=t.frequency,
        monetary=t.monetary,
    )
    t = _attach(t, _purchase_trends(src, moment, horizon))
    now = _degrees(src, moment, rules=rules, given=degrees)
    then = _degrees(src, moment - horizon, rules=rules, given=degrees)
    t = _attach(t, now.select("customer_id", *DEGREES))
    t = _attach(t, then.select("customer_id", **{f"{d}_before": then[d] for d in DEGREES}))
    t = _attach(t, _tickets(src, moment, horizon, rules=rules))
    t = _attach(t, _nps_change(src, moment))
    t = _attach(t, _actions(src, moment))
    pf = purchase_features(src, moment, rules=rules)
    t = _attach(
        t,
        pf.select(
            "customer_id",
            tenure_days=pf.days_since_first,
            mean_gap=pf.mean_gap_days,
            since_last=pf.days_since_last,
        ),
    )
    zero = ibis.literal(0, type="int64")
    counts = (
        "purchases_recent",
        "purchase_trend",
        "tickets_recent",
        "complaints_recent",
        "sla_breaches_recent",
        "actions_30d",
    )
    money = ("revenue_recent", "revenue_trend")
    values = {name: t[name].fill_null(zero) for name in counts}
    values |= {name: t[name].cast(FLOAT).fill_null(const(0)) for name in money}
    values |= {d: t[d].cast(FLOAT) for d in DEGREES}
    values |= {f"{d}_change": (t[d] - t[f"{d}_before"]).cast(FLOAT) for d in DEGREES}
    values |= {
        "nps_change": t.nps_change.cast(FLOAT),
        "engagement_decay": t.engagement_decay.cast(FLOAT).fill_null(const(0)),
        "tenure_days": t.tenure_days.cast(FLOAT),
        "mean_gap_days": t.mean_gap.cast(FLOAT),
        "overdue_ratio": t.since_last.cast(FLOAT) / t.mean_gap.cast(FLOAT).nullif(const(0)),
    }
    return t.select(
        "customer_id",
        "recency_days",
        "frequency",
        "monetary",
        **{name: values[name] for name in CHURN_FEATURES if name in values},
    )


def churn_labels(
    src: Sources, moment: datetime, *, horizon_days: int = DEFAULT_HORIZON_DAYS
) -> ir.Table:
    """Who bought nothing in the horizon after ``moment``.

    ``churned = no purchase in [moment, moment + horizon_days)`` (a purchase at exactly
    ``moment`` belongs to the horizon). Only meaningful when the data reaches
    ``moment + horizon_days``.

    Returns
    -------
    ibis.Table
        ``customer_id`` (int64), ``churned`` (boolean): one row per buyer with a purchase
        before ``moment`` — a superset of the churn population; inner-join it onto
        :func:`churn_features`.

    Raises
    ------
    ValidationFailed
        When ``horizon_days`` is not a positive whole number.
    """
    _check_horizon(horizon_days)
    end = moment + timedelta(days=horizon_days)
    p = purchases(src)
    p = p.filter(p.ordered_at < ts(end))
    agg = p.group_by("customer_id").aggregate(
        _before=p.count(where=p.ordered_at < ts(moment)),
        _after=p.count(where=p.ordered_at >= ts(moment)),
    )
    agg = agg.filter(agg._before > 0)
    return agg.select(customer_id=agg.customer_id.cast("int64"), churned=agg._after == 0)
