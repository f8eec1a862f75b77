"""Demand per product category and calendar period (需求), the input of the demand forecast.

For every product category and every week or month of ``[start, end)``:

``orders``
    Distinct purchases (completed orders) with at least one line in the category. An order
    with lines in two categories counts once in each, so the categories' orders may add up
    to more than the purchases.
``revenue``
    The category's share of the purchases' net amounts. An order's ``net_amount`` (after
    its discount and any partial refund) is **apportioned to its lines pro rata to the
    lines' ``net_amount``**: a partial refund (or discount) lowers every line of the order
    by the same fraction, since the store does not say which line was returned. The
    categories' revenues therefore add up exactly to the revenue of the purchases.

Cancelled and fully refunded orders are never purchases. Lines whose product has no
category, and purchases without any line, are counted under :data:`UNCATEGORISED`.

Periods are local calendar weeks (ISO, Monday first) or months of the business time zone,
as :func:`rapport.analytics.periods.buckets` cuts them (first and last clipped to
``[start, end)``; give whole weeks or months to a forecaster). A purchase belongs to the
period whose half-open ``[start, end)`` holds its ``ordered_at``.

:func:`category_series` builds the Ibis expression (engine-blind; only the pairs that had
purchases), :func:`complete_series` fills the missing ``(category, period)`` pairs with
zeros after execution, and :func:`category_demand` does both through
:func:`rapport.analytics.metrics.execute`.

Examples
--------
>>> from datetime import UTC, datetime
>>> [p.start for p in demand_periods(datetime(2024, 1, 1), datetime(2024, 3, 1),
...                                   granularity="month", tz="UTC")]
[datetime.datetime(2024, 1, 1, 0, 0), datetime.datetime(2024, 2, 1, 0, 0)]
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from rapport.analytics.metrics_base import FLOAT, const, purchases, ts, within
from rapport.analytics.periods import DEFAULT_TZ, Period, buckets
from rapport.analytics.sources import Sources
from rapport.errors import ValidationFailed

#: The granularities a demand series may have.
DEMAND_GRANULARITIES = ("week", "month")
#: Category of lines whose product has none, and of purchases without lines.
UNCATEGORISED = "(uncategorised)"
#: Columns of a demand series, in order.
COLUMNS = ("category", "period_start", "period_end", "orders", "revenue")


def demand_periods(
    start: datetime,
    end: datetime,
    *,
    granularity: str = "week",
    tz: str | ZoneInfo = DEFAULT_TZ,
) -> list[Period]:
    """The periods of a demand series over ``[start, end)``.

    Parameters
    ----------
    start, end
        Naive UTC (or aware) datetimes, ``start < end``.
    granularity
        ``"week"`` (ISO weeks, Monday first) or ``"month"``, in local calendar of ``tz``.
    tz
        The business time zone.

    Returns
    -------
    list[Period]
        Consecutive periods covering ``[start, end)``, the first and last clipped to it.

    Raises
    ------
    ValidationFailed
        For another granularity or an empty ``[start, end)``.
    """
    if granularity not in DEMAND_GRANULARITIES:
        raise ValidationFailed(
            "a demand series is weekly or monthly, not {granularity!r}",
            field="granularity",
            value=granularity,
            hint="use one of: {choices}",
            key="demand_granularity",
            params={"granularity": granularity, "choices": ", ".join(DEMAND_GRANULARITIES)},
            hint_key="option_value_unknown.hint",
        )
    period = Period(start, end)
    if period.start >= period.end:
        raise ValidationFailed(
            "the demand period {period} is empty",
            field="period",
            hint="give start < end",
            key="demand_period_empty",
            params={"period": period},
        )
    return buckets(period, granularity, tz=tz)


def category_lines(src: Sources) -> ir.Table:
    """One row per line of every purchase, with its category and apportioned revenue.

    Columns
    -------
    order_id, ordered_at
        The purchase.
    category
        The product's category; :data:`UNCATEGORISED` when it has none, and for the single
        row of a purchase without lines.
    revenue
        ``order.net_amount * line.net_amount / sum(line.net_amount of the order)``; lines
        of an order whose lines are all worth 0 share its net amount equally, and a
        purchase without lines keeps all of it.
    """
    orders = purchases(src)
    items = src.order_items
    products = src.products
    totals = items.group_by("order_id").aggregate(
        _line_total=items.net_amount.sum().cast(FLOAT),
        _lines=items.count().cast(FLOAT),
    )
    totals = totals.select(
        _total_order_id=totals.order_id, _line_total=totals._line_total, _lines=totals._lines
    )
    lines = items.left_join(products, items.product_id == products.id).select(
        _line_order_id=items.order_id,
        _category=products.category,
        _line_amount=items.net_amount.cast(FLOAT),
    )
    joined = orders.left_join(lines, orders.id == lines._line_order_id).left_join(
        totals, orders.id == totals._total_order_id
    )
    share = ibis.ifelse(
        joined._line_total > const(0),
        joined._line_amount / joined._line_total,
        const(1) / joined._lines,
    ).fill_null(const(1))
    return joined.select(
        order_id=joined.id,
        ordered_at=joined.ordered_at,
        category=joined._category.fill_null(UNCATEGORISED),
        revenue=(joined.net_amount.cast(FLOAT) * share).cast(FLOAT),
    )


def category_series(
    src: Sources,
    start: datetime,
    end: datetime,
    *,
    granularity: str = "week",
    tz: str | ZoneInfo = DEFAULT_TZ,
) -> ir.Table:
    """Orders and revenue per product category and week or month of ``[start, end)``.

    Parameters
    ----------
    src
        The canonical tables (``orders``, ``order_items``, ``products``).
    start, end
        The half-open period, naive UTC (or aware).
    granularity
        ``"week"`` or ``"month"`` (local calendar of ``tz``).
    tz
        The business time zone whose midnights bound the periods.

    Returns
    -------
    ibis.Table
        ``category`` (string), ``period_start`` (naive UTC timestamp), ``orders`` (int64:
        distinct purchases with a line in the category) and ``revenue`` (float64: the
        category's apportioned share of their net amounts) — only the pairs with at least
        one purchase; :func:`complete_series` adds the others with zeros.
    """
    periods = demand_periods(start, end, granularity=granularity, tz=tz)
    lines = category_lines(src)
    lines = lines.filter(within(lines.ordered_at, periods[0].start, periods[-1].end))
    # the first period whose end is after the purchase: a CASE of literals, portable
    period_start = ibis.cases(*((lines.ordered_at < ts(p.end), ts(p.start)) for p in periods))
    tagged = lines.mutate(period_start=period_start)
    return tagged.group_by(["category", "period_start"]).aggregate(
        orders=tagged.order_id.nunique().cast("int64"),
        revenue=tagged.revenue.sum().cast(FLOAT),
    )


def complete_series(
    table: pa.Table,
    start: datetime,
    end: datetime,
    *,
    granularity: str = "week",
    tz: str | ZoneInfo = DEFAULT_TZ,
    categories: list[str] | None = None,
) -> pa.Table:
    """The executed :func:`category_series` with every ``(category, period)`` present.

    Parameters
    ----------
    table
        The result of :func:`category_series` over the same ``start``, ``end``,
        ``granularity`` and ``tz``.
    categories
        Categories to include even without any purchase (all zeros); the categories in
        ``table`` are always included.

    Returns
    -------
    pyarrow.Table
        :data:`COLUMNS`: ``period_end`` added, missing pairs with ``orders = 0`` and
        ``revenue = 0.0``, revenue rounded to cents, ordered by category and period.
    """
    periods = demand_periods(start, end, granularity=granularity, tz=tz)
    found: dict[tuple[str, datetime], tuple[int, float]] = {}
    for row in table.to_pylist():
        key = (row["category"], _naive(row["period_start"]))
        found[key] = (int(row["orders"] or 0), float(row["revenue"] or 0.0))
    names = sorted({c for c, _ in found} | set(categories or ()))
    rows: dict[str, list[Any]] = {name: [] for name in COLUMNS}
    for name in names:
        for p in periods:
            orders, revenue = found.get((name, p.start), (0, 0.0))
            rows["category"].append(name)
            rows["period_start"].append(p.start)
            rows["period_end"].append(p.end)
            rows["orders"].append(orders)
            rows["revenue"].append(round(revenue, 2))
    schema = pa.schema(
        [
            ("category", pa.string()),
            ("period_start", pa.timestamp("us")),
            ("period_end", pa.timestamp("us")),
            ("orders", pa.int64()),
            ("revenue", pa.float64()),
        ]
    )
    return pa.table(rows, schema=schema)


def category_demand(
    src: Sources,
    start: datetime,
    end: datetime,
    *,
    granularity: str = "week",
    tz: str | ZoneInfo = DEFAULT_TZ,
    con: Any = None,
) -> pa.Table:
    """:func:`category_series` executed on ``con`` and completed by :func:`complete_series`."""
    from rapport.analytics.metrics import execute

    expr = category_series(src, start, end, granularity=granularity, tz=tz)
    return complete_series(execute(expr, con), start, end, granularity=granularity, tz=tz)


def _naive(value: datetime) -> datetime:
    """Engines return naive UTC; an aware value (some drivers) is converted."""
    if value.tzinfo is None:
        return value
    return value.astimezone(UTC).replace(tzinfo=None)


__all__ = [
    "COLUMNS",
    "DEMAND_GRANULARITIES",
    "UNCATEGORISED",
    "category_demand",
    "category_lines",
    "category_series",
    "complete_series",
    "demand_periods",
]
