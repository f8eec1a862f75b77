"""Staff users: argon2 passwords, log-in that does not reveal usernames, disable, list."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from argon2 import PasswordHasher, profiles
from sqlalchemy.orm import Session

from rapport.config import get_settings
from rapport.domain import Role
from rapport.errors import Conflict, NotFound, ValidationFailed
from rapport.store import users

from .factories import ext


@pytest.fixture(autouse=True)
def cheap_hasher(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(users, "password_hasher", PasswordHasher.from_parameters(profiles.CHEAPEST))
    yield


def test_create_user_stores_an_argon2_hash_never_the_password(session: Session) -> None:
    row = users.create_user(
        session=session, username=ext("li"), role=Role.SALES, password="correct horse"
    )
    assert row["password_hash"].startswith("$argon2id$")
    assert "correct horse" not in row["password_hash"]
    assert row["is_active"] is True
    assert row["display_name"] == row["username"]


def test_authenticate_accepts_the_right_password_only(session: Session) -> None:
    name = ext("li")
    users.create_user(session=session, username=name, role=Role.SALES, password="correct horse")
    assert users.authenticate(session=session, username=name, password="correct horse")
    assert users.authenticate(session=session, username=name, password="wrong horse") is None
    assert users.authenticate(session=session, username=ext("nobody"), password="x" * 9) is None


def test_disabled_users_and_users_without_password_cannot_log_in(session: Session) -> None:
    name = ext("li")
    users.create_user(session=session, username=name, role=Role.SALES, password="correct horse")
    disabled = users.disable(session=session, username=name)
    assert disabled["is_active"] is False
    assert users.authenticate(session=session, username=name, password="correct horse") is None
    bot = ext("bot")
    users.create_user(session=session, username=bot, role=Role.ADMIN)
    assert users.authenticate(session=session, username=bot, password="") is None


def test_unknown_user_costs_a_hash_verification(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    # With the real (slow) hasher, an unknown user takes as long as a wrong password.
    monkeypatch.setattr(users, "password_hasher", PasswordHasher())
    name = ext("li")
    users.create_user(session=session, username=name, role=Role.SALES, password="correct horse")

    def timed(username: str) -> float:
        start = time.perf_counter()
        assert users.authenticate(session=session, username=username, password="guess1234") is None
        return time.perf_counter() - start

    timed(ext("warm-up"))  # the dummy hash is made once
    wrong = min(timed(name) for _ in range(3))
    unknown = min(timed(ext("nobody")) for _ in range(3))
    assert unknown > wrong / 3, (unknown, wrong)


def test_rehash_on_login_when_parameters_changed(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = ext("li")
    old = users.create_user(
        session=session, username=name, role=Role.SALES, password="tea garden lantern"
    )
    monkeypatch.setattr(
        users, "password_hasher", PasswordHasher(time_cost=2, memory_cost=1024, parallelism=1)
    )
    row = users.authenticate(session=session, username=name, password="tea garden lantern")
    assert row is not None and row["password_hash"] != old["password_hash"]
    assert users.authenticate(session=session, username=name, password="tea garden lantern")


def test_short_passwords_and_bad_fields_are_refused(session: Session) -> None:
    with pytest.raises(ValidationFailed, match="at least 8") as info:
        users.create_user(session=session, username=ext("li"), role=Role.SALES, password="short")
    assert info.value.field == "password"
    with pytest.raises(ValidationFailed) as info:
        users.create_user(session=session, username=ext("li"), role="boss", password="long enough")
    assert info.value.field == "role"
    with pytest.raises(ValidationFailed):
        users.create_user(session=session, username=" padded ", role=Role.SALES)


def test_duplicate_username_is_a_conflict(session: Session) -> None:
    name = ext("li")
    users.create_user(session=session, username=name, role=Role.SALES)
    with pytest.raises(Conflict):
        users.create_user(session=session, username=name, role=Role.ANALYST)


def test_list_and_disable(session: Session) -> None:
    a, b = ext("a"), ext("b")
    users.create_user(session=session, username=a, role=Role.SALES, team="east")
    users.create_user(session=session, username=b, role=Role.MANAGER, team="east")
    users.disable(session=session, username=a)
    names = [u["username"] for u in users.list_users(session=session)]
    assert a in names and b in names and names == sorted(names)
    active = [u["username"] for u in users.list_users(session=session, include_inactive=False)]
    assert a not in active and b in active
    with pytest.raises(NotFound):
        users.disable(session=session, username=ext("nobody"))


def test_set_password(session: Session) -> None:
    name = ext("li")
    row = users.create_user(
        session=session, username=name, role=Role.SALES, password="blue kettle orbit"
    )
    users.set_password(session=session, user_id=row["id"], password="quiet river stone")
    assert users.authenticate(session=session, username=name, password="blue kettle orbit") is None
    assert users.authenticate(session=session, username=name, password="quiet river stone")


# --- password policy -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("12345678", "too easy to guess (this is a top-10 common password)"),
        ("password1", "too easy to guess"),
        ("qwertyuiop", "too easy to guess"),
        ("woaini1314", "too easy to guess"),  # 我爱你一生一世, common in China
        ("P@ssw0rd2024", "too easy to guess"),
        ("11111111", "one character repeated"),
        ("zzzzzzzzzzzzzzzz", "one character repeated"),
        ("zhang.wei", "the username or too close to it"),
        ("ZhangWei2024!", "the username or too close to it"),
        ("iew.gnahz99", "the username or too close to it"),  # reversed
        ("WangFang88", "too easy to guess"),  # the display name
        ("fang.wang.88", "too easy to guess"),  # the e-mail's local part
        ("short", "at least 8 characters"),
    ],
)
def test_weak_passwords_are_refused_saying_why_and_what_to_do(
    session: Session, password: str, reason: str
) -> None:
    with pytest.raises(ValidationFailed) as info:
        users.create_user(
            session=session,
            username="zhang.wei",
            role=Role.SALES,
            password=password,
            display_name="Wang Fang",
            email="fang.wang@example.com",
        )
    assert reason in info.value.message
    assert info.value.field == "password" and info.value.table == "users"
    assert "passphrase" in (info.value.hint or "")
    assert password not in str(info.value)  # never echoed
    assert users.list_users(session=session) == []


@pytest.mark.parametrize(
    "password",
    ["correct horse battery", "blue kettle orbit", "我的猫喜欢在窗台上晒太阳", "Kx7!mQ2#vL9p"],
)
def test_strong_passwords_are_accepted(session: Session, password: str) -> None:
    row = users.create_user(session=session, username=ext("li"), role=Role.SALES, password=password)
    assert users.authenticate(session=session, username=row["username"], password=password)


def test_set_password_applies_the_policy(session: Session) -> None:
    row = users.create_user(
        session=session, username="li.na", role=Role.SALES, password="blue kettle orbit"
    )
    for weak in ("12345678", "li.na2024", "aaaaaaaaaa"):
        with pytest.raises(ValidationFailed):
            users.set_password(session=session, user_id=row["id"], password=weak)
    assert users.authenticate(session=session, username="li.na", password="blue kettle orbit")


def test_the_policy_comes_from_settings(session: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAPPORT_PASSWORD_MIN_LENGTH", "20")
    get_settings.cache_clear()
    with pytest.raises(ValidationFailed, match="at least 20"):
        users.create_user(
            session=session, username=ext("li"), role=Role.SALES, password="blue kettle orbit"
        )
    monkeypatch.setenv("RAPPORT_PASSWORD_MIN_LENGTH", "8")
    monkeypatch.setenv("RAPPORT_PASSWORD_MIN_SCORE", "0")
    get_settings.cache_clear()
    users.create_user(session=session, username=ext("li"), role=Role.SALES, password="woaini1314")
    # the username, repeats and length hold whatever the score
    policy = users.PasswordPolicy(min_length=8, min_score=0)
    with pytest.raises(ValidationFailed, match="repeated"):
        users.check_password("aaaaaaaa", username="x", policy=policy)
    get_settings.cache_clear()
