"""Orders routes × every role: the orders of customers in scope only (404 outside it,
identical to a missing order; absent from lists), analysts without personal data, create
with items (validated, all or nothing), the status and refund rules of PATCH, filters,
pages, bad input (422 naming the field) and the audit trail."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from rapport.store import schema
from tests.helpers import audit_entries, count_rows

from .conftest import MISSING_ID, ROLES, VISIBLE, Book, People, not_found
from .fixtures_sales import TARGETS, Sales, sales

__all__ = ["sales"]

URL = "/api/v1/orders"
WRITERS = {"admin", "manager", "sales"}


def _order_names(sales: Sales) -> dict[int, str]:
    return {o["id"]: k for k, o in sales.orders.items()}


def _new_order(customer_id: int, external_id: str = "SO-new", **extra: Any) -> dict[str, Any]:
    return {
        "external_id": external_id,
        "customer_id": customer_id,
        "ordered_at": "2024-05-01T10:00:00+08:00",
        "channel": "wechat",
        "items": [
            {"product_id": extra.pop("product_id", 0) or 1, "quantity": 3, "unit_price": "88.00"},
        ],
        **extra,
    }


# --- reads ---------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_list_shows_the_orders_of_the_customers_in_scope(
    client: TestClient, people: People, book: Book, sales: Sales, role: str
) -> None:
    response = client.get(URL, headers=people.headers(role))
    assert response.status_code == 200, response.text
    body = response.json()
    assert {_order_names(sales)[o["id"]] for o in body["data"]} == VISIBLE[role]
    assert body["count"] == len(VISIBLE[role])
    for order in body["data"]:
        assert order["net_amount"] == "188.50"
        if role == "analyst":
            assert order["extra"] is None
        else:
            assert order["extra"] == {"收货人": "张伟"}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("target", TARGETS)
def test_get_one_is_404_outside_the_scope_exactly_like_a_missing_order(
    client: TestClient, people: People, book: Book, sales: Sales, role: str, target: str
) -> None:
    order_id = sales.orders[target]["id"]
    response = client.get(f"{URL}/{order_id}", headers=people.headers(role))
    if target not in VISIBLE[role]:
        assert response.status_code == 404
        assert response.json() == not_found("order", order_id)
        missing = client.get(f"{URL}/{MISSING_ID}", headers=people.headers(role))
        assert missing.status_code == 404 and missing.json() == not_found("order", MISSING_ID)
        return
    assert response.status_code == 200, response.text
    order = response.json()
    assert [(i["line_no"], i["quantity"], i["net_amount"]) for i in order["items"]] == [
        (1, 2, "176.00"),
        (2, 1, "12.50"),
    ]
    customer = order["customer"]
    assert customer["id"] == book.ids()[target]
    if role == "analyst":
        assert customer["masked"] is True and customer["name"].endswith("*")
        assert order["extra"] is None
    else:
        assert customer["masked"] is False and customer["name"] == getattr(book, target)["name"]


def test_sales_cannot_reach_another_owners_orders(
    client: TestClient, people: People, book: Book, sales: Sales
) -> None:
    headers = people.headers("sales")
    listed = client.get(URL, params={"customer_id": book.peer["id"]}, headers=headers).json()
    assert listed == {"data": [], "count": 0, "next_cursor": None}
    patched = client.patch(
        f"{URL}/{sales.orders['peer']['id']}", json={"status": "cancelled"}, headers=headers
    )
    assert patched.status_code == 404
    assert patched.json() == not_found("order", sales.orders["peer"]["id"])


def test_filters_by_customer_status_and_time(
    client: TestClient, people: People, book: Book, sales: Sales
) -> None:
    headers = people.headers("admin")

    def names(**params: Any) -> set[str]:
        body = client.get(URL, params=params, headers=headers).json()
        return {_order_names(sales)[o["id"]] for o in body["data"]}

    assert names(customer_id=book.west["id"]) == {"west"}
    assert names(status="completed") == set(TARGETS)
    assert names(status="refunded") == set()
    # ordered on T0 + 0, 1, 2, 3 days (2024-03-01 09:30 UTC onwards)
    assert names(ordered_from="2024-03-02T09:30:00Z") == {"west", "pool", "peer"}
    assert names(ordered_from="2024-03-02T00:00:00Z", ordered_to="2024-03-03T09:30:00Z") == {"peer"}
    bad = client.get(URL, params={"ordered_from": "2024-03-02T00:00:00"}, headers=headers)
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "query.ordered_from"
    bad = client.get(URL, params={"status": "lost_in_post"}, headers=headers)
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "query.status"


def test_pages_with_cursors(client: TestClient, people: People, book: Book, sales: Sales) -> None:
    headers = people.headers("admin")
    first = client.get(URL, params={"limit": 3}, headers=headers).json()
    assert len(first["data"]) == 3 and first["count"] == 4 and first["next_cursor"]
    second = client.get(
        URL, params={"limit": 3, "cursor": first["next_cursor"]}, headers=headers
    ).json()
    assert len(second["data"]) == 1 and second["next_cursor"] is None
    ids = [o["id"] for o in first["data"] + second["data"]]
    assert ids == sorted(ids) and set(ids) == set(_order_names(sales))


def test_unmasked_reads_are_audited_and_masked_reads_are_not(
    client: TestClient, people: People, book: Book, sales: Sales, db: Session
) -> None:
    order_id = sales.orders["own"]["id"]
    client.get(f"{URL}/{order_id}", headers=people.headers("sales"))
    entry = audit_entries(db, "read_pii")[-1]
    assert (entry["entity"], entry["entity_id"], entry["actor"]) == (
        "orders",
        str(order_id),
        "li.na",
    )
    before = len(audit_entries(db))
    client.get(f"{URL}/{order_id}", headers=people.headers("analyst"))
    client.get(URL, headers=people.headers("analyst"))
    assert len(audit_entries(db)) == before


# --- create --------------------------------------------------------------------------------


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
    customer_id = book.ids()[target]
    before = count_rows(db, schema.orders)
    body = _new_order(customer_id, product_id=sales.products[0]["id"], discount_amount="14.00")
    response = client.post(URL, json=body, headers=people.headers(role))
    if role not in WRITERS:
        assert response.status_code == 403
    elif target not in VISIBLE[role]:
        assert response.status_code == 422
        error = response.json()["error"]
        assert error["field"] == "body.customer_id"
        assert error["message"] == f"body.customer_id: no customer with id {customer_id}"
    else:
        assert response.status_code == 201, response.text
        order = response.json()
        assert order["status"] == "completed" and order["currency"] == "CNY"
        assert order["net_amount"] == "250.00"  # 3 × 88.00 − 14.00
        assert order["ordered_at"].startswith("2024-05-01T02:00:00")
        assert [(i["line_no"], i["net_amount"]) for i in order["items"]] == [(1, "264.00")]
        entry = audit_entries(db, "create")[-1]
        assert (entry["entity"], entry["entity_id"]) == ("orders", str(order["id"]))
        assert "items" in entry["detail"]["fields"]
        return
    assert count_rows(db, schema.orders) == before


def test_an_outside_customer_is_refused_like_a_missing_one(
    client: TestClient, people: People, book: Book, sales: Sales
) -> None:
    headers = people.headers("sales")
    product_id = sales.products[0]["id"]
    outside = client.post(
        URL, json=_new_order(book.peer["id"], "SO-a", product_id=product_id), headers=headers
    )
    missing = client.post(
        URL, json=_new_order(MISSING_ID, "SO-b", product_id=product_id), headers=headers
    )
    assert outside.status_code == missing.status_code == 422
    assert outside.json()["error"]["message"].replace(str(book.peer["id"]), "N") == missing.json()[
        "error"
    ]["message"].replace(str(MISSING_ID), "N")


def test_create_is_all_or_nothing_and_external_ids_are_unique(
    client: TestClient, people: People, book: Book, sales: Sales, db: Session
) -> None:
    headers = people.headers("admin")
    orders_before, items_before = count_rows(db, schema.orders), count_rows(db, schema.order_items)
    body = _new_order(book.own["id"], "SO-bad")
    body["items"] = [
        {"product_id": sales.products[0]["id"], "quantity": 1, "unit_price": "1.00"},
        {"product_id": MISSING_ID, "quantity": 1, "unit_price": "1.00"},
    ]
    bad = client.post(URL, json=body, headers=headers)
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "body.items.1.product_id"
    assert (count_rows(db, schema.orders), count_rows(db, schema.order_items)) == (
        orders_before,
        items_before,
    )
    again = _new_order(book.own["id"], "SO-own", product_id=sales.products[0]["id"])
    duplicate = client.post(URL, json=again, headers=headers)
    assert duplicate.status_code == 409
    assert duplicate.json()["error"]["field"] == "external_id"
    assert count_rows(db, schema.orders) == orders_before


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"items": [], "net_amount": None}, "body.net_amount"),
        ({"net_amount": "-1"}, "body.net_amount"),
        ({"net_amount": "1.005"}, "body.net_amount"),
        ({"net_amount": "NaN"}, "body.net_amount"),
        ({"ordered_at": "2024-05-01T10:00:00"}, "body.ordered_at"),
        ({"status": "lost_in_post"}, "body.status"),
        ({"currency": "YUAN"}, "body.currency"),
        ({"customer_id": 0}, "body.customer_id"),
        ({"customer_id": 2**40}, "body.customer_id"),
        ({"items": [{"product_id": 1, "quantity": 0, "unit_price": "1"}]}, "body.items.0.quantity"),
        ({"extra": {"a": "\x00"}}, "body.extra"),
        ({"tax": "1.00"}, "body.tax"),
    ],
)
def test_bad_input_is_422_naming_the_field(
    client: TestClient, people: People, book: Book, sales: Sales, change: dict, field: str
) -> None:
    body = {**_new_order(book.own["id"], "SO-x", product_id=sales.products[0]["id"]), **change}
    body = {k: v for k, v in body.items() if v is not None}
    response = client.post(URL, json=body, headers=people.headers("admin"))
    assert response.status_code == 422, response.text
    assert response.json()["error"]["field"] == field


# --- patch ---------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("target", ["own", "west"])
def test_patch_status_by_role_and_scope(
    client: TestClient, people: People, book: Book, sales: Sales, role: str, target: str
) -> None:
    order_id = sales.orders[target]["id"]
    response = client.patch(
        f"{URL}/{order_id}", json={"status": "refunded"}, headers=people.headers(role)
    )
    if role not in WRITERS:
        assert response.status_code == 403
    elif target not in VISIBLE[role]:
        assert response.status_code == 404
        assert response.json() == not_found("order", order_id)
    else:
        assert response.status_code == 200, response.text
        order = response.json()
        assert (order["status"], order["refunded_amount"], order["net_amount"]) == (
            "refunded",
            "188.50",
            "0.00",
        )


def test_partial_refunds_grow_up_to_what_was_paid(
    client: TestClient, people: People, book: Book, sales: Sales, db: Session
) -> None:
    headers = people.headers("manager")
    url = f"{URL}/{sales.orders['own']['id']}"
    partial = client.patch(url, json={"refunded_amount": "50.00"}, headers=headers).json()
    assert (partial["status"], partial["refunded_amount"], partial["net_amount"]) == (
        "completed",
        "50.00",
        "138.50",
    )
    assert audit_entries(db, "update")[-1]["detail"]["fields"] == ["net_amount", "refunded_amount"]
    back = client.patch(url, json={"refunded_amount": "20.00"}, headers=headers)
    assert back.status_code == 409 and back.json()["error"]["field"] == "refunded_amount"
    too_much = client.patch(url, json={"refunded_amount": "188.51"}, headers=headers)
    assert too_much.status_code == 422
    assert too_much.json()["error"]["field"] == "body.refunded_amount"
    full = client.patch(url, json={"status": "refunded"}, headers=headers).json()
    assert (full["refunded_amount"], full["net_amount"]) == ("188.50", "0.00")
    again = client.patch(url, json={"status": "completed"}, headers=headers)
    assert again.status_code == 409 and again.json()["error"]["field"] == "status"


def test_cancelled_is_final_and_has_nothing_to_refund(
    client: TestClient, people: People, book: Book, sales: Sales
) -> None:
    headers = people.headers("admin")
    url = f"{URL}/{sales.orders['pool']['id']}"
    body = {"status": "cancelled", "store": "杭州西湖店"}
    cancelled = client.patch(url, json=body, headers=headers)
    assert cancelled.status_code == 200
    assert (cancelled.json()["status"], cancelled.json()["store"]) == ("cancelled", "杭州西湖店")
    assert client.patch(url, json={"status": "cancelled"}, headers=headers).status_code == 200
    refund = client.patch(url, json={"refunded_amount": "1.00"}, headers=headers)
    assert refund.status_code == 409
    assert client.patch(url, json={"status": "refunded"}, headers=headers).status_code == 409


def test_an_order_follows_a_shop_workflow_and_a_declined_refund_goes_back(
    client: TestClient, people: People, book: Book, sales: Sales
) -> None:
    headers = people.headers("admin")
    url = f"{URL}/{sales.orders['own']['id']}"
    assert client.patch(url, json={"status": "refunding"}, headers=headers).status_code == 200
    # the refund was declined: the order is a purchase again, nothing was refunded
    back = client.patch(url, json={"status": "completed"}, headers=headers).json()
    assert (back["status"], back["refunded_amount"]) == ("completed", "0.00")
    # a completed order never goes back to pending or shipped
    for status in ("pending", "paid", "shipped"):
        refused = client.patch(url, json={"status": status}, headers=headers)
        assert refused.status_code == 409, status
        assert "refunding" in refused.json()["error"]["hint"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"customer_id": 1}, "body.customer_id"),
        ({"net_amount": "1.00"}, "body.net_amount"),
        ({"items": []}, "body.items"),
        ({"status": None}, "body.status"),
        ({"refunded_amount": "-1"}, "body.refunded_amount"),
    ],
)
def test_what_is_not_patchable_is_422(
    client: TestClient, people: People, book: Book, sales: Sales, body: dict, field: str
) -> None:
    url = f"{URL}/{sales.orders['own']['id']}"
    response = client.patch(url, json=body, headers=people.headers("admin"))
    assert response.status_code == 422, response.text
    assert response.json()["error"]["field"] == field


def test_huge_ids_are_404(client: TestClient, people: People, sales: Sales) -> None:
    headers = people.headers("admin")
    assert client.get(f"{URL}/{2**40}", headers=headers).status_code == 404
    patched = client.patch(f"{URL}/{2**40}", json={"store": "x"}, headers=headers)
    assert patched.status_code == 404
