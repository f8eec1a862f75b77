"""API tokens: issued once, stored hashed, verified, expired, revoked, scoped."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.orm import Session

from rapport.domain import Role
from rapport.errors import NotFound, ValidationFailed
from rapport.store import tokens, users

from .factories import ext


def _user(session: Session) -> dict:
    return users.create_user(session=session, username=ext("int"), role=Role.SALES)


def test_issue_returns_the_secret_once_and_stores_only_its_hash(session: Session) -> None:
    user = _user(session)
    secret, row = tokens.issue(
        session=session, user_id=user["id"], name="shop", scopes=["orders:write", "customers:read"]
    )
    assert secret.startswith("rpt_") and len(secret) == 47
    assert row["token_hash"] == tokens.hash_secret(secret) and len(row["token_hash"]) == 64
    assert row["prefix"] == secret[:12]
    assert row["scopes"] == ["customers:read", "orders:write"]
    stored = tokens.list_tokens(session=session, user_id=user["id"])
    assert [t["id"] for t in stored] == [row["id"]]
    assert all(secret not in str(v) for v in stored[0].values() if v != row["prefix"])


def test_verify_finds_live_tokens_only(session: Session) -> None:
    user = _user(session)
    secret, row = tokens.issue(session=session, user_id=user["id"], name="a", scopes=["*"])
    assert tokens.verify(session=session, secret=secret)["id"] == row["id"]
    assert tokens.verify(session=session, secret=secret + "x") is None
    assert tokens.verify(session=session, secret="eyJhbGciOi.not.a.token") is None
    tokens.revoke(session=session, token_id=row["id"])
    assert tokens.verify(session=session, secret=secret) is None


def test_expired_tokens_do_not_verify(session: Session) -> None:
    user = _user(session)
    now = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    secret, _ = tokens.issue(
        session=session,
        user_id=user["id"],
        name="a",
        scopes=["*"],
        expires_at=now + dt.timedelta(days=1),
    )
    assert tokens.verify(session=session, secret=secret, now=now) is not None
    assert tokens.verify(session=session, secret=secret, now=now + dt.timedelta(days=1)) is None


def test_revoke_twice_keeps_the_first_time(session: Session) -> None:
    user = _user(session)
    _, row = tokens.issue(session=session, user_id=user["id"], name="a", scopes=["*"])
    first = tokens.revoke(session=session, token_id=row["id"])
    again = tokens.revoke(session=session, token_id=row["id"])
    assert again["revoked_at"] == first["revoked_at"] is not None
    with pytest.raises(NotFound):
        tokens.revoke(session=session, token_id=10**6)


def test_touch_writes_at_most_once_a_minute(session: Session) -> None:
    user = _user(session)
    secret, _ = tokens.issue(session=session, user_id=user["id"], name="a", scopes=["*"])
    t0 = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    token = tokens.verify(session=session, secret=secret)
    assert tokens.touch(session=session, token=token, at=t0)
    token = tokens.verify(session=session, secret=secret)
    assert token["last_used_at"] == t0
    assert not tokens.touch(session=session, token=token, at=t0 + dt.timedelta(seconds=30))
    assert tokens.touch(session=session, token=token, at=t0 + dt.timedelta(seconds=61))


@pytest.mark.parametrize("scopes", [[], ["customers:delete"], ["everything"]])
def test_unknown_or_missing_scopes_are_refused(session: Session, scopes: list[str]) -> None:
    user = _user(session)
    with pytest.raises(ValidationFailed) as info:
        tokens.issue(session=session, user_id=user["id"], name="a", scopes=scopes)
    assert info.value.field == "scopes"


def test_allows() -> None:
    assert tokens.allows(["*"], "customers:write")
    assert tokens.allows(["customers:read"], "customers:read")
    assert not tokens.allows(["customers:write"], "customers:read")
    assert not tokens.allows([], "customers:read")


def test_tokens_are_deleted_with_their_user(session: Session) -> None:
    user = _user(session)
    tokens.issue(session=session, user_id=user["id"], name="a", scopes=["*"])
    users.repo.delete(session=session, id=user["id"])
    assert tokens.list_tokens(session=session, user_id=user["id"]) == []
