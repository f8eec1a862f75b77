"""The outbox: messages written with what caused them, delivered once each.

The table is :data:`rapport.store.schema.outbox`; docs/actions.md says how messages leave
(e-mail over SMTP, the other channels through a signed webhook), are retried with back-off
and end as dead letters. Writing a message here, in the transaction of its cause, is the one
way to send anything: a message whose ``idempotency_key`` is already in the outbox is not
written again, so a rerun, a retry or a second worker never sends twice.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from rapport.domain import MessageChannel, OutboxStatus
from rapport.store import schema
from rapport.store.db import insert_ignoring_duplicates

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
