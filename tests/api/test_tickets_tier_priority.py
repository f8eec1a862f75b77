"""``POST /api/v1/tickets`` for a loyalty-programme member: the ticket gets at least the
``sla_priority`` of the member's programme tier, with the due times of that priority and
a history note saying why."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from rapport.config import load_rules
from rapport.domain import TicketPriority
from rapport.store import schema

from .conftest import T0, Book, People

URL = "/api/v1/tickets"


def make_member(db: Session, customer_id: int, tier: str) -> None:
    db.execute(
        sa.insert(schema.loyalty_member_tiers).values(
            customer_id=customer_id,
            tier=tier,
            since=T0.date(),
            review_on=T0.date() + dt.timedelta(days=90),
            basis_value=Decimal("0"),
            evaluated_at=T0,
        )
    )
    db.commit()


def test_a_platinum_members_low_ticket_opens_urgent(
    client: TestClient, people: People, book: Book, db: Session
) -> None:
    rules = load_rules(people.settings)
    floor = next(
        TicketPriority(t.sla_priority) for t in rules.loyalty.tiers if t.code == "platinum"
    )
    assert floor == TicketPriority.URGENT  # the shipped rules
    make_member(db, book.own["id"], "platinum")
    body = {
        "customer_id": book.own["id"],
        "kind": "complaint",
        "priority": "low",
        "opened_at": "2024-03-01T09:30:00+00:00",
    }
    response = client.post(URL, json=body, headers=people.headers("manager"))
    assert response.status_code == 201, response.text
    ticket = response.json()
    assert ticket["priority"] == "urgent"
    opened = dt.datetime(2024, 3, 1, 9, 30, tzinfo=dt.UTC)
    due = opened + dt.timedelta(hours=rules.sla.first_response_hours[TicketPriority.URGENT])
    assert dt.datetime.fromisoformat(ticket["first_response_due_at"]) == due
    assert ticket["history"][0]["note"] == "loyalty tier platinum: priority low → urgent"


def test_a_non_members_ticket_keeps_its_priority(
    client: TestClient, people: People, book: Book
) -> None:
    body = {"customer_id": book.own["id"], "kind": "inquiry", "priority": "low"}
    response = client.post(URL, json=body, headers=people.headers("manager"))
    assert response.status_code == 201, response.text
    assert response.json()["priority"] == "low"
    assert response.json()["history"][0]["note"] is None
