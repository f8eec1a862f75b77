"""The log-in throttle's counters: lock-out after the limit, exponential back-off up to the
maximum, failures forgotten after the window, success clearing the account only, unknown
usernames counted like known ones, stale counters pruned, and administrators' unlock."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Session

from rapport.config import Settings
from rapport.domain import LoginThrottleKind
from rapport.store import login_throttle, schema
from rapport.store.login_throttle import ThrottlePolicy

T0 = dt.datetime(2024, 3, 1, 9, 0, tzinfo=dt.UTC)
POLICY = ThrottlePolicy(
    account_max_failures=3,
    address_max_failures=5,
    lockout_seconds=60,
    lockout_max_seconds=600,
    window_seconds=3600,
)


def _fail(session: Session, at: dt.datetime, username: str = "li.na", address: str = "10.0.0.1"):
    attempt = login_throttle.begin(
        session=session, username=username, address=address, policy=POLICY, now=at
    )
    assert attempt.lock() is None, "a locked attempt is refused, never counted"
    return login_throttle.record_failure(session=session, attempt=attempt, policy=POLICY)


def _lock(session: Session, at: dt.datetime, username: str = "li.na", address: str = "10.0.0.1"):
    attempt = login_throttle.begin(
        session=session, username=username, address=address, policy=POLICY, now=at
    )
    return attempt.lock()


def _rows(session: Session) -> list[dict]:
    t = schema.login_throttle
    return [dict(r) for r in session.execute(sa.select(t).order_by(t.c.id)).mappings()]


def test_the_policy_doubles_the_lockout_up_to_the_maximum() -> None:
    account = LoginThrottleKind.ACCOUNT
    assert [POLICY.lockout(n, account) for n in (1, 2)] == [None, None]
    seconds = [POLICY.lockout(n, account).total_seconds() for n in range(3, 9)]
    assert seconds == [60, 120, 240, 480, 600, 600]
    assert POLICY.lockout(10_000, account) == dt.timedelta(seconds=600)
    assert POLICY.lockout(4, LoginThrottleKind.ADDRESS) is None


def test_policy_from_settings() -> None:
    settings = Settings(_env_file=None, login_max_failures=7, login_lockout_seconds=5)
    policy = ThrottlePolicy.from_settings(settings)
    assert (policy.account_max_failures, policy.lockout_seconds) == (7, 5)
    assert policy.address_max_failures == settings.login_address_max_failures


def test_lockout_after_the_limit_then_back_off(session: Session) -> None:
    assert _fail(session, T0) is None
    assert _fail(session, T0 + dt.timedelta(seconds=1)) is None
    assert _fail(session, T0 + dt.timedelta(seconds=2)) == dt.timedelta(seconds=60)
    assert _lock(session, T0 + dt.timedelta(seconds=3)) == (LoginThrottleKind.ACCOUNT, 59)
    # another username from the same address is not locked (5 for an address)
    assert _lock(session, T0 + dt.timedelta(seconds=3), username="wang.wei") is None
    # once the lock-out ends, one more failure locks twice as long
    after = T0 + dt.timedelta(seconds=62)
    assert _lock(session, after) is None
    assert _fail(session, after) == dt.timedelta(seconds=120)
    assert _lock(session, after + dt.timedelta(seconds=1)) == (LoginThrottleKind.ACCOUNT, 119)


def test_usernames_are_counted_case_folded_whether_they_exist_or_not(session: Session) -> None:
    for n, name in enumerate(("Nobody", "NOBODY", "nobody")):
        _fail(session, T0 + dt.timedelta(seconds=n), username=name)
    assert _lock(session, T0 + dt.timedelta(seconds=5), username="nObOdY") is not None


def test_an_address_is_locked_after_its_own_limit(session: Session) -> None:
    for n in range(5):  # five accounts, one failure each, from one address
        _fail(session, T0 + dt.timedelta(seconds=n), username=f"user{n}")
    kind, wait = _lock(session, T0 + dt.timedelta(seconds=5), username="someone-else")
    assert kind is LoginThrottleKind.ADDRESS and wait == 59
    assert _lock(session, T0 + dt.timedelta(seconds=5), address="10.0.0.2") is None


def test_success_clears_the_account_but_not_the_address(session: Session) -> None:
    _fail(session, T0)
    _fail(session, T0 + dt.timedelta(seconds=1))
    attempt = login_throttle.begin(
        session=session, username="li.na", address="10.0.0.1", policy=POLICY, now=T0
    )
    login_throttle.record_success(session=session, attempt=attempt)
    rows = {(r["kind"], r["subject"]): r["failures"] for r in _rows(session)}
    assert rows == {("address", "10.0.0.1"): 2}
    # two more failures do not lock the account (the count started again)
    _fail(session, T0 + dt.timedelta(seconds=2))
    _fail(session, T0 + dt.timedelta(seconds=3))
    assert _lock(session, T0 + dt.timedelta(seconds=4)) is None


def test_failures_are_forgotten_after_the_window(session: Session) -> None:
    _fail(session, T0)
    _fail(session, T0 + dt.timedelta(seconds=1))
    later = T0 + dt.timedelta(seconds=3602)
    assert _fail(session, later) is None  # counted as the first of a new run
    attempt = login_throttle.begin(
        session=session, username="li.na", address="10.0.0.1", policy=POLICY, now=later
    )
    assert attempt.account.failures == 1


def test_a_successful_attempt_leaves_no_counters(session: Session) -> None:
    attempt = login_throttle.begin(
        session=session, username="li.na", address="10.0.0.1", policy=POLICY, now=T0
    )
    login_throttle.record_success(session=session, attempt=attempt)
    assert _rows(session) == []


def test_stale_counters_are_pruned_and_running_lockouts_kept(session: Session) -> None:
    for _ in range(3):
        _fail(session, T0, username="locked")
    _fail(session, T0, username="old", address="10.0.0.9")
    later = T0 + dt.timedelta(seconds=4000)
    # the lock of "locked" ended long ago too; pretend a long one still runs
    t = schema.login_throttle
    session.execute(
        sa.update(t).where(t.c.subject == "locked").values(locked_until=later + dt.timedelta(1))
    )
    assert login_throttle.prune(session=session, policy=POLICY, now=later) == 3
    assert {r["subject"] for r in _rows(session)} == {"locked"}


def test_clear_lifts_a_lockout(session: Session) -> None:
    for n in range(3):
        _fail(session, T0 + dt.timedelta(seconds=n))
    assert login_throttle.clear(session=session, username="LI.NA") == 1
    assert _lock(session, T0 + dt.timedelta(seconds=4)) is None
    assert login_throttle.clear(session=session, address="10.0.0.1") == 1
    assert login_throttle.clear(session=session) == 0


def test_a_missing_address_is_counted_as_unknown(session: Session) -> None:
    _fail(session, T0, address=None)  # type: ignore[arg-type]
    assert {r["subject"] for r in _rows(session)} == {"li.na", login_throttle.UNKNOWN_ADDRESS}
