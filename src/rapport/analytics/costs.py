"""Customer maintenance cost 客户维护成本: what serving each customer costs in a period.

The unit costs are business rules (``[costs]``, in the business currency). A customer's
cost to serve in ``[start, end)`` is::

    interactions  x the cost of their channel          ([costs.interaction])
    + tickets opened x the cost of their priority      ([costs.ticket])
    + campaign deliveries sent x their campaign channel's cost   ([costs.delivery])
    + loyalty points redeemed x point_value

* an interaction counts at ``occurred_at``, a ticket at ``opened_at``, a delivery at
  ``sent_at`` (holdout deliveries are never sent; a bounced one was sent and costs), a
  redemption at ``occurred_at`` of its ``redeem`` ledger row, whose points are negative:
  ``-points`` are the points redeemed;
* rows without a customer are no customer's cost and are left out;
* a value without a configured cost (not an enumeration member) costs 0.

Nothing here executes; :mod:`rapport.analytics.metrics_value` turns the items into the
metrics ``maintenance_cost``, ``maintenance_cost_per_customer`` and
``cost_to_serve_ratio``, and :func:`depth_and_cost` gives the scoring pipeline its
per-customer columns.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import ibis
import ibis.expr.types as ir

from rapport.analytics.depth import DEPTH_COLUMNS, depth_components
from rapport.analytics.metrics_base import (
    FLOAT,
    MONEY_DECIMALS,
    const,
    exact_sum,
    purchases,
    union,
    within,
)
from rapport.analytics.scoring_features import weight_of
from rapport.analytics.sources import Sources
from rapport.config import Rules
from rapport.domain import LoyaltyReason

#: The kinds of cost item, in the order of docs/metrics.md.
COST_KINDS = ("interactions", "tickets", "deliveries", "points")
#: Costs are summed to this many decimals of the currency (unit prices with more are
#: counted rounded to it), so a customer's cost is the same every run
#: (:func:`~rapport.analytics.metrics_base.exact_sum`).
COST_DECIMALS = 6
#: The per-customer cost columns of :func:`customer_costs` after ``customer_id``.
COST_COLUMNS = (
    "cost_to_serve",
    *(f"cost_{kind}" for kind in COST_KINDS),
    "cost_revenue",
    "cost_to_serve_ratio",
)


def _prices(costs: dict) -> dict[str, float]:
    return {str(key.value): float(value) for key, value in costs.items()}


def cost_items(src: Sources, start: datetime, end: datetime, *, rules: Rules) -> ir.Table:
    """Every cost item of ``[start, end)``: one row per interaction, ticket, delivery sent
    and redemption of a customer.

    Returns
    -------
    ibis.Table
        ``customer_id`` (int64), ``kind`` (one of :data:`COST_KINDS`), ``units`` (1 per
        interaction, ticket or delivery; points for a redemption) and ``cost`` (float64, in
        the business currency).
    """
    cfg = rules.costs

    def item(table: ir.Table, kind: str, units: ir.Value, cost: ir.Value) -> ir.Table:
        return table.select(
            customer_id=table.customer_id.cast("int64"),
            kind=ibis.literal(kind),
            units=units.cast(FLOAT),
            cost=cost.cast(FLOAT),
        )

    i = src.interactions
    i = i.filter(i.customer_id.notnull() & within(i.occurred_at, start, end))
    t = src.tickets
    t = t.filter(t.customer_id.notnull() & within(t.opened_at, start, end))
    d = src.campaign_deliveries
    c = src.campaigns
    channels = c.select(_campaign=c.id, _channel=c.channel)
    d = d.filter(d.customer_id.notnull() & within(d.sent_at, start, end))
    d = d.left_join(channels, d.campaign_id == channels._campaign)
    ledger = src.loyalty_ledger
    ledger = ledger.filter(
        ledger.customer_id.notnull()
        & (ledger.reason == LoyaltyReason.REDEEM.value)
        & within(ledger.occurred_at, start, end)
    )
    redeemed = -ledger.points.cast(FLOAT)
    one = const(1)
    return union(
        item(i, "interactions", one, weight_of(i.channel, _prices(cfg.interaction))),
        item(t, "tickets", one, weight_of(t.priority, _prices(cfg.ticket))),
        item(d, "deliveries", one, weight_of(d._channel, _prices(cfg.delivery))),
        item(ledger, "points", redeemed, redeemed * const(cfg.point_value)),
    )


def customer_costs(src: Sources, start: datetime, end: datetime, *, rules: Rules) -> ir.Table:
    """Cost to serve and net revenue per customer in ``[start, end)``.

    Returns
    -------
    ibis.Table
        One row per customer with a cost item or a purchase in the period: ``customer_id``,
        ``cost_to_serve`` (the sum), ``cost_interactions``, ``cost_tickets``,
        ``cost_deliveries``, ``cost_points`` (its parts), ``cost_revenue`` (net revenue of
        the purchases in the period) and ``cost_to_serve_ratio`` = ``cost_to_serve /
        cost_revenue * 100`` (null without revenue).
    """
    items = cost_items(src, start, end, rules=rules)
    zero = const(0)
    costs = items.select(
        "customer_id",
        revenue=zero,
        **{f"cost_{k}": ibis.ifelse(items.kind == k, items.cost, zero) for k in COST_KINDS},
    )
    p = purchases(src)
    p = p.filter(within(p.ordered_at, start, end))
    revenue = p.select(
        customer_id=p.customer_id.cast("int64"),
        revenue=p.net_amount.cast(FLOAT),
        **{f"cost_{k}": zero for k in COST_KINDS},
    )
    u = union(costs, revenue)
    agg = u.group_by("customer_id").aggregate(
        cost_revenue=exact_sum(u.revenue, decimals=MONEY_DECIMALS),
        **{f"cost_{k}": exact_sum(u[f"cost_{k}"], decimals=COST_DECIMALS) for k in COST_KINDS},
    )
    total = sum((agg[f"cost_{k}"] for k in COST_KINDS[1:]), agg[f"cost_{COST_KINDS[0]}"])
    return agg.select(
        "customer_id",
        cost_to_serve=total.cast(FLOAT),
        **{f"cost_{k}": agg[f"cost_{k}"].cast(FLOAT) for k in COST_KINDS},
        cost_revenue=agg.cost_revenue.cast(FLOAT),
        cost_to_serve_ratio=(total * 100 / agg.cost_revenue.nullif(zero)).cast(FLOAT),
    )


def depth_and_cost(src: Sources, as_of: datetime, *, rules: Rules) -> ir.Table:
    """The per-customer columns the score snapshot adds to its ``components``: relationship
    depth as of ``as_of`` (:func:`~rapport.analytics.depth.depth_components`) and the cost
    to serve over the activity window ``[as_of - W, as_of)`` (:func:`customer_costs`; 0 for
    a customer without any cost item or purchase in it).

    Returns
    -------
    ibis.Table
        ``customer_id``, :data:`~rapport.analytics.depth.DEPTH_COLUMNS` and
        :data:`COST_COLUMNS`, one row per customer of the snapshot.
    """
    depth = depth_components(src, as_of, rules=rules)
    start = as_of - timedelta(days=rules.activity.window_days)
    costs = customer_costs(src, start, as_of, rules=rules).rename(_key="customer_id")
    t = depth.left_join(costs, depth.customer_id == costs._key).drop("_key")
    zero = const(0)
    filled = {c: t[c].fill_null(zero) for c in COST_COLUMNS if c != "cost_to_serve_ratio"}
    return t.mutate(**filled).select("customer_id", *DEPTH_COLUMNS, *COST_COLUMNS)


__all__ = ["COST_COLUMNS", "COST_KINDS", "cost_items", "customer_costs", "depth_and_cost"]
