"""设置 Admin → *Audit log*: the entries of the audit log with filters (actor, customer,
action, days), newest first, read with :func:`rapport.store.audit.list_entries` one keyset
page at a time (:mod:`rapport.store.paging`) as ``GET /api/v1/audit`` reads it, and its
CSV export; for administrators, as the rest of the page (:mod:`rapport.web.views.admin`)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import Response

from rapport.domain import AuditAction
from rapport.errors import ValidationFailed
from rapport.store import audit, schema
from rapport.store.paging import PageRequest, SortKey, decode_cursor
from rapport.web import render
from rapport.web.i18n import Formatter
from rapport.web.views.admin import AdminUser, section_page

router = APIRouter(include_in_schema=False)
#: Audit entries a page shows.
AUDIT_PAGE = 50
#: Entries of the CSV export at most (the newest that match).
CSV_MAX = 10_000
#: The log's order: newest first, as ``GET /api/v1/audit`` pages it.
AUDIT_ORDER = [SortKey(schema.audit_log.c.id, descending=True)]


AUDIT_FILTERS = ("actor", "customer", "action", "since", "until")


@dataclass
class AuditQuery:
    """The filters of the audit page as the store takes them, what the URL keeps, and each
    filter's problem."""

    filters: dict[str, Any]
    kept: dict[str, str]
    errors: dict[str, str]


def _local_day(text: str, zone: ZoneInfo, *, next_day: bool) -> dt.datetime:
    """The start of the local day ``text`` (or of the next one), in UTC."""
    day = dt.date.fromisoformat(text) + dt.timedelta(days=next_day)
    return dt.datetime.combine(day, dt.time(), tzinfo=zone).astimezone(dt.UTC)


def parse_audit_query(params: Any, fmt: Formatter) -> AuditQuery:
    """The audit filters from the URL: an actor's username, a customer id, an action, and
    local dates from and to (both inclusive, as ``rapport audit --since/--until``)."""
    kept = {k: str(params.get(k, "")).strip()[:128] for k in AUDIT_FILTERS}
    kept = {k: v for k, v in kept.items() if v}
    filters: dict[str, Any] = {}
    errors: dict[str, str] = {}
    if "actor" in kept:
        filters["actor"] = kept["actor"]
    if "customer" in kept:
        number = render.whole_number(kept["customer"])
        if number is None:
            errors["customer"] = fmt.t("audit_page.bad_customer")
        else:
            filters["customer_id"] = number
    if "action" in kept:
        try:
            filters["action"] = AuditAction(kept["action"])
        except ValueError:
            kept.pop("action")
    for name, next_day in (("since", False), ("until", True)):
        if name in kept:
            try:
                filters[name] = _local_day(kept[name], fmt.zone, next_day=next_day)
            except ValueError:
                errors[name] = fmt.t("audit_page.bad_date")
    if "since" in filters and "until" in filters and filters["since"] >= filters["until"]:
        errors["until"] = fmt.t("audit_page.until_before_since")
    return AuditQuery(filters=filters, kept=kept, errors=errors)


def _audit_url(kept: dict[str, str], path: str = "/admin/audit", **extra: str) -> str:
    values = {**kept, **extra}
    return path + ("?" + urlencode(values) if values else "")


def _detail(value: Any) -> str:
    if not value:
        return ""
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))


@router.get("/admin/audit")
def audit_page(request: Request, user: AdminUser) -> Response:
    fmt = render.formatter(request)
    query = parse_audit_query(request.query_params, fmt)
    cursor = str(request.query_params.get("cursor", ""))[:200]
    page = PageRequest(limit=AUDIT_PAGE)
    if cursor:
        try:
            page = PageRequest(limit=AUDIT_PAGE, after=decode_cursor(cursor))
            page.start(AUDIT_ORDER)
        except ValidationFailed:  # a cursor edited by hand: the first page
            page, cursor = PageRequest(limit=AUDIT_PAGE), ""
    rows: list[dict[str, Any]] = []
    count = 0
    next_cursor = None
    if not query.errors:
        (before_id,) = page.start(AUDIT_ORDER) or (None,)
        with request.app.state.sessions() as session:
            found, count = audit.list_entries(
                session=session, limit=page.fetch, before_id=before_id, **query.filters
            )
        shown = page.cut(found, count=count)
        rows = [{**r, "action": AuditAction(r["action"]), "detail": _detail(r["detail"]),
                 "entity_label": fmt.label_or(r["entity"], "")}
                for r in shown.data]  # fmt: skip
        next_cursor = shown.next_cursor
    context = {
        "query": query,
        "rows": rows,
        "count": count,
        "actions": list(AuditAction),
        "next_url": _audit_url(query.kept, cursor=next_cursor) if next_cursor else None,
        "first_url": _audit_url(query.kept) if cursor else None,
        "csv_url": _audit_url(query.kept, path="/admin/audit.csv"),
        "csv_max": CSV_MAX,
    }
    htmx = request.headers.get("hx-request") == "true" and not request.headers.get(
        "hx-history-restore-request"
    )
    template = "admin_audit_list.html" if htmx else "admin_audit.html"
    return section_page(
        request, "audit", template, context, 422 if query.errors and not htmx else 200
    )


@router.get("/admin/audit.csv")
def audit_csv(request: Request, user: AdminUser) -> Response:
    """The entries the filters select, newest first, at most :data:`CSV_MAX`, as CSV
    (UTF-8 with a byte-order mark, so that spreadsheet programs read the Chinese)."""
    fmt = render.formatter(request)
    query = parse_audit_query(request.query_params, fmt)
    if query.errors:
        return render.redirect(request, _audit_url(query.kept))
    with request.app.state.sessions() as session:
        rows, _ = audit.list_entries(session=session, limit=CSV_MAX, **query.filters)
    out = io.StringIO()
    writer = csv.writer(out)
    columns = ("id", "occurred_at", "actor", "actor_user_id", "action", "entity", "entity_id",
               "client_address", "detail")  # fmt: skip
    writer.writerow(columns)
    for r in rows:
        at = r["occurred_at"]
        at = at if at.tzinfo else at.replace(tzinfo=dt.UTC)
        writer.writerow(
            [r["id"], at.isoformat(), r["actor"], r["actor_user_id"] or "", r["action"],
             r["entity"], r["entity_id"] or "", r["client_address"] or "", _detail(r["detail"])]
        )  # fmt: skip
    response = Response(
        "\ufeff" + out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="rapport-audit.csv"'},
    )
    return render.with_cookie(request, response)
