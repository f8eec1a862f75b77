"""``/playbooks`` × every role on SQLite and PostgreSQL: all read the list and a definition
with its versions; admins and managers change and switch playbooks (checked, versioned,
audited), analysts may only dry-run, sales and service neither; the effect for admins,
managers and analysts; a customer's next best actions scoped like the customer."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from rapport.actions.playbooks import builtin_codes
from tests.helpers import audit_entries

from .conftest import ROLES, Book, People

URL = "/api/v1/playbooks"
EVENT = {
    "name_zh": "城市活动邀请",
    "name_en": "City event",
    "trigger": {"kind": "schedule", "every": "quarter"},
    "audience": {"field": "city", "op": "eq", "value": "上海"},
    "actions": [{"kind": "tag", "tag": "event"}],
    "outcome": {"kind": "purchase", "window_days": 30},
}


@pytest.mark.parametrize("role", ROLES)
def test_every_role_reads_the_playbooks(client: TestClient, people: People, role: str) -> None:
    listed = client.get(URL, headers=people.headers(role))
    assert listed.status_code == 200, listed.text
    assert sorted(p["code"] for p in listed.json()) == sorted(builtin_codes())
    one = client.get(f"{URL}/birthday_greeting", headers=people.headers(role))
    assert one.status_code == 200 and one.json()["definition"]["trigger"]["kind"] == "date"
    assert client.get(f"{URL}/nope", headers=people.headers(role)).status_code == 404


@pytest.mark.parametrize("role", ROLES)
def test_admins_and_managers_write_versioned_and_audited(
    client: TestClient, people: People, db: Session, role: str
) -> None:
    written = client.put(f"{URL}/city_event", json=EVENT, headers=people.headers(role))
    switched = client.post(
        f"{URL}/birthday_greeting/enabled", json={"enabled": False}, headers=people.headers(role)
    )
    if role not in {"admin", "manager"}:
        assert (written.status_code, switched.status_code) == (403, 403)
        return
    assert written.status_code == 200, written.text
    assert written.json()["version"] == 1 and written.json()["source"] == "api"
    assert switched.status_code == 200 and switched.json()["enabled"] is False
    changed = client.put(
        f"{URL}/city_event", json={**EVENT, "priority": 5}, headers=people.headers(role)
    )
    same = client.put(
        f"{URL}/city_event", json={**EVENT, "priority": 5}, headers=people.headers(role)
    )
    assert changed.json()["version"] == 2 and same.json()["version"] == 2
    assert [v["version"] for v in same.json()["versions"]] == [2, 1]
    entries = [
        e
        for e in audit_entries(db.connection(), entity="playbooks")
        if e["entity_id"] in {"city_event", "birthday_greeting"} and e["actor"] != "system"
    ]
    assert len(entries) == 3 and {e["actor_user_id"] for e in entries} == {
        getattr(people, role)["id"]
    }


def test_an_invalid_definition_is_a_422_naming_the_field(
    client: TestClient, people: People
) -> None:
    bad = {**EVENT, "audience": {"field": "city", "op": "gt", "value": 3}}
    answer = client.put(f"{URL}/city_event", json=bad, headers=people.headers("admin"))
    assert answer.status_code == 422, answer.text
    error = answer.json()["error"]
    assert error["field"] == "audience.op" and "city_event" in error["message"]


@pytest.mark.parametrize("role", ROLES)
def test_runs_and_effect_by_role(client: TestClient, people: People, role: str) -> None:
    dry = client.post(f"{URL}/run", json={"day": "2026-06-15"}, headers=people.headers(role))
    real = client.post(
        f"{URL}/run", json={"day": "2026-06-15", "dry_run": False}, headers=people.headers(role)
    )
    client.post(f"{URL}/run", json={"dry_run": False}, headers=people.headers("admin"))  # stores
    effect = client.get(f"{URL}/win_back/effect", headers=people.headers(role))
    if role in {"sales", "service"}:
        assert (dry.status_code, real.status_code, effect.status_code) == (403, 403, 403)
        return
    assert dry.status_code == 200, dry.text
    assert dry.json()["dry_run"] is True and len(dry.json()["playbooks"]) == len(builtin_codes())
    if role == "analyst":
        assert real.status_code == 403
    else:
        assert real.status_code == 200, real.text
        assert real.json()["dry_run"] is False
    assert effect.status_code == 200, effect.text
    assert effect.json()["code"] == "win_back" and "rate_difference" in effect.json()["effect"]


@pytest.mark.parametrize("role", ROLES)
def test_next_best_actions_are_scoped_like_the_customer(
    client: TestClient, people: People, book: Book, role: str
) -> None:
    from .conftest import VISIBLE

    for name, customer_id in book.ids().items():
        answer = client.get(
            f"/api/v1/customers/{customer_id}/next-best-actions", headers=people.headers(role)
        )
        expected = 200 if name in VISIBLE[role] else 404
        assert answer.status_code == expected, (name, answer.text)
        if expected == 200:
            assert all(a["basis"] == "prior" and a["reason"] for a in answer.json())


def test_a_run_day_out_of_range_is_a_422(client: TestClient, people: People) -> None:
    answer = client.post(f"{URL}/run", json={"day": "9999-12-31"}, headers=people.headers("admin"))
    assert answer.status_code == 422, answer.text
