"""``/interactions``: calls, e-mails, chats, visits … with the customers in your scope —
list and record one. (Bulk recording is ``/interactions/bulk``, a separate module.)

=========================  ======================================  ===================
route                      roles                                   scope
=========================  ======================================  ===================
GET /interactions          all (scoped; analysts: subject,         interactions:read
                           summary and extra removed)
POST /interactions         admin, manager, sales, service          interactions:write
=========================  ======================================  ===================

An interaction is visible when its customer is in the caller's
:class:`~rapport.api.deps.CustomerScope` and not deleted. Recording one for a customer
outside the scope answers exactly like a missing customer (422 on ``body.customer_id``).
"""

from __future__ import annotations

from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Query
from sqlalchemy.orm import Session

from rapport.api.audit import AuditorDep
from rapport.api.deps import (
    CustomerScope,
    CustomerScopeDep,
    SessionDep,
    require_role,
    require_scope,
)
from rapport.api.errors import COMMON_RESPONSES, CONFLICT_RESPONSE, ApiError, forbidden
from rapport.api.pagination import Page, PageDep, encode_cursor
from rapport.api.schemas.common import MAX_INT32
from rapport.api.schemas.interactions import (
    InteractionCreate,
    InteractionPublic,
    InteractionsPublic,
)
from rapport.domain import AuditAction, Direction, InteractionChannel, Role
from rapport.errors import NotFound
from rapport.store import interactions, schema
from rapport.store.repository import Row, utcnow

router = APIRouter(prefix="/interactions", tags=["interactions"])

ENTITY = "interactions"
_i = schema.interactions.c
_c = schema.customers.c
MASKED_FIELDS = ("subject", "summary", "extra")
IdFilter = Annotated[int | None, Query(ge=1, le=MAX_INT32)]
READ = [Depends(require_scope("interactions:read"))]
WRITE = [Depends(require_scope("interactions:write"))]
MAY_WRITE = Depends(require_role(Role.ADMIN, Role.MANAGER, Role.SALES, Role.SERVICE))


def in_scope(scope: CustomerScope, column: sa.ColumnElement[Any]) -> sa.ColumnElement[bool]:
    """``column`` (a customer id) names a customer of ``scope`` that is not deleted."""
    visible = sa.select(_c.id).where(_c.deleted_at.is_(None))
    clause = scope.clause()
    if clause is not None:
        visible = visible.where(clause)
    return column.in_(visible)


def check_customer(session: Session, scope: CustomerScope, customer_id: int) -> None:
    """422 naming ``body.customer_id`` for a customer missing or outside the scope (the
    two answers are identical)."""
    try:
        scope.get(session=session, id=customer_id)
    except NotFound as exc:
        raise ApiError(
            422,
            "validation_failed",
            f"body.customer_id: no customer with id {customer_id}",
            field="body.customer_id",
            value=customer_id,
        ) from exc


def page_of(
    session: Session, table: sa.Table, conditions: list[sa.ColumnElement[bool]], page: Page
) -> tuple[list[Row], int, str | None]:
    """One page of ``table`` rows meeting ``conditions`` in id order, the count of all of
    them, and the cursor of the next page."""
    count = session.execute(
        sa.select(sa.func.count()).select_from(table).where(*conditions)
    ).scalar_one()
    stmt = sa.select(table).where(*conditions)
    if page.after_id is not None:
        stmt = stmt.where(table.c.id > page.after_id)
    stmt = stmt.order_by(table.c.id).limit(page.limit + 1)
    rows = [dict(r) for r in session.execute(stmt).mappings()]
    more = len(rows) > page.limit
    rows = rows[: page.limit]
    return rows, count, encode_cursor(rows[-1]["id"]) if more and rows else None


def _public(row: Row, scope: CustomerScope) -> InteractionPublic:
    shown = dict(row)
    if scope.masked:
        shown.update(dict.fromkeys(MASKED_FIELDS))
    return InteractionPublic.model_validate({**shown, "masked": scope.masked})


@router.get("", response_model=InteractionsPublic, dependencies=READ, responses=COMMON_RESPONSES)
def list_interactions(
    session: SessionDep,
    scope: CustomerScopeDep,
    auditor: AuditorDep,
    page: PageDep,
    customer_id: IdFilter = None,
    channel: Annotated[InteractionChannel | None, Query()] = None,
    direction: Annotated[Direction | None, Query()] = None,
    staff_id: IdFilter = None,
) -> InteractionsPublic:
    """Interactions with the customers in your scope, in id order, one page at a time."""
    conditions: list[sa.ColumnElement[bool]] = [in_scope(scope, _i.customer_id)]
    for column, value in (
        (_i.customer_id, customer_id),
        (_i.channel, channel),
        (_i.direction, direction),
        (_i.staff_id, staff_id),
    ):
        if value is not None:
            conditions.append(column == value)
    rows, count, cursor = page_of(session, schema.interactions, conditions, page)
    if not scope.masked:
        auditor.read_personal_data(ENTITY, [r["id"] for r in rows], route="list")
    return InteractionsPublic(
        data=[_public(r, scope) for r in rows], count=count, next_cursor=cursor
    )


@router.post(
    "",
    response_model=InteractionPublic,
    status_code=201,
    dependencies=[*WRITE, MAY_WRITE],
    responses={**COMMON_RESPONSES, **CONFLICT_RESPONSE},
)
def create_interaction(
    body: InteractionCreate, session: SessionDep, scope: CustomerScopeDep, auditor: AuditorDep
) -> InteractionPublic:
    """Record one interaction with a customer in your scope (you are its staff member
    unless an admin or manager names another)."""
    user = scope.principal
    check_customer(session, scope, body.customer_id)
    values = body.model_dump(exclude_unset=True)
    staff_id = values.setdefault("staff_id", user.user_id)
    if staff_id != user.user_id and user.role not in (Role.ADMIN, Role.MANAGER):
        raise forbidden(
            f"the {user.role.value} role may record only their own interactions",
            field="body.staff_id",
            hint=f"leave staff_id out or set it to your user id {user.user_id}",
        )
    values.setdefault("occurred_at", utcnow())
    values.setdefault("direction", body.direction)
    row = interactions.repo.create(session=session, values=values)
    auditor.wrote(AuditAction.CREATE, ENTITY, row["id"], body.model_dump(exclude_unset=True))
    return _public(row, scope)
