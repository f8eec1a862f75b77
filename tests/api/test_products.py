"""Products routes × every role: everyone reads the catalogue, administrators and managers
change it (403 for the others), SKUs are unique (409), PATCH changes only the fields sent,
bad input is 422 naming the field, writes are audited."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.helpers import audit_entries

from .conftest import MISSING_ID, ROLES, Book, People, not_found
from .fixtures_sales import Sales, sales

__all__ = ["sales"]

URL = "/api/v1/products"
WRITERS = {"admin", "manager"}


@pytest.mark.parametrize("role", ROLES)
def test_everyone_reads_the_catalogue(
    client: TestClient, people: People, book: Book, sales: Sales, role: str
) -> None:
    headers = people.headers(role)
    listed = client.get(URL, headers=headers)
    assert listed.status_code == 200, listed.text
    assert [p["sku"] for p in listed.json()["data"]] == ["SKU-TEA", "SKU-CUP"]
    assert listed.json()["count"] == 2
    one = client.get(f"{URL}/{sales.products[0]['id']}", headers=headers)
    assert one.status_code == 200
    assert (one.json()["name"], one.json()["price"]) == ("龙井茶", "88.00")
    missing = client.get(f"{URL}/{MISSING_ID}", headers=headers)
    assert missing.status_code == 404 and missing.json() == not_found("product", MISSING_ID)


@pytest.mark.parametrize("role", ROLES)
def test_create_by_role(client: TestClient, people: People, db: Session, role: str) -> None:
    body = {"sku": f"SKU-{role}", "name": "白茶", "price": "66.60", "category": "茶"}
    response = client.post(URL, json=body, headers=people.headers(role))
    if role not in WRITERS:
        assert response.status_code == 403
        return
    assert response.status_code == 201, response.text
    product = response.json()
    assert (product["currency"], product["is_active"], product["price"]) == ("CNY", True, "66.60")
    entry = audit_entries(db, "create")[-1]
    assert (entry["entity"], entry["entity_id"]) == ("products", str(product["id"]))


@pytest.mark.parametrize("role", ROLES)
def test_patch_by_role_changes_only_the_fields_sent(
    client: TestClient, people: People, book: Book, sales: Sales, db: Session, role: str
) -> None:
    url = f"{URL}/{sales.products[1]['id']}"
    response = client.patch(url, json={"is_active": False}, headers=people.headers(role))
    if role not in WRITERS:
        assert response.status_code == 403
        return
    assert response.status_code == 200, response.text
    after = response.json()
    before = sales.products[1]
    assert after["is_active"] is False and after["name"] == before["name"]
    assert after["price"] == "12.50" and after["sku"] == before["sku"]
    assert audit_entries(db, "update")[-1]["detail"]["fields"] == ["is_active"]
    inactive = client.get(URL, params={"active": "false"}, headers=people.headers(role)).json()
    assert [p["sku"] for p in inactive["data"]] == ["SKU-CUP"]


def test_skus_are_unique(client: TestClient, people: People, book: Book, sales: Sales) -> None:
    headers = people.headers("admin")
    again = client.post(URL, json={"sku": "SKU-TEA", "name": "x"}, headers=headers)
    assert again.status_code == 409 and again.json()["error"]["field"] == "sku"
    rename = client.patch(
        f"{URL}/{sales.products[1]['id']}", json={"sku": "SKU-TEA"}, headers=headers
    )
    assert rename.status_code == 409


def test_filter_by_category_and_pages(
    client: TestClient, people: People, book: Book, sales: Sales
) -> None:
    headers = people.headers("manager")
    for i in range(3):
        client.post(URL, json={"sku": f"T-{i}", "name": "茶", "category": "茶"}, headers=headers)
    teas = client.get(URL, params={"category": "茶", "limit": 2}, headers=headers).json()
    assert teas["count"] == 3 and len(teas["data"]) == 2
    rest = client.get(
        URL, params={"category": "茶", "limit": 2, "cursor": teas["next_cursor"]}, headers=headers
    ).json()
    assert [p["sku"] for p in rest["data"]] == ["T-2"] and rest["next_cursor"] is None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "x"}, "body.sku"),
        ({"sku": "A"}, "body.name"),
        ({"sku": "A", "name": "x", "price": "-1"}, "body.price"),
        ({"sku": "A", "name": "x", "price": "1.234"}, "body.price"),
        ({"sku": "A", "name": "x", "currency": "RMB1"}, "body.currency"),
        ({"sku": "A\x00", "name": "x"}, "body.sku"),
        ({"sku": "A", "name": "x", "stock": 5}, "body.stock"),
    ],
)
def test_bad_input_is_422_naming_the_field(
    client: TestClient, people: People, body: dict, field: str
) -> None:
    response = client.post(URL, json=body, headers=people.headers("admin"))
    assert response.status_code == 422, response.text
    assert response.json()["error"]["field"] == field


def test_patch_refuses_null_for_required_fields(
    client: TestClient, people: People, book: Book, sales: Sales
) -> None:
    url = f"{URL}/{sales.products[0]['id']}"
    response = client.patch(url, json={"name": None}, headers=people.headers("admin"))
    assert response.status_code == 422 and response.json()["error"]["field"] == "body.name"
