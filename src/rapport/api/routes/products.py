"""``/products``: the catalogue. Every authenticated user reads it (it holds no personal
data); administrators and managers change it.

========================  ===============  ===============
route                     roles            scope
========================  ===============  ===============
GET /products, /{id}      all              products:read
POST, PATCH /{id}         admin, manager   products:write
========================  ===============  ===============
"""

from __future__ import annotations

from typing import Annotated

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Path, Query

from rapport.api.audit import AuditorDep
from rapport.api.deps import CurrentUser, RulesDep, SessionDep, require_role, require_scope
from rapport.api.errors import COMMON_RESPONSES, CONFLICT_RESPONSE, NOT_FOUND_RESPONSE
from rapport.api.pagination import PageDep, paginate
from rapport.api.schemas.common import Text
from rapport.api.schemas.products import (
    ProductCreate,
    ProductPublic,
    ProductsPublic,
    ProductUpdate,
)
from rapport.domain import AuditAction, Role
from rapport.store import products, schema

router = APIRouter(prefix="/products", tags=["products"])

ENTITY = "products"
ProductId = Annotated[int, Path(ge=1, description="The product's id.")]
READ = [Depends(require_scope("products:read"))]
WRITE = [
    Depends(require_scope("products:write")),
    Depends(require_role(Role.ADMIN, Role.MANAGER)),
]
_p = schema.products.c


@router.get("", response_model=ProductsPublic, dependencies=READ, responses=COMMON_RESPONSES)
def list_products(
    session: SessionDep,
    _user: CurrentUser,
    page: PageDep,
    category: Annotated[
        Annotated[str, Text(64, 1)] | None, Query(description="Only this category.")
    ] = None,
    active: Annotated[bool | None, Query(description="Only active (or inactive) ones.")] = None,
) -> ProductsPublic:
    """The catalogue in id order, one page at a time."""
    stmt = sa.select(schema.products)
    if category is not None:
        stmt = stmt.where(_p.category == category)
    if active is not None:
        stmt = stmt.where(_p.is_active.is_(active))
    rows = paginate(session, stmt, page, key=_p.id)
    return rows.as_page(ProductsPublic, ProductPublic.model_validate)


@router.get(
    "/{product_id}",
    response_model=ProductPublic,
    dependencies=READ,
    responses={**COMMON_RESPONSES, **NOT_FOUND_RESPONSE},
)
def get_product(product_id: ProductId, session: SessionDep, _user: CurrentUser) -> ProductPublic:
    return ProductPublic.model_validate(products.repo.get(session=session, id=product_id))


@router.post(
    "",
    response_model=ProductPublic,
    status_code=201,
    dependencies=WRITE,
    responses={**COMMON_RESPONSES, **CONFLICT_RESPONSE},
)
def create_product(
    body: ProductCreate, session: SessionDep, auditor: AuditorDep, rules: RulesDep
) -> ProductPublic:
    """Add a product (201); 409 when the SKU exists."""
    values = body.model_dump(exclude_unset=True)
    values["currency"] = body.currency or rules.business.currency
    row = products.repo.create(session=session, values=values)
    auditor.wrote(AuditAction.CREATE, ENTITY, row["id"], values)
    return ProductPublic.model_validate(row)


@router.patch(
    "/{product_id}",
    response_model=ProductPublic,
    dependencies=WRITE,
    responses={**COMMON_RESPONSES, **NOT_FOUND_RESPONSE, **CONFLICT_RESPONSE},
)
def update_product(
    product_id: ProductId, body: ProductUpdate, session: SessionDep, auditor: AuditorDep
) -> ProductPublic:
    """Change the fields sent, and only those; 409 when the new SKU exists. Products are
    retired with ``is_active: false`` rather than deleted (orders refer to them)."""
    values = body.model_dump(exclude_unset=True)
    existing = products.repo.get(session=session, id=product_id)
    row = products.repo.update(session=session, id=product_id, values=values)
    auditor.updated(ENTITY, product_id, existing, row, values)
    return ProductPublic.model_validate(row)
