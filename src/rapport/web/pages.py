"""The pages 客户 Customers (search, filters, sorting, keyset paging; HTMX swaps the results
without a reload and the URL keeps the filters) and the customer 360 card (read-only).

Access is the API's: the list and the card read through the user's
:class:`~rapport.access.CustomerScope` (a customer outside it is the same 404 page as a
missing one); analysts see personal data masked (:mod:`rapport.masking`) and may not
search by text; every view of unmasked personal data is audited (``read_pii``, with the
route ``web.list`` or ``web.360``), as the API audits its reads.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response

from rapport import customer360
from rapport.access import CustomerScope
from rapport.domain import AuditAction, Gender, LifecycleStage, Role, ValueTier
from rapport.errors import NotFound
from rapport.i18n.enums import timeline_labels
from rapport.masking import mask_customer
from rapport.store import audit, users
from rapport.web import render
from rapport.web.auth import VIA, WebUser, client_address, writing
from rapport.web.customer_list import (
    SEARCH_SCAN_LIMIT,
    SORTS,
    CustomerQuery,
    list_customers,
    owners,
)
from rapport.web.i18n import Formatter
from rapport.web.nav import NavEntry

router = APIRouter(include_in_schema=False)
NAV = NavEntry(path="/customers", key="nav.customers", order=30)
ENTITY = "customers"
#: Timeline entries shown on the card.
TIMELINE_ENTRIES = 30
#: Snapshots of the relationship index line.
HISTORY_SNAPSHOTS = 24
DEGREES = ("satisfaction", "loyalty", "engagement", "advocacy")
#: Query parameters of the list that the URL keeps (the cursor is added by the pager).
FILTERS = ("q", "tier", "stage", "segment", "owner", "city", "marketable", "sort")


def _audit_read(request: Request, user: Any, ids: list[int], route: str) -> None:
    """A read of unmasked personal data of the customers ``ids`` (as the API records it)."""
    if not ids:
        return

    def write(session: Any) -> None:
        detail: dict[str, Any] = {"via": VIA, "route": route, "count": len(ids)}
        if len(ids) > 1:
            detail["ids"] = ids[:500]
        audit.record(
            session=session,
            actor=user.actor,
            actor_user_id=user.user_id,
            action=AuditAction.READ_PII,
            entity=ENTITY,
            entity_id=ids[0] if len(ids) == 1 else None,
            detail=detail,
            client_address=client_address(request),
        )

    writing(request, write)


def _enum(enum: type, value: str | None) -> Any:
    try:
        return enum(value) if value else None
    except ValueError:
        return None


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isascii() and value.isdigit() and len(value) < 10 else None


def parse_query(params: Any, segments: list[str]) -> tuple[CustomerQuery, dict[str, str]]:
    """The list's query from the URL's parameters (unknown values are ignored, never an
    error page), and the filters as they stay in the URL."""
    kept = {k: params.get(k, "").strip() for k in FILTERS}
    kept = {k: v for k, v in kept.items() if v}
    owner = kept.get("owner")
    marketable = {"yes": True, "no": False}.get(kept.get("marketable", ""))
    query = CustomerQuery(
        q=kept.get("q", "")[:128] or None,
        tier=_enum(ValueTier, kept.get("tier")),
        stage=_enum(LifecycleStage, kept.get("stage")),
        segment=kept.get("segment") if kept.get("segment") in segments else None,
        owner_id=_int(owner),
        unowned=owner == "none",
        city=kept.get("city", "")[:64] or None,
        marketable=marketable,
        sort=kept.get("sort") if kept.get("sort") in SORTS else "id",
        after=params.get("after") or None,
    )
    return query, kept


def _shown_row(row: dict[str, Any], masked: bool) -> dict[str, Any]:
    return mask_customer(row) if masked else row


@router.get("/customers")
def customers_page(request: Request, user: WebUser) -> Response:
    rules = request.app.state.rules
    segments = [s.id for s in rules.scores.rfm.segments]
    scope = CustomerScope(user)
    query, kept = parse_query(request.query_params, segments)
    with request.app.state.sessions() as session:
        result = list_customers(session=session, scope=scope, query=query)
        owner_choices = owners(session, scope) if user.role is not Role.SALES else []
    rows = [_shown_row(r, scope.masked) for r in result.rows]
    if not scope.masked:
        _audit_read(request, user, [r["id"] for r in rows], "web.list")
    context = {
        "rows": rows,
        "result": result,
        "query": query,
        "kept": kept,
        "masked": scope.masked,
        "next_url": _url(kept, after=result.next_cursor) if result.next_cursor else None,
        "first_url": _url(kept) if query.after else None,
        "tiers": list(ValueTier),
        "stages": list(LifecycleStage),
        "segments": segments,
        "owners": owner_choices,
        "sorts": list(SORTS),
        "search_limit": SEARCH_SCAN_LIMIT,
    }
    partial = request.headers.get("hx-request") == "true" and not request.headers.get(
        "hx-history-restore-request"
    )
    return render.page(request, "customer_results.html" if partial else "customers.html", context)


def _url(kept: dict[str, str], **extra: str) -> str:
    return "/customers?" + urlencode({**kept, **extra}) if {**kept, **extra} else "/customers"


@router.get("/customers/{customer_id}")
def customer_card(request: Request, user: WebUser, customer_id: str) -> Response:
    scope = CustomerScope(user)
    number = _int(customer_id)
    try:
        if number is None:
            raise NotFound(f"no customer with id {customer_id}", table="customers", field="id")
        with request.app.state.sessions() as session:
            row = scope.get(session=session, id=number)
            timeline = customer360.customer_timeline(
                session=session, customer_id=number, limit=TIMELINE_ENTRIES
            )
            latest, previous = customer360.latest_scores(session=session, customer_id=number)
            history = customer360.score_history(
                session=session, customer_id=number, limit=HISTORY_SNAPSHOTS
            )
            owner = _owner_name(session, row.get("owner_id"))
    except NotFound:
        return render.page(request, "not_found.html", status=404)
    if scope.masked:  # interaction subjects are free text that may name people
        for entry in timeline:
            if entry["source"] == "interactions":
                entry["detail"] = None
    else:
        _audit_read(request, user, [row["id"]], "web.360")
    fmt = render.formatter(request)
    context = {
        "customer": _shown_row(row, scope.masked),
        "masked": scope.masked,
        "owner": owner,
        "gender": _enum(Gender, _value(row.get("gender"))),
        "latest": latest,
        "previous": previous,
        "timeline": [_timeline_entry(e, fmt, scope.masked) for e in timeline],
        "prediction": _prediction(latest),
        "radar": json.dumps(_radar(latest, previous, fmt), ensure_ascii=False),
        "trend": json.dumps(_trend(history, fmt), ensure_ascii=False),
        "history": history,
        "tier": _enum(ValueTier, _value((latest or {}).get("value_tier"))),
        "stage": _enum(LifecycleStage, _value((latest or {}).get("lifecycle_stage"))),
        "degrees": DEGREES,
    }
    return render.page(request, "customer.html", context)


def _value(value: Any) -> Any:
    return getattr(value, "value", value)


def _owner_name(session: Any, owner_id: int | None) -> str | None:
    if owner_id is None:
        return None
    try:
        owner = users.get(session=session, id=owner_id)
    except NotFound:
        return None
    return owner.get("display_name") or owner["username"]


def _timeline_entry(entry: dict[str, Any], fmt: Formatter, masked: bool) -> dict[str, Any]:
    hidden = masked and entry["source"] == "interactions"
    kind, detail = timeline_labels(entry["source"], entry["kind"], entry["detail"], fmt.locale)
    value = entry.get("value")
    if value is None:
        shown = fmt.DASH
    elif entry["source"] == "orders":
        shown = fmt.money(value)
    else:
        shown = fmt.number(value, 0 if float(value).is_integer() else 1)
    return {
        "at": entry["at"],
        "source": entry["source"],
        "kind": kind,
        "detail": fmt.t("card.hidden") if hidden else detail,
        "value": shown,
    }


def _prediction(latest: dict[str, Any] | None) -> dict[str, Any]:
    parts = (latest or {}).get("components") or {}
    prediction = parts.get("prediction") or {}
    churn = parts.get("churn") or {}
    return {
        "clv_low": prediction.get("clv_low"),
        "clv_high": prediction.get("clv_high"),
        "reasons": [
            r for r in churn.get("reasons") or [] if isinstance(r, dict) and r.get("feature")
        ],
        "inputs": {k: parts.get(k) or {} for k in DEGREES},
    }


def _radar(latest: Any, previous: Any, fmt: Formatter) -> dict[str, Any]:
    """The ECharts option of the four-degree radar (the latest snapshot, and the one before
    when there is one)."""
    series = []
    for snap in (latest, previous):
        if snap:
            series.append(
                {
                    "name": fmt.t("card.snapshot_of", date=fmt.date(snap["as_of"])),
                    "value": [_rounded(snap.get(k)) for k in DEGREES],  # null: not measured
                }
            )
    return {
        "animation": False,
        "legend": {"bottom": 0},
        "tooltip": {},
        "radar": {
            "indicator": [{"name": fmt.t(f"degree.{k}"), "max": 100} for k in DEGREES],
            "radius": "65%",
        },
        "series": [{"type": "radar", "data": series}],
    }


def _trend(history: list[dict[str, Any]], fmt: Formatter) -> dict[str, Any]:
    """The ECharts option of the relationship index across snapshots."""
    return {
        "animation": False,
        "tooltip": {"trigger": "axis"},
        "grid": {"left": 40, "right": 16, "top": 16, "bottom": 32},
        "xAxis": {"type": "category", "data": [fmt.date(s["as_of"]) for s in history]},
        "yAxis": {"type": "value", "min": 0, "max": 100},
        "series": [
            {
                "type": "line",
                "name": fmt.t("degree.relationship_index"),
                "data": [
                    None
                    if s.get("relationship_index") is None
                    else round(s["relationship_index"], 1)
                    for s in history
                ],
            }
        ],
    }


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 1)
