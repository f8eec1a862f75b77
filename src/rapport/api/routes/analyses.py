"""The analyses: cohort retention, the conversion funnel and the demand forecast.

=================================  ================================  ============
route                              roles                             scope
=================================  ================================  ============
GET /metrics/cohorts               admin, manager, analyst           metrics:read
GET /metrics/funnel                admin, manager, analyst           metrics:read
GET /forecast/demand               admin, manager, analyst           metrics:read
=================================  ================================  ============

Like ``GET /metrics``, these are aggregates over the whole store: the roles bound to a slice
of the customers (sales, service) get 403. Cohorts and funnel run on the analytics engine in
the worker processes (see :mod:`rapport.api.workers` for why the server never attaches
DuckDB itself); the demand forecast reads the forecaster that ``rapport models
fit`` saved in the model registry, and answers 404 (with that hint) when none is saved.
The figures are those of ``rapport cohorts|funnel|demand`` (both call
:mod:`rapport.analyses`).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from rapport.analyses import MAX_DEMAND_HORIZON, analysis_rows, demand_forecast
from rapport.api.deps import RulesDep, SettingsDep, require_role, require_scope
from rapport.api.errors import COMMON_RESPONSES, NOT_FOUND_RESPONSE
from rapport.api.periods import (
    AsOfQuery,
    LastQuery,
    PeriodQuery,
    as_of_moment,
    parse_period,
    utc,
)
from rapport.api.schemas.analyses import (
    CohortCell,
    CohortsResult,
    DemandForecastResult,
    DemandForecastRow,
    FunnelResult,
    FunnelStage,
)
from rapport.api.schemas.metrics import MetricsPeriod
from rapport.api.workers import run_in_worker, served_settings
from rapport.config import Settings
from rapport.domain import Role
from rapport.i18n.labels import t

router = APIRouter(tags=["analyses"])

READ = [
    Depends(require_scope("metrics:read")),
    Depends(require_role(Role.ADMIN, Role.MANAGER, Role.ANALYST)),
]


def _analysis(
    name: str,
    request: Request,
    settings: Settings,
    rules: Any,
    period: str | None,
    last: str | None,
    as_of: dt.date | None,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Run analysis ``name`` over the period asked for, on the store the server serves, in a
    worker process: the answer's ``period``, ``as_of`` and ``engine``, and the rows."""
    moment = as_of_moment(as_of, settings)
    window = parse_period(period, last, moment, settings.tz)
    store = served_settings(request, settings)
    engine, rows = run_in_worker(
        analysis_rows, name, store, rules, window, what=name, hint="ask for a shorter period"
    )
    body = MetricsPeriod(start=utc(window.start), end=utc(window.end), timezone=settings.timezone)
    return {"period": body, "as_of": utc(moment), "engine": engine}, rows


@router.get(
    "/metrics/cohorts",
    response_model=CohortsResult,
    dependencies=READ,
    responses=COMMON_RESPONSES,
)
def get_cohorts(
    request: Request,
    settings: SettingsDep,
    rules: RulesDep,
    period: PeriodQuery = None,
    last: LastQuery = None,
    as_of: AsOfQuery = None,
) -> CohortsResult:
    """Cohort retention (同期群留存): the buyers whose first purchase falls in each local
    month of the period, and the share of them purchasing in each month after."""
    head, rows = _analysis("cohorts", request, settings, rules, period, last, as_of)
    data = [CohortCell(**{**r, "cohort_start": utc(r["cohort_start"])}) for r in rows]
    return CohortsResult(**head, data=data)


@router.get(
    "/metrics/funnel",
    response_model=FunnelResult,
    dependencies=READ,
    responses=COMMON_RESPONSES,
)
def get_funnel(
    request: Request,
    settings: SettingsDep,
    rules: RulesDep,
    period: PeriodQuery = None,
    last: LastQuery = None,
    as_of: AsOfQuery = None,
) -> FunnelResult:
    """Conversion funnel (转化漏斗) of the leads created in the period: converted into a
    customer, first purchase, repeat purchase — each a subset of the stage before."""
    head, rows = _analysis("funnel", request, settings, rules, period, last, as_of)
    data = [
        FunnelStage(
            **r,
            label_zh=t(f"funnel.{r['stage']}", "zh_CN"),
            label_en=t(f"funnel.{r['stage']}", "en"),
        )
        for r in rows
    ]
    return FunnelResult(**head, data=data)


@router.get(
    "/forecast/demand",
    response_model=DemandForecastResult,
    dependencies=READ,
    responses={**COMMON_RESPONSES, **NOT_FOUND_RESPONSE},
)
def get_demand_forecast(
    settings: SettingsDep,
    horizon: Annotated[
        int,
        Query(ge=1, le=MAX_DEMAND_HORIZON, description="Periods (weeks) after the model's data."),
    ] = 8,
    version: Annotated[
        str | None,
        Query(max_length=64, pattern=r"^[0-9A-Za-z-]+$", description="A saved model version."),
    ] = None,
) -> DemandForecastResult:
    """Demand forecast per product category (需求预测): the next periods after the data the
    saved demand model was fitted on. 404 when no model is saved: fit one with
    ``rapport models fit``."""
    result = demand_forecast(settings, horizon=horizon, version=version)
    return DemandForecastResult(
        **{
            **result.meta(),
            "history_start": utc(result.history_start),
            "history_end": utc(result.history_end),
        },
        data=[
            DemandForecastRow(
                **{**r, "period_start": utc(r["period_start"]), "period_end": utc(r["period_end"])}
            )
            for r in result.rows
        ],
    )
