"""Every events route × every role: one customer's events (404 outside the scope, exactly
like a missing customer), properties removed for analysts, recording one event,
validation naming the field, and the audit trail."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from rapport.domain import EventKind
from rapport.store import events
from tests.helpers import audit_entries

from .conftest import MISSING_ID, ROLES, T0, VISIBLE, Book, People

URL = "/api/v1/events"


@pytest.fixture
def clicks(db: Session, book: Book) -> dict[str, int]:
    for customer_id in book.ids().values():
        for kind in (EventKind.PAGE_VIEW, EventKind.ADD_TO_CART):
            events.repo.create(
                session=db,
                values={
                    "customer_id": customer_id,
                    "kind": kind,
                    "occurred_at": T0,
                    "properties": {"url": "/p/1", "phone": "13812345678"},
                },
            )
    db.commit()
    return book.ids()


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("target", ["own", "peer", "west", "pool"])
def test_list_of_a_customer_by_role_and_scope(
    client: TestClient, people: People, clicks: dict[str, int], role: str, target: str
) -> None:
    customer_id = clicks[target]
    response = client.get(URL, params={"customer_id": customer_id}, headers=people.headers(role))
    if target not in VISIBLE[role]:
        assert response.status_code == 404
        missing = client.get(URL, params={"customer_id": MISSING_ID}, headers=people.headers(role))
        assert missing.status_code == 404
        body, other = response.json()["error"], missing.json()["error"]
        assert body["message"].replace(str(customer_id), "N") == other["message"].replace(
            str(MISSING_ID), "N"
        )
        return
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["count"] == 2 and {e["customer_id"] for e in body["data"]} == {customer_id}
    for event in body["data"]:
        assert event["masked"] is (role == "analyst")
        assert event["properties"] == (
            None if role == "analyst" else {"url": "/p/1", "phone": "13812345678"}
        )


def test_list_filters_and_pages(client: TestClient, people: People, clicks: dict[str, int]) -> None:
    headers = people.headers("admin")
    own = clicks["own"]

    def get(**params: Any) -> dict[str, Any]:
        response = client.get(URL, params={"customer_id": own, **params}, headers=headers)
        assert response.status_code == 200, response.text
        return response.json()

    assert get(kind="add_to_cart")["count"] == 1
    assert get(since="2024-03-01T09:30:00Z")["count"] == 2
    assert get(since="2024-03-01T09:30:01Z")["count"] == 0
    assert get(until="2024-03-01T09:30:00Z")["count"] == 0
    first = get(limit=1)
    assert len(first["data"]) == 1 and first["next_cursor"]
    second = get(limit=1, cursor=first["next_cursor"])
    assert second["next_cursor"] is None and second["data"][0]["id"] > first["data"][0]["id"]
    for params, field in (
        ({}, "query.customer_id"),
        ({"customer_id": own, "kind": "stare"}, "query.kind"),
        ({"customer_id": own, "since": "2024-03-01T09:30:00"}, "query.since"),
    ):
        response = client.get(URL, params=params, headers=headers)
        assert response.status_code == 422 and response.json()["error"]["field"] == field


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("target", ["own", "west"])
def test_create_by_role_and_scope(
    client: TestClient, people: People, book: Book, db: Session, role: str, target: str
) -> None:
    body = {
        "customer_id": book.ids()[target],
        "kind": "product_view",
        "occurred_at": "2024-03-02T10:00:00+08:00",
        "dwell_seconds": 12.5,
        "properties": {"sku": "SKU-1", "来源": "小程序"},
    }
    response = client.post(URL, json=body, headers=people.headers(role))
    if role in ("service", "analyst"):
        assert response.status_code == 403
    elif target not in VISIBLE[role]:
        assert response.status_code == 422
        assert response.json()["error"]["field"] == "body.customer_id"
    else:
        assert response.status_code == 201, response.text
        created = response.json()
        assert created["occurred_at"].startswith("2024-03-02T02:00:00")
        assert created["properties"] == {"sku": "SKU-1", "来源": "小程序"}
        assert audit_entries(db, "create", "events")[-1]["entity_id"] == str(created["id"])


def test_create_validation_names_the_field(client: TestClient, people: People, book: Book) -> None:
    headers = people.headers("admin")
    base = {"customer_id": book.own["id"], "kind": "login"}
    for body, field in (
        ({**base, "kind": "stare"}, "body.kind"),
        ({**base, "dwell_seconds": -1}, "body.dwell_seconds"),
        ({**base, "occurred_at": "2024-03-02T10:00:00"}, "body.occurred_at"),
        ({**base, "properties": [1, 2]}, "body.properties"),
        ({**base, "session_id": "x" * 65}, "body.session_id"),
        ({**base, "ip": "1.2.3.4"}, "body.ip"),
        ({"kind": "login"}, "body.customer_id"),
    ):
        response = client.post(URL, json=body, headers=headers)
        assert response.status_code == 422, body
        assert response.json()["error"]["field"] == field
    for field in ("product_id", "campaign_id"):
        response = client.post(URL, json={**base, field: MISSING_ID}, headers=headers)
        assert response.status_code == 422 and response.json()["error"]["field"] == field
    created = client.post(URL, json={**base, "external_id": "EV-1"}, headers=headers)
    assert created.status_code == 201 and created.json()["occurred_at"]
    again = client.post(URL, json={**base, "external_id": "EV-1"}, headers=headers)
    assert again.status_code == 409 and again.json()["error"]["field"] == "external_id"


def test_reads_are_audited_unless_masked(
    client: TestClient, people: People, clicks: dict[str, int], db: Session
) -> None:
    client.get(URL, params={"customer_id": clicks["own"]}, headers=people.headers("sales"))
    entry = audit_entries(db, "read_pii", "events")[-1]
    assert entry["actor"] == "li.na" and entry["detail"]["count"] == 2
    before = len(audit_entries(db))
    client.get(URL, params={"customer_id": clicks["own"]}, headers=people.headers("analyst"))
    assert len(audit_entries(db)) == before
