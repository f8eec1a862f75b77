"""``/metrics``: the metrics of METRICS.md over a period, a series or per segment, and
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

**Where the metrics run.** The metrics engine (:func:`rapport.analytics.metrics.evaluate`)
reads the store through DuckDB attached to it (:mod:`rapport.analytics.connect`). On a
SQLite store, DuckDB's own copy of SQLite must never open the WAL file that the server's
own SQLite connections hold open in the same process: the two copies do not share their
locks, and when one closes the file it can truncate the shared-memory file that the other
still has mapped — a SIGBUS that kills the server. So the server never attaches DuckDB:
every metrics request runs in a worker process (a small pool, started on first use with
``spawn``, never forked from the server's open connections), which attaches the store
read-only, computes, detaches and sends back plain rows. The same path serves PostgreSQL
stores, where it also keeps a heavy query's memory and CPU away from the request threads
and bounds how many run at once (:data:`WORKERS`; further requests queue). The worker sees
what is committed in the store.
"""

from __future__ import annotations

import datetime as dt
import math
import multiprocessing
import threading
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool
from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from rapport.analytics.metrics import METRICS, MetricDef
from rapport.analytics.periods import Period, buckets
from rapport.api.deps import RulesDep, SettingsDep, require_role, require_scope
from rapport.api.errors import COMMON_RESPONSES, ApiError
from rapport.api.schemas.metrics import (
    MetricDefinition,
    MetricDefinitions,
    MetricsPeriod,
    MetricsResult,
    MetricValue,
)
from rapport.cli.metrics import BY_ATTRIBUTES, BY_SCORES
from rapport.config import Rules, Settings
from rapport.domain import Role
from rapport.errors import RapportError, StoreUnavailable, ValidationFailed

router = APIRouter(prefix="/metrics", tags=["metrics"])

#: Worker processes computing metrics (requests beyond them queue).
WORKERS = 2
#: Seconds a request waits for its metrics before it gets 503.
TIMEOUT_SECONDS = 300.0
#: Result rows (metrics × buckets) one request may ask for.
MAX_ROWS = 100
#: Values of ``?by=``.
BY = (*BY_ATTRIBUTES, "age_band", *BY_SCORES)

READ = [Depends(require_scope("metrics:read"))]
MAY_COMPUTE = Depends(require_role(Role.ADMIN, Role.MANAGER, Role.ANALYST))


class Granularity(StrEnum):
    day = "day"
    week = "week"
    month = "month"
    quarter = "quarter"
    year = "year"


def _invalid(field: str, message: str, value: Any = None, hint: str | None = None) -> ApiError:
    return ApiError(
        422, "validation_failed", f"{field}: {message}", field=field, value=value, hint=hint
    )


def _definition(metric: MetricDef) -> dict[str, str]:
    return {
        "id": metric.id,
        "label_zh": metric.label_zh,
        "label_en": metric.label_en,
        "unit": metric.unit,
        "formula": metric.formula,
    }


# --- the worker ----------------------------------------------------------------------------

_pool: ProcessPoolExecutor | None = None
_pool_lock = threading.Lock()


def _executor() -> ProcessPoolExecutor:
    """The process's pool of metrics workers, started on first use (``spawn``: a worker
    never inherits the server's open store connections)."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ProcessPoolExecutor(
                max_workers=WORKERS, mp_context=multiprocessing.get_context("spawn")
            )
        return _pool


def _discard(pool: ProcessPoolExecutor) -> None:
    global _pool
    with _pool_lock:
        if _pool is pool:
            _pool = None
    pool.shutdown(wait=False, cancel_futures=True)


def shutdown_workers() -> None:
    """Stop the metrics workers (the next request starts new ones)."""
    global _pool
    with _pool_lock:
        pool, _pool = _pool, None
    if pool is not None:
        pool.shutdown(wait=True, cancel_futures=True)


def compute_rows(
    settings: Settings,
    rules: Rules,
    metric_ids: list[str],
    period: Period,
    granularity: str | None,
    by: str | None,
) -> tuple[str, list[dict[str, Any]]]:
    """Run the metrics on the configured engine over the store; the engine's name and the
    rows of :func:`~rapport.analytics.metrics.evaluate` (or ``series``). Runs in a worker
    process (see the module's note), never in the server's."""
    from rapport.analytics.connect import connect
    from rapport.analytics.metrics import evaluate, series
    from rapport.analytics.sources import Sources
    from rapport.cli.metrics import segment_table

    with connect(settings) as eng:
        src = Sources(eng, rules=rules)
        segments = segment_table(src, by) if by else None
        if granularity:
            table = series(
                metric_ids,
                src,
                period,
                granularity,
                rules=rules,
                by=segments,
                con=eng.con,
                tz=settings.tz,
            )
        else:
            table = evaluate(metric_ids, src, period, rules=rules, by=segments, con=eng.con)
        return eng.kind, table.to_pylist()


def _in_worker(*args: Any) -> tuple[str, Any]:
    """:func:`compute_rows` in a worker: ``("ok", result)`` or ``("error", details)``
    (domain errors travel as plain values: their keyword arguments do not pickle)."""
    try:
        return "ok", compute_rows(*args)
    except RapportError as exc:
        return "error", (type(exc).__name__, exc.message, exc.field, exc.hint)


def _run(*args: Any) -> tuple[str, list[dict[str, Any]]]:
    pool = _executor()
    try:
        future = pool.submit(_in_worker, *args)
        status, result = future.result(timeout=TIMEOUT_SECONDS)
    except FutureTimeout as exc:
        future.cancel()
        raise StoreUnavailable(
            f"the metrics took longer than {TIMEOUT_SECONDS:g} s",
            hint="ask for fewer metrics, a shorter period or a coarser granularity",
        ) from exc
    except BrokenProcessPool as exc:
        _discard(pool)
        raise StoreUnavailable(
            "the metrics worker stopped unexpectedly", hint="retry; a new worker starts"
        ) from exc
    if status == "error":
        name, message, field, hint = result
        if name == "ValidationFailed":
            raise ValidationFailed(message, field=field, hint=hint)
        raise StoreUnavailable(f"{name}: {message}", field=field, hint=hint)
    return result


# --- routes --------------------------------------------------------------------------------


@router.get(
    "/definitions",
    response_model=MetricDefinitions,
    dependencies=READ,
    responses=COMMON_RESPONSES,
)
def metric_definitions() -> MetricDefinitions:
    """Every metric of METRICS.md: id, Chinese and English label, unit, formula."""
    data = [MetricDefinition(**_definition(m)) for m in METRICS.values()]
    return MetricDefinitions(data=data, count=len(data))


def _metric_ids(text: str | None) -> list[str]:
    if text is None:
        return list(METRICS)
    ids = [part.strip() for part in text.split(",") if part.strip()]
    unknown = [m for m in ids if m not in METRICS]
    if unknown or not ids:
        raise _invalid(
            "query.metrics",
            f"unknown metric{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}"
            if unknown
            else "no metric named",
            value=text,
            hint=f"comma-separated ids of GET /metrics/definitions: {', '.join(METRICS)}",
        )
    return list(dict.fromkeys(ids))


def _as_of(day: dt.date | None, settings: Settings) -> dt.datetime:
    """The end of the local day ``day`` (the next local midnight), or now; naive UTC."""
    if day is None:
        return dt.datetime.now(dt.UTC).replace(tzinfo=None)
    try:
        local = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=settings.tz)
    except OverflowError as exc:
        raise _invalid("query.as_of", "out of range", value=str(day)) from exc
    return local.astimezone(dt.UTC).replace(tzinfo=None)


def _period(period: str | None, last: str | None, moment: dt.datetime, tz: Any) -> Period:
    if period is not None and last is not None:
        raise _invalid("query.period", "give period or last, not both", value=period)
    field, text = ("query.last", last) if last is not None else ("query.period", period or "12m")
    try:
        return Period.parse(text, as_of=moment, tz=tz)
    except (ValidationFailed, ValueError, OverflowError) as exc:
        message = exc.message if isinstance(exc, RapportError) else "not a period"
        hint = exc.hint if isinstance(exc, RapportError) else None
        raise _invalid(
            field,
            message,
            value=text,
            hint=hint or "e.g. 2024-01..2024-12, 2024Q1, 2024-03, or 90d, 12w, 6m, 1y",
        ) from exc


def _number(value: Any) -> float | None:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return None
    return float(value)


def _utc(value: Any) -> Any:
    return value.replace(tzinfo=dt.UTC) if isinstance(value, dt.datetime) else value


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
    period: Annotated[
        str | None,
        Query(
            max_length=64,
            description="2024-01..2024-12, 2024Q1, 2024-03, 2024-03-15, or relative 90d/12w/6m/1y"
            " (default 12m).",
        ),
    ] = None,
    last: Annotated[
        str | None, Query(max_length=16, description="90d, 12w, 6m, 1y ending at as_of.")
    ] = None,
    as_of: Annotated[
        dt.date | None,
        Query(description="A local date: the analysis runs as of its end (default: now)."),
    ] = None,
    granularity: Annotated[
        Granularity | None, Query(description="A series: one value per bucket.")
    ] = None,
    by: Annotated[
        str | None,
        Query(max_length=32, description=f"Per segment: one of {', '.join(BY)}."),
    ] = None,
) -> MetricsResult:
    """Metrics of METRICS.md over a half-open period, with numerator and denominator, per
    bucket with ``granularity`` and per segment with ``by``. A rate whose denominator is
    empty is null."""
    ids = _metric_ids(metrics)
    if by is not None and by not in BY:
        raise _invalid("query.by", "not a segment", value=by, hint=f"use one of: {', '.join(BY)}")
    moment = _as_of(as_of, settings)
    window = _period(period, last, moment, settings.tz)
    unit = granularity.value if granularity else None
    if unit is not None:
        rows = len(buckets(window, unit, tz=settings.tz)) * len(ids)
        if rows > MAX_ROWS:
            raise _invalid(
                "query.granularity",
                f"{rows} values asked for; at most {MAX_ROWS} per request",
                value=unit,
                hint="choose a coarser granularity, a shorter period or fewer metrics",
            )
    # The worker reads the store the server serves (the app's engine may have been given
    # apart from the settings).
    url = request.app.state.engine.url.render_as_string(hide_password=False)
    store = settings.model_copy(update={"database_url": url})
    engine, rows_out = _run(store, rules, ids, window, unit, by)
    data = []
    for row in rows_out:
        metric = METRICS[row["metric"]]
        data.append(
            MetricValue(
                **_definition(metric),
                segment=row.get("segment"),
                bucket_start=_utc(row.get("bucket_start")),
                bucket_end=_utc(row.get("bucket_end")),
                numerator=_number(row["numerator"]),
                denominator=_number(row["denominator"]),
                value=_number(row["value"]),
            )
        )
    return MetricsResult(
        period=MetricsPeriod(
            start=_utc(window.start), end=_utc(window.end), timezone=settings.timezone
        ),
        as_of=_utc(moment),
        granularity=unit,
        by=by,
        engine=engine,
        data=data,
    )
