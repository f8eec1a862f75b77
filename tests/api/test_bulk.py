"""Bulk ingestion of events, orders and interactions: JSON arrays and NDJSON, per-item
results that add up, de-duplication of retried batches, row-level scope (an out-of-scope
customer reads like an unknown one), roles and token scopes, limits."""

from __future__ import annotations

import json
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from rapport.api.routes.bulk import MAX_ITEMS
from rapport.store import schema, tokens
from tests.helpers import count_rows

from .conftest import ROLES, VISIBLE, Book, People

EVENTS = "/api/v1/events/bulk"
ORDERS = "/api/v1/orders/bulk"
INTERACTIONS = "/api/v1/interactions/bulk"


def _event(customer: dict[str, Any] | int, n: int = 0, **extra: Any) -> dict[str, Any]:
    ref = (
        {"customer_id": customer}
        if isinstance(customer, int)
        else {"customer_external_id": customer["external_id"]}
    )
    return {
        **ref,
        "kind": "page_view",
        "occurred_at": f"2024-03-01T10:{n // 60:02d}:{n % 60:02d}Z",
        "session_id": "s-1",
        **extra,
    }


def _ndjson(items: list[Any]) -> bytes:
    return "\n".join(json.dumps(i, ensure_ascii=False) for i in items).encode()


def test_events_from_a_json_array_are_created_and_a_retry_duplicates_nothing(
    client: TestClient, people: People, book: Book, db: Session
) -> None:
    items = [_event(book.own, n) for n in range(5)] + [_event(book.peer["id"], 9)]
    response = client.post(EVENTS, json=items, headers=people.headers("admin"))
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["created"], body["duplicates"], body["failed"]) == (6, 0, 0)
    assert [r["index"] for r in body["results"]] == list(range(6))
    assert all(r["id"] and r["external_id"].startswith("h:") for r in body["results"])
    assert count_rows(db, schema.events) == 6
    again = client.post(EVENTS, json=items, headers=people.headers("admin")).json()
    assert (again["created"], again["duplicates"], again["failed"]) == (0, 6, 0)
    assert [r["id"] for r in again["results"]] == [r["id"] for r in body["results"]]
    assert count_rows(db, schema.events) == 6


def test_ndjson_reports_a_bad_line_by_its_number(
    client: TestClient, people: People, book: Book, db: Session
) -> None:
    lines = [json.dumps(_event(book.own, 1)), "{not json", "", json.dumps(_event(book.own, 2))]
    headers = {**people.headers("admin"), "Content-Type": "application/x-ndjson"}
    response = client.post(EVENTS, content="\n".join(lines).encode(), headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["created"], body["failed"]) == (2, 1)
    bad = body["results"][1]
    assert bad["status"] == "error" and bad["line"] == 2
    assert bad["error"]["field"] == "items[1]"
    assert "line 2" in bad["error"]["message"]
    assert body["results"][2]["line"] == 4


def test_bad_items_are_reported_by_field_path_and_the_rest_is_stored(
    client: TestClient, people: People, book: Book, db: Session
) -> None:
    items: list[Any] = [
        _event(book.own, 1),
        _event(book.own, 2, occurred_at="not a time"),
        _event(book.own, 3, kind="teleport"),
        {"kind": "page_view", "occurred_at": "2024-03-01T10:00:00Z"},
        _event(book.own, 4, dwell_seconds=-1),
        _event(book.own, 5, colour="red"),
        "an event",
        _event(book.own, 6, product_sku="NO-SUCH-SKU"),
        _event(book.own, 7, session_id={"nested": 1}),
        _event(book.own, 1),  # same as the first
    ]
    response = client.post(EVENTS, json=items, headers=people.headers("admin"))
    assert response.status_code == 200, response.text
    body = response.json()
    fields = {r["index"]: (r["error"] or {}).get("field") for r in body["results"]}
    assert fields[1] == "items[1].occurred_at"
    assert fields[2] == "items[2].kind"
    assert fields[3] == "items[3].customer_id"
    assert fields[4] == "items[4].dwell_seconds"
    assert fields[5] == "items[5].colour"
    assert fields[6] == "items[6]"
    assert fields[7] == "items[7].product_sku"
    assert fields[8] == "items[8].session_id"
    assert body["results"][9]["status"] == "duplicate"
    assert body["results"][9]["id"] == body["results"][0]["id"]
    assert (body["created"], body["duplicates"], body["failed"]) == (1, 1, 8)
    assert count_rows(db, schema.events) == 1


@pytest.mark.parametrize("role", ROLES)
def test_each_role_reaches_exactly_its_customers(
    client: TestClient, people: People, book: Book, db: Session, role: str
) -> None:
    names = ("own", "peer", "west", "pool")
    items = [_event(getattr(book, name), n) for n, name in enumerate(names)]
    items.append(_event(987_654, 9))
    response = client.post(EVENTS, json=items, headers=people.headers(role))
    if role in ("service", "analyst"):
        assert response.status_code == 403
        return
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    for n, name in enumerate(names):
        expected = "created" if name in VISIBLE[role] else "error"
        assert results[n]["status"] == expected, (role, name)
        if expected == "error":  # exactly like an unknown customer
            assert results[n]["error"]["message"] == (
                f"no customer with external_id {getattr(book, name)['external_id']!r}"
            )
    assert results[4]["error"] == {"field": "items[4].customer_id",
                                   "message": "no customer with id 987654"}  # fmt: skip


def test_customer_ids_out_of_scope_read_like_missing_ones(
    client: TestClient, people: People, book: Book
) -> None:
    items = [_event(book.west["id"], 1), _event(987_654, 2)]
    results = client.post(EVENTS, json=items, headers=people.headers("sales")).json()["results"]
    assert results[0]["error"]["message"] == f"no customer with id {book.west['id']}"
    assert results[1]["error"]["message"] == "no customer with id 987654"


def test_orders_in_bulk(client: TestClient, people: People, book: Book, db: Session) -> None:
    order = {
        "external_id": "O-1",
        "customer_external_id": "C-own",
        "status": "completed",
        "ordered_at": "2024-03-01T10:00:00+08:00",
        "net_amount": "99.50",
        "currency": "CNY",
        "extra": {"coupon": "春节"},
    }
    items = [order, {**order, "external_id": "O-2", "net_amount": -1}, {**order}]
    response = client.post(ORDERS, json=items, headers=people.headers("sales"))
    assert response.status_code == 200, response.text
    body = response.json()
    assert [r["status"] for r in body["results"]] == ["created", "error", "duplicate"]
    assert body["results"][1]["error"]["field"] == "items[1].net_amount"
    row = db.execute(sa.select(schema.orders)).mappings().one()
    assert row["external_id"] == "O-1" and float(row["net_amount"]) == 99.5
    assert row["extra"] == {"coupon": "春节"}
    assert row["customer_id"] == book.own["id"]
    again = client.post(ORDERS, json=[order], headers=people.headers("sales")).json()
    assert again["duplicates"] == 1 and again["results"][0]["id"] == row["id"]


def test_interactions_in_bulk_as_ndjson(
    client: TestClient, people: People, book: Book, db: Session
) -> None:
    item = {
        "customer_id": book.own["id"],
        "channel": "phone",
        "direction": "outbound",
        "occurred_at": "2024-03-01T10:00:00Z",
        "staff_username": "li.na",
        "subject": "回访",
    }
    headers = {**people.headers("manager"), "Content-Type": "application/x-ndjson"}
    body = client.post(INTERACTIONS, content=_ndjson([item, item]), headers=headers).json()
    assert [r["status"] for r in body["results"]] == ["created", "duplicate"]
    row = db.execute(sa.select(schema.interactions)).mappings().one()
    assert row["staff_id"] == people.sales["id"] and row["subject"] == "回访"


def test_api_tokens_need_the_write_scope_of_the_resource(
    client: TestClient, people: People, book: Book, db: Session
) -> None:
    def token(scopes: list[str]) -> dict[str, str]:
        secret, _ = tokens.issue(session=db, user_id=people.admin["id"], name="t", scopes=scopes)
        db.commit()
        return {"Authorization": f"Bearer {secret}"}

    items = [_event(book.own, 1)]
    assert client.post(EVENTS, json=items, headers=token(["orders:write"])).status_code == 403
    assert client.post(EVENTS, json=items, headers=token(["events:write"])).status_code == 200


def test_whole_body_problems(client: TestClient, people: People, book: Book) -> None:
    headers = people.headers("admin")
    assert client.post(EVENTS, json={"kind": "x"}, headers=headers).status_code == 422
    bad = client.post(
        EVENTS, content=b"[{", headers={**headers, "Content-Type": "application/json"}
    )
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "body"
    text = client.post(EVENTS, content=b"x", headers={**headers, "Content-Type": "text/plain"})
    assert text.status_code == 415
    many = client.post(EVENTS, json=[{}] * (MAX_ITEMS + 1), headers=headers)
    assert many.status_code == 413 and many.json()["error"]["code"] == "too_many_items"
    empty = client.post(EVENTS, json=[], headers=headers).json()
    assert empty == {"created": 0, "duplicates": 0, "failed": 0, "results": []}


def test_unauthenticated_is_401(client: TestClient) -> None:
    assert client.post(EVENTS, json=[]).status_code == 401
