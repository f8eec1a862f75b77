"""Log-in throttling: failed log-ins per account and per client address end in 429 with
``Retry-After`` (the right password too, while the lock-out runs), unknown usernames are
throttled exactly like known ones, a success clears its account's count, the wait doubles
with every further failure, everything is audited, the counters hold across workers
(two apps, each with its own engine, on one store) and under concurrent attempts, and an
unknown username costs as much time as a wrong password."""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from rapport.api.app import create_app
from rapport.config import Settings
from rapport.store import schema, users
from rapport.store.db import session_scope
from tests.helpers import audit_entries

from .conftest import PASSWORD, People

LOGIN = "/api/v1/auth/login"
LIMITS = {
    "login_max_failures": 3,
    "login_address_max_failures": 8,
    "login_lockout_seconds": 30,
    "login_lockout_max_seconds": 300,
}


@pytest.fixture
def throttled(app: FastAPI, api_settings: Settings) -> FastAPI:
    """The test app with small limits."""
    app.state.settings = api_settings.model_copy(update=LIMITS)
    return app


def _login(app: FastAPI, username: str, password: str, address: str) -> Any:
    """A log-in from the client ``address`` (behind a proxy, uvicorn --proxy-headers
    gives the app the client's address, not the proxy's)."""
    with TestClient(app, client=(address, 50000)) as other:
        return other.post(LOGIN, json={"username": username, "password": password})


def _locked_until(db: Session, subject: str) -> dt.datetime | None:
    t = schema.login_throttle
    return db.execute(
        sa.select(t.c.locked_until).where(t.c.kind == "account", t.c.subject == subject)
    ).scalar_one()


def _error(response: Any) -> dict[str, Any]:
    body = response.json()
    assert set(body["error"]) == {"code", "message", "field", "value", "hint"}
    return body["error"]


def test_an_account_is_locked_out_after_the_limit_with_429_and_retry_after(
    client: TestClient, throttled: FastAPI, people: People, db: Session
) -> None:
    statuses = [
        client.post(LOGIN, json={"username": "li.na", "password": "not it at all"}).status_code
        for _ in range(3)
    ]
    assert statuses == [401, 401, 401]
    locked = client.post(LOGIN, json={"username": "li.na", "password": PASSWORD})  # right one
    assert locked.status_code == 429
    assert 1 <= int(locked.headers["Retry-After"]) <= 30
    error = _error(locked)
    assert error["code"] == "too_many_failed_logins"
    assert (
        "for this account" in error["message"]
        and locked.headers["Retry-After"] in (error["message"])
    )
    assert "rapport users unlock" in error["hint"]
    # other accounts from the same address still log in
    assert client.post(LOGIN, json={"username": "admin", "password": PASSWORD}).status_code == 200
    failed = audit_entries(db, "login_failed")
    assert [e["actor"] for e in failed] == ["li.na"] * 3
    assert failed[-1]["detail"] == {"lockout_seconds": 30} and failed[0]["detail"] is None
    (refused,) = audit_entries(db, "login_locked")
    assert refused["actor"] == "li.na" and refused["client_address"] == "testclient"
    assert refused["detail"]["locked"] == "account"


def test_unknown_usernames_are_throttled_exactly_like_known_ones(
    client: TestClient, throttled: FastAPI, people: People
) -> None:
    def run(username: str) -> list[tuple[int, dict]]:
        out = []
        for _ in range(5):
            r = client.post(LOGIN, json={"username": username, "password": "not it at all"})
            out.append((r.status_code, r.json(), r.headers.get("Retry-After") is not None))
        return out

    known, unknown = run("li.na"), run("nobody.here")
    assert [s for s, *_ in known] == [401, 401, 401, 429, 429]
    assert known == unknown  # same statuses, same bodies, same headers


def test_a_successful_log_in_clears_the_account_count(
    client: TestClient, throttled: FastAPI, people: People
) -> None:
    for _ in range(2):
        assert (
            client.post(LOGIN, json={"username": "li.na", "password": "wrong one"}).status_code
            == 401
        )
    assert client.post(LOGIN, json={"username": "li.na", "password": PASSWORD}).status_code == 200
    for _ in range(2):
        assert (
            client.post(LOGIN, json={"username": "li.na", "password": "wrong one"}).status_code
            == 401
        )
    assert client.post(LOGIN, json={"username": "li.na", "password": PASSWORD}).status_code == 200


def test_a_client_address_is_locked_out_after_its_own_limit(
    client: TestClient, throttled: FastAPI, people: People
) -> None:
    for n in range(8):  # one failure each for eight usernames: spraying
        assert _login(throttled, f"user{n}", "password1", "203.0.113.7").status_code == 401
    locked = _login(throttled, "admin", PASSWORD, "203.0.113.7")
    assert locked.status_code == 429 and "from this address" in _error(locked)["message"]
    assert _login(throttled, "admin", PASSWORD, "198.51.100.1").status_code == 200


def test_the_wait_doubles_with_every_further_failure(
    client: TestClient, throttled: FastAPI, people: People, db: Session
) -> None:
    for _ in range(3):
        client.post(LOGIN, json={"username": "li.na", "password": "wrong one"})
    waits = []
    for _ in range(3):
        # let the running lock-out end, then fail once more
        t = schema.login_throttle
        past = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
        db.execute(sa.update(t).where(t.c.subject == "li.na").values(locked_until=past))
        db.commit()
        before = dt.datetime.now(dt.UTC)
        assert (
            client.post(LOGIN, json={"username": "li.na", "password": "wrong"}).status_code == 401
        )
        db.expire_all()
        waits.append(round((_locked_until(db, "li.na") - before).total_seconds()))
        assert (
            client.post(LOGIN, json={"username": "li.na", "password": PASSWORD}).status_code == 429
        )
    assert waits == [60, 120, 240]


def test_the_lockout_ends_by_itself(
    client: TestClient, throttled: FastAPI, people: People, db: Session
) -> None:
    for _ in range(3):
        client.post(LOGIN, json={"username": "li.na", "password": "wrong one"})
    t = schema.login_throttle
    past = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    db.execute(sa.update(t).where(t.c.subject == "li.na").values(locked_until=past))
    db.commit()
    assert client.post(LOGIN, json={"username": "li.na", "password": PASSWORD}).status_code == 200


# --- several workers, concurrent attempts ----------------------------------------------------


@pytest.fixture
def two_workers(fresh_engine: Engine, api_settings: Settings) -> Iterator[list[TestClient]]:
    """Two apps on one store, each with its own engine (as two uvicorn workers are)."""
    with session_scope(fresh_engine) as session:
        users.create_user(session=session, username="li.na", role="sales", password=PASSWORD)
    url = fresh_engine.url.render_as_string(hide_password=False)
    settings = api_settings.model_copy(update={**LIMITS, "database_url": url})
    with TestClient(create_app(settings)) as a, TestClient(create_app(settings)) as b:
        yield [a, b]


@pytest.mark.slow  # a real server or worker, waiting on real time
def test_counters_hold_across_workers(two_workers: list[TestClient]) -> None:
    a, b = two_workers
    body = {"username": "li.na", "password": "wrong one"}
    assert [w.post(LOGIN, json=body).status_code for w in (a, b, a)] == [401, 401, 401]
    assert b.post(LOGIN, json={"username": "li.na", "password": PASSWORD}).status_code == 429
    assert a.post(LOGIN, json={"username": "li.na", "password": PASSWORD}).status_code == 429


def test_concurrent_attempts_never_pass_the_limit(two_workers: list[TestClient]) -> None:
    body = {"username": "li.na", "password": "wrong one"}
    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(
            pool.map(lambda n: two_workers[n % 2].post(LOGIN, json=body).status_code, range(12))
        )
    assert Counter(statuses) == {401: 3, 429: 9}


# --- time -------------------------------------------------------------------------------------


def test_an_unknown_username_costs_the_time_of_a_wrong_password(
    client: TestClient, people: People, db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(users, "password_hasher", PasswordHasher())  # the real cost
    users.set_password(session=db, user_id=people.sales["id"], password=PASSWORD)
    db.commit()

    def timed(username: str) -> float:
        start = time.perf_counter()
        response = client.post(LOGIN, json={"username": username, "password": "guess-1234"})
        assert response.status_code == 401
        return time.perf_counter() - start

    timed("warm.up")  # the dummy hash is made once
    wrong = min(timed("li.na") for _ in range(3))
    unknown = min(timed(f"nobody{n}") for n in range(3))
    assert wrong / 3 < unknown < wrong * 3, (unknown, wrong)
