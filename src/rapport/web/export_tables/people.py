"""The lists of people on the diamonds page, the worklist, the service page and the Admin
page's accounts, as downloads."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from fastapi import Request
from sqlalchemy.orm import Session

from rapport.access import CustomerScope, Principal
from rapport.domain import Role, ValueTier
from rapport.reports import service_queue, snapshots
from rapport.reports import worklist as work
from rapport.reports.movers import previous_snapshot, tier_movers
from rapport.reports.prepared import latest_snapshot
from rapport.reports.tables import TableColumn
from rapport.store import audit, users
from rapport.store.repository import utcnow
from rapport.web.customer_list import owners
from rapport.web.export_tables import Exported, Reader, every_page, label_cell
from rapport.web.i18n import Formatter
from rapport.web.views import admin as admin_view
from rapport.web.views import diamonds as diamonds_view
from rapport.web.views import service as service_view
from rapport.web.views import worklist as worklist_view

#: Tickets read per page of the queue while it is exported (the most a page may ask).
READ_TICKETS = 500


def read_diamonds(request: Request, user: Principal, fmt: Formatter, limit: int) -> Exported:
    """The diamonds page's list (:func:`rapport.reports.snapshots.diamonds`, by churn risk),
    every diamond rather than the rows shown, with the page's *at risk* mark."""
    return _diamonds_of(request, CustomerScope(user), fmt, limit)


def read_worklist_diamonds(
    request: Request, user: Principal, fmt: Formatter, limit: int
) -> Exported:
    """The worklist's diamonds by churn risk, every one of the worklist's scope (with the
    owner picked in the address) rather than the ten shown, as the diamonds page's file."""
    mine, _, _ = _worklist_scope(request, user)
    return _diamonds_of(request, mine, fmt, limit)


def _diamonds_of(request: Request, scope: CustomerScope, fmt: Formatter, limit: int) -> Exported:
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


def read_diamond_movers(request: Request, user: Principal, fmt: Formatter, limit: int) -> Exported:
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


def read_service(request: Request, user: Principal, fmt: Formatter, limit: int) -> Exported:
    """The service page's queue (:func:`rapport.reports.service_queue.ticket_queue`) with
    its filters, every page of it, its clocks as of the download."""
    scope = CustomerScope(user)
    query, _ = service_view.parse_query(request.query_params, user)
    now = utcnow()
    sessions = request.app.state.sessions

    def read(after: str | None) -> tuple[list[dict[str, Any]], str | None]:
        page = replace(query, after=after, limit=READ_TICKETS)
        with sessions() as session:
            found = service_queue.ticket_queue(session=session, scope=scope, query=page, now=now)
        return found.rows, found.next_cursor

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
    return Exported(columns, every_page(read, limit), scope.masked)


def _worklist_scope(request: Request, user: Principal) -> tuple[CustomerScope, dict[int, str], Any]:
    """The worklist's scope as the page narrows it (``owner`` in the address, when the user
    may pick one), the owners' names by id (none for a sales user), the latest snapshot."""
    scope = CustomerScope(user)
    with request.app.state.sessions() as session:
        choices = owners(session, scope) if user.role is not Role.SALES else []
        as_of = latest_snapshot(session)
    owner = worklist_view._owner(request.query_params.get("owner"), choices)
    return work.owned_by(scope, owner), {c["id"]: c["name"] for c in choices}, as_of


def read_at_risk(request: Request, user: Principal, fmt: Formatter, limit: int) -> Exported:
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
            value=lambda r: label_cell(fmt.value("customer_scores", "value_tier", r["value_tier"])),
        ),
        TableColumn("churn_risk", fmt.t("column.churn_risk"), "percent"),
        TableColumn("predicted_clv", fmt.t("column.predicted_clv"), "money"),
        TableColumn("value_at_risk", fmt.t("worklist.value_at_risk"), "money"),
        TableColumn("reasons", fmt.t("worklist.reasons"), value=reasons),
    ]
    return Exported(columns, rows, mine.masked)


def worklist_reader(part: str) -> Reader:
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

        def read(after: str | None) -> tuple[list[dict[str, Any]], str | None]:
            with sessions() as session:
                found = page(session, after)
            return found.rows, found.next_cursor

        tier = TableColumn(
            "value_tier",
            fmt.t("column.value_tier"),
            value=lambda r: label_cell(fmt.value("customer_scores", "value_tier", r["value_tier"])),
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
        return Exported(columns, every_page(read, limit), scope.masked)

    return read


def read_staff(request: Request, user: Principal, fmt: Formatter, limit: int) -> Exported:
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


def read_tokens(request: Request, user: Principal, fmt: Formatter, limit: int) -> Exported:
    """The Admin page's API tokens (:func:`rapport.web.views.admin.token_rows`, newest
    first, as the page lists them): name, user, prefix, scopes, state and times; never a
    secret."""
    with request.app.state.sessions() as session:
        rows = admin_view.token_rows(session, users.list_users(session=session))
    columns = [
        TableColumn("id", fmt.t("tokens_page.col_id"), "integer"),
        TableColumn("name", fmt.t("tokens_page.col_name")),
        TableColumn("username", fmt.t("tokens_page.col_user")),
        TableColumn("prefix", fmt.t("tokens_page.col_prefix")),
        TableColumn(
            "scopes", fmt.t("tokens_page.col_scopes"), value=lambda r: ", ".join(r["scopes"])
        ),
        TableColumn(
            "state",
            fmt.t("tokens_page.col_state"),
            value=lambda r: fmt.t(f"tokens_page.state_{r['state']}"),
        ),
        TableColumn("created_at", fmt.t("tokens_page.col_created"), "datetime"),
        TableColumn("last_used_at", fmt.t("tokens_page.col_used"), "datetime"),
        TableColumn("expires_at", fmt.t("tokens_page.col_expires"), "datetime"),
    ]
    return Exported(columns, rows, masked=False)
