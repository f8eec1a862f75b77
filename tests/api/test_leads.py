"""Leads routes × every role: owner-based scope (404 outside it, identical to a missing
lead; absent from lists), service refused (403), analysts masked, PATCH semantics and the
status rules, and the conversion into a new or an existing customer (atomic, repeatable,
409 into another customer)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from rapport.store import schema
from tests.helpers import audit_entries

from .conftest import MISSING_ID, ROLES, Book, People, not_found
from .fixtures_sales import TARGETS, Sales, sales

__all__ = ["sales"]

URL = "/api/v1/leads"
#: Which fixture leads each role sees (by owner, like customers; service: none, 403).
LEAD_VISIBLE = {
    "admin": {"own", "peer", "west", "pool"},
    "manager": {"own", "peer", "pool"},
    "sales": {"own"},
    "analyst": {"own", "peer", "west", "pool"},
}
WRITERS = {"admin", "manager", "sales"}


def _names(sales: Sales) -> dict[int, str]:
    return {lead["id"]: k for k, lead in sales.leads.items()}


def _customers(db: Session) -> int:
    return db.execute(sa.select(sa.func.count()).select_from(schema.customers)).scalar_one()


@pytest.mark.parametrize("role", ROLES)
def test_list_shows_the_leads_in_scope(
    client: TestClient, people: People, book: Book, sales: Sales, role: str
) -> None:
    response = client.get(URL, headers=people.headers(role))
    if role == "service":
        assert response.status_code == 403
        return
    assert response.status_code == 200, response.text
    body = response.json()
    assert {_names(sales)[lead["id"]] for lead in body["data"]} == LEAD_VISIBLE[role]
    assert body["count"] == len(LEAD_VISIBLE[role])
    for lead in body["data"]:
        assert lead["masked"] is (role == "analyst")
        if role == "analyst":
            assert (lead["name"], lead["email"], lead["phone"]) == (
                "赵*",
                "z***@example.com",
                "139****1111",
            )
            assert lead["company"] == "杭州茶业"
        else:
            assert lead["email"] == "zhao.min@example.com"


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("target", TARGETS)
def test_get_one_is_404_outside_the_scope_exactly_like_a_missing_lead(
    client: TestClient, people: People, book: Book, sales: Sales, role: str, target: str
) -> None:
    lead_id = sales.leads[target]["id"]
    response = client.get(f"{URL}/{lead_id}", headers=people.headers(role))
    if role == "service":
        assert response.status_code == 403
    elif target in LEAD_VISIBLE[role]:
        assert response.status_code == 200 and response.json()["id"] == lead_id
    else:
        assert response.status_code == 404
        assert response.json() == not_found("lead", lead_id)
        missing = client.get(f"{URL}/{MISSING_ID}", headers=people.headers(role))
        assert missing.json() == not_found("lead", MISSING_ID)


@pytest.mark.parametrize("role", ROLES)
def test_create_by_role(client: TestClient, people: People, db: Session, role: str) -> None:
    body = {"external_id": f"L-new-{role}", "name": "周杰", "phone": "139 0000 2222"}
    response = client.post(URL, json=body, headers=people.headers(role))
    if role not in WRITERS:
        assert response.status_code == 403
        return
    assert response.status_code == 201, response.text
    lead = response.json()
    assert (lead["status"], lead["phone"]) == ("new", "+8613900002222")
    assert lead["owner_id"] == (people.sales["id"] if role == "sales" else None)
    entry = audit_entries(db, "create")[-1]
    assert (entry["entity"], entry["entity_id"]) == ("leads", str(lead["id"]))


def test_owner_rules_on_create_and_patch(
    client: TestClient, people: People, book: Book, sales: Sales
) -> None:
    mine = client.post(
        URL,
        json={"external_id": "L-x", "owner_id": people.sales_peer["id"]},
        headers=people.headers("sales"),
    )
    assert mine.status_code == 403 and mine.json()["error"]["field"] == "owner_id"
    give = client.patch(
        f"{URL}/{sales.leads['pool']['id']}",
        json={"owner_id": people.sales_west["id"]},
        headers=people.headers("manager"),
    )
    assert give.status_code == 403


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("target", ["own", "west"])
def test_patch_by_role_and_scope(
    client: TestClient, people: People, book: Book, sales: Sales, role: str, target: str
) -> None:
    lead_id = sales.leads[target]["id"]
    response = client.patch(
        f"{URL}/{lead_id}", json={"status": "qualified"}, headers=people.headers(role)
    )
    if role not in WRITERS:
        assert response.status_code == 403
    elif target not in LEAD_VISIBLE[role]:
        assert response.status_code == 404
        assert response.json() == not_found("lead", lead_id)
    else:
        assert response.status_code == 200, response.text
        after = response.json()
        assert after["status"] == "qualified" and after["name"] == "赵敏"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"status": "converted"}, "body.status"),
        ({"status": None}, "body.status"),
        ({"email": "zhao@"}, "body.email"),
        ({"phone": "12"}, "body.phone"),
        ({"converted_customer_id": 1}, "body.converted_customer_id"),
        ({"owner_id": 0}, "body.owner_id"),
    ],
)
def test_bad_patches_are_422_naming_the_field(
    client: TestClient, people: People, book: Book, sales: Sales, body: dict, field: str
) -> None:
    response = client.patch(
        f"{URL}/{sales.leads['own']['id']}", json=body, headers=people.headers("sales")
    )
    assert response.status_code == 422, response.text
    assert response.json()["error"]["field"] == field


def test_a_phone_that_cannot_be_normalised_is_answered_as_for_a_customer(
    client: TestClient, people: People, book: Book, sales: Sales
) -> None:
    headers = people.headers("sales")
    lead = client.patch(f"{URL}/{sales.leads['own']['id']}", json={"phone": "12"}, headers=headers)
    customer = client.post(
        "/api/v1/customers",
        json={"external_id": "C-bad-phone", "name": "赵敏", "phone": "12"},
        headers=headers,
    )
    assert lead.status_code == customer.status_code == 422, (lead.text, customer.text)
    lead_error, customer_error = lead.json()["error"], customer.json()["error"]
    assert lead_error["field"] == customer_error["field"] == "body.phone"
    assert lead_error["hint"] == customer_error["hint"]
    assert "country code" in lead_error["hint"]


# --- conversion ----------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("target", ["own", "west"])
def test_convert_into_a_new_customer_by_role(
    client: TestClient,
    people: People,
    book: Book,
    sales: Sales,
    db: Session,
    role: str,
    target: str,
) -> None:
    lead = sales.leads[target]
    before = _customers(db)
    response = client.post(f"{URL}/{lead['id']}/convert", json={}, headers=people.headers(role))
    if role not in WRITERS:
        assert response.status_code == 403
    elif target not in LEAD_VISIBLE[role]:
        assert response.status_code == 404
        assert response.json() == not_found("lead", lead["id"])
    else:
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["created_customer"] is True
        assert body["lead"]["status"] == "converted"
        assert body["lead"]["converted_customer_id"] == body["customer_id"]
        customer = client.get(
            f"/api/v1/customers/{body['customer_id']}", headers=people.headers(role)
        ).json()
        assert (customer["external_id"], customer["name"], customer["owner_id"]) == (
            f"lead-L-{target}",
            "赵敏",
            lead["owner_id"],
        )
        again = client.post(f"{URL}/{lead['id']}/convert", json={}, headers=people.headers(role))
        assert again.status_code == 200
        assert again.json()["customer_id"] == body["customer_id"]
        assert again.json()["created_customer"] is False
        assert _customers(db) == before + 1
        return
    assert _customers(db) == before


def test_convert_into_an_existing_customer_in_scope(
    client: TestClient, people: People, book: Book, sales: Sales, db: Session
) -> None:
    headers = people.headers("sales")
    url = f"{URL}/{sales.leads['own']['id']}/convert"
    outside = client.post(url, json={"customer_id": book.peer["id"]}, headers=headers)
    missing = client.post(url, json={"customer_id": MISSING_ID}, headers=headers)
    assert outside.status_code == missing.status_code == 422
    assert outside.json()["error"]["field"] == "body.customer_id"
    linked = client.post(url, json={"customer_id": book.own["id"]}, headers=headers)
    assert linked.status_code == 200
    assert linked.json()["customer_id"] == book.own["id"]
    assert linked.json()["created_customer"] is False
    other = client.post(url, json={"customer_id": book.own["id"] + 0}, headers=headers)
    assert other.status_code == 200
    admin = people.headers("admin")
    into_other = client.post(url, json={"customer_id": book.west["id"]}, headers=admin)
    assert into_other.status_code == 409
    assert into_other.json()["error"]["field"] == "converted_customer_id"
    status = client.patch(
        f"{URL}/{sales.leads['own']['id']}", json={"status": "lost"}, headers=headers
    )
    assert status.status_code == 409


def test_a_failed_conversion_changes_nothing(
    client: TestClient, people: People, book: Book, sales: Sales, db: Session
) -> None:
    headers = people.headers("admin")
    before = _customers(db)
    # the new customer's external id exists already: neither customer nor lead changes
    response = client.post(
        f"{URL}/{sales.leads['pool']['id']}/convert",
        json={"external_id": "C-own"},
        headers=headers,
    )
    assert response.status_code == 409 and response.json()["error"]["field"] == "external_id"
    assert _customers(db) == before
    lead = client.get(f"{URL}/{sales.leads['pool']['id']}", headers=headers).json()
    assert lead["status"] == "new" and lead["converted_customer_id"] is None
