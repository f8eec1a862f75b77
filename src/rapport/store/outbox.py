"""The outbox: messages written with what caused them, delivered once each.

The table is :data:`rapport.store.schema.outbox`; docs/actions.md says how messages leave
(e-mail over SMTP, the other channels through a signed webhook), are retried with back-off
and end as dead letters. Writing a message here, in the transaction of its cause, is the one
way to send anything: a message whose ``idempotency_key`` is already in the outbox is not
written again, so a rerun, a retry or a second worker never sends twice.

A sender works a message through :func:`claim` (pending, or sending under a lease that ran
out → sending under its own lease, one UPDATE), then :func:`mark_sent` or :func:`mark_failed`.
The lease's end (``claimed_until``) is the claim's token: a sender whose lease ran out and
was taken over can no longer mark the message, so only the current holder decides its fate.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from rapport.domain import MessageChannel, OutboxStatus
from rapport.errors import Conflict, NotFound
from rapport.store import customers, schema
from rapport.store.db import insert_ignoring_duplicates, rowcount

_t = schema.outbox


@dataclass(frozen=True)
class NewMessage:
    """A message to send: ``recipient`` is an e-mail address, a phone number, an app or
    WeChat user id, or a URL (``webhook``)."""

    idempotency_key: str
    channel: MessageChannel
    recipient: str
    subject: str | None = None
    body: str | None = None
    payload: Mapping[str, Any] | None = None
    customer_id: int | None = None
    enrolment_id: int | None = None
    alert_id: int | None = None


def enqueue(*, session: Session, messages: Sequence[NewMessage], at: dt.datetime) -> int:
    """Write ``messages`` as pending, due at once; returns how many were new (a message
    whose key is already in the outbox is skipped)."""
    rows = [
        {
            "idempotency_key": m.idempotency_key,
            "channel": MessageChannel(m.channel).value,
            "recipient": m.recipient,
            "customer_id": m.customer_id,
            "enrolment_id": m.enrolment_id,
            "alert_id": m.alert_id,
            "subject": m.subject,
            "body": m.body,
            "payload": dict(m.payload) if m.payload is not None else None,
            "status": OutboxStatus.PENDING.value,
            "attempts": 0,
            "next_attempt_at": at,
            "created_at": at,
        }
        for m in messages
    ]
    return insert_ignoring_duplicates(session, _t, rows)


#: The longest error text kept (the column's width).
ERROR_CHARS = 1000


@dataclass(frozen=True)
class ClaimedMessage:
    """A message a sender holds until ``claimed_until`` (also the claim's token), on its
    ``attempt``-th attempt."""

    id: int
    idempotency_key: str
    channel: MessageChannel
    recipient: str
    subject: str | None
    body: str | None
    payload: Mapping[str, Any] | None
    customer_id: int | None
    created_at: dt.datetime
    attempt: int
    claimed_until: dt.datetime
    enrolment_id: int | None = None


def _due(at: dt.datetime) -> sa.ColumnElement[bool]:
    """Messages a sender may take at ``at``: pending and due, or sending under a lease that
    ran out (their sender stopped or was killed)."""
    pending = (_t.c.status == OutboxStatus.PENDING.value) & (_t.c.next_attempt_at <= at)
    abandoned = (_t.c.status == OutboxStatus.SENDING.value) & (_t.c.claimed_until < at)
    return pending | abandoned


def claim(
    *, session: Session, at: dt.datetime, lease: dt.timedelta, limit: int
) -> list[ClaimedMessage]:
    """Take up to ``limit`` due messages, oldest due first, for a lease of ``lease``.

    One UPDATE both picks and takes them (``status`` sending, ``claimed_until`` set,
    ``attempts`` counted up), so two senders never hold one message: on PostgreSQL the
    pick skips rows another sender is taking (``FOR UPDATE SKIP LOCKED``) and the taking
    checks again that each row is still due; on SQLite the writer's transaction holds the
    database. Commit at once, before sending, so that the claim survives a crash.
    """
    if limit <= 0:
        return []
    until = at + lease
    pick = sa.select(_t.c.id).where(_due(at)).order_by(_t.c.next_attempt_at, _t.c.id).limit(limit)
    if session.get_bind().dialect.name == "postgresql":
        pick = pick.with_for_update(skip_locked=True)
    # Picked once, as a materialized CTE: PostgreSQL may otherwise run a LIMIT subquery of
    # an UPDATE again for the rows it re-checks, and take more than ``limit``.
    picked = pick.cte("picked").prefix_with("MATERIALIZED")
    stmt = (
        sa.update(_t)
        .where(_t.c.id.in_(sa.select(picked.c.id)), _due(at))
        .values(
            status=OutboxStatus.SENDING.value,
            claimed_until=until,
            attempts=_t.c.attempts + 1,
        )
        .returning(
            _t.c.id,
            _t.c.idempotency_key,
            _t.c.channel,
            _t.c.recipient,
            _t.c.subject,
            _t.c.body,
            _t.c.payload,
            _t.c.customer_id,
            _t.c.created_at,
            _t.c.attempts,
            _t.c.claimed_until,
            _t.c.enrolment_id,
        )
    )
    rows = session.execute(stmt).all()
    claimed = [
        ClaimedMessage(
            id=row.id,
            idempotency_key=row.idempotency_key,
            channel=MessageChannel(row.channel),
            recipient=row.recipient,
            subject=row.subject,
            body=row.body,
            payload=row.payload,
            customer_id=row.customer_id,
            created_at=row.created_at,
            attempt=row.attempts,
            claimed_until=row.claimed_until,
            enrolment_id=row.enrolment_id,
        )
        for row in rows
    ]
    return sorted(claimed, key=lambda m: m.id)


def marketing_refusals(*, session: Session, messages: Sequence[ClaimedMessage]) -> dict[int, str]:
    """Why each playbook message of ``messages`` may not be sent now — its customer withdrew
    consent, opted out or was erased since it was queued — by message id (the rule of
    :func:`rapport.store.customers.marketing_refusal`). Messages of no enrolment (alerts to
    staff, webhooks) are not marketing and are not checked."""
    wanted = {
        m.customer_id for m in messages if m.enrolment_id is not None and m.customer_id is not None
    }
    if not wanted:
        return {}
    c = schema.customers.c
    found = session.execute(
        sa.select(c.id, c.marketing_consent, c.marketing_opt_out, c.erased_at).where(
            c.id.in_(wanted)
        )
    ).mappings()
    why = {row["id"]: customers.marketing_refusal(dict(row)) for row in found}
    return {
        m.id: f"customer {m.customer_id} {reason}"
        for m in messages
        if m.enrolment_id is not None and (reason := why.get(m.customer_id or 0))
    }


def _held(message: ClaimedMessage) -> sa.ColumnElement[bool]:
    return (
        (_t.c.id == message.id)
        & (_t.c.status == OutboxStatus.SENDING.value)
        & (_t.c.claimed_until == message.claimed_until)
    )


def mark_sent(*, session: Session, message: ClaimedMessage, at: dt.datetime) -> bool:
    """Record that the channel accepted ``message``; ``False`` when the claim was lost (its
    lease ran out and another sender took the message over)."""
    stmt = (
        sa.update(_t)
        .where(_held(message))
        .values(status=OutboxStatus.SENT.value, sent_at=at, claimed_until=None, last_error=None)
    )
    return rowcount(session.execute(stmt)) == 1


def mark_failed(
    *,
    session: Session,
    message: ClaimedMessage,
    error: str,
    retry_at: dt.datetime | None,
) -> bool:
    """Record a failed attempt of ``message``: pending again from ``retry_at``, or, with no
    ``retry_at``, dead (a dead letter, kept with its ``last_error``). ``False`` when the
    claim was lost."""
    values: dict[str, Any] = {"claimed_until": None, "last_error": error[:ERROR_CHARS]}
    if retry_at is None:
        values["status"] = OutboxStatus.DEAD.value
    else:
        values |= {"status": OutboxStatus.PENDING.value, "next_attempt_at": retry_at}
    stmt = sa.update(_t).where(_held(message)).values(**values)
    return rowcount(session.execute(stmt)) == 1


def retry(*, session: Session, message_id: int, at: dt.datetime) -> dict[str, Any]:
    """Send message ``message_id`` again from ``at`` with a fresh count of attempts: a dead
    letter (after its cause was fixed) or a pending message waiting for its back-off.

    Raises
    ------
    NotFound
        No message has this id.
    Conflict
        The message was sent, or a sender holds it now.
    """
    row = session.execute(sa.select(_t.c.id, _t.c.status).where(_t.c.id == message_id)).first()
    if row is None:
        raise NotFound(
            "no message {id} in the outbox",
            table="outbox",
            field="id",
            value=message_id,
            hint="`rapport outbox list` shows the messages and their ids",
            key="outbox_message_missing",
            params={"id": message_id},
        )
    stmt = (
        sa.update(_t)
        .where(
            _t.c.id == message_id,
            _t.c.status.in_([OutboxStatus.DEAD.value, OutboxStatus.PENDING.value]),
        )
        .values(
            status=OutboxStatus.PENDING.value,
            attempts=0,
            next_attempt_at=at,
            claimed_until=None,
        )
    )
    if rowcount(session.execute(stmt)) != 1:
        raise Conflict(
            "message {id} is {status}: only a dead or pending message is sent again",
            table="outbox",
            field="status",
            value=row.status,
            key="outbox_not_retryable",
            params={"id": message_id, "status": row.status},
        )
    return {"id": message_id, "previous_status": row.status}


#: The columns a listing shows (the body and payload stay in the store).
LISTED = (
    "id",
    "idempotency_key",
    "channel",
    "recipient",
    "customer_id",
    "subject",
    "status",
    "attempts",
    "next_attempt_at",
    "last_error",
    "created_at",
    "sent_at",
)


def list_messages(
    *,
    session: Session,
    status: OutboxStatus | None = None,
    channel: MessageChannel | None = None,
    before_id: int | None = None,
    limit: int = 50,
) -> list[dict[str, Any]]:
    """Messages newest first (by id), filtered by ``status`` and ``channel``; the next page
    starts before the last id of this one (``before_id``)."""
    stmt = sa.select(*(_t.c[name] for name in LISTED)).order_by(_t.c.id.desc()).limit(limit)
    if status is not None:
        stmt = stmt.where(_t.c.status == OutboxStatus(status).value)
    if channel is not None:
        stmt = stmt.where(_t.c.channel == MessageChannel(channel).value)
    if before_id is not None:
        stmt = stmt.where(_t.c.id < before_id)
    return [dict(row._mapping) for row in session.execute(stmt)]


@dataclass(frozen=True)
class OutboxStats:
    """The outbox at a glance: messages per channel and status, how many are due now, and
    the oldest due message's time (``None`` when nothing waits)."""

    counts: dict[tuple[str, str], int]
    due: int
    oldest_due_at: dt.datetime | None


def stats(*, session: Session, at: dt.datetime) -> OutboxStats:
    """Counts of the outbox's messages per channel and status, and what is due at ``at``."""
    rows = session.execute(
        sa.select(_t.c.channel, _t.c.status, sa.func.count()).group_by(_t.c.channel, _t.c.status)
    ).all()
    due = session.execute(
        sa.select(sa.func.count(), sa.func.min(_t.c.next_attempt_at)).where(_due(at))
    ).one()
    oldest = due[1]
    if oldest is not None and oldest.tzinfo is None:  # an aggregate loses the column's type
        oldest = oldest.replace(tzinfo=dt.UTC)
    return OutboxStats(
        counts={(str(channel), str(status)): int(n) for channel, status, n in rows},
        due=int(due[0]),
        oldest_due_at=oldest,
    )
