"""Every surveys route × every role: scope, masking of comments for analysts, default
scales by kind, scores on the scale, tickets of the same customer, validation naming the
field, and the audit trail."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from rapport.domain import SurveyKind
from rapport.store import surveys, tickets
from tests.helpers import audit_entries

from .conftest import MISSING_ID, ROLES, T0, VISIBLE, Book, People

URL = "/api/v1/surveys"


@pytest.fixture
def answers(db: Session, book: Book) -> dict[str, dict[str, Any]]:
    out = {
        name: surveys.repo.create(
            session=db,
            values={
                "customer_id": customer_id,
                "kind": SurveyKind.NPS,
                "score": 9,
                "scale_min": 0,
                "scale_max": 10,
                "comment": "客服张伟很好",
                "responded_at": T0,
            },
        )
        for name, customer_id in book.ids().items()
    }
    db.commit()
    return out


@pytest.mark.parametrize("role", ROLES)
def test_list_shows_the_answers_of_customers_in_scope(
    client: TestClient, people: People, answers: dict[str, Any], role: str
) -> None:
    response = client.get(URL, headers=people.headers(role))
    assert response.status_code == 200, response.text
    body = response.json()
    names = {v["id"]: k for k, v in answers.items()}
    assert {names[a["id"]] for a in body["data"]} == VISIBLE[role]
    assert body["count"] == len(VISIBLE[role])
    for item in body["data"]:
        assert item["masked"] is (role == "analyst")
        assert item["comment"] == (None if role == "analyst" else "客服张伟很好")
        assert item["score"] == 9


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("target", ["own", "west"])
def test_create_by_role_and_scope(
    client: TestClient, people: People, book: Book, db: Session, role: str, target: str
) -> None:
    body = {"customer_id": book.ids()[target], "kind": "csat", "score": 4, "comment": "不错"}
    response = client.post(URL, json=body, headers=people.headers(role))
    if role == "analyst":
        assert response.status_code == 403
    elif target not in VISIBLE[role]:
        assert response.status_code == 422
        assert response.json()["error"]["field"] == "body.customer_id"
    else:
        assert response.status_code == 201, response.text
        created = response.json()
        assert (created["scale_min"], created["scale_max"]) == (1, 5)
        assert created["responded_at"]
        entry = audit_entries(db, "create", "survey_responses")[-1]
        assert entry["entity_id"] == str(created["id"])
        assert "不错" not in str(entry["detail"])


@pytest.mark.parametrize(
    ("kind", "scale"),
    [("csat", (1, 5)), ("nps", (0, 10)), ("ces", (1, 7)), ("expectation", (1, 7))],
)
def test_default_scale_by_kind(
    client: TestClient, people: People, book: Book, kind: str, scale: tuple[int, int]
) -> None:
    body = {"customer_id": book.own["id"], "kind": kind, "score": scale[1]}
    created = client.post(URL, json=body, headers=people.headers("admin")).json()
    assert (created["scale_min"], created["scale_max"]) == scale


def test_score_and_scale_rules(client: TestClient, people: People, book: Book) -> None:
    headers = people.headers("admin")
    base = {"customer_id": book.own["id"], "kind": "nps"}
    for body, field in (
        ({**base, "score": 11}, "body.score"),
        ({**base, "score": -1}, "body.score"),
        ({**base, "score": 3, "scale_min": 5, "scale_max": 5}, "body.scale_max"),
        ({**base, "score": "Infinity"}, "body.score"),
        ({**base, "score": 3, "kind": "wow"}, "body.kind"),
        ({**base, "score": 3, "responded_at": "yesterday"}, "body.responded_at"),
        ({**base, "score": 3, "answer": 3}, "body.answer"),
        ({"kind": "nps", "score": 3}, "body.customer_id"),
    ):
        response = client.post(URL, json=body, headers=headers)
        assert response.status_code == 422, (body, response.text)
        assert response.json()["error"]["field"] == field, body
    nulls = client.post(
        URL, json={**base, "score": 3, "scale_min": None, "scale_max": None}, headers=headers
    )
    assert nulls.status_code == 201
    assert (nulls.json()["scale_min"], nulls.json()["scale_max"]) == (0, 10)
    custom = client.post(
        URL, json={**base, "score": 70, "scale_min": 0, "scale_max": 100}, headers=headers
    )
    assert custom.status_code == 201


def test_ticket_must_belong_to_the_customer(
    client: TestClient, people: People, book: Book, db: Session
) -> None:
    headers = people.headers("admin")
    west_ticket = tickets.repo.get_by_key(session=db, key="T-west")
    base = {"kind": "csat", "score": 5, "ticket_id": west_ticket["id"]}
    ok = client.post(URL, json={**base, "customer_id": book.west["id"]}, headers=headers)
    assert ok.status_code == 201 and ok.json()["ticket_id"] == west_ticket["id"]
    for customer_id, ticket_id in (
        (book.own["id"], west_ticket["id"]),
        (book.own["id"], MISSING_ID),
    ):
        response = client.post(
            URL, json={**base, "customer_id": customer_id, "ticket_id": ticket_id}, headers=headers
        )
        assert response.status_code == 422
        assert response.json()["error"]["field"] == "body.ticket_id"
    no_campaign = client.post(
        URL,
        json={"customer_id": book.own["id"], "kind": "csat", "score": 5, "campaign_id": MISSING_ID},
        headers=headers,
    )
    assert no_campaign.status_code == 422
    assert no_campaign.json()["error"]["field"] == "campaign_id"


def test_filters_and_audit(
    client: TestClient, people: People, book: Book, answers: dict[str, Any], db: Session
) -> None:
    headers = people.headers("manager")
    client.post(
        URL, json={"customer_id": book.own["id"], "kind": "ces", "score": 2}, headers=headers
    )
    assert client.get(URL, params={"kind": "ces"}, headers=headers).json()["count"] == 1
    by_customer = client.get(URL, params={"customer_id": book.own["id"]}, headers=headers).json()
    assert by_customer["count"] == 2
    reads = audit_entries(db, "read_pii", "survey_responses")
    assert reads[-1]["actor"] == "mgr-east" and reads[-1]["detail"]["count"] == 2
    before = len(audit_entries(db))
    client.get(URL, headers=people.headers("analyst"))
    assert len(audit_entries(db)) == before
