"""``rapport users add|passwd|list|disable|unlock|token|revoke`` and ``rapport serve``."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner, Result

from rapport.cli.main import app, run
from rapport.config import DEFAULT_SECRET_KEY, get_settings
from rapport.store import login_throttle, session_scope, tokens, users
from rapport.store.db import create_engine, upgrade
from tests.helpers import free_port

from .conftest import SECRET

runner = CliRunner()
#: A password the policy accepts.
STRONG = "blue kettle orbit"


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A migrated SQLite store that the CLI's settings point at."""
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    engine = create_engine(url)
    upgrade(engine)
    engine.dispose()
    monkeypatch.setenv("RAPPORT_DATABASE_URL", url)
    monkeypatch.setenv("RAPPORT_LOCALE", "en")  # the messages checked are the English ones
    get_settings.cache_clear()
    return url


def invoke(*args: str, input: str | None = None) -> Result:
    get_settings.cache_clear()
    return runner.invoke(app, list(args), input=input)


def entry_point(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "argv", ["rapport", *args])
    get_settings.cache_clear()
    with pytest.raises(SystemExit) as info:
        run()
    out, err = capsys.readouterr()
    code = info.value.code
    return (code if isinstance(code, int) else (0 if code is None else 1)), out, err


def _user(url: str, username: str) -> dict[str, Any]:
    engine = create_engine(url)
    try:
        with session_scope(engine) as session:
            return users.get_by_username(session=session, username=username)
    finally:
        engine.dispose()


def test_users_add_with_a_prompted_password_then_list(store: str) -> None:
    result = invoke(
        "users", "add", "li.na", "--role", "sales", "--team", "east", input=f"{STRONG}\n{STRONG}\n"
    )
    assert result.exit_code == 0, result.output
    assert "li.na" in result.output and "Sales" in result.output  # the role by its label
    user = _user(store, "li.na")
    assert user["password_hash"].startswith("$argon2id$") and user["team"] == "east"
    listed = invoke("users", "list", "--json")
    assert listed.exit_code == 0
    payload = json.loads(listed.stdout)
    assert payload[0]["username"] == "li.na" and payload[0]["has_password"] is True
    assert "password_hash" not in payload[0]
    table = invoke("users", "list")
    assert "li.na" in table.stdout


def test_users_add_from_stdin_and_without_password(store: str) -> None:
    assert (
        invoke(
            "users", "add", "ops", "--role", "admin", "--password-stdin", input=f"{STRONG}\n"
        ).exit_code
        == 0
    )
    assert invoke("users", "add", "shop-bot", "--role", "sales", "--no-password").exit_code == 0
    assert _user(store, "shop-bot")["password_hash"] is None


def test_users_errors_map_to_exit_codes(
    store: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "stdin", open(os.devnull))  # noqa: SIM115 - closed by pytest
    code, _, err = entry_point(
        monkeypatch, capsys, "users", "add", "a", "--role", "sales", "--no-password"
    )
    assert code == 0
    code, _, err = entry_point(
        monkeypatch, capsys, "users", "add", "a", "--role", "sales", "--no-password"
    )
    assert code == 6 and "already exists" in err  # Conflict
    code, _, err = entry_point(monkeypatch, capsys, "users", "disable", "nobody")
    assert code == 5 and "nobody" in err  # NotFound
    code, _, err = entry_point(
        monkeypatch, capsys, "users", "token", "a", "--name", "x", "--scope", "customers:delete"
    )
    assert code == 7 and "unknown scope" in err  # ValidationFailed


@pytest.mark.parametrize(
    ("username", "password", "reason"),
    [
        ("li.na", "12345678", "too easy to guess"),
        ("li.na", "aaaaaaaaaaaa", "one character repeated"),
        ("li.na", "Li.Na2024!", "too close to it"),
        ("li.na", "short", "at least 8 characters"),
    ],
)
def test_users_add_refuses_weak_passwords_and_says_why(
    store: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    username: str,
    password: str,
    reason: str,
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(f"{password}\n"))
    code, _, err = entry_point(
        monkeypatch, capsys, "users", "add", username, "--role", "sales", "--password-stdin"
    )
    assert code == 7, err  # ValidationFailed
    said = " ".join(err.split())  # the console may wrap the line
    assert reason in said and "passphrase" in said
    assert invoke("users", "list", "--json").stdout.strip() == "[]"


def test_users_passwd_sets_a_password_of_an_account_created_without_one(store: str) -> None:
    assert invoke("users", "add", "admin", "--role", "admin", "--no-password").exit_code == 0
    result = invoke("users", "passwd", "admin", "--password-stdin", input=f"{STRONG}\n")
    assert result.exit_code == 0, result.output
    assert "password of admin set" in result.output
    assert users.verify_password(_user(store, "admin")["password_hash"], STRONG)
    # prompted for twice otherwise; a reset replaces the old password
    other = "violet harbour cactus"
    result = invoke("users", "passwd", "admin", input=f"{other}\n{other}\n")
    assert result.exit_code == 0, result.output
    assert result.output.count("assword") >= 2  # the prompt and its confirmation
    stored = _user(store, "admin")["password_hash"]
    assert users.verify_password(stored, other) and not users.verify_password(stored, STRONG)


def test_users_passwd_refuses_weak_passwords_and_unknown_accounts(
    store: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert invoke("users", "add", "li.na", "--role", "sales", "--no-password").exit_code == 0
    monkeypatch.setattr(sys, "stdin", io.StringIO("12345678\n"))
    code, _, err = entry_point(monkeypatch, capsys, "users", "passwd", "li.na", "--password-stdin")
    said = " ".join(err.split())
    assert code == 7, err  # ValidationFailed
    assert "password refused" in said and "too easy to guess" in said and "passphrase" in said
    assert _user(store, "li.na")["password_hash"] is None  # nothing changed
    monkeypatch.setattr(sys, "stdin", io.StringIO(f"{STRONG}\n"))
    code, _, err = entry_point(monkeypatch, capsys, "users", "passwd", "nobody", "--password-stdin")
    assert code == 5 and "nobody" in err  # NotFound


def test_users_unlock_forgets_failed_log_ins(store: str) -> None:
    engine = create_engine(store)
    policy = login_throttle.ThrottlePolicy(account_max_failures=1, address_max_failures=1)
    with session_scope(engine) as session:
        attempt = login_throttle.begin(
            session=session, username="li.na", address="10.0.0.7", policy=policy
        )
        login_throttle.record_failure(session=session, attempt=attempt, policy=policy)
    result = invoke("users", "unlock", "li.na", "--address", "10.0.0.7")
    assert result.exit_code == 0, result.output
    assert "unlocked" in result.output
    with session_scope(engine) as session:
        attempt = login_throttle.begin(
            session=session, username="LI.NA", address="10.0.0.7", policy=policy
        )
        assert attempt.lock() is None and attempt.account.failures == 0
    engine.dispose()
    assert invoke("users", "unlock").exit_code != 0


def test_users_token_prints_the_secret_once_and_revoke(store: str) -> None:
    invoke("users", "add", "shop-bot", "--role", "sales", "--no-password")
    result = invoke(
        "users",
        "token",
        "shop-bot",
        "--name",
        "shop",
        "--scope",
        "orders:write",
        "--scope",
        "customers:read",
        "--expires-days",
        "30",
    )
    assert result.exit_code == 0, result.output
    secret = result.stdout.strip()
    assert secret.startswith("rpt_") and "\n" not in secret
    engine = create_engine(store)
    with session_scope(engine) as session:
        token = tokens.verify(session=session, secret=secret)
        assert token is not None and token["scopes"] == ["customers:read", "orders:write"]
        assert token["expires_at"] is not None
    listed = json.loads(invoke("users", "list", "--json").stdout)
    assert listed[0]["tokens"][0]["state"] == "active"
    assert secret not in invoke("users", "list", "--json").stdout
    assert invoke("users", "revoke", str(token["id"])).exit_code == 0
    with session_scope(engine) as session:
        assert tokens.verify(session=session, secret=secret) is None
    engine.dispose()
    assert (
        json.loads(invoke("users", "list", "--json").stdout)[0]["tokens"][0]["state"] == "revoked"
    )


def test_users_disable(store: str) -> None:
    invoke("users", "add", "li.na", "--role", "sales", "--no-password")
    assert invoke("users", "disable", "li.na").exit_code == 0
    assert _user(store, "li.na")["is_active"] is False


# --- serve ---------------------------------------------------------------------------------


def test_serve_refuses_the_default_secret_outside_development(
    store: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("RAPPORT_ENVIRONMENT", "production")
    monkeypatch.setenv("RAPPORT_SECRET_KEY", DEFAULT_SECRET_KEY)
    code, _, err = entry_point(monkeypatch, capsys, "serve")
    assert code == 3
    assert len(err.strip().splitlines()) == 1
    assert "RAPPORT_SECRET_KEY" in err and "production" in err


def test_serve_refuses_an_uninitialised_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("RAPPORT_DATABASE_URL", f"sqlite:///{tmp_path / 'empty.db'}")
    code, _, err = entry_point(monkeypatch, capsys, "serve")
    assert code == 4 and "rapport init" in err


@pytest.mark.slow  # a real server or worker, waiting on real time
def test_serve_runs_uvicorn_on_the_given_address(
    store: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import uvicorn

    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: calls.append({"app": app, **kw}))
    monkeypatch.setenv("RAPPORT_ENVIRONMENT", "production")
    monkeypatch.setenv("RAPPORT_SECRET_KEY", SECRET)
    result = invoke("serve", "--host", "0.0.0.0", "--port", "9123")
    assert result.exit_code == 0, result.output
    assert calls[0]["host"] == "0.0.0.0" and calls[0]["port"] == 9123
    assert calls[0]["app"].openapi()["info"]["title"] == "Rapport API"


@pytest.mark.slow  # a real server or worker, waiting on real time
def test_a_real_server_answers_login_and_reads(store: str, tmp_path: Path) -> None:
    engine = create_engine(store)
    with session_scope(engine) as session:
        users.create_user(session=session, username="ops", role="admin", password=STRONG)
    engine.dispose()
    port = free_port()
    env = {**os.environ, "RAPPORT_DATABASE_URL": store, "RAPPORT_DATA_DIR": str(tmp_path / "d")}
    script = Path(sys.executable).parent / "rapport"
    server = subprocess.Popen(
        [str(script), "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{base}/openapi.json", timeout=1)
                break
            except httpx.TransportError:
                assert server.poll() is None, server.stderr.read().decode() if server.stderr else ""
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.2)
        login = httpx.post(
            f"{base}/api/v1/auth/login", json={"username": "ops", "password": STRONG}
        )
        assert login.status_code == 200
        token = login.json()["access_token"]
        customers = httpx.get(
            f"{base}/api/v1/customers", headers={"Authorization": f"Bearer {token}"}
        )
        assert customers.status_code == 200 and customers.json()["count"] == 0
        assert httpx.get(f"{base}/api/v1/customers").status_code == 401
    finally:
        server.terminate()
        server.wait(timeout=10)
