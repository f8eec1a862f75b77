"""Building blocks shared by the metric modules: purchases, per-buyer facts, results.

Every metric is built in two steps. First a *parts* table with one row per unit the metric
counts (a customer, a response, a ticket, a delivery, a lead), carrying ``customer_id`` (the
key that ``by`` segments on; null where the unit has no customer) and the unit's
contribution to the numerator and the denominator. Then one of :func:`rate`,
:func:`count`, :func:`median` sums those parts, overall or per segment, into the result
shape every metric returns::

    segment (only with ``by``) | numerator | denominator | value

``numerator``, ``denominator`` and ``value`` are ``float64``; ``value`` is null where the
denominator is zero or there is nothing to measure — never 0 and never an error. A segment
appears in a result when at least one of its units is counted (in the numerator or the
denominator).

Every metric function has the signature
``metric(src, period, *, rules, by=None) -> ibis.Table``:

src : Sources
    The canonical tables (any engine, or memtables in tests).
period : Period
    The half-open period ``[start, end)``; everything is judged as of ``end`` (an outcome
    after ``end`` — a conversion, a reply, an e-mail open — has not happened yet).
rules : Rules
    Business rules: ``activity.window_days`` (W), the SLA targets, ``business.gross_margin``.
by : ibis.Table, optional
    ``customer_id, segment``: the result per segment. Units whose customer has no row go to
    the null segment; a customer with several rows counts in each of their segments.

Time is always compared with ``[start, end)`` literals computed in Python, and durations
come from differences of epoch seconds, so the expressions stay in the portable subset
(DuckDB, PostgreSQL, Spark). Fractional constants go through :func:`const`: Ibis writes a
float literal as a bare numeral, which DuckDB, PostgreSQL and Spark all read as DECIMAL
(a column of ``1.0`` would be ``DECIMAL(2,1)`` and a ``UNION`` with it would round every
other row to one decimal).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import ibis
import ibis.expr.types as ir

from rapport.analytics.periods import Period
from rapport.analytics.sources import Sources
from rapport.config import Rules

FLOAT = "float64"
#: Churn for ``clv_simple`` is measured over this many days before ``end``.
CLV_CHURN_WINDOW_DAYS = 365
#: ``clv_simple`` caps the expected lifespan at this many years.
CLV_MAX_LIFESPAN_YEARS = 10.0
#: A year in days, for "per year" conversions.
DAYS_PER_YEAR = 365.25

MetricFunction = Callable[..., ir.Table]


@dataclass(frozen=True)
class MetricDef:
    """One metric of docs/metrics.md: its id, labels, unit, formula and the function building it.

    ``unit`` is one of ``percent``, ``count``, ``currency``, ``hours``, ``per_month``,
    ``score`` (0–100 normalized, or −100..100 for NPS) and ``ratio``.
    """

    id: str
    label_zh: str
    label_en: str
    unit: str
    formula: str
    function: MetricFunction


# --- time -------------------------------------------------------------------------------


def ts(value: datetime) -> ir.TimestampScalar:
    """A naive UTC timestamp literal."""
    return ibis.literal(value, type="timestamp")


def within(column: ir.TimestampValue, start: datetime, end: datetime) -> ir.BooleanValue:
    """``start <= column < end`` (null columns are outside)."""
    return (column >= ts(start)) & (column < ts(end))


def before(column: ir.TimestampValue, end: datetime) -> ir.BooleanValue:
    """``column`` is set and earlier than ``end`` (the as-of test: it had happened by then)."""
    return column.notnull() & (column < ts(end))


def seconds(column: ir.TimestampValue) -> ir.FloatingValue:
    """Seconds since the Unix epoch, as float64."""
    return column.epoch_seconds().cast(FLOAT)


def hours_between(start: ir.TimestampValue, end: ir.TimestampValue) -> ir.FloatingValue:
    """``end - start`` in hours (null when either is null)."""
    return (seconds(end) - seconds(start)) / 3600


def epoch(value: datetime) -> float:
    """Seconds since the Unix epoch of a naive UTC datetime."""
    return (value - datetime(1970, 1, 1)).total_seconds()


def const(value: float) -> ir.FloatingScalar:
    """A float64 constant that every engine types as DOUBLE (a cast from its text)."""
    return ibis.literal(repr(float(value))).cast(FLOAT)


def flag(condition: ir.BooleanValue) -> ir.FloatingValue:
    """1.0 where ``condition`` holds, else 0.0 (a null condition counts as 0)."""
    return ibis.ifelse(condition.fill_null(False), 1, 0).cast(FLOAT)


#: Decimals of money (the store's ``MONEY`` columns): money is summed in cents.
MONEY_DECIMALS = 2


def exact_sum(
    value: ir.NumericValue, *, decimals: int, where: ir.BooleanValue | None = None
) -> ir.FloatingValue:
    """The sum of ``value`` (float64) counted in units of ``10 ** -decimals``: each row is
    rounded to ``decimals`` decimals and the rows are added as integers, so the result does
    not depend on the order in which the engine adds them. A parallel engine adds floats
    in an order that varies from run to run (DuckDB's threads), and a float sum then moves
    in its last digits; this one is the same every run, on every engine.

    Where the rows hold at most ``decimals`` decimals (money in cents, configured weights)
    the result is the exact sum rounded once to float64. A row must stay below
    ``9.2e18 / 10 ** decimals`` in magnitude (int64). Null over no (or no matching) rows,
    like ``sum``.
    """
    scale = 10**decimals
    units = (value.cast(FLOAT) * const(scale)).round().cast("int64")
    return units.sum(where=where).cast(FLOAT) / const(scale)


# --- purchases and buyers ---------------------------------------------------------------


def purchases(src: Sources) -> ir.Table:
    """Orders that are purchases: those whose status is one of the business rule
    ``[business] purchase_statuses`` (default paid, shipped, completed). Cancelled and
    refunded orders never count; a partial refund is already deducted from ``net_amount``."""
    o = src.orders
    return o.filter(o.status.isin(src.purchase_statuses))


def window(rules: Rules) -> timedelta:
    """The activity window ``W``."""
    return timedelta(days=rules.activity.window_days)


def buyer_facts(src: Sources, period: Period, *, rules: Rules) -> ir.Table:
    """One row per buyer with a purchase before ``end``: activity flags and period totals.

    Columns
    -------
    customer_id
    active_start
        A purchase in ``[start - W, start)``: the customer counts in S.
    active_end
        A purchase in ``[end - W, end)``: the customer counts in E.
    active_year_before_end
        A purchase in ``[end - 365 d - W, end - 365 d)``: active at the start of the churn
        window of ``clv_simple``.
    new
        First purchase ever inside ``[start, end)``.
    purchases, revenue
        Purchases in ``[start, end)`` and the sum of their net amounts.
    """
    w = window(rules)
    start, end = period.start, period.end
    year_before = end - timedelta(days=CLV_CHURN_WINDOW_DAYS)
    p = purchases(src)
    p = p.filter(p.ordered_at < ts(end))
    in_period = within(p.ordered_at, start, end)
    return p.group_by("customer_id").aggregate(
        active_start=p.id.count(where=within(p.ordered_at, start - w, start)) > 0,
        active_end=p.id.count(where=within(p.ordered_at, end - w, end)) > 0,
        active_year_before_end=(
            p.id.count(where=within(p.ordered_at, year_before - w, year_before)) > 0
        ),
        new=p.ordered_at.min() >= ts(start),
        purchases=p.id.count(where=in_period).cast(FLOAT),
        revenue=p.net_amount.sum(where=in_period).cast(FLOAT).fill_null(const(0)),
    )


def parts(table: ir.Table, customer_id: ir.Value, **values: ir.Value) -> ir.Table:
    """Project ``table`` to ``customer_id`` plus float contributions named in ``values``."""
    return table.select(
        customer_id=customer_id.cast("int64"),
        **{name: value.cast(FLOAT) for name, value in values.items()},
    )


def union(*tables: ir.Table) -> ir.Table:
    """``UNION ALL`` of tables with the same columns."""
    return ibis.union(*tables, distinct=False) if len(tables) > 1 else tables[0]


# --- results ----------------------------------------------------------------------------


def segmented(table: ir.Table, by: ir.Table | None) -> tuple[ir.Table, list[str]]:
    """Attach ``by.segment`` to ``table`` on ``customer_id`` (left join; missing → null).

    A customer with several rows in ``by`` counts once in each of their segments.
    """
    if by is None:
        return table, []
    seg = by.select(_segment_customer_id=by.customer_id.cast("int64"), segment=by.segment)
    joined = table.left_join(seg, table.customer_id == seg._segment_customer_id)
    return joined.drop("_segment_customer_id"), ["segment"]


def finish(
    table: ir.Table,
    keys: list[str],
    numerator: ir.Value,
    denominator: ir.Value,
    value: Callable[[ir.Table], ir.Value],
) -> ir.Table:
    """Aggregate ``numerator``/``denominator`` per ``keys`` and add ``value``."""
    out = table.aggregate(
        by=keys,
        numerator=numerator.cast(FLOAT),
        denominator=denominator.cast(FLOAT),
    )
    return out.mutate(value=value(out).cast(FLOAT)).select(
        *keys, "numerator", "denominator", "value"
    )


def rate(parts: ir.Table, by: ir.Table | None = None, *, scale: float = 100.0) -> ir.Table:
    """``value = sum(num) / sum(den) * scale``; null when ``sum(den)`` is 0."""
    t, keys = segmented(parts, by)
    return finish(
        t,
        keys,
        t.num.sum().fill_null(const(0)),
        t.den.sum().fill_null(const(0)),
        lambda r: r.numerator * const(scale) / r.denominator.nullif(const(0)),
    )


def count(parts: ir.Table, by: ir.Table | None = None) -> ir.Table:
    """``value = numerator = sum(num)``; a count is 0 (not null) over nothing. The
    denominator is null: a count has none."""
    t, keys = segmented(parts, by)
    return finish(
        t,
        keys,
        t.num.sum().fill_null(const(0)),
        ibis.null(FLOAT),
        lambda r: r.numerator,
    )


def median(parts: ir.Table, by: ir.Table | None = None) -> ir.Table:
    """``value = median(x)`` over rows where ``x`` is set (interpolated between the two
    middle values); ``numerator`` = rows measured, ``denominator`` = all rows. Rows with a
    null ``x`` (not measurable, e.g. a ticket never answered) count only in the denominator,
    so ``denominator - numerator`` is how many were left out."""
    t, keys = segmented(parts, by)
    out = t.aggregate(
        by=keys,
        numerator=t.x.count().cast(FLOAT),
        denominator=t.count().cast(FLOAT),
        value=t.x.median().cast(FLOAT),
    )
    return out.select(*keys, "numerator", "denominator", "value")


def normalized(score: ir.NumericValue, lo: ir.NumericValue, hi: ir.NumericValue) -> ir.Value:
    """``100 * (score - scale_min) / (scale_max - scale_min)``."""
    return (score - lo) * 100 / (hi - lo).nullif(const(0))
