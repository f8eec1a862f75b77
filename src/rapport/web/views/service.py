"""The page 服务 Service: the ticket queue with its SLA clocks (overdue first), and a
ticket's page with its status history and the actions — move it along the workflow, assign
it.

Everything a page shows or does is :mod:`rapport.reports.service_queue`'s, which follows
the API's ``/tickets`` rules: the tickets of the customers in the user's
:class:`~rapport.access.CustomerScope`; moves through
:func:`rapport.store.tickets.transition` (a service user moves only the tickets assigned
to them); assignment by admins and managers. Writes are audited as the API audits them,
with ``via: web``; every view of the queue or a ticket (customer names, subjects) is
audited as a read of personal data (``read_pii`` of ``tickets``, route ``web.queue`` or
``web.ticket``).

The page is for service agents, managers and admins; sales users and analysts are refused
(403).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from rapport.access import CustomerScope, Principal
from rapport.domain import (
    TICKET_TRANSITIONS,
    AuditAction,
    Role,
    TicketKind,
    TicketPriority,
    TicketStatus,
)
from rapport.errors import Conflict, Forbidden, NotFound, ValidationFailed
from rapport.i18n.locale import pick
from rapport.reports import service_queue
from rapport.reports.service_queue import ASSIGNEE_FILTERS, OPEN_STATUSES, QueueQuery
from rapport.store import audit, tickets
from rapport.store.loyalty import TIER_NAMES
from rapport.store.repository import utcnow
from rapport.web import render
from rapport.web.auth import CSRF, VIA, audit_read, client_address, roles, writing
from rapport.web.exports import export_links
from rapport.web.i18n import Formatter
from rapport.web.nav import NavEntry

router = APIRouter(include_in_schema=False)
PAGE_ROLES = (Role.SERVICE, Role.MANAGER, Role.ADMIN)
NAV = NavEntry(
    path="/service",
    key="nav.service",
    order=50,
    roles=frozenset(PAGE_ROLES),
    home_of=frozenset({Role.SERVICE}),
)
ENTITY = "tickets"
#: The filters of the queue that the URL keeps (the cursor is added by the pager).
FILTERS = ("assignee", "priority", "kind", "status")
#: The longest note of a move (the history's note is free text).
NOTE_MAX = 2000

ServiceUser = Annotated[Principal, Depends(roles(*PAGE_ROLES))]


def _audit(
    request: Request,
    user: Principal,
    action: AuditAction,
    ticket_ids: list[int],
    detail: dict[str, Any],
    session: Session | None = None,
) -> None:
    """One audit entry as the API writes it (its detail with ``via: web``); in ``session``
    (a write's own transaction) or, for a read, in a short transaction of its own."""

    def write(target: Session) -> None:
        audit.record(
            session=target,
            actor=user.actor,
            actor_user_id=user.user_id,
            action=action,
            entity=ENTITY,
            entity_id=ticket_ids[0] if len(ticket_ids) == 1 else None,
            detail={"via": VIA, **detail},
            client_address=client_address(request),
        )

    if session is not None:
        write(session)
    else:
        writing(request, write)


def _enum(enum: type, value: str | None) -> Any:
    try:
        return enum(value) if value else None
    except ValueError:
        return None


def _default_assignee(user: Principal) -> str:
    return "mine" if user.role is Role.SERVICE else "all"


def parse_query(params: Any, user: Principal) -> tuple[QueueQuery, dict[str, str]]:
    """The queue's query from the URL (unknown values are ignored, never an error page),
    and the filters as they stay in the URL."""
    kept = {k: params.get(k, "").strip() for k in FILTERS}
    kept = {k: v for k, v in kept.items() if v}
    assignee = kept.get("assignee", "")
    if assignee not in ASSIGNEE_FILTERS:
        assignee = _default_assignee(user)
        kept.pop("assignee", None)
    status = _enum(TicketStatus, kept.get("status"))
    if status not in OPEN_STATUSES:
        status = None
        kept.pop("status", None)
    after = params.get("after") or None
    query = QueueQuery(
        assignee=assignee,
        status=status,
        priority=_enum(TicketPriority, kept.get("priority")),
        kind=_enum(TicketKind, kept.get("kind")),
        after=after[:200] if after else None,
    )
    return query, kept


def _url(kept: dict[str, str], **extra: str) -> str:
    values = {**kept, **extra}
    return "/service?" + urlencode(values) if values else "/service"


def duration(delta: dt.timedelta | None, fmt: Formatter) -> str:
    """``delta`` (its absolute value) in days and hours, hours and minutes, or minutes."""
    if delta is None:
        return fmt.DASH
    minutes = int(abs(delta).total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return fmt.t("service.duration_days_hours", days=fmt.number(days), hours=hours)
    if hours:
        return fmt.t("service.duration_hours_minutes", hours=hours, minutes=minutes)
    return fmt.t("service.duration_minutes", minutes=minutes)


def _is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true" and not request.headers.get(
        "hx-history-restore-request"
    )


@router.get("/service")
def queue_page(request: Request, user: ServiceUser) -> Response:
    scope = CustomerScope(user)
    now = utcnow()
    query, kept = parse_query(request.query_params, user)
    with request.app.state.sessions() as session:
        try:
            page = service_queue.ticket_queue(session=session, scope=scope, query=query, now=now)
        except ValidationFailed:  # a cursor edited by hand: the first page
            query = replace(query, after=None)
            page = service_queue.ticket_queue(session=session, scope=scope, query=query, now=now)
    audit_read(request, user, [r["id"] for r in page.rows], "web.queue", entity=ENTITY)
    here = _url(kept, after=query.after) if query.after else _url(kept)
    context = {
        "page": page,
        "query": query,
        "kept": kept,
        "now": now,
        "duration": duration,
        "here": here,
        "next_url": _url(kept, after=page.next_cursor) if page.next_cursor else None,
        "first_url": _url(kept) if query.after else None,
        "assignee_filters": ASSIGNEE_FILTERS,
        "statuses": OPEN_STATUSES,
        "priorities": list(TicketPriority),
        "kinds": list(TicketKind),
        "export": export_links("service", kept),
    }
    template = "service_queue.html" if _is_htmx(request) else "service.html"
    return render.page(request, template, context)


# --- one ticket ----------------------------------------------------------------------------


def _ticket_page(
    request: Request,
    user: Principal,
    ticket_id: int | None,
    *,
    message: str | None = None,
    error: str | None = None,
    assigned: bool = False,
    status: int = 200,
) -> Response:
    scope = CustomerScope(user)
    try:
        if ticket_id is None:
            raise NotFound("no such ticket", table="tickets", field="id", key="ticket_missing")
        with request.app.state.sessions() as session:
            ticket = service_queue.ticket_view(
                session=session, scope=scope, ticket_id=ticket_id, now=utcnow()
            )
            people = service_queue.assignees(session=session) if ticket["may_assign"] else []
    except NotFound:
        return render.page(request, "service_not_found.html", status=404)
    audit_read(request, user, [ticket["id"]], "web.ticket", entity=ENTITY)
    fmt = render.formatter(request)
    for entry in ticket["history"]:
        entry["note_shown"] = history_note(entry.get("note"), fmt)
    if assigned:
        message = fmt.t("ticket.assigned", name=ticket["assignee_name"])
    context = {
        "ticket": ticket,
        "assignees": people,
        "duration": duration,
        "message": message,
        "error": error,
        "note_max": NOTE_MAX,
        "is_service": user.role is Role.SERVICE,
    }
    partial = _is_htmx(request)
    # HTMX swaps only 2xx answers: a refused action comes back as a 200 with its message
    return render.page(
        request,
        "service_ticket_body.html" if partial else "service_ticket.html",
        context,
        status=200 if partial else status,
    )


def history_note(note: str | None, fmt: Formatter) -> str | None:
    """A history note as staff read it: the note of a priority a loyalty tier raised in
    the user's language, any other note as it was written."""
    raised = tickets.read_tier_priority_note(note)
    if raised is None:
        return note
    tier, asked, given = raised
    names = TIER_NAMES.get(tier)
    return fmt.t(
        "ticket.tier_raised",
        tier=pick(names, fmt.locale) if names else tier,
        asked=fmt.enum(asked),
        given=fmt.enum(given),
    )


@router.get("/service/tickets/{ticket_id}")
def ticket_page(request: Request, user: ServiceUser, ticket_id: str) -> Response:
    return _ticket_page(request, user, render.whole_number(ticket_id))


def _after_write(
    request: Request,
    user: Principal,
    ticket_id: int,
    message: str | None,
    error: str | None,
    status: int,
    *,
    assigned: bool = False,
) -> Response:
    """The ticket after a write: HTMX gets the ticket's part with the outcome; a plain form
    a redirect to the ticket's page (so a reload does not post again), or the page with
    the error."""
    if _is_htmx(request) or error is not None:
        return _ticket_page(
            request, user, ticket_id, message=message, error=error, assigned=assigned, status=status
        )
    return render.redirect(request, f"/service/tickets/{ticket_id}")


@router.post("/service/tickets/{ticket_id}/transition", dependencies=CSRF)
def move_ticket(
    request: Request,
    user: ServiceUser,
    ticket_id: str,
    to: Annotated[str, Form(max_length=32)] = "",
    note: Annotated[str, Form(max_length=NOTE_MAX * 4)] = "",
) -> Response:
    """Move the ticket as ``POST /api/v1/tickets/{id}/transitions`` does, audited alike."""
    fmt = render.formatter(request)
    number = render.whole_number(ticket_id)
    if number is None:
        return render.page(request, "service_not_found.html", status=404)
    target = _enum(TicketStatus, to.strip())
    note = note.strip()
    if target is None:
        return _after_write(request, user, number, None, fmt.t("ticket.bad_status"), 422)
    if len(note) > NOTE_MAX:
        error = fmt.t("ticket.note_too_long", count=fmt.number(NOTE_MAX))
        return _after_write(request, user, number, None, error, 422)
    scope = CustomerScope(user)

    def work(session: Session) -> dict[str, Any]:
        moved = service_queue.move(
            session=session,
            scope=scope,
            ticket_id=number,
            to_status=target,
            at=utcnow(),
            note=note or None,
        )
        detail = {"fields": ["status"], "to": moved["status"], "route": "transition"}
        _audit(request, user, AuditAction.UPDATE, [number], detail, session=session)
        return moved

    try:
        writing(request, work)
    except NotFound:
        return render.page(request, "service_not_found.html", status=404)
    except Forbidden:
        return _after_write(request, user, number, None, fmt.t("ticket.move_not_yours"), 403)
    except Conflict:
        return _after_write(
            request, user, number, None, _conflict_text(request, user, number, fmt), 409
        )
    return _after_write(
        request, user, number, fmt.t("ticket.moved", to=fmt.enum(target)), None, 200
    )


def _conflict_text(request: Request, user: Principal, ticket_id: int, fmt: Formatter) -> str:
    """The refusal of a move, with the ticket's status now and the statuses allowed next."""
    with request.app.state.sessions() as session:
        status = TicketStatus(
            service_queue.visible_ticket(
                session=session, scope=CustomerScope(user), ticket_id=ticket_id
            )["status"]
        )
    allowed = [fmt.enum(s) for s in TicketStatus if s in TICKET_TRANSITIONS[status]]
    return fmt.t("ticket.conflict", status=fmt.enum(status), allowed=", ".join(allowed) or fmt.DASH)


@router.post("/service/tickets/{ticket_id}/assign", dependencies=CSRF)
def assign_ticket(
    request: Request,
    user: ServiceUser,
    ticket_id: str,
    assignee_id: Annotated[str, Form(max_length=12)] = "",
) -> Response:
    """Assign the ticket as ``POST /api/v1/tickets/{id}/assign`` does, audited alike (an
    entry only when the assignee changed)."""
    fmt = render.formatter(request)
    number = render.whole_number(ticket_id)
    if number is None:
        return render.page(request, "service_not_found.html", status=404)
    chosen = assignee_id.strip()
    assignee = render.whole_number(chosen) if chosen else None
    if chosen and assignee is None:
        return _after_write(request, user, number, None, fmt.t("ticket.bad_assignee"), 422)
    scope = CustomerScope(user)

    def work(session: Session) -> tuple[dict[str, Any], dict[str, Any]]:
        before, after = service_queue.assign(
            session=session, scope=scope, ticket_id=number, assignee_id=assignee
        )
        if before["assignee_id"] != after["assignee_id"]:
            detail = {"fields": ["assignee_id"]}
            _audit(request, user, AuditAction.UPDATE, [number], detail, session=session)
        return before, after

    try:
        before, after = writing(request, work)
    except NotFound:
        return render.page(request, "service_not_found.html", status=404)
    except Forbidden:
        return render.page(request, "forbidden.html", status=403)
    except ValidationFailed:
        return _after_write(request, user, number, None, fmt.t("ticket.bad_assignee"), 422)
    if before["assignee_id"] == after["assignee_id"]:
        return _after_write(request, user, number, fmt.t("ticket.unchanged"), None, 200)
    if after["assignee_id"] is None:
        return _after_write(request, user, number, fmt.t("ticket.unassigned"), None, 200)
    return _after_write(request, user, number, None, None, 200, assigned=True)
