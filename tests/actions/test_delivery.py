"""Messages through a real local SMTP server and a loopback webhook receiver: delivered
once each with their keys and signatures, failures (5xx, time-outs, refused connections)
retried with back-off, permanent refusals and exhausted attempts ending as dead letters
that can be sent again — on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import email.header
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from rapport.actions.channels import message_id, sign, verify_signature
from rapport.actions.delivery import backoff, deliver, retry_message
from rapport.config import MessageRules, Settings
from rapport.domain import MessageChannel, OutboxStatus
from rapport.store import outbox, schema
from rapport.store.db import session_scope

from .receivers import SmtpReceiver, WebhookReceiver, free_port

SECRET = "s3cret-共享"
T0 = dt.datetime(2026, 3, 2, 2, 0, tzinfo=dt.UTC)


def rules_file(path: Path, *, smtp_port: int, sms_url: str = "", **messages: Any) -> Path:
    values = {"max_attempts": 3, "backoff_seconds": 60.0, "timeout_seconds": 1.0}
    values |= {"batch_size": 5, "lease_seconds": 30.0} | messages
    lines = ["[messages]", *(f"{k} = {v!r}" for k, v in values.items())]
    lines += ["[messages.smtp]", 'host = "127.0.0.1"', f"port = {smtp_port}"]
    lines += ['sender = "客情 <rapport@example.com>"', 'message_id_domain = "test.rapport"']
    lines += ["[messages.webhook]", 'secret_env = "TEST_WEBHOOK_SECRET"']
    lines += ["[messages.webhook.urls]"] + ([f'sms = "{sms_url}"'] if sms_url else [])
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def store_url(fresh_engine: Engine) -> str:
    return fresh_engine.url.render_as_string(hide_password=False)


@pytest.fixture(autouse=True)
def _secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_WEBHOOK_SECRET", SECRET)


def settings_for(url: str, rules: Path) -> Settings:
    return Settings(_env_file=None, database_url=url, config_file=rules)


def enqueue(engine: Engine, *messages: outbox.NewMessage, at: dt.datetime = T0) -> None:
    with session_scope(engine, writing=True) as session:
        outbox.enqueue(session=session, messages=list(messages), at=at)


def rows(engine: Engine) -> dict[str, Any]:
    t = schema.outbox
    with engine.connect() as conn:
        found = conn.execute(
            sa.select(t.c.idempotency_key, t.c.status, t.c.attempts, t.c.last_error, t.c.id)
        ).all()
    return {r.idempotency_key: r for r in found}


class Clock:
    def __init__(self, at: dt.datetime) -> None:
        self.at = at

    def __call__(self) -> dt.datetime:
        return self.at


def test_each_message_reaches_its_receiver_once_with_its_key(
    backend: str, fresh_engine: Engine, store_url: str, tmp_path: Path
) -> None:
    with SmtpReceiver() as smtp, WebhookReceiver(SECRET) as hook:
        rules = rules_file(tmp_path / "r.toml", smtp_port=smtp.port, sms_url=hook.url)
        enqueue(
            fresh_engine,
            *(
                outbox.NewMessage(
                    f"birthday:{i}",
                    MessageChannel.EMAIL,
                    f"c{i}@example.com",
                    "生日快乐，张伟！",
                    f"祝您生日快乐 🎂 第 {i} 封",
                )
                for i in range(3)
            ),
            outbox.NewMessage("sms:1", MessageChannel.SMS, "13800000000", None, "您的积分即将过期"),
            outbox.NewMessage(
                "alert:9",
                MessageChannel.WEBHOOK,
                hook.url,
                payload={"kind": "churn_risk", "客户": 9},
            ),
        )
        run = deliver(settings_for(store_url, rules))
        assert (run.claimed, run.sent, run.retried, run.dead) == (5, 5, 0, 0)
        again = deliver(settings_for(store_url, rules))
        assert again.claimed == 0
    ids = {message_id(f"birthday:{i}", "test.rapport"): i for i in range(3)}
    assert dict(smtp.accepted) == dict.fromkeys(ids, 1)
    for mid, i in ids.items():
        mail = smtp.documents[mid]
        assert str(email.header.make_header(email.header.decode_header(mail["Subject"]))) == (
            "生日快乐，张伟！"
        )
        assert mail.get_content().strip() == f"祝您生日快乐 🎂 第 {i} 封"
        assert mail["X-Rapport-Idempotency-Key"] == f"birthday:{i}"
    assert dict(hook.accepted) == {"sms:1": 1, "alert:9": 1} and hook.bad_signatures == 0
    assert hook.documents["sms:1"]["body"] == "您的积分即将过期"
    assert hook.documents["sms:1"]["recipient"] == "13800000000"
    assert hook.documents["alert:9"]["payload"] == {"kind": "churn_risk", "客户": 9}
    assert {r.status for r in rows(fresh_engine).values()} == {OutboxStatus.SENT.value}


def test_failures_back_off_then_the_last_attempt_is_a_dead_letter_sent_again_on_retry(
    backend: str, fresh_engine: Engine, store_url: str, tmp_path: Path
) -> None:
    script = {1: "500", 2: "slow", 3: "500"}
    with WebhookReceiver(SECRET, script, slow_seconds=2.5) as hook:
        settings = settings_for(
            store_url, rules_file(tmp_path / "r.toml", smtp_port=free_port(), sms_url=hook.url)
        )
        enqueue(fresh_engine, outbox.NewMessage("sms:7", MessageChannel.SMS, "13900000000"))
        clock = Clock(T0)
        first = deliver(settings, now=clock, rand=lambda: 1.0)
        assert (first.sent, first.retried) == (0, 1)
        row = rows(fresh_engine)["sms:7"]
        assert (row.status, row.attempts) == ("pending", 1) and "HTTP 500" in row.last_error
        assert deliver(settings, now=clock).claimed == 0  # not due during its back-off
        clock.at = T0 + dt.timedelta(seconds=60)  # backoff 60 s x 2^0 at full jitter
        second = deliver(settings, now=clock, rand=lambda: 1.0)
        assert second.retried == 1 and "timed out" in rows(fresh_engine)["sms:7"].last_error
        clock.at += dt.timedelta(seconds=119)  # the second wait is 120 s
        assert deliver(settings, now=clock).claimed == 0
        clock.at += dt.timedelta(seconds=1)
        third = deliver(settings, now=clock)
        assert (third.claimed, third.dead) == (1, 1)
        row = rows(fresh_engine)["sms:7"]
        assert (row.status, row.attempts) == ("dead", 3) and "HTTP 500" in row.last_error
        assert deliver(settings, now=lambda: T0 + dt.timedelta(days=30)).claimed == 0
        assert retry_message(settings, message_id=row.id, actor="cli:test")["previous_status"] == (
            "dead"
        )
        sent = deliver(settings)
        assert sent.sent == 1
    assert dict(hook.accepted) == {"sms:7": 1}  # refused twice and timed out once first
    assert rows(fresh_engine)["sms:7"].status == "sent"
    audit = schema.audit_log
    with fresh_engine.connect() as conn:
        entry = conn.execute(sa.select(audit).where(audit.c.entity == "outbox")).one()
    assert (entry.actor, entry.entity_id, entry.detail["previous_status"]) == (
        "cli:test",
        str(row.id),
        "dead",
    )


def test_refusals_for_good_die_at_once_and_a_refused_connection_is_retried(
    backend: str,
    fresh_engine: Engine,
    store_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with SmtpReceiver({1: "550", 2: "451"}) as smtp, WebhookReceiver(SECRET, {1: "400"}) as hook:
        settings = settings_for(
            store_url, rules_file(tmp_path / "r.toml", smtp_port=smtp.port, sms_url=hook.url)
        )
        enqueue(
            fresh_engine,
            outbox.NewMessage("mail:bad", MessageChannel.EMAIL, "nobody@example.com", "s", "b"),
            outbox.NewMessage("mail:busy", MessageChannel.EMAIL, "a@example.com", "s", "b"),
            outbox.NewMessage("sms:bad", MessageChannel.SMS, "138"),
            outbox.NewMessage("wechat:1", MessageChannel.WECHAT, "wx-openid-1"),
        )
        run = deliver(settings)
    assert (run.claimed, run.sent, run.retried, run.dead) == (4, 0, 1, 3)
    found = rows(fresh_engine)
    assert found["mail:bad"].status == "dead" and "SMTP 550" in found["mail:bad"].last_error
    assert found["mail:busy"].status == "pending" and "SMTP 451" in found["mail:busy"].last_error
    assert found["sms:bad"].status == "dead" and "HTTP 400" in found["sms:bad"].last_error
    assert found["wechat:1"].status == "dead"
    assert "[messages.webhook.urls] wechat" in found["wechat:1"].last_error
    # nothing listening: a refused connection is worth another try
    closed = settings_for(store_url, rules_file(tmp_path / "c.toml", smtp_port=free_port()))
    enqueue(fresh_engine, outbox.NewMessage("mail:2", MessageChannel.EMAIL, "b@example.com"))
    refused = deliver(closed, limit=1, now=lambda: T0)
    assert refused.retried == 1
    assert "ConnectionRefusedError" in rows(fresh_engine)["mail:2"].last_error
    # a webhook without its secret is not sent at all
    monkeypatch.delenv("TEST_WEBHOOK_SECRET")
    enqueue(fresh_engine, outbox.NewMessage("hook:1", MessageChannel.WEBHOOK, hook.url))
    assert deliver(closed, now=lambda: T0).dead == 1
    assert "TEST_WEBHOOK_SECRET is not set" in rows(fresh_engine)["hook:1"].last_error


def test_backoff_doubles_with_jitter_up_to_its_cap() -> None:
    rules = MessageRules(backoff_seconds=10, backoff_max_seconds=100)
    assert [backoff(n, rules, rand=lambda: 1.0).total_seconds() for n in (1, 2, 3, 4, 5)] == [
        10,
        20,
        40,
        80,
        100,
    ]
    assert backoff(3, rules, rand=lambda: 0.0).total_seconds() == 20  # at least half


def test_a_signature_is_checked_against_body_secret_and_time() -> None:
    body = '{"body":"你好"}'.encode()
    signature = sign(SECRET, "1770000000", body)
    assert verify_signature(
        SECRET, timestamp="1770000000", body=body, signature=signature, now=1770000100
    )
    assert not verify_signature(
        SECRET, timestamp="1770000000", body=body + b" ", signature=signature, now=1770000000
    )
    assert not verify_signature(
        "other", timestamp="1770000000", body=body, signature=signature, now=1770000000
    )
    assert not verify_signature(  # replayed later than the tolerance
        SECRET, timestamp="1770000000", body=body, signature=signature, now=1770000301
    )
    assert not verify_signature(SECRET, timestamp="soon", body=body, signature=signature)


def test_consent_is_checked_again_when_a_playbook_message_is_sent(
    backend: str, fresh_engine: Engine, store_url: str, tmp_path: Path
) -> None:
    from rapport.store import customers

    with session_scope(fresh_engine, writing=True) as session:
        ids = {
            name: customers.repo.create(
                session=session,
                values={"external_id": name, "name": "王芳", "marketing_consent": True, **extra},
            )["id"]
            for name, extra in (("ok", {}), ("out", {}), ("never", {"marketing_consent": False}))
        }
        playbook = session.execute(
            sa.insert(schema.playbooks)
            .values(
                code="birthday_greeting",
                version=1,
                source="builtin",
                definition={},
                created_at=T0,
                updated_at=T0,
                updated_by="system",
            )
            .returning(schema.playbooks.c.id)
        ).scalar_one()
        enrolments = {
            name: session.execute(
                sa.insert(schema.playbook_enrolments)
                .values(
                    playbook_id=playbook,
                    version=1,
                    customer_id=cid,
                    occasion="birthday:2026",
                    arm="treated",
                    run_date=T0.date(),
                    enrolled_at=T0,
                )
                .returning(schema.playbook_enrolments.c.id)
            ).scalar_one()
            for name, cid in ids.items()
        }
    with WebhookReceiver(SECRET) as hook:
        settings = settings_for(
            store_url, rules_file(tmp_path / "r.toml", smtp_port=free_port(), sms_url=hook.url)
        )
        enqueue(
            fresh_engine,
            *(
                outbox.NewMessage(
                    f"pb:{name}",
                    MessageChannel.SMS,
                    "138",
                    body="生日快乐",
                    customer_id=ids[name],
                    enrolment_id=enrolments[name],
                )
                for name in ids
            ),
            # an alert about the same customer goes to staff: not marketing
            outbox.NewMessage(
                "alert:out", MessageChannel.WEBHOOK, hook.url, customer_id=ids["out"]
            ),
        )
        with session_scope(fresh_engine, writing=True) as session:  # opted out after queueing
            customers.repo.update(
                session=session, id=ids["out"], values={"marketing_opt_out": True}
            )
        run = deliver(settings)
    assert (run.claimed, run.sent, run.refused) == (4, 2, 2)
    assert set(hook.accepted) == {"pb:ok", "alert:out"}
    found = rows(fresh_engine)
    assert found["pb:out"].status == "dead"
    assert found["pb:out"].last_error == (
        f"not sent: customer {ids['out']} opted out of marketing (checked when sending)"
    )
    assert "has not given marketing consent" in found["pb:never"].last_error
