"""Cohort matrix (同期群分析): customers by month of first purchase × months since.

Months are local calendar months of the business time zone, cut exactly as
:func:`rapport.analytics.periods.buckets` cuts them; each purchase is placed in its month by
comparing its UTC time with the months' UTC boundaries, so no engine time-zone function is
needed.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from rapport.analytics.metrics_base import FLOAT, purchases, ts
from rapport.analytics.periods import DEFAULT_TZ, Period, buckets, to_local
from rapport.analytics.sources import Sources
from rapport.config import Rules


def _month_index(column: ir.TimestampValue, months: list[Period]) -> ir.IntegerValue:
    """Index in ``months`` of the month containing ``column`` (null outside them)."""
    return ibis.cases(
        *((column < ts(m.end), i) for i, m in enumerate(months)),
        else_=ibis.null("int64"),
    )


def cohort_matrix(
    src: Sources,
    period: Period,
    *,
    rules: Rules | None = None,
    tz: str | ZoneInfo = DEFAULT_TZ,
) -> ir.Table:
    """Monthly acquisition cohorts and the share of each still purchasing month by month.

    A cohort is the buyers whose first purchase falls in one local calendar month of
    ``period``. For every cohort and every month from the cohort's month up to the period's
    last month, the share of the cohort with at least one purchase in that month.

    Parameters
    ----------
    src, period
        The tables and the period; purchases after ``end`` are ignored. A period starting
        or ending mid-month makes its first or last month partial.
    rules
        Accepted for the same call shape as the metrics; cohorts do not depend on rules.
    tz
        Business time zone whose calendar months are the cohorts.

    Returns
    -------
    ibis.Table
        ``cohort`` (``YYYY-MM`` local), ``cohort_start`` (UTC instant of the month's start,
        clipped to the period), ``month_offset`` (0 = the cohort's own month),
        ``customers`` (cohort size), ``active`` (customers purchasing in that month) and
        ``share`` (``active / customers * 100``), ordered by cohort and offset. Months
        without a new buyer have no cohort rows.
    """
    zone = tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz)
    months = buckets(period, "month", tz=zone)
    if not months:
        months = [period]
    labels = [to_local(m.start, zone).strftime("%Y-%m") for m in months]
    p = purchases(src)
    p = p.filter(p.ordered_at < ts(period.end))
    first = p.group_by("customer_id").aggregate(first_at=p.ordered_at.min())
    first = first.filter(first.first_at >= ts(period.start))
    first = first.select("customer_id", cohort_index=_month_index(first.first_at, months))
    sizes = first.group_by("cohort_index").aggregate(customers=first.count())

    inside = p.filter(p.ordered_at >= ts(period.start))
    inside = inside.select("customer_id", month_index=_month_index(inside.ordered_at, months))
    activity = inside.inner_join(first, "customer_id")
    activity = (
        activity.select(
            "customer_id",
            "cohort_index",
            month_offset=activity.month_index - activity.cohort_index,
        )
        .distinct()
        .group_by(["cohort_index", "month_offset"])
        .aggregate(active=ibis._.count())
    )

    offsets = ibis.memtable(pa.table({"month_offset": pa.array(range(len(months)), pa.int64())}))
    grid = sizes.cross_join(offsets)
    grid = grid.filter(grid.cohort_index + grid.month_offset < len(months))
    out = grid.left_join(
        activity,
        (grid.cohort_index == activity.cohort_index) & (grid.month_offset == activity.month_offset),
    ).select(
        cohort_index=grid.cohort_index,
        month_offset=grid.month_offset,
        customers=grid.customers,
        active=activity.active.fill_null(0),
    )
    label = out.cohort_index.cases(*enumerate(labels), else_=ibis.null("string"))
    start = out.cohort_index.cases(
        *((i, ts(m.start)) for i, m in enumerate(months)), else_=ibis.null("timestamp")
    )
    return out.select(
        cohort=label,
        cohort_start=start,
        month_offset=out.month_offset.cast("int64"),
        customers=out.customers.cast("int64"),
        active=out.active.cast("int64"),
        share=out.active.cast(FLOAT) * 100 / out.customers.cast(FLOAT),
    ).order_by(["cohort_start", "month_offset"])
