"""Alerts for staff, one per condition: raised, acknowledged, resolved.

The table is :data:`rapport.store.schema.alerts`; docs/actions.md lists the kinds and who
receives them. An alert is keyed by its ``dedup_key`` (e.g. ``churn_risk:42``): raising a
condition that is already open only moves its ``last_seen_at``, so a daily run that sees the
same risk again raises nothing new.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from rapport.domain import AlertKind, AlertSeverity, AlertStatus
from rapport.store import schema
from rapport.store.db import insert_ignoring_duplicates

_t = schema.alerts


def raise_alert(
    *,
    session: Session,
    kind: AlertKind,
    dedup_key: str,
    severity: AlertSeverity,
    customer_id: int | None,
    details: Mapping[str, Any] | None,
    at: dt.datetime,
) -> tuple[int, bool]:
    """Raise the alert ``dedup_key``; returns its id and whether it is new.

    A new condition writes an open alert. One already recorded and not resolved only has
    its ``last_seen_at`` (and ``details``) brought up to date. One that was resolved opens
    again (its acknowledgement cleared): the condition came back.
    """
    row = {
        "kind": AlertKind(kind).value,
        "dedup_key": dedup_key,
        "customer_id": customer_id,
        "severity": AlertSeverity(severity).value,
        "status": AlertStatus.OPEN.value,
        "details": dict(details) if details is not None else None,
        "raised_at": at,
        "last_seen_at": at,
    }
    if insert_ignoring_duplicates(session, _t, [row]):
        new_id = session.execute(sa.select(_t.c.id).where(_t.c.dedup_key == dedup_key)).scalar_one()
        return new_id, True
    current = session.execute(
        sa.select(_t.c.id, _t.c.status).where(_t.c.dedup_key == dedup_key)
    ).one()
    values: dict[str, Any] = {"last_seen_at": at, "details": row["details"]}
    reopened = current.status == AlertStatus.RESOLVED.value
    if reopened:
        values |= {
            "status": AlertStatus.OPEN.value,
            "raised_at": at,
            "acknowledged_at": None,
            "acknowledged_by": None,
            "resolved_at": None,
            "resolved_by": None,
        }
    session.execute(sa.update(_t).where(_t.c.id == current.id).values(**values))
    return current.id, reopened
