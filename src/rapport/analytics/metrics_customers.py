"""Stickiness and base metrics (客户黏性): customer counts, retention, churn, purchasing, CLV.

Definitions are those of docs/metrics.md. Notation: ``W`` is the activity window
(``rules.activity.window_days``); S, E and N are the buyers active at ``start``, active at
``end`` and new in ``[start, end)``.

Every function takes the parameters described in :mod:`rapport.analytics.metrics_base`
(``src``, ``period``, keyword-only ``rules`` and ``by``) and returns an unexecuted table of
``numerator``, ``denominator`` and ``value`` (with ``segment`` first when ``by`` is given).
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from rapport.analytics.metrics_base import (
    CLV_MAX_LIFESPAN_YEARS,
    DAYS_PER_YEAR,
    FLOAT,
    before,
    buyer_facts,
    const,
    count,
    flag,
    parts,
    rate,
    segmented,
    within,
)
from rapport.analytics.periods import Period
from rapport.analytics.sources import Sources
from rapport.config import Rules


def customers_start(
    src: Sources, period: Period, *, rules: Rules, by: ir.Table | None = None
) -> ir.Table:
    """期初客户数 — buyers active at ``start``.

    ``S = |{buyers with a purchase in [start - W, start)}|``

    Returns
    -------
    ibis.Table
        A count: ``numerator = value = S``, ``denominator`` null; 0 (not null) when nobody
        qualifies.

    Notes
    -----
    A purchase at exactly ``start`` belongs to the period, not to this base.
    """
    f = buyer_facts(src, period, rules=rules)
    return count(parts(f, f.customer_id, num=flag(f.active_start)), by)


def customers_end(
    src: Sources, period: Period, *, rules: Rules, by: ir.Table | None = None
) -> ir.Table:
    """期末客户数 — buyers active at ``end``.

    ``E = |{buyers with a purchase in [end - W, end)}|``

    Returns
    -------
    ibis.Table
        A count: ``numerator = value = E``, ``denominator`` null.
    """
    f = buyer_facts(src, period, rules=rules)
    return count(parts(f, f.customer_id, num=flag(f.active_end)), by)


def customers_new(
    src: Sources, period: Period, *, rules: Rules, by: ir.Table | None = None
) -> ir.Table:
    """新增客户数 — buyers whose first purchase ever lies in the period.

    ``N = |{buyers with min(purchase time) in [start, end)}|``

    Returns
    -------
    ibis.Table
        A count: ``numerator = value = N``, ``denominator`` null.

    Notes
    -----
    Cancelled and refunded orders never make a first purchase.
    """
    f = buyer_facts(src, period, rules=rules)
    return count(parts(f, f.customer_id, num=flag(f.new)), by)


def retention_rate(
    src: Sources, period: Period, *, rules: Rules, by: ir.Table | None = None
) -> ir.Table:
    """客户留存率 — the seed formula, exactly.

    ``retention_rate = (E - N) / S * 100``

    Returns
    -------
    ibis.Table
        ``numerator = E - N``, ``denominator = S``, ``value`` in percent; null when S is 0.

    Notes
    -----
    A customer reactivated after a lapse is in E but neither in N nor in S, so the value can
    exceed 100; :func:`cohort_retention` is the strict measure.
    """
    f = buyer_facts(src, period, rules=rules)
    p = parts(f, f.customer_id, num=flag(f.active_end) - flag(f.new), den=flag(f.active_start))
    return rate(p, by)


def cohort_retention(
    src: Sources, period: Period, *, rules: Rules, by: ir.Table | None = None
) -> ir.Table:
    """同期群留存 — share of the customers active at ``start`` still active at ``end``.

    ``cohort_retention = |S ∩ E| / S * 100``

    Returns
    -------
    ibis.Table
        ``numerator = |S ∩ E|``, ``denominator = S``, ``value`` in percent; null when S is 0.
    """
    f = buyer_facts(src, period, rules=rules)
    kept = f.active_start & f.active_end
    return rate(parts(f, f.customer_id, num=flag(kept), den=flag(f.active_start)), by)


def churn_rate(
    src: Sources, period: Period, *, rules: Rules, by: ir.Table | None = None
) -> ir.Table:
    """客户流失率 — share of the customers active at ``start`` no longer active at ``end``.

    ``churn_rate = (S - |S ∩ E|) / S * 100``

    Returns
    -------
    ibis.Table
        ``numerator = S - |S ∩ E|``, ``denominator = S``, ``value`` in percent; null when S
        is 0.
    """
    f = buyer_facts(src, period, rules=rules)
    lost = f.active_start & ~f.active_end
    return rate(parts(f, f.customer_id, num=flag(lost), den=flag(f.active_start)), by)


def customer_growth_rate(
    src: Sources, period: Period, *, rules: Rules, by: ir.Table | None = None
) -> ir.Table:
    """客户增长率 — change of the active base over the period.

    ``customer_growth_rate = (E - S) / S * 100``

    Returns
    -------
    ibis.Table
        ``numerator = E - S``, ``denominator = S``, ``value`` in percent; null when S is 0.
    """
    f = buyer_facts(src, period, rules=rules)
    p = parts(
        f, f.customer_id, num=flag(f.active_end) - flag(f.active_start), den=flag(f.active_start)
    )
    return rate(p, by)


def repurchase_rate(
    src: Sources, period: Period, *, rules: Rules, by: ir.Table | None = None
) -> ir.Table:
    """复购率 — share of the period's buyers who bought at least twice in it.

    ``repurchase_rate = buyers with >= 2 purchases / buyers with >= 1 purchase * 100``

    Returns
    -------
    ibis.Table
        ``numerator`` = repeat buyers, ``denominator`` = buyers, ``value`` in percent.
    """
    f = buyer_facts(src, period, rules=rules)
    p = parts(f, f.customer_id, num=flag(f.purchases >= 2), den=flag(f.purchases >= 1))
    return rate(p, by)


def purchase_frequency(
    src: Sources, period: Period, *, rules: Rules, by: ir.Table | None = None
) -> ir.Table:
    """购买频次 — purchases per buyer in the period.

    ``purchase_frequency = purchases in the period / buyers in the period``

    Returns
    -------
    ibis.Table
        ``numerator`` = purchases, ``denominator`` = buyers, ``value`` a ratio (not percent).
    """
    f = buyer_facts(src, period, rules=rules)
    p = parts(f, f.customer_id, num=f.purchases, den=flag(f.purchases >= 1))
    return rate(p, by, scale=1.0)


def average_order_value(
    src: Sources, period: Period, *, rules: Rules, by: ir.Table | None = None
) -> ir.Table:
    """客单价 — revenue per purchase in the period.

    ``average_order_value = revenue of purchases in the period / purchases in the period``

    Returns
    -------
    ibis.Table
        ``numerator`` = revenue, ``denominator`` = purchases, ``value`` in currency.

    Notes
    -----
    Revenue is the sum of ``net_amount`` of completed orders: after discounts and refunds,
    so a partial refund lowers it. Amounts are summed as stored (one currency assumed).
    """
    f = buyer_facts(src, period, rules=rules)
    return rate(parts(f, f.customer_id, num=f.revenue, den=f.purchases), by, scale=1.0)


def conversion_rate(
    src: Sources, period: Period, *, rules: Rules, by: ir.Table | None = None
) -> ir.Table:
    """客户转化率 — share of the period's leads converted by ``end``.

    ``conversion_rate = leads created in [start, end) with converted_at < end
    / leads created in [start, end) * 100``

    Returns
    -------
    ibis.Table
        ``numerator`` = converted leads, ``denominator`` = leads, ``value`` in percent.

    Notes
    -----
    Segmented by ``by``, a lead takes the segment of the customer it converted into; a lead
    not converted (or converted into a customer without a segment row) falls into the null
    segment — so per-segment rates only tell the segments' shares of conversions.
    """
    lead = src.leads
    lead = lead.filter(within(lead.created_at, period.start, period.end))
    converted = before(lead.converted_at, period.end)
    p = parts(lead, lead.converted_customer_id, num=flag(converted), den=const(1))
    return rate(p, by)


def clv_simple(
    src: Sources, period: Period, *, rules: Rules, by: ir.Table | None = None
) -> ir.Table:
    """客户生命周期价值(简易) — the seed formula.

    ``clv_simple = average_order_value * purchases_per_year * lifespan_years * margin``

    * ``purchases_per_year = purchase_frequency * 365.25 / period.days``
    * ``lifespan_years = min(1 / (churn / 100), 10)``, ``churn`` being the churn rate over
      ``[end - 365 d, end)``: customers active at ``end - 365 d`` no longer active at ``end``
    * ``margin = rules.business.gross_margin``

    Returns
    -------
    ibis.Table
        As ``average_order_value * purchase_frequency`` is revenue per buyer:
        ``numerator = revenue / buyers * 365.25 / days * margin`` (a buyer's yearly margin),
        ``denominator = max(churn / 100, 1 / 10)`` (so ``1 / denominator`` is the capped
        lifespan) and ``value = numerator / denominator`` in currency. Null when the period
        is empty or has no buyer, or nobody was active at ``end - 365 d``; a churn of 0
        gives the 10-year cap.
    """
    f = buyer_facts(src, period, rules=rules)
    t, keys = segmented(f, by)
    lost = t.active_year_before_end & ~t.active_end
    floor = 1.0 / CLV_MAX_LIFESPAN_YEARS
    agg = t.aggregate(
        by=keys,
        revenue=t.revenue.sum().fill_null(const(0)),
        buyers=flag(t.purchases >= 1).sum().fill_null(const(0)),
        base=flag(t.active_year_before_end).sum().fill_null(const(0)),
        lost=flag(lost).sum().fill_null(const(0)),
    )
    if period.days > 0:
        per_year = DAYS_PER_YEAR / period.days * rules.business.gross_margin
        yearly = agg.revenue / agg.buyers.nullif(const(0)) * const(per_year)
    else:
        yearly = ibis.null(FLOAT)
    churn = agg.lost / agg.base.nullif(const(0))
    out = agg.mutate(
        numerator=yearly.cast(FLOAT),
        denominator=ibis.ifelse(churn < const(floor), const(floor), churn).cast(FLOAT),
    )
    out = out.mutate(value=(out.numerator / out.denominator).cast(FLOAT))
    return out.select(*keys, "numerator", "denominator", "value")
