"""``Idempotency-Key`` on every write under /api/v1: replays, refusals, expiry, what is not
stored, and identical requests at once on a real app and a real store (SQLite, PostgreSQL)."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from rapport.api.app import create_app
from rapport.api.idempotency import HEADER, IN_PROGRESS_TIMEOUT, KEY_TTL, REPLAYED_HEADER
from rapport.config import Settings
from rapport.domain import Role
from rapport.store import customers, schema, users
from rapport.store.db import session_scope

from .conftest import SECRET, People, bearer

URL = "/api/v1/customers"


def _auth(people: People, who: str) -> dict[str, str]:
    """One log-in token per user and test: a token minted a second later differs (its
    ``iat``), and the credential scopes the key."""
    minted: dict[str, dict[str, str]] = people.__dict__.setdefault("_minted", {})
    if who not in minted:
        minted[who] = people.headers(who)
    return minted[who]


def _count(db: Session, external_id: str) -> int:
    c = schema.customers.c
    stmt = sa.select(sa.func.count()).where(c.external_id == external_id)
    return db.execute(stmt).scalar_one()


def _keys(db: Session) -> list[dict[str, Any]]:
    rows = db.execute(sa.select(schema.idempotency_keys)).mappings()
    return [dict(r) for r in rows]


def _post(client: TestClient, people: People, key: str | None, body: dict, who: str = "admin"):
    headers = dict(_auth(people, who))
    if key is not None:
        headers[HEADER] = key
    return client.post(URL, json=body, headers=headers)


def test_a_retry_replays_the_answer_and_creates_nothing(
    client: TestClient, people: People, db: Session
) -> None:
    body = {"external_id": "C-idem", "name": "张伟"}
    first = _post(client, people, "k-1", body)
    assert first.status_code == 201, first.text
    assert REPLAYED_HEADER not in first.headers
    again = _post(client, people, "k-1", body)
    assert again.status_code == 201
    assert again.json() == first.json()
    assert again.headers[REPLAYED_HEADER] == "true"
    assert again.headers["content-type"] == "application/json"
    assert _count(db, "C-idem") == 1
    (row,) = _keys(db)
    assert row["response_status"] == 201
    assert row["method"] == "POST" and row["path"] == URL
    assert row["request_hash"] == hashlib.sha256(first.request.content).hexdigest()
    credential = _auth(people, "admin")["Authorization"]
    assert row["actor"] == hashlib.sha256(credential.encode()).hexdigest()


def test_without_the_header_nothing_is_remembered(
    client: TestClient, people: People, db: Session
) -> None:
    assert _post(client, people, None, {"external_id": "C-a"}).status_code == 201
    assert _post(client, people, None, {"external_id": "C-a"}).status_code == 409
    assert _keys(db) == []


def test_the_same_key_with_another_body_is_refused(
    client: TestClient, people: People, db: Session
) -> None:
    assert _post(client, people, "k-2", {"external_id": "C-b"}).status_code == 201
    other = _post(client, people, "k-2", {"external_id": "C-c"})
    assert other.status_code == 422
    error = other.json()["error"]
    assert error["code"] == "idempotency_key_reused"
    assert error["field"] == "header.Idempotency-Key"
    assert _count(db, "C-c") == 0


def test_keys_are_scoped_by_credential_method_and_path(
    client: TestClient, people: People, db: Session
) -> None:
    assert _post(client, people, "k-3", {"external_id": "C-d"}).status_code == 201
    # another caller with the same key: another request (here a duplicate external id)
    second = _post(client, people, "k-3", {"external_id": "C-e"}, who="manager")
    assert second.status_code == 201
    assert REPLAYED_HEADER not in second.headers
    # another path with the same key: another request
    customer_id = second.json()["id"]
    patch = client.patch(
        f"{URL}/{customer_id}",
        json={"name": "王芳"},
        headers={**_auth(people, "manager"), HEADER: "k-3"},
    )
    assert patch.status_code == 200
    assert REPLAYED_HEADER not in patch.headers
    assert len(_keys(db)) == 3


def test_client_errors_are_replayed_too(client: TestClient, people: People, db: Session) -> None:
    bad = _post(client, people, "k-4", {"external_id": ""})
    assert bad.status_code == 422
    again = _post(client, people, "k-4", {"external_id": ""})
    assert again.status_code == 422
    assert again.headers[REPLAYED_HEADER] == "true"
    assert again.json() == bad.json()


def test_unauthenticated_answers_are_not_stored(client: TestClient, db: Session) -> None:
    response = client.post(URL, json={"external_id": "x"}, headers={HEADER: "k-5"})
    assert response.status_code == 401
    assert _keys(db) == []


def test_gets_and_paths_outside_the_api_ignore_the_header(
    client: TestClient, people: People, db: Session
) -> None:
    response = client.get(URL, headers={**people.headers("admin"), HEADER: "k-6"})
    assert response.status_code == 200
    assert _keys(db) == []


@pytest.mark.parametrize("key", ["", "x" * 256, "ключ".encode(), "a b"])
def test_a_malformed_key_is_refused(client: TestClient, people: People, key: Any) -> None:
    headers = {**people.headers("admin"), HEADER: key}
    response = client.post(URL, json={"external_id": "C-f"}, headers=headers)
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "header.Idempotency-Key"


def _hold(db: Session, people: People, key: str, body: bytes, age: dt.timedelta, status=None):
    credential = _auth(people, "admin")["Authorization"]
    db.execute(
        sa.insert(schema.idempotency_keys).values(
            key=key,
            actor=hashlib.sha256(credential.encode()).hexdigest(),
            method="POST",
            path=URL,
            request_hash=hashlib.sha256(body).hexdigest(),
            response_status=status,
            response_body={"json": {"stale": True}} if status else None,
            created_at=dt.datetime.now(dt.UTC) - age,
        )
    )
    db.commit()


def _body(external_id: str) -> bytes:
    return httpx.Request("POST", "http://x", json={"external_id": external_id}).content


def test_a_retry_while_the_first_runs_is_409_in_progress(
    client: TestClient, people: People, db: Session
) -> None:
    _hold(db, people, "k-7", _body("C-g"), dt.timedelta(seconds=1))
    response = _post(client, people, "k-7", {"external_id": "C-g"})
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "idempotency_in_progress"
    assert response.headers["Retry-After"] == "1"
    assert _count(db, "C-g") == 0


def test_an_abandoned_request_is_taken_over(
    client: TestClient, people: People, db: Session
) -> None:
    age = IN_PROGRESS_TIMEOUT + dt.timedelta(minutes=1)
    _hold(db, people, "k-8", _body("C-h"), age)
    response = _post(client, people, "k-8", {"external_id": "C-h"})
    assert response.status_code == 201
    assert _count(db, "C-h") == 1


def test_keys_expire_after_24_hours(client: TestClient, people: People, db: Session) -> None:
    _hold(db, people, "k-9", b"{}", KEY_TTL + dt.timedelta(minutes=1), status=201)
    response = _post(client, people, "k-9", {"external_id": "C-i"})
    assert response.status_code == 201, response.text
    assert REPLAYED_HEADER not in response.headers
    (row,) = _keys(db)
    assert row["response_status"] == 201


def test_server_errors_are_not_stored(app: FastAPI, people: People, db: Session) -> None:
    calls: list[int] = []

    @app.post("/api/v1/_test/flaky")
    def flaky() -> JSONResponse:
        calls.append(1)
        return JSONResponse({"n": len(calls)}, status_code=503 if len(calls) == 1 else 200)

    @app.post("/api/v1/_test/boom")
    def boom() -> None:
        raise RuntimeError("boom")

    headers = {**_auth(people, "admin"), HEADER: "k-10"}
    with TestClient(app, raise_server_exceptions=False) as client:
        assert client.post("/api/v1/_test/flaky", headers=headers).status_code == 503
        assert _keys(db) == []
        assert client.post("/api/v1/_test/flaky", headers=headers).json() == {"n": 2}
        replay = client.post("/api/v1/_test/flaky", headers=headers)
        assert replay.json() == {"n": 2} and replay.headers[REPLAYED_HEADER] == "true"
        assert client.post("/api/v1/_test/boom", headers=headers).status_code == 500
    assert len(_keys(db)) == 1  # flaky's; boom's was released


def test_empty_answers_replay_empty(app: FastAPI, people: People) -> None:
    @app.delete("/api/v1/_test/gone", status_code=204)
    def gone() -> None:
        return None

    headers = {**_auth(people, "admin"), HEADER: "k-11"}
    with TestClient(app) as client:
        first = client.delete("/api/v1/_test/gone", headers=headers)
        again = client.delete("/api/v1/_test/gone", headers=headers)
    assert first.status_code == again.status_code == 204
    assert again.content == b"" and again.headers[REPLAYED_HEADER] == "true"


def test_log_in_answers_are_never_stored(client: TestClient, people: People, db: Session) -> None:
    body = {"username": "admin", "password": "correct horse battery"}
    response = client.post("/api/v1/auth/login", json=body, headers={HEADER: "k-12"})
    assert response.status_code == 200
    assert _keys(db) == []


# --- identical requests at once, on a real app and store -----------------------------------


@pytest.fixture
def real(fresh_engine: Engine, tmp_path: Path) -> tuple[FastAPI, dict[str, str], Engine]:
    settings = Settings(
        _env_file=None,
        database_url="sqlite://",
        data_dir=tmp_path / "data",
        secret_key=SECRET,
    )
    with session_scope(fresh_engine) as session:
        admin = users.create_user(session=session, username="admin", role=Role.ADMIN)
    app = create_app(settings, engine=fresh_engine)

    @app.post("/api/v1/_test/slow", status_code=201)
    def slow(body: dict[str, str]) -> dict[str, Any]:
        time.sleep(0.3)
        with session_scope(fresh_engine) as session:
            row = customers.repo.create(session=session, values={"external_id": body["id"]})
        return {"id": row["id"]}

    return app, bearer(admin, settings), fresh_engine


async def _burst(app: FastAPI, url: str, headers: dict[str, str], body: dict, n: int) -> list:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        return await asyncio.gather(
            *[client.post(url, json=body, headers=headers) for _ in range(n)]
        )


def test_identical_requests_at_once_create_one_record(
    real: tuple[FastAPI, dict[str, str], Engine],
) -> None:
    app, auth, engine = real
    headers = {**auth, HEADER: "burst-1"}
    answers = asyncio.run(_burst(app, "/api/v1/_test/slow", headers, {"id": "C-burst"}, 6))
    statuses = sorted(a.status_code for a in answers)
    assert statuses.count(409) >= 1  # the others arrived while the first slept
    assert set(statuses) <= {201, 409}
    winners = [a for a in answers if a.status_code == 201 and REPLAYED_HEADER not in a.headers]
    assert len(winners) == 1
    for loser in answers:
        if loser.status_code == 409:
            assert loser.json()["error"]["code"] == "idempotency_in_progress"
    c = schema.customers.c
    with engine.connect() as conn:
        n = conn.execute(sa.select(sa.func.count()).where(c.external_id == "C-burst")).scalar()
    assert n == 1
    (later,) = asyncio.run(_burst(app, "/api/v1/_test/slow", headers, {"id": "C-burst"}, 1))
    assert later.status_code == 201 and later.headers[REPLAYED_HEADER] == "true"
    assert later.json() == winners[0].json()


def test_identical_customer_creations_at_once_through_the_real_route(
    real: tuple[FastAPI, dict[str, str], Engine],
) -> None:
    app, auth, engine = real
    headers = {**auth, HEADER: "burst-2"}
    body = {"external_id": "C-real", "name": "刘洋"}
    answers = asyncio.run(_burst(app, URL, headers, body, 8))
    assert {a.status_code for a in answers} <= {201, 409}
    conflicts = [a.json()["error"]["code"] for a in answers if a.status_code == 409]
    assert set(conflicts) <= {"idempotency_in_progress"}
    c = schema.customers.c
    with engine.connect() as conn:
        n = conn.execute(sa.select(sa.func.count()).where(c.external_id == "C-real")).scalar()
    assert n == 1
