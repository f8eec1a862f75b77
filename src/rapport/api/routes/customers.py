"""``/customers``: list and search, read, create, change, delete, the 360 card, the
marketing export, and the data-subject requests (export one customer's data, erase).

Row-level access comes from :class:`~rapport.api.deps.CustomerScope` alone: a customer
outside the caller's scope is a 404, exactly like a missing one, in every route. Analysts
see personal fields masked and may not search by text (a search by phone digits would
reveal what the mask hides). Every write, and every read of unmasked personal data, is
audited.

Who may do what (and the API token scope each route needs):

=================================  =========================  ==================
route                              roles                      scope
=================================  =========================  ==================
GET /customers, GET /{id}, /360    all (scoped; analysts      customers:read
                                   masked)
GET /customers/export              admin, manager, sales      customers:read
GET /{id}/export                   admin, manager, sales      customers:read
POST /customers, PATCH /{id}       admin, manager, sales      customers:write
DELETE /{id}, POST /{id}/erase     admin, manager             customers:write
=================================  =========================  ==================
"""

from __future__ import annotations

from typing import Annotated

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from rapport.access import WRITERS
from rapport.api import customer360, privacy
from rapport.api.audit import AuditorDep
from rapport.api.contacts import normalized_contact
from rapport.api.deps import (
    CustomerScope,
    CustomerScopeDep,
    RulesDep,
    SessionDep,
    SettingsDep,
    check_new_owner,
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
from rapport.api.exports import CSV_RESPONSE, customers_csv
from rapport.api.masking import mask_customer
from rapport.api.pagination import PageDep, paginate
from rapport.api.schemas.common import MAX_INT32, check_text
from rapport.api.schemas.customers import (
    Customer360,
    CustomerCreate,
    CustomerDataExport,
    CustomerPublic,
    CustomersPublic,
    CustomerUpdate,
    TimelineEntry,
)
from rapport.api.schemas.loyalty import ProgrammeTier
from rapport.domain import AuditAction, Role
from rapport.errors import Conflict
from rapport.store import customers, schema
from rapport.store.repository import Row, utcnow

router = APIRouter(prefix="/customers", tags=["customers"])

_c = schema.customers.c
ENTITY = "customers"
#: Matches of a text search examined at most (narrow the text to see the rest).
SEARCH_SCAN_LIMIT = 10_000
CustomerId = Annotated[int, Path(ge=1, description="The customer's id.")]
OwnerFilter = Annotated[
    int | None, Query(ge=1, le=MAX_INT32, description="Only customers owned by this user.")
]
READ = [Depends(require_scope("customers:read"))]
WRITE = [Depends(require_scope("customers:write"))]
MAY_EXPORT = Depends(require_role(Role.ADMIN, Role.MANAGER, Role.SALES))
MAY_WRITE = Depends(require_role(*WRITERS["customers"]))
MAY_REMOVE = Depends(require_role(Role.ADMIN, Role.MANAGER))


def _public(row: Row, scope: CustomerScope) -> CustomerPublic:
    shown = mask_customer(row) if scope.masked else row
    return CustomerPublic.model_validate({**shown, "masked": scope.masked})


def _filters(
    scope: CustomerScope, marketable: bool | None, owner_id: int | None
) -> list[sa.ColumnElement[bool]]:
    """The conditions on ``customers`` of a list: in scope, not deleted, and the filters."""
    conditions = scope.current()
    if marketable is not None:
        rule = customers.marketable_clause()
        conditions.append(rule if marketable else sa.not_(rule))
    if owner_id is not None:
        conditions.append(_c.owner_id == owner_id)
    return conditions


# --- lists ---------------------------------------------------------------------------------


def _found(
    session: Session, scope: CustomerScope, text: str, owner_id: int | None
) -> sa.ColumnElement[bool]:
    """The condition on ``customers`` of the first :data:`SEARCH_SCAN_LIMIT` customers whose
    name, phone, e-mail, external id or a tag contains ``text``
    (:func:`rapport.store.customers.search`), in id order."""
    if scope.principal.role is Role.SALES:  # push their ownership into the search itself
        if owner_id is not None and owner_id != scope.principal.user_id:
            return sa.false()
        owner_id = scope.principal.user_id
    found = customers.search_select(
        session=session, text=text, limit=SEARCH_SCAN_LIMIT, owner_id=owner_id
    )
    # correlate(None): the search reads customers of its own, not the list's rows
    return _c.id.in_(found.with_only_columns(_c.id).correlate(None))


@router.get(
    "",
    response_model=CustomersPublic,
    dependencies=READ,
    responses=COMMON_RESPONSES,
)
def list_customers(
    request: Request,
    session: SessionDep,
    scope: CustomerScopeDep,
    auditor: AuditorDep,
    page: PageDep,
    q: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=128,
            description="Text found in the name, phone, e-mail, external id or a tag.",
        ),
    ] = None,
    marketable: Annotated[
        bool | None,
        Query(description="true: only customers who consented and did not opt out."),
    ] = None,
    owner_id: OwnerFilter = None,
) -> CustomersPublic:
    """Customers in your scope, in id order, one page at a time (follow ``next_cursor``)."""
    stmt = sa.select(schema.customers).where(*_filters(scope, marketable, owner_id))
    if q is not None:
        if scope.masked:
            raise forbidden(
                "the analyst role may not search customers by text",
                field="query.q",
                hint="filter by owner or marketability, or use aggregates",
            )
        try:
            check_text(q)
        except ValueError as exc:
            raise ApiError(422, "validation_failed", f"query.q: {exc}", field="query.q") from exc
        stmt = stmt.where(_found(session, scope, q, owner_id))
    rows = paginate(session, stmt, page, key=_c.id)
    auditor.listed(ENTITY, rows.data, masked=scope.masked)
    return rows.as_page(CustomersPublic, lambda r: _public(r, scope))


@router.get(
    "/export",
    dependencies=[*READ, MAY_EXPORT],
    responses={**CSV_RESPONSE, **COMMON_RESPONSES},
    response_class=Response,
)
def export_marketing_list(
    session: SessionDep,
    scope: CustomerScopeDep,
    auditor: AuditorDep,
    owner_id: OwnerFilter = None,
) -> Response:
    """The marketing list: every customer in your scope who may be contacted (consent
    given, not opted out, not erased, not deleted), as CSV."""
    conditions = _filters(scope, True, owner_id)
    response, count = customers_csv(session, conditions, "customers.csv")
    auditor.record(AuditAction.EXPORT, ENTITY, None, {"route": "marketing_export", "count": count})
    return response


# --- one customer --------------------------------------------------------------------------


@router.get(
    "/{customer_id}",
    response_model=CustomerPublic,
    dependencies=READ,
    responses={**COMMON_RESPONSES, **NOT_FOUND_RESPONSE},
)
def get_customer(
    customer_id: CustomerId, session: SessionDep, scope: CustomerScopeDep, auditor: AuditorDep
) -> CustomerPublic:
    """One customer (personal fields masked for analysts)."""
    row = scope.get(session=session, id=customer_id)
    auditor.read_personal_data(ENTITY, [row["id"]], route="get", masked=scope.masked)
    return _public(row, scope)


@router.get(
    "/{customer_id}/360",
    response_model=Customer360,
    dependencies=READ,
    responses={**COMMON_RESPONSES, **NOT_FOUND_RESPONSE},
)
def get_customer_360(
    customer_id: CustomerId,
    session: SessionDep,
    scope: CustomerScopeDep,
    auditor: AuditorDep,
    rules: RulesDep,
    settings: SettingsDep,
    entries: Annotated[int, Query(ge=1, le=200, description="Timeline entries.")] = 20,
) -> Customer360:
    """The 360 card: profile, the merged timeline (orders, interactions, tickets, survey
    answers, events, staff's notes; newest first), the latest score snapshot and the one
    before, and the loyalty programme tier (null for a non-member)."""
    row = scope.get(session=session, id=customer_id)
    timeline = customer360.customer_timeline(
        session=session, customer_id=customer_id, limit=entries, masked=scope.masked
    )
    auditor.read_personal_data(ENTITY, [row["id"]], route="360", masked=scope.masked)
    latest, previous = customer360.latest_scores(session=session, customer_id=customer_id)
    tier = customer360.programme_tier(
        session=session, customer_id=customer_id, rules=rules, at=utcnow(), tz=settings.tz
    )
    return Customer360(
        customer=_public(row, scope),
        timeline=[TimelineEntry.model_validate(e) for e in timeline],
        scores=latest,  # type: ignore[arg-type]
        previous_scores=previous,  # type: ignore[arg-type]
        loyalty=ProgrammeTier.model_validate(tier) if tier else None,
    )


@router.post(
    "",
    response_model=CustomerPublic,
    status_code=201,
    dependencies=[*WRITE, MAY_WRITE],
    responses={**COMMON_RESPONSES, **CONFLICT_RESPONSE},
)
def create_customer(
    body: CustomerCreate,
    session: SessionDep,
    scope: CustomerScopeDep,
    auditor: AuditorDep,
    rules: RulesDep,
) -> CustomerPublic:
    """Create a customer. Sales users own the customers they create."""
    values = body.model_dump(exclude_unset=True)
    check_new_owner(session, scope, values)
    row = customers.repo.create(session=session, values=normalized_contact(values, rules))
    auditor.wrote(AuditAction.CREATE, ENTITY, row["id"], values)
    return _public(row, scope)


@router.patch(
    "/{customer_id}",
    response_model=CustomerPublic,
    dependencies=[*WRITE, MAY_WRITE],
    responses={**COMMON_RESPONSES, **NOT_FOUND_RESPONSE, **CONFLICT_RESPONSE},
)
def update_customer(
    customer_id: CustomerId,
    body: CustomerUpdate,
    session: SessionDep,
    scope: CustomerScopeDep,
    auditor: AuditorDep,
    rules: RulesDep,
) -> CustomerPublic:
    """Change the fields sent, and only those (``null`` clears an optional field)."""
    existing = scope.get(session=session, id=customer_id)
    values = body.model_dump(exclude_unset=True)
    if existing["erased_at"] is not None:
        raise Conflict(
            "customer {id} was erased on request; it cannot be changed",
            table="customers",
            field="erased_at",
            hint="create a new customer if the person returns and consents",
            key="customer_erased",
            params={"id": customer_id},
        )
    if "owner_id" in values:
        scope.check_owner(session, values["owner_id"])
    row = customers.repo.update(
        session=session, id=customer_id, values=normalized_contact(values, rules)
    )
    auditor.updated(ENTITY, customer_id, existing, row, values)
    return _public(row, scope)


@router.delete(
    "/{customer_id}",
    status_code=204,
    dependencies=[*WRITE, MAY_REMOVE],
    responses={**COMMON_RESPONSES, **NOT_FOUND_RESPONSE},
    response_class=Response,
)
def delete_customer(
    customer_id: CustomerId, session: SessionDep, scope: CustomerScopeDep, auditor: AuditorDep
) -> Response:
    """Soft-delete: the customer disappears from reads and lists; orders, tickets and
    scores stay for history and analytics."""
    scope.get(session=session, id=customer_id)
    customers.repo.delete(session=session, id=customer_id)
    auditor.wrote(AuditAction.DELETE, ENTITY, customer_id)
    return Response(status_code=204)


# --- data-subject requests -----------------------------------------------------------------


@router.get(
    "/{customer_id}/export",
    response_model=CustomerDataExport,
    dependencies=[*READ, MAY_EXPORT],
    responses={**COMMON_RESPONSES, **NOT_FOUND_RESPONSE},
)
def export_customer_data(
    customer_id: CustomerId, session: SessionDep, scope: CustomerScopeDep, auditor: AuditorDep
) -> JSONResponse:
    """Everything stored about one customer, as JSON (a data-subject access request;
    deleted customers included, since their data is still held)."""
    scope.get(session=session, id=customer_id, include_deleted=True)
    data = privacy.export_customer(session=session, customer_id=customer_id)
    auditor.record(
        AuditAction.EXPORT,
        ENTITY,
        customer_id,
        {
            "route": "data_subject_export",
            "tables": sorted(k for k, v in data["records"].items() if v),
        },
    )
    body = CustomerDataExport(exported_at=utcnow(), **data)
    return JSONResponse(body.model_dump(mode="json"))


@router.post(
    "/{customer_id}/erase",
    response_model=CustomerPublic,
    dependencies=[*WRITE, MAY_REMOVE],
    responses={**COMMON_RESPONSES, **NOT_FOUND_RESPONSE},
)
def erase_customer(
    customer_id: CustomerId, session: SessionDep, scope: CustomerScopeDep, auditor: AuditorDep
) -> CustomerPublic:
    """Erase the customer's personal data on their request: personal fields and free text
    are anonymised; orders, amounts, events, scores and the loyalty ledger stay, so
    aggregates keep their history. Repeating it is harmless."""
    scope.get(session=session, id=customer_id, include_deleted=True)
    row, touched = privacy.erase_customer(session=session, customer_id=customer_id)
    auditor.record(AuditAction.ERASE, ENTITY, customer_id, {"rows": touched})
    return _public(row, scope)
