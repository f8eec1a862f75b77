"""Points earned from orders through the API: an order created, retried, cancelled and sent
again in bulk earns once and gives back what it earned (docs/loyalty.md)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from rapport.store import customers, schema

from .conftest import Book, People

ORDERS = "/api/v1/orders"


def _join(db: Session, customer: dict[str, Any]) -> None:
    customers.repo.update(
        session=db,
        id=customer["id"],
        values={"loyalty_joined_at": dt.datetime(2024, 1, 1, tzinfo=dt.UTC)},
    )
    db.flush()


def _ledger(db: Session, customer_id: int) -> list[tuple[int, str, str | None]]:
    lg = schema.loyalty_ledger.c
    rows = db.execute(
        sa.select(lg.points, lg.reason, lg.reference)
        .where(lg.customer_id == customer_id)
        .order_by(lg.id)
    )
    return [(p, str(r.value if hasattr(r, "value") else r), ref) for p, r, ref in rows]


def _product(db: Session) -> int:
    return int(
        db.execute(
            sa.insert(schema.products)
            .values(
                sku="T-1",
                name="龙井",
                currency="CNY",
                created_at=sa.func.now(),
                updated_at=sa.func.now(),
            )
            .returning(schema.products.c.id)
        ).scalar_one()
    )


def test_an_order_earns_once_and_its_cancellation_gives_the_points_back(
    client: TestClient, people: People, book: Book, db: Session
) -> None:
    _join(db, book.own)
    body = {
        "external_id": "SO-EARN",
        "customer_id": book.own["id"],
        "ordered_at": "2024-05-01T10:00:00+08:00",
        "channel": "wechat",
        "items": [{"product_id": _product(db), "quantity": 3, "unit_price": "88.30"}],
    }
    created = client.post(ORDERS, json=body, headers=people.headers("sales"))
    assert created.status_code == 201, created.text
    assert created.json()["net_amount"] == "264.90"
    retried = client.post(ORDERS, json=body, headers=people.headers("sales"))
    assert retried.status_code == 409
    assert _ledger(db, book.own["id"]) == [(264, "purchase", "order:SO-EARN")]
    cancel = client.patch(
        f"{ORDERS}/{created.json()['id']}",
        json={"status": "cancelled"},
        headers=people.headers("manager"),
    )
    assert cancel.status_code == 200, cancel.text
    assert _ledger(db, book.own["id"]) == [
        (264, "purchase", "order:SO-EARN"),
        (-264, "clawback", "order:SO-EARN"),
    ]
    card = client.get(
        f"/api/v1/customers/{book.own['id']}/loyalty", headers=people.headers("sales")
    )
    assert card.json()["balance"] == 0


def test_a_partial_refund_gives_back_its_share(
    client: TestClient, people: People, book: Book, db: Session
) -> None:
    _join(db, book.own)
    body = {
        "external_id": "SO-R",
        "customer_id": book.own["id"],
        "ordered_at": "2024-05-01T10:00:00+08:00",
        "items": [{"product_id": _product(db), "quantity": 1, "unit_price": "200.00"}],
    }
    order = client.post(ORDERS, json=body, headers=people.headers("sales")).json()
    refund = client.patch(
        f"{ORDERS}/{order['id']}",
        json={"refunded_amount": "50.00"},
        headers=people.headers("sales"),
    )
    assert refund.status_code == 200, refund.text
    assert [p for p, _, _ in _ledger(db, book.own["id"])] == [200, -50]


def test_orders_sent_twice_in_bulk_earn_once(
    client: TestClient, people: People, book: Book, db: Session
) -> None:
    _join(db, book.own)
    orders = [
        {
            "external_id": f"B-{n}",
            "customer_external_id": book.own["external_id"],
            "ordered_at": "2024-03-01T10:00:00Z",
            "status": "completed",
            "net_amount": 99.5 + n,
            "currency": "CNY",
        }
        for n in range(2)
    ]
    for _ in range(2):
        response = client.post(f"{ORDERS}/bulk", json=orders, headers=people.headers("sales"))
        assert response.status_code == 200, response.text
    assert sorted(_ledger(db, book.own["id"])) == [
        (99, "purchase", "order:B-0"),
        (100, "purchase", "order:B-1"),
    ]


def test_a_customer_who_is_no_member_earns_nothing(
    client: TestClient, people: People, book: Book, db: Session
) -> None:
    body = {
        "external_id": "SO-NM",
        "customer_id": book.own["id"],
        "ordered_at": "2024-05-01T10:00:00+08:00",
        "items": [{"product_id": _product(db), "quantity": 1, "unit_price": "20.00"}],
    }
    assert client.post(ORDERS, json=body, headers=people.headers("sales")).status_code == 201
    assert _ledger(db, book.own["id"]) == []
