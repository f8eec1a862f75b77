"""The lists staff work through, as downloads: the open tasks of the worklist (and of a
service agent's *My tasks*), the alerts page's alerts and one ticket's history."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import Request

from rapport.access import CustomerScope, Principal
from rapport.actions.alerts import alert_page
from rapport.actions.tasks import task_page
from rapport.domain import Role, TaskStatus
from rapport.reports import service_queue
from rapport.reports.tables import TableColumn
from rapport.store import tickets
from rapport.store.paging import PageRequest
from rapport.store.repository import utcnow
from rapport.store.tasks import TaskFilter
from rapport.web import render
from rapport.web.customer_list import owners
from rapport.web.export_tables import Exported, enum_label, every_page
from rapport.web.i18n import Formatter
from rapport.web.views import alerts as alerts_view
from rapport.web.views import service as service_view
from rapport.web.views import worklist as worklist_view
from rapport.web.views import worklist_tasks

#: Rows read per keyset page of the tasks and the alerts while they are exported.
READ_ROWS = 500


def read_tasks(request: Request, user: Principal, fmt: Formatter, limit: int) -> Exported:
    """The open tasks the user sees (:func:`rapport.actions.tasks.task_page`, soonest due
    first), given to the owner picked in the address when the user may pick one, every page
    of them, each with how long it is overdue as of the download."""
    owner_id: int | None = None
    if user.role not in (Role.SALES, Role.SERVICE):
        with request.app.state.sessions() as session:
            choices = owners(session, CustomerScope(user))
        owner_id = worklist_view._owner(request.query_params.get("owner"), choices)
    filters = TaskFilter(status=TaskStatus.OPEN, assignee_id=owner_id)
    now = utcnow()
    sessions = request.app.state.sessions

    def read(after: Any) -> tuple[list[dict[str, Any]], Any]:
        page = PageRequest(limit=READ_ROWS, after=after, field="tasks_after")
        with sessions() as session:
            found = task_page(session=session, principal=user, page=page, filters=filters)
        return [worklist_tasks.task_row(row, now, fmt) for row in found.data], found.next_key

    def assignee(row: Mapping[str, Any]) -> str | None:
        if row["assignee_name"]:
            return str(row["assignee_name"])
        return fmt.t("tasks_web.team_queue", team=row["team"]) if row["team"] else None

    columns = [
        TableColumn("id", fmt.t("exports.task_id"), "integer"),
        TableColumn("due_at", fmt.t("tasks_web.due"), "datetime"),
        TableColumn("overdue", fmt.t("exports.overdue_by")),
        TableColumn("customer_id", fmt.t("column.id"), "integer"),
        TableColumn("customer_name", fmt.t("worklist.customer")),
        TableColumn("title", fmt.t("tasks_web.task")),
        TableColumn("script", fmt.t("tasks_web.script")),
        TableColumn(
            "priority",
            fmt.t("tasks_web.priority"),
            value=enum_label(fmt, "priority"),
        ),
    ]
    if user.role is not Role.SALES:  # the page's assignee column
        columns.append(TableColumn("assignee_name", fmt.t("tasks_web.assignee"), value=assignee))
    return Exported(columns, every_page(read, limit), masked=False)


def read_alerts(request: Request, user: Principal, fmt: Formatter, limit: int) -> Exported:
    """The alerts page's alerts (:func:`rapport.actions.alerts.alert_page`, newest raised
    first) with its filters from the address, every page of them, each with its customer's
    name and evidence as the page shows them."""
    filters, _ = alerts_view.parse_filters(request.query_params)
    sessions = request.app.state.sessions

    def read(after: Any) -> tuple[list[dict[str, Any]], Any]:
        page = PageRequest(limit=READ_ROWS, after=after)
        with sessions() as session:
            found = alert_page(session=session, principal=user, page=page, filters=filters)
            ids = sorted({r["customer_id"] for r in found.data if r["customer_id"]})
            names = alerts_view.customer_names(session, ids)
        return [alerts_view.shown_alert(row, names) for row in found.data], found.next_key

    def customer(row: Mapping[str, Any]) -> str:
        if row["customer_id"] is None:
            return fmt.t("alerts_web.company")
        return row["customer_name"] or f"#{row['customer_id']}"

    def evidence(row: Mapping[str, Any]) -> str | None:
        return "; ".join(f"{k}: {v}" for k, v in row["details"].items()) or None

    columns = [
        TableColumn("id", fmt.t("exports.alert_id"), "integer"),
        TableColumn("severity", fmt.t("alerts_web.severity"), value=enum_label(fmt, "severity")),
        TableColumn("kind", fmt.t("alerts_web.kind"), value=enum_label(fmt, "kind")),
        TableColumn("customer_id", fmt.t("column.id"), "integer"),
        TableColumn("customer_name", fmt.t("alerts_web.customer"), value=customer),
        TableColumn("raised_at", fmt.t("alerts_web.raised_at"), "datetime"),
        TableColumn("last_seen_at", fmt.t("alerts_web.last_seen_at"), "datetime"),
        TableColumn("details", fmt.t("alerts_web.evidence"), value=evidence),
        TableColumn("status", fmt.t("alerts_web.status"), value=enum_label(fmt, "status")),
        TableColumn("acknowledged_at", fmt.t("exports.acknowledged_at"), "datetime"),
        TableColumn("resolved_at", fmt.t("exports.resolved_at"), "datetime"),
    ]
    return Exported(columns, every_page(read, limit), masked=False)


def read_ticket_history(request: Request, user: Principal, fmt: Formatter, limit: int) -> Exported:
    """The history of the ticket ``ticket`` in the address as its page shows it
    (:func:`rapport.reports.service_queue.ticket_view`, oldest change first, a note raised
    by a loyalty tier in the user's language); a ticket outside the user's scope is not
    found, as its page is."""
    scope = CustomerScope(user)
    number = render.record_number(request.query_params.get("ticket", ""), tickets.not_found)
    with request.app.state.sessions() as session:
        ticket = service_queue.ticket_view(
            session=session, scope=scope, ticket_id=number, now=utcnow()
        )

    def change(row: Mapping[str, Any]) -> str:
        to = fmt.value("ticket_status_history", "to_status", row["to_status"])
        if row["from_status"]:
            was = fmt.value("ticket_status_history", "from_status", row["from_status"])
            return fmt.t("ticket.history_moved", from_=was, to=to)
        return fmt.t("ticket.history_opened", to=to)

    rows = [
        {
            **entry,
            "ticket_id": ticket["id"],
            "note_shown": service_view.history_note(entry.get("note"), fmt),
        }
        for entry in ticket["history"][: limit + 1]
    ]
    columns = [
        TableColumn("changed_at", fmt.t("ticket.history_when"), "datetime"),
        TableColumn("to_status", fmt.t("ticket.history_change"), value=change),
        TableColumn("changed_by_name", fmt.t("ticket.history_by")),
        TableColumn("note_shown", fmt.t("ticket.history_note")),
    ]
    return Exported(columns, rows, scope.masked)
