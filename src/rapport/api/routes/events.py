"""``/events``: a customer's behaviour events (page views, carts, e-mail opens, social
actions …) — list them, and record one. (Ingestion at volume is ``POST /events/bulk``,
a separate module.)

=========================  ======================================  ===============
route                      roles                                   scope
=========================  ======================================  ===============
GET /events?customer_id=   all (scoped; analysts: properties       events:read
                           removed)
POST /events               admin, manager, sales                   events:write
=========================  ======================================  ===============

The list is of one customer: ``customer_id`` is required, and a customer outside the
caller's :class:`~rapport.api.deps.CustomerScope` is a 404 exactly like a missing one.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Query

from rapport.api.audit import AuditorDep
from rapport.api.deps import (
    CustomerScope,
    CustomerScopeDep,
    SessionDep,
    named_customer,
    require_role,
    require_scope,
)
from rapport.api.errors import COMMON_RESPONSES, CONFLICT_RESPONSE, NOT_FOUND_RESPONSE
from rapport.api.masking import shown
from rapport.api.pagination import PageDep, paginate
from rapport.api.schemas.common import MAX_INT32, Time
from rapport.api.schemas.events import EventCreate, EventPublic, EventsPublic
from rapport.domain import AuditAction, EventKind, Role
from rapport.store import events, schema
from rapport.store.repository import Row, utcnow

router = APIRouter(prefix="/events", tags=["events"])

ENTITY = "events"
_e = schema.events.c
READ = [Depends(require_scope("events:read"))]
WRITE = [Depends(require_scope("events:write"))]
MAY_WRITE = Depends(require_role(Role.ADMIN, Role.MANAGER, Role.SALES))


def _public(row: Row, scope: CustomerScope) -> EventPublic:
    return EventPublic.model_validate(shown(row, ("properties",), masked=scope.masked))


@router.get(
    "",
    response_model=EventsPublic,
    dependencies=READ,
    responses={**COMMON_RESPONSES, **NOT_FOUND_RESPONSE},
)
def list_events(
    session: SessionDep,
    scope: CustomerScopeDep,
    auditor: AuditorDep,
    page: PageDep,
    customer_id: Annotated[int, Query(ge=1, le=MAX_INT32, description="The customer.")],
    kind: Annotated[EventKind | None, Query()] = None,
    since: Annotated[Time | None, Query(description="Events at or after this time.")] = None,
    until: Annotated[Time | None, Query(description="Events before this time.")] = None,
) -> EventsPublic:
    """The customer's events in id order (the order they were recorded), one page at a
    time. 404 when the customer is missing or outside your scope."""
    scope.get(session=session, id=customer_id)
    stmt = sa.select(schema.events).where(_e.customer_id == customer_id)
    if kind is not None:
        stmt = stmt.where(_e.kind == kind)
    if since is not None:
        stmt = stmt.where(_e.occurred_at >= since.astimezone(dt.UTC))
    if until is not None:
        stmt = stmt.where(_e.occurred_at < until.astimezone(dt.UTC))
    rows = paginate(session, stmt, page, key=_e.id)
    auditor.listed(ENTITY, rows.data, masked=scope.masked)
    return rows.as_page(EventsPublic, lambda r: _public(r, scope))


@router.post(
    "",
    response_model=EventPublic,
    status_code=201,
    dependencies=[*WRITE, MAY_WRITE],
    responses={**COMMON_RESPONSES, **CONFLICT_RESPONSE},
)
def create_event(
    body: EventCreate, session: SessionDep, scope: CustomerScopeDep, auditor: AuditorDep
) -> EventPublic:
    """Record one event of a customer in your scope (for many, use ``/events/bulk``)."""
    named_customer(session, scope, body.customer_id)
    values = body.model_dump(exclude_unset=True)
    values.setdefault("occurred_at", utcnow())
    row = events.repo.create(session=session, values=values)
    auditor.wrote(AuditAction.CREATE, ENTITY, row["id"], body.model_dump(exclude_unset=True))
    return _public(row, scope)
