"""Fixtures of the sales resources (orders, products, leads, referrals, loyalty) on top of
the ``people`` and ``book`` fixtures of conftest: a small catalogue, one order and one
referral made by each book customer, a lead per owner and some points for each customer.

Import the fixtures by name into a test module (``from .fixtures_sales import sales``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy.orm import Session

from rapport.domain import LeadStatus, LoyaltyReason, OrderStatus
from rapport.store import leads, loyalty, orders, products, referrals

from .conftest import T0, Book, People

TARGETS = ("own", "peer", "west", "pool")


@dataclass
class Sales:
    """Records of the sales resources, by book customer (``own``, ``peer``, ``west``,
    ``pool``); ``leads`` by owner (``own``: sales, ``peer``: sales_peer, ``west``:
    sales_west, ``pool``: nobody)."""

    products: list[dict[str, Any]]
    orders: dict[str, dict[str, Any]] = field(default_factory=dict)
    leads: dict[str, dict[str, Any]] = field(default_factory=dict)
    referrals: dict[str, dict[str, Any]] = field(default_factory=dict)


@pytest.fixture
def sales(db: Session, people: People, book: Book) -> Sales:
    catalogue = [
        products.repo.create(
            session=db,
            values={"sku": "SKU-TEA", "name": "龙井茶", "price": "88.00", "currency": "CNY"},
        ),
        products.repo.create(
            session=db,
            values={"sku": "SKU-CUP", "name": "Cup", "price": "12.50", "currency": "CNY"},
        ),
    ]
    out = Sales(products=catalogue)
    owners = {
        "own": people.sales,
        "peer": people.sales_peer,
        "west": people.sales_west,
        "pool": None,
    }
    for n, target in enumerate(TARGETS):
        customer = getattr(book, target)
        out.orders[target] = orders.create(
            session=db,
            values={
                "external_id": f"SO-{target}",
                "customer_id": customer["id"],
                "status": OrderStatus.COMPLETED,
                "ordered_at": T0 + dt.timedelta(days=n),
                "gross_amount": "188.50",
                "discount_amount": "0",
                "net_amount": "188.50",
                "currency": "CNY",
                "channel": "tmall",
                "extra": {"收货人": "张伟"},
            },
            items=[
                {
                    "product_id": catalogue[0]["id"],
                    "quantity": 2,
                    "unit_price": "88.00",
                    "net_amount": "176.00",
                },
                {
                    "product_id": catalogue[1]["id"],
                    "quantity": 1,
                    "unit_price": "12.50",
                    "net_amount": "12.50",
                },
            ],
        )
        owner = owners[target]
        out.leads[target] = leads.repo.create(
            session=db,
            values={
                "external_id": f"L-{target}",
                "name": "赵敏",
                "email": "zhao.min@example.com",
                "phone": "+8613900001111",
                "company": "杭州茶业",
                "status": LeadStatus.NEW,
                "owner_id": owner["id"] if owner else None,
            },
        )
        out.referrals[target] = referrals.repo.create(
            session=db,
            values={
                "external_id": f"R-{target}",
                "referrer_customer_id": customer["id"],
                "referred_lead_id": out.leads[target]["id"],
                "referred_at": T0,
                "channel": "wechat",
            },
        )
        loyalty.append(
            session=db,
            values={
                "customer_id": customer["id"],
                "points": 500,
                "reason": LoyaltyReason.PURCHASE,
                "reference": f"order:SO-{target}",
                "occurred_at": T0,
            },
        )
    db.commit()
    return out
