"""The metrics of docs/metrics.md: the registry, and the one place where expressions run.

Each metric is a function named as its id in docs/metrics.md,
``metric(src, period, *, rules, by=None) -> ibis.Table``, returning ``numerator``,
``denominator`` and ``value`` (and ``segment`` first when ``by``, a table
``customer_id, segment``, is given). The functions only build Ibis expressions;
:func:`execute` — used by :func:`evaluate` and :func:`series` — is the only code that runs
one, on the backend the caller passes (or the one the tables are bound to).

Examples
--------
With ``src`` a :class:`~rapport.analytics.sources.Sources` and ``rules`` from
:func:`rapport.config.load_rules`::

    period = Period.parse("2024-01..2024-06", tz="Asia/Shanghai")
    evaluate(["customers_end", "retention_rate"], src, period, rules=rules, con=con)
    # pyarrow.Table: metric, numerator, denominator, value — one row per metric
    series(["customers_new"], src, period, "month", rules=rules, con=con)
    # the same with bucket_start / bucket_end, one row per metric and month
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any
from zoneinfo import ZoneInfo

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from rapport.analytics.metrics_base import MetricDef, MetricFunction, ts, union
from rapport.analytics.metrics_customers import (
    average_order_value,
    churn_rate,
    clv_simple,
    cohort_retention,
    conversion_rate,
    customer_growth_rate,
    customers_end,
    customers_new,
    customers_start,
    purchase_frequency,
    repurchase_rate,
    retention_rate,
)
from rapport.analytics.metrics_engagement import (
    complaint_rate,
    email_click_rate,
    email_open_rate,
    interaction_frequency,
    referral_rate,
    social_interactions_per_customer,
    social_share_rate,
)
from rapport.analytics.metrics_service import (
    first_response_time,
    resolution_time,
    sla_attainment,
)
from rapport.analytics.metrics_surveys import (
    csat,
    expectation_gap,
    nps,
    perceived_value,
    satisfaction_index,
)
from rapport.analytics.metrics_value import (
    cost_to_serve_ratio,
    maintenance_cost,
    maintenance_cost_per_customer,
    relationship_depth,
)
from rapport.analytics.periods import DEFAULT_TZ, Period, buckets
from rapport.analytics.sources import Sources
from rapport.config import Rules
from rapport.errors import ValidationFailed

UNITS = ("percent", "count", "currency", "hours", "per_month", "score", "ratio")
#: Sub-queries per executed ``UNION ALL`` (long series run as several queries).
QUERY_PARTS = 64

_DEFINITIONS: tuple[tuple[str, str, str, str, str, MetricFunction], ...] = (
    ("customers_start", "期初客户数", "Customers at start", "count",
     "S = buyers with a purchase in [start - W, start)", customers_start),
    ("customers_end", "期末客户数", "Customers at end", "count",
     "E = buyers with a purchase in [end - W, end)", customers_end),
    ("customers_new", "新增客户数", "New customers", "count",
     "N = buyers whose first purchase is in [start, end)", customers_new),
    ("retention_rate", "客户留存率", "Retention rate", "percent",
     "(E - N) / S * 100", retention_rate),
    ("cohort_retention", "同期群留存", "Cohort retention", "percent",
     "|S ∩ E| / S * 100", cohort_retention),
    ("churn_rate", "客户流失率", "Churn rate", "percent",
     "(S - |S ∩ E|) / S * 100", churn_rate),
    ("customer_growth_rate", "客户增长率", "Customer growth rate", "percent",
     "(E - S) / S * 100", customer_growth_rate),
    ("repurchase_rate", "复购率", "Repurchase rate", "percent",
     "buyers with >= 2 purchases in the period / buyers with >= 1 * 100", repurchase_rate),
    ("purchase_frequency", "购买频次", "Purchase frequency", "ratio",
     "purchases in the period / buyers in the period", purchase_frequency),
    ("average_order_value", "客单价", "Average order value", "currency",
     "net revenue of purchases in the period / purchases in the period",
     average_order_value),
    ("conversion_rate", "客户转化率", "Conversion rate", "percent",
     "leads created in the period converted before end / leads created in the period * 100",
     conversion_rate),
    ("nps", "净推荐值", "Net Promoter Score", "score",
     "latest nps answer per customer in the period: %promoters (9-10) - %detractors (0-6)",
     nps),
    ("csat", "客户满意度", "Customer satisfaction (CSAT)", "percent",
     "csat responses in the period in the top two points of their scale / responses * 100",
     csat),
    ("satisfaction_index", "满意度指数", "Satisfaction index", "score",
     "mean normalized score of csat responses in the period", satisfaction_index),
    ("complaint_rate", "投诉率", "Complaint rate", "percent",
     "customers with a complaint ticket opened in the period / E * 100", complaint_rate),
    ("interaction_frequency", "互动频率", "Interaction frequency", "per_month",
     "interactions in the period / E / (days / 30.4375)", interaction_frequency),
    ("email_open_rate", "邮件打开率", "E-mail open rate", "percent",
     "e-mail deliveries sent in the period and delivered: opened / delivered * 100",
     email_open_rate),
    ("email_click_rate", "邮件点击率", "E-mail click rate", "percent",
     "e-mail deliveries sent in the period and delivered: clicked / delivered * 100",
     email_click_rate),
    ("referral_rate", "推荐率", "Referral rate", "percent",
     "customers who referred at least once in the period / E * 100", referral_rate),
    ("first_response_time", "首次响应时长", "First response time", "hours",
     "median hours from opening to first response, tickets opened in the period",
     first_response_time),
    ("resolution_time", "解决时长", "Resolution time", "hours",
     "median hours from opening to resolution, tickets opened in the period",
     resolution_time),
    ("sla_attainment", "SLA达成率", "SLA attainment", "percent",
     "tickets due in the period meeting response and resolution targets / tickets due * 100",
     sla_attainment),
    ("perceived_value", "感知价值", "Perceived value", "score",
     "mean normalized score of perceived_value responses in the period", perceived_value),
    ("expectation_gap", "预期差距", "Expectation gap", "score",
     "mean over customers of (mean normalized csat - mean normalized expectation)",
     expectation_gap),
    ("clv_simple", "客户生命周期价值(简易)", "Customer lifetime value (simple)", "currency",
     "average_order_value * purchase_frequency * 365.25 / days"
     " * min(1 / churn over [end - 365 d, end), 10 years) * gross_margin",
     clv_simple),
    ("relationship_depth", "关系深度", "Relationship depth", "score",
     "mean over E of each customer's depth as of end: weighted mean of tenure, purchase"
     " frequency percentile, cross-buy breadth, contact intensity percentile, channel breadth",
     relationship_depth),
    ("maintenance_cost", "客户维护成本", "Maintenance cost", "currency",
     "interactions x channel cost + tickets opened x priority cost + deliveries sent"
     " x channel cost + points redeemed x point value, in the period ([costs])",
     maintenance_cost),
    ("maintenance_cost_per_customer", "单客维护成本", "Maintenance cost per customer",
     "currency", "maintenance_cost / E", maintenance_cost_per_customer),
    ("cost_to_serve_ratio", "服务成本收入比", "Cost-to-serve ratio", "percent",
     "maintenance_cost / net revenue of purchases in the period * 100", cost_to_serve_ratio),
    ("social_share_rate", "社交分享率", "Social share rate", "percent",
     "customers with a social_share event or a social-channel interaction in the period"
     " / E * 100", social_share_rate),
    ("social_interactions_per_customer", "人均社交互动", "Social interactions per customer",
     "ratio", "social_share events + social-channel interactions in the period / E",
     social_interactions_per_customer),
)  # fmt: skip

#: Every metric of docs/metrics.md by id, in the order of docs/metrics.md.
METRICS: dict[str, MetricDef] = {
    row[0]: MetricDef(
        id=row[0], label_zh=row[1], label_en=row[2], unit=row[3], formula=row[4], function=row[5]
    )
    for row in _DEFINITIONS
}


def definition(metric_id: str) -> MetricDef:
    """The definition of ``metric_id``.

    Raises
    ------
    ValidationFailed
        For an unknown id; the hint lists the known ones.
    """
    try:
        return METRICS[metric_id]
    except KeyError:
        raise ValidationFailed(
            "unknown metric {metrics!r}",
            field="metric",
            value=metric_id,
            hint="use one of: {ids}",
            key="metrics_unknown",
            params={"metrics": metric_id, "ids": ", ".join(METRICS)},
            hint_key="metrics_unknown.hint",
        ) from None


def _ids(metric_ids: str | Iterable[str]) -> list[str]:
    ids = [metric_ids] if isinstance(metric_ids, str) else list(metric_ids)
    for metric_id in ids:
        definition(metric_id)
    return ids


def metric_expr(
    metric_id: str,
    src: Sources,
    period: Period,
    *,
    rules: Rules,
    by: ir.Table | None = None,
) -> ir.Table:
    """The metric's result expression with ``metric`` (its id) as first column and the
    segment, when any, as a string."""
    result = definition(metric_id).function(src, period, rules=rules, by=by)
    keys = {"segment": result.segment.cast("string")} if by is not None else {}
    return result.select(
        metric=ibis.literal(metric_id),
        **keys,
        numerator=result.numerator,
        denominator=result.denominator,
        value=result.value,
    )


def execute(expr: ir.Expr, con: Any = None, *, batch_rows: int | None = None) -> pa.Table:
    """Run ``expr`` on ``con`` (an Ibis backend) or, without one, on the backend its tables
    are bound to; the result as a :class:`pyarrow.Table`. The only function in the
    analytics that executes anything.

    With ``batch_rows``, the result of a table expression is fetched ``batch_rows`` rows at a
    time, each batch converted to the expression's schema as a whole result would be: a
    large result is then never held twice, once as the engine's and once as Arrow's (the
    scores of 1,000,000 customers rose the process's memory by 1.4 GB fetched whole, 0.9 GB
    in batches of 100,000; docs/benchmarks.md).
    """
    if batch_rows is None or not isinstance(expr, ir.Table):
        return con.to_pyarrow(expr) if con is not None else expr.to_pyarrow()
    if con is not None:
        reader = con.to_pyarrow_batches(expr, chunk_size=batch_rows)
    else:
        reader = expr.to_pyarrow_batches(chunk_size=batch_rows)
    try:
        # the batches come as the engine gives them (DuckDB: its own integer and decimal
        # types); each is converted as ibis converts a whole result
        parts = [expr.__pyarrow_result__(pa.Table.from_batches([batch])) for batch in reader]
    finally:
        reader.close()
    if not parts:
        return expr.schema().to_pyarrow().empty_table()
    return pa.concat_tables(parts)


def _run(exprs: Sequence[ir.Table], con: Any) -> pa.Table:
    """Execute ``exprs`` (same columns) as few ``UNION ALL`` queries and stack the rows."""
    tables = [
        execute(union(*exprs[i : i + QUERY_PARTS]), con) for i in range(0, len(exprs), QUERY_PARTS)
    ]
    return pa.concat_tables(tables) if len(tables) > 1 else tables[0]


def _ordered(table: pa.Table, ids: list[str], keys: list[str]) -> pa.Table:
    """Rows in the order of ``ids``, then by ``keys`` (nulls last)."""
    position = {metric_id: i for i, metric_id in enumerate(ids)}
    order = pa.array([position[m] for m in table.column("metric").to_pylist()], pa.int64())
    table = table.append_column("_position", order)
    sort = [("_position", "ascending"), *((k, "ascending") for k in keys)]
    return table.sort_by(sort).drop_columns(["_position"])


def evaluate(
    metric_ids: str | Iterable[str],
    src: Sources,
    period: Period,
    *,
    rules: Rules,
    by: ir.Table | None = None,
    con: Any = None,
) -> pa.Table:
    """Compute metrics over one period, in one query.

    Parameters
    ----------
    metric_ids
        Ids of :data:`METRICS` (one id or several).
    src
        The canonical tables.
    period
        The half-open period ``[start, end)``.
    rules
        Business rules (activity window, SLA targets, gross margin).
    by
        Optional table ``customer_id, segment``: results per segment; customers without a
        row fall into the null segment.
    con
        The Ibis backend to run on; default: the backend ``src``'s tables are bound to.

    Returns
    -------
    pyarrow.Table
        ``metric``, ``segment`` (string, only with ``by``), ``numerator``, ``denominator``,
        ``value``; one row per metric (and segment), in the order of ``metric_ids``.
    """
    ids = _ids(metric_ids)
    exprs = [metric_expr(m, src, period, rules=rules, by=by) for m in ids]
    keys = ["segment"] if by is not None else []
    return _ordered(_run(exprs, con), ids, keys)


def series(
    metric_ids: str | Iterable[str],
    src: Sources,
    period: Period,
    granularity: str,
    *,
    rules: Rules,
    by: ir.Table | None = None,
    con: Any = None,
    tz: str | ZoneInfo = DEFAULT_TZ,
) -> pa.Table:
    """Compute metrics for each day, week, month, quarter or year of ``period``.

    Each bucket is a period of its own (:func:`rapport.analytics.periods.buckets`: local
    calendar boundaries of ``tz``, the first and last clipped to ``period``), so e.g.
    ``customers_start`` of a month is the base active at that month's start.

    Returns
    -------
    pyarrow.Table
        As :func:`evaluate`, with ``bucket_start`` and ``bucket_end`` (naive UTC) after
        ``metric``; ordered by metric, bucket, segment.
    """
    ids = _ids(metric_ids)
    exprs = []
    for bucket in buckets(period, granularity, tz=tz):
        for metric_id in ids:
            e = metric_expr(metric_id, src, bucket, rules=rules, by=by)
            exprs.append(
                e.mutate(bucket_start=ts(bucket.start), bucket_end=ts(bucket.end)).relocate(
                    "bucket_start", "bucket_end", after="metric"
                )
            )
    if not exprs:
        return _empty_series(by is not None)
    keys = ["bucket_start", *(["segment"] if by is not None else [])]
    return _ordered(_run(exprs, con), ids, keys)


def _empty_series(segmented: bool) -> pa.Table:
    fields = [
        ("metric", pa.string()),
        ("bucket_start", pa.timestamp("us")),
        ("bucket_end", pa.timestamp("us")),
        *([("segment", pa.string())] if segmented else []),
        ("numerator", pa.float64()),
        ("denominator", pa.float64()),
        ("value", pa.float64()),
    ]
    return pa.schema(fields).empty_table()


__all__ = [
    "METRICS",
    "UNITS",
    "MetricDef",
    "average_order_value",
    "churn_rate",
    "clv_simple",
    "cohort_retention",
    "complaint_rate",
    "conversion_rate",
    "cost_to_serve_ratio",
    "csat",
    "customer_growth_rate",
    "customers_end",
    "customers_new",
    "customers_start",
    "definition",
    "email_click_rate",
    "email_open_rate",
    "evaluate",
    "execute",
    "expectation_gap",
    "first_response_time",
    "interaction_frequency",
    "maintenance_cost",
    "maintenance_cost_per_customer",
    "metric_expr",
    "nps",
    "perceived_value",
    "purchase_frequency",
    "referral_rate",
    "relationship_depth",
    "repurchase_rate",
    "resolution_time",
    "retention_rate",
    "satisfaction_index",
    "series",
    "sla_attainment",
    "social_interactions_per_customer",
    "social_share_rate",
]
