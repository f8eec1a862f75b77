"""Valid rows for store tests: each factory writes through the store's own functions."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.orm import Session

from rapport.domain import OrderStatus, Role, TicketKind, TicketPriority
from rapport.store import customers, leads, orders, products, tickets, users

SHANGHAI = ZoneInfo("Asia/Shanghai")
#: A wall-clock time in China; stored as 2024-03-01 01:30 UTC.
T0 = dt.datetime(2024, 3, 1, 9, 30, tzinfo=SHANGHAI)

_serial = itertools.count(1)


def ext(prefix: str) -> str:
    """A fresh natural key, unique within the test process."""
    return f"{prefix}-{next(_serial):06d}"


def user(session: Session, **values: Any) -> dict[str, Any]:
    return users.repo.create(
        session=session,
        values={"username": ext("u"), "display_name": "王芳", "role": Role.SERVICE, **values},
    )


def customer(session: Session, **values: Any) -> dict[str, Any]:
    return customers.repo.create(
        session=session, values={"external_id": ext("C"), "name": "张伟", **values}
    )


def product(session: Session, **values: Any) -> dict[str, Any]:
    return products.repo.create(
        session=session,
        values={
            "sku": ext("SKU"),
            "name": "西湖龙井 250g",
            "price": Decimal("88.00"),
            "currency": "CNY",
            **values,
        },
    )


def order_values(customer_id: int, **values: Any) -> dict[str, Any]:
    return {
        "external_id": ext("SO"),
        "customer_id": customer_id,
        "status": OrderStatus.COMPLETED,
        "ordered_at": T0,
        "net_amount": Decimal("1280.00"),
        "currency": "CNY",
        **values,
    }


def order(session: Session, customer_id: int, **values: Any) -> dict[str, Any]:
    return orders.repo.create(session=session, values=order_values(customer_id, **values))


def ticket_values(customer_id: int, **values: Any) -> dict[str, Any]:
    return {
        "external_id": ext("TK"),
        "customer_id": customer_id,
        "kind": TicketKind.COMPLAINT,
        "priority": TicketPriority.NORMAL,
        "subject": "快递破损",
        "opened_at": T0,
        **values,
    }


def ticket(session: Session, customer_id: int, **values: Any) -> dict[str, Any]:
    return tickets.open_ticket(session=session, values=ticket_values(customer_id, **values))


def lead(session: Session, **values: Any) -> dict[str, Any]:
    return leads.repo.create(
        session=session,
        values={"external_id": ext("L"), "name": "赵敏", "status": "new", **values},
    )


def backend_xfail(backend: str, reason: str) -> pytest.MarkDecorator:
    """Run a test on both backends and expect it to fail on ``backend`` only."""
    return pytest.mark.parametrize(
        "backend",
        [
            pytest.param(
                name,
                marks=[pytest.mark.xfail(strict=True, reason=reason)] if name == backend else [],
            )
            for name in ("sqlite", "postgres")
        ],
        indirect=True,
    )
