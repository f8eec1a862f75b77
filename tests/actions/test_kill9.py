"""kill -9 of a sender mid-send, and a restart: every message is delivered exactly once as
the SMTP server and the webhook receiver count them (by Message-ID and Idempotency-Key).

The receiver accepts the Nth message and holds its answer; the test kills the sending
process (``rapport outbox send``) with SIGKILL in that moment, so the message was accepted
but never marked sent — the one window of the design. It stays ``sending`` until its lease
runs out, then a new sender sends it again with the same key and the receiver drops the
repeat. Every other message of the batch is sent by the restarted sender, once.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from rapport.actions.channels import message_id
from rapport.domain import MessageChannel
from rapport.store import outbox, schema
from rapport.store.db import session_scope
from rapport.store.repository import utcnow

from .receivers import SmtpReceiver, WebhookReceiver
from .test_delivery import SECRET, rules_file

MESSAGES = 10
LEASE_SECONDS = 7.0  # longer than batch_size (2) x timeout_seconds (3)


def _sender(url: str, rules: Path) -> subprocess.Popen[bytes]:
    env = dict(os.environ)
    env |= {
        "RAPPORT_DATABASE_URL": url,
        "RAPPORT_CONFIG_FILE": str(rules),
        "RAPPORT_LOCALE": "en",
        "TEST_WEBHOOK_SECRET": SECRET,
    }
    command = [sys.executable, "-m", "rapport.cli.main", "outbox", "send", "--format", "json"]
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _states(engine: Engine) -> dict[str, tuple[str, dt.datetime | None]]:
    t = schema.outbox
    with engine.connect() as conn:
        found = conn.execute(sa.select(t.c.idempotency_key, t.c.status, t.c.claimed_until))
        return {r.idempotency_key: (r.status, r.claimed_until) for r in found}


@pytest.mark.parametrize("killed_on", ["email", "sms"])
def test_a_sender_killed_mid_send_and_restarted_delivers_each_message_once(
    backend: str, fresh_engine: Engine, tmp_path: Path, killed_on: str
) -> None:
    url = fresh_engine.url.render_as_string(hide_password=False)
    block = {3: "block"}
    with (
        SmtpReceiver(block if killed_on == "email" else None) as smtp,
        WebhookReceiver(SECRET, block if killed_on == "sms" else None) as hook,
    ):
        rules = rules_file(
            tmp_path / "r.toml",
            smtp_port=smtp.port,
            sms_url=hook.url,
            timeout_seconds=3.0,
            batch_size=2,
            lease_seconds=LEASE_SECONDS,
        )
        keys = [f"m{i}" for i in range(MESSAGES)]
        messages = [
            outbox.NewMessage(key, MessageChannel.EMAIL, f"{key}@example.com", "你好", "正文")
            if i % 2 == 0
            else outbox.NewMessage(key, MessageChannel.SMS, "13800000000", None, "短信")
            for i, key in enumerate(keys)
        ]
        with session_scope(fresh_engine, writing=True) as session:
            outbox.enqueue(session=session, messages=messages, at=utcnow())
        receiver = smtp if killed_on == "email" else hook

        first = _sender(url, rules)
        assert receiver.blocked.wait(60), first.communicate(timeout=5)
        os.kill(first.pid, signal.SIGKILL)
        assert first.wait(30) == -signal.SIGKILL
        receiver.release.set()
        blocked_key = hook.received[-1] if killed_on == "sms" else None
        states = _states(fresh_engine)
        in_flight = [k for k, (status, _) in states.items() if status == "sending"]
        assert in_flight, "the killed sender left its claimed messages sending"
        if blocked_key is not None:
            assert blocked_key in in_flight  # accepted, never marked: the one window

        restarted = _sender(url, rules)  # the killed claims are not due before their lease ends
        assert restarted.wait(60) == 0, restarted.communicate()
        states = _states(fresh_engine)
        assert {k for k, (status, _) in states.items() if status != "sent"} == set(in_flight)

        until = max(claimed for _, (status, claimed) in states.items() if status == "sending")
        assert until is not None
        time.sleep(max((until - utcnow()).total_seconds(), 0) + 0.5)
        last = _sender(url, rules)
        assert last.wait(60) == 0, last.communicate()

    assert {status for status, _ in _states(fresh_engine).values()} == {"sent"}
    emails = {message_id(k, "test.rapport") for i, k in enumerate(keys) if i % 2 == 0}
    sms = {k for i, k in enumerate(keys) if i % 2 == 1}
    assert dict(smtp.accepted) == dict.fromkeys(emails, 1)  # each e-mail once
    assert dict(hook.accepted) == dict.fromkeys(sms, 1)  # each SMS once
    # the message accepted when the sender died came again, and was dropped as a repeat
    assert sum(receiver.repeats.values()) == 1
    assert len(receiver.received) == len(receiver.accepted) + 1
