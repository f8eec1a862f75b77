"""Alerts for staff, one per condition: raised, acknowledged, resolved.

The table is :data:`rapport.store.schema.alerts`; docs/actions.md lists the kinds and who
receives them. An alert is keyed by its ``dedup_key`` (e.g. ``churn_risk:42``): raising a
condition that is already open only moves its ``last_seen_at``, so a daily run that sees the
same risk again raises nothing new.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from rapport.domain import AlertKind, AlertSeverity, AlertStatus
from rapport.errors import Conflict, NotFound
from rapport.store import schema
from rapport.store.db import insert_ignoring_duplicates, rowcount
from rapport.store.paging import MAX_ID, Page, PageRequest, SortKey, read_page
from rapport.store.repository import Row

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


# --- reading -------------------------------------------------------------------------------

#: An alert list's order: newest raised first, then by id (the keyset of its pages).
ORDER = (SortKey(_t.c.raised_at, descending=True), SortKey(_t.c.id, descending=True))


@dataclass(frozen=True)
class AlertFilter:
    """The filters of an alert list (all optional, combined with AND). ``status`` may be
    the word ``unresolved`` (open or acknowledged)."""

    status: AlertStatus | Literal["unresolved"] | None = None
    kind: AlertKind | None = None
    severity: AlertSeverity | None = None
    customer_id: int | None = None

    def conditions(self) -> list[sa.ColumnElement[bool]]:
        out: list[sa.ColumnElement[bool]] = []
        if self.status == "unresolved":
            out.append(_t.c.status != AlertStatus.RESOLVED.value)
        elif self.status is not None:
            out.append(_t.c.status == AlertStatus(self.status).value)
        if self.kind is not None:
            out.append(_t.c.kind == AlertKind(self.kind).value)
        if self.severity is not None:
            out.append(_t.c.severity == AlertSeverity(self.severity).value)
        if self.customer_id is not None:
            out.append(_t.c.customer_id == self.customer_id)
        return out


def list_alerts(
    *,
    session: Session,
    page: PageRequest,
    filters: AlertFilter | None = None,
    where: Sequence[sa.ColumnElement[bool]] = (),
) -> Page:
    """The alerts meeting ``filters`` and ``where`` (the caller's scope:
    :class:`rapport.access.AlertScope`), newest raised first, one keyset page at a time."""
    stmt = sa.select(_t).where(*where, *(filters or AlertFilter()).conditions())
    return read_page(session, stmt, page, ORDER)


def _not_found(alert_id: int) -> NotFound:
    return NotFound(
        "no alert with id {id}",
        table="alerts",
        field="id",
        value=alert_id,
        key="alert_not_found",
        params={"id": alert_id},
    )


def get(*, session: Session, alert_id: int, where: Sequence[sa.ColumnElement[bool]] = ()) -> Row:
    """Alert ``alert_id`` when it meets ``where``; otherwise the same :class:`NotFound` as
    a missing alert."""
    if not 1 <= alert_id <= MAX_ID:
        raise _not_found(alert_id)
    row = session.execute(sa.select(_t).where(_t.c.id == alert_id, *where)).mappings().first()
    if row is None:
        raise _not_found(alert_id)
    return dict(row)


# --- acknowledging and resolving -------------------------------------------------------------


def _resolved_already(alert_id: int) -> Conflict:
    return Conflict(
        "alert {id} is resolved already",
        table="alerts",
        field="status",
        value=AlertStatus.RESOLVED.value,
        hint="a resolved alert opens again by itself when its condition returns",
        key="alert_resolved",
        params={"id": alert_id},
    )


def acknowledge(*, session: Session, alert_id: int, by: int | None, at: dt.datetime) -> Row:
    """Acknowledge open alert ``alert_id`` (someone is on it); the alert after. An
    acknowledged alert stays as it was (the first acknowledgement is kept).

    Raises
    ------
    NotFound
        When there is no such alert.
    Conflict
        When it is resolved.
    """
    session.execute(
        sa.update(_t)
        .where(_t.c.id == alert_id, _t.c.status == AlertStatus.OPEN.value)
        .values(status=AlertStatus.ACKNOWLEDGED.value, acknowledged_at=at, acknowledged_by=by)
    )
    row = get(session=session, alert_id=alert_id)
    if row["status"] == AlertStatus.RESOLVED.value:
        raise _resolved_already(alert_id)
    return row


def resolve(*, session: Session, alert_id: int, by: int | None, at: dt.datetime) -> Row:
    """Resolve alert ``alert_id`` (``by`` ``None``: resolved by the alert run, its
    condition gone); the alert after.

    Raises
    ------
    NotFound
        When there is no such alert.
    Conflict
        When it is resolved already.
    """
    changed = session.execute(
        sa.update(_t)
        .where(_t.c.id == alert_id, _t.c.status != AlertStatus.RESOLVED.value)
        .values(status=AlertStatus.RESOLVED.value, resolved_at=at, resolved_by=by)
    )
    row = get(session=session, alert_id=alert_id)
    if rowcount(changed) == 0:
        raise _resolved_already(alert_id)
    return row


def unresolved(*, session: Session, kinds: Sequence[AlertKind]) -> list[Row]:
    """The alerts of ``kinds`` not resolved (``id``, ``kind``, ``dedup_key``,
    ``customer_id``, ``details``): the conditions a run checks are still there."""
    stmt = sa.select(_t.c.id, _t.c.kind, _t.c.dedup_key, _t.c.customer_id, _t.c.details).where(
        _t.c.kind.in_([AlertKind(k).value for k in kinds]),
        _t.c.status != AlertStatus.RESOLVED.value,
    )
    return [dict(r) for r in session.execute(stmt.order_by(_t.c.id)).mappings()]


def resolve_gone(*, session: Session, alert_ids: Sequence[int], at: dt.datetime) -> int:
    """Resolve the alerts ``alert_ids`` whose condition is gone (by nobody: the run);
    returns how many were still unresolved."""
    ids, done = list(alert_ids), 0
    for start in range(0, len(ids), 500):
        changed = session.execute(
            sa.update(_t)
            .where(_t.c.id.in_(ids[start : start + 500]), _t.c.status != AlertStatus.RESOLVED.value)
            .values(status=AlertStatus.RESOLVED.value, resolved_at=at, resolved_by=None)
        )
        done += rowcount(changed)
    return done


def resolved_keys(*, session: Session, dedup_keys: Sequence[str]) -> set[str]:
    """Those of ``dedup_keys`` whose alert is resolved."""
    keys = sorted(set(dedup_keys))
    found: set[str] = set()
    for start in range(0, len(keys), 500):
        chunk = keys[start : start + 500]
        found |= set(
            session.execute(
                sa.select(_t.c.dedup_key).where(
                    _t.c.dedup_key.in_(chunk), _t.c.status == AlertStatus.RESOLVED.value
                )
            ).scalars()
        )
    return found
