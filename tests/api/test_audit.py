"""``GET /audit`` on SQLite and PostgreSQL: admins only (every other role and a token
without ``audit:read`` get 403), newest first, each filter (actor, customer, action, entity,
time), and cursor paging that visits every entry once."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from rapport.domain import AuditAction
from rapport.store import audit, tokens

from .conftest import Book, People

URL = "/api/v1/audit"
T0 = dt.datetime(2024, 5, 1, 8, 0, tzinfo=dt.UTC)


@pytest.fixture
def log(db: Session, people: People, book: Book) -> dict[str, int]:
    """Entries at known times: admin and li.na (also through a token) on customers, orders
    and the loyalty ledger; returns the ids by name."""
    own, west = book.own["id"], book.west["id"]

    def entry(name: str, minutes: int, actor: dict[str, Any], action: AuditAction, **kw: Any):
        row = audit.repo.create(
            session=db,
            values={
                "occurred_at": T0 + dt.timedelta(minutes=minutes),
                "actor": kw.pop("actor_name", actor["username"]),
                "actor_user_id": actor["id"],
                "action": action,
                "client_address": "10.0.0.7",
                **kw,
            },
        )
        return name, row["id"]

    made = dict(
        [
            entry("create_own", 0, people.admin, AuditAction.CREATE, entity="customers",
                  entity_id=str(own), detail={"fields": ["name"]}),
            entry("read_list", 10, people.sales, AuditAction.READ_PII, entity="customers",
                  detail={"route": "list", "count": 2, "ids": [west, own]}),
            entry("order", 20, people.sales, AuditAction.CREATE, entity="orders", entity_id="9",
                  actor_name="li.na (token shop)", detail={"via": "api_token"}),
            entry("points", 30, people.admin, AuditAction.CREATE, entity="loyalty_ledger",
                  entity_id="4", detail={"customer_id": west, "points": 10}),
            entry("erase_west", 40, people.admin, AuditAction.ERASE, entity="customers",
                  entity_id=str(west), detail={"rows": 3}),
            entry("other", 50, people.sales_peer, AuditAction.UPDATE, entity="customers",
                  entity_id=str(book.peer["id"]), detail=None),
        ]
    )  # fmt: skip
    db.commit()
    return made


def _list(client: TestClient, people: People, **params: Any) -> dict[str, Any]:
    response = client.get(URL, params=params, headers=people.headers("admin"))
    assert response.status_code == 200, response.text
    return response.json()


def _ids(body: dict[str, Any]) -> list[int]:
    return [e["id"] for e in body["data"]]


def test_newest_first_with_every_field(
    client: TestClient, people: People, log: dict[str, int]
) -> None:
    body = _list(client, people)
    ours = [i for i in _ids(body) if i in log.values()]
    assert ours == sorted(log.values(), reverse=True)
    assert body["count"] >= len(log)
    entry = next(e for e in body["data"] if e["id"] == log["points"])
    assert entry["action"] == "create" and entry["entity"] == "loyalty_ledger"
    assert entry["entity_id"] == "4" and entry["client_address"] == "10.0.0.7"
    assert entry["actor"] == "admin" and entry["actor_user_id"] == people.admin["id"]
    assert entry["detail"]["points"] == 10
    assert dt.datetime.fromisoformat(entry["occurred_at"]) == (
        T0 + dt.timedelta(minutes=30)
    ).replace(tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"actor": "li.na"}, {"read_list", "order"}),  # also through the user's token
        ({"actor": "li.n"}, set()),  # a name, not a prefix
        ({"action": "erase"}, {"erase_west"}),
        ({"entity": "orders"}, {"order"}),
        ({"action": "create", "entity": "customers"}, {"create_own"}),
        ({"since": "2024-05-01T08:20:00Z", "until": "2024-05-01T08:40:00Z"}, {"order", "points"}),
        ({"since": "2024-05-01T16:40:00+08:00"}, {"erase_west", "other"}),
    ],
)
def test_filters(
    client: TestClient,
    people: People,
    log: dict[str, int],
    params: dict[str, str],
    expected: set[str],
) -> None:
    body = _list(client, people, **params)
    names = {name for name, i in log.items() if i in _ids(body)}
    assert names == expected
    assert body["count"] == len(body["data"])


def test_filter_by_user_id_and_customer(
    client: TestClient, people: People, book: Book, log: dict[str, int]
) -> None:
    body = _list(client, people, actor_user_id=people.sales["id"])
    assert set(_ids(body)) == {log["read_list"], log["order"]}
    # the customer's own record, a record naming it, a list read that listed it
    west = _list(client, people, customer_id=book.west["id"])
    assert _ids(west) == [log["erase_west"], log["points"], log["read_list"]]
    own = _list(client, people, customer_id=book.own["id"])
    assert _ids(own) == [log["read_list"], log["create_own"]]
    assert _list(client, people, customer_id=book.pool["id"])["data"] == []


def test_paging_visits_every_entry_once_newest_first(
    client: TestClient, people: People, log: dict[str, int]
) -> None:
    seen: list[int] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        body = _list(client, people, **params)
        assert len(body["data"]) <= 2
        seen += _ids(body)
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(set(seen), reverse=True)
    assert set(log.values()) <= set(seen)
    assert len(seen) == body["count"] and pages == -(-len(seen) // 2)


@pytest.mark.parametrize("who", ["manager", "sales", "service", "analyst"])
def test_only_admins_read_the_log(
    client: TestClient, people: People, log: dict[str, int], who: str
) -> None:
    response = client.get(URL, headers=people.headers(who))
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"
    assert "admin" in response.json()["error"]["hint"]


def test_an_admin_token_needs_audit_read(
    client: TestClient, db: Session, people: People, log: dict[str, int]
) -> None:
    without, _ = tokens.issue(
        session=db, user_id=people.admin["id"], name="ops", scopes=["users:read"]
    )
    with_scope, _ = tokens.issue(
        session=db, user_id=people.admin["id"], name="siem", scopes=["audit:read"]
    )
    db.commit()
    denied = client.get(URL, headers={"Authorization": f"Bearer {without}"})
    assert denied.status_code == 403
    assert "audit:read" in denied.json()["error"]["message"]
    allowed = client.get(URL, headers={"Authorization": f"Bearer {with_scope}"})
    assert allowed.status_code == 200, allowed.text


def test_bad_filters_are_422(client: TestClient, people: People) -> None:
    headers = people.headers("admin")
    for params in (
        {"action": "steal"},
        {"since": "2024-05-01T08:00:00"},  # no zone
        {"since": "2024-05-02T00:00:00Z", "until": "2024-05-01T00:00:00Z"},
        {"limit": 0},
        {"cursor": "nope"},
        {"actor": "li\x00na"},  # no store keeps NUL in text: 422, not a database error
    ):
        assert client.get(URL, params=params, headers=headers).status_code == 422, params


def test_requests_of_the_api_are_listed(client: TestClient, people: People, book: Book) -> None:
    """An entry the API itself wrote (an unmasked read) comes back through the filters."""
    assert client.get(f"/api/v1/customers/{book.pool['id']}", headers=people.headers("admin"))
    body = _list(client, people, customer_id=book.pool["id"], action="read_pii")
    assert len(body["data"]) == 1
    assert body["data"][0]["actor"] == "admin" and body["data"][0]["detail"]["route"] == "get"
