"""分析 Analysis (``/analysis``): the analysts' explorer of the metrics and the snapshots.

* *Metrics explorer*: any metric of docs/metrics.md over a period, overall or per bucket
  (granularity) and per group (segment), with its definition, numerator and denominator —
  :func:`rapport.analyses.metric_values` (through :func:`rapport.analyses.metric_rows`,
  the call ``GET /metrics`` makes), run in an analytics worker process
  (:mod:`rapport.workers`), never in the request thread.
* *Cohort retention*: :func:`rapport.analyses.cohort_rows` (``GET /metrics/cohorts``), in a
  worker too, as a heatmap and a table.
* *The latest snapshot*: the RFM grid (R × F, :func:`rapport.reports.analysis.rfm_grid`),
  the RFM segments, value tiers and lifecycle stages
  (:func:`rapport.reports.snapshots.group_summary`), the movements between the previous
  snapshot and the latest as a Sankey (:func:`rapport.reports.snapshots.movements`) and the
  predicted CLV's distribution (:func:`rapport.reports.analysis.clv_distribution`), within
  the user's :class:`~rapport.access.CustomerScope` — aggregates only, no customer named.

Every section is a fragment the page loads with HTMX after it is shown; the engine's
figures are kept in the process for :data:`CACHE_SECONDS` per (store, as-of moment,
question). The as-of moment is the end of the latest snapshot's day (as on the overview),
so a new snapshot asks anew.

Sales users and service agents get the forbidden page: metrics are company-wide figures
(the API's ``GET /metrics`` refuses them too). The tables and charts are drawn by
:mod:`rapport.web.figures.analysis`.
"""

from __future__ import annotations

import datetime as dt
import functools
import threading
import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from rapport.access import CustomerScope, Principal
from rapport.analyses import analysis_rows, metric_rows
from rapport.analytics.metrics import METRICS
from rapport.analytics.periods import Period, buckets, day_end
from rapport.domain import Role
from rapport.errors import RapportError
from rapport.i18n.errors import error_text
from rapport.models import clusters as clustering
from rapport.reports import analysis as distributions
from rapport.reports import prepared, snapshots
from rapport.reports import snapshot_cache as kept
from rapport.reports.groups import GROUP_BY
from rapport.reports.overview import snapshot_days
from rapport.web import render
from rapport.web.auth import roles
from rapport.web.figures import analysis as ui
from rapport.web.figures import clusters as clusters_ui
from rapport.web.i18n import Formatter
from rapport.web.nav import NavEntry
from rapport.workers import run_in_worker, store_settings

router = APIRouter(include_in_schema=False)
ALLOWED = prepared.ANALYSIS_ROLES
NAV = NavEntry(path="/analysis", key="nav.analysis", order=60, roles=ALLOWED)
Viewer = Annotated[Principal, Depends(roles(*ALLOWED))]

#: Periods the explorer offers (relative periods of ``Period.parse``), the first the default.
PERIODS = ("90d", "30d", "12m", "24m")
#: Granularities the explorer offers ("" is the whole period).
GRANULARITIES = ("", "week", "month", "quarter")
#: Values (buckets × segments) one explorer question may ask for.
MAX_VALUES = 600
#: The period of the cohort matrix.
COHORT_PERIOD = "12m"
DEFAULT_METRIC = "retention_rate"
#: The groupings the movements can be drawn by.
MOVE_BY = snapshots.GROUPINGS
#: Seconds an engine result is kept, and how many results at most.
CACHE_SECONDS = 3600
CACHE_ENTRIES = 64
#: The id of the explorer's form (HTMX names it in ``HX-Trigger``).
EXPLORER_FORM = "explorer-form"

_cache: dict[tuple[Any, ...], tuple[float, Any]] = {}
_cache_lock = threading.Lock()


# --- the page ----------------------------------------------------------------------------------


@router.get("/analysis")
def analysis_page(request: Request, user: Viewer) -> Response:
    """The frame: the explorer's form (its choices from the address) and the sections, each
    loaded next as a fragment."""
    question = _question(request)
    fmt = render.formatter(request)
    with request.app.state.sessions() as session:
        latest, previous = snapshot_days(session)
    context = {
        "q": question,
        "metrics": [(m, ui.metric_label(m, fmt)) for m in METRICS],
        "periods": PERIODS,
        "granularities": GRANULARITIES,
        "groupings": GROUP_BY,
        "move_by": MOVE_BY,
        "explorer_form": EXPLORER_FORM,
        "latest": latest,
        "previous": previous,
        "team_scope": user.role is Role.MANAGER,
        "query": _query_string(question),
    }
    return render.page(request, "analysis.html", context)


@router.get("/analysis/metrics")
def analysis_metrics(request: Request, user: Viewer) -> Response:
    """The explorer's answer: the metric's values with numerator and denominator, a chart
    and a table, and the metric's definition."""
    fmt = render.formatter(request)
    q = _question(request)
    metric = METRICS[q["metric"]]
    context: dict[str, Any] = {"q": q, "metric": metric, "label": ui.metric_label(metric.id, fmt)}
    try:
        period, rows = explorer_rows(request, q)
    except RapportError as exc:
        context["reason"] = error_text(exc, fmt.locale)
        return render.page(request, "analysis_failed.html", context)
    table = [ui.metric_row(r, q, metric.unit, fmt) for r in rows]
    context.update(
        period=period,
        rows=table,
        chart=ui.as_json(ui.metric_chart(rows, q, metric.unit, fmt)),
        definition=fmt.t(f"analysis.def.{metric.id}"),
        formula=metric.formula,
    )
    response = render.page(request, "analysis_metrics.html", context)
    if request.headers.get("hx-trigger") == EXPLORER_FORM:  # the question stays in the address
        response.headers["HX-Push-Url"] = "/analysis?" + _query_string(q)
    return response


@router.get("/analysis/cohorts")
def analysis_cohorts(request: Request, user: Viewer) -> Response:
    """Cohort retention over the last 12 months as a heatmap and a table."""
    fmt = render.formatter(request)
    try:
        period, rows = cohort_rows(request)
    except RapportError as exc:
        return render.page(
            request, "analysis_failed.html", {"reason": error_text(exc, fmt.locale), "q": None}
        )
    cohorts = list(dict.fromkeys(r["cohort"] for r in rows))
    offsets = sorted({r["month_offset"] for r in rows})
    cells = {(r["cohort"], r["month_offset"]): r for r in rows}
    table = [
        {
            "cohort": c,
            "customers": fmt.number(cells[(c, 0)]["customers"]) if (c, 0) in cells else fmt.DASH,
            "cells": [ui.cohort_cell(cells.get((c, o)), fmt) for o in offsets],
        }
        for c in cohorts
    ]
    context = {
        "period": period,
        "offsets": offsets,
        "table": table,
        "chart": ui.as_json(ui.cohort_chart(rows, cohorts, offsets, fmt)),
    }
    return render.page(request, "analysis_cohorts.html", context)


@router.get("/analysis/snapshot")
def analysis_snapshot(request: Request, user: Viewer) -> Response:
    """The latest snapshot's RFM grid, segments, tiers and stages, movements since the
    previous snapshot and CLV distribution, within the user's scope."""
    rules = request.app.state.rules
    scope = CustomerScope(user)
    fmt = render.formatter(request)
    move_by = request.query_params.get("move_by")
    move_by = move_by if move_by in MOVE_BY else prepared.MOVE_BY
    with request.app.state.sessions() as session:
        latest, previous = snapshot_days(session)
        if latest is None:
            return render.page(request, "analysis_none.html")
        grid = kept.rfm_grid(session, day=latest, scope=scope)
        groups = {
            by: kept.group_summary(session, by=by, day=latest, rules=rules, scope=scope)
            for by in snapshots.GROUPINGS
        }
        moves = (
            kept.movements(session, by=move_by, before=previous, after=latest, scope=scope)
            if previous
            else None
        )
        clv = kept.clv_distribution(session, day=latest, scope=scope)
        correlations = kept.degree_correlations(session, day=latest, scope=scope)
    context = {
        "correlations": ui.correlation_table(correlations, fmt),
        "correlations_chart": ui.as_json(ui.correlation_chart(correlations, fmt)),
        "latest": latest,
        "previous": previous,
        "grid": ui.grid_table(grid, fmt),
        "grid_chart": ui.as_json(ui.grid_chart(grid, fmt)),
        "groups": [
            {
                "by": by,
                "rows": [ui.group_row(by, g, fmt) for g in rows],
                "chart": ui.as_json(ui.group_chart(by, rows, fmt)),
            }
            for by, rows in groups.items()
        ],
        "move_by": move_by,
        "move_bys": MOVE_BY,
        "moves": None if moves is None else [ui.move_row(move_by, m, fmt) for m in moves],
        "moves_chart": None if not moves else ui.as_json(ui.sankey(move_by, moves, fmt)),
        "clv": [ui.clv_row(b, fmt) for b in clv],
        "clv_chart": ui.as_json(ui.clv_chart(clv, fmt)) if clv else None,
    }
    response = render.page(request, "analysis_snapshot.html", context)
    return response


@router.get("/analysis/chain")
def analysis_chain(request: Request, user: Viewer) -> Response:
    """The chain satisfaction → loyalty → engagement → advocacy of the latest snapshot,
    within the user's scope (:func:`rapport.reports.analysis.chain_rows`, in a worker)."""
    fmt = render.formatter(request)
    try:
        chain = chain_of(request, user)
    except RapportError as exc:
        return _failed(request, exc, fmt)
    if chain is None:
        return render.page(request, "analysis_chain.html", {"links": None})
    context = {"links": [ui.link_row(link, fmt) for link in chain["links"]]}
    return render.page(request, "analysis_chain.html", context)


@router.get("/analysis/clusters")
def analysis_clusters(request: Request, user: Viewer) -> Response:
    """The behavioural clusters of the latest snapshot, every customer's
    (:func:`rapport.models.clusters.cluster_summary`, what ``rapport clusters`` runs, in a
    worker): size, share, distinguishing features, demographics and the criterion."""
    fmt = render.formatter(request)
    try:
        found = clusters_of(request)
    except RapportError as exc:
        return _failed(request, exc, fmt)
    if found is None:
        return render.page(request, "analysis_clusters.html", {"found": None})
    return render.page(request, "analysis_clusters.html", clusters_ui.clusters_context(found, fmt))


@router.get("/analysis/accuracy")
def analysis_accuracy(request: Request, user: Viewer) -> Response:
    """What the model registry holds about the latest fits
    (:func:`rapport.reports.analysis.saved_models`), and how to produce a backtest."""
    fmt = render.formatter(request)
    with request.app.state.sessions() as session:
        latest, _ = snapshot_days(session)
    rows = [
        {
            "kind": m["kind"],
            "label": fmt.t(f"analysis.model.{m['kind']}"),
            "fitted": fmt.datetime(m["fitted_at"]),
            "moment": fmt.date(m["data_until"]),
            "customers": fmt.number(m["customers"]),
            "log_likelihood": fmt.number(m["log_likelihood"], 1),
        }
        for m in model_fits(request)
    ]
    day = (latest or dt.datetime.now(dt.UTC).date()).isoformat()
    return render.page(request, "analysis_accuracy.html", {"models": rows, "day": day})


# --- what the fragments show (and the exports download) ------------------------------------


def explorer_rows(
    request: Request, q: dict[str, str] | None = None
) -> tuple[Period, list[dict[str, Any]]]:
    """The explorer's question ``q`` (by default from the address) answered: its period
    and the metric's rows (:func:`rapport.analyses.metric_rows`, kept or in a
    worker); too many values are refused (:class:`~rapport.errors.ValidationFailed`)."""
    q = q or _question(request)
    as_of = _as_of(request)
    zone = render.settings_of(request).tz
    period = Period.parse(q["period"], as_of=as_of, tz=zone)
    if q["granularity"]:
        count = len(buckets(period, q["granularity"], tz=zone))
        if count > MAX_VALUES:
            raise _too_many(count)
    rows = _cached(
        request,
        ("metrics", as_of, q["metric"], q["period"], q["granularity"], q["by"]),
        functools.partial(
            metric_rows,
            metric_ids=[q["metric"]],
            period=period,
            moment=as_of,
            granularity=q["granularity"] or None,
            by=q["by"] or None,
        ),
        what="metrics",
    )
    if len(rows) > MAX_VALUES:
        raise _too_many(len(rows))
    return period, rows


def question(request: Request) -> dict[str, str]:
    """The explorer's question from the address (unknown values as the defaults)."""
    return _question(request)


def cohort_rows(request: Request) -> tuple[Period, list[dict[str, Any]]]:
    """Cohort retention over the last 12 months: its period and a row per cohort and
    month offset (kept, or in a worker)."""
    as_of = _as_of(request)
    period = Period.parse(COHORT_PERIOD, as_of=as_of, tz=render.settings_of(request).tz)
    rows = _cached(
        request,
        ("cohorts", as_of),
        functools.partial(analysis_rows, "cohorts", period=period),
        what="cohorts",
    )
    return period, rows


def chain_of(request: Request, user: Principal) -> dict[str, Any] | None:
    """The chain of the degrees of the latest snapshot within ``user``'s scope
    (:func:`rapport.reports.analysis.chain_rows`), ``None`` without a snapshot."""
    with request.app.state.sessions() as session:
        latest, _ = snapshot_days(session)
    if latest is None:
        return None
    everyone = CustomerScope(user).clause() is None
    who = None if everyone else (user.role, user.team, user.user_id)
    chain: dict[str, Any] | None = _cached(
        request,
        ("chain", latest, who),
        functools.partial(distributions.chain_rows, day=latest, principal=user),
        what="chain of the degrees",
        pair=False,
    )
    return chain


def clusters_of(request: Request) -> dict[str, Any] | None:
    """The behavioural clusters of the latest snapshot
    (:func:`rapport.models.clusters.cluster_summary`), ``None`` without a snapshot or with
    too few distinct customers to cluster."""
    with request.app.state.sessions() as session:
        latest, _ = snapshot_days(session)
    if latest is None:
        return None
    try:
        found: dict[str, Any] | None = _cached(
            request,
            ("clusters", latest),
            functools.partial(clustering.cluster_summary, as_of=latest),
            what="clusters",
            pair=False,
        )
    except ValueError:  # too few distinct customers to cluster
        return None
    return found


def model_fits(request: Request) -> list[dict[str, Any]]:
    """The latest saved fit of each model (:func:`rapport.reports.analysis.saved_models`)
    as the accuracy section shows it: ``kind``, ``fitted_at`` (naive UTC), ``data_until``
    (a moment of the data's last day, naive UTC, or None), ``customers`` and
    ``log_likelihood``."""
    return [
        {
            "kind": m["kind"],
            "fitted_at": _moment(m["created_at"]),
            "data_until": _last_day(_moment(m["moment"])),
            "customers": m["customers"],
            "log_likelihood": m["metrics"].get("log_likelihood"),
        }
        for m in distributions.saved_models(render.settings_of(request))
    ]


def _failed(request: Request, exc: RapportError, fmt: Formatter) -> Response:
    return render.page(
        request, "analysis_failed.html", {"reason": error_text(exc, fmt.locale), "q": None}
    )


# --- the question and the engine ---------------------------------------------------------------


def _question(request: Request) -> dict[str, str]:
    """The explorer's question from the address, each unknown value replaced by the
    default (a hand-edited address never fails)."""
    p = request.query_params
    metric = p.get("metric")
    period = p.get("period")
    granularity = p.get("granularity") or ""
    by = p.get("by") or ""
    return {
        "metric": metric if metric in METRICS else DEFAULT_METRIC,
        "period": period if period in PERIODS else PERIODS[0],
        "granularity": granularity if granularity in GRANULARITIES else "",
        "by": by if by in GROUP_BY else "",
    }


def _query_string(q: dict[str, str]) -> str:
    return "&".join(f"{k}={v}" for k, v in q.items() if v)


def _as_of(request: Request) -> dt.datetime:
    """The end of the latest snapshot's day (naive UTC), else the current hour."""
    with request.app.state.sessions() as session:
        latest, _ = snapshot_days(session)
    if latest is not None:
        return day_end(latest, render.settings_of(request).tz)
    return dt.datetime.now(dt.UTC).replace(tzinfo=None, minute=0, second=0, microsecond=0)


def _too_many(count: int) -> RapportError:
    from rapport.errors import ValidationFailed

    return ValidationFailed(
        "{count} values asked for; at most {maximum}",
        field="granularity",
        hint="choose a coarser granularity, a shorter period or no segment",
        key="analysis_too_many_values",
        params={"count": count, "maximum": MAX_VALUES},
    )


def _cached(
    request: Request, key: tuple[Any, ...], work: Any, *, what: str, pair: bool = True
) -> Any:
    """The result of ``work(settings, rules)`` run in a worker, or its kept result: its rows
    when it returns ``(engine, rows)`` (``pair``), else what it returns."""
    settings = store_settings(render.settings_of(request), request.app.state.engine)
    full = (settings.database_url, *key)
    now = time.monotonic()
    with _cache_lock:
        found = _cache.get(full)
        if found is not None and now - found[0] < CACHE_SECONDS:
            return found[1]
    result = run_in_worker(
        work,
        settings,
        request.app.state.rules,
        what=what,
        hint="retry in a moment; the analytics workers may be busy",
    )
    if pair:
        result = result[1]  # (engine, rows)
    with _cache_lock:
        _cache[full] = (now, result)
        while len(_cache) > CACHE_ENTRIES:
            _cache.pop(next(iter(_cache)))
    return result


def clear_cache() -> None:
    """Forget every kept result (the next fragment asks a worker)."""
    with _cache_lock:
        _cache.clear()


# --- values ------------------------------------------------------------------------------------


def _moment(value: str | None) -> dt.datetime | None:
    """An ISO moment of the model registry (naive: UTC) as a datetime."""
    return None if not value else dt.datetime.fromisoformat(value)


def _last_day(moment: dt.datetime | None) -> dt.datetime | None:
    """The moment a model's data ends (the end of its last day) as a moment of that day."""
    return None if moment is None else moment - dt.timedelta(microseconds=1)
