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

from typing import Annotated

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Query

from rapport.access import WRITERS
from rapport.api.audit import AuditorDep
from rapport.api.deps import (
    CustomerScope,
    CustomerScopeDep,
    SessionDep,
    named_customer,
    require_role,
    require_scope,
)
from rapport.api.errors import COMMON_RESPONSES, CONFLICT_RESPONSE, forbidden
from rapport.api.masking import shown
from rapport.api.pagination import PageDep, paginate, where_equal
from rapport.api.schemas.common import MAX_INT32
from rapport.api.schemas.interactions import (
    InteractionCreate,
    InteractionPublic,
    InteractionsPublic,
)
from rapport.domain import AuditAction, Direction, InteractionChannel, Role
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
MAY_WRITE = Depends(require_role(*WRITERS["interactions"]))


def _public(row: Row, scope: CustomerScope) -> InteractionPublic:
    return InteractionPublic.model_validate(shown(row, MASKED_FIELDS, masked=scope.masked))


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
    stmt = where_equal(
        sa.select(schema.interactions).where(scope.visible(_i.customer_id)),
        (_i.customer_id, customer_id),
        (_i.channel, channel),
        (_i.direction, direction),
        (_i.staff_id, staff_id),
    )
    rows = paginate(session, stmt, page, key=_i.id)
    auditor.listed(ENTITY, rows.data, masked=scope.masked)
    return rows.as_page(InteractionsPublic, lambda r: _public(r, scope))


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
    named_customer(session, scope, body.customer_id)
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
