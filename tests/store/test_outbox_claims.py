"""The outbox's sender side: claims under a lease (one UPDATE, never one message to two
senders), marks that only the current claim may write, retries of dead letters, listings
and counts — on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from rapport.domain import MessageChannel, OutboxStatus
from rapport.errors import Conflict, NotFound
from rapport.store import outbox, schema
from rapport.store.db import session_scope

T0 = dt.datetime(2026, 3, 1, 2, 0, tzinfo=dt.UTC)
LEASE = dt.timedelta(minutes=5)


def _enqueue(session: Session, n: int, *, at: dt.datetime = T0, prefix: str = "k") -> None:
    messages = [
        outbox.NewMessage(f"{prefix}{i}", MessageChannel.EMAIL, f"c{i}@example.com", "你好")
        for i in range(n)
    ]
    assert outbox.enqueue(session=session, messages=messages, at=at) == n


def _status(session: Session, key: str) -> tuple[str, int, str | None]:
    t = schema.outbox
    row = session.execute(
        sa.select(t.c.status, t.c.attempts, t.c.last_error).where(t.c.idempotency_key == key)
    ).one()
    return row.status, row.attempts, row.last_error


def test_a_claim_takes_due_messages_once_with_a_lease(session: Session) -> None:
    _enqueue(session, 3)
    outbox.enqueue(
        session=session,
        messages=[outbox.NewMessage("later", MessageChannel.SMS, "13800000000")],
        at=T0 + dt.timedelta(hours=1),
    )
    taken = outbox.claim(session=session, at=T0, lease=LEASE, limit=10)
    assert [m.idempotency_key for m in taken] == ["k0", "k1", "k2"]  # "later" is not due
    assert {m.attempt for m in taken} == {1}
    assert {m.claimed_until for m in taken} == {T0 + LEASE}
    assert taken[0].subject == "你好"
    assert outbox.claim(session=session, at=T0, lease=LEASE, limit=10) == []  # held
    assert _status(session, "k0") == (OutboxStatus.SENDING.value, 1, None)


def test_the_limit_takes_the_oldest_due_first(session: Session) -> None:
    _enqueue(session, 2, at=T0, prefix="old")
    _enqueue(session, 2, at=T0 - dt.timedelta(minutes=1), prefix="older")
    taken = outbox.claim(session=session, at=T0, lease=LEASE, limit=3)
    assert {m.idempotency_key for m in taken} == {"older0", "older1", "old0"}


def test_a_lease_that_ran_out_is_taken_over_and_the_old_claim_can_no_longer_mark(
    session: Session,
) -> None:
    _enqueue(session, 1)
    (first,) = outbox.claim(session=session, at=T0, lease=LEASE, limit=1)
    assert outbox.claim(session=session, at=T0 + LEASE, lease=LEASE, limit=1) == []
    later = T0 + LEASE + dt.timedelta(seconds=1)
    (second,) = outbox.claim(session=session, at=later, lease=LEASE, limit=1)
    assert second.id == first.id and second.attempt == 2
    assert not outbox.mark_sent(session=session, message=first, at=later)
    assert not outbox.mark_failed(session=session, message=first, error="x", retry_at=later)
    assert outbox.mark_sent(session=session, message=second, at=later)
    assert _status(session, "k0") == (OutboxStatus.SENT.value, 2, None)
    assert not outbox.mark_sent(session=session, message=second, at=later)  # once


def test_a_failure_waits_for_its_retry_and_the_last_one_is_a_dead_letter(
    session: Session,
) -> None:
    _enqueue(session, 1)
    (m,) = outbox.claim(session=session, at=T0, lease=LEASE, limit=1)
    retry_at = T0 + dt.timedelta(minutes=2)
    assert outbox.mark_failed(session=session, message=m, error="HTTP 503", retry_at=retry_at)
    assert _status(session, "k0") == (OutboxStatus.PENDING.value, 1, "HTTP 503")
    assert (
        outbox.claim(session=session, at=retry_at - dt.timedelta(seconds=1), lease=LEASE, limit=1)
        == []
    )
    (m,) = outbox.claim(session=session, at=retry_at, lease=LEASE, limit=1)
    assert outbox.mark_failed(session=session, message=m, error="e" * 2000, retry_at=None)
    status, attempts, error = _status(session, "k0")
    assert (status, attempts, len(error or "")) == (OutboxStatus.DEAD.value, 2, 1000)
    assert outbox.claim(session=session, at=T0 + dt.timedelta(days=9), lease=LEASE, limit=1) == []


def test_retry_sends_a_dead_letter_again_and_refuses_a_sent_message(session: Session) -> None:
    _enqueue(session, 2)
    dead, sent = outbox.claim(session=session, at=T0, lease=LEASE, limit=2)
    outbox.mark_failed(session=session, message=dead, error="refused", retry_at=None)
    outbox.mark_sent(session=session, message=sent, at=T0)
    later = T0 + dt.timedelta(hours=1)
    assert outbox.retry(session=session, message_id=dead.id, at=later)["previous_status"] == "dead"
    assert _status(session, dead.idempotency_key)[:2] == (OutboxStatus.PENDING.value, 0)
    (again,) = outbox.claim(session=session, at=later, lease=LEASE, limit=5)
    assert again.id == dead.id and again.attempt == 1
    with pytest.raises(Conflict) as sent_error:
        outbox.retry(session=session, message_id=sent.id, at=later)
    assert sent_error.value.key == "outbox_not_retryable"
    with pytest.raises(Conflict):  # held by a sender now
        outbox.retry(session=session, message_id=again.id, at=later)
    with pytest.raises(NotFound):
        outbox.retry(session=session, message_id=10**9, at=later)


def test_listing_and_counts(session: Session) -> None:
    _enqueue(session, 3)
    outbox.enqueue(
        session=session,
        messages=[outbox.NewMessage("s", MessageChannel.SMS, "13800000000")],
        at=T0,
    )
    a, *_ = outbox.claim(session=session, at=T0, lease=LEASE, limit=1)
    outbox.mark_failed(session=session, message=a, error="bad address", retry_at=None)
    rows = outbox.list_messages(session=session)
    assert [r["idempotency_key"] for r in rows] == ["s", "k2", "k1", "k0"]
    dead = outbox.list_messages(session=session, status=OutboxStatus.DEAD)
    assert [(r["idempotency_key"], r["last_error"]) for r in dead] == [("k0", "bad address")]
    sms = outbox.list_messages(session=session, channel=MessageChannel.SMS)
    assert [r["idempotency_key"] for r in sms] == ["s"]
    page2 = outbox.list_messages(session=session, before_id=rows[1]["id"], limit=1)
    assert [r["idempotency_key"] for r in page2] == ["k1"]
    counts = outbox.stats(session=session, at=T0)
    assert counts.counts == {("email", "dead"): 1, ("email", "pending"): 2, ("sms", "pending"): 1}
    assert counts.due == 3 and counts.oldest_due_at == T0


def test_senders_racing_never_share_a_message(backend: str, fresh_engine: Engine) -> None:
    with session_scope(fresh_engine, writing=True) as session:
        _enqueue(session, 60)
    taken: list[list[int]] = [[] for _ in range(4)]
    barrier = threading.Barrier(4)

    def sender(slot: int) -> None:
        barrier.wait()
        while True:
            with session_scope(fresh_engine, writing=True) as session:
                batch = outbox.claim(session=session, at=T0, lease=LEASE, limit=7)
            if not batch:
                return
            taken[slot].extend(m.id for m in batch)

    threads = [threading.Thread(target=sender, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    every = [i for ids in taken for i in ids]
    assert len(every) == 60 and len(set(every)) == 60
