"""Downloads of the workspace's tables: every list a page shows, as CSV or Excel (XLSX), at
``/exports/<table>.csv`` and ``/exports/<table>.xlsx`` with the page's own query (filters,
sort, search) in the address.

A download is the page's table, not a copy of it: the same product function with the same
arguments (the user's :class:`~rapport.access.CustomerScope`, the page's filters and sort),
the same masking for an analyst, the same columns with the same headings in the user's
language, enumeration codes as their labels. It is the whole filtered list, not the page on
screen: a paged list is read page after page by its keyset cursor, at most
:data:`rapport.reports.tables.ROW_LIMIT` rows; a longer list ends with a row saying so. The
files themselves (byte-order mark, formula neutralisation, number cells, the file name
header) are :mod:`rapport.reports.tables`'.

Each page offers the links (:func:`rapport.web.exports.export_links` in
``export_links.html``); each table is declared once in :data:`TABLES` with the roles its
page allows. A download naming customers with their personal data unmasked is audited as
the export it is (``export`` of ``customers`` or ``tickets``, route
``web.export.<table>``, the format, the count and the first 500 ids), written when the
file has been written (a download broken off: the rows read by then, once the abandoned
stream is closed).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from typing import IO, Any

from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse
from sqlalchemy.orm import Session

from rapport import customer360
from rapport.access import ADMINISTRATORS, CustomerScope, Principal
from rapport.analytics.metrics import METRICS
from rapport.domain import AuditAction, Role, ValueTier
from rapport.errors import NotFound, StoreUnavailable, ValidationFailed
from rapport.i18n.enums import timeline_labels
from rapport.i18n.errors import error_text
from rapport.masking import mask_customer
from rapport.models import clusters as clustering
from rapport.reports import analysis as distributions
from rapport.reports import overview as overview_figures
from rapport.reports import service_queue, snapshots
from rapport.reports import worklist as work
from rapport.reports.movers import previous_snapshot, tier_movers
from rapport.reports.tables import (
    MEDIA_TYPES,
    ROW_LIMIT,
    TableColumn,
    content_disposition,
    csv_chunks,
    file_name,
    xlsx_file,
)
from rapport.store import audit, users
from rapport.store.repository import utcnow
from rapport.web import render
from rapport.web.auth import VIA, RoleRefused, WebUser, client_address, writing
from rapport.web.customer_list import (
    CustomerQuery,
    conditions,
    encode_cursor,
    latest_snapshot,
    owners,
    page_statement,
)
from rapport.web.exports import FORMATS
from rapport.web.i18n import Formatter
from rapport.web.pages import parse_query
from rapport.web.views import analysis as analysis_view
from rapport.web.views import diamonds as diamonds_view
from rapport.web.views import overview as overview_view
from rapport.web.views import service as service_view
from rapport.web.views import worklist as worklist_view

router = APIRouter(include_in_schema=False)
#: Rows read per keyset page of a paged list while it is exported.
READ_ROWS = 1000
#: Tickets read per page of the queue while it is exported (the most a page may ask).
READ_TICKETS = 500


@dataclass(frozen=True)
class Table:
    """One exportable table: its title (the file and sheet name), the roles of its page,
    and what reads it."""

    title_key: str
    roles: frozenset[Role]
    #: ``(request, user, fmt, limit) -> (columns, rows, masked)``; ``rows`` is lazy and may
    #: hold one row more than ``limit`` (the sign that the list was cut).
    read: Callable[[Request, Principal, Formatter, int], Exported]
    #: The audit log's entity of the rows and the key of their ids; ``None`` for a table of
    #: figures about groups, which names nobody and is not audited (as its page is not).
    entity: str | None = None
    id_key: str | None = None


@dataclass(frozen=True)
class Exported:
    columns: list[TableColumn]
    rows: Iterable[Mapping[str, Any]]
    masked: bool


# --- the tables ----------------------------------------------------------------------------


def _customers(request: Request, user: Principal, fmt: Formatter, limit: int) -> Exported:
    """The customers page's list (:mod:`rapport.web.customer_list`): its query from the
    address, read by keyset pages from the first."""
    segments = [s.id for s in request.app.state.rules.scores.rfm.segments]
    query, _ = parse_query(request.query_params, segments)
    scope = CustomerScope(user)
    sessions = request.app.state.sessions

    def rows() -> Iterator[dict[str, Any]]:
        page = replace(query, after=None, limit=READ_ROWS)
        given = 0
        while given <= limit:
            with sessions() as session:
                found = _customer_page(session, scope, page)
            more = len(found) > page.limit
            for row in found[: page.limit]:
                yield mask_customer(row) if scope.masked else row
                given += 1
            if not more:
                return
            last = found[page.limit - 1]
            page = replace(page, after=encode_cursor(query.sort, last["sort_key"], last["id"]))

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
            value=lambda r: _label(value("customer_scores", "value_tier", r["value_tier"])),
        ),
        TableColumn(
            "lifecycle_stage",
            fmt.t("column.lifecycle_stage"),
            value=lambda r: _label(
                value("customer_scores", "lifecycle_stage", r["lifecycle_stage"])
            ),
        ),
        TableColumn(
            "rfm_segment",
            fmt.t("column.rfm_segment"),
            value=lambda r: _label(fmt.segment(r["rfm_segment"])),
        ),
        TableColumn("relationship_index", fmt.t("column.relationship_index"), "number"),
        TableColumn("predicted_clv", fmt.t("column.predicted_clv"), "money"),
        TableColumn("churn_risk", fmt.t("column.churn_risk"), "percent"),
    ]
    return Exported(columns, rows(), scope.masked)


def _customer_page(
    session: Session, scope: CustomerScope, query: CustomerQuery
) -> list[dict[str, Any]]:
    as_of = latest_snapshot(session)
    where, _, _ = conditions(session, scope, query, as_of)
    return [dict(r) for r in session.execute(page_statement(where, query, as_of)).mappings()]


def _diamonds(request: Request, user: Principal, fmt: Formatter, limit: int) -> Exported:
    """The diamonds page's list (:func:`rapport.reports.snapshots.diamonds`, by churn risk),
    every diamond rather than the rows shown, with the page's *at risk* mark."""
    scope = CustomerScope(user)
    rules = request.app.state.rules
    level, _ = diamonds_view.at_risk_level(rules)
    rows: list[dict[str, Any]] = []
    with request.app.state.sessions() as session:
        as_of = latest_snapshot(session)
        if as_of is not None:
            rows = snapshots.diamonds(
                session,
                day=as_of,
                rules=rules,
                locale=fmt.locale,
                limit=limit + 1,
                scope=scope,
                order="churn_risk",
            ).rows

    def at_risk(row: Mapping[str, Any]) -> str | None:
        risky = row["churn_risk"] is not None and row["churn_risk"] >= level
        return fmt.t("diamonds.at_risk") if risky else None

    columns = [
        TableColumn("customer_id", fmt.t("column.id"), "integer"),
        TableColumn("name", fmt.t("diamonds.customer")),
        TableColumn("external_id", fmt.t("column.external_id")),
        TableColumn("city", fmt.t("column.city")),
        TableColumn("churn_risk", fmt.t("column.churn_risk"), "percent"),
        TableColumn("at_risk", fmt.t("exports.at_risk"), value=at_risk),
        TableColumn("monetary", fmt.t("diamonds.revenue"), "money"),
        TableColumn("predicted_clv", fmt.t("column.predicted_clv"), "money"),
        TableColumn("relationship_index", fmt.t("column.relationship_index"), "number"),
        TableColumn("reasons", fmt.t("diamonds.why")),
    ]
    return Exported(columns, rows, scope.masked)


def _diamond_movers(request: Request, user: Principal, fmt: Formatter, limit: int) -> Exported:
    """The diamonds page's *in and out of diamond* since the previous snapshot
    (:func:`rapport.reports.movers.tier_movers`), every mover rather than the first 100."""
    scope = CustomerScope(user)
    rules = request.app.state.rules
    rows: list[dict[str, Any]] = []
    with request.app.state.sessions() as session:
        as_of = latest_snapshot(session)
        previous = previous_snapshot(session, as_of) if as_of is not None else None
        if as_of is not None and previous is not None:
            rows = tier_movers(
                session,
                tier=ValueTier.DIAMOND,
                before=previous,
                after=as_of,
                rules=rules,
                locale=fmt.locale,
                scope=scope,
                limit=limit + 1,
            )

    def tier(value: Any) -> str:
        if value is None:
            return fmt.t("diamonds.no_tier")
        return fmt.value("customer_scores", "value_tier", value)

    def why(row: Mapping[str, Any]) -> str | None:
        if not row["reasons"]:
            return None
        if row["direction"] == "in":
            head = fmt.t("diamonds.meets")
        else:
            head = fmt.t("diamonds.lacking", tier=tier(row["reasons_tier"]))
        return f"{head} " + "; ".join(row["reasons"])

    columns = [
        TableColumn(
            "direction",
            fmt.t("diamonds.move"),
            value=lambda r: fmt.t(
                "diamonds.left" if r["direction"] == "out" else "diamonds.entered"
            ),
        ),
        TableColumn("customer_id", fmt.t("column.id"), "integer"),
        TableColumn("name", fmt.t("diamonds.customer")),
        TableColumn("external_id", fmt.t("column.external_id")),
        TableColumn("from", fmt.t("exports.tier_before"), value=lambda r: tier(r["from"])),
        TableColumn("to", fmt.t("exports.tier_after"), value=lambda r: tier(r["to"])),
        TableColumn("churn_risk", fmt.t("column.churn_risk"), "percent"),
        TableColumn("reasons", fmt.t("diamonds.reason"), value=why),
    ]
    return Exported(columns, rows, scope.masked)


def _service(request: Request, user: Principal, fmt: Formatter, limit: int) -> Exported:
    """The service page's queue (:func:`rapport.reports.service_queue.ticket_queue`) with
    its filters, every page of it, its clocks as of the download."""
    scope = CustomerScope(user)
    query, _ = service_view.parse_query(request.query_params, user)
    now = utcnow()
    sessions = request.app.state.sessions

    def rows() -> Iterator[dict[str, Any]]:
        page = replace(query, after=None, limit=READ_TICKETS)
        given = 0
        while given <= limit:
            with sessions() as session:
                found = service_queue.ticket_queue(
                    session=session, scope=scope, query=page, now=now
                )
            for row in found.rows:
                yield row
                given += 1
            if not found.next_cursor:
                return
            page = replace(page, after=found.next_cursor)

    def left(row: Mapping[str, Any]) -> str | None:
        delta = row["time_left"]
        if delta is None:
            return None
        time = service_view.duration(delta, fmt)
        key = "service.overdue_by" if row["overdue"] else "service.left"
        return fmt.t(key, time=time)

    def due_kind(row: Mapping[str, Any]) -> str | None:
        return fmt.t("service.due_" + row["due_kind"]) if row.get("due_kind") else None

    columns = [
        TableColumn("id", fmt.t("service.col_ticket"), "integer"),
        TableColumn("customer_id", fmt.t("column.id"), "integer"),
        TableColumn("customer_name", fmt.t("service.col_customer")),
        TableColumn(
            "kind", fmt.t("service.kind"), value=lambda r: fmt.value("tickets", "kind", r["kind"])
        ),
        TableColumn(
            "priority",
            fmt.t("service.priority"),
            value=lambda r: fmt.value("tickets", "priority", r["priority"]),
        ),
        TableColumn("subject", fmt.t("service.col_subject")),
        TableColumn(
            "assignee_name",
            fmt.t("service.assignee"),
            value=lambda r: r["assignee_name"] or fmt.t("service.unassigned"),
        ),
        TableColumn(
            "status",
            fmt.t("service.status"),
            value=lambda r: fmt.value("tickets", "status", r["status"]),
        ),
        TableColumn(
            "age", fmt.t("service.col_age"), value=lambda r: service_view.duration(r["age"], fmt)
        ),
        TableColumn("due_at", fmt.t("service.col_due"), "datetime"),
        TableColumn("due_kind", fmt.t("exports.due_kind"), value=due_kind),
        TableColumn("time_left", fmt.t("service.col_left"), value=left),
    ]
    return Exported(columns, rows(), scope.masked)


def _worklist_scope(request: Request, user: Principal) -> tuple[CustomerScope, dict[int, str], Any]:
    """The worklist's scope as the page narrows it (``owner`` in the address, when the user
    may pick one), the owners' names by id (none for a sales user), the latest snapshot."""
    scope = CustomerScope(user)
    with request.app.state.sessions() as session:
        choices = owners(session, scope) if user.role is not Role.SALES else []
        as_of = latest_snapshot(session)
    owner = worklist_view._owner(request.query_params.get("owner"), choices)
    return work.owned_by(scope, owner), {c["id"]: c["name"] for c in choices}, as_of


def _at_risk(request: Request, user: Principal, fmt: Formatter, limit: int) -> Exported:
    """The worklist's customers at risk (:func:`rapport.reports.snapshots.churn_warnings`,
    churn risk of at least the page's level, by value at risk), every one rather than the
    ten on the page, with its two main reasons as the page shows them."""
    mine, _, as_of = _worklist_scope(request, user)
    rows: list[dict[str, Any]] = []
    if as_of is not None:
        with request.app.state.sessions() as session:
            rows = snapshots.churn_warnings(
                session, day=as_of, limit=limit + 1, min_risk=worklist_view.MIN_RISK, scope=mine
            ).rows

    def reasons(row: Mapping[str, Any]) -> str | None:
        found = [fmt.label_or(f"feature.{r['feature']}", r["feature"]) for r in row["reasons"]]
        return "; ".join(found[:2]) or None

    columns = [
        TableColumn("customer_id", fmt.t("column.id"), "integer"),
        TableColumn("name", fmt.t("worklist.customer")),
        TableColumn(
            "value_tier",
            fmt.t("column.value_tier"),
            value=lambda r: _label(fmt.value("customer_scores", "value_tier", r["value_tier"])),
        ),
        TableColumn("churn_risk", fmt.t("column.churn_risk"), "percent"),
        TableColumn("predicted_clv", fmt.t("column.predicted_clv"), "money"),
        TableColumn("value_at_risk", fmt.t("worklist.value_at_risk"), "money"),
        TableColumn("reasons", fmt.t("worklist.reasons"), value=reasons),
    ]
    return Exported(columns, rows, mine.masked)


def _worklist(part: str) -> Callable[[Request, Principal, Formatter, int], Exported]:
    """The worklist page's list ``part`` (``birthdays`` this week or ``quiet``: not
    contacted for N days) with its owner and days from the address, every page of it
    (:mod:`rapport.reports.worklist`)."""

    def read(request: Request, user: Principal, fmt: Formatter, limit: int) -> Exported:
        params = request.query_params
        settings = request.app.state.settings
        days, _ = worklist_view.parse_days(params.get("days"))
        today = work.local_today(settings.tz)
        scope = CustomerScope(user)
        sessions = request.app.state.sessions
        mine, names, as_of = _worklist_scope(request, user)

        def page(session: Session, after: str | None) -> work.WorkPage:
            if part == "birthdays":
                return work.birthdays(
                    session,
                    start=work.week_of(today),
                    as_of=as_of,
                    scope=mine,
                    limit=work.MAX_LIMIT,
                    after=after,
                )
            return work.not_contacted(
                session,
                today=today,
                days=days,
                tz=settings.tz,
                as_of=as_of,
                scope=mine,
                limit=work.MAX_LIMIT,
                after=after,
            )

        def rows() -> Iterator[dict[str, Any]]:
            after: str | None = None
            given = 0
            while given <= limit:
                with sessions() as session:
                    found = page(session, after)
                for row in found.rows:
                    yield row
                    given += 1
                if found.next_cursor is None:
                    return
                after = found.next_cursor

        tier = TableColumn(
            "value_tier",
            fmt.t("column.value_tier"),
            value=lambda r: _label(fmt.value("customer_scores", "value_tier", r["value_tier"])),
        )
        columns = [
            TableColumn("customer_id", fmt.t("column.id"), "integer"),
            TableColumn("name", fmt.t("worklist.customer")),
        ]
        if part == "birthdays":
            columns += [
                TableColumn("on", fmt.t("worklist.birthday_on"), "date"),
                TableColumn("turns", fmt.t("worklist.turns"), "integer"),
                tier,
            ]
        else:
            columns += [
                TableColumn("last_contact_on", fmt.t("worklist.last_contact"), "date"),
                TableColumn("days_since", fmt.t("worklist.days_since"), "integer"),
                tier,
                TableColumn("predicted_clv", fmt.t("column.predicted_clv"), "money"),
            ]
        if names:
            columns.append(
                TableColumn(
                    "owner_id", fmt.t("column.owner"), value=lambda r: names.get(r["owner_id"])
                )
            )
        return Exported(columns, rows(), scope.masked)

    return read


def _snapshot_table(
    request: Request, user: Principal, read: Callable[[Session, Any, Any, CustomerScope], Any]
) -> list[dict[str, Any]]:
    """``read(session, latest, previous, scope)`` on the latest snapshot (and the one
    before), or no rows without a snapshot."""
    scope = CustomerScope(user)
    with request.app.state.sessions() as session:
        latest = latest_snapshot(session)
        if latest is None:
            return []
        previous = previous_snapshot(session, latest)
        return list(read(session, latest, previous, scope) or [])


def _grouping(request: Request, name: str, default: str) -> str:
    value = request.query_params.get(name)
    return value if value in snapshots.GROUPINGS else default


def _group_label(by: str, fmt: Formatter) -> Callable[[Any], str]:
    def label(value: Any) -> str:
        if value is None:
            return fmt.t("analysis.no_group")
        return snapshots.group_label(by, value, fmt.locale) or str(value)

    return label


def _share(key: str) -> Callable[[Mapping[str, Any]], float | None]:
    """A share the reports give in percent (0–100), as the fraction a percent cell holds."""
    return lambda r: None if r[key] is None else r[key] / 100


def _groups(request: Request, user: Principal, fmt: Formatter, limit: int) -> Exported:
    """The analysis page's table of a grouping (``by``: RFM segments, value tiers or
    lifecycle stages; :func:`rapport.reports.snapshots.group_summary`)."""
    by = _grouping(request, "by", snapshots.GROUPINGS[0])
    rules = request.app.state.rules
    rows = _snapshot_table(
        request,
        user,
        lambda session, latest, _, scope: snapshots.group_summary(
            session, by=by, day=latest, rules=rules, scope=scope
        ),
    )
    label = _group_label(by, fmt)
    columns = [
        TableColumn("group", fmt.t(by), value=lambda r: label(r["group"])),
        TableColumn("customers", fmt.t("customers"), "integer"),
        TableColumn("customer_share", fmt.t("customer_share"), "percent", _share("customer_share")),
        TableColumn("revenue", fmt.t("revenue"), "money"),
        TableColumn("revenue_share", fmt.t("revenue_share"), "percent", _share("revenue_share")),
        TableColumn("avg_relationship_index", fmt.t("degree.relationship_index"), "number"),
    ]
    return Exported(columns, rows, CustomerScope(user).masked)


def _movements(request: Request, user: Principal, fmt: Formatter, limit: int) -> Exported:
    """The analysis page's movements between the two latest snapshots (``move_by``, as on
    the page; :func:`rapport.reports.snapshots.movements`)."""
    by = _grouping(request, "move_by", snapshots.GROUPINGS[1])
    rows = _snapshot_table(
        request,
        user,
        lambda session, latest, previous, scope: (
            snapshots.movements(session, by=by, before=previous, after=latest, scope=scope)
            if previous
            else []
        ),
    )
    label = _group_label(by, fmt)
    columns = [
        TableColumn("from", fmt.t("analysis.from"), value=lambda r: label(r["from"])),
        TableColumn("to", fmt.t("analysis.to"), value=lambda r: label(r["to"])),
        TableColumn("customers", fmt.t("customers"), "integer"),
    ]
    return Exported(columns, rows, CustomerScope(user).masked)


def _rfm_grid(request: Request, user: Principal, fmt: Formatter, limit: int) -> Exported:
    """The analysis page's RFM grid, one row per cell holding customers
    (:func:`rapport.reports.analysis.rfm_grid`)."""
    rows = _snapshot_table(
        request,
        user,
        lambda session, latest, _, scope: distributions.rfm_grid(session, day=latest, scope=scope),
    )
    columns = [
        TableColumn("r_score", fmt.t("analysis.r_score"), "integer"),
        TableColumn("f_score", fmt.t("analysis.f_score"), "integer"),
        TableColumn("customers", fmt.t("customers"), "integer"),
        TableColumn("revenue", fmt.t("revenue"), "money"),
    ]
    return Exported(columns, rows, CustomerScope(user).masked)


def _clv_bins(request: Request, user: Principal, fmt: Formatter, limit: int) -> Exported:
    """The analysis page's predicted CLV distribution
    (:func:`rapport.reports.analysis.clv_distribution`): each bin's bounds, customers and
    predicted CLV."""
    rows = _snapshot_table(
        request,
        user,
        lambda session, latest, _, scope: distributions.clv_distribution(
            session, day=latest, scope=scope
        ),
    )
    columns = [
        TableColumn("low", fmt.t("exports.from_value"), "money"),
        TableColumn("high", fmt.t("exports.below_value"), "money"),
        TableColumn("customers", fmt.t("customers"), "integer"),
        TableColumn("clv", fmt.t("analysis.clv_sum"), "money"),
    ]
    return Exported(columns, rows, CustomerScope(user).masked)


def _correlations(request: Request, user: Principal, fmt: Formatter, limit: int) -> Exported:
    """The analysis page's correlations of the four degrees and the relationship index, one
    row per pair as the report gives them (:func:`rapport.reports.analysis.degree_correlations`;
    the page shows the same figures as a square)."""
    rows = _snapshot_table(
        request,
        user,
        lambda session, latest, _, scope: distributions.degree_correlations(
            session, day=latest, scope=scope
        ),
    )
    columns = [
        TableColumn("x", fmt.t("exports.degree_x"), value=lambda r: fmt.t(f"degree.{r['x']}")),
        TableColumn("y", fmt.t("exports.degree_y"), value=lambda r: fmt.t(f"degree.{r['y']}")),
        TableColumn("r", fmt.t("exports.pearson_r"), "number"),
        TableColumn("customers", fmt.t("customers"), "integer"),
    ]
    return Exported(columns, rows, CustomerScope(user).masked)


def _degrees_history(request: Request, user: Principal, fmt: Formatter, limit: int) -> Exported:
    """The overview's four degrees and relationship index averaged per snapshot
    (:func:`rapport.reports.overview.snapshot_history`, the latest 24, oldest first)."""
    scope = CustomerScope(user)
    with request.app.state.sessions() as session:
        rows = overview_figures.snapshot_history(session, scope=scope)
    columns = [TableColumn("as_of", fmt.t("overview.snapshot_date"), "date")]
    columns += [
        TableColumn(f"avg_{name}", fmt.t(f"degree.{name}"), "number") for name in snapshots.AVERAGED
    ]
    columns += [
        TableColumn("customers", fmt.t("customers"), "integer"),
        TableColumn("diamonds", fmt.t("exports.diamonds"), "integer"),
    ]
    return Exported(columns, rows, scope.masked)


def _headline(request: Request, user: Principal, fmt: Formatter, limit: int) -> Exported:
    """The overview's headline metrics of its ``period`` (:func:`rapport.reports.overview.
    metric_overview`, the company's, as the page shows them): each metric's value, the
    previous period's and the change, in the metric's unit (percent metrics 0–100)."""
    result = overview_view.headline_metrics(request)
    rows = [
        {
            "metric": overview_view.metric_label(metric_id, fmt),
            "unit": METRICS[metric_id].unit,
            "value": result["headline"][metric_id]["value"],
            "previous": result["headline"][metric_id]["previous"],
            "change": overview_figures.change(
                result["headline"][metric_id]["value"], result["headline"][metric_id]["previous"]
            ),
        }
        for metric_id in overview_figures.HEADLINE
    ]
    columns = [
        TableColumn("metric", fmt.t("exports.metric")),
        TableColumn(
            "unit", fmt.t("exports.unit"), value=lambda r: fmt.t(f"exports.unit_{r['unit']}")
        ),
        TableColumn("value", fmt.t("exports.value"), "number"),
        TableColumn("previous", fmt.t("exports.previous"), "number"),
        TableColumn("change", fmt.t("exports.change"), "number"),
    ]
    return Exported(columns, rows, CustomerScope(user).masked)


def _explorer(request: Request, user: Principal, fmt: Formatter, limit: int) -> Exported:
    """The analysis page's metrics explorer: the metric of the address's question over its
    period, by its segment and granularity (:func:`rapport.web.views.analysis.
    explorer_rows`), each row's numerator, denominator and value (percent metrics 0–100)."""
    q = analysis_view.question(request)
    _, rows = analysis_view.explorer_rows(request, q)
    label = analysis_view.metric_label(q["metric"], fmt)
    columns = [TableColumn("metric", fmt.t("exports.metric"), value=lambda r: label)]
    if q["by"]:
        columns.append(
            TableColumn(
                "segment",
                fmt.t(f"analysis.by_{q['by']}"),
                value=lambda r: analysis_view.segment_label(q["by"], r.get("segment"), fmt),
            )
        )
    if q["granularity"]:
        columns.append(
            TableColumn(
                "bucket_start",
                fmt.t("analysis.bucket"),
                "date",
                value=lambda r: (
                    r["bucket_start"]
                    and r["bucket_start"].replace(tzinfo=dt.UTC).astimezone(fmt.zone).date()
                ),
            )
        )
    columns += [
        TableColumn("numerator", fmt.t("analysis.numerator"), "number"),
        TableColumn("denominator", fmt.t("analysis.denominator"), "number"),
        TableColumn("value", fmt.t("analysis.value"), "number"),
    ]
    return Exported(columns, rows, CustomerScope(user).masked)


def _cohorts(request: Request, user: Principal, fmt: Formatter, limit: int) -> Exported:
    """The analysis page's cohort retention, one row per cohort and month after its first
    purchase (:func:`rapport.web.views.analysis.cohort_rows`; the page shows a square)."""
    _, rows = analysis_view.cohort_rows(request)
    columns = [
        TableColumn("cohort", fmt.t("analysis.cohort")),
        TableColumn("month_offset", fmt.t("analysis.month_offset"), "integer"),
        TableColumn("customers", fmt.t("analysis.cohort_size"), "integer"),
        TableColumn("active", fmt.t("exports.active"), "integer"),
        TableColumn("share", fmt.t("analysis.retention_share"), "percent", _share("share")),
    ]
    return Exported(columns, rows, CustomerScope(user).masked)


def _chain(request: Request, user: Principal, fmt: Formatter, limit: int) -> Exported:
    """The analysis page's chain of the degrees within the user's scope
    (:func:`rapport.web.views.analysis.chain_of`), one row per link."""
    chain = analysis_view.chain_of(request, user)
    rows = chain["links"] if chain else []
    columns = [
        TableColumn(
            "source", fmt.t("chain.source"), value=lambda r: fmt.t(f"degree.{r['source']}")
        ),
        TableColumn(
            "target", fmt.t("chain.target"), value=lambda r: fmt.t(f"degree.{r['target']}")
        ),
        TableColumn("high_source", fmt.t("chain.high_source"), "integer"),
        TableColumn("share", fmt.t("chain.share"), "percent"),
        TableColumn("base_rate", fmt.t("chain.base_rate"), "percent"),
        TableColumn("lift", fmt.t("chain.lift"), "number"),
        TableColumn("customers", fmt.t("analysis.chain_customers"), "integer"),
    ]
    return Exported(columns, rows, CustomerScope(user).masked)


def _clusters(request: Request, user: Principal, fmt: Formatter, limit: int) -> Exported:
    """The analysis page's behavioural clusters (:func:`rapport.web.views.analysis.
    clusters_of`, every customer's): each cluster's size, share and description."""
    found = analysis_view.clusters_of(request)
    rows = found["clusters"] if found else []
    columns = [
        TableColumn(
            "id", fmt.t("cluster"), value=lambda r: fmt.t("analysis.cluster_n", n=r["id"] + 1)
        ),
        TableColumn("size", fmt.t("customers"), "integer"),
        TableColumn("share", fmt.t("customer_share"), "percent"),
        TableColumn(
            "description",
            fmt.t("cluster_features"),
            value=lambda r: clustering.description(
                [(name, v) for name, v in r["distinguishing"]], fmt.locale
            ),
        ),
    ]
    return Exported(columns, rows, CustomerScope(user).masked)


def _staff(request: Request, user: Principal, fmt: Formatter, limit: int) -> Exported:
    """The Admin page's accounts (:func:`rapport.store.users.list_users`, each with their
    last log-in from the audit log, as the page shows them); never a password hash."""
    with request.app.state.sessions() as session:
        rows = users.list_users(session=session)
        last = audit.last_logins(session=session, user_ids=[r["id"] for r in rows])

    def state(row: Mapping[str, Any]) -> str:
        found = fmt.t("users_page.active" if row["is_active"] else "users_page.disabled")
        if row["password_hash"] is None:
            found += f" ({fmt.t('users_page.no_password')})"
        return found

    columns = [
        TableColumn("id", fmt.t("column.id"), "integer"),
        TableColumn("username", fmt.t("users_page.col_username")),
        TableColumn("display_name", fmt.t("users_page.col_name")),
        TableColumn("email", fmt.t("users_page.col_email")),
        TableColumn(
            "role", fmt.t("users_page.col_role"), value=lambda r: fmt.enum(Role(r["role"]))
        ),
        TableColumn("team", fmt.t("users_page.col_team")),
        TableColumn("is_active", fmt.t("users_page.col_state"), value=state),
        TableColumn(
            "last_login",
            fmt.t("users_page.col_last_login"),
            "datetime",
            value=lambda r: last.get(r["id"]),
        ),
    ]
    return Exported(columns, rows, masked=False)


def _timeline(request: Request, user: Principal, fmt: Formatter, limit: int) -> Exported:
    """The 360 card's timeline of the customer ``customer`` in the address
    (:func:`rapport.customer360.customer_timeline`, newest first), every entry rather than
    the latest shown; a customer outside the user's scope is not found, as the card is.
    The free-text details an analyst's card hides are hidden the same way."""
    scope = CustomerScope(user)
    number = request.query_params.get("customer", "")
    if not number.isdigit():
        raise NotFound(
            "no {entity} with id {id}",
            table="customers",
            field="id",
            key="record_not_found",
            params={"entity": "customer", "id": number},
        )
    with request.app.state.sessions() as session:
        customer = scope.get(session=session, id=int(number))
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


def _label(text: str) -> str | None:
    """A label as a cell: the screen's dash for "none" is an empty cell."""
    return None if text == Formatter.DASH else text


#: Every exportable table, by the name in its address.
TABLES: dict[str, Table] = {
    "customers": Table(
        title_key="nav.customers",
        roles=frozenset(Role),
        read=_customers,
        entity="customers",
        id_key="id",
    ),
    "diamonds": Table(
        title_key="nav.diamonds",
        roles=frozenset(diamonds_view.ROLES),
        read=_diamonds,
        entity="customers",
        id_key="customer_id",
    ),
    "birthdays": Table(
        title_key="worklist.birthdays",
        roles=frozenset(worklist_view.ROLES),
        read=_worklist("birthdays"),
        entity="customers",
        id_key="customer_id",
    ),
    "not-contacted": Table(
        title_key="exports.not_contacted",
        roles=frozenset(worklist_view.ROLES),
        read=_worklist("quiet"),
        entity="customers",
        id_key="customer_id",
    ),
    "at-risk": Table(
        title_key="exports.at_risk_list",
        roles=frozenset(worklist_view.ROLES),
        read=_at_risk,
        entity="customers",
        id_key="customer_id",
    ),
    "groups": Table(
        title_key="nav.analysis",
        roles=frozenset(analysis_view.ALLOWED),
        read=_groups,
    ),
    "movements": Table(
        title_key="analysis.moves",
        roles=frozenset(analysis_view.ALLOWED),
        read=_movements,
    ),
    "rfm-grid": Table(
        title_key="analysis.rfm_grid",
        roles=frozenset(analysis_view.ALLOWED),
        read=_rfm_grid,
    ),
    "clv": Table(
        title_key="analysis.clv",
        roles=frozenset(analysis_view.ALLOWED),
        read=_clv_bins,
    ),
    "correlations": Table(
        title_key="analysis.correlations",
        roles=frozenset(analysis_view.ALLOWED),
        read=_correlations,
    ),
    "degrees-history": Table(
        title_key="overview.degrees_trend",
        roles=frozenset(overview_view.ALLOWED),
        read=_degrees_history,
    ),
    "headline": Table(
        title_key="exports.headline",
        roles=frozenset(overview_view.ALLOWED),
        read=_headline,
    ),
    "explorer": Table(
        title_key="exports.explorer",
        roles=frozenset(analysis_view.ALLOWED),
        read=_explorer,
    ),
    "cohorts": Table(
        title_key="analysis.cohorts",
        roles=frozenset(analysis_view.ALLOWED),
        read=_cohorts,
    ),
    "chain": Table(
        title_key="exports.chain",
        roles=frozenset(analysis_view.ALLOWED),
        read=_chain,
    ),
    "clusters": Table(
        title_key="analysis.clusters",
        roles=frozenset(analysis_view.ALLOWED),
        read=_clusters,
    ),
    "users": Table(
        title_key="exports.users",
        roles=ADMINISTRATORS,
        read=_staff,
    ),
    "diamond-movers": Table(
        title_key="diamonds.moves",
        roles=frozenset(diamonds_view.ROLES),
        read=_diamond_movers,
        entity="customers",
        id_key="customer_id",
    ),
    "timeline": Table(
        title_key="card.timeline",
        roles=frozenset(Role),
        read=_timeline,
        entity="customers",
        id_key="customer_id",
    ),
    "service": Table(
        title_key="nav.service",
        roles=frozenset(service_view.PAGE_ROLES),
        read=_service,
        entity="tickets",
        id_key="id",
    ),
}


# --- the download --------------------------------------------------------------------------


@router.get("/exports/{table}.{fmt_name}")
def download(request: Request, table: str, fmt_name: str, user: WebUser) -> Response:
    found = TABLES.get(table)
    if found is None or fmt_name not in FORMATS:
        return render.page(request, "not_found.html", status=404)
    if user.role not in found.roles:
        raise RoleRefused()
    fmt = render.formatter(request)
    try:
        exported = found.read(request, user, fmt, ROW_LIMIT)
    except NotFound:
        return render.page(request, "not_found.html", status=404)
    except (ValidationFailed, StoreUnavailable) as exc:  # too much asked, or workers busy
        status = 422 if isinstance(exc, ValidationFailed) else 503
        reason = error_text(exc, fmt.locale)
        return render.page(request, "export_failed.html", {"reason": reason}, status=status)
    zone = request.app.state.settings.tz
    title = fmt.t(found.title_key)
    name = file_name(title, dt.datetime.now(zone).date(), fmt_name)
    notice = fmt.t("exports.cut", count=fmt.number(ROW_LIMIT))
    audited = _audited(request, user, found, table, fmt_name, exported)
    if fmt_name == "csv":
        body: Iterator[Any] = csv_chunks(
            exported.columns, audited, zone=zone, notice=notice, limit=ROW_LIMIT
        )
    else:
        file = xlsx_file(
            exported.columns, audited, zone=zone, notice=notice, sheet=title, limit=ROW_LIMIT
        )
        body = _file_chunks(file)
    response = StreamingResponse(
        body,
        media_type=MEDIA_TYPES[fmt_name],
        headers={"Content-Disposition": content_disposition(name)},
    )
    return render.with_cookie(request, response)


def _file_chunks(file: IO[bytes], size: int = 64 * 1024) -> Iterator[bytes]:
    try:
        while chunk := file.read(size):
            yield chunk
    finally:
        file.close()


def _audited(
    request: Request, user: Principal, table: Table, name: str, fmt_name: str, exported: Exported
) -> Iterator[Mapping[str, Any]]:
    """The rows of ``exported``; once they are read to the end (or the stream is closed
    early), an ``export`` entry of the ids read, unless the rows were masked or name
    nobody."""
    ids: dict[int, None] = {}  # in the order sent, each once (a timeline's rows share one)
    read = 0
    cut = False
    try:
        for row in exported.rows:
            if read >= ROW_LIMIT:
                cut = True
            elif table.id_key is not None:
                ids[row[table.id_key]] = None
            read += 1
            yield row
    finally:
        if table.entity is not None and not exported.masked and ids:
            _record(request, user, table.entity, name, fmt_name, list(ids), cut)


def _record(
    request: Request,
    user: Principal,
    entity: str,
    name: str,
    fmt_name: str,
    ids: list[int],
    cut: bool,
) -> None:
    detail: dict[str, Any] = {
        "via": VIA,
        "route": f"web.export.{name}",
        "format": fmt_name,
        "count": len(ids),
        "ids": ids[:500],
    }
    if cut:
        detail["cut"] = True

    def write(session: Session) -> None:
        audit.record(
            session=session,
            actor=user.actor,
            actor_user_id=user.user_id,
            action=AuditAction.EXPORT,
            entity=entity,
            entity_id=None,
            detail=detail,
            client_address=client_address(request),
        )

    writing(request, write)


__all__ = ["TABLES", "router"]
