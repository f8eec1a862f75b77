"""The customers page's list and the 360 card's timeline, scores by snapshot, loyalty
ledger and vouchers, as downloads."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from fastapi import Request
from sqlalchemy.orm import Session

from rapport import customer360
from rapport.access import CustomerScope, Principal
from rapport.i18n.enums import timeline_labels
from rapport.masking import mask_customer
from rapport.reports.prepared import latest_snapshot
from rapport.reports.tables import TableColumn
from rapport.web import card, render
from rapport.web.customer_list import (
    CustomerQuery,
    count_matches,
    encode_cursor,
    filters_of,
    page_rows,
)
from rapport.web.export_tables import Exported, enum_label, every_page, label_cell
from rapport.web.i18n import Formatter
from rapport.web.pages import parse_query
from rapport.web.views import card_loyalty

#: Rows read per keyset page of a paged list while it is exported.
READ_ROWS = 1000


def read_customers(request: Request, user: Principal, fmt: Formatter, limit: int) -> Exported:
    """The customers page's list (:mod:`rapport.web.customer_list`): its query from the
    address, read by keyset pages from the first."""
    segments = [s.id for s in request.app.state.rules.scores.rfm.segments]
    query, _ = parse_query(request.query_params, segments)
    scope = CustomerScope(user)
    sessions = request.app.state.sessions

    def read(after: str | None) -> tuple[list[dict[str, Any]], str | None]:
        page = replace(query, after=after, limit=READ_ROWS)
        with sessions() as session:
            found = _customer_page(session, scope, page)
        shown = [mask_customer(row) if scope.masked else row for row in found[:READ_ROWS]]
        if len(found) <= READ_ROWS:
            return shown, None
        last = found[READ_ROWS - 1]
        return shown, encode_cursor(query.sort, last["sort_key"], last["id"])

    value = fmt.value
    columns = [
        TableColumn("id", fmt.t("column.id"), "integer"),
        TableColumn("name", fmt.t("column.name")),
        TableColumn("external_id", fmt.t("column.external_id")),
        TableColumn("city", fmt.t("column.city")),
        TableColumn("owner_name", fmt.t("column.owner")),
        TableColumn(
            "value_tier",
            fmt.t("column.value_tier"),
            value=lambda r: label_cell(value("customer_scores", "value_tier", r["value_tier"])),
        ),
        TableColumn(
            "lifecycle_stage",
            fmt.t("column.lifecycle_stage"),
            value=lambda r: label_cell(
                value("customer_scores", "lifecycle_stage", r["lifecycle_stage"])
            ),
        ),
        TableColumn(
            "rfm_segment",
            fmt.t("column.rfm_segment"),
            value=lambda r: label_cell(fmt.segment(r["rfm_segment"])),
        ),
        TableColumn("relationship_index", fmt.t("column.relationship_index"), "number"),
        TableColumn("predicted_clv", fmt.t("column.predicted_clv"), "money"),
        TableColumn("churn_risk", fmt.t("column.churn_risk"), "percent"),
    ]
    return Exported(columns, every_page(read, limit), scope.masked)


def _customer_page(
    session: Session, scope: CustomerScope, query: CustomerQuery
) -> list[dict[str, Any]]:
    as_of = latest_snapshot(session)
    filters, _, _ = filters_of(session, scope, query, as_of)
    matches = count_matches(session, scope, filters, as_of)
    return page_rows(session, scope, query, as_of=as_of, filters=filters, matches=matches)


def read_timeline(request: Request, user: Principal, fmt: Formatter, limit: int) -> Exported:
    """The 360 card's timeline of the customer ``customer`` in the address
    (:func:`rapport.customer360.customer_timeline`, newest first), every entry rather than
    the latest shown; a customer outside the user's scope is not found, as the card is.
    The free-text details an analyst's card hides are hidden the same way."""
    scope = CustomerScope(user)
    with request.app.state.sessions() as session:
        customer = _card_customer(request, session, scope)
        entries = customer360.customer_timeline(
            session=session, customer_id=customer["id"], limit=limit + 1, masked=scope.masked
        )

    def detail(row: Mapping[str, Any]) -> str | None:
        if scope.masked and row["source"] in customer360.FREE_TEXT_SOURCES:
            return fmt.t("card.hidden")
        return timeline_labels(row["source"], row["kind"], row["detail"], fmt.locale)[1]

    rows = [{**entry, "customer_id": customer["id"]} for entry in entries]
    columns = [
        TableColumn("at", fmt.t("card.time"), "datetime"),
        TableColumn("source", fmt.t("card.source"), value=lambda r: fmt.t(f"source.{r['source']}")),
        TableColumn(
            "kind",
            fmt.t("card.kind"),
            value=lambda r: timeline_labels(r["source"], r["kind"], r["detail"], fmt.locale)[0],
        ),
        TableColumn("detail", fmt.t("card.detail"), value=detail),
        TableColumn("value", fmt.t("card.amount"), "number"),
    ]
    return Exported(columns, rows, scope.masked)


def _card_customer(request: Request, session: Session, scope: CustomerScope) -> dict[str, Any]:
    """The customer ``customer`` of the address, as the card reads them: one outside the
    user's scope (or no number) is not found."""
    number = render.customer_number(request.query_params.get("customer", ""))
    found: dict[str, Any] = scope.get(session=session, id=number)
    return found


def read_card_scores(request: Request, user: Principal, fmt: Formatter, limit: int) -> Exported:
    """The 360 card's degrees and relationship index of the customer ``customer`` in the
    address, for every score snapshot, oldest first
    (:func:`rapport.customer360.score_history`: the card's table shows the latest, its trend
    the index of the latest 24)."""
    scope = CustomerScope(user)
    with request.app.state.sessions() as session:
        customer = _card_customer(request, session, scope)
        history = customer360.score_history(
            session=session, customer_id=customer["id"], limit=limit + 1
        )
    columns = [
        TableColumn("as_of", fmt.t("exports.snapshot_of"), "date"),
        *(TableColumn(d, fmt.t(f"degree.{d}"), "number") for d in card.DEGREES),
        TableColumn("relationship_index", fmt.t("degree.relationship_index"), "number"),
    ]
    return Exported(columns, history, scope.masked)


def read_loyalty_ledger(request: Request, user: Principal, fmt: Formatter, limit: int) -> Exported:
    """The 360 card's loyalty ledger of the customer ``customer`` in the address
    (:func:`rapport.web.views.card_loyalty.ledger_rows`, newest first), every entry rather
    than the latest five; the reference masked for an analyst, as on the card."""
    scope = CustomerScope(user)
    with request.app.state.sessions() as session:
        customer = _card_customer(request, session, scope)
        entries = card_loyalty.ledger_rows(
            session, customer_id=customer["id"], limit=limit + 1, masked=scope.masked
        )
    rows = [{**entry, "customer_id": customer["id"]} for entry in entries]
    columns = [
        TableColumn("occurred_at", fmt.t("card.time"), "datetime"),
        TableColumn(
            "reason",
            fmt.t("card.loyalty_reason"),
            value=enum_label(fmt, "reason"),
        ),
        TableColumn("points", fmt.t("card.loyalty_points"), "integer"),
        TableColumn("reference", fmt.t("card.loyalty_reference")),
    ]
    return Exported(columns, rows, scope.masked)


def read_vouchers(request: Request, user: Principal, fmt: Formatter, limit: int) -> Exported:
    """The 360 card's vouchers of the customer ``customer`` in the address
    (:func:`rapport.web.views.card_loyalty.voucher_rows`, newest first), every one rather
    than the latest twenty; the code masked for an analyst, as on the card."""
    scope = CustomerScope(user)
    with request.app.state.sessions() as session:
        customer = _card_customer(request, session, scope)
        vouchers = card_loyalty.voucher_rows(
            session, customer_id=customer["id"], limit=limit + 1, fmt=fmt, masked=scope.masked
        )
    rows = [{**voucher, "customer_id": customer["id"]} for voucher in vouchers]

    def state(row: Mapping[str, Any]) -> str:
        if row["used_at"] is None:
            return fmt.t("card_loyalty.not_used")
        return fmt.t("card_loyalty.used_on", date=fmt.date(row["used_at"]))

    columns = [
        TableColumn("code", fmt.t("card_loyalty.code")),
        TableColumn("reward", fmt.t("card_loyalty.reward")),
        TableColumn(
            "kind",
            fmt.t("exports.reward_kind"),
            value=enum_label(fmt, "kind"),
        ),
        TableColumn("points", fmt.t("card.loyalty_points"), "integer"),
        TableColumn("issued_at", fmt.t("card_loyalty.issued_at"), "datetime"),
        TableColumn("used_at", fmt.t("card_loyalty.state"), value=state),
    ]
    return Exported(columns, rows, scope.masked)
