"""``PUT /users/{id}/password``: administrators set or reset a password."""

from __future__ import annotations

import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from rapport.store import schema, tokens, users

from .conftest import PASSWORD, People

LOGIN = "/api/v1/auth/login"
NEW = "violet harbour cactus"


def url(user_id: int) -> str:
    return f"/api/v1/users/{user_id}/password"


def _hash(db: Session, user_id: int) -> str | None:
    db.expire_all()
    return users.get(session=db, id=user_id)["password_hash"]


def test_an_admin_resets_a_password_and_the_new_one_logs_in(
    client: TestClient, people: People, db: Session
) -> None:
    target = people.sales
    response = client.put(
        url(target["id"]), json={"password": NEW}, headers=people.headers("admin")
    )
    assert response.status_code == 204, response.text
    assert response.content == b""
    old = client.post(LOGIN, json={"username": target["username"], "password": PASSWORD})
    assert old.status_code == 401
    new = client.post(LOGIN, json={"username": target["username"], "password": NEW})
    assert new.status_code == 200, new.text
    a = schema.audit_log
    entries = [
        dict(r)
        for r in db.execute(
            sa.select(a).where(a.c.entity == "users", a.c.action == "update")
        ).mappings()
    ]
    assert len(entries) == 1
    entry = entries[0]
    assert entry["entity_id"] == str(target["id"]) or entry["entity_id"] == target["id"]
    assert entry["actor"] == "admin" and entry["detail"]["fields"] == ["password"]
    assert NEW not in str(entry)  # the password itself is never audited


def test_an_admin_sets_the_password_of_an_account_without_one(
    client: TestClient, people: People, db: Session
) -> None:
    bot = users.create_user(session=db, username="shop-bot", role="sales")
    db.commit()
    response = client.put(url(bot["id"]), json={"password": NEW}, headers=people.headers("admin"))
    assert response.status_code == 204, response.text
    assert users.verify_password(_hash(db, bot["id"]), NEW)


def test_other_roles_get_403_and_nothing_changes(
    client: TestClient, people: People, db: Session
) -> None:
    before = _hash(db, people.sales["id"])
    for who in ("manager", "sales", "service", "analyst"):
        response = client.put(
            url(people.sales["id"]), json={"password": NEW}, headers=people.headers(who)
        )
        assert response.status_code == 403, (who, response.text)
    assert _hash(db, people.sales["id"]) == before
    assert client.put(url(people.sales["id"]), json={"password": NEW}).status_code == 401


def test_an_api_token_needs_the_users_write_scope(
    client: TestClient, people: People, db: Session
) -> None:
    narrow, _ = tokens.issue(
        session=db, user_id=people.admin["id"], name="ro", scopes=["customers:read"]
    )
    wide, _ = tokens.issue(
        session=db, user_id=people.admin["id"], name="rw", scopes=["users:write"]
    )
    db.commit()
    target = url(people.analyst["id"])
    refused = client.put(
        target, json={"password": NEW}, headers={"Authorization": f"Bearer {narrow}"}
    )
    assert refused.status_code == 403 and "users:write" in refused.text
    done = client.put(target, json={"password": NEW}, headers={"Authorization": f"Bearer {wide}"})
    assert done.status_code == 204, done.text


def test_unknown_user_is_404(client: TestClient, people: People) -> None:
    response = client.put(url(999_999), json={"password": NEW}, headers=people.headers("admin"))
    assert response.status_code == 404, response.text


def test_a_weak_password_is_422_naming_the_field_and_changes_nothing(
    client: TestClient, people: People, db: Session
) -> None:
    before = _hash(db, people.sales["id"])
    for weak, reason in (
        ("12345678", "too easy to guess"),
        ("short", "at least"),
        ("li.na2024", "username"),
    ):
        response = client.put(
            url(people.sales["id"]), json={"password": weak}, headers=people.headers("admin")
        )
        assert response.status_code == 422, (weak, response.text)
        error = response.json()["error"]
        assert error["field"].endswith("password") and reason in error["message"], error
        assert weak not in response.text  # the refused password is not echoed
    assert _hash(db, people.sales["id"]) == before
    missing = client.put(url(people.sales["id"]), json={}, headers=people.headers("admin"))
    assert missing.status_code == 422 and missing.json()["error"]["field"].endswith("password")
