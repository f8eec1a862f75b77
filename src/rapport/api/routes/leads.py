"""``/leads``: list, read, create, change, and convert a lead into a customer.

Row-level access follows the lead's owner, as :class:`LeadScope` says (the customers'
rule applied to ``leads.owner_id``): admins and analysts see every lead, managers the
leads of their team and unowned ones, sales users their own. A lead outside the scope is a
404 exactly like a missing one. Service users have no access to leads (403). Analysts see
external id, name, e-mail and phone masked and ``extra`` removed.

=============================  ==========================  ============
route                          roles                       scope
=============================  ==========================  ============
GET /leads, /{id}              admin, manager, sales,      leads:read
                               analyst (masked)
POST /leads, PATCH /{id}       admin, manager, sales       leads:write
POST /leads/{id}/convert       admin, manager, sales       leads:write
=============================  ==========================  ============

Conversion runs :func:`rapport.store.leads.convert` in one savepoint with the creation of
the customer (when no ``customer_id`` is given): both land or neither does.
"""

from __future__ import annotations

from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Path, Query

from rapport.access import LeadScope
from rapport.api.audit import AuditorDep
from rapport.api.contacts import normalized_contact
from rapport.api.deps import (
    CurrentUser,
    CustomerScopeDep,
    Principal,
    RulesDep,
    SessionDep,
    check_new_owner,
    named_customer,
    require_role,
    require_scope,
)
from rapport.api.errors import COMMON_RESPONSES, CONFLICT_RESPONSE, NOT_FOUND_RESPONSE
from rapport.api.masking import mask_email, mask_identifier, mask_name, mask_phone
from rapport.api.pagination import PageDep, paginate, where_equal
from rapport.api.schemas.common import MAX_INT32
from rapport.api.schemas.leads import (
    LeadConversion,
    LeadConvert,
    LeadCreate,
    LeadPublic,
    LeadsPublic,
    LeadUpdate,
    OpenLeadStatus,
)
from rapport.domain import AuditAction, LeadStatus, Role
from rapport.errors import Conflict
from rapport.store import customers, leads, schema
from rapport.store.repository import Row, utcnow

router = APIRouter(prefix="/leads", tags=["leads"])

ENTITY = "leads"
LeadId = Annotated[int, Path(ge=1, description="The lead's id.")]
READ = [
    Depends(require_scope("leads:read")),
    Depends(require_role(Role.ADMIN, Role.MANAGER, Role.SALES, Role.ANALYST)),
]
WRITE = [
    Depends(require_scope("leads:write")),
    Depends(require_role(Role.ADMIN, Role.MANAGER, Role.SALES)),
]
_l = schema.leads.c


def get_lead_scope(user: CurrentUser) -> LeadScope:
    return LeadScope(user)


LeadScopeDep = Annotated[LeadScope, Depends(get_lead_scope)]


def _public(row: Row, scope: LeadScope) -> LeadPublic:
    shown = dict(row)
    if scope.masked:
        shown.update(
            external_id=mask_identifier(row["external_id"]),
            name=mask_name(row["name"]),
            email=mask_email(row["email"]),
            phone=mask_phone(row["phone"]),
            extra=None,
        )
    return LeadPublic.model_validate({**shown, "masked": scope.masked})


@router.get("", response_model=LeadsPublic, dependencies=READ, responses=COMMON_RESPONSES)
def list_leads(
    session: SessionDep,
    scope: LeadScopeDep,
    auditor: AuditorDep,
    page: PageDep,
    status: Annotated[LeadStatus | None, Query(description="Only this status.")] = None,
    owner_id: Annotated[
        int | None, Query(ge=1, le=MAX_INT32, description="Only leads of this owner.")
    ] = None,
) -> LeadsPublic:
    """Leads in your scope, in id order, one page at a time."""
    stmt = where_equal(
        scope.where(sa.select(schema.leads)), (_l.status, status), (_l.owner_id, owner_id)
    )
    rows = paginate(session, stmt, page, key=_l.id)
    auditor.listed(ENTITY, rows.data, masked=scope.masked)
    return rows.as_page(LeadsPublic, lambda r: _public(r, scope))


@router.get(
    "/{lead_id}",
    response_model=LeadPublic,
    dependencies=READ,
    responses={**COMMON_RESPONSES, **NOT_FOUND_RESPONSE},
)
def get_lead(
    lead_id: LeadId, session: SessionDep, scope: LeadScopeDep, auditor: AuditorDep
) -> LeadPublic:
    row = scope.get(session=session, id=lead_id)
    auditor.read_personal_data(ENTITY, [lead_id], route="get", masked=scope.masked)
    return _public(row, scope)


@router.post(
    "",
    response_model=LeadPublic,
    status_code=201,
    dependencies=WRITE,
    responses={**COMMON_RESPONSES, **CONFLICT_RESPONSE},
)
def create_lead(
    body: LeadCreate,
    session: SessionDep,
    scope: LeadScopeDep,
    customer_scope: CustomerScopeDep,
    auditor: AuditorDep,
    rules: RulesDep,
) -> LeadPublic:
    """Create a lead (201). Sales users own the leads they create."""
    values = body.model_dump(exclude_unset=True)
    values["status"] = body.status.value
    check_new_owner(session, customer_scope, values)
    row = leads.repo.create(session=session, values=normalized_contact(values, rules))
    auditor.wrote(AuditAction.CREATE, ENTITY, row["id"], values)
    return _public(row, scope)


@router.patch(
    "/{lead_id}",
    response_model=LeadPublic,
    dependencies=WRITE,
    responses={**COMMON_RESPONSES, **NOT_FOUND_RESPONSE, **CONFLICT_RESPONSE},
)
def update_lead(
    lead_id: LeadId,
    body: LeadUpdate,
    session: SessionDep,
    scope: LeadScopeDep,
    customer_scope: CustomerScopeDep,
    auditor: AuditorDep,
    rules: RulesDep,
) -> LeadPublic:
    """Change the fields sent, and only those. The status moves among new, qualified and
    lost; a converted lead keeps its status (409)."""
    existing = scope.get(session=session, id=lead_id)
    values = body.model_dump(exclude_unset=True)
    if "status" in values:
        values["status"] = OpenLeadStatus(values["status"]).value
        if existing["status"] == LeadStatus.CONVERTED and values["status"] != existing["status"]:
            raise Conflict(
                "lead {lead} was converted into customer {customer}; its status cannot change",
                table="leads",
                field="status",
                value=values["status"],
                key="lead_converted_status",
                params={"lead": lead_id, "customer": existing["converted_customer_id"]},
            )
    if "owner_id" in values:
        customer_scope.check_owner(session, values["owner_id"])
    row = leads.repo.update(session=session, id=lead_id, values=normalized_contact(values, rules))
    auditor.updated(ENTITY, lead_id, existing, row, values)
    return _public(row, scope)


def _new_customer_values(lead: Row, body: LeadConvert, user: Principal) -> dict[str, Any]:
    owner = lead["owner_id"]
    if owner is None and user.role is Role.SALES:
        owner = user.user_id
    return {
        "external_id": body.external_id or f"lead-{lead['external_id']}"[:64],
        "name": lead["name"],
        "email": lead["email"],
        "phone": lead["phone"],
        "source_channel": lead["source"],
        "owner_id": owner,
    }


@router.post(
    "/{lead_id}/convert",
    response_model=LeadConversion,
    dependencies=WRITE,
    responses={**COMMON_RESPONSES, **NOT_FOUND_RESPONSE, **CONFLICT_RESPONSE},
)
def convert_lead(
    lead_id: LeadId,
    body: LeadConvert,
    session: SessionDep,
    scope: LeadScopeDep,
    customer_scope: CustomerScopeDep,
    auditor: AuditorDep,
) -> LeadConversion:
    """Convert the lead: into the customer ``customer_id`` (in your scope), or into a new
    customer made from the lead (owner: the lead's owner). The lead becomes ``converted``
    with the time and the customer; the customer and the lead change together or not at
    all. Repeating a conversion answers the first one; converting into another customer
    than the first is a 409."""
    if lead_id > MAX_INT32:
        raise leads.repo.not_found(lead_id)
    # Lock the lead first (PostgreSQL: its row; SQLite: the request's transaction holds
    # the write lock) so that two conversions of one lead are serialized and the second
    # sees the first.
    session.execute(sa.update(schema.leads).where(_l.id == lead_id).values(id=_l.id))
    lead = scope.get(session=session, id=lead_id)
    created = False
    if body.customer_id is not None:
        named_customer(session, customer_scope, body.customer_id)
        customer_id = body.customer_id
        row = leads.convert(session=session, lead_id=lead_id, customer_id=customer_id, at=utcnow())
    elif lead["status"] == LeadStatus.CONVERTED and lead["converted_customer_id"] is not None:
        row, customer_id = lead, lead["converted_customer_id"]
    else:
        values = _new_customer_values(lead, body, customer_scope.principal)
        with leads.repo.writing(session):
            customer = customers.repo.create(session=session, values=values)
            customer_id = customer["id"]
            row = leads.convert(
                session=session, lead_id=lead_id, customer_id=customer_id, at=utcnow()
            )
        created = True
        auditor.wrote(AuditAction.CREATE, "customers", customer_id, values)
    if row != lead:
        auditor.wrote(
            AuditAction.UPDATE, ENTITY, lead_id, ["status", "converted_customer_id", "converted_at"]
        )
    return LeadConversion(
        lead=_public(row, scope), customer_id=customer_id, created_customer=created
    )
