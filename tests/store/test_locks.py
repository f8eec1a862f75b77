"""Named leases in the store: taken by one statement, by one of many racers, taken over
only once they ran out, renewed and released by their holder alone — on SQLite and
PostgreSQL."""

from __future__ import annotations

import datetime as dt
import threading

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from rapport.store import locks
from rapport.store.db import session_scope

T0 = dt.datetime(2026, 3, 1, 2, 0, tzinfo=dt.UTC)
LEASE = dt.timedelta(seconds=60)


def test_a_lease_is_held_until_it_runs_out(session: Session) -> None:
    kw = {"session": session, "name": "daily", "lease": LEASE}
    assert locks.acquire(holder="a", at=T0, **kw)
    assert not locks.acquire(holder="b", at=T0 + LEASE, **kw)  # not before it ran out
    assert locks.acquire(holder="a", at=T0 + dt.timedelta(seconds=30), **kw)  # its holder renews
    held = locks.current(session=session, name="daily")
    assert held is not None and held.holder == "a" and held.acquired_at == T0
    assert held.expires_at == T0 + dt.timedelta(seconds=90)
    later = T0 + dt.timedelta(seconds=91)
    assert locks.acquire(holder="b", at=later, **kw)
    taken = locks.current(session=session, name="daily")
    assert taken is not None and (taken.holder, taken.acquired_at) == ("b", later)
    assert not locks.renew(session=session, name="daily", holder="a", at=later, lease=LEASE)
    assert not locks.release(session=session, name="daily", holder="a")
    assert locks.renew(session=session, name="daily", holder="b", at=later, lease=LEASE)
    assert locks.release(session=session, name="daily", holder="b")
    assert locks.current(session=session, name="daily") is None
    assert locks.acquire(holder="c", at=later, **kw)


def test_names_are_separate_leases(session: Session) -> None:
    assert locks.acquire(session=session, name="x", holder="a", at=T0, lease=LEASE)
    assert locks.acquire(session=session, name="y", holder="b", at=T0, lease=LEASE)


def test_of_many_racers_exactly_one_takes_the_lease(backend: str, fresh_engine: Engine) -> None:
    winners: list[str] = []
    barrier = threading.Barrier(6)

    def racer(name: str) -> None:
        barrier.wait()
        with session_scope(fresh_engine, writing=True) as session:
            if locks.acquire(session=session, name="daily", holder=name, at=T0, lease=LEASE):
                winners.append(name)

    threads = [threading.Thread(target=racer, args=(f"w{i}",)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(winners) == 1
    with session_scope(fresh_engine) as session:
        held = locks.current(session=session, name="daily")
    assert held is not None and held.holder == winners[0]
