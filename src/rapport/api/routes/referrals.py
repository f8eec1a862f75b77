"""``/referrals``: the referrals made by customers in the caller's scope — list, read one,
record one.

A referral links two customers (or a customer and a lead), and the caller's
:class:`~rapport.api.deps.CustomerScope` applies to both ends: a referral is visible when
its referrer customer is in the scope (and not deleted) *and* its referred customer, when
there is one, is in the scope too. Any other referral is a 404 exactly like a missing one
and is absent from lists and counts — a service or manager user never learns of a
customer outside their scope through a referral. Referrals hold ids and dates, no personal
data, so analysts read them as they are. When recording one, the referred customer (or
lead) must be in the caller's scope too; one outside it is refused exactly like a missing
one (422).

=========================  ======================  ===============
route                      roles                   scope
=========================  ======================  ===============
GET /referrals, /{id}      all (scoped)            referrals:read
POST /referrals            admin, manager, sales   referrals:write
=========================  ======================  ===============
"""

from __future__ import annotations

from typing import Annotated

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Path, Query

from rapport.access import LeadScope
from rapport.api.audit import AuditorDep
from rapport.api.deps import (
    CurrentUser,
    CustomerScope,
    CustomerScopeDep,
    SessionDep,
    named_customer,
    require_role,
    require_scope,
)
from rapport.api.errors import (
    COMMON_RESPONSES,
    CONFLICT_RESPONSE,
    NOT_FOUND_RESPONSE,
    unknown_reference,
)
from rapport.api.pagination import PageDep, paginate
from rapport.api.schemas.common import MAX_INT32
from rapport.api.schemas.referrals import ReferralCreate, ReferralPublic, ReferralsPublic
from rapport.domain import AuditAction, Role
from rapport.errors import NotFound
from rapport.store import referrals, schema
from rapport.store.repository import utcnow

router = APIRouter(prefix="/referrals", tags=["referrals"])

ENTITY = "referrals"
ReferralId = Annotated[int, Path(ge=1, description="The referral's id.")]
READ = [Depends(require_scope("referrals:read"))]
WRITE = [
    Depends(require_scope("referrals:write")),
    Depends(require_role(Role.ADMIN, Role.MANAGER, Role.SALES)),
]
_r = schema.referrals.c
_c = schema.customers.c


def _visible(scope: CustomerScope) -> list[sa.ColumnElement[bool]]:
    """Conditions on ``referrals``: the referrer in ``scope`` and not deleted, the referred
    customer (if any) in ``scope``."""
    referred = scope.covers(_r.referred_customer_id, or_null=True)
    visible = scope.visible(_r.referrer_customer_id)
    return [visible] if referred is None else [visible, referred]


@router.get("", response_model=ReferralsPublic, dependencies=READ, responses=COMMON_RESPONSES)
def list_referrals(
    session: SessionDep,
    scope: CustomerScopeDep,
    page: PageDep,
    referrer_customer_id: Annotated[
        int | None, Query(ge=1, le=MAX_INT32, description="Only this customer's referrals.")
    ] = None,
    converted: Annotated[bool | None, Query(description="Only converted (or not).")] = None,
) -> ReferralsPublic:
    """Referrals made by customers in your scope, in id order, one page at a time."""
    stmt = sa.select(schema.referrals).where(*_visible(scope))
    if referrer_customer_id is not None:
        stmt = stmt.where(_r.referrer_customer_id == referrer_customer_id)
    if converted is not None:
        stmt = stmt.where(_r.converted.is_(converted))
    rows = paginate(session, stmt, page, key=_r.id)
    return rows.as_page(ReferralsPublic, ReferralPublic.model_validate)


@router.get(
    "/{referral_id}",
    response_model=ReferralPublic,
    dependencies=READ,
    responses={**COMMON_RESPONSES, **NOT_FOUND_RESPONSE},
)
def get_referral(
    referral_id: ReferralId, session: SessionDep, scope: CustomerScopeDep
) -> ReferralPublic:
    missing = referrals.repo.not_found(referral_id)
    try:  # the repository answers ids beyond the store's keys like missing ones
        row = referrals.repo.get(session=session, id=referral_id)
    except NotFound:
        raise missing from None
    visible = session.execute(
        sa.select(sa.literal(1)).where(_r.id == row["id"], *_visible(scope))
    ).first()
    if visible is None:
        raise missing
    return ReferralPublic.model_validate(row)


@router.post(
    "",
    response_model=ReferralPublic,
    status_code=201,
    dependencies=WRITE,
    responses={**COMMON_RESPONSES, **CONFLICT_RESPONSE},
)
def create_referral(
    body: ReferralCreate,
    session: SessionDep,
    scope: CustomerScopeDep,
    user: CurrentUser,
    auditor: AuditorDep,
) -> ReferralPublic:
    """Record a referral (201); 409 when ``external_id`` exists."""
    for field in ("referrer_customer_id", "referred_customer_id"):
        customer_id = getattr(body, field)
        if customer_id is None:
            continue
        named_customer(session, scope, customer_id, f"body.{field}")
    if body.referred_lead_id is not None:
        try:
            LeadScope(user).get(session=session, id=body.referred_lead_id)
        except NotFound:
            raise unknown_reference(
                "body.referred_lead_id", "lead", body.referred_lead_id
            ) from None
    values = body.model_dump(exclude_unset=True)
    values["referred_at"] = body.referred_at or utcnow()
    row = referrals.repo.create(session=session, values=values)
    auditor.wrote(AuditAction.CREATE, ENTITY, row["id"], values)
    return ReferralPublic.model_validate(row)
