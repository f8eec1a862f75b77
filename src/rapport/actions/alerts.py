"""Alerts: raised each day from the rules of :mod:`rapport.actions.alert_rules`, one per
condition, resolved by themselves when their condition is gone, sent to the people who
should know; listed, acknowledged and resolved by staff within their scope.

:func:`raise_alerts` is the daily step (``rapport alerts run``, the scheduler): it finds the
conditions true on the day, raises each through :func:`rapport.store.alerts.raise_alert`
(an alert already open is only seen again: a second run raises nothing new), resolves the
alerts whose condition is gone where that is clear — an SLA alert once its ticket is
answered, resolved or closed (or its at-risk warning turned into a breach), a churn-risk
alert once a later snapshot has the risk below the threshold, a downgrade once the customer
is diamond again — and puts the messages of each new alert in the outbox
(:mod:`rapport.actions.alert_delivery`), in the same transaction. An NPS answer and a day's
metric stay until someone resolves them. An alert about an event (:data:`EVENT_KINDS`)
resolved by staff stays resolved when a later run sees the same event; an SLA alert is a
state and opens again while the ticket is late.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from rapport.access import WRITERS, AlertScope, Principal
from rapport.actions.acting import Actor
from rapport.actions.alert_delivery import messages_for
from rapport.actions.alert_rules import RULES, Condition, RunDay
from rapport.config import Rules, Settings, get_settings, load_rules
from rapport.domain import AlertKind, AuditAction, ValueTier
from rapport.errors import Forbidden, ValidationFailed
from rapport.store import alerts, outbox, schema
from rapport.store.db import engine_from_settings, session_scope
from rapport.store.paging import Page, PageRequest
from rapport.store.repository import Row, utcnow
from rapport.store.scores import snapshot_dates

ENTITY = "alerts"


@dataclass
class AlertRun:
    """What one run did: the day, the time the rules were read at, the two snapshots
    compared, new alerts by kind (raised, or opened again), alerts seen again, alerts
    resolved because their condition is gone, messages queued, and why rules could not
    judge (``two_snapshots``: churn risk and downgrades need two score snapshots)."""

    day: dt.date
    at: dt.datetime
    latest: dt.date | None = None
    previous: dt.date | None = None
    raised: dict[str, int] = field(default_factory=dict)
    seen: int = 0
    resolved: int = 0
    messages: int = 0
    not_judged: list[str] = field(default_factory=list)

    @property
    def raised_total(self) -> int:
        return sum(self.raised.values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "day": self.day.isoformat(),
            "at": self.at.isoformat(),
            "latest_snapshot": self.latest.isoformat() if self.latest else None,
            "previous_snapshot": self.previous.isoformat() if self.previous else None,
            "raised": self.raised_total,
            "raised_by_kind": dict(self.raised),
            "seen": self.seen,
            "resolved": self.resolved,
            "messages": self.messages,
            "not_judged": list(self.not_judged),
        }


def run_day(session: Session, day: dt.date, now: dt.datetime, tz: Any) -> RunDay:
    """The run of ``day`` at ``now``: read at the day's end, or now if that is earlier,
    against the two latest snapshots on or before the day."""
    bounds = RunDay(day, now, tz, None, None).bounds(day)
    dates = [d for d in snapshot_dates(session=session) if d <= day]
    latest = dates[-1] if dates else None
    previous = dates[-2] if len(dates) > 1 else None
    return RunDay(day, min(now, bounds[1]), tz, latest, previous)


# --- resolving what is gone ----------------------------------------------------------------


_SLA = (AlertKind.SLA_AT_RISK, AlertKind.SLA_BREACHED)
#: Kinds whose condition is an event (a crossing between two snapshots, an answer, a day's
#: figure), keyed by it: once resolved, seeing the same event again does not open it again.
#: The other kinds (SLA) are states: raised again while they last, they open again.
EVENT_KINDS = frozenset(
    {
        AlertKind.CHURN_RISK,
        AlertKind.DIAMOND_DOWNGRADED,
        AlertKind.NPS_DETRACTOR,
        AlertKind.METRIC_OUT_OF_BAND,
    }
)


def _gone(session: Session, rules: Rules, run: RunDay, current: set[str]) -> list[int]:
    """The unresolved alerts of these rules whose condition is gone on this run (alerts a
    playbook raised, keyed ``playbook:…``, are the playbook's and stay as they are)."""
    gone: list[int] = []
    open_alerts = alerts.unresolved(
        session=session,
        kinds=[*_SLA, AlertKind.CHURN_RISK, AlertKind.DIAMOND_DOWNGRADED],
    )
    later: list[Row] = []
    for a in open_alerts:
        if not a["dedup_key"].startswith(f"{a['kind']}:"):
            continue
        if AlertKind(a["kind"]) in _SLA:
            if a["dedup_key"] not in current:
                gone.append(a["id"])
            continue
        as_of = (a["details"] or {}).get("as_of")
        if run.latest is not None and as_of is not None and as_of < run.latest.isoformat():
            later.append(a)
    if not later:
        return gone
    s = schema.customer_scores
    ids = sorted({a["customer_id"] for a in later if a["customer_id"] is not None})
    latest = {
        r.customer_id: r
        for start in range(0, len(ids), 500)
        for r in session.execute(
            sa.select(s.c.customer_id, s.c.churn_risk, s.c.value_tier).where(
                s.c.as_of == run.latest, s.c.customer_id.in_(ids[start : start + 500])
            )
        )
    }
    threshold = rules.alerts.churn_risk_threshold
    for a in later:
        row = latest.get(a["customer_id"])
        if AlertKind(a["kind"]) is AlertKind.CHURN_RISK:
            if row is not None and row.churn_risk is not None and row.churn_risk < threshold:
                gone.append(a["id"])
        elif row is not None and row.value_tier == ValueTier.DIAMOND.value:
            gone.append(a["id"])
    return gone


# --- the run -------------------------------------------------------------------------------


def raise_alerts(
    settings: Settings | None = None,
    day: dt.date | None = None,
    *,
    now: dt.datetime | None = None,
) -> AlertRun:
    """Raise the alerts of ``day`` (a local day of ``settings.tz``; default: today), resolve
    those whose condition is gone, and queue the messages of the new ones — in one
    transaction. Running it again for the same day raises and sends nothing new.

    Parameters
    ----------
    settings
        The store and the time zone (default: the process's settings); the rules are read
        from them (``[alerts]``).
    day
        The local day the run is for. The rules are read at the day's end, or at ``now``
        when that is earlier (a run during the day).
    now
        The current time (aware; default: the clock).

    Raises
    ------
    ValidationFailed
        When ``day`` has not begun yet at ``now``.
    """
    settings = settings or get_settings()
    rules = load_rules(settings)
    now = now or utcnow()
    tz = settings.tz
    day = day or now.astimezone(tz).date()
    engine = engine_from_settings(settings)
    try:
        with session_scope(engine, writing=True) as session:
            run = run_day(session, day, now, tz)
            if run.bounds(day)[0] > now:
                raise ValidationFailed(
                    "day {day}: it has not begun yet",
                    field="day",
                    value=day.isoformat(),
                    hint="run the alerts for today or an earlier day",
                    key="alerts_future_day",
                    params={"day": day.isoformat()},
                )
            return _raise(session, rules, settings, run)
    finally:
        engine.dispose()


def _raise(session: Session, rules: Rules, settings: Settings, run: RunDay) -> AlertRun:
    out = AlertRun(day=run.day, at=run.at, latest=run.latest, previous=run.previous)
    if run.previous is None:
        out.not_judged.append("two_snapshots")
    found: list[Condition] = [c for rule in RULES for c in rule(session, rules, run)]
    # an event's alert resolved by staff stays resolved when a later run sees the event again
    events = [c.dedup_key for c in found if c.kind in EVENT_KINDS]
    done = alerts.resolved_keys(session=session, dedup_keys=events)
    raised: Counter[str] = Counter()
    new_ids: list[int] = []
    for c in found:
        if c.dedup_key in done:
            continue
        alert_id, is_new = alerts.raise_alert(
            session=session,
            kind=c.kind,
            dedup_key=c.dedup_key,
            severity=c.severity,
            customer_id=c.customer_id,
            details=c.details,
            at=run.at,
        )
        if is_new:
            raised[c.kind.value] += 1
            new_ids.append(alert_id)
        else:
            out.seen += 1
    out.raised = dict(raised)
    gone = _gone(session, rules, run, {c.dedup_key for c in found})
    out.resolved = alerts.resolve_gone(session=session, alert_ids=gone, at=run.at)
    messages = messages_for(session, rules, settings, new_ids, run.at)
    out.messages = outbox.enqueue(session=session, messages=messages, at=run.at)
    return out


# --- staff at work -------------------------------------------------------------------------


def _where(principal: Principal | None) -> list[sa.ColumnElement[bool]]:
    return [] if principal is None else [AlertScope(principal).clause()]


def alert_page(
    *,
    session: Session,
    principal: Principal | None,
    page: PageRequest,
    filters: alerts.AlertFilter | None = None,
) -> Page:
    """The alerts ``principal`` sees (``None``: every alert) meeting ``filters``, newest
    raised first (:func:`rapport.store.alerts.list_alerts`)."""
    return alerts.list_alerts(session=session, page=page, filters=filters, where=_where(principal))


def _visible(session: Session, actor: Actor, alert_id: int) -> Row:
    row = alerts.get(session=session, alert_id=alert_id, where=_where(actor.principal))
    if not actor.may(WRITERS["alerts"]):
        raise Forbidden(
            "the {role} role may not acknowledge or resolve alerts",
            hint="ask a manager",
            key="alert_write_forbidden",
            params={"role": actor.role},
        )
    return row


def acknowledge_alert(*, session: Session, actor: Actor, alert_id: int, at: dt.datetime) -> Row:
    """Acknowledge the alert (someone is on it); the alert after, audited.

    Raises
    ------
    NotFound
        When the alert does not exist or lies outside the actor's scope.
    Forbidden
        When the actor's role may not (analysts).
    Conflict
        When it is resolved.
    """
    before = _visible(session, actor, alert_id)
    row = alerts.acknowledge(session=session, alert_id=alert_id, by=actor.user_id, at=at)
    if before["status"] != row["status"]:
        detail = {"customer_id": row["customer_id"], "to": row["status"]}
        actor.record(session, AuditAction.UPDATE, ENTITY, alert_id, detail)
    return row


def resolve_alert(*, session: Session, actor: Actor, alert_id: int, at: dt.datetime) -> Row:
    """Resolve the alert; the alert after, audited. Raises as :func:`acknowledge_alert`
    (:class:`~rapport.errors.Conflict` when it is resolved already)."""
    _visible(session, actor, alert_id)
    row = alerts.resolve(session=session, alert_id=alert_id, by=actor.user_id, at=at)
    detail = {"customer_id": row["customer_id"], "to": row["status"]}
    actor.record(session, AuditAction.UPDATE, ENTITY, alert_id, detail)
    return row
