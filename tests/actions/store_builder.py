"""A handmade store for the playbook engine's tests: customers, snapshots, orders, tickets
and survey answers written through the store's own functions, and a run of one day."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from rapport.actions.engine import PlaybookRun, run_in_session
from rapport.config import Rules, Settings, load_rules
from rapport.domain import OrderStatus, SurveyKind, TicketKind, TicketPriority, TicketStatus
from rapport.store import customers, orders, schema, surveys, tickets
from rapport.store.scores import write_snapshot

SHANGHAI = ZoneInfo("Asia/Shanghai")
#: The business day the tests run; "now" is 08:00 local on it.
DAY = dt.date(2026, 6, 15)
NOW = dt.datetime(2026, 6, 15, 8, 0, tzinfo=SHANGHAI).astimezone(dt.UTC)
PREVIOUS, LATEST = dt.date(2026, 6, 7), dt.date(2026, 6, 14)
_serial = iter(range(1, 10**9))


def local(day: dt.date, hour: int = 12) -> dt.datetime:
    """``hour`` o'clock local on ``day``, as UTC."""
    return dt.datetime.combine(day, dt.time(hour), SHANGHAI).astimezone(dt.UTC)


def settings(**values: Any) -> Settings:
    return Settings(timezone="Asia/Shanghai", locale="en", **values)


def rules(
    *, holdout: float = 0.0, caps: list[dict[str, Any]] | None = None, **playbooks: Any
) -> Rules:
    """The default rules with ``[playbooks]`` changed: no holdout unless asked, no caps
    unless given."""
    base = load_rules()
    update: dict[str, Any] = {"holdout_share": holdout, "caps": tuple(caps or ()), **playbooks}
    config = base.playbooks.model_validate({**base.playbooks.model_dump(), **update})
    return base.model_copy(update={"playbooks": config})


def customer(session: Session, **values: Any) -> int:
    n = next(_serial)
    row = customers.repo.create(
        session=session,
        values={
            "external_id": f"PB-{n:06d}",
            "name": "张伟",
            "email": f"c{n}@example.com",
            "phone": f"+86138{n:08d}",
            "wechat_id": f"wx{n}",
            "marketing_consent": True,
            **values,
        },
    )
    return int(row["id"])


def snapshot(session: Session, as_of: dt.date, rows: dict[int, dict[str, Any]]) -> None:
    write_snapshot(
        session=session, as_of=as_of, rows=[{"customer_id": c, **v} for c, v in rows.items()]
    )


def order(
    session: Session, customer_id: int, at: dt.datetime, amount: str = "100.00", **values: Any
) -> int:
    row = orders.repo.create(
        session=session,
        values={
            "external_id": f"SO-{next(_serial):07d}",
            "customer_id": customer_id,
            "status": OrderStatus.COMPLETED,
            "ordered_at": at,
            "net_amount": Decimal(amount),
            "currency": "CNY",
            **values,
        },
    )
    return int(row["id"])


def ticket(
    session: Session,
    customer_id: int,
    *,
    opened: dt.datetime,
    closed: dt.datetime | None = None,
    kind: TicketKind = TicketKind.COMPLAINT,
) -> int:
    row = tickets.repo.create(
        session=session,
        values={
            "external_id": f"TK-{next(_serial):07d}",
            "customer_id": customer_id,
            "kind": kind,
            "priority": TicketPriority.NORMAL,
            "status": TicketStatus.CLOSED if closed else TicketStatus.OPEN,
            "opened_at": opened,
            "resolved_at": closed,
            "closed_at": closed,
        },
    )
    return int(row["id"])


def nps(session: Session, customer_id: int, score: float, at: dt.datetime) -> int:
    row = surveys.repo.create(
        session=session,
        values={
            "customer_id": customer_id,
            "kind": SurveyKind.NPS,
            "score": score,
            "scale_min": 0,
            "scale_max": 10,
            "responded_at": at,
        },
    )
    return int(row["id"])


def run(
    session: Session,
    the_rules: Rules,
    *,
    day: dt.date = DAY,
    now: dt.datetime = NOW,
    dry_run: bool = False,
    **config: Any,
) -> PlaybookRun:
    return run_in_session(
        session=session,
        settings=settings(**config),
        rules=the_rules,
        day=day,
        now=now,
        dry_run=dry_run,
    )


def enrolled(session: Session, code: str) -> dict[int, str]:
    """customer id → arm of playbook ``code``'s enrolments."""
    e, p = schema.playbook_enrolments, schema.playbooks
    stmt = (
        sa.select(e.c.customer_id, e.c.arm)
        .join(p, p.c.id == e.c.playbook_id)
        .where(p.c.code == code)
    )
    return {c: a for c, a in session.execute(stmt)}


def count(session: Session, table: sa.Table, *where: Any) -> int:
    return int(
        session.execute(sa.select(sa.func.count()).select_from(table).where(*where)).scalar_one()
    )
