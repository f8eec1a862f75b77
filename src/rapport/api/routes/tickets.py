"""``/tickets``: list, read (with the status history), open, move along the workflow,
assign.

Which tickets a caller sees follows from :class:`~rapport.api.deps.CustomerScope` alone:
a ticket is visible when its customer is (and is not deleted). For service users, whose
customers are those with a ticket assigned to them, that means the tickets assigned to
them *and* the other tickets of those customers — the same tickets their customers' 360
timelines show. A ticket outside the scope is a 404, exactly like a missing one.

=====================================  =================================  ===============
route                                  roles                              scope
=====================================  =================================  ===============
GET /tickets, GET /tickets/{id}        all (scoped; analysts: free text   tickets:read
                                       removed)
POST /tickets                          admin, manager, sales, service     tickets:write
POST /tickets/{id}/transitions         admin, manager, sales, service     tickets:write
                                       (service: tickets assigned to
                                       them)
POST /tickets/{id}/assign              admin, manager                     tickets:write
=====================================  =================================  ===============

A transition is safe when many clients move the same ticket at once: the request's one
transaction begins as a writer and commits before the answer
(:data:`~rapport.api.deps.SessionDep`); :func:`rapport.store.tickets.transition` locks
the ticket row (PostgreSQL ``SELECT … FOR UPDATE``; on SQLite the transaction holds the
write lock from its start) and changes it with ``UPDATE … WHERE status = <the status
read>``. Of several clients moving a ticket from the same status, one succeeds and the
others get 409 naming the current status and the statuses allowed next.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Path, Query
from sqlalchemy.orm import Session

from rapport.access import WRITERS
from rapport.api.audit import AuditorDep
from rapport.api.deps import (
    CustomerScope,
    CustomerScopeDep,
    Principal,
    RulesDep,
    SessionDep,
    named_customer,
    require_role,
    require_scope,
)
from rapport.api.errors import (
    COMMON_RESPONSES,
    CONFLICT_RESPONSE,
    NOT_FOUND_RESPONSE,
    ApiError,
    forbidden,
)
from rapport.api.masking import shown
from rapport.api.pagination import PageDep, paginate, where_equal
from rapport.api.schemas.common import MAX_INT32
from rapport.api.schemas.tickets import (
    TicketAssign,
    TicketCreate,
    TicketDetail,
    TicketHistoryEntry,
    TicketPublic,
    TicketsPublic,
    TicketTransition,
)
from rapport.domain import AuditAction, Role, TicketKind, TicketPriority, TicketStatus
from rapport.reports import service_queue
from rapport.store import schema, tickets
from rapport.store.repository import Row, utcnow

router = APIRouter(prefix="/tickets", tags=["tickets"])

ENTITY = "tickets"
_t = schema.tickets.c
_c = schema.customers.c
#: Clock skew allowed for ``opened_at`` given by a client.
FUTURE_SKEW = dt.timedelta(minutes=5)
#: Fields analysts do not see (free text that may describe a person).
MASKED_FIELDS = ("subject", "description", "extra")

TicketId = Annotated[int, Path(ge=1, description="The ticket's id.")]
IdFilter = Annotated[int | None, Query(ge=1, le=MAX_INT32)]
READ = [Depends(require_scope("tickets:read"))]
WRITE = [Depends(require_scope("tickets:write"))]
MAY_WRITE = Depends(require_role(*WRITERS["tickets"]))
MAY_ASSIGN = Depends(require_role(*service_queue.ASSIGNING_ROLES))


def _public(row: Row, scope: CustomerScope) -> TicketPublic:
    return TicketPublic.model_validate(shown(row, MASKED_FIELDS, masked=scope.masked))


def _detail(session: Session, row: Row, scope: CustomerScope) -> TicketDetail:
    history = tickets.history(session=session, ticket_id=row["id"])
    if scope.masked:
        history = [{**h, "note": None} for h in history]
    return TicketDetail(
        **_public(row, scope).model_dump(),
        history=[TicketHistoryEntry.model_validate(h) for h in history],
    )


def _check_assignee(session: Session, user: Principal, assignee_id: int | None) -> None:
    """Admins and managers assign any active staff user; others only themselves."""
    if assignee_id is None:
        return
    if user.role not in (Role.ADMIN, Role.MANAGER) and assignee_id != user.user_id:
        raise forbidden(
            f"the {user.role.value} role may assign tickets only to themselves",
            field="body.assignee_id",
            hint=f"leave assignee_id out or set it to your user id {user.user_id}",
        )
    if not service_queue.assignees(session=session, user_id=assignee_id):
        raise ApiError(
            422,
            "validation_failed",
            f"body.assignee_id: no active staff user with id {assignee_id}",
            field="body.assignee_id",
            value=assignee_id,
            hint="assign an active admin, manager, sales or service user",
        )


# --- reads ---------------------------------------------------------------------------------


@router.get("", response_model=TicketsPublic, dependencies=READ, responses=COMMON_RESPONSES)
def list_tickets(
    session: SessionDep,
    scope: CustomerScopeDep,
    auditor: AuditorDep,
    page: PageDep,
    status: Annotated[TicketStatus | None, Query()] = None,
    kind: Annotated[TicketKind | None, Query()] = None,
    priority: Annotated[TicketPriority | None, Query()] = None,
    assignee_id: IdFilter = None,
    customer_id: IdFilter = None,
) -> TicketsPublic:
    """Tickets of the customers in your scope, in id order, one page at a time."""
    stmt = where_equal(
        sa.select(schema.tickets).where(scope.visible(_t.customer_id)),
        (_t.status, status),
        (_t.kind, kind),
        (_t.priority, priority),
        (_t.assignee_id, assignee_id),
        (_t.customer_id, customer_id),
    )
    rows = paginate(session, stmt, page, key=_t.id)
    auditor.listed(ENTITY, rows.data, masked=scope.masked)
    return rows.as_page(TicketsPublic, lambda r: _public(r, scope))


@router.get(
    "/{ticket_id}",
    response_model=TicketDetail,
    dependencies=READ,
    responses={**COMMON_RESPONSES, **NOT_FOUND_RESPONSE},
)
def get_ticket(
    ticket_id: TicketId, session: SessionDep, scope: CustomerScopeDep, auditor: AuditorDep
) -> TicketDetail:
    """One ticket with its status history, oldest change first."""
    row = service_queue.visible_ticket(session=session, scope=scope, ticket_id=ticket_id)
    auditor.read_personal_data(ENTITY, [row["id"]], route="get", masked=scope.masked)
    return _detail(session, row, scope)


# --- writes --------------------------------------------------------------------------------


@router.post(
    "",
    response_model=TicketDetail,
    status_code=201,
    dependencies=[*WRITE, MAY_WRITE],
    responses={**COMMON_RESPONSES, **CONFLICT_RESPONSE},
)
def open_ticket(
    body: TicketCreate,
    session: SessionDep,
    scope: CustomerScopeDep,
    auditor: AuditorDep,
    rules: RulesDep,
) -> TicketDetail:
    """Open a ticket for a customer in your scope. Its first-response and resolution due
    times follow from its priority and the SLA targets of the business rules."""
    user = scope.principal
    values = body.model_dump(exclude_unset=True)
    named_customer(session, scope, body.customer_id)
    if user.role is Role.SERVICE:
        values.setdefault("assignee_id", user.user_id)
    _check_assignee(session, user, values.get("assignee_id"))
    now = utcnow()
    opened_at = values.get("opened_at") or now
    if opened_at > now + FUTURE_SKEW:
        raise ApiError(
            422,
            "validation_failed",
            "body.opened_at: in the future",
            field="body.opened_at",
            value=opened_at,
            hint="leave it out to open the ticket now",
        )
    values["opened_at"] = opened_at
    values.setdefault("priority", body.priority)
    row = tickets.open_ticket(
        session=session,
        values=values,
        sla=rules.sla,
        loyalty=rules.loyalty,
        opened_by=user.user_id,
    )
    auditor.wrote(AuditAction.CREATE, ENTITY, row["id"], body.model_dump(exclude_unset=True))
    return _detail(session, row, scope)


@router.post(
    "/{ticket_id}/transitions",
    response_model=TicketDetail,
    dependencies=[*WRITE, MAY_WRITE],
    responses={**COMMON_RESPONSES, **NOT_FOUND_RESPONSE, **CONFLICT_RESPONSE},
)
def transition_ticket(
    ticket_id: TicketId,
    body: TicketTransition,
    session: SessionDep,
    scope: CustomerScopeDep,
    auditor: AuditorDep,
) -> TicketDetail:
    """Move the ticket to ``to`` along the workflow and log the change. 409 when the
    workflow does not allow it from the current status (the answer names both and the
    statuses allowed next) — also when another client moved the ticket first."""
    user = scope.principal
    row = service_queue.visible_ticket(session=session, scope=scope, ticket_id=ticket_id)
    if not service_queue.may_move(user, row):
        raise forbidden(
            "service users may move only the tickets assigned to them",
            hint="ask a manager to assign the ticket to you",
        )
    # The request's transaction began as a writer (SessionDep: on SQLite it holds the
    # write lock already), so the transition may lock the ticket after the reads above.
    moved = tickets.transition(
        session=session,
        ticket_id=ticket_id,
        to_status=body.to,
        at=utcnow(),
        by=user.user_id,
        note=body.note,
    )
    detail = {"fields": ["status"], "to": moved["status"], "route": "transition"}
    auditor.record(AuditAction.UPDATE, ENTITY, ticket_id, detail)
    return _detail(session, moved, scope)


@router.post(
    "/{ticket_id}/assign",
    response_model=TicketDetail,
    dependencies=[*WRITE, MAY_ASSIGN],
    responses={**COMMON_RESPONSES, **NOT_FOUND_RESPONSE},
)
def assign_ticket(
    ticket_id: TicketId,
    body: TicketAssign,
    session: SessionDep,
    scope: CustomerScopeDep,
    auditor: AuditorDep,
) -> TicketDetail:
    """Give the ticket to an active staff user (``null``: nobody). Admins and managers,
    for tickets in their scope."""
    row = service_queue.visible_ticket(session=session, scope=scope, ticket_id=ticket_id)
    _check_assignee(session, scope.principal, body.assignee_id)
    updated = tickets.repo.update(
        session=session, id=ticket_id, values={"assignee_id": body.assignee_id}
    )
    auditor.updated(ENTITY, ticket_id, row, updated, ["assignee_id"])
    return _detail(session, updated, scope)
