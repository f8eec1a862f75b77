"""Per-customer facts the scores start from, as of a moment ``as_of`` (naive UTC).

Everything here only builds Ibis expressions over :class:`~rapport.analytics.sources.Sources`
and is judged as of ``as_of``: a row counts when it happened strictly before ``as_of``.
Ages are fractional days from epoch-second differences (the portable subset); fractional
constants go through :func:`~rapport.analytics.metrics_base.const`.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

import ibis
import ibis.expr.types as ir

from rapport.analytics.metrics_base import (
    FLOAT,
    MONEY_DECIMALS,
    before,
    const,
    epoch,
    exact_sum,
    purchases,
    seconds,
    ts,
)
from rapport.analytics.sources import Sources
from rapport.config import Rules

SECONDS_PER_DAY = 86400


def age_days(column: ir.TimestampValue, as_of: datetime) -> ir.FloatingValue:
    """Days from ``column`` to ``as_of`` (fractional; null when ``column`` is null)."""
    return (const(epoch(as_of)) - seconds(column)) / SECONDS_PER_DAY


def decay(age: ir.FloatingValue, half_life_days: float) -> ir.FloatingValue:
    """``0.5 ** (age / half_life_days)``: 1 today, 1/2 after one half-life."""
    return (age * const(-math.log(2) / half_life_days)).exp()


def saturate(x: ir.NumericValue, half: float) -> ir.FloatingValue:
    """``100 * x / (x + half)``: 0 at 0, 50 at ``half``, approaching 100; increasing in x."""
    x = x.cast(FLOAT)
    return x * 100 / (x + const(half))


def weighted_mean(pairs: list[tuple[float, ir.Value]]) -> ir.FloatingValue:
    """``sum(w * v) / sum(w)`` over the pairs whose value is not null; null when none is
    (or when their weights sum to 0)."""
    used = [(w, v) for w, v in pairs if w > 0]
    if not used:
        return ibis.null(FLOAT)
    num = sum((v.cast(FLOAT) * const(w)).fill_null(const(0)) for w, v in used)
    den = sum(ibis.ifelse(v.notnull(), const(w), const(0)) for w, v in used)
    return num / den.nullif(const(0))


def weight_of(column: ir.StringValue, weights: dict[str, float]) -> ir.FloatingValue:
    """The configured weight of each value of ``column`` (0 for values not listed)."""
    cases = [(str(key), const(value)) for key, value in weights.items()]
    return column.cases(*cases, else_=const(0)) if cases else const(0)


def scored_customers(src: Sources, as_of: datetime) -> ir.Table:
    """The customers a snapshot as of ``as_of`` covers: created before it (or with a
    purchase before it) and not deleted by then.

    Columns: ``customer_id``, ``created_at``, ``member`` (loyalty programme joined before
    ``as_of``).
    """
    c = src.customers
    bought = purchases(src)
    bought = bought.filter(bought.ordered_at < ts(as_of)).select(_buyer=bought.customer_id)
    buyers = bought.distinct()
    c = c.left_join(buyers, c.id == buyers._buyer)
    alive = c.deleted_at.isnull() | (c.deleted_at >= ts(as_of))
    exists = before(c.created_at, as_of) | c._buyer.notnull()
    c = c.filter(alive & exists)
    return c.select(
        customer_id=c.id.cast("int64"),
        created_at=c.created_at,
        member=before(c.loyalty_joined_at, as_of),
    )


def purchase_features(src: Sources, as_of: datetime, *, rules: Rules) -> ir.Table:
    """One row per buyer (a purchase before ``as_of``): the purchase history in numbers.

    With ``W`` the activity window (``[activity] window_days``) and ``R`` the
    ``[scores.lifecycle] reactivated_days``:

    Columns
    -------
    customer_id
    purchases_total
        Purchases before ``as_of``.
    purchases_window
        Purchases in ``[as_of - W, as_of)``.
    days_since_first, days_since_last
        Fractional days from the first and the last purchase to ``as_of``.
    mean_gap_days
        ``(last - first) / (purchases_total - 1)`` in days; null for a single purchase.
    revenue_first_half, revenue_second_half
        Net revenue in ``[as_of - W, as_of - W/2)`` and ``[as_of - W/2, as_of)``.
    reactivated
        The first purchase in ``[as_of - R, as_of)`` came more than ``W`` after the
        purchase before it.
    """
    w_days = rules.activity.window_days
    window_start = as_of - timedelta(days=w_days)
    half = as_of - timedelta(days=w_days / 2)
    recent = as_of - timedelta(days=rules.scores.lifecycle.reactivated_days)
    p = purchases(src)
    p = p.filter(p.ordered_at < ts(as_of))
    net = p.net_amount.cast(FLOAT)
    agg = p.group_by("customer_id").aggregate(
        purchases_total=p.count(),
        purchases_window=p.count(where=p.ordered_at >= ts(window_start)),
        first_at=p.ordered_at.min(),
        last_at=p.ordered_at.max(),
        revenue_first_half=exact_sum(
            net,
            decimals=MONEY_DECIMALS,
            where=(p.ordered_at >= ts(window_start)) & (p.ordered_at < ts(half)),
        ),
        revenue_second_half=exact_sum(net, decimals=MONEY_DECIMALS, where=p.ordered_at >= ts(half)),
        recent_first_at=p.ordered_at.min(where=p.ordered_at >= ts(recent)),
        before_recent_at=p.ordered_at.max(where=p.ordered_at < ts(recent)),
    )
    gap_seconds = seconds(agg.recent_first_at) - seconds(agg.before_recent_at)
    total = agg.purchases_total.cast("int64")
    return agg.select(
        customer_id=agg.customer_id.cast("int64"),
        purchases_total=total,
        purchases_window=agg.purchases_window.cast("int64"),
        days_since_first=age_days(agg.first_at, as_of),
        days_since_last=age_days(agg.last_at, as_of),
        mean_gap_days=ibis.ifelse(
            total > 1,
            (seconds(agg.last_at) - seconds(agg.first_at))
            / SECONDS_PER_DAY
            / (total - 1).cast(FLOAT),
            ibis.null(FLOAT),
        ),
        revenue_first_half=agg.revenue_first_half.cast(FLOAT).fill_null(const(0)),
        revenue_second_half=agg.revenue_second_half.cast(FLOAT).fill_null(const(0)),
        reactivated=(gap_seconds > w_days * SECONDS_PER_DAY).fill_null(False),
    )
