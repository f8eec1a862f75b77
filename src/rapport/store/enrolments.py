"""Playbook enrolments: who a playbook enrolled, in which arm, and what came of it.

The table is :data:`rapport.store.schema.playbook_enrolments`. An enrolment is unique per
playbook, customer and occasion; :func:`enrol` inserts with
:func:`rapport.store.db.insert_ignoring_duplicates`, so a rerun of a day enrols nobody twice,
and returns only the rows it wrote (the ones whose actions are to be performed).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from rapport.domain import MessageChannel
from rapport.store import schema
from rapport.store.db import insert_ignoring_duplicates

_e = schema.playbook_enrolments
_out = schema.outbox
_CHUNK = 500


def enrolled(
    *, session: Session, playbook_id: int, occasions: Iterable[str]
) -> list[tuple[int, str]]:
    """``(customer_id, occasion)`` of the playbook's enrolments on any of ``occasions``."""
    values = sorted(set(occasions))
    out: list[tuple[int, str]] = []
    for start in range(0, len(values), _CHUNK):
        stmt = sa.select(_e.c.customer_id, _e.c.occasion).where(
            _e.c.playbook_id == playbook_id, _e.c.occasion.in_(values[start : start + _CHUNK])
        )
        out.extend((r[0], r[1]) for r in session.execute(stmt))
    return out


def last_run_dates(*, session: Session, playbook_id: int) -> list[tuple[int, dt.date]]:
    """``(customer_id, latest run_date)`` of every customer the playbook ever enrolled."""
    stmt = (
        sa.select(_e.c.customer_id, sa.func.max(_e.c.run_date))
        .where(_e.c.playbook_id == playbook_id)
        .group_by(_e.c.customer_id)
    )
    return [(r[0], r[1]) for r in session.execute(stmt)]


def messages_since(
    *, session: Session, channel: MessageChannel, since: dt.datetime
) -> list[tuple[int, int]]:
    """``(customer_id, messages)`` of ``channel`` written to the outbox since ``since``."""
    stmt = (
        sa.select(_out.c.customer_id, sa.func.count())
        .where(
            _out.c.channel == MessageChannel(channel).value,
            _out.c.created_at >= since,
            _out.c.customer_id.is_not(None),
        )
        .group_by(_out.c.customer_id)
    )
    return [(r[0], r[1]) for r in session.execute(stmt)]


def enrol(
    *, session: Session, playbook_id: int, rows: Sequence[Mapping[str, Any]], at: dt.datetime
) -> list[dict[str, Any]]:
    """Insert enrolments (each with ``customer_id``, ``occasion``, ``arm``, ``version``,
    ``run_date``, ``reason``, ``outcome_due_at``) enrolled at ``at``; returns the rows
    written, with their ``id`` — an occasion already enrolled is skipped."""
    full = [{**row, "playbook_id": playbook_id, "enrolled_at": at} for row in rows]
    if not insert_ignoring_duplicates(session, _e, full):
        return []
    stmt = sa.select(_e.c.id, _e.c.customer_id, _e.c.occasion, _e.c.arm, _e.c.reason).where(
        _e.c.playbook_id == playbook_id, _e.c.enrolled_at == at
    )
    wanted = {(row["customer_id"], row["occasion"]) for row in rows}
    found = [dict(r) for r in session.execute(stmt).mappings()]
    return [r for r in found if (r["customer_id"], r["occasion"]) in wanted]


def defer_messages(*, session: Session, keys: Sequence[str], until: dt.datetime) -> None:
    """Make the outbox messages ``keys`` due no earlier than ``until`` (quiet hours)."""
    for start in range(0, len(keys), _CHUNK):
        session.execute(
            sa.update(_out)
            .where(_out.c.idempotency_key.in_(keys[start : start + _CHUNK]))
            .where(_out.c.next_attempt_at < until)
            .values(next_attempt_at=until)
        )


def due_for_measurement(*, session: Session, until: dt.datetime) -> list[dict[str, Any]]:
    """Enrolments whose outcome window ended by ``until`` and that are not measured yet."""
    stmt = sa.select(
        _e.c.id,
        _e.c.playbook_id,
        _e.c.version,
        _e.c.customer_id,
        _e.c.arm,
        _e.c.enrolled_at,
        _e.c.outcome_due_at,
    ).where(_e.c.measured_at.is_(None), _e.c.outcome_due_at <= until)
    return [dict(r) for r in session.execute(stmt).mappings()]


def record_outcomes(*, session: Session, rows: Sequence[Mapping[str, Any]], at: dt.datetime) -> int:
    """Write ``outcome_success``, ``outcome_value`` and ``cost`` of enrolments (by ``id``)."""
    if not rows:
        return 0
    stmt = (
        sa.update(_e)
        .where(_e.c.id == sa.bindparam("eid"))
        .values(
            outcome_success=sa.bindparam("success"),
            outcome_value=sa.bindparam("value"),
            cost=sa.bindparam("cost_"),
            measured_at=at,
        )
    )
    session.execute(
        stmt,
        [
            {"eid": r["id"], "success": r["success"], "value": r["value"], "cost_": r["cost"]}
            for r in rows
        ],
    )
    return len(rows)


def arm_summaries(
    *,
    session: Session,
    playbook_id: int | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
) -> list[dict[str, Any]]:
    """Per playbook and arm, over measured enrolments run from ``start`` to ``end``
    (inclusive, when given): ``customers``, ``successes``, ``revenue`` (sum of
    ``outcome_value``), ``revenue_squares`` (sum of its squares) and ``cost``."""
    value = sa.cast(sa.func.coalesce(_e.c.outcome_value, 0), sa.Float)
    stmt = sa.select(
        _e.c.playbook_id,
        _e.c.arm,
        sa.func.count().label("customers"),
        sa.func.sum(sa.case((_e.c.outcome_success.is_(True), 1), else_=0)).label("successes"),
        sa.func.sum(value).label("revenue"),
        sa.func.sum(value * value).label("revenue_squares"),
        sa.func.sum(sa.cast(sa.func.coalesce(_e.c.cost, 0), sa.Float)).label("cost"),
    ).where(_e.c.measured_at.is_not(None))
    if playbook_id is not None:
        stmt = stmt.where(_e.c.playbook_id == playbook_id)
    if start is not None:
        stmt = stmt.where(_e.c.run_date >= start)
    if end is not None:
        stmt = stmt.where(_e.c.run_date <= end)
    stmt = stmt.group_by(_e.c.playbook_id, _e.c.arm)
    return [dict(r) for r in session.execute(stmt).mappings()]


def counts(*, session: Session, playbook_id: int) -> dict[str, int]:
    """Enrolments of a playbook by arm."""
    stmt = (
        sa.select(_e.c.arm, sa.func.count())
        .where(_e.c.playbook_id == playbook_id)
        .group_by(_e.c.arm)
    )
    return {r[0]: r[1] for r in session.execute(stmt)}
