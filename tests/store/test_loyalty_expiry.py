"""Points expiry, first in first out: the replay's properties on random ledgers
(Hypothesis), the job on SQLite and PostgreSQL, and the job racing a redemption."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from rapport.domain import LoyaltyReason
from rapport.errors import Conflict
from rapport.store import loyalty, schema
from rapport.store import loyalty_expiry as expiry
from rapport.store.db import session_scope

from .factories import T0, customer

DAYS = 365
DAY = dt.timedelta(days=1)


# --- the replay, on random ledgers --------------------------------------------------------


@st.composite
def ledgers(draw: st.DrawFn) -> list[dict[str, Any]]:
    """A ledger as the store allows it: earnings, and spends never above the balance of
    their moment, at random times over three years."""
    steps = draw(
        st.lists(
            st.tuples(st.integers(0, 3 * DAYS), st.booleans(), st.integers(1, 500)),
            max_size=30,
        )
    )
    entries: list[dict[str, Any]] = []
    balance = 0
    for n, (day, earns, points) in enumerate(sorted(steps)):
        if not earns:
            points = -min(points, balance)
            if points == 0:
                continue
        balance += points
        entries.append(
            {
                "id": n + 1,
                "points": points,
                "reason": LoyaltyReason.PURCHASE if points > 0 else LoyaltyReason.REDEEM,
                "reference": None,
                "occurred_at": T0 + day * DAY,
            }
        )
    return entries


def _post(entries: list[dict[str, Any]], at: dt.datetime) -> list[dict[str, Any]]:
    """``entries`` with the expiry entries the job would post at ``at``."""
    due = expiry.due_expiries(entries, DAYS, at=at)
    first = max((e["id"] for e in entries), default=0) + 1
    return entries + [
        {
            "id": first + n,
            "points": -lot.left,
            "reason": LoyaltyReason.EXPIRE,
            "reference": f"expire:{lot.entry_id}",
            "occurred_at": lot.expires_at,
        }
        for n, lot in enumerate(due)
    ]


@settings(max_examples=300, deadline=None)
@given(ledgers())
def test_what_is_left_of_the_lots_is_the_balance_and_spends_take_the_oldest(
    entries: list[dict[str, Any]],
) -> None:
    lots = expiry.replay(entries, DAYS)
    assert sum(lot.left for lot in lots) == sum(e["points"] for e in entries)
    # first in, first out: used-up lots, then at most one lot partly used, then whole ones
    states = [0 if lot.left == 0 else 1 if lot.left < lot.points else 2 for lot in lots]
    assert states == sorted(states) and states.count(1) <= 1


@settings(max_examples=300, deadline=None)
@given(ledgers(), st.integers(0, 5 * DAYS))
def test_expiry_takes_what_is_left_of_the_expired_lots_once(
    entries: list[dict[str, Any]], day: int
) -> None:
    at = T0 + day * DAY
    before = expiry.replay(entries, DAYS)
    after_posting = _post(entries, at)
    expired = -sum(e["points"] for e in after_posting[len(entries) :])
    assert expired == sum(lot.left for lot in before if lot.expires_at <= at)
    balance = sum(e["points"] for e in after_posting)
    assert balance >= 0
    lots = expiry.replay(after_posting, DAYS)
    assert sum(lot.left for lot in lots) == balance
    # the lots not yet expired are untouched by the expiry, the expired ones used up
    for old, new in zip(before, lots, strict=True):
        assert new.left == (0 if old.expires_at <= at else old.left)
    assert expiry.due_expiries(after_posting, DAYS, at=at) == []  # posting again: nothing


@settings(max_examples=200, deadline=None)
@given(ledgers(), st.integers(0, 5 * DAYS), st.integers(1, 2_000))
def test_a_spend_after_an_expiry_is_served_by_the_lots_left(
    entries: list[dict[str, Any]], day: int, spend: int
) -> None:
    at = T0 + day * DAY
    posted = _post(entries, at)
    balance = sum(e["points"] for e in posted)
    spend = min(spend, balance)
    if spend == 0:
        return
    later = max([at, *(e["occurred_at"] for e in posted)]) + DAY
    posted.append(
        {
            "id": len(posted) + 100,
            "points": -spend,
            "reason": LoyaltyReason.REDEEM,
            "reference": None,
            "occurred_at": later,
        }
    )
    lots = expiry.replay(posted, DAYS)
    assert sum(lot.left for lot in lots) == balance - spend
    assert expiry.due_expiries(posted, DAYS, at=at) == []


def test_what_expires_when_sums_the_lots_of_one_moment() -> None:
    entries = [
        {"id": 1, "points": 100, "reason": "purchase", "reference": None, "occurred_at": T0},
        {"id": 2, "points": 50, "reason": "bonus", "reference": None, "occurred_at": T0},
        {
            "id": 3,
            "points": 30,
            "reason": "purchase",
            "reference": None,
            "occurred_at": T0 + 10 * DAY,
        },
        {"id": 4, "points": -120, "reason": "redeem", "reference": None, "occurred_at": T0 + DAY},
    ]
    assert expiry.expiring(entries, DAYS, after=T0) == [
        (T0 + DAYS * DAY, 30),
        (T0 + (DAYS + 10) * DAY, 30),
    ]
    assert expiry.expiring(entries, DAYS, after=T0 + (DAYS + 1) * DAY) == [
        (T0 + (DAYS + 10) * DAY, 30)
    ]


def test_a_debt_left_by_an_adjustment_is_paid_by_the_next_lot() -> None:
    entries = [
        {"id": 1, "points": 100, "reason": "purchase", "reference": None, "occurred_at": T0},
        {"id": 2, "points": -150, "reason": "adjust", "reference": None, "occurred_at": T0 + DAY},
        {"id": 3, "points": 80, "reason": "purchase", "reference": None, "occurred_at": T0 + DAY},
    ]
    assert [lot.left for lot in expiry.replay(entries, DAYS)] == [0, 30]
    assert expiry.due_expiries(entries, DAYS, at=T0 + 2 * DAYS * DAY)[0].left == 30


def test_an_imported_expiry_without_a_lot_consumes_the_oldest() -> None:
    entries = [
        {"id": 1, "points": 100, "reason": "purchase", "reference": None, "occurred_at": T0},
        {"id": 2, "points": 40, "reason": "purchase", "reference": None, "occurred_at": T0 + DAY},
        {"id": 3, "points": -60, "reason": "expire", "reference": "old-system", "occurred_at": T0},
    ]
    assert [lot.left for lot in expiry.replay(entries, DAYS)] == [40, 40]


# --- the job on the store -------------------------------------------------------------------


def _earn(session: Session, customer_id: int, points: int, at: dt.datetime) -> None:
    loyalty.append(
        session=session,
        values={
            "customer_id": customer_id,
            "points": points,
            "reason": LoyaltyReason.PURCHASE,
            "occurred_at": at,
        },
    )


def _ledger(session: Session, customer_id: int) -> list[dict[str, Any]]:
    ledger = schema.loyalty_ledger
    stmt = (
        sa.select(ledger.c.points, ledger.c.reason, ledger.c.reference, ledger.c.occurred_at)
        .where(ledger.c.customer_id == customer_id)
        .order_by(ledger.c.id)
    )
    return [dict(r) for r in session.execute(stmt).mappings()]


def test_post_batch_expires_what_is_left_of_the_old_lots(session: Session) -> None:
    a, b = customer(session), customer(session)
    _earn(session, a["id"], 300, T0)
    loyalty.redeem(session=session, customer_id=a["id"], points=120, at=T0 + DAY, reference="r1")
    _earn(session, a["id"], 200, T0 + 200 * DAY)
    _earn(session, b["id"], 50, T0 + 300 * DAY)
    at = T0 + (DAYS + 30) * DAY
    assert expiry.post_batch(session, [a["id"], b["id"]], expire_days=DAYS, at=at) == (1, 1, 180)
    last = _ledger(session, a["id"])[-1]
    first_id = session.execute(
        sa.select(sa.func.min(schema.loyalty_ledger.c.id)).where(
            schema.loyalty_ledger.c.customer_id == a["id"]
        )
    ).scalar_one()
    assert last == {
        "points": -180,
        "reason": LoyaltyReason.EXPIRE,
        "reference": f"expire:{first_id}",
        "occurred_at": T0 + DAYS * DAY,
    }
    assert loyalty.balance(session=session, customer_id=a["id"]) == 200
    assert expiry.post_batch(session, [a["id"], b["id"]], expire_days=DAYS, at=at) == (0, 0, 0)
    assert expiry.customer_expiring(session, customer_id=a["id"], expire_days=DAYS, after=at) == [
        (T0 + (DAYS + 200) * DAY, 200)
    ]


def test_candidates_are_the_customers_with_a_lot_old_enough(session: Session) -> None:
    a, b = customer(session), customer(session)
    _earn(session, a["id"], 10, T0)
    _earn(session, b["id"], 10, T0 + 100 * DAY)
    at = T0 + (DAYS + 1) * DAY
    ids = expiry.candidates(session, expire_days=DAYS, at=at)
    assert a["id"] in ids and b["id"] not in ids


def test_the_job_in_batches_dry_run_first(
    fresh_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(expiry, "BATCH_CUSTOMERS", 2)
    with session_scope(fresh_engine, writing=True) as session:
        ids = [customer(session)["id"] for _ in range(5)]
        for n, customer_id in enumerate(ids):
            _earn(session, customer_id, 100 + n, T0)
            _earn(session, customer_id, 7, T0 + 300 * DAY)
    at = T0 + (DAYS + 1) * DAY
    calls: list[tuple[int, int]] = []

    def sessions() -> Any:
        return session_scope(fresh_engine, writing=True)

    dry = expiry.post_expiries(sessions, expire_days=DAYS, at=at, dry_run=True)
    with session_scope(fresh_engine) as session:
        assert (
            session.execute(
                sa.select(sa.func.count()).select_from(schema.loyalty_ledger)
            ).scalar_one()
            == 10
        )
    run = expiry.post_expiries(
        sessions, expire_days=DAYS, at=at, progress=lambda d, t: calls.append((d, t))
    )
    assert (dry.customers, dry.entries, dry.points) == (run.customers, run.entries, run.points)
    assert (run.customers, run.entries, run.points) == (5, 5, sum(100 + n for n in range(5)))
    assert calls == [(2, 5), (4, 5), (5, 5)]
    again = expiry.post_expiries(sessions, expire_days=DAYS, at=at)
    assert (again.entries, again.points) == (0, 0)
    with session_scope(fresh_engine) as session:
        assert {loyalty.balance(session=session, customer_id=c) for c in ids} == {7}


def test_an_expiry_racing_a_redemption_never_spends_a_point_twice(fresh_engine: Engine) -> None:
    """The job and redemptions of the same customers at the same moment: whichever takes
    the customer's lock first, the balance stays the sum of the ledger, never negative, and
    no point is both redeemed and expired."""
    with session_scope(fresh_engine, writing=True) as session:
        ids = [customer(session)["id"] for _ in range(20)]
        for customer_id in ids:
            _earn(session, customer_id, 100, T0)
            _earn(session, customer_id, 100, T0 + 300 * DAY)
    at = T0 + (DAYS + 1) * DAY
    errors: list[BaseException] = []
    refused: list[int] = []

    def redeem_all() -> None:
        for customer_id in ids:
            try:
                with session_scope(fresh_engine, writing=True) as session:
                    loyalty.redeem(
                        session=session, customer_id=customer_id, points=150, at=at, reference="r"
                    )
            except Conflict:
                refused.append(customer_id)
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

    thread = threading.Thread(target=redeem_all)
    thread.start()
    expiry.post_expiries(lambda: session_scope(fresh_engine, writing=True), expire_days=DAYS, at=at)
    thread.join()
    assert not errors, errors
    with session_scope(fresh_engine) as session:
        for customer_id in ids:
            entries = _ledger(session, customer_id)
            balance = sum(e["points"] for e in entries)
            expired = -sum(e["points"] for e in entries if e["reason"] == LoyaltyReason.EXPIRE)
            redeemed = -sum(e["points"] for e in entries if e["reason"] == LoyaltyReason.REDEEM)
            assert balance >= 0 and expired + redeemed <= 200
            if customer_id in refused:  # the expiry came first: 100 left, 150 refused
                assert (expired, redeemed, balance) == (100, 0, 100)
            else:  # the redemption came first and used the old lot up
                assert (expired, redeemed, balance) == (0, 150, 50)
