"""Every tickets route × every role: scope (a ticket is visible when its customer is; 404
outside it, identical to a missing ticket), masking for analysts, opening with SLA due
times from the rules, the workflow (409 naming from, to and the allowed statuses), the
status history, assignment, filters, validation and the audit trail."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from rapport.config import load_rules
from rapport.domain import TicketKind, TicketPriority
from rapport.store import tickets
from tests.helpers import audit_entries

from .conftest import MISSING_ID, ROLES, SLA, T0, VISIBLE, Book, People, not_found
from .fixtures_service import visible_customers

URL = "/api/v1/tickets"


@pytest.fixture
def desk(db: Session, book: Book, people: People) -> dict[str, dict[str, Any]]:
    """A ticket per book customer (``west`` is the book's, assigned to the service user) and
    a second, unassigned one of ``west``."""
    out = {"west": tickets.repo.get_by_key(session=db, key="T-west")}
    for name in ("own", "peer", "pool"):
        out[name] = tickets.open_ticket(
            session=db,
            sla=SLA,
            values={
                "external_id": f"T-{name}",
                "customer_id": book.ids()[name],
                "kind": TicketKind.INQUIRY,
                "priority": TicketPriority.NORMAL,
                "subject": "张伟的退款",
                "description": "电话 13812345678",
                "opened_at": T0,
            },
        )
    out["west2"] = tickets.open_ticket(
        session=db,
        sla=SLA,
        values={
            "external_id": "T-west2",
            "customer_id": book.west["id"],
            "kind": TicketKind.SUGGESTION,
            "priority": TicketPriority.LOW,
            "opened_at": T0,
        },
    )
    db.commit()
    return out


def _visible(role: str) -> set[str]:
    names = set(VISIBLE[role])
    return names | ({"west2"} if "west" in names else set())


# --- reads ---------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_list_shows_the_tickets_of_the_customers_in_scope(
    client: TestClient, people: People, desk: dict[str, Any], role: str
) -> None:
    body = client.get(URL, headers=people.headers(role)).json()
    names = {v["id"]: k for k, v in desk.items()}
    assert {names[t["id"]] for t in body["data"]} == _visible(role)
    assert body["count"] == len(_visible(role))
    for ticket in body["data"]:
        assert ticket["masked"] is (role == "analyst")
        if role == "analyst":
            assert ticket["subject"] is None and ticket["description"] is None


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("target", ["own", "peer", "west", "pool"])
def test_get_is_404_outside_the_scope_exactly_like_a_missing_ticket(
    client: TestClient, people: People, desk: dict[str, Any], role: str, target: str
) -> None:
    ticket_id = desk[target]["id"]
    response = client.get(f"{URL}/{ticket_id}", headers=people.headers(role))
    if target in VISIBLE[role]:
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["id"] == ticket_id
        assert [h["to_status"] for h in body["history"]] == ["open"]
        assert body["history"][0]["from_status"] is None
    else:
        assert response.status_code == 404
        assert response.json() == not_found("ticket", ticket_id)
        missing = client.get(f"{URL}/{MISSING_ID}", headers=people.headers(role))
        assert missing.json() == not_found("ticket", MISSING_ID)


def test_filters(client: TestClient, people: People, desk: dict[str, Any], book: Book) -> None:
    headers = people.headers("admin")

    def ids(**params: Any) -> set[int]:
        response = client.get(URL, params=params, headers=headers)
        assert response.status_code == 200, response.text
        return {t["id"] for t in response.json()["data"]}

    assert ids(kind="suggestion") == {desk["west2"]["id"]}
    assert ids(priority="high") == {desk["west"]["id"]}
    assert ids(assignee_id=people.service["id"]) == {desk["west"]["id"]}
    assert ids(customer_id=book.west["id"]) == {desk["west"]["id"], desk["west2"]["id"]}
    assert ids(status="open") == {t["id"] for t in desk.values()}
    assert ids(status="closed") == set()
    bad = client.get(URL, params={"status": "escalated"}, headers=headers)
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "query.status"


def test_pages_with_cursors(client: TestClient, people: People, desk: dict[str, Any]) -> None:
    headers = people.headers("admin")
    first = client.get(URL, params={"limit": 3}, headers=headers).json()
    assert len(first["data"]) == 3 and first["count"] == 5 and first["next_cursor"]
    second = client.get(
        URL, params={"limit": 3, "cursor": first["next_cursor"]}, headers=headers
    ).json()
    assert len(second["data"]) == 2 and second["next_cursor"] is None
    seen = [t["id"] for t in first["data"] + second["data"]]
    assert sorted(seen) == sorted(t["id"] for t in desk.values())


# --- opening -------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_open_by_role_with_sla_due_times_from_the_rules(
    client: TestClient, people: People, book: Book, db: Session, role: str
) -> None:
    target = sorted(VISIBLE[role])[0]
    body = {
        "customer_id": book.ids()[target],
        "kind": "complaint",
        "priority": "urgent",
        "subject": "快递丢失",
        "opened_at": "2024-03-01T09:30:00+08:00",
    }
    response = client.post(URL, json=body, headers=people.headers(role))
    if role == "analyst":
        assert response.status_code == 403
        return
    assert response.status_code == 201, response.text
    ticket = response.json()
    sla = load_rules(people.settings).sla
    opened = dt.datetime(2024, 3, 1, 1, 30, tzinfo=dt.UTC)
    assert dt.datetime.fromisoformat(ticket["opened_at"]) == opened
    first_due = opened + dt.timedelta(hours=sla.first_response_hours[TicketPriority.URGENT])
    resolution_due = opened + dt.timedelta(hours=sla.resolution_hours[TicketPriority.URGENT])
    assert dt.datetime.fromisoformat(ticket["first_response_due_at"]) == first_due
    assert dt.datetime.fromisoformat(ticket["resolution_due_at"]) == resolution_due
    assert ticket["status"] == "open" and ticket["external_id"].startswith("T-")
    assert ticket["history"][0]["changed_by"] == getattr(people, role)["id"]
    assert ticket["assignee_id"] == (people.service["id"] if role == "service" else None)
    entry = audit_entries(db, "create", "tickets")[-1]
    assert entry["entity_id"] == str(ticket["id"])
    assert "快递丢失" not in str(entry["detail"])


@pytest.mark.parametrize("role", ["manager", "sales", "service"])
def test_open_for_a_customer_outside_the_scope_is_like_a_missing_customer(
    client: TestClient, people: People, book: Book, role: str
) -> None:
    outside = sorted(set(book.ids()) - VISIBLE[role])[0]
    answers = []
    for customer_id in (book.ids()[outside], MISSING_ID):
        body = {"customer_id": customer_id, "kind": "inquiry"}
        response = client.post(URL, json=body, headers=people.headers(role))
        assert response.status_code == 422
        error = response.json()["error"]
        assert error["field"] == "body.customer_id"
        answers.append(error["message"].replace(str(customer_id), "N"))
    assert answers[0] == answers[1]


def test_open_assignee_rules(client: TestClient, people: People, book: Book) -> None:
    def post(role: str, **extra: Any) -> Any:
        body = {"customer_id": book.own["id"], "kind": "inquiry", **extra}
        return client.post(URL, json=body, headers=people.headers(role))

    assert post("sales", assignee_id=people.service["id"]).status_code == 403
    assert post("sales", assignee_id=people.sales["id"]).status_code == 201
    assert post("manager", assignee_id=people.service["id"]).status_code == 201
    for bad in (people.analyst["id"], MISSING_ID):
        response = post("admin", assignee_id=bad)
        assert response.status_code == 422
        assert response.json()["error"]["field"] == "body.assignee_id"


def test_open_validation_names_the_field(client: TestClient, people: People, book: Book) -> None:
    headers = people.headers("admin")
    cases = [
        ({"kind": "inquiry"}, "body.customer_id"),
        ({"customer_id": book.own["id"], "kind": "rant"}, "body.kind"),
        ({"customer_id": book.own["id"], "kind": "inquiry", "priority": "p0"}, "body.priority"),
        ({"customer_id": book.own["id"], "kind": "inquiry", "status": "closed"}, "body.status"),
        (
            {"customer_id": book.own["id"], "kind": "inquiry", "opened_at": "2024-03-01T09:30"},
            "body.opened_at",
        ),
        (
            {"customer_id": book.own["id"], "kind": "inquiry", "opened_at": "9999-12-31T00:00Z"},
            "body.opened_at",
        ),
        ({"customer_id": book.own["id"], "kind": "inquiry", "subject": "a\x00b"}, "body.subject"),
    ]
    for body, field in cases:
        response = client.post(URL, json=body, headers=headers)
        assert response.status_code == 422, (body, response.text)
        assert response.json()["error"]["field"] == field, body


def test_duplicate_external_id_is_a_conflict(
    client: TestClient, people: People, desk: dict[str, Any], book: Book
) -> None:
    body = {"customer_id": book.own["id"], "kind": "inquiry", "external_id": "T-own"}
    response = client.post(URL, json=body, headers=people.headers("admin"))
    assert response.status_code == 409
    assert response.json()["error"]["field"] == "external_id"


# --- the workflow --------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("target", ["own", "west", "west2"])
def test_transition_by_role_and_scope(
    client: TestClient,
    people: People,
    desk: dict[str, Any],
    db: Session,
    role: str,
    target: str,
) -> None:
    ticket_id = desk[target]["id"]
    response = client.post(
        f"{URL}/{ticket_id}/transitions",
        json={"to": "in_progress", "note": "已致电客户"},
        headers=people.headers(role),
    )
    if role == "analyst":
        assert response.status_code == 403
    elif target.rstrip("2") not in VISIBLE[role]:
        assert response.status_code == 404
        assert response.json() == not_found("ticket", ticket_id)
    elif role == "service" and target == "west2":  # visible, but not assigned to them
        assert response.status_code == 403
    else:
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["status"] == "in_progress" and body["first_response_at"] is not None
        assert [(h["from_status"], h["to_status"]) for h in body["history"]] == [
            (None, "open"),
            ("open", "in_progress"),
        ]
        assert body["history"][-1]["note"] == "已致电客户"
        assert body["history"][-1]["changed_by"] == getattr(people, role)["id"]
        entry = audit_entries(db, "update", "tickets")[-1]
        assert entry["entity_id"] == str(ticket_id)
        assert entry["detail"]["to"] == "in_progress"


def test_the_workflow_and_illegal_transitions(
    client: TestClient, people: People, desk: dict[str, Any]
) -> None:
    headers = people.headers("admin")
    url = f"{URL}/{desk['own']['id']}/transitions"
    for step in ("in_progress", "waiting_customer", "resolved", "in_progress", "closed"):
        response = client.post(url, json={"to": step}, headers=headers)
        assert response.status_code == 200, (step, response.text)
    body = response.json()
    assert body["status"] == "closed" and body["closed_at"] and body["resolved_at"]
    assert [h["to_status"] for h in body["history"]] == [
        "open",
        "in_progress",
        "waiting_customer",
        "resolved",
        "in_progress",
        "closed",
    ]
    refused = client.post(url, json={"to": "in_progress"}, headers=headers)
    assert refused.status_code == 409
    error = refused.json()["error"]
    assert error["code"] == "conflict"
    assert "from closed to in_progress" in error["message"]
    assert error["hint"] == "allowed next statuses: none"
    url = f"{URL}/{desk['pool']['id']}/transitions"
    same = client.post(url, json={"to": "open"}, headers=headers)
    assert same.status_code == 409
    assert "from open to open" in same.json()["error"]["message"]
    assert same.json()["error"]["hint"] == (
        "allowed next statuses: closed, in_progress, resolved, waiting_customer"
    )
    after = client.get(f"{URL}/{desk['pool']['id']}", headers=headers).json()
    assert len(after["history"]) == 1


def test_transition_validation(client: TestClient, people: People, desk: dict[str, Any]) -> None:
    headers = people.headers("admin")
    url = f"{URL}/{desk['own']['id']}/transitions"
    for body, field in (
        ({"to": "escalated"}, "body.to"),
        ({}, "body.to"),
        ({"to": "closed", "by": 1}, "body.by"),
        ({"to": "closed", "note": "x" * 2001}, "body.note"),
    ):
        response = client.post(url, json=body, headers=headers)
        assert response.status_code == 422, body
        assert response.json()["error"]["field"] == field
    missing = client.post(f"{URL}/{MISSING_ID}/transitions", json={"to": "closed"}, headers=headers)
    assert missing.status_code == 404


def test_analysts_see_no_history_notes(
    client: TestClient, people: People, desk: dict[str, Any]
) -> None:
    url = f"{URL}/{desk['own']['id']}"
    client.post(
        f"{url}/transitions",
        json={"to": "resolved", "note": "退款给张伟"},
        headers=people.headers("admin"),
    )
    body = client.get(url, headers=people.headers("analyst")).json()
    assert body["masked"] is True
    assert [h["note"] for h in body["history"]] == [None, None]
    assert body["history"][-1]["to_status"] == "resolved"


# --- assignment ----------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_assign_by_role(
    client: TestClient, people: People, desk: dict[str, Any], db: Session, role: str
) -> None:
    url = f"{URL}/{desk['own']['id']}/assign"
    response = client.post(
        url, json={"assignee_id": people.service["id"]}, headers=people.headers(role)
    )
    if role not in ("admin", "manager"):
        assert response.status_code == 403
        return
    assert response.status_code == 200, response.text
    assert response.json()["assignee_id"] == people.service["id"]
    assert audit_entries(db, "update", "tickets")[-1]["detail"]["fields"] == ["assignee_id"]
    # the service user now sees the ticket and its customer
    seen = client.get(f"{URL}/{desk['own']['id']}", headers=people.headers("service"))
    assert seen.status_code == 200
    cleared = client.post(url, json={"assignee_id": None}, headers=people.headers(role))
    assert cleared.status_code == 200 and cleared.json()["assignee_id"] is None


def test_assign_outside_the_scope_and_bad_assignees(
    client: TestClient, people: People, desk: dict[str, Any]
) -> None:
    headers = people.headers("manager")
    west = client.post(
        f"{URL}/{desk['west']['id']}/assign", json={"assignee_id": None}, headers=headers
    )
    assert west.status_code == 404
    url = f"{URL}/{desk['own']['id']}/assign"
    for bad in (people.analyst["id"], MISSING_ID):
        response = client.post(url, json={"assignee_id": bad}, headers=headers)
        assert response.status_code == 422
        assert response.json()["error"]["field"] == "body.assignee_id"
    assert client.post(url, json={}, headers=headers).json()["error"]["field"] == (
        "body.assignee_id"
    )


# --- audit ---------------------------------------------------------------------------------


def test_unmasked_reads_are_audited_and_masked_reads_are_not(
    client: TestClient, people: People, desk: dict[str, Any], db: Session
) -> None:
    client.get(f"{URL}/{desk['own']['id']}", headers=people.headers("sales"))
    client.get(URL, headers=people.headers("service"))
    reads = audit_entries(db, "read_pii", "tickets")
    assert [(r["actor"], r["detail"]["route"]) for r in reads] == [
        ("li.na", "get"),
        ("zhao.min", "list"),
    ]
    assert sorted(reads[-1]["detail"]["ids"]) == sorted([desk["west"]["id"], desk["west2"]["id"]])
    before = len(audit_entries(db))
    client.get(URL, headers=people.headers("analyst"))
    client.get(f"{URL}/{desk['own']['id']}", headers=people.headers("analyst"))
    assert len(audit_entries(db)) == before


def test_tickets_of_a_deleted_customer_disappear(
    client: TestClient, people: People, desk: dict[str, Any], book: Book
) -> None:
    headers = people.headers("admin")
    assert client.delete(f"/api/v1/customers/{book.own['id']}", headers=headers).status_code == 204
    assert client.get(f"{URL}/{desk['own']['id']}", headers=headers).status_code == 404
    listed = {t["id"] for t in client.get(URL, headers=headers).json()["data"]}
    assert desk["own"]["id"] not in listed
    assert visible_customers(book, "sales") == {book.own["id"]}
