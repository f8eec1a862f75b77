"""Loyalty routes × every role: balance, tier and ledger in scope (404 outside it, like a
missing customer), earn and redeem (403 for service and analysts), the insufficient
balance refusal (409 naming balance and points, nothing written), idempotent external
ids, bad input (422 with the field path) and the audit trail."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from rapport.api.masking import mask_reference
from rapport.store import customers, loyalty, tokens
from tests.helpers import audit_entries

from .conftest import MISSING_ID, ROLES, T0, VISIBLE, Book, People, not_found
from .fixtures_sales import TARGETS, Sales, sales

__all__ = ["sales"]


def url(customer_id: int, suffix: str = "") -> str:
    return f"/api/v1/customers/{customer_id}/loyalty{suffix}"


WRITERS = {"admin", "manager", "sales"}


def join(db: Session, customer_id: int) -> None:
    """Make the customer a member of the programme (since T0)."""
    customers.repo.update(session=db, id=customer_id, values={"loyalty_joined_at": T0})
    db.commit()


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("target", TARGETS)
def test_read_balance_tier_and_ledger_in_scope_only(
    client: TestClient,
    people: People,
    book: Book,
    sales: Sales,
    db: Session,
    role: str,
    target: str,
) -> None:
    customer_id = book.ids()[target]
    join(db, customer_id)
    response = client.get(url(customer_id), headers=people.headers(role))
    if target not in VISIBLE[role]:
        assert response.status_code == 404
        assert response.json() == not_found("customer", customer_id)
        missing = client.get(url(MISSING_ID), headers=people.headers(role))
        assert missing.status_code == 404 and missing.json() == not_found("customer", MISSING_ID)
        return
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["balance"] == 500
    # the programme tier by points earned over the last 12 months: the 500 points of T0
    # (2024) have left the window
    tier = body["tier"]
    assert (tier["code"], tier["name_zh"], tier["name_en"]) == ("member", "会员", "Member")
    assert (tier["min_points"], Decimal(tier["min_spend"])) == (0, 0)
    assert body["next_tier"]["code"] == "silver" and body["next_tier"]["min_points"] == 2000
    assert body["points_to_next_tier"] == 2000
    programme = body["programme"]
    assert (programme["basis"], programme["evaluated"], programme["grace_until"]) == (
        "points",
        False,  # never evaluated: the tier the next evaluation would give
        None,
    )
    assert Decimal(programme["basis_value"]) == 0
    assert Decimal(programme["to_next_tier"]) == 2000
    assert programme["benefits"] == {"earn_multiplier": 1.0, "sla_priority": "normal", "gifts": []}
    assert body["ledger"]["count"] == 1
    (entry,) = body["ledger"]["data"]
    reference = f"order:SO-{target}"
    if role == "analyst":  # the reference may name a person: masked, its kind kept
        reference = mask_reference(reference)
        assert reference.startswith("order:") and target not in reference
    assert (entry["points"], entry["reason"], entry["reference"]) == (500, "purchase", reference)
    earned = dt.datetime.fromisoformat(entry["occurred_at"])
    ((expiring),) = body["expiring"]  # the one lot, [loyalty] points_expire_days after it
    assert expiring["points"] == 500
    assert dt.datetime.fromisoformat(expiring["expires_at"]) - earned == dt.timedelta(days=730)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("target", ["own", "west"])
@pytest.mark.parametrize("kind", ["earn", "redeem"])
def test_earn_and_redeem_by_role_and_scope(
    client: TestClient,
    people: People,
    book: Book,
    sales: Sales,
    db: Session,
    role: str,
    target: str,
    kind: str,
) -> None:
    customer_id = book.ids()[target]
    response = client.post(
        url(customer_id, f"/{kind}"),
        json={"points": 120, "reference": "gift:杯子"},
        headers=people.headers(role),
    )
    if role not in WRITERS:
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "forbidden"
    elif target not in VISIBLE[role]:
        assert response.status_code == 404
        assert response.json() == not_found("customer", customer_id)
    else:
        assert response.status_code == 201, response.text
        body = response.json()
        expected = 500 + 120 if kind == "earn" else 500 - 120
        assert body["balance"] == expected
        assert body["entry"]["points"] == (120 if kind == "earn" else -120)
        assert body["entry"]["reason"] == ("bonus" if kind == "earn" else "redeem")
        assert body["entry"]["created_by"] == getattr(people, role)["id"]
        entry = audit_entries(db, "create")[-1]
        assert entry["entity"] == "loyalty_ledger"
        assert entry["entity_id"] == str(body["entry"]["id"])
        assert entry["detail"]["customer_id"] == customer_id
        return
    assert loyalty.balance(session=db, customer_id=customer_id) == 500


def test_redeem_beyond_the_balance_is_409_naming_balance_and_points(
    client: TestClient, people: People, book: Book, sales: Sales, db: Session
) -> None:
    customer_id = book.own["id"]
    response = client.post(
        url(customer_id, "/redeem"), json={"points": 501}, headers=people.headers("sales")
    )
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "conflict"
    assert "500 points" in error["message"] and "501" in error["message"]
    assert error["field"] == "points"
    assert loyalty.balance(session=db, customer_id=customer_id) == 500
    exact = client.post(
        url(customer_id, "/redeem"), json={"points": 500}, headers=people.headers("sales")
    )
    assert exact.status_code == 201 and exact.json()["balance"] == 0


def test_the_programme_tier_rises_at_once_and_spending_does_not_lower_it(
    client: TestClient, people: People, book: Book, sales: Sales, db: Session
) -> None:
    headers = people.headers("admin")
    customer_id = book.pool["id"]
    outsider = client.get(url(customer_id), headers=headers).json()
    assert outsider["tier"] is None and outsider["programme"] is None  # not a member
    join(db, customer_id)
    body = client.post(
        url(customer_id, "/earn"), json={"points": 10_000, "reason": "purchase"}, headers=headers
    ).json()
    assert body["balance"] == 10_500 and body["tier"]["code"] == "gold"
    spent = client.post(url(customer_id, "/redeem"), json={"points": 6000}, headers=headers)
    assert spent.status_code == 201 and spent.json()["tier"]["code"] == "gold"
    card = client.get(url(customer_id), headers=headers).json()
    assert card["next_tier"]["code"] == "platinum" and card["points_to_next_tier"] == 40_000
    programme = card["programme"]
    assert programme["evaluated"] is True and programme["tier"]["code"] == "gold"
    assert programme["benefits"]["sla_priority"] == "high"
    assert programme["review_on"] > programme["since"]


def test_a_repeated_external_id_is_refused_not_counted_twice(
    client: TestClient, people: People, book: Book, sales: Sales, db: Session
) -> None:
    headers = people.headers("manager")
    body = {"points": 50, "external_id": "POS-88-1"}
    first = client.post(url(book.own["id"], "/earn"), json=body, headers=headers)
    again = client.post(url(book.own["id"], "/earn"), json=body, headers=headers)
    assert first.status_code == 201 and again.status_code == 409
    assert again.json()["error"]["field"] == "external_id"
    assert loyalty.balance(session=db, customer_id=book.own["id"]) == 550


def test_the_ledger_pages_with_cursors(
    client: TestClient, people: People, book: Book, sales: Sales
) -> None:
    headers = people.headers("admin")
    customer_id = book.peer["id"]
    for points in (1, 2, 3, 4):
        client.post(url(customer_id, "/earn"), json={"points": points}, headers=headers)
    first = client.get(url(customer_id), params={"limit": 3}, headers=headers).json()
    assert first["ledger"]["count"] == 5 and len(first["ledger"]["data"]) == 3
    second = client.get(
        url(customer_id),
        params={"limit": 3, "cursor": first["ledger"]["next_cursor"]},
        headers=headers,
    ).json()
    assert [e["points"] for e in second["ledger"]["data"]] == [3, 4]
    assert second["ledger"]["next_cursor"] is None and second["balance"] == 510


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"points": 0}, "body.points"),
        ({"points": -5}, "body.points"),
        ({"points": 1.5}, "body.points"),
        ({"points": 10_000_001}, "body.points"),
        ({}, "body.points"),
        ({"points": 5, "reason": "redeem"}, "body.reason"),
        ({"points": 5, "occurred_at": "2024-03-01T09:00:00"}, "body.occurred_at"),
        ({"points": 5, "reference": "a\x00b"}, "body.reference"),
        ({"points": 5, "bonus": True}, "body.bonus"),
    ],
)
def test_bad_input_is_422_naming_the_field(
    client: TestClient, people: People, book: Book, sales: Sales, body: dict, field: str
) -> None:
    response = client.post(url(book.own["id"], "/earn"), json=body, headers=people.headers("sales"))
    assert response.status_code == 422, response.text
    assert response.json()["error"]["field"] == field


def test_api_tokens_need_the_loyalty_scopes(
    client: TestClient, people: People, book: Book, sales: Sales, db: Session
) -> None:
    secret, _ = tokens.issue(
        session=db, user_id=people.sales["id"], name="pos", scopes=["loyalty:read"]
    )
    db.commit()
    headers = {"Authorization": f"Bearer {secret}"}
    assert client.get(url(book.own["id"]), headers=headers).status_code == 200
    refused = client.post(url(book.own["id"], "/earn"), json={"points": 5}, headers=headers)
    assert refused.status_code == 403 and "loyalty:write" in refused.json()["error"]["message"]
