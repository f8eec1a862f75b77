"""Depth and cost metrics: relationship depth, maintenance cost, cost to serve over revenue.

Definitions are those of docs/metrics.md ("Depth, cost and social reach"); E is the number of
buyers active at ``end``. The per-customer parts come from
:mod:`rapport.analytics.depth` and :mod:`rapport.analytics.costs`; here they are summed
overall or per segment like every other metric (see :mod:`rapport.analytics.metrics_base`).
"""

from __future__ import annotations

import ibis.expr.types as ir

from rapport.analytics.costs import cost_items
from rapport.analytics.depth import depth_components
from rapport.analytics.metrics_base import buyer_facts, const, count, flag, parts, rate, union
from rapport.analytics.periods import Period
from rapport.analytics.sources import Sources
from rapport.config import Rules

ZERO = const(0)


def relationship_depth(
    src: Sources, period: Period, *, rules: Rules, by: ir.Table | None = None
) -> ir.Table:
    """关系深度 — mean relationship depth of the buyers active at ``end``.

    ``relationship_depth = sum(depth as of end over E) / E``, each customer's depth being
    the weighted mean of tenure, purchase frequency percentile, cross-buy breadth, contact
    intensity percentile and channel breadth
    (:func:`~rapport.analytics.depth.depth_components`)

    Returns
    -------
    ibis.Table
        ``numerator`` = the depths summed, ``denominator`` = buyers active at ``end`` with
        a depth, ``value`` a score 0–100; null when nobody is active at ``end``.

    Notes
    -----
    Percentiles are taken over the whole population as of ``end``, also when the result is
    split by segment: a segment's mean says where its customers stand among everyone.
    """
    f = buyer_facts(src, period, rules=rules)
    f = f.filter(f.active_end)
    d = depth_components(src, period.end, rules=rules)
    d = d.select(_key=d.customer_id, _depth=d.relationship_depth)
    t = f.left_join(d, f.customer_id == d._key)
    p = parts(t, t.customer_id, num=t._depth.fill_null(ZERO), den=flag(t._depth.notnull()))
    return rate(p, by, scale=1.0)


def _costs(src: Sources, period: Period, rules: Rules) -> ir.Table:
    items = cost_items(src, period.start, period.end, rules=rules)
    return parts(items, items.customer_id, num=items.cost, den=ZERO)


def maintenance_cost(
    src: Sources, period: Period, *, rules: Rules, by: ir.Table | None = None
) -> ir.Table:
    """客户维护成本 — what serving the customers cost in the period.

    ``maintenance_cost = sum over customers of (interactions x channel cost + tickets
    opened x priority cost + deliveries sent x channel cost + points redeemed x point
    value)`` in ``[start, end)``, unit costs from ``[costs]``

    Returns
    -------
    ibis.Table
        A total: ``numerator = value`` = the cost in the business currency, ``denominator``
        null; 0 (not null) when nothing was spent.
    """
    return count(_costs(src, period, rules), by)


def maintenance_cost_per_customer(
    src: Sources, period: Period, *, rules: Rules, by: ir.Table | None = None
) -> ir.Table:
    """单客维护成本 — maintenance cost per active customer.

    ``maintenance_cost_per_customer = maintenance_cost / E``

    Returns
    -------
    ibis.Table
        ``numerator`` = the cost, ``denominator = E``, ``value`` in currency; null when E
        is 0. Costs of customers outside E still count (the formula divides by E, it does
        not restrict to it).
    """
    f = buyer_facts(src, period, rules=rules)
    base = parts(f, f.customer_id, num=ZERO, den=flag(f.active_end))
    return rate(union(base, _costs(src, period, rules)), by, scale=1.0)


def cost_to_serve_ratio(
    src: Sources, period: Period, *, rules: Rules, by: ir.Table | None = None
) -> ir.Table:
    """服务成本收入比 — maintenance cost as a share of the period's net revenue.

    ``cost_to_serve_ratio = maintenance_cost / net revenue of purchases in the period * 100``

    Returns
    -------
    ibis.Table
        ``numerator`` = the cost, ``denominator`` = net revenue, ``value`` in percent; null
        without revenue.
    """
    f = buyer_facts(src, period, rules=rules)
    revenue = parts(f, f.customer_id, num=ZERO, den=f.revenue)
    return rate(union(revenue, _costs(src, period, rules)), by)


__all__ = [
    "cost_to_serve_ratio",
    "maintenance_cost",
    "maintenance_cost_per_customer",
    "relationship_depth",
]
