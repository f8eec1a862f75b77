"""Log-in, log-in tokens (expiry, signature), API tokens (revoked, scopes), /auth/me."""

from __future__ import annotations

import datetime as dt

import jwt
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from rapport.api.security import create_access_token
from rapport.config import Settings
from rapport.store import tokens, users
from tests.helpers import audit_entries

from .conftest import PASSWORD, People, bearer

LOGIN = "/api/v1/auth/login"
ME = "/api/v1/auth/me"


def test_login_returns_a_bearer_token_that_works(
    client: TestClient, people: People, db: Session, api_settings: Settings
) -> None:
    response = client.post(LOGIN, json={"username": "li.na", "password": PASSWORD})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == api_settings.access_token_minutes * 60
    me = client.get(ME, headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200
    assert me.json()["username"] == "li.na" and me.json()["role"] == "sales"
    assert me.json()["via"] == "login" and me.json()["scopes"] is None
    assert "password_hash" not in me.json()
    entries = audit_entries(db, "login")
    assert [e["actor"] for e in entries] == ["li.na"]
    assert entries[0]["client_address"] == "testclient"


def test_wrong_password_and_unknown_user_get_the_same_401(
    client: TestClient, people: People, db: Session
) -> None:
    wrong = client.post(LOGIN, json={"username": "li.na", "password": "not it at all"})
    unknown = client.post(LOGIN, json={"username": "nobody", "password": "not it at all"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()
    assert wrong.json()["error"]["message"] == "wrong username or password"
    assert wrong.headers["WWW-Authenticate"] == unknown.headers["WWW-Authenticate"] == "Bearer"
    assert [e["actor"] for e in audit_entries(db, "login_failed")] == ["li.na", "nobody"]


def test_disabled_user_cannot_log_in_and_their_tokens_stop_working(
    client: TestClient, people: People, db: Session
) -> None:
    headers = people.headers("sales")
    assert client.get(ME, headers=headers).status_code == 200
    users.disable(session=db, username="li.na")
    db.commit()
    assert client.get(ME, headers=headers).status_code == 401
    response = client.post(LOGIN, json={"username": "li.na", "password": PASSWORD})
    assert response.status_code == 401


def test_missing_malformed_and_foreign_tokens_are_401(client: TestClient, people: People) -> None:
    missing = client.get(ME)
    assert missing.status_code == 401
    assert missing.headers["WWW-Authenticate"] == "Bearer"
    assert missing.json()["error"]["code"] == "not_authenticated"
    for value in ("Bearer nonsense", "Bearer a.b.c", "Basic bGk6bmE=", "Bearer "):
        response = client.get(ME, headers={"Authorization": value})
        assert response.status_code == 401, value
    forged = jwt.encode({"sub": str(people.admin["id"]), "iat": 0, "exp": 2**40}, "x" * 40)
    response = client.get(ME, headers={"Authorization": f"Bearer {forged}"})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'


def test_expired_login_token_is_401(
    client: TestClient, people: People, api_settings: Settings
) -> None:
    old = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=api_settings.access_token_minutes + 1)
    token = create_access_token(
        user_id=people.sales["id"], role="sales", settings=api_settings, now=old
    )
    response = client.get(ME, headers={"Authorization": f"Bearer {token.token}"})
    assert response.status_code == 401
    assert "expired" in response.json()["error"]["message"]


def test_token_lifetime_comes_from_settings(people: People, api_settings: Settings) -> None:
    short = api_settings.model_copy(update={"access_token_minutes": 5})
    token = create_access_token(user_id=1, role="admin", settings=short)
    claims = jwt.decode(token.token, options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == 300
    assert token.expires_in == 300


def test_api_token_acts_as_its_user_with_its_scopes(
    client: TestClient, people: People, db: Session
) -> None:
    secret, _ = tokens.issue(
        session=db, user_id=people.sales["id"], name="shop", scopes=["customers:read"]
    )
    db.commit()
    response = client.get(ME, headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 200
    me = response.json()
    assert me["username"] == "li.na" and me["via"] == "api_token"
    assert me["token_name"] == "shop" and me["scopes"] == ["customers:read"]
    touched = tokens.list_tokens(session=db, user_id=people.sales["id"])[0]
    assert touched["last_used_at"] is not None


def test_revoked_and_expired_api_tokens_are_401(
    client: TestClient, people: People, db: Session
) -> None:
    secret, row = tokens.issue(session=db, user_id=people.sales["id"], name="a", scopes=["*"])
    expired, _ = tokens.issue(
        session=db,
        user_id=people.sales["id"],
        name="b",
        scopes=["*"],
        expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1),
    )
    tokens.revoke(session=db, token_id=row["id"])
    db.commit()
    for value in (secret, expired, "rpt_" + "x" * 43):
        response = client.get(ME, headers={"Authorization": f"Bearer {value}"})
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'


def test_api_token_without_the_scope_is_403(
    client: TestClient, people: People, db: Session
) -> None:
    secret, _ = tokens.issue(
        session=db, user_id=people.admin["id"], name="orders-only", scopes=["orders:write"]
    )
    db.commit()
    headers = {"Authorization": f"Bearer {secret}"}
    response = client.get("/api/v1/customers", headers=headers)
    assert response.status_code == 403
    assert response.json()["error"]["field"] == "scopes"
    assert "customers:read" in response.json()["error"]["message"]
    response = client.post("/api/v1/customers", headers=headers, json={"external_id": "C-x"})
    assert response.status_code == 403


def test_a_token_of_a_deleted_user_is_401(
    client: TestClient, people: People, db: Session, api_settings: Settings
) -> None:
    headers = bearer(people.analyst, api_settings)
    users.repo.delete(session=db, id=people.analyst["id"])
    db.commit()
    assert client.get(ME, headers=headers).status_code == 401


def test_login_body_errors_are_422_and_never_echo_the_password(client: TestClient) -> None:
    response = client.post(LOGIN, json={"username": "li.na"})
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "body.password"
    response = client.post(LOGIN, json={"username": "li.na", "password": "", "x": 1})
    assert response.status_code == 422
    fields = {e["field"]: e["value"] for e in response.json()["errors"]}
    assert fields["body.password"] == "***"
    assert "body.x" in fields
