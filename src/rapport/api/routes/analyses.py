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
the metrics worker processes (see :mod:`rapport.api.routes.metrics` for why the server never
attaches DuckDB itself); the demand forecast reads the forecaster that ``rapport models
fit`` saved in the model registry, and answers 404 (with that hint) when none is saved.
The figures are those of ``rapport cohorts|funnel|demand`` (both call
:mod:`rapport.analyses`).
"""

from __future__ import annotations

import datetime as dt
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from rapport.analyses import MAX_DEMAND_HORIZON, analysis_rows, demand_forecast
from rapport.api.deps import RulesDep, SettingsDep, require_role, require_scope
from rapport.api.errors import COMMON_RESPONSES, NOT_FOUND_RESPONSE
from rapport.api.routes import metrics as metrics_routes
from rapport.api.schemas.analyses import (
    CohortCell,
    CohortsResult,
    DemandForecastResult,
    DemandForecastRow,
    FunnelResult,
    FunnelStage,
)
from rapport.api.schemas.metrics import MetricsPeriod
from rapport.config import Settings
from rapport.domain import Role
from rapport.errors import RapportError, StoreUnavailable, ValidationFailed
from rapport.i18n.labels import t

router = APIRouter(tags=["analyses"])

READ = [
    Depends(require_scope("metrics:read")),
    Depends(require_role(Role.ADMIN, Role.MANAGER, Role.ANALYST)),
]

PeriodQuery = Annotated[
    str | None,
    Query(
        max_length=64,
        description="2024-01..2024-12, 2024Q1, 2024-03, or relative 90d/12w/6m/1y (default 12m).",
    ),
]
LastQuery = Annotated[
    str | None, Query(max_length=16, description="90d, 12w, 6m, 1y ending at as_of.")
]
AsOfQuery = Annotated[
    dt.date | None,
    Query(description="A local date: the analysis runs as of its end (default: now)."),
]


def _in_worker(name: str, settings: Settings, rules: Any, period: Any) -> tuple[str, Any]:
    """:func:`rapport.analyses.analysis_rows` in a metrics worker: ``("ok", result)`` or
    ``("error", details)`` (domain errors travel as plain values)."""
    try:
        return "ok", analysis_rows(name, settings, rules, period)
    except RapportError as exc:
        return "error", (type(exc).__name__, exc.message, exc.field, exc.hint)


def _run(name: str, request: Request, settings: Settings, rules: Any, period: Any) -> Any:
    """Run analysis ``name`` over the store the server serves, in a metrics worker."""
    url = request.app.state.engine.url.render_as_string(hide_password=False)
    store = settings.model_copy(update={"database_url": url})
    pool = metrics_routes._executor()
    try:
        future = pool.submit(_in_worker, name, store, rules, period)
        status, result = future.result(timeout=metrics_routes.TIMEOUT_SECONDS)
    except FutureTimeout as exc:
        future.cancel()
        raise StoreUnavailable(
            f"the {name} took longer than {metrics_routes.TIMEOUT_SECONDS:g} s",
            hint="ask for a shorter period",
        ) from exc
    except BrokenProcessPool as exc:
        metrics_routes._discard(pool)
        raise StoreUnavailable(
            "the analytics worker stopped unexpectedly", hint="retry; a new worker starts"
        ) from exc
    if status == "error":
        kind, message, field, hint = result
        if kind == "ValidationFailed":
            raise ValidationFailed(message, field=field, hint=hint)
        raise StoreUnavailable(f"{kind}: {message}", field=field, hint=hint)
    return result


def _window(
    period: str | None, last: str | None, as_of: dt.date | None, settings: Settings
) -> tuple[dt.datetime, Any]:
    moment = metrics_routes._as_of(as_of, settings)
    return moment, metrics_routes._period(period, last, moment, settings.tz)


def _period_body(window: Any, settings: Settings) -> MetricsPeriod:
    return MetricsPeriod(
        start=metrics_routes._utc(window.start),
        end=metrics_routes._utc(window.end),
        timezone=settings.timezone,
    )


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
    moment, window = _window(period, last, as_of, settings)
    engine, rows = _run("cohorts", request, settings, rules, window)
    data = [
        CohortCell(**{**r, "cohort_start": metrics_routes._utc(r["cohort_start"])}) for r in rows
    ]
    return CohortsResult(
        period=_period_body(window, settings),
        as_of=metrics_routes._utc(moment),
        engine=engine,
        data=data,
    )


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
    moment, window = _window(period, last, as_of, settings)
    engine, rows = _run("funnel", request, settings, rules, window)
    data = [
        FunnelStage(
            **r,
            label_zh=t(f"funnel.{r['stage']}", "zh_CN"),
            label_en=t(f"funnel.{r['stage']}", "en"),
        )
        for r in rows
    ]
    return FunnelResult(
        period=_period_body(window, settings),
        as_of=metrics_routes._utc(moment),
        engine=engine,
        data=data,
    )


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
    utc = metrics_routes._utc
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
