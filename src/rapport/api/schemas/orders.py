"""Order bodies: ``OrderCreate`` (with its items), ``OrderUpdate`` (PATCH: status, refund,
channel, store, extra), ``OrderPublic`` (list rows), ``OrderDetail`` (one order with its
items and its customer), ``OrdersPublic`` (a page).

Amounts are decimals with at most 2 decimals and 14 digits, never negative; they are sent
back as strings ("188.50") so that no client rounds them through a float.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from rapport.api.schemas.common import MAX_INT32, Page, Text, Time, check_json
from rapport.domain import OrderStatus

MAX_ITEMS = 500

Money = Annotated[Decimal, Field(ge=0, max_digits=14, decimal_places=2)]
Json = Annotated[dict[str, Any], AfterValidator(check_json)]
Id = Annotated[int, Field(ge=1, le=MAX_INT32)]


class OrderItemCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    product_id: Id
    quantity: int = Field(ge=1, le=1_000_000)
    unit_price: Money
    net_amount: Money | None = Field(
        default=None, description="The line's amount after discounts; default quantity × price."
    )


class OrderCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    external_id: Annotated[str, Text(64, 1)] = Field(
        description="The shop's order number (unique)."
    )
    customer_id: Id = Field(description="A customer in your scope.")
    status: OrderStatus = OrderStatus.COMPLETED
    ordered_at: Time
    gross_amount: Money | None = None
    discount_amount: Money = Decimal(0)
    refunded_amount: Money = Decimal(0)
    net_amount: Money | None = Field(
        default=None,
        description="After discounts and refunds; default: the items' sum minus the discount "
        "and the refund (required when there are no items).",
    )
    currency: Annotated[str, Text(3, 3)] | None = Field(
        default=None, description="ISO 4217; default: the business currency of the rules."
    )
    channel: Annotated[str, Text(32)] | None = None
    store: Annotated[str, Text(64)] | None = None
    extra: Json | None = None
    items: list[OrderItemCreate] = Field(default_factory=list, max_length=MAX_ITEMS)


class OrderUpdate(BaseModel):
    """PATCH: only the fields sent change. Status moves from ``completed`` to ``cancelled``
    or ``refunded`` (both final); ``refunded_amount`` only grows, up to what was paid, and
    lowers ``net_amount`` by as much. Setting ``refunded`` without an amount refunds all."""

    model_config = ConfigDict(extra="forbid")

    status: OrderStatus = None  # type: ignore[assignment]
    refunded_amount: Money = None  # type: ignore[assignment]
    channel: Annotated[str, Text(32)] | None = None
    store: Annotated[str, Text(64)] | None = None
    extra: Json | None = None


class OrderItemPublic(BaseModel):
    line_no: int
    product_id: int
    quantity: int
    unit_price: Decimal
    net_amount: Decimal


class OrderCustomer(BaseModel):
    """The customer of an order, as the caller may see them."""

    id: int
    external_id: str
    name: str | None
    masked: bool


class OrderPublic(BaseModel):
    id: int
    external_id: str
    customer_id: int
    status: OrderStatus
    ordered_at: dt.datetime
    gross_amount: Decimal | None
    discount_amount: Decimal
    refunded_amount: Decimal
    net_amount: Decimal
    currency: str
    channel: str | None
    store: str | None
    extra: dict[str, Any] | None = Field(description="Source fields; removed for analysts.")
    created_at: dt.datetime
    updated_at: dt.datetime

    @field_validator("extra", mode="before")
    @classmethod
    def _documents_only(cls, value: Any) -> Any:
        return value if value is None or isinstance(value, dict) else {"value": value}


class OrderDetail(OrderPublic):
    """One order with its items (in line order) and its customer (masked for analysts)."""

    items: list[OrderItemPublic]
    customer: OrderCustomer


class OrdersPublic(Page[OrderPublic]):
    """One page of orders."""
