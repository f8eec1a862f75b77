"""总览 Overview (``/overview``): the landing page of admins, managers and analysts.

What the relationships look like in the latest score snapshot and how they moved since the
one before — the four degrees and the relationship index over the snapshots, customers and
revenue per value tier (a pyramid), the diamond customers and who became or stopped being
one, the lifecycle stages, the value at risk — read from ``customer_scores`` within the
user's :class:`~rapport.access.CustomerScope` (:mod:`rapport.reports.overview`,
:mod:`rapport.reports.snapshots`); and the company's headline metrics against the previous
period with their monthly sparklines and the retention, churn, NPS and CSAT trends
(:func:`rapport.reports.overview.metric_overview`).

The metrics need the analytics engine, which a server runs only in its worker processes
(:mod:`rapport.workers`); they are a fragment (``/overview/metrics``) the page loads with
HTMX after it is shown, so the page itself never waits for the engine. They are measured
to the end of the latest snapshot's day and kept with that snapshot: in the store
(:func:`rapport.reports.prepared.kept_metrics` — the scoring run computes the first
period's right after the snapshot, a worker any other period's on its first request), and
in the process for :data:`CACHE_SECONDS` per (store, as-of moment, period, snapshot). A new
snapshot, even of the same date, asks anew.

Sales users and service agents get the forbidden page: they have pages of their own, and
the metrics are company-wide figures their scope would not let them derive (as the API's
``GET /metrics`` refuses them). The cards, tables and charts are drawn by
:mod:`rapport.web.figures.overview`.
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
from rapport.analytics.periods import day_end
from rapport.domain import Role
from rapport.errors import RapportError
from rapport.i18n.errors import error_text
from rapport.reports import monthly, prepared
from rapport.reports import overview as figures
from rapport.reports import snapshot_cache as kept
from rapport.reports.monthly_render import FORMATS, MEDIA_TYPES, file_name
from rapport.reports.monthly_render import render as render_report
from rapport.store.scores import snapshot_dates
from rapport.web import render
from rapport.web.auth import audit_read, roles
from rapport.web.figures import overview as ui
from rapport.web.figures.overview import DEGREES
from rapport.web.nav import NavEntry
from rapport.workers import run_in_worker, store_settings

router = APIRouter(include_in_schema=False)
ALLOWED = prepared.OVERVIEW_ROLES
NAV = NavEntry(path="/overview", key="nav.overview", order=10, roles=ALLOWED, home_of=ALLOWED)
Viewer = Annotated[Principal, Depends(roles(*ALLOWED))]

#: Seconds the metrics of one (store, as-of moment, period) are kept in the process.
CACHE_SECONDS = 3600
#: Entries the cache holds at most (the oldest goes first).
CACHE_ENTRIES = 32
#: Diamond customers listed (top by revenue, and those who moved).
LISTED = prepared.OVERVIEW_LISTED
#: The id of the period selector (HTMX names it in ``HX-Trigger``).
PERIOD_FORM = "metrics-form"

_cache: dict[tuple[str, dt.datetime, str, str | None], tuple[float, dict[str, Any]]] = {}
_cache_lock = threading.Lock()


# --- the page ----------------------------------------------------------------------------------


@router.get("/overview")
def overview_page(request: Request, user: Viewer) -> Response:
    """The page: its frame, the snapshot dates and the period chosen; every section is a
    fragment the browser loads next (each a query or two over the snapshots, or the
    engine), so the page answers at once however large the store."""
    scope = CustomerScope(user)
    period = _period(request.query_params.get("period"))
    context: dict[str, Any] = {
        "period": period,
        "periods": figures.PERIODS,
        "period_form": PERIOD_FORM,
        "masked": scope.masked,
        "team_scope": user.role is Role.MANAGER,
        "latest": None,
        "previous": None,
    }
    with request.app.state.sessions() as session:
        latest, previous = figures.snapshot_days(session)
        months = sorted({f"{d:%Y-%m}" for d in snapshot_dates(session=session)}, reverse=True)
    context.update(latest=latest, previous=previous, report_months=months, formats=FORMATS)
    return render.page(request, "overview.html", context)


@router.get("/overview/report")
def overview_report(request: Request, user: Viewer) -> Response:
    """The monthly report 月度客户关系报告 of ``?month=`` as a ``?format=`` file in the user's
    language, within their scope: the figures of :mod:`rapport.reports.monthly` (its metrics
    in a worker process), the file ``rapport report`` writes."""
    scope = CustomerScope(user)
    fmt = render.formatter(request)
    settings = render.settings_of(request)
    month, kind = request.query_params.get("month", ""), request.query_params.get("format", "")
    try:
        with request.app.state.sessions() as session:
            monthly.report_snapshots(snapshot_dates(session=session), month)
        metrics = run_in_worker(
            monthly.month_metrics,
            store_settings(settings, request.app.state.engine),
            request.app.state.rules,
            month,
            what="monthly report's metrics",
            hint="retry when the server is less busy",
        )
        with request.app.state.sessions() as session:
            report = monthly.monthly_report(
                session,
                month=month,
                rules=request.app.state.rules,
                locale=fmt.locale,
                metrics=metrics,
                scope=scope,
            )
        data = render_report(report, kind, locale=fmt.locale, tz=settings.tz)
    except RapportError as exc:
        context = {"reason": error_text(exc, fmt.locale)}
        return render.page(request, "overview_report_failed.html", context, status=422)
    if not scope.masked:
        ids = [m["customer_id"] for m in report["diamonds"]["movers"]]
        audit_read(request, user, ids, "web.overview.report")
    disposition = f'attachment; filename="{file_name(report, kind)}"'
    return Response(
        data, media_type=MEDIA_TYPES[kind], headers={"Content-Disposition": disposition}
    )


@router.get("/overview/relationships")
def overview_relationships(request: Request, user: Viewer) -> Response:
    """The fragment of the snapshot's headline figures with their change since the previous
    snapshot, the degrees over the snapshots and the value at risk (one pass over the
    snapshots, :func:`rapport.reports.overview.snapshot_history`, kept between requests)."""
    scope = CustomerScope(user)
    fmt = render.formatter(request)
    with request.app.state.sessions() as session:
        latest, previous = figures.snapshot_days(session)
        if latest is None:
            return render.page(request, "overview_none.html")
        history = kept.snapshot_history(session, day=latest, scope=scope)
    context = {
        "previous": previous,
        "history": history,
        "headline": ui.snapshot_headline(history, previous, fmt),
        "degrees_chart": ui.as_json(ui.degrees_chart(history, fmt)),
        "risk": history[-1],
        "at_risk_level": figures.AT_RISK,
        "degrees": DEGREES,
    }
    return render.page(request, "overview_relationships.html", context)


@router.get("/overview/groups")
def overview_groups(request: Request, user: Viewer) -> Response:
    """The fragment of the value tiers (a pyramid) and the lifecycle stages."""
    rules = request.app.state.rules
    scope = CustomerScope(user)
    fmt = render.formatter(request)
    with request.app.state.sessions() as session:
        latest, _ = figures.snapshot_days(session)
        if latest is None:
            return render.page(request, "overview_none.html")
        tiers = kept.group_summary(session, by="value_tier", day=latest, rules=rules, scope=scope)
        stages = kept.group_summary(
            session, by="lifecycle_stage", day=latest, rules=rules, scope=scope
        )
    context = {
        "tiers": [ui.group_row(g, "value_tier", fmt) for g in tiers],
        "tiers_chart": ui.as_json(ui.pyramid(tiers, fmt)),
        "stages": [ui.group_row(g, "lifecycle_stage", fmt) for g in stages],
        "stages_chart": ui.as_json(ui.stages_chart(stages, fmt)),
    }
    return render.page(request, "overview_groups.html", context)


@router.get("/overview/diamonds")
def overview_diamonds(request: Request, user: Viewer) -> Response:
    """The fragment of the diamond customers: the first by revenue, and who became or
    stopped being one since the previous snapshot (names masked for analysts; an unmasked
    list is a read of personal data, audited as the customers page's are)."""
    rules = request.app.state.rules
    scope = CustomerScope(user)
    fmt = render.formatter(request)
    with request.app.state.sessions() as session:
        latest, previous = figures.snapshot_days(session)
        if latest is None:
            return render.page(request, "overview_none.html")
        top = kept.diamonds(
            session, day=latest, rules=rules, locale=fmt.locale, limit=LISTED, scope=scope
        )
        moves = (
            prepared.overview_diamond_moves(
                session,
                before=previous,
                after=latest,
                rules=rules,
                locale=fmt.locale,
                scope=scope,
            )
            if previous
            else None
        )
    if not scope.masked:
        shown = [r["customer_id"] for r in top.rows]
        if moves is not None:
            shown += [r["customer_id"] for r in moves["gained_rows"] + moves["lost_rows"]]
        audit_read(request, user, list(dict.fromkeys(shown)), "web.overview")
    context = {
        "top": top,
        "moves": moves,
        "previous": previous,
        "tier_label": lambda v: ui.tier_label(v, fmt),
    }
    return render.page(request, "overview_diamonds.html", context)


@router.get("/overview/metrics")
def overview_metrics(request: Request, user: Viewer) -> Response:
    """The fragment of the company's metrics (headline, sparklines, trends)."""
    fmt = render.formatter(request)
    period = _period(request.query_params.get("period"))
    as_of = metrics_as_of(request)
    try:
        result, computed_at = _metrics(request, as_of, period)
    except RapportError as exc:
        response = render.page(
            request, "overview_metrics_failed.html", {"reason": error_text(exc, fmt.locale)}
        )
        return response
    context = {
        "result": result,
        "cards": ui.metric_cards(result, fmt),
        "trends": ui.trend_rows(result, fmt),
        "trends_chart": ui.as_json(ui.trends_chart(result, fmt)),
        "as_of_day": (as_of - dt.timedelta(microseconds=1)),
        "computed_at": computed_at,
        "cache_minutes": CACHE_SECONDS // 60,
        "period": period,
    }
    response = render.page(request, "overview_metrics.html", context)
    if request.headers.get("hx-trigger") == PERIOD_FORM:  # the choice stays in the address
        response.headers["HX-Push-Url"] = f"/overview?period={period}"
    return response


def _period(value: str | None) -> str:
    return value if value in figures.PERIODS else figures.PERIODS[0]


def metrics_as_of(request: Request) -> dt.datetime:
    """The moment the metrics fragment measures to: the end of the latest snapshot's day
    in the business time zone, or without a snapshot the current hour (a stable cache
    key)."""
    with request.app.state.sessions() as session:
        latest, _ = figures.snapshot_days(session)
    if latest is not None:
        return day_end(latest, render.settings_of(request).tz)
    return dt.datetime.now(dt.UTC).replace(tzinfo=None, minute=0, second=0, microsecond=0)


def headline_metrics(request: Request) -> dict[str, Any]:
    """The metrics the fragment shows for the address's ``period`` (kept, or from a worker
    process), as the overview's export reads them."""
    period = _period(request.query_params.get("period"))
    return _metrics(request, metrics_as_of(request), period)[0]


def _metrics(
    request: Request, as_of: dt.datetime, period: str
) -> tuple[dict[str, Any], dt.datetime]:
    """The metrics of ``period`` as of ``as_of``: from the process's cache, else kept in
    the store with the latest snapshot (:func:`rapport.reports.prepared.kept_metrics`: the
    scoring run computed the first period's), else from a worker process, then kept in the
    store for the other processes."""
    settings = store_settings(render.settings_of(request), request.app.state.engine)
    rules = request.app.state.rules
    with request.app.state.sessions() as session:
        latest = prepared.latest_snapshot(session)
        written = None if latest is None else kept.written(session, latest)
    key = (settings.database_url, as_of, period, written)
    now = time.monotonic()
    with _cache_lock:
        found = _cache.get(key)
        if found is not None and now - found[0] < CACHE_SECONDS:
            return found[1], found[1]["computed_at"]
    with request.app.state.sessions() as session:
        result = prepared.kept_metrics(session, rules=rules, as_of=as_of, period=period)
    if result is None:
        work = functools.partial(figures.metric_overview, as_of=as_of, period=period)
        result = run_in_worker(
            work,
            settings,
            rules,
            what="overview metrics",
            hint="retry in a moment; the analytics workers may be busy",
        )
        result["computed_at"] = dt.datetime.now(dt.UTC)
        with request.app.state.sessions() as session:
            prepared.keep_metrics(session, rules=rules, as_of=as_of, period=period, result=result)
    with _cache_lock:
        _cache[key] = (now, result)
        while len(_cache) > CACHE_ENTRIES:
            _cache.pop(next(iter(_cache)))
    return result, result["computed_at"]


def clear_cache() -> None:
    """Forget every kept metric (the next fragment asks a worker)."""
    with _cache_lock:
        _cache.clear()
