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
HTMX after it is shown, so the page itself never waits for the engine. A fragment's figures
are kept in the process for :data:`CACHE_SECONDS` per (store, as-of moment, period): the
as-of moment is the end of the latest snapshot's day, so a new snapshot asks anew.

Sales users and service agents get the forbidden page: they have pages of their own, and
the metrics are company-wide figures their scope would not let them derive (as the API's
``GET /metrics`` refuses them).
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import threading
import time
from typing import Annotated, Any

from babel.dates import format_skeleton
from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from rapport.access import CustomerScope, Principal
from rapport.analytics.metrics import METRICS
from rapport.domain import LifecycleStage, Role, ValueTier
from rapport.errors import RapportError
from rapport.i18n.errors import error_text
from rapport.i18n.locale import pick
from rapport.reports import monthly, movers
from rapport.reports import overview as figures
from rapport.reports import snapshot_cache as kept
from rapport.reports.monthly_render import FORMATS, MEDIA_TYPES, file_name
from rapport.reports.monthly_render import render as render_report
from rapport.store.scores import snapshot_dates
from rapport.web import render
from rapport.web.auth import audit_read, roles
from rapport.web.i18n import Formatter
from rapport.web.nav import NavEntry
from rapport.workers import run_in_worker, store_settings

router = APIRouter(include_in_schema=False)
ALLOWED = frozenset({Role.ADMIN, Role.MANAGER, Role.ANALYST})
NAV = NavEntry(path="/overview", key="nav.overview", order=10, roles=ALLOWED, home_of=ALLOWED)
Viewer = Annotated[Principal, Depends(roles(*ALLOWED))]

#: Seconds the metrics of one (store, as-of moment, period) are kept in the process.
CACHE_SECONDS = 3600
#: Entries the cache holds at most (the oldest goes first).
CACHE_ENTRIES = 32
#: Diamond customers listed (top by revenue, and those who moved).
LISTED = 5
#: Metrics whose rise is a change for the worse.
LOWER_IS_BETTER = frozenset({"churn_rate"})
DEGREES = ("satisfaction", "loyalty", "engagement", "advocacy", "relationship_index")
#: The id of the period selector (HTMX names it in ``HX-Trigger``).
PERIOD_FORM = "metrics-form"

_cache: dict[tuple[str, dt.datetime, str], tuple[float, dict[str, Any]]] = {}
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
    snapshots, :func:`rapport.reports.overview.snapshot_history`)."""
    scope = CustomerScope(user)
    fmt = render.formatter(request)
    with request.app.state.sessions() as session:
        latest, previous = figures.snapshot_days(session)
        if latest is None:
            return render.page(request, "overview_none.html")
        history = figures.snapshot_history(session, scope=scope)
    context = {
        "previous": previous,
        "history": history,
        "headline": _snapshot_headline(history, previous, fmt),
        "degrees_chart": _json(_degrees_chart(history, fmt)),
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
        "tiers": [_group_row(g, "value_tier", fmt) for g in tiers],
        "tiers_chart": _json(_pyramid(tiers, fmt)),
        "stages": [_group_row(g, "lifecycle_stage", fmt) for g in stages],
        "stages_chart": _json(_stages_chart(stages, fmt)),
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
        moves = _moves(session, previous, latest, rules, fmt, scope) if previous else None
    if not scope.masked:
        shown = [r["customer_id"] for r in top.rows]
        if moves is not None:
            shown += [r["customer_id"] for r in moves["gained_rows"] + moves["lost_rows"]]
        audit_read(request, user, list(dict.fromkeys(shown)), "web.overview")
    context = {
        "top": top,
        "moves": moves,
        "previous": previous,
        "tier_label": lambda v: _tier_label(v, fmt),
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
        "cards": _metric_cards(result, fmt),
        "trends": _trend_rows(result, fmt),
        "trends_chart": _json(_trends_chart(result, fmt)),
        "as_of_day": (as_of - dt.timedelta(microseconds=1)),
        "computed_at": computed_at,
        "cache_minutes": CACHE_SECONDS // 60,
        "period": period,
    }
    response = render.page(request, "overview_metrics.html", context)
    if request.headers.get("hx-trigger") == PERIOD_FORM:  # the choice stays in the address
        response.headers["HX-Push-Url"] = f"/overview?period={period}"
    return response


def _moves(
    session: Any,
    before: dt.date,
    after: dt.date,
    rules: Any,
    fmt: Formatter,
    scope: CustomerScope,
) -> dict[str, Any]:
    """Who became a diamond customer since the previous snapshot and who stopped
    (:mod:`rapport.reports.movers`): the counts, and the first :data:`LISTED` of each."""
    diamond = ValueTier.DIAMOND
    counts = movers.tier_mover_counts(
        session, tier=diamond, before=before, after=after, scope=scope
    )
    # those who left come first: all of them, then the first entering
    rows = movers.tier_movers(
        session,
        tier=diamond,
        before=before,
        after=after,
        rules=rules,
        locale=fmt.locale,
        scope=scope,
        limit=counts["out"] + LISTED,
    )
    return {
        "gained": counts["in"],
        "lost": counts["out"],
        "gained_rows": [r for r in rows if r["direction"] == "in"][:LISTED],
        "lost_rows": [r for r in rows if r["direction"] == "out"][:LISTED],
    }


def _period(value: str | None) -> str:
    return value if value in figures.PERIODS else figures.PERIODS[0]


def metrics_as_of(request: Request) -> dt.datetime:
    """The moment the metrics fragment measures to: the end of the latest snapshot's day
    in the business time zone, or without a snapshot the current hour (a stable cache
    key)."""
    with request.app.state.sessions() as session:
        latest, _ = figures.snapshot_days(session)
    if latest is not None:
        return figures.day_end(latest, render.settings_of(request).tz)
    return dt.datetime.now(dt.UTC).replace(tzinfo=None, minute=0, second=0, microsecond=0)


def headline_metrics(request: Request) -> dict[str, Any]:
    """The metrics the fragment shows for the address's ``period`` (kept, or from a worker
    process), as the overview's export reads them."""
    period = _period(request.query_params.get("period"))
    return _metrics(request, metrics_as_of(request), period)[0]


def metric_label(metric_id: str, fmt: Formatter) -> str:
    """A metric's name in the reader's language."""
    return _metric_label(metric_id, fmt)


def _metrics(
    request: Request, as_of: dt.datetime, period: str
) -> tuple[dict[str, Any], dt.datetime]:
    """The metrics of ``period`` as of ``as_of``, from the cache or a worker process."""
    settings = store_settings(render.settings_of(request), request.app.state.engine)
    key = (settings.database_url, as_of, period)
    now = time.monotonic()
    with _cache_lock:
        found = _cache.get(key)
        if found is not None and now - found[0] < CACHE_SECONDS:
            return found[1], found[1]["computed_at"]
    work = functools.partial(figures.metric_overview, as_of=as_of, period=period)
    result = run_in_worker(
        work,
        settings,
        request.app.state.rules,
        what="overview metrics",
        hint="retry in a moment; the analytics workers may be busy",
    )
    result["computed_at"] = dt.datetime.now(dt.UTC)
    with _cache_lock:
        _cache[key] = (now, result)
        while len(_cache) > CACHE_ENTRIES:
            _cache.pop(next(iter(_cache)))
    return result, result["computed_at"]


def clear_cache() -> None:
    """Forget every kept metric (the next fragment asks a worker)."""
    with _cache_lock:
        _cache.clear()


# --- values ------------------------------------------------------------------------------------


def _json(option: dict[str, Any]) -> str:
    return json.dumps(option, ensure_ascii=False)


def _round(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)


def _metric_label(metric_id: str, fmt: Formatter) -> str:
    metric = METRICS[metric_id]
    return pick((metric.label_zh, metric.label_en), fmt.locale)


def metric_text(unit: str, value: float | None, fmt: Formatter) -> str:
    """A metric's value in its unit (``percent`` values are 0–100)."""
    if value is None:
        return fmt.DASH
    if unit == "percent":
        return fmt.percent(value / 100, 1)
    if unit == "currency":
        return fmt.money(value)
    if unit == "count":
        return fmt.number(value)
    return fmt.number(value, 1)


def change_text(unit: str, delta: float, fmt: Formatter) -> str:
    """A change in a metric's unit, signed (percent: in percentage points)."""
    sign = "+" if delta > 0 else "−" if delta < 0 else "±"
    size = abs(delta)
    if unit == "percent":
        return fmt.t("overview.points", value=sign + fmt.number(size, 1))
    if unit == "currency":
        return sign + fmt.money(size)
    if unit == "count":
        return sign + fmt.number(size)
    return sign + fmt.number(size, 1)


def _direction(delta: float | None, lower_is_better: bool) -> dict[str, Any]:
    """How a change reads: its arrow and words (never the colour alone) and whether it is
    for the better."""
    if delta is None:
        return {"arrow": "", "words": "", "tone": "none"}
    if delta == 0:
        return {"arrow": "→", "words": "overview.same", "tone": "same"}
    better = (delta < 0) if lower_is_better else (delta > 0)
    return {
        "arrow": "▲" if delta > 0 else "▼",
        "words": "overview.up" if delta > 0 else "overview.down",
        "tone": "better" if better else "worse",
    }


def _metric_cards(result: dict[str, Any], fmt: Formatter) -> list[dict[str, Any]]:
    cards = []
    for metric_id in figures.HEADLINE:
        unit = METRICS[metric_id].unit
        now = result["headline"][metric_id]["value"]
        before = result["headline"][metric_id]["previous"]
        delta = figures.change(now, before)
        label = _metric_label(metric_id, fmt)
        series = [_round(v, 2) for v in result["series"][metric_id]]
        cards.append(
            {
                "id": metric_id,
                "label": label,
                "value": metric_text(unit, now, fmt),
                "measured": now is not None,
                "previous": metric_text(unit, before, fmt),
                "change": None if delta is None else change_text(unit, delta, fmt),
                "direction": _direction(delta, metric_id in LOWER_IS_BETTER),
                "definition": fmt.t(f"overview.def.{metric_id}"),
                "sparkline": _json(_sparkline(series, label, result, fmt)),
                "sparkline_label": fmt.t("overview.sparkline", metric=label),
            }
        )
    return cards


def _month_names(result: dict[str, Any], fmt: Formatter) -> list[str]:
    """The months of the series in the user's language (``2026年11月``, ``Nov 2026``)."""
    return [
        format_skeleton(
            "yMMM", m["start"].replace(tzinfo=dt.UTC).astimezone(fmt.zone), locale=fmt.babel
        )
        for m in result["months"]
    ]


def _sparkline(
    series: list[float | None], label: str, result: dict[str, Any], fmt: Formatter
) -> dict[str, Any]:
    return {
        "animation": False,
        "grid": {"left": 2, "right": 2, "top": 4, "bottom": 4},
        "tooltip": {"trigger": "axis"},
        "xAxis": {"type": "category", "show": False, "data": _month_names(result, fmt)},
        "yAxis": {"type": "value", "show": False, "scale": True},
        "series": [
            {
                "type": "line",
                "name": label,
                "data": series,
                "symbol": "none",
                "connectNulls": False,
                "lineStyle": {"width": 2},
                "areaStyle": {"opacity": 0.12},
            }
        ],
    }


def _trend_rows(result: dict[str, Any], fmt: Formatter) -> dict[str, Any]:
    """The trend metrics as a table: the months, then per metric its label and values."""
    return {
        "months": _month_names(result, fmt),
        "metrics": [
            {
                "id": m,
                "label": _metric_label(m, fmt),
                "definition": fmt.t(f"overview.def.{m}"),
                "values": [metric_text(METRICS[m].unit, v, fmt) for v in result["series"][m]],
            }
            for m in figures.TRENDS
        ],
    }


def _trends_chart(result: dict[str, Any], fmt: Formatter) -> dict[str, Any]:
    return {
        "animation": False,
        "tooltip": {"trigger": "axis"},
        "legend": {"bottom": 0, "type": "scroll"},
        "grid": {"left": 44, "right": 16, "top": 16, "bottom": 56},
        "xAxis": {"type": "category", "data": _month_names(result, fmt)},
        "yAxis": {"type": "value"},
        "series": [
            {
                "type": "line",
                "name": _metric_label(m, fmt),
                "data": [_round(v) for v in result["series"][m]],
                "symbol": ("circle", "rect", "triangle", "diamond")[i],
                "symbolSize": 7,
            }
            for i, m in enumerate(figures.TRENDS)
        ],
    }


# --- the snapshot parts ------------------------------------------------------------------------


def _snapshot_headline(
    history: list[dict[str, Any]], previous: dt.date | None, fmt: Formatter
) -> list[dict[str, Any]]:
    """The latest snapshot's figures with their change since the previous snapshot."""
    now = history[-1] if history else {}
    before = history[-2] if len(history) > 1 and history[-2]["as_of"] == previous else None

    def card(
        key: str, label: str, field: str, shown: Any, lower_is_better: bool = False
    ) -> dict[str, Any]:
        value = now.get(field)
        earlier = None if before is None else before.get(field)
        if field == "value_at_risk":  # not measured where no customer has both inputs
            value = value if now.get("valued") else None
            earlier = earlier if before and before.get("valued") else None
        if field.startswith("avg_"):
            value, earlier = _round(value), _round(earlier)
        delta = figures.change(value, earlier)
        return {
            "id": key,
            "label": label,
            "value": shown(value),
            "measured": value is not None,
            "change": None if delta is None else _signed(delta, shown),
            "direction": _direction(delta, lower_is_better),
            "definition": fmt.t(f"overview.def.{key}"),
        }

    return [
        card("scored", fmt.t("overview.scored"), "customers", fmt.number),
        card(
            "relationship_index",
            fmt.t("degree.relationship_index"),
            "avg_relationship_index",
            lambda v: fmt.number(v, 1),
        ),
        card("diamonds", fmt.t("overview.diamonds"), "diamonds", fmt.number),
        card("var", fmt.t("value_at_risk"), "value_at_risk", fmt.money, lower_is_better=True),
    ]


def _signed(delta: float, shown: Any) -> str:
    sign = "+" if delta > 0 else "−" if delta < 0 else "±"
    return sign + shown(abs(delta))


def _tier_label(value: str | None, fmt: Formatter) -> str:
    if value is None:
        return fmt.t("overview.not_scored")
    return fmt.enum(ValueTier(value))


def _group_label(by: str, value: str | None, fmt: Formatter) -> str:
    if value is None:
        return fmt.t("overview.no_tier" if by == "value_tier" else "overview.no_stage")
    return fmt.enum(ValueTier(value) if by == "value_tier" else LifecycleStage(value))


def _group_row(group: dict[str, Any], by: str, fmt: Formatter) -> dict[str, Any]:
    return {
        "group": group["group"],
        "label": _group_label(by, group["group"], fmt),
        "customers": fmt.number(group["customers"]),
        "customer_share": fmt.percent(group["customer_share"] / 100, 1),
        "revenue": fmt.money(group["revenue"]),
        "revenue_share": fmt.percent(
            None if group["revenue_share"] is None else group["revenue_share"] / 100, 1
        ),
        "relationship_index": fmt.number(group["avg_relationship_index"], 1),
    }


def _degrees_chart(history: list[dict[str, Any]], fmt: Formatter) -> dict[str, Any]:
    return {
        "animation": False,
        "tooltip": {"trigger": "axis"},
        "legend": {"bottom": 0, "type": "scroll"},
        "grid": {"left": 40, "right": 16, "top": 16, "bottom": 56},
        "xAxis": {"type": "category", "data": [fmt.date(h["as_of"]) for h in history]},
        "yAxis": {"type": "value", "min": 0, "max": 100},
        "series": [
            {
                "type": "line",
                "name": fmt.t(f"degree.{k}"),
                "data": [_round(h[f"avg_{k}"]) for h in history],
                "symbol": ("circle", "rect", "triangle", "diamond", "pin")[i],
                "symbolSize": 8,
                "lineStyle": {"width": 3 if k == "relationship_index" else 1.5},
            }
            for i, k in enumerate(DEGREES)
        ],
    }


def _pyramid(tiers: list[dict[str, Any]], fmt: Formatter) -> dict[str, Any]:
    """Two bar charts back to back, diamond at the top: the tiers' share of the customers
    (left) and of the revenue (right)."""
    rows = list(reversed(tiers))  # ECharts draws the first category at the bottom
    names = [_group_label("value_tier", g["group"], fmt) for g in rows]
    customers = fmt.t("customer_share")
    revenue = fmt.t("revenue_share")
    axis = {"type": "category", "data": names, "axisTick": {"show": False}}
    return {
        "animation": False,
        "tooltip": {"trigger": "item", "formatter": "{b}<br/>{a}: {c}%"},
        "title": [
            {"text": customers, "left": "22%", "top": 0, "textStyle": {"fontSize": 12}},
            {"text": revenue, "left": "66%", "top": 0, "textStyle": {"fontSize": 12}},
        ],
        "grid": [
            {"left": "4%", "width": "38%", "top": 28, "bottom": 8, "containLabel": True},
            {"left": "58%", "width": "38%", "top": 28, "bottom": 8, "containLabel": True},
        ],
        "xAxis": [
            {"type": "value", "gridIndex": 0, "inverse": True, "show": False},
            {"type": "value", "gridIndex": 1, "show": False},
        ],
        "yAxis": [
            {**axis, "gridIndex": 0, "position": "right", "axisLabel": {"show": False}},
            {**axis, "gridIndex": 1, "position": "left"},
        ],
        "series": [
            {
                "type": "bar",
                "name": customers,
                "xAxisIndex": 0,
                "yAxisIndex": 0,
                "data": [_round(g["customer_share"]) for g in rows],
                "label": {"show": True, "position": "left", "formatter": "{c}%"},
                "barWidth": "60%",
            },
            {
                "type": "bar",
                "name": revenue,
                "xAxisIndex": 1,
                "yAxisIndex": 1,
                "data": [_round(g["revenue_share"]) for g in rows],
                "label": {"show": True, "position": "right", "formatter": "{c}%"},
                "barWidth": "60%",
            },
        ],
    }


def _stages_chart(stages: list[dict[str, Any]], fmt: Formatter) -> dict[str, Any]:
    return {
        "animation": False,
        "tooltip": {"trigger": "axis", "axisPointer": {"type": "shadow"}},
        "grid": {"left": 8, "right": 48, "top": 8, "bottom": 8, "containLabel": True},
        "xAxis": {"type": "value", "show": False},
        "yAxis": {
            "type": "category",
            "inverse": True,
            "data": [_group_label("lifecycle_stage", g["group"], fmt) for g in stages],
        },
        "series": [
            {
                "type": "bar",
                "name": fmt.t("customers"),
                "data": [g["customers"] for g in stages],
                "label": {"show": True, "position": "right"},
            }
        ],
    }
