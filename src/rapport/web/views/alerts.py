"""The page 告警 Alerts (``/alerts``) and the badge of open alerts in the top bar.

The alerts the user sees (:class:`rapport.access.AlertScope`: a sales user those of their
customers, a service agent those of the customers with their tickets, managers and admins
also the company-wide ones), newest raised first, as :func:`rapport.actions.alerts.alert_page`
lists them for ``rapport alerts`` and ``GET /api/v1/alerts``; *Acknowledge* and *Resolve*
through :func:`~rapport.actions.alerts.acknowledge_alert` and
:func:`~rapport.actions.alerts.resolve_alert` (role, scope and the audit entry, ``update``
of ``alerts`` with ``via: web``). The page is for the roles that work alerts
(``rapport.access.WRITERS["alerts"]``); analysts get the forbidden page.

The badge is a fragment (``/alerts/badge``) each page asks for once loaded: the count of
open alerts in the user's scope (not yet acknowledged), nothing when there are none.
Customers named on the page are audited as a read of personal data (``read_pii``, route
``web.alerts``).
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from rapport.access import WRITERS, Principal
from rapport.actions.acting import Actor
from rapport.actions.alerts import acknowledge_alert, alert_page, resolve_alert
from rapport.domain import AlertKind, AlertSeverity, AlertStatus
from rapport.errors import NotFound, RapportError, ValidationFailed
from rapport.i18n.errors import error_text
from rapport.store import schema
from rapport.store.alerts import AlertFilter
from rapport.store.alerts import get as get_alert
from rapport.store.paging import PageRequest, decode_cursor
from rapport.store.repository import utcnow
from rapport.web import render
from rapport.web.auth import CSRF, audit_read, client_address, roles, writing
from rapport.web.exports import export_links
from rapport.web.nav import NavEntry

ROLES = WRITERS["alerts"]
router = APIRouter(include_in_schema=False)
NAV = NavEntry(path="/alerts", key="nav.alerts", order=55, roles=ROLES)
Staff = Annotated[Principal, Depends(roles(*ROLES))]
#: Alerts of one page.
PAGE_ROWS = 25
#: The status choices of the page, the first the default (open or acknowledged).
STATUSES = ("unresolved", AlertStatus.OPEN, AlertStatus.ACKNOWLEDGED, AlertStatus.RESOLVED)


def _status(value: str | None) -> str:
    return value if value in STATUSES else "unresolved"


def _enum(enum: type, value: str | None) -> Any:
    try:
        return enum(value) if value else None
    except ValueError:
        return None


def _after(value: str | None) -> Any:
    if not value:
        return None
    try:
        return decode_cursor(value, field="after")
    except ValidationFailed:
        return None


def open_count(session: Any, user: Principal) -> int:
    """The open alerts (not yet acknowledged) ``user`` sees."""
    page = alert_page(
        session=session,
        principal=user,
        page=PageRequest(limit=1),
        filters=AlertFilter(status=AlertStatus.OPEN),
    )
    return page.count


@router.get("/alerts/badge")
def alerts_badge(request: Request, user: Staff) -> Response:
    """The top bar's badge: the count of open alerts, or nothing."""
    with request.app.state.sessions() as session:
        count = open_count(session, user)
    return render.page(request, "alerts_badge.html", {"count": count})


def customer_names(session: Any, ids: list[int]) -> dict[int, str | None]:
    if not ids:
        return {}
    c = schema.customers.c
    rows = session.execute(sa.select(c.id, c.name).where(c.id.in_(ids))).all()
    return {r.id: r.name for r in rows}


def shown_alert(row: dict[str, Any], names: dict[int, str | None]) -> dict[str, Any]:
    return {
        **row,
        "kind": _enum(AlertKind, row["kind"]),
        "severity": _enum(AlertSeverity, row["severity"]),
        "status": _enum(AlertStatus, row["status"]),
        "customer_name": names.get(row["customer_id"]) if row["customer_id"] else None,
        "details": row.get("details") or {},
    }


def parse_filters(params: Any) -> tuple[AlertFilter, dict[str, str]]:
    """The page's filters from the address (``status``, ``kind``; anything else: the
    default) and the query that keeps them."""
    status = _status(params.get("status"))
    kind = _enum(AlertKind, params.get("kind"))
    kept = {"status": status} if status != "unresolved" else {}
    if kind is not None:
        kept["kind"] = kind.value
    return AlertFilter(status=status, kind=kind), kept  # type: ignore[arg-type]


@router.get("/alerts")
def alerts_page(request: Request, user: Staff) -> Response:
    params = request.query_params
    filters, kept = parse_filters(params)
    status = filters.status
    kind = filters.kind
    with request.app.state.sessions() as session:
        page = alert_page(
            session=session,
            principal=user,
            page=PageRequest(limit=PAGE_ROWS, after=_after(params.get("after"))),
            filters=filters,
        )
        ids = sorted({r["customer_id"] for r in page.data if r["customer_id"]})
        names = customer_names(session, ids)
    rows = [shown_alert(r, names) for r in page.data]
    audit_read(request, user, ids, "web.alerts")
    context = {
        "rows": rows,
        "count": page.count,
        "status": status,
        "kind": kind,
        "statuses": STATUSES,
        "kinds": list(AlertKind),
        "next_url": _url(kept, after=page.next_cursor) if page.next_cursor else None,
        "first_url": _url(kept) if params.get("after") else None,
        "export": export_links("alerts", kept),
    }
    htmx = request.headers.get("hx-request") == "true" and not request.headers.get(
        "hx-history-restore-request"
    )
    return render.page(request, "alerts_list.html" if htmx else "alerts.html", context)


def _url(kept: dict[str, str], **extra: str) -> str:
    query = {**kept, **extra}
    return "/alerts?" + urlencode(query) if query else "/alerts"


def _alert_id(value: str) -> int:
    return render.whole_number(value) or 0  # no alert has 0: the store's not-found


@router.post("/alerts/{alert_id}/acknowledge", dependencies=CSRF)
def acknowledge(request: Request, user: Staff, alert_id: str) -> Response:
    """Acknowledge the alert (someone is on it)."""
    return _write(request, user, _alert_id(alert_id), acknowledge_alert)


@router.post("/alerts/{alert_id}/resolve", dependencies=CSRF)
def resolve(request: Request, user: Staff, alert_id: str) -> Response:
    """Resolve the alert."""
    return _write(request, user, _alert_id(alert_id), resolve_alert)


def _write(request: Request, user: Principal, number: int, change: Any) -> Response:
    """Run ``change`` on the alert, then answer its row (HTMX) or go back to the alerts
    (303; with the problem, the page of its own, 422). Outside the scope: the not-found
    page."""
    fmt = render.formatter(request)
    actor = Actor.staff(user, address=client_address(request))
    error = None
    try:
        writing(
            request,
            lambda session: change(session=session, actor=actor, alert_id=number, at=utcnow()),
        )
    except NotFound:
        return render.page(request, "not_found.html", status=404)
    except RapportError as exc:  # resolved already
        error = error_text(exc, fmt.locale)
    htmx = request.headers.get("hx-request") == "true"
    if error is None and not htmx:
        return render.redirect(request, "/alerts")
    with request.app.state.sessions() as session:
        row = get_alert(session=session, alert_id=number)
        names = customer_names(session, [row["customer_id"]] if row["customer_id"] else [])
    context = {"alert": shown_alert(row, names), "error": error, "changed": error is None}
    if htmx:
        response = render.page(request, "alerts_row.html", context)
        response.headers["HX-Trigger"] = "alerts-changed"  # the badge counts again
        return response
    return render.page(request, "alerts_refused.html", context, status=422)
