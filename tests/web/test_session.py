"""Log-in, the session cookie, CSRF, log-out and idle expiry, over plain HTTP."""

from __future__ import annotations

import time

import httpx
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from rapport.api.app import create_app
from rapport.config import Settings
from rapport.domain import AuditAction
from rapport.store import schema
from rapport.web import session as web_session
from rapport.web.session import WebSession
from tests.web.conftest import PASSWORD, WebStore, csrf_of, http_login

SECRET = "a-secret-key-for-the-web-session-tests-0123456789"


def test_pages_need_a_log_in_and_keep_where_the_user_was_going(server: str) -> None:
    answer = httpx.get(f"{server}/customers?tier=gold", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/login?next=/customers%3Ftier%3Dgold"
    assert httpx.get(f"{server}/customers/1", follow_redirects=False).status_code == 303


def test_a_wrong_password_is_refused_and_the_right_one_opens_a_session(server: str) -> None:
    client = httpx.Client(base_url=server, follow_redirects=False)
    token = csrf_of(client.get("/login").text)
    wrong = client.post(
        "/login", data={"username": "admin", "password": "not it", "csrf_token": token}
    )
    assert wrong.status_code == 401
    assert "用户名或密码错误" in wrong.text
    unknown = client.post(
        "/login", data={"username": "nobody", "password": PASSWORD, "csrf_token": token}
    )
    assert unknown.status_code == 401 and "用户名或密码错误" in unknown.text
    right = client.post(
        "/login",
        data={"username": "admin", "password": PASSWORD, "csrf_token": token, "next": "/x"},
    )
    assert right.status_code == 303 and right.headers["location"] == "/x"
    cookie = right.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert "Secure" not in cookie  # development
    assert client.get("/customers").status_code == 200


def test_log_in_attempts_are_audited(server: str, web_store: WebStore) -> None:
    http_login(server, "li.na")
    a = schema.audit_log
    count = web_store.scalar(
        sa.select(sa.func.count())
        .select_from(a)
        .where(a.c.action == AuditAction.LOGIN, a.c.actor == "li.na")
    )
    assert count >= 1


def test_the_next_of_a_log_in_never_leaves_the_site(server: str) -> None:
    client = httpx.Client(base_url=server, follow_redirects=False)
    token = csrf_of(client.get("/login").text)
    answer = client.post(
        "/login",
        data={
            "username": "admin",
            "password": PASSWORD,
            "csrf_token": token,
            "next": "//evil.example/",
        },
    )
    assert answer.headers["location"] == "/"


def test_a_forged_post_without_the_sessions_token_is_refused(server: str) -> None:
    client = http_login(server, "admin")
    # another site's form: the browser sends the cookie, but the site cannot know the token
    forged = client.post("/lang", data={"lang": "en", "next": "/customers"})
    assert forged.status_code == 403
    assert "请求已被拒绝" in forged.text
    wrong = client.post("/logout", data={"csrf_token": "x" * 43})
    assert wrong.status_code == 403
    # a token of another session does not pass either
    other = httpx.Client(base_url=server)
    foreign = csrf_of(other.get("/login").text)
    assert client.post("/logout", data={"csrf_token": foreign}).status_code == 403
    # still logged in; the real token (form field or header) passes
    page = client.get("/customers")
    assert page.status_code == 200
    token = csrf_of(page.text)
    switched = client.post("/lang", headers={"X-CSRF-Token": token}, data={"lang": "en"})
    assert switched.status_code == 303
    assert "Customers" in client.get("/customers").text


def test_a_log_in_without_the_token_is_refused(server: str) -> None:
    answer = httpx.post(
        f"{server}/login", data={"username": "admin", "password": PASSWORD}, follow_redirects=False
    )
    assert answer.status_code == 403


def test_log_out_ends_the_session(server: str) -> None:
    client = http_login(server, "admin")
    already = client.get("/login")  # logged in: the log-in page sends on
    assert already.status_code == 303 and already.headers["location"] == "/"
    token = csrf_of(client.get("/customers").text)
    out = client.post("/logout", data={"csrf_token": token})
    assert out.status_code == 303 and out.headers["location"] == "/login?bye=1"
    assert client.get("/customers").status_code == 303


def test_a_session_cookie_altered_by_hand_is_not_a_session(server: str) -> None:
    client = http_login(server, "wang.fang")
    value = client.cookies[web_session.COOKIE_NAME]
    _payload, signature = value.split(".")
    forged = web_session._b64(b'{"c":"' + b"x" * 43 + b'","u":1,"i":9999999999,"a":9999999999}')
    client.cookies.set(web_session.COOKIE_NAME, f"{forged}.{signature}")
    assert client.get("/customers").status_code == 303


@pytest.fixture
def short_idle_client(web_store: WebStore) -> TestClient:
    app = create_app(web_store.settings)
    app.state.web_idle_seconds = 1
    return TestClient(app, follow_redirects=False)


@pytest.mark.slow  # a real server or worker, waiting on real time
def test_an_idle_session_expires_and_returns_to_the_log_in(short_idle_client: TestClient) -> None:
    client = short_idle_client
    token = csrf_of(client.get("/login").text)
    answer = client.post(
        "/login", data={"username": "admin", "password": PASSWORD, "csrf_token": token}
    )
    assert answer.status_code == 303
    assert client.get("/customers").status_code == 200  # active: the idle clock restarts
    time.sleep(2.2)
    expired = client.get("/customers")
    assert expired.status_code == 303
    assert expired.headers["location"].startswith("/login?expired=1")
    assert "会话已过期" in client.get(expired.headers["location"]).text


def test_the_session_records_activity_and_ends_at_its_limits() -> None:
    started = WebSession.new("en").logged_in(7, now=1_000)
    assert not started.expired(1_000 + web_session.IDLE_SECONDS)
    assert started.expired(1_000 + web_session.IDLE_SECONDS + 1)
    touched = started.touched(1_000 + web_session.IDLE_SECONDS)
    assert not touched.expired(1_000 + 2 * web_session.IDLE_SECONDS)
    assert touched.expired(1_000 + web_session.MAX_AGE_SECONDS + 1)  # however active
    assert started.lang == "en" and started.csrf != WebSession.new().csrf


def test_the_cookie_is_signed_and_secure_outside_development() -> None:
    settings = Settings(_env_file=None, environment="production", secret_key=SECRET)
    session = WebSession.new().logged_in(3, now=50)
    value = web_session.encode(session, settings)
    assert web_session.decode(value, settings) == session
    other = Settings(_env_file=None, environment="production", secret_key=SECRET[::-1])
    assert web_session.decode(value, other) is None
    assert web_session.decode(value[:-2] + "AA", settings) is None
    assert web_session.cookie_options(settings)["secure"] is True
    assert web_session.cookie_options(settings)["httponly"] is True
    assert web_session.cookie_options(settings)["samesite"] == "lax"


def test_a_disabled_user_is_logged_out_at_once(server: str, web_store: WebStore) -> None:
    from rapport.store import users
    from rapport.store.db import session_scope

    engine = web_store.engine()
    try:
        with session_scope(engine, writing=True) as session:
            users.create_user(
                session=session, username="temp.staff", role="sales", password=PASSWORD
            )
        client = http_login(server, "temp.staff")
        assert client.get("/customers").status_code == 200
        with session_scope(engine, writing=True) as session:
            users.disable(session=session, username="temp.staff")
        assert client.get("/customers").status_code == 303
    finally:
        engine.dispose()


def test_failed_log_ins_are_throttled_like_the_apis(server: str, web_store: WebStore) -> None:
    """The store's counters: after 5 failures of one account (the default) the next
    attempt is refused without checking the password, with Retry-After."""
    client = httpx.Client(base_url=server, follow_redirects=False)
    token = csrf_of(client.get("/login").text)
    form = {"username": "ghost.user", "password": "wrong", "csrf_token": token}
    statuses = [client.post("/login", data=form).status_code for _ in range(6)]
    assert statuses == [401] * 5 + [429]
    locked = client.post("/login", data=form)
    assert locked.status_code == 429 and int(locked.headers["retry-after"]) > 0
    assert "登录失败次数过多" in locked.text
    a = schema.audit_log
    assert (
        web_store.scalar(
            sa.select(sa.func.count())
            .select_from(a)
            .where(a.c.action == AuditAction.LOGIN_LOCKED, a.c.actor == "ghost.user")
        )
        == 2
    )
