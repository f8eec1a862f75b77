"""Every campaigns route × every role: campaigns CRUD (admin and manager write, everyone
reads), deliveries (scoped list; recording refused for customers without consent, opted
out or erased — 409 naming the customer and the reason, nothing recorded), the audience
export honouring consent and opt-out, validation and the audit trail."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from rapport.domain import CampaignChannel
from rapport.store import campaigns
from tests.helpers import audit_entries

from .conftest import MISSING_ID, ROLES, VISIBLE, Book, People, not_found

URL = "/api/v1/campaigns"
WRITERS = ("admin", "manager")


@pytest.fixture
def campaign(db: Session) -> dict[str, Any]:
    row = campaigns.repo.create(
        session=db,
        values={"external_id": "CMP-1", "name": "双十一回馈", "channel": CampaignChannel.SMS},
    )
    db.commit()
    return row


@pytest.fixture
def delivered(db: Session, book: Book, campaign: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Deliveries to every book customer, written directly (as an import would)."""
    out = {
        name: campaigns.deliveries_repo.create(
            session=db,
            values={"campaign_id": campaign["id"], "customer_id": cid, "holdout": name == "pool"},
        )
        for name, cid in book.ids().items()
    }
    db.commit()
    return out


# --- campaigns -----------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_everyone_reads_campaigns(
    client: TestClient, people: People, campaign: dict[str, Any], role: str
) -> None:
    listed = client.get(URL, headers=people.headers(role))
    assert listed.status_code == 200
    assert [c["id"] for c in listed.json()["data"]] == [campaign["id"]]
    one = client.get(f"{URL}/{campaign['id']}", headers=people.headers(role))
    assert one.status_code == 200 and one.json()["name"] == "双十一回馈"
    missing = client.get(f"{URL}/{MISSING_ID}", headers=people.headers(role))
    assert missing.status_code == 404 and missing.json() == not_found("campaign", MISSING_ID)


@pytest.mark.parametrize("role", ROLES)
def test_create_change_delete_by_role(
    client: TestClient, people: People, db: Session, role: str
) -> None:
    headers = people.headers(role)
    body = {
        "name": "会员日",
        "channel": "wechat",
        "objective": "win_back",
        "budget": "12000.50",
        "holdout_share": 0.1,
        "started_at": "2024-11-01T00:00:00+08:00",
    }
    created = client.post(URL, json=body, headers=headers)
    if role not in WRITERS:
        assert created.status_code == 403
        assert client.patch(f"{URL}/1", json={"name": "x"}, headers=headers).status_code == 403
        assert client.delete(f"{URL}/1", headers=headers).status_code == 403
        return
    assert created.status_code == 201, created.text
    campaign = created.json()
    assert campaign["external_id"].startswith("CMP-")
    assert float(campaign["budget"]) == 12000.5 and campaign["holdout_share"] == 0.1
    url = f"{URL}/{campaign['id']}"
    changed = client.patch(
        url, json={"ended_at": "2024-11-12T00:00:00Z", "budget": None}, headers=headers
    )
    assert changed.status_code == 200, changed.text
    after = changed.json()
    assert after["budget"] is None and after["ended_at"].startswith("2024-11-12")
    assert after["name"] == "会员日"
    assert audit_entries(db, "update", "campaigns")[-1]["detail"]["fields"] == [
        "budget",
        "ended_at",
    ]
    assert client.delete(url, headers=headers).status_code == 204
    assert client.get(url, headers=headers).status_code == 404
    assert [e["action"] for e in audit_entries(db, entity="campaigns")] == [
        "create",
        "update",
        "delete",
    ]


def test_campaign_validation_names_the_field(
    client: TestClient, people: People, campaign: dict[str, Any]
) -> None:
    headers = people.headers("admin")
    base = {"name": "x", "channel": "email"}
    for body, field in (
        ({"channel": "email"}, "body.name"),
        ({**base, "channel": "pigeon"}, "body.channel"),
        ({**base, "budget": "-1"}, "body.budget"),
        ({**base, "budget": "1.001"}, "body.budget"),
        ({**base, "holdout_share": 1}, "body.holdout_share"),
        (
            {**base, "started_at": "2024-11-02T00:00:00Z", "ended_at": "2024-11-01T00:00:00Z"},
            "body.ended_at",
        ),
        ({**base, "colour": "red"}, "body.colour"),
    ):
        response = client.post(URL, json=body, headers=headers)
        assert response.status_code == 422, (body, response.text)
        assert response.json()["error"]["field"] == field, body
    url = f"{URL}/{campaign['id']}"
    for body, field in (({"name": None}, "body.name"), ({"channel": None}, "body.channel")):
        response = client.patch(url, json=body, headers=headers)
        assert response.status_code == 422 and response.json()["error"]["field"] == field
    client.patch(url, json={"started_at": "2024-11-02T00:00:00Z"}, headers=headers)
    early = client.patch(url, json={"ended_at": "2024-11-01T00:00:00Z"}, headers=headers)
    assert early.status_code == 422 and early.json()["error"]["field"] == "body.ended_at"
    dup = client.post(URL, json={**base, "external_id": "CMP-1"}, headers=headers)
    assert dup.status_code == 409 and dup.json()["error"]["field"] == "external_id"


def test_a_campaign_with_deliveries_cannot_be_deleted(
    client: TestClient, people: People, campaign: dict[str, Any], delivered: Any
) -> None:
    response = client.delete(f"{URL}/{campaign['id']}", headers=people.headers("admin"))
    assert response.status_code == 409


# --- deliveries ----------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_deliveries_list_is_scoped(
    client: TestClient, people: People, campaign: dict[str, Any], delivered: Any, role: str
) -> None:
    response = client.get(f"{URL}/{campaign['id']}/deliveries", headers=people.headers(role))
    assert response.status_code == 200, response.text
    names = {v["id"]: k for k, v in delivered.items()}
    assert {names[d["id"]] for d in response.json()["data"]} == VISIBLE[role]
    assert response.json()["count"] == len(VISIBLE[role])
    held = client.get(
        f"{URL}/{campaign['id']}/deliveries",
        params={"holdout": "true"},
        headers=people.headers(role),
    ).json()
    assert {names[d["id"]] for d in held["data"]} == VISIBLE[role] & {"pool"}


@pytest.mark.parametrize("role", ROLES)
def test_record_deliveries_by_role(
    client: TestClient,
    people: People,
    book: Book,
    campaign: dict[str, Any],
    db: Session,
    role: str,
) -> None:
    body = {
        "deliveries": [
            {"customer_id": book.own["id"], "sent_at": "2024-11-11T00:00:00Z"},
            {"customer_id": book.pool["id"], "holdout": True},
        ]
    }
    response = client.post(
        f"{URL}/{campaign['id']}/deliveries", json=body, headers=people.headers(role)
    )
    if role not in WRITERS:
        assert response.status_code == 403
        return
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["count"] == 2
    assert [(d["customer_id"], d["holdout"]) for d in created["data"]] == [
        (book.own["id"], False),
        (book.pool["id"], True),
    ]
    entry = audit_entries(db, "create", "campaign_deliveries")[-1]
    assert entry["detail"]["count"] == 2
    again = client.post(
        f"{URL}/{campaign['id']}/deliveries", json=body, headers=people.headers(role)
    )
    assert again.status_code == 409


@pytest.mark.parametrize(
    ("target", "reason"),
    [("peer", "has not given marketing consent"), ("west", "opted out of marketing")],
)
def test_deliveries_to_customers_without_consent_are_refused_and_nothing_is_recorded(
    client: TestClient,
    people: People,
    book: Book,
    campaign: dict[str, Any],
    target: str,
    reason: str,
) -> None:
    headers = people.headers("admin")
    url = f"{URL}/{campaign['id']}/deliveries"
    body = {"deliveries": [{"customer_id": book.own["id"]}, {"customer_id": book.ids()[target]}]}
    response = client.post(url, json=body, headers=headers)
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["field"] == "body.deliveries.1.customer_id"
    assert error["value"] == book.ids()[target]
    assert f"customer {book.ids()[target]} {reason}" in error["message"]
    assert client.get(url, headers=headers).json()["count"] == 0


def test_an_erased_customer_is_refused(
    client: TestClient, people: People, book: Book, campaign: dict[str, Any]
) -> None:
    headers = people.headers("admin")
    client.post(f"/api/v1/customers/{book.pool['id']}/erase", headers=headers)
    response = client.post(
        f"{URL}/{campaign['id']}/deliveries",
        json={"deliveries": [{"customer_id": book.pool["id"]}]},
        headers=headers,
    )
    assert response.status_code == 409
    assert "was erased on request" in response.json()["error"]["message"]


def test_delivery_validation(
    client: TestClient, people: People, book: Book, campaign: dict[str, Any]
) -> None:
    url = f"{URL}/{campaign['id']}/deliveries"
    own = book.own["id"]
    manager = people.headers("manager")
    for body, field, status in (
        ({"deliveries": []}, "body.deliveries", 422),
        (
            {"deliveries": [{"customer_id": own}, {"customer_id": own}]},
            "body.deliveries.1.customer_id",
            422,
        ),
        (
            {
                "deliveries": [
                    {"customer_id": own, "holdout": True, "sent_at": "2024-11-11T00:00:00Z"}
                ]
            },
            "body.deliveries.0.sent_at",
            422,
        ),
        ({"deliveries": [{"customer_id": MISSING_ID}]}, "body.deliveries.0.customer_id", 422),
        (
            {"deliveries": [{"customer_id": book.west["id"]}]},
            "body.deliveries.0.customer_id",
            422,
        ),  # outside the manager's scope: like a missing customer
        (
            {"deliveries": [{"customer_id": own, "sent_at": "soon"}]},
            "body.deliveries.0.sent_at",
            422,
        ),
        ({"deliveries": [{"customer_id": own, "order_id": MISSING_ID}]}, "order_id", 422),
    ):
        response = client.post(url, json=body, headers=manager)
        assert response.status_code == status, (body, response.text)
        assert response.json()["error"]["field"] == field, body
    missing = client.post(
        f"{URL}/{MISSING_ID}/deliveries",
        json={"deliveries": [{"customer_id": own}]},
        headers=manager,
    )
    assert missing.status_code == 404


# --- the audience export -------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_audience_export_honours_consent_opt_out_holdout_and_scope(
    client: TestClient,
    people: People,
    book: Book,
    campaign: dict[str, Any],
    delivered: Any,
    db: Session,
    role: str,
) -> None:
    response = client.get(f"{URL}/{campaign['id']}/audience", headers=people.headers(role))
    if role in ("service", "analyst"):
        assert response.status_code == 403
        return
    assert response.status_code == 200
    assert response.content.startswith("\ufeff".encode())
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    names = {v: k for k, v in book.ids().items()}
    # peer: no consent; west: opted out; pool: held out
    assert {names[int(r["id"])] for r in rows} == VISIBLE[role] & {"own"}
    assert audit_entries(db, "export", "campaigns")[-1]["detail"]["count"] == len(rows)


def test_a_customer_who_opts_out_later_leaves_the_audience(
    client: TestClient, people: People, book: Book, campaign: dict[str, Any], delivered: Any
) -> None:
    headers = people.headers("admin")
    url = f"{URL}/{campaign['id']}/audience"
    assert "C-own" in client.get(url, headers=headers).text
    client.patch(
        f"/api/v1/customers/{book.own['id']}", json={"marketing_opt_out": True}, headers=headers
    )
    assert "C-own" not in client.get(url, headers=headers).text
