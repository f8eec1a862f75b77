"""The pages 客户 Customers (search, filters, sorting, keyset paging; HTMX swaps the results
without a reload and the URL keeps the filters) and the customer 360 card, with the tier's
reasons, the loyalty panel (:mod:`rapport.web.views.card_loyalty`) and the everyday writes
(log an interaction, open a ticket, add or remove a tag, add a note) through the store
functions the API's routes use. What the card shows is :mod:`rapport.web.card`, its writes
:mod:`rapport.web.views.card_writes`.

Access is the API's: the list and the card read through the user's
:class:`~rapport.access.CustomerScope` (a customer outside it is the same 404 page as a
missing one); analysts see personal data masked (:mod:`rapport.masking`) and may not
search by text; every view of unmasked personal data is audited (``read_pii``, with the
route ``web.list`` or ``web.360``), as the API audits its reads.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response

from rapport.access import CustomerScope
from rapport.domain import (
    LifecycleStage,
    Role,
    ValueTier,
)
from rapport.errors import NotFound
from rapport.web import render
from rapport.web.auth import (
    WebUser,
    audit_read,
)
from rapport.web.card import audit_card_read, card_context, enum_value, shown_row
from rapport.web.customer_list import (
    SEARCH_SCAN_LIMIT,
    SORTS,
    CustomerQuery,
    list_customers,
    owners,
)
from rapport.web.exports import export_links
from rapport.web.nav import NavEntry

router = APIRouter(include_in_schema=False)
NAV = NavEntry(path="/customers", key="nav.customers", order=30)
ENTITY = "customers"
#: Query parameters of the list that the URL keeps (the cursor is added by the pager).
FILTERS = ("q", "tier", "stage", "segment", "owner", "city", "marketable", "sort")


def parse_query(params: Any, segments: list[str]) -> tuple[CustomerQuery, dict[str, str]]:
    """The list's query from the URL's parameters (unknown values are ignored, never an
    error page), and the filters as they stay in the URL."""
    kept = {k: params.get(k, "").strip() for k in FILTERS}
    kept = {k: v for k, v in kept.items() if v}
    owner = kept.get("owner")
    marketable = {"yes": True, "no": False}.get(kept.get("marketable", ""))
    query = CustomerQuery(
        q=kept.get("q", "")[:128] or None,
        tier=enum_value(ValueTier, kept.get("tier")),
        stage=enum_value(LifecycleStage, kept.get("stage")),
        segment=kept.get("segment") if kept.get("segment") in segments else None,
        owner_id=render.whole_number(owner),
        unowned=owner == "none",
        city=kept.get("city", "")[:64] or None,
        marketable=marketable,
        sort=kept["sort"] if kept.get("sort") in SORTS else "id",
        after=params.get("after") or None,
    )
    return query, kept


@router.get("/customers")
def customers_page(request: Request, user: WebUser) -> Response:
    rules = request.app.state.rules
    segments = [s.id for s in rules.scores.rfm.segments]
    scope = CustomerScope(user)
    query, kept = parse_query(request.query_params, segments)
    with request.app.state.sessions() as session:
        result = list_customers(session=session, scope=scope, query=query)
        owner_choices = owners(session, scope) if user.role is not Role.SALES else []
    rows = [shown_row(r, scope.masked) for r in result.rows]
    if not scope.masked:
        audit_read(request, user, [r["id"] for r in rows], "web.list")
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
        "export": export_links("customers", kept),
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
    try:
        number = render.customer_number(customer_id)
        with request.app.state.sessions() as session:
            row = scope.get(session=session, id=number)
            context = card_context(request, session, scope, row)
    except NotFound:
        return render.not_found(request)
    audit_card_read(request, user, scope, row["id"])
    return render.page(request, "customer.html", context)
