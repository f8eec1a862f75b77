"""``/orders``: list (filters, cursor pages), read one with its items, create with its
items, and change status, refund, channel, store or extra.

Row-level access is the customer's (:class:`~rapport.api.deps.CustomerScope`): the caller
sees the orders of the customers in their scope, and an order of another customer is a 404
exactly like a missing order. Analysts read orders, with the customer's external id and
name masked and the order's free-form ``extra`` removed. Every write, and every read that
showed unmasked data (``extra``, the customer's name), is audited.

========================  =========================================  ==============
route                     roles                                      scope
========================  =========================================  ==============
GET /orders, /{id}        all (scoped; analysts masked)              orders:read
POST /orders              admin, manager, sales (their customers)   orders:write
PATCH /orders/{id}        admin, manager, sales (their customers)   orders:write
========================  =========================================  ==============

Status changes follow :data:`rapport.domain.ORDER_TRANSITIONS` (pending → paid → shipped →
completed, a refund request and its outcome, cancellation); cancelled and refunded are
final. A refund only grows, up to what was paid (``net_amount + refunded_amount``), and
lowers ``net_amount`` by as much.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Path, Query
from sqlalchemy.orm import Session

from rapport.api.audit import AuditorDep
from rapport.api.deps import (
    CustomerScope,
    CustomerScopeDep,
    RulesDep,
    SessionDep,
    named_customer,
    require_role,
    require_scope,
)
from rapport.api.errors import COMMON_RESPONSES, CONFLICT_RESPONSE, NOT_FOUND_RESPONSE, ApiError
from rapport.api.masking import mask_identifier, mask_name
from rapport.api.pagination import PageDep, paginate, where_equal
from rapport.api.schemas.common import MAX_INT32, Time
from rapport.api.schemas.orders import (
    OrderCreate,
    OrderCustomer,
    OrderDetail,
    OrderItemPublic,
    OrderPublic,
    OrdersPublic,
    OrderUpdate,
)
from rapport.domain import ORDER_TRANSITIONS, AuditAction, OrderStatus, Role
from rapport.errors import Conflict, NotFound
from rapport.store import loyalty, loyalty_earning, orders, schema
from rapport.store.repository import Row, utcnow

router = APIRouter(prefix="/orders", tags=["orders"])

ENTITY = "orders"

OrderId = Annotated[int, Path(ge=1, description="The order's id.")]
READ = [Depends(require_scope("orders:read"))]
WRITE = [
    Depends(require_scope("orders:write")),
    Depends(require_role(Role.ADMIN, Role.MANAGER, Role.SALES)),
]
_o = schema.orders.c
_c = schema.customers.c


def _invalid(field: str, message: str, value: Any = None, hint: str | None = None) -> ApiError:
    return ApiError(
        422, "validation_failed", f"{field}: {message}", field=field, value=value, hint=hint
    )


def _public(row: Row, scope: CustomerScope) -> OrderPublic:
    shown = {**row, "extra": None} if scope.masked else row
    return OrderPublic.model_validate(shown)


def _scoped_order(session: Session, scope: CustomerScope, order_id: int) -> tuple[Row, Row]:
    """The order and its customer when the customer is in scope; else a 404 identical to
    a missing order's."""
    try:
        order = orders.repo.get(session=session, id=order_id)
        customer = scope.get(session=session, id=order["customer_id"])
    except NotFound:
        raise orders.repo.not_found(order_id) from None
    return order, customer


def _detail(session: Session, order: Row, customer: Row, scope: CustomerScope) -> OrderDetail:
    items = orders.items(session=session, order_id=order["id"])
    name = mask_name(customer["name"]) if scope.masked else customer["name"]
    key = mask_identifier(customer["external_id"]) if scope.masked else customer["external_id"]
    return OrderDetail(
        **_public(order, scope).model_dump(),
        items=[OrderItemPublic.model_validate(i) for i in items],
        customer=OrderCustomer(
            id=customer["id"],
            external_id=key,
            name=name,
            masked=scope.masked,
        ),
    )


@router.get("", response_model=OrdersPublic, dependencies=READ, responses=COMMON_RESPONSES)
def list_orders(
    session: SessionDep,
    scope: CustomerScopeDep,
    auditor: AuditorDep,
    page: PageDep,
    customer_id: Annotated[
        int | None, Query(ge=1, le=MAX_INT32, description="Only this customer's orders.")
    ] = None,
    status: Annotated[OrderStatus | None, Query(description="Only this status.")] = None,
    ordered_from: Annotated[
        Time | None, Query(description="Ordered at or after this time (with a zone).")
    ] = None,
    ordered_to: Annotated[
        Time | None, Query(description="Ordered before this time (with a zone).")
    ] = None,
) -> OrdersPublic:
    """Orders of the customers in your scope, in id order, one page at a time."""
    stmt = where_equal(
        sa.select(schema.orders).where(scope.visible(_o.customer_id)),
        (_o.customer_id, customer_id),
        (_o.status, status),
    )
    if ordered_from is not None:
        stmt = stmt.where(_o.ordered_at >= ordered_from)
    if ordered_to is not None:
        stmt = stmt.where(_o.ordered_at < ordered_to)
    rows = paginate(session, stmt, page, key=_o.id)
    auditor.listed(ENTITY, rows.data, masked=scope.masked)
    return rows.as_page(OrdersPublic, lambda r: _public(r, scope))


@router.get(
    "/{order_id}",
    response_model=OrderDetail,
    dependencies=READ,
    responses={**COMMON_RESPONSES, **NOT_FOUND_RESPONSE},
)
def get_order(
    order_id: OrderId, session: SessionDep, scope: CustomerScopeDep, auditor: AuditorDep
) -> OrderDetail:
    """One order with its items and its customer (masked for analysts)."""
    order, customer = _scoped_order(session, scope, order_id)
    auditor.read_personal_data(ENTITY, [order_id], route="get", masked=scope.masked)
    return _detail(session, order, customer, scope)


def _order_values(body: OrderCreate, currency: str) -> tuple[dict[str, Any], list[dict]]:
    items = []
    for n, item in enumerate(body.items):
        amount = item.net_amount
        if amount is None:
            amount = item.unit_price * item.quantity
            if amount >= Decimal(10) ** 12:
                raise _invalid(f"body.items.{n}.net_amount", "quantity × price is too large")
        items.append({**item.model_dump(), "net_amount": amount})
    values = body.model_dump(exclude={"items"}, exclude_unset=True)
    values["status"] = body.status.value
    values["discount_amount"] = body.discount_amount
    values["refunded_amount"] = body.refunded_amount
    values["currency"] = body.currency or currency
    if body.net_amount is None:
        if not items:
            raise _invalid(
                "body.net_amount", "required for an order without items", hint="add it or items"
            )
        net = sum((i["net_amount"] for i in items), Decimal(0))
        net -= body.discount_amount + body.refunded_amount
        if net < 0:
            raise _invalid(
                "body.net_amount",
                f"the items' sum minus discount and refund is negative ({net})",
                hint="send net_amount, or check the discount and refund",
            )
        values["net_amount"] = net
    return values, items


def _check_products(session: Session, items: list[dict]) -> None:
    wanted = {i["product_id"] for i in items}
    if not wanted:
        return
    p = schema.products.c
    found = set(session.execute(sa.select(p.id).where(p.id.in_(wanted))).scalars())
    for n, item in enumerate(items):
        if item["product_id"] not in found:
            raise _invalid(
                f"body.items.{n}.product_id",
                f"no product with id {item['product_id']}",
                value=item["product_id"],
                hint="create the product first (POST /api/v1/products)",
            )


@router.post(
    "",
    response_model=OrderDetail,
    status_code=201,
    dependencies=WRITE,
    responses={**COMMON_RESPONSES, **CONFLICT_RESPONSE},
)
def create_order(
    body: OrderCreate,
    session: SessionDep,
    scope: CustomerScopeDep,
    auditor: AuditorDep,
    rules: RulesDep,
) -> OrderDetail:
    """Create an order with its items, all or nothing (201). The customer must be in your
    scope (a customer outside it is reported like a missing one); ``external_id`` is
    unique (409 when it exists, also when two requests race with the same one)."""
    values, items = _order_values(body, rules.business.currency)
    loyalty.lock_customer(session=session, customer_id=body.customer_id)
    customer = named_customer(session, scope, body.customer_id)
    _check_products(session, items)
    created = orders.create(session=session, values=values, items=items)
    auditor.wrote(AuditAction.CREATE, ENTITY, created["id"], [*values, "items"])
    loyalty_earning.post_customers(session, [body.customer_id], rules=rules, now=utcnow())
    order = {k: v for k, v in created.items() if k != "items"}
    return _detail(session, order, customer, scope)


def _status_change(order: Row, values: dict[str, Any]) -> None:
    """Check the status transition and the refund; fill in ``net_amount`` (in place)."""
    current = OrderStatus(order["status"])
    status = OrderStatus(values.get("status", current))
    if status is not current and status not in ORDER_TRANSITIONS[current]:
        allowed = ", ".join(sorted(ORDER_TRANSITIONS[current])) or "none (final)"
        raise Conflict(
            "order {id} is {current}; it cannot become {status}",
            table="orders",
            field="status",
            value=status.value,
            hint="allowed next statuses: {allowed}",
            key="order_transition",
            params={"id": order["id"], "current": current, "status": status, "allowed": allowed},
            hint_key="ticket_transition.hint",
        )
    paid = order["net_amount"] + order["refunded_amount"]
    refund = values.get("refunded_amount")
    if refund is None and status is OrderStatus.REFUNDED and current is not status:
        refund = paid
    if refund is None or refund == order["refunded_amount"]:
        values.pop("refunded_amount", None)
        return
    if status is OrderStatus.CANCELLED:
        raise Conflict(
            "order {id} is cancelled; nothing was paid to refund",
            table="orders",
            field="refunded_amount",
            value=str(refund),
            key="order_refund_cancelled",
            params={"id": order["id"]},
        )
    if refund < order["refunded_amount"]:
        raise Conflict(
            "order {id} was refunded {refunded}; a refund cannot be taken back to {refund}",
            table="orders",
            field="refunded_amount",
            value=str(refund),
            hint="send the total refunded so far, never less than before",
            key="order_refund_back",
            params={"id": order["id"], "refunded": order["refunded_amount"], "refund": refund},
        )
    if refund > paid:
        raise _invalid(
            "body.refunded_amount",
            f"more than was paid ({paid})",
            value=str(refund),
            hint=f"refund at most {paid}",
        )
    values["refunded_amount"] = refund
    values["net_amount"] = paid - refund


@router.patch(
    "/{order_id}",
    response_model=OrderDetail,
    dependencies=WRITE,
    responses={**COMMON_RESPONSES, **NOT_FOUND_RESPONSE, **CONFLICT_RESPONSE},
)
def update_order(
    order_id: OrderId,
    body: OrderUpdate,
    session: SessionDep,
    scope: CustomerScopeDep,
    auditor: AuditorDep,
    rules: RulesDep,
) -> OrderDetail:
    """Change the status (completed → cancelled or refunded), the refund, the channel,
    the store or ``extra``; only the fields sent. Customer, number, time, amounts other
    than the refund, and items cannot change (422): create a corrected order instead."""
    values = body.model_dump(exclude_unset=True)
    if "status" in values:
        values["status"] = OrderStatus(values["status"])
    if order_id > MAX_INT32:
        raise orders.repo.not_found(order_id)
    # Lock the order first (PostgreSQL: its row; SQLite: the request's transaction holds
    # the write lock), so that two changes of one order are serialized and each checks the
    # other's result.
    session.execute(sa.update(schema.orders).where(_o.id == order_id).values(id=_o.id))
    order, customer = _scoped_order(session, scope, order_id)
    _status_change(order, values)
    if "status" in values:
        values["status"] = values["status"].value
    row = orders.repo.update(session=session, id=order_id, values=values)
    if auditor.updated(ENTITY, order_id, order, row, values):
        loyalty_earning.post_customers(session, [row["customer_id"]], rules=rules, now=utcnow())
    return _detail(session, row, customer, scope)
