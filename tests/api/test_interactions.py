"""Every interactions route × every role: scope (only interactions with customers in
scope; recording one for another customer answers like a missing customer), masking for
analysts, the staff member, filters, validation and the audit trail."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from rapport.domain import Direction, InteractionChannel
from rapport.store import interactions
from tests.helpers import audit_entries

from .conftest import MISSING_ID, ROLES, T0, VISIBLE, Book, People

URL = "/api/v1/interactions"


@pytest.fixture
def calls(db: Session, book: Book, people: People) -> dict[str, dict[str, Any]]:
    out = {
        name: interactions.repo.create(
            session=db,
            values={
                "customer_id": customer_id,
                "channel": InteractionChannel.PHONE,
                "direction": Direction.INBOUND,
                "occurred_at": T0,
                "staff_id": people.sales["id"],
                "subject": "张伟来电",
                "summary": "询问订单",
            },
        )
        for name, customer_id in book.ids().items()
    }
    db.commit()
    return out


@pytest.mark.parametrize("role", ROLES)
def test_list_shows_the_interactions_of_customers_in_scope(
    client: TestClient, people: People, calls: dict[str, Any], role: str
) -> None:
    response = client.get(URL, headers=people.headers(role))
    assert response.status_code == 200, response.text
    body = response.json()
    names = {v["id"]: k for k, v in calls.items()}
    assert {names[i["id"]] for i in body["data"]} == VISIBLE[role]
    assert body["count"] == len(VISIBLE[role])
    for item in body["data"]:
        assert item["masked"] is (role == "analyst")
        expected = (None, None) if role == "analyst" else ("张伟来电", "询问订单")
        assert (item["subject"], item["summary"]) == expected


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("target", ["own", "west"])
def test_create_by_role_and_scope(
    client: TestClient, people: People, book: Book, db: Session, role: str, target: str
) -> None:
    body = {
        "customer_id": book.ids()[target],
        "channel": "chat",
        "direction": "outbound",
        "subject": "回访",
        "duration_seconds": 120,
    }
    response = client.post(URL, json=body, headers=people.headers(role))
    if role == "analyst":
        assert response.status_code == 403
    elif target not in VISIBLE[role]:
        assert response.status_code == 422
        error = response.json()["error"]
        assert error["field"] == "body.customer_id"
        missing = client.post(
            URL, json={**body, "customer_id": MISSING_ID}, headers=people.headers(role)
        ).json()["error"]
        assert error["message"].replace(str(body["customer_id"]), "N") == missing[
            "message"
        ].replace(str(MISSING_ID), "N")
    else:
        assert response.status_code == 201, response.text
        created = response.json()
        assert created["staff_id"] == getattr(people, role)["id"]
        assert created["occurred_at"] and created["subject"] == "回访"
        entry = audit_entries(db, "create", "interactions")[-1]
        assert entry["entity_id"] == str(created["id"])
        assert "回访" not in str(entry["detail"])


def test_staff_member_rules(client: TestClient, people: People, book: Book) -> None:
    body = {"customer_id": book.own["id"], "channel": "phone", "direction": "inbound"}
    other = {**body, "staff_id": people.sales_peer["id"]}
    assert client.post(URL, json=other, headers=people.headers("sales")).status_code == 403
    by_manager = client.post(URL, json=other, headers=people.headers("manager"))
    assert by_manager.status_code == 201
    assert by_manager.json()["staff_id"] == people.sales_peer["id"]
    unknown = client.post(
        URL, json={**body, "staff_id": MISSING_ID}, headers=people.headers("admin")
    )
    assert unknown.status_code == 422 and unknown.json()["error"]["field"] == "staff_id"


def test_filters_and_pages(
    client: TestClient, people: People, book: Book, calls: dict[str, Any]
) -> None:
    headers = people.headers("admin")
    client.post(
        URL,
        json={"customer_id": book.own["id"], "channel": "email", "direction": "outbound"},
        headers=headers,
    )

    def count(**params: Any) -> int:
        response = client.get(URL, params=params, headers=headers)
        assert response.status_code == 200, response.text
        return response.json()["count"]

    assert count(customer_id=book.own["id"]) == 2
    assert count(channel="email") == 1
    assert count(direction="inbound") == 4
    assert count(staff_id=people.admin["id"]) == 1
    first = client.get(URL, params={"limit": 3}, headers=headers).json()
    second = client.get(
        URL, params={"limit": 3, "cursor": first["next_cursor"]}, headers=headers
    ).json()
    assert len(first["data"]) == 3 and len(second["data"]) == 2
    assert second["next_cursor"] is None


def test_validation_names_the_field(client: TestClient, people: People, book: Book) -> None:
    headers = people.headers("admin")
    base = {"customer_id": book.own["id"], "channel": "phone", "direction": "inbound"}
    for body, field in (
        ({**base, "channel": "fax"}, "body.channel"),
        ({**base, "direction": "sideways"}, "body.direction"),
        ({**base, "duration_seconds": -1}, "body.duration_seconds"),
        ({**base, "occurred_at": "2024-03-01T09:00:00"}, "body.occurred_at"),
        ({**base, "extra": {"a": "\x00"}}, "body.extra"),
        ({**base, "mood": "happy"}, "body.mood"),
        ({"channel": "phone", "direction": "inbound"}, "body.customer_id"),
    ):
        response = client.post(URL, json=body, headers=headers)
        assert response.status_code == 422, body
        assert response.json()["error"]["field"] == field
    bad = client.get(URL, params={"channel": "fax"}, headers=headers)
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "query.channel"


def test_a_chat_without_direction_is_of_unknown_direction(
    client: TestClient, people: People, book: Book
) -> None:
    body = {"customer_id": book.own["id"], "channel": "chat"}
    created = client.post(URL, json=body, headers=people.headers("admin"))
    assert created.status_code == 201, created.text
    assert created.json()["direction"] == "unknown"


def test_duplicate_external_id_is_a_conflict(
    client: TestClient, people: People, book: Book
) -> None:
    body = {
        "customer_id": book.own["id"],
        "channel": "phone",
        "direction": "inbound",
        "external_id": "CALL-1",
    }
    assert client.post(URL, json=body, headers=people.headers("admin")).status_code == 201
    again = client.post(URL, json=body, headers=people.headers("admin"))
    assert again.status_code == 409 and again.json()["error"]["field"] == "external_id"


def test_unmasked_reads_are_audited_and_masked_reads_are_not(
    client: TestClient, people: People, calls: dict[str, Any], db: Session
) -> None:
    client.get(URL, headers=people.headers("sales"))
    entry = audit_entries(db, "read_pii", "interactions")[-1]
    assert entry["actor"] == "li.na" and entry["entity_id"] == str(calls["own"]["id"])
    before = len(audit_entries(db))
    client.get(URL, headers=people.headers("analyst"))
    assert len(audit_entries(db)) == before
