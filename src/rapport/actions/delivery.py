"""Sending the outbox: each due message claimed, sent, and marked — or retried, or dead.

:func:`deliver` is one pass: it claims due messages a batch at a time under a lease
(``[messages] lease_seconds``), sends each through its channel (:mod:`rapport.actions.
channels`) and records the outcome at once, each in its own short transaction:

* accepted → ``sent``;
* refused for good, or failed on its last attempt (``[messages] max_attempts``) → ``dead``
  with the error (a dead letter; :func:`retry_message` sends it again);
* failed otherwise → ``pending`` again after an exponential back-off with full jitter
  (:func:`backoff`).

Consent is checked again when sending: a playbook message (one of an enrolment) whose
customer withdrew consent, opted out or was erased since it was queued is not sent and
ends ``dead`` with the reason (:func:`rapport.store.outbox.marketing_refusals`).

Exactly once, as far as it goes: a message is marked sent only after its channel accepted
it, and the mark is written the moment it is accepted. If the process dies in between, the
message stays ``sending`` until its lease runs out and is then sent again with the same
idempotency key, which the receiver uses to drop the repeat. A receiver that honours the key
counts every message exactly once; one that ignores it may see that one message twice.
"""

from __future__ import annotations

import datetime as dt
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from sqlalchemy.engine import Engine

from rapport.actions.channels import Channel, Channels, SendFailed
from rapport.config import MessageRules, Settings, get_settings, load_rules
from rapport.domain import AuditAction, MessageChannel
from rapport.store import audit, outbox
from rapport.store.db import engine_from_settings, session_scope
from rapport.store.outbox import ClaimedMessage
from rapport.store.repository import utcnow


@dataclass
class DeliveryRun:
    """What one pass of :func:`deliver` did: messages claimed, sent, set to be tried again,
    dead; refused (a playbook message whose customer may no longer receive marketing: not
    sent, dead); claims lost to another sender (a lease that ran out mid-send); seconds."""

    claimed: int = 0
    sent: int = 0
    retried: int = 0
    dead: int = 0
    refused: int = 0
    lost: int = 0
    seconds: float = 0.0
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, int | float]:
        return {
            "claimed": self.claimed,
            "sent": self.sent,
            "retried": self.retried,
            "dead": self.dead,
            "refused": self.refused,
            "lost": self.lost,
            "seconds": round(self.seconds, 3),
        }


def backoff(
    attempt: int, rules: MessageRules, *, rand: Callable[[], float] = random.random
) -> dt.timedelta:
    """How long to wait after failed attempt ``attempt`` (1, 2 …): a uniform draw between
    half and all of ``backoff_seconds × 2^(attempt−1)``, capped at ``backoff_max_seconds``
    (exponential back-off with jitter, so that senders failing together spread out)."""
    ceiling = min(rules.backoff_max_seconds, rules.backoff_seconds * 2 ** max(attempt - 1, 0))
    return dt.timedelta(seconds=ceiling * (0.5 + 0.5 * rand()))


def deliver(
    settings: Settings | None = None,
    *,
    now: Callable[[], dt.datetime] | None = None,
    limit: int | None = None,
    channels: Mapping[MessageChannel, Channel] | None = None,
    rand: Callable[[], float] = random.random,
) -> DeliveryRun:
    """Send the messages due now; returns what was done.

    Parameters
    ----------
    settings
        Where the store is (default: the configured settings); the rules' ``[messages]``.
    now
        The clock (default: UTC now), read before each claim and each outcome.
    limit
        Claim at most this many messages in this pass (default: all that are due).
    channels
        Channels to send through instead of the configured ones (tests, other gateways).
    rand
        The source of the back-off's jitter.
    """
    settings = settings or get_settings()
    rules = load_rules(settings).messages
    clock = now or utcnow
    run = DeliveryRun()
    started = time.monotonic()
    lease = dt.timedelta(seconds=rules.lease_seconds)
    engine = engine_from_settings(settings)
    try:
        with Channels(rules, channels) as gates:
            while limit is None or run.claimed < limit:
                size = (
                    rules.batch_size
                    if limit is None
                    else min(rules.batch_size, limit - run.claimed)
                )
                with session_scope(engine, writing=True) as session:
                    batch = outbox.claim(session=session, at=clock(), lease=lease, limit=size)
                    refusals = outbox.marketing_refusals(session=session, messages=batch)
                if not batch:
                    break
                run.claimed += len(batch)
                for message in batch:
                    if message.id in refusals:
                        _refuse(engine, message, refusals[message.id], run)
                    else:
                        _send_one(engine, gates, message, rules, clock, run, rand)
    finally:
        engine.dispose()
    run.seconds = time.monotonic() - started
    return run


def _refuse(engine: Engine, message: ClaimedMessage, reason: str, run: DeliveryRun) -> None:
    """A playbook message whose customer may no longer be marketed to: not sent, dead."""
    with session_scope(engine, writing=True) as session:
        if outbox.mark_failed(
            session=session,
            message=message,
            error=f"not sent: {reason} (checked when sending)",
            retry_at=None,
        ):
            run.refused += 1
        else:
            run.lost += 1


def _send_one(
    engine: Engine,
    gates: Channels,
    message: ClaimedMessage,
    rules: MessageRules,
    clock: Callable[[], dt.datetime],
    run: DeliveryRun,
    rand: Callable[[], float],
) -> None:
    if clock() >= message.claimed_until:  # the lease ran out in the batch: another may hold it
        run.lost += 1
        return
    try:
        gates.get(message.channel).send(message)
    except SendFailed as exc:
        last = exc.permanent or message.attempt >= rules.max_attempts
        at = clock()
        retry_at = None if last else at + backoff(message.attempt, rules, rand=rand)
        reason = exc.reason if not exc.permanent else f"{exc.reason} (not retried)"
        with session_scope(engine, writing=True) as session:
            kept = outbox.mark_failed(
                session=session, message=message, error=reason, retry_at=retry_at
            )
        if not kept:
            run.lost += 1
        elif last:
            run.dead += 1
            run.errors.append(f"{message.idempotency_key}: {reason}")
        else:
            run.retried += 1
        return
    with session_scope(engine, writing=True) as session:
        marked = outbox.mark_sent(session=session, message=message, at=clock())
    if marked:
        run.sent += 1
    else:
        run.lost += 1


def retry_message(
    settings: Settings | None = None, *, message_id: int, actor: str
) -> dict[str, object]:
    """Send message ``message_id`` again (a dead letter, or a pending message now rather
    than after its back-off), with a fresh count of attempts; audited under ``actor``.

    Raises
    ------
    NotFound
        No message has this id.
    Conflict
        The message was sent already, or a sender holds it now.
    """
    settings = settings or get_settings()
    engine = engine_from_settings(settings)
    try:
        with session_scope(engine, writing=True) as session:
            done = outbox.retry(session=session, message_id=message_id, at=utcnow())
            audit.record(
                session=session,
                actor=actor,
                action=AuditAction.UPDATE,
                entity="outbox",
                entity_id=message_id,
                detail={"retry": True, "previous_status": str(done["previous_status"])},
            )
    finally:
        engine.dispose()
    return done
