"""Where a new alert goes: the outbox messages of each alert raised (or opened again).

In the application an alert is its row in the ``alerts`` table (``rapport alerts list``,
``GET /alerts``). Beyond that, ``[alerts]`` says who is told:

* by e-mail, when the alert's severity is at least ``email_min_severity``: the active users
  of ``email_roles`` and ``email_users`` who have an e-mail address and whose scope holds the alert
  (:class:`rapport.access.AlertScope`: a manager hears of their team's customers), the
  customer's owner (``email_owner``), and the addresses of ``email_to``;
* by a signed webhook, every new alert, to ``webhook_url`` (when set).

Each message's idempotency key is ``alert:<id>:<raised>:<channel>[:<recipient>]`` — the
alert, the time it was raised (an alert opened again is news again), the channel and, for
e-mail, a digest of the address — so a second run, or a retry, never queues it twice. The
delivery worker (:mod:`rapport.actions.delivery`) sends what is queued.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from rapport.access import AlertScope, Principal
from rapport.config import Rules, Settings
from rapport.domain import AlertKind, AlertSeverity, MessageChannel, Role, TicketPriority, ValueTier
from rapport.i18n.enums import label
from rapport.i18n.tasks_alerts import text
from rapport.store import schema
from rapport.store.outbox import NewMessage
from rapport.store.repository import Row

#: Severities from the least to the most urgent.
SEVERITY_ORDER = (AlertSeverity.INFO, AlertSeverity.WARNING, AlertSeverity.CRITICAL)

_a = schema.alerts
_u = schema.users
_c = schema.customers


#: Ids bound in one statement at most (SQLite allows some 32,000 parameters).
CHUNK = 500


def _chunks(ids: Sequence[int]) -> list[list[int]]:
    ordered = list(ids)
    return [ordered[i : i + CHUNK] for i in range(0, len(ordered), CHUNK)]


def _stamp(at: dt.datetime) -> str:
    return at.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")


def _digest(address: str) -> str:
    return hashlib.sha256(address.strip().lower().encode("utf-8")).hexdigest()[:16]


def _principal(user: Row) -> Principal:
    return Principal(
        user_id=user["id"],
        username=user["username"],
        role=Role(user["role"]),
        team=user["team"],
        via="alerts",
    )


def _staff_readers(session: Session, rules: Rules, ids: Sequence[int]) -> dict[int, set[str]]:
    """The e-mail addresses of the users of ``email_roles`` and ``email_users`` who see
    each alert of ``ids``."""
    out: dict[int, set[str]] = {i: set() for i in ids}
    roles = [Role(r).value for r in rules.alerts.email_roles]
    names = list(rules.alerts.email_users)
    if not (roles or names) or not ids:
        return out
    staff = session.execute(
        sa.select(_u.c.id, _u.c.username, _u.c.role, _u.c.team, _u.c.email).where(
            _u.c.is_active.is_(True),
            _u.c.email.is_not(None),
            sa.or_(_u.c.role.in_(roles), _u.c.username.in_(names)),
        )
    ).mappings()
    for user in staff:
        scope = AlertScope(_principal(dict(user))).clause()
        for chunk in _chunks(ids):
            seen = session.execute(sa.select(_a.c.id).where(_a.c.id.in_(chunk), scope)).scalars()
            for alert_id in seen:
                out[alert_id].add(user["email"])
    return out


def _owners(session: Session, ids: Sequence[int]) -> dict[int, str]:
    """The e-mail address of each alert's customer's owner (active, with an address)."""
    out: dict[int, str] = {}
    tables = _a.join(_c, _c.c.id == _a.c.customer_id).join(_u, _u.c.id == _c.c.owner_id)
    for chunk in _chunks(ids):
        stmt = (
            sa.select(_a.c.id, _u.c.email)
            .select_from(tables)
            .where(_a.c.id.in_(chunk), _u.c.is_active.is_(True), _u.c.email.is_not(None))
        )
        out.update({alert_id: email for alert_id, email in session.execute(stmt)})
    return out


def _local_time(value: Any, tz: Any) -> Any:
    try:
        return dt.datetime.fromisoformat(value).astimezone(tz).strftime("%Y-%m-%d %H:%M")
    except (TypeError, ValueError):
        return value


def _evidence(kind: str, details: dict[str, Any], locale: str, tz: Any) -> str:
    """The alert's evidence as a sentence in ``locale`` (the details as they are, when a
    detail the sentence names is missing)."""
    shown = {k: "—" if v is None else v for k, v in details.items()}
    try:
        for name in ("due_at", "responded_at"):
            if name in shown:
                shown[name] = _local_time(shown[name], tz)
        if shown.get("value_tier") in {t.value for t in ValueTier}:
            shown["value_tier"] = label(ValueTier(shown["value_tier"]), locale)
        if shown.get("priority") in {p.value for p in TicketPriority}:
            shown["priority"] = label(TicketPriority(shown["priority"]), locale)
        for name, prefix in (("target", "alerts.target"), ("direction", "alerts.direction")):
            if name in shown:
                shown[name] = text(f"{prefix}.{shown[name]}", locale)
        if "metric" in shown:
            shown["metric"] = text(f"alerts.metric.{shown['metric']}", locale)
        return "  " + text(f"alerts.evidence.{kind}", locale, **shown)
    except (KeyError, IndexError, ValueError):
        return "\n".join(f"  {k}: {v}" for k, v in details.items())


def _mail(alert: Row, name: str | None, locale: str, tz: Any) -> tuple[str, str]:
    """The subject and body of ``alert``'s e-mail in ``locale``."""
    kind = label(AlertKind(alert["kind"]), locale)
    severity = label(AlertSeverity(alert["severity"]), locale)
    details = alert["details"] or {}
    if alert["customer_id"] is not None:
        about = text("alerts.mail_customer", locale, id=alert["customer_id"], name=name or "")
    elif "metric" in details:
        metric = text(f"alerts.metric.{details['metric']}", locale)
        about = text("alerts.mail_metric", locale, metric=metric, day=details["day"])
    else:
        about = ""
    subject = text("alerts.mail_subject", locale, severity=severity, kind=kind, about=about)
    raised = alert["raised_at"].astimezone(tz).strftime("%Y-%m-%d %H:%M")
    lines = [
        text(
            "alerts.mail_intro",
            locale,
            id=alert["id"],
            raised_at=raised,
            kind=kind,
            severity=severity,
        ),
        "",
        text("alerts.mail_evidence", locale),
        _evidence(alert["kind"], details, locale, tz),
        "",
        text("alerts.mail_act", locale, id=alert["id"]),
    ]
    return subject.strip(), "\n".join(lines)


def _payload(alert: Row) -> dict[str, Any]:
    return {
        "event": "alert.raised",
        "alert": {
            "id": alert["id"],
            "kind": alert["kind"],
            "severity": alert["severity"],
            "status": alert["status"],
            "dedup_key": alert["dedup_key"],
            "customer_id": alert["customer_id"],
            "details": alert["details"],
            "raised_at": alert["raised_at"].isoformat(),
        },
    }


def messages_for(
    session: Session, rules: Rules, settings: Settings, alert_ids: Sequence[int], at: dt.datetime
) -> list[NewMessage]:
    """The messages telling of the alerts ``alert_ids`` (just raised at ``at``), as
    ``[alerts]`` directs; texts in ``settings.locale``, times in ``settings.tz``."""
    if not alert_ids:
        return []
    a = rules.alerts
    rows = [
        dict(r)
        for chunk in _chunks(sorted(alert_ids))
        for r in session.execute(
            sa.select(_a, _c.c.name.label("customer_name"))
            .select_from(_a.outerjoin(_c, _c.c.id == _a.c.customer_id))
            .where(_a.c.id.in_(chunk))
            .order_by(_a.c.id)
        ).mappings()
    ]
    least = SEVERITY_ORDER.index(AlertSeverity(a.email_min_severity))
    mailed = [r for r in rows if SEVERITY_ORDER.index(AlertSeverity(r["severity"])) >= least]
    readers = _staff_readers(session, rules, [r["id"] for r in mailed])
    owners = _owners(session, [r["id"] for r in mailed]) if a.email_owner else {}
    out: list[NewMessage] = []
    for r in mailed:
        to = readers.get(r["id"], set()) | set(a.email_to)
        if r["id"] in owners:
            to.add(owners[r["id"]])
        if not to:
            continue
        subject, body = _mail(r, r["customer_name"], settings.locale, settings.tz)
        for address in sorted(to, key=str.lower):
            out.append(
                NewMessage(
                    idempotency_key=f"alert:{r['id']}:{_stamp(at)}:email:{_digest(address)}",
                    channel=MessageChannel.EMAIL,
                    recipient=address,
                    subject=subject[:300],
                    body=body,
                    alert_id=r["id"],
                )
            )
    if a.webhook_url:
        for r in rows:
            out.append(
                NewMessage(
                    idempotency_key=f"alert:{r['id']}:{_stamp(at)}:webhook",
                    channel=MessageChannel.WEBHOOK,
                    recipient=a.webhook_url,
                    payload=_payload(r),
                    alert_id=r["id"],
                )
            )
    return out
