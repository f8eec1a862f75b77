"""The action loop's records written once per key: outbox messages by idempotency key,
alerts by their condition (raised again: seen again; resolved and raised: open again), and
tasks written as open — on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Session

from rapport.domain import AlertKind, AlertSeverity, AlertStatus, MessageChannel, TicketPriority
from rapport.store import alerts, outbox, schema, tasks

from .factories import T0, customer, user


def test_a_message_key_is_written_once(session: Session) -> None:
    row = customer(session)
    first = outbox.NewMessage("playbook:birthday:1:2026", MessageChannel.EMAIL, "a@example.com")
    other = outbox.NewMessage("playbook:birthday:2:2026", MessageChannel.SMS, "13800000000")
    assert outbox.enqueue(session=session, messages=[first], at=T0) == 1
    again = outbox.NewMessage(
        first.idempotency_key, MessageChannel.EMAIL, "b@example.com", customer_id=row["id"]
    )
    assert outbox.enqueue(session=session, messages=[again, other], at=T0) == 1
    stored = session.execute(
        sa.select(schema.outbox.c.idempotency_key, schema.outbox.c.recipient).order_by(
            schema.outbox.c.id
        )
    ).all()
    assert stored == [
        (first.idempotency_key, "a@example.com"),
        (other.idempotency_key, "13800000000"),
    ]


def test_many_messages_in_one_call_cross_the_statement_chunks(session: Session) -> None:
    messages = [
        outbox.NewMessage(f"k{i}", MessageChannel.WEBHOOK, "https://hooks.example.com/x")
        for i in range(1234)
    ]
    assert outbox.enqueue(session=session, messages=messages, at=T0) == 1234
    assert outbox.enqueue(session=session, messages=messages[::-1], at=T0) == 0


def test_an_alert_is_one_per_condition_and_reopens_after_resolution(session: Session) -> None:
    row = customer(session)
    staff = user(session)
    kwargs = {
        "kind": AlertKind.CHURN_RISK,
        "dedup_key": f"churn_risk:{row['id']}",
        "severity": AlertSeverity.WARNING,
        "customer_id": row["id"],
    }
    alert_id, new = alerts.raise_alert(session=session, details={"risk": 0.7}, at=T0, **kwargs)
    assert new
    later = T0 + dt.timedelta(days=1)
    assert alerts.raise_alert(session=session, details={"risk": 0.8}, at=later, **kwargs) == (
        alert_id,
        False,
    )
    t = schema.alerts
    stored = session.execute(sa.select(t).where(t.c.id == alert_id)).mappings().one()
    assert (stored["raised_at"], stored["last_seen_at"]) == (T0, later)
    assert stored["details"] == {"risk": 0.8}
    session.execute(
        sa.update(t)
        .where(t.c.id == alert_id)
        .values(status=AlertStatus.RESOLVED.value, resolved_at=later, resolved_by=staff["id"])
    )
    again = later + dt.timedelta(days=1)
    assert alerts.raise_alert(session=session, details=None, at=again, **kwargs) == (alert_id, True)
    stored = session.execute(sa.select(t).where(t.c.id == alert_id)).mappings().one()
    assert stored["status"] == AlertStatus.OPEN.value
    assert stored["resolved_at"] is None and stored["resolved_by"] is None
    assert stored["raised_at"] == again
    assert session.execute(sa.select(sa.func.count()).select_from(t)).scalar_one() == 1


def test_tasks_are_written_open(session: Session) -> None:
    row = customer(session)
    staff = user(session)
    due = T0 + dt.timedelta(days=2)
    written = tasks.add_tasks(
        session=session,
        tasks=[
            tasks.NewTask(
                row["id"], "回访钻石客户", due, TicketPriority.HIGH, assignee_id=staff["id"]
            ),
            tasks.NewTask(row["id"], "Birthday gift", due, team="service"),
        ],
        at=T0,
    )
    assert written == 2
    t = schema.tasks
    stored = session.execute(sa.select(t).order_by(t.c.id)).mappings().all()
    assert [
        (r["title"], r["status"], r["priority"], r["assignee_id"], r["team"]) for r in stored
    ] == [
        ("回访钻石客户", "open", "high", staff["id"], None),
        ("Birthday gift", "open", "normal", None, "service"),
    ]
    assert all(r["due_at"] == due and r["created_at"] == T0 for r in stored)
