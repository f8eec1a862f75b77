"""``/metrics``: the metrics of docs/metrics.md over a period, a series or per group, and
their definitions.

=================================  ================================  ============
route                              roles                             scope
=================================  ================================  ============
GET /metrics                       admin, manager, analyst           metrics:read
GET /metrics/definitions           all                               metrics:read
=================================  ================================  ============

Metrics are aggregates over the whole store, so the roles bound to a slice of the
customers (sales: their own; service: those on their tickets) get 403 rather than
company-wide figures their row-level scope would not let them derive.

The metrics are :func:`rapport.analyses.metric_values` — the figures of ``rapport
metrics`` — run in an analytics worker process (:mod:`rapport.api.workers` says why the
server never attaches DuckDB itself); a grouping (``?by=``) is
:mod:`rapport.reports.groups`'.
"""

from __future__ import annotations

import math
from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from rapport.analyses import metric_rows
from rapport.analytics.metrics import METRICS, MetricDef
from rapport.analytics.periods import buckets
from rapport.api.deps import RulesDep, SettingsDep, require_role, require_scope
from rapport.api.errors import COMMON_RESPONSES
from rapport.api.periods import (
    AsOfQuery,
    LastQuery,
    PeriodQuery,
    as_of_moment,
    invalid,
    parse_period,
    utc,
)
from rapport.api.schemas.metrics import (
    MetricDefinition,
    MetricDefinitions,
    MetricsPeriod,
    MetricsResult,
    MetricValue,
)
from rapport.api.workers import run_in_worker, served_settings
from rapport.domain import Role
from rapport.reports.groups import GROUP_BY

router = APIRouter(prefix="/metrics", tags=["metrics"])

#: Result rows (metrics × buckets) one request may ask for.
MAX_ROWS = 100
#: Values of ``?by=``.
BY = GROUP_BY

READ = [Depends(require_scope("metrics:read"))]
MAY_COMPUTE = Depends(require_role(Role.ADMIN, Role.MANAGER, Role.ANALYST))


class Granularity(StrEnum):
    day = "day"
    week = "week"
    month = "month"
    quarter = "quarter"
    year = "year"


def _definition(metric: MetricDef) -> dict[str, str]:
    return {
        "id": metric.id,
        "label_zh": metric.label_zh,
        "label_en": metric.label_en,
        "unit": metric.unit,
        "formula": metric.formula,
    }


# --- routes --------------------------------------------------------------------------------


@router.get(
    "/definitions",
    response_model=MetricDefinitions,
    dependencies=READ,
    responses=COMMON_RESPONSES,
)
def metric_definitions() -> MetricDefinitions:
    """Every metric of docs/metrics.md: id, Chinese and English label, unit, formula."""
    data = [MetricDefinition(**_definition(m)) for m in METRICS.values()]
    return MetricDefinitions(data=data, count=len(data))


def _metric_ids(text: str | None) -> list[str]:
    if text is None:
        return list(METRICS)
    ids = [part.strip() for part in text.split(",") if part.strip()]
    unknown = [m for m in ids if m not in METRICS]
    if unknown or not ids:
        raise invalid(
            "query.metrics",
            f"unknown metric{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}"
            if unknown
            else "no metric named",
            value=text,
            hint=f"comma-separated ids of GET /metrics/definitions: {', '.join(METRICS)}",
        )
    return list(dict.fromkeys(ids))


def _number(value: Any) -> float | None:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return None
    return float(value)


@router.get(
    "",
    response_model=MetricsResult,
    dependencies=[*READ, MAY_COMPUTE],
    responses=COMMON_RESPONSES,
)
def get_metrics(
    request: Request,
    settings: SettingsDep,
    rules: RulesDep,
    metrics: Annotated[
        str | None,
        Query(max_length=1024, description="Comma-separated metric ids (default: all)."),
    ] = None,
    period: PeriodQuery = None,
    last: LastQuery = None,
    as_of: AsOfQuery = None,
    granularity: Annotated[
        Granularity | None, Query(description="A series: one value per bucket.")
    ] = None,
    by: Annotated[
        str | None,
        Query(max_length=32, description=f"Per group: one of {', '.join(BY)}."),
    ] = None,
) -> MetricsResult:
    """Metrics of docs/metrics.md over a half-open period, with numerator and denominator, per
    bucket with ``granularity`` and per group with ``by``. A rate whose denominator is
    empty is null."""
    ids = _metric_ids(metrics)
    if by is not None and by not in BY:
        raise invalid("query.by", "not a grouping", value=by, hint=f"use one of: {', '.join(BY)}")
    moment = as_of_moment(as_of, settings)
    window = parse_period(period, last, moment, settings.tz)
    unit = granularity.value if granularity else None
    if unit is not None:
        rows = len(buckets(window, unit, tz=settings.tz)) * len(ids)
        if rows > MAX_ROWS:
            raise invalid(
                "query.granularity",
                f"{rows} values asked for; at most {MAX_ROWS} per request",
                value=unit,
                hint="choose a coarser granularity, a shorter period or fewer metrics",
            )
    engine, rows_out = run_in_worker(
        metric_rows,
        served_settings(request, settings),
        rules,
        ids,
        window,
        moment,
        unit,
        by,
        what="metrics",
        hint="ask for fewer metrics, a shorter period or a coarser granularity",
    )
    data = []
    for row in rows_out:
        metric = METRICS[row["metric"]]
        data.append(
            MetricValue(
                **_definition(metric),
                segment=row.get("segment"),
                bucket_start=utc(row.get("bucket_start")),
                bucket_end=utc(row.get("bucket_end")),
                numerator=_number(row["numerator"]),
                denominator=_number(row["denominator"]),
                value=_number(row["value"]),
            )
        )
    return MetricsResult(
        period=MetricsPeriod(
            start=utc(window.start), end=utc(window.end), timezone=settings.timezone
        ),
        as_of=utc(moment),
        granularity=unit,
        by=by,
        engine=engine,
        data=data,
    )
