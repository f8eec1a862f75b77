"""Data-subject requests: export one customer's data as JSON; erase (anonymise) while
orders and aggregates stay; both audited and limited by role and scope."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from rapport.domain import Direction, InteractionChannel, LoyaltyReason, OrderStatus
from rapport.store import interactions, leads, orders, schema
from tests.helpers import audit_entries

from .conftest import ROLES, T0, Book, People

URL = "/api/v1/customers"


@pytest.fixture
def history(db: Session, book: Book) -> dict[str, Any]:
    """An order, an interaction, a loyalty entry and the lead of the ``own`` customer."""
    cid = book.own["id"]
    order = orders.create(
        session=db,
        values={
            "external_id": "SO-1",
            "customer_id": cid,
            "status": OrderStatus.COMPLETED,
            "ordered_at": T0,
            "net_amount": Decimal("199.00"),
            "currency": "CNY",
            "extra": {"ship_to": "南京东路 100 号"},
        },
    )
    interactions.repo.create(
        session=db,
        values={
            "customer_id": cid,
            "channel": InteractionChannel.PHONE,
            "direction": Direction.INBOUND,
            "occurred_at": T0 + dt.timedelta(days=1),
            "subject": "张伟 asked about delivery",
            "summary": "lives at 南京东路 100 号",
        },
    )
    db.execute(
        sa.insert(schema.loyalty_ledger).values(
            customer_id=cid, points=199, reason=LoyaltyReason.PURCHASE, occurred_at=T0
        )
    )
    leads.repo.create(
        session=db,
        values={
            "external_id": "L-1",
            "name": "张伟",
            "phone": "+8613812345678",
            "status": "converted",
            "converted_customer_id": cid,
            "converted_at": T0,
        },
    )
    db.commit()
    return order


@pytest.mark.parametrize("role", ROLES)
def test_export_by_role(
    client: TestClient, people: People, book: Book, history: dict, db: Session, role: str
) -> None:
    response = client.get(f"{URL}/{book.own['id']}/export", headers=people.headers(role))
    if role in ("service", "analyst"):
        assert response.status_code == 403
        return
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["customer"]["phone"] == "+8613812345678"
    records = body["records"]
    assert [o["external_id"] for o in records["orders"]] == ["SO-1"]
    assert records["orders"][0]["net_amount"] == "199.00"
    assert len(records["interactions"]) == 1 and len(records["loyalty_ledger"]) == 1
    assert [lead["external_id"] for lead in records["leads"]] == ["L-1"]
    assert len(records["tickets"]) == 0 and records["survey_links"] == []
    entry = audit_entries(db, "export")[-1]
    assert entry["entity_id"] == str(book.own["id"])
    assert entry["detail"]["route"] == "data_subject_export"
    assert "orders" in entry["detail"]["tables"]


def test_export_of_another_owners_customer_is_404_for_sales(
    client: TestClient, people: People, book: Book
) -> None:
    response = client.get(f"{URL}/{book.peer['id']}/export", headers=people.headers("sales"))
    assert response.status_code == 404


def test_export_includes_ticket_history(client: TestClient, people: People, book: Book) -> None:
    body = client.get(f"{URL}/{book.west['id']}/export", headers=people.headers("admin")).json()
    assert [t["external_id"] for t in body["records"]["tickets"]] == ["T-west"]
    assert [h["to_status"] for h in body["records"]["ticket_status_history"]] == ["open"]


@pytest.mark.parametrize("role", ROLES)
def test_erase_by_role(client: TestClient, people: People, book: Book, role: str) -> None:
    response = client.post(f"{URL}/{book.own['id']}/erase", headers=people.headers(role))
    assert response.status_code == (200 if role in ("admin", "manager") else 403)


def test_erase_anonymises_personal_data_and_keeps_orders(
    client: TestClient, people: People, book: Book, history: dict, db: Session
) -> None:
    cid = book.own["id"]
    response = client.post(f"{URL}/{cid}/erase", headers=people.headers("admin"))
    assert response.status_code == 200, response.text
    erased = response.json()
    for field in ("name", "email", "phone", "wechat_id", "street", "birthday", "tags", "extra"):
        assert erased[field] is None, field
    assert erased["external_id"] == f"erased-{cid}"
    assert erased["city"] == "上海市"  # coarse attributes stay for aggregates
    assert erased["marketing_consent"] is False and erased["marketing_opt_out"] is True
    assert erased["erased_at"] is not None

    order = db.execute(sa.select(schema.orders).where(schema.orders.c.customer_id == cid)).one()
    assert order.net_amount == Decimal("199.00") and order.extra is None
    note = db.execute(
        sa.select(schema.interactions).where(schema.interactions.c.customer_id == cid)
    ).one()
    assert note.subject is None and note.summary is None
    lead = db.execute(sa.select(schema.leads).where(schema.leads.c.external_id == "L-1")).one()
    assert lead.name is None and lead.phone is None and lead.status == "converted"
    points = db.execute(
        sa.select(sa.func.sum(schema.loyalty_ledger.c.points)).where(
            schema.loyalty_ledger.c.customer_id == cid
        )
    ).scalar_one()
    assert points == 199

    entry = audit_entries(db, "erase")[-1]
    assert entry["entity_id"] == str(cid) and entry["actor"] == "admin"
    assert entry["detail"]["rows"]["customers"] == 1
    assert entry["detail"]["rows"]["orders"] == 1

    again = client.post(f"{URL}/{cid}/erase", headers=people.headers("admin"))
    assert again.status_code == 200 and again.json()["erased_at"] == erased["erased_at"]
    patch = client.patch(f"{URL}/{cid}", json={"name": "张伟"}, headers=people.headers("admin"))
    assert patch.status_code == 409
    found = client.get(URL, params={"q": "张伟"}, headers=people.headers("admin")).json()
    assert cid not in {c["id"] for c in found["data"]}
    export = client.get(f"{URL}/export", headers=people.headers("admin")).text
    assert f"erased-{cid}" not in export


def test_erase_works_for_a_soft_deleted_customer(
    client: TestClient, people: People, book: Book
) -> None:
    cid = book.pool["id"]
    assert client.delete(f"{URL}/{cid}", headers=people.headers("admin")).status_code == 204
    assert client.get(f"{URL}/{cid}/export", headers=people.headers("admin")).status_code == 200
    response = client.post(f"{URL}/{cid}/erase", headers=people.headers("admin"))
    assert response.status_code == 200 and response.json()["name"] is None


def test_manager_cannot_erase_outside_the_team(
    client: TestClient, people: People, book: Book
) -> None:
    response = client.post(f"{URL}/{book.west['id']}/erase", headers=people.headers("manager"))
    assert response.status_code == 404
