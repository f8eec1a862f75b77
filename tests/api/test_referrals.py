"""Referrals routes × every role: the referrals whose referrer and referred customer are
both in scope only (404 otherwise, identical to a missing referral; absent from lists and
counts), writes by admin, manager and sales within their scope (403 for service and
analysts), referred parties outside the scope refused like missing ones, bad input 422
naming the field."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from rapport.store import customers, referrals
from tests.helpers import audit_entries

from .conftest import MISSING_ID, ROLES, T0, VISIBLE, Book, People, not_found
from .fixtures_sales import TARGETS, Sales, sales

__all__ = ["sales"]

URL = "/api/v1/referrals"
WRITERS = {"admin", "manager", "sales"}


def _names(sales: Sales) -> dict[int, str]:
    return {r["id"]: k for k, r in sales.referrals.items()}


@pytest.mark.parametrize("role", ROLES)
def test_list_shows_the_referrals_of_customers_in_scope(
    client: TestClient, people: People, book: Book, sales: Sales, role: str
) -> None:
    response = client.get(URL, headers=people.headers(role))
    assert response.status_code == 200, response.text
    body = response.json()
    assert {_names(sales)[r["id"]] for r in body["data"]} == VISIBLE[role]
    assert body["count"] == len(VISIBLE[role])
    mine = client.get(
        URL, params={"referrer_customer_id": book.peer["id"]}, headers=people.headers(role)
    ).json()
    assert mine["count"] == (1 if "peer" in VISIBLE[role] else 0)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("target", TARGETS)
def test_get_one_is_404_outside_the_scope_exactly_like_a_missing_referral(
    client: TestClient, people: People, book: Book, sales: Sales, role: str, target: str
) -> None:
    referral_id = sales.referrals[target]["id"]
    response = client.get(f"{URL}/{referral_id}", headers=people.headers(role))
    if target in VISIBLE[role]:
        assert response.status_code == 200
        assert response.json()["referrer_customer_id"] == book.ids()[target]
    else:
        assert response.status_code == 404
        assert response.json() == not_found("referral", referral_id)
        missing = client.get(f"{URL}/{MISSING_ID}", headers=people.headers(role))
        assert missing.json() == not_found("referral", MISSING_ID)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("target", ["own", "west"])
def test_create_by_role_and_scope(
    client: TestClient,
    people: People,
    book: Book,
    sales: Sales,
    db: Session,
    role: str,
    target: str,
) -> None:
    body = {
        "referrer_customer_id": book.ids()[target],
        "referred_customer_id": book.pool["id"],
        "channel": "wechat",
    }
    response = client.post(URL, json=body, headers=people.headers(role))
    if role not in WRITERS:
        assert response.status_code == 403
    elif target not in VISIBLE[role] or "pool" not in VISIBLE[role]:
        assert response.status_code == 422
        assert response.json()["error"]["field"] in (
            "body.referrer_customer_id",
            "body.referred_customer_id",
        )
    else:
        assert response.status_code == 201, response.text
        created = response.json()
        assert created["referred_customer_id"] == book.pool["id"]
        assert created["converted"] is False and created["referred_at"]
        entry = audit_entries(db, "create")[-1]
        assert (entry["entity"], entry["entity_id"]) == ("referrals", str(created["id"]))


def test_referred_parties_outside_the_scope_are_refused_like_missing_ones(
    client: TestClient, people: People, book: Book, sales: Sales
) -> None:
    headers = people.headers("sales")
    own = book.own["id"]
    cases = [
        ({"referred_customer_id": book.peer["id"]}, {"referred_customer_id": MISSING_ID}),
        ({"referred_lead_id": sales.leads["peer"]["id"]}, {"referred_lead_id": MISSING_ID}),
    ]
    for outside, missing in cases:
        a = client.post(URL, json={"referrer_customer_id": own, **outside}, headers=headers)
        b = client.post(URL, json={"referrer_customer_id": own, **missing}, headers=headers)
        assert a.status_code == b.status_code == 422
        assert a.json()["error"]["field"] == b.json()["error"]["field"]
    lead = client.post(
        URL,
        json={"referrer_customer_id": own, "referred_lead_id": sales.leads["own"]["id"]},
        headers=headers,
    )
    assert lead.status_code == 201


def test_external_ids_are_unique(
    client: TestClient, people: People, book: Book, sales: Sales
) -> None:
    body = {
        "external_id": "R-own",
        "referrer_customer_id": book.own["id"],
        "referred_customer_id": book.pool["id"],
    }
    response = client.post(URL, json=body, headers=people.headers("admin"))
    assert response.status_code == 409 and response.json()["error"]["field"] == "external_id"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"referred_customer_id": None}, "body"),
        ({"referred_customer_id": "own"}, "body"),
        ({"referred_at": "2024-01-01T00:00:00"}, "body.referred_at"),
        ({"referrer_customer_id": 0}, "body.referrer_customer_id"),
        ({"channel": "x" * 33}, "body.channel"),
        ({"bonus": 5}, "body.bonus"),
    ],
)
def test_bad_input_is_422_naming_the_field(
    client: TestClient, people: People, book: Book, sales: Sales, change: dict, field: str
) -> None:
    body = {"referrer_customer_id": book.own["id"], "referred_customer_id": book.pool["id"]}
    if change.get("referred_customer_id") == "own":
        change = {"referred_customer_id": book.own["id"]}
    body.update(change)
    body = {k: v for k, v in body.items() if v is not None}
    response = client.post(URL, json=body, headers=people.headers("admin"))
    assert response.status_code == 422, response.text
    assert response.json()["error"]["field"] == field


#: Referrals between two book customers (referrer, referred), by name.
PAIRS = {
    "own→west": ("own", "west"),
    "west→own": ("west", "own"),
    "own→peer": ("own", "peer"),
    "peer→pool": ("peer", "pool"),
}


@pytest.mark.parametrize("role", ROLES)
def test_both_ends_of_a_referral_must_be_in_scope(
    client: TestClient, people: People, book: Book, sales: Sales, db: Session, role: str
) -> None:
    made = {
        name: referrals.repo.create(
            session=db,
            values={
                "external_id": f"R-{name}",
                "referrer_customer_id": book.ids()[a],
                "referred_customer_id": book.ids()[b],
                "referred_at": T0,
            },
        )
        for name, (a, b) in PAIRS.items()
    }
    db.commit()
    visible = {n for n, (a, b) in PAIRS.items() if {a, b} <= VISIBLE[role]}
    headers = people.headers(role)
    listed = client.get(URL, params={"limit": 100}, headers=headers).json()
    ids = {r["id"] for r in listed["data"]}
    assert {n for n, r in made.items() if r["id"] in ids} == visible
    assert listed["count"] == len(VISIBLE[role]) + len(visible)  # with the lead referrals
    for name, row in made.items():
        response = client.get(f"{URL}/{row['id']}", headers=headers)
        if name in visible:
            assert response.status_code == 200
            assert response.json()["referred_customer_id"] == row["referred_customer_id"]
        else:  # exactly like a missing referral
            assert response.status_code == 404
            assert response.json() == not_found("referral", row["id"])
    # the referrer filter keeps the rule
    own = client.get(URL, params={"referrer_customer_id": book.own["id"]}, headers=headers).json()
    expected = {n for n in visible if PAIRS[n][0] == "own"} | (
        {"lead"} if "own" in VISIBLE[role] else set()
    )
    assert own["count"] == len(expected)


def test_a_referral_to_a_deleted_customer_stays_visible_to_whom_it_was(
    client: TestClient, people: People, book: Book, db: Session
) -> None:
    row = referrals.repo.create(
        session=db,
        values={
            "referrer_customer_id": book.own["id"],
            "referred_customer_id": book.peer["id"],
            "referred_at": T0,
        },
    )
    customers.repo.delete(session=db, id=book.peer["id"])
    db.commit()
    response = client.get(f"{URL}/{row['id']}", headers=people.headers("manager"))
    assert response.status_code == 200
    assert client.get(f"{URL}/{row['id']}", headers=people.headers("sales")).status_code == 404


def test_ids_beyond_the_store_keys_are_404(client: TestClient, people: People) -> None:
    for referral_id in (2**31, 2**63, 10**30):
        response = client.get(f"{URL}/{referral_id}", headers=people.headers("manager"))
        assert response.status_code == 404, referral_id
