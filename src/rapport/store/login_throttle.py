"""The log-in throttle: failed log-ins counted per account and per client address, in the
store (``login_throttle``), so that every API worker and process sees the same counters.

* An account (the username as sent, case-folded — whether or not such a user exists, so
  the throttle tells nothing about which usernames exist) is locked out after
  ``account_max_failures`` failures in a row, a client address after
  ``address_max_failures``.
* The first lock-out lasts ``lockout_seconds``; every further failure once the limit is
  reached doubles it (exponential back-off), up to ``lockout_max_seconds``. While a lock
  runs, log-ins of the account (or from the address) are refused without checking the
  password — the right password too.
* A successful log-in clears its account's counter (not its address's: one valid account
  must not reset the count of an address that tries many). Failures are forgotten after
  ``window_seconds`` without one (counted from the last failure or the end of the lock-out).

:func:`begin` inserts the two counters when missing and locks them (``SELECT … FOR
UPDATE`` on PostgreSQL; on SQLite the writer's transaction holds the database's write
lock) until the transaction ends: concurrent attempts on one account or from one address,
in any worker, are counted one after the other and none slips past a lock-out.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from rapport.config import Settings
from rapport.domain import LoginThrottleKind
from rapport.store import schema
from rapport.store.db import insert_ignoring_duplicates, rowcount
from rapport.store.repository import utcnow

_t = schema.login_throttle
#: A doubling never goes beyond 2**_MAX_DOUBLINGS (the maximum caps it long before).
_MAX_DOUBLINGS = 30
#: Stale counters removed per failed log-in at most.
PRUNE_BATCH = 100
#: The subject of attempts whose client address is unknown.
UNKNOWN_ADDRESS = "unknown"
SUBJECT_LENGTH = 128


@dataclass(frozen=True)
class ThrottlePolicy:
    """The limits of the throttle (``RAPPORT_LOGIN_*`` settings)."""

    account_max_failures: int = 5
    address_max_failures: int = 20
    lockout_seconds: int = 60
    lockout_max_seconds: int = 900
    window_seconds: int = 3600

    @classmethod
    def from_settings(cls, settings: Settings) -> ThrottlePolicy:
        return cls(
            account_max_failures=settings.login_max_failures,
            address_max_failures=settings.login_address_max_failures,
            lockout_seconds=settings.login_lockout_seconds,
            lockout_max_seconds=max(settings.login_lockout_max_seconds, 1),
            window_seconds=settings.login_failure_window_seconds,
        )

    def max_failures(self, kind: LoginThrottleKind) -> int:
        if kind is LoginThrottleKind.ACCOUNT:
            return self.account_max_failures
        return self.address_max_failures

    def lockout(self, failures: int, kind: LoginThrottleKind) -> dt.timedelta | None:
        """How long ``failures`` failures in a row lock ``kind`` out (``None``: not yet)."""
        over = failures - self.max_failures(kind)
        if over < 0:
            return None
        seconds = self.lockout_seconds * 2 ** min(over, _MAX_DOUBLINGS)
        return dt.timedelta(seconds=min(seconds, self.lockout_max_seconds))


@dataclass(frozen=True)
class Counter:
    """One counter as read by :func:`begin` (failures already forgotten when stale)."""

    id: int
    kind: LoginThrottleKind
    subject: str
    failures: int
    locked_until: dt.datetime | None


@dataclass(frozen=True)
class Attempt:
    """The counters of one log-in attempt, locked until its transaction ends."""

    account: Counter
    address: Counter
    now: dt.datetime

    def lock(self) -> tuple[LoginThrottleKind, int] | None:
        """The lock-out running now, if any: what is locked and the whole seconds to wait
        (the longer of the two when both are)."""
        running = [
            (c.locked_until, c.kind)
            for c in (self.account, self.address)
            if c.locked_until is not None and c.locked_until > self.now
        ]
        if not running:
            return None
        until, kind = max(running, key=lambda r: r[0])
        return kind, max(1, math.ceil((until - self.now).total_seconds()))


def account_subject(username: str) -> str:
    return username.casefold()[:SUBJECT_LENGTH]


def address_subject(address: str | None) -> str:
    return (address or UNKNOWN_ADDRESS)[:SUBJECT_LENGTH]


def _insert_missing(session: Session, rows: list[dict]) -> None:
    insert_ignoring_duplicates(session, _t, rows)


def _counter(row: sa.RowMapping, now: dt.datetime, policy: ThrottlePolicy) -> Counter:
    failures = row["failures"]
    quiet_since = max((t for t in (row["last_failed_at"], row["locked_until"]) if t), default=None)
    if quiet_since is not None and now - quiet_since >= dt.timedelta(seconds=policy.window_seconds):
        failures = 0
    return Counter(
        id=row["id"],
        kind=LoginThrottleKind(row["kind"]),
        subject=row["subject"],
        failures=failures,
        locked_until=row["locked_until"],
    )


def begin(
    *,
    session: Session,
    username: str,
    address: str | None,
    policy: ThrottlePolicy,
    now: dt.datetime | None = None,
) -> Attempt:
    """The counters of an attempt to log in as ``username`` from ``address``, inserted
    when missing and locked until the session's transaction ends."""
    now = now or utcnow()
    wanted = [
        (LoginThrottleKind.ACCOUNT, account_subject(username)),
        (LoginThrottleKind.ADDRESS, address_subject(address)),
    ]
    _insert_missing(
        session,
        [{"kind": k.value, "subject": s, "failures": 0} for k, s in wanted],
    )
    found: dict[LoginThrottleKind, Counter] = {}
    for kind, subject in wanted:  # always account, then address: one lock order
        row = (
            session.execute(
                sa.select(_t)
                .where(_t.c.kind == kind.value, _t.c.subject == subject)
                .with_for_update()
            )
            .mappings()
            .one()
        )
        found[kind] = _counter(row, now, policy)
    return Attempt(
        account=found[LoginThrottleKind.ACCOUNT],
        address=found[LoginThrottleKind.ADDRESS],
        now=now,
    )


def record_failure(
    *, session: Session, attempt: Attempt, policy: ThrottlePolicy
) -> dt.timedelta | None:
    """Count a failed log-in on both counters of ``attempt``; returns the lock-out it
    starts on the account or the address (the longer), or ``None``."""
    longest: dt.timedelta | None = None
    for counter in (attempt.account, attempt.address):
        failures = counter.failures + 1
        lockout = policy.lockout(failures, counter.kind)
        session.execute(
            sa.update(_t)
            .where(_t.c.id == counter.id)
            .values(
                failures=failures,
                last_failed_at=attempt.now,
                locked_until=attempt.now + lockout if lockout else None,
            )
        )
        if lockout is not None and (longest is None or lockout > longest):
            longest = lockout
    prune(session=session, policy=policy, now=attempt.now)
    return longest


def record_success(*, session: Session, attempt: Attempt) -> None:
    """Clear the account's counter; the address's goes away only when it counts nothing."""
    session.execute(sa.delete(_t).where(_t.c.id == attempt.account.id))
    if attempt.address.failures == 0:
        session.execute(sa.delete(_t).where(_t.c.id == attempt.address.id))


def prune(*, session: Session, policy: ThrottlePolicy, now: dt.datetime | None = None) -> int:
    """Remove up to :data:`PRUNE_BATCH` counters whose failures are forgotten (no lock-out
    running, no failure within the window), skipping those another attempt holds."""
    now = now or utcnow()
    cutoff = now - dt.timedelta(seconds=policy.window_seconds)
    stale = (
        sa.select(_t.c.id)
        .where(
            sa.or_(_t.c.locked_until.is_(None), _t.c.locked_until < cutoff),
            sa.or_(_t.c.last_failed_at.is_(None), _t.c.last_failed_at < cutoff),
        )
        .limit(PRUNE_BATCH)
        .with_for_update(skip_locked=True)
    )
    ids = list(session.execute(stale).scalars())
    if not ids:
        return 0
    session.execute(sa.delete(_t).where(_t.c.id.in_(ids)))
    return len(ids)


def clear(*, session: Session, username: str | None = None, address: str | None = None) -> int:
    """Lift the lock-out and forget the failures of an account and/or a client address
    (an administrator's ``rapport users unlock``); returns the counters removed."""
    conditions = []
    if username is not None:
        conditions.append(
            sa.and_(
                _t.c.kind == LoginThrottleKind.ACCOUNT.value,
                _t.c.subject == account_subject(username),
            )
        )
    if address is not None:
        conditions.append(
            sa.and_(
                _t.c.kind == LoginThrottleKind.ADDRESS.value,
                _t.c.subject == address_subject(address),
            )
        )
    if not conditions:
        return 0
    return rowcount(session.execute(sa.delete(_t).where(sa.or_(*conditions))))
