"""Service tickets: SLA due times from the rules, a workflow, and a status history.

A ticket opened for a loyalty-programme member gets at least the ``sla_priority`` of the
member's programme tier (``[[loyalty.tiers]]``, docs/loyalty.md "Benefits"): a lower
priority is raised, never lowered, and the ticket's first status-history row says so in
its note (:func:`tier_priority_note`).
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from rapport.config import LoyaltyRules, SlaRules, load_rules
from rapport.domain import TICKET_TRANSITIONS, TicketPriority, TicketStatus
from rapport.errors import Conflict, NotFound
from rapport.store import schema
from rapport.store.repository import Repository, Row, utcnow

repo = Repository(schema.tickets, entity="ticket")
history_repo = Repository(schema.ticket_status_history, entity="ticket status change", key=None)

_DONE_STAMP = {TicketStatus.RESOLVED: "resolved_at", TicketStatus.CLOSED: "closed_at"}
#: Priorities from lowest to highest.
PRIORITY_ORDER = tuple(TicketPriority)
#: Prefix of the history note of a ticket whose priority the member's tier raised.
TIER_NOTE_PREFIX = "loyalty tier "
_TIER_NOTE = re.compile(
    re.escape(TIER_NOTE_PREFIX) + r"(?P<tier>\S+): priority (?P<asked>\w+) → (?P<given>\w+)"
)


def due_times(
    *, opened_at: dt.datetime, priority: TicketPriority, sla: SlaRules
) -> dict[str, dt.datetime]:
    """First-response and resolution due times for a ticket of ``priority``."""
    return {
        "first_response_due_at": opened_at + dt.timedelta(hours=sla.first_response_hours[priority]),
        "resolution_due_at": opened_at + dt.timedelta(hours=sla.resolution_hours[priority]),
    }


def tier_priority(
    *, session: Session, customer_id: int, loyalty: LoyaltyRules
) -> tuple[str, TicketPriority] | None:
    """The member's programme tier and its ``sla_priority``; ``None`` for a customer with no
    tier state (not a member, or not evaluated yet) or whose tier is no longer configured."""
    mt = schema.loyalty_member_tiers.c
    code = session.execute(
        sa.select(mt.tier).where(mt.customer_id == customer_id)
    ).scalar_one_or_none()
    tier = next((t for t in loyalty.tiers if t.code == code), None)
    return None if tier is None else (tier.code, TicketPriority(tier.sla_priority))


def tier_priority_note(*, tier: str, asked: TicketPriority, given: TicketPriority) -> str:
    """The history note of a ticket whose priority a programme tier raised, e.g.
    ``loyalty tier gold: priority normal → high`` (codes, the same in every language)."""
    return f"{TIER_NOTE_PREFIX}{tier}: priority {asked.value} → {given.value}"


def read_tier_priority_note(note: str | None) -> tuple[str, TicketPriority, TicketPriority] | None:
    """The tier, the priority asked and the one given of a note :func:`tier_priority_note`
    wrote; ``None`` for any other note (a note staff wrote stays as it is)."""
    found = _TIER_NOTE.fullmatch(note or "")
    if found is None or not {found["asked"], found["given"]} <= set(TicketPriority):
        return None
    return found["tier"], TicketPriority(found["asked"]), TicketPriority(found["given"])


def new_external_id() -> str:
    """The external id of a ticket opened without one: ``T-`` and 16 random hexadecimal
    digits."""
    return f"T-{uuid.uuid4().hex[:16]}"


def open_ticket(
    *,
    session: Session,
    values: Mapping[str, Any],
    sla: SlaRules | None = None,
    loyalty: LoyaltyRules | None = None,
    opened_by: int | None = None,
) -> Row:
    """Create a ticket (status ``open`` unless given) with SLA due times and a first history row.

    A member's ticket gets at least the ``sla_priority`` of the member's programme tier
    (:func:`tier_priority`): a lower priority is raised, the first history row's note
    records it (:func:`tier_priority_note`), and the due times follow the raised priority.
    Due times given in ``values`` win over the ones derived from the priority targets.

    Parameters
    ----------
    session
        The caller's session; the ticket and its history row are written in it.
    values
        The ticket's columns (``customer_id``, ``kind``, ``priority``, ``opened_at``…);
        without an ``external_id``, a new one (:func:`new_external_id`).
    sla, loyalty
        The SLA targets and the loyalty programme; the configured ones when not given.
    opened_by
        The user who opened it (the history row's ``changed_by``).
    """
    given = {"status": TicketStatus.OPEN, **values}
    if given.get("external_id") is None:
        given["external_id"] = new_external_id()
    clean = repo.validate(given)
    if sla is None or loyalty is None:
        rules = load_rules()
        sla, loyalty = sla or rules.sla, loyalty or rules.loyalty
    priority = TicketPriority(clean["priority"])
    note = None
    floor = tier_priority(session=session, customer_id=clean["customer_id"], loyalty=loyalty)
    if floor is not None and PRIORITY_ORDER.index(floor[1]) > PRIORITY_ORDER.index(priority):
        note = tier_priority_note(tier=floor[0], asked=priority, given=floor[1])
        priority = floor[1]
        clean["priority"] = priority
    derived = due_times(opened_at=clean["opened_at"], priority=priority, sla=sla)
    for name, due in derived.items():
        if clean.get(name) is None:
            clean[name] = due
    with repo.writing(session):
        ticket = repo.create(session=session, values=clean)
        history_repo.create(
            session=session,
            values={
                "ticket_id": ticket["id"],
                "from_status": None,
                "to_status": ticket["status"],
                "changed_at": ticket["opened_at"],
                "changed_by": opened_by,
                "note": note,
            },
        )
    return ticket


def lock(*, session: Session, ticket_id: int) -> Row:
    """Ticket ``ticket_id``, locked for writing until the transaction ends.

    PostgreSQL: ``SELECT … FOR UPDATE`` (a second transaction waits, then reads the row as
    the first one left it). SQLite locks the whole database, not rows: a no-op ``UPDATE``
    takes the write lock before the row is read, so that the read cannot be stale. On
    SQLite, call it before anything else in the transaction: a transaction that has read
    already cannot take the write lock once another connection has written meanwhile
    (SQLite refuses with "database is locked" rather than lose that write).

    Raises
    ------
    NotFound
        When there is no such ticket.
    """
    t = schema.tickets
    low, high = -(2**31), 2**31 - 1
    row = None
    if isinstance(ticket_id, int) and low <= ticket_id <= high:
        if session.get_bind().dialect.name == "sqlite":
            session.execute(sa.update(t).where(t.c.id == ticket_id).values(status=t.c.status))
        stmt = sa.select(t).where(t.c.id == ticket_id).with_for_update()
        row = session.execute(stmt).mappings().first()
    if row is None:
        raise not_found(ticket_id)
    return dict(row)


def not_found(ticket_id: Any) -> NotFound:
    """The :class:`NotFound` of a missing ticket; a caller that hides a ticket outside the
    user's scope raises this one too, so that hidden and missing tickets look alike."""
    return NotFound(
        "no ticket with id {id}",
        table="tickets",
        field="id",
        value=ticket_id,
        key="ticket_not_found",
        params={"id": ticket_id},
    )


def transition(
    *,
    session: Session,
    ticket_id: int,
    to_status: TicketStatus,
    at: dt.datetime,
    by: int | None = None,
    note: str | None = None,
) -> Row:
    """Move a ticket along the workflow, stamp the time and log the change.

    The first move out of ``open`` by staff stamps ``first_response_at`` when it is unset;
    ``resolved``/``closed`` stamp ``resolved_at``/``closed_at``; reopening clears
    ``resolved_at``.

    Safe under concurrency: the ticket is locked (:func:`lock`) before its status is
    read, and the change is a conditional ``UPDATE … WHERE status = <the status read>``,
    so two clients moving the same ticket from the same status cannot both succeed — the
    second one sees the new status and gets a :class:`Conflict`.

    Raises
    ------
    NotFound
        When there is no such ticket.
    ValidationFailed
        When ``to_status`` is not a ticket status (the hint lists them), or ``at`` has no
        time zone or lies before the ticket was opened.
    Conflict
        When the workflow does not allow ``to_status`` after the current status.
    """
    to_status = TicketStatus(repo.validate({"status": to_status}, partial=True)["status"])
    repo.validate({"first_response_at": at}, partial=True)
    ticket = lock(session=session, ticket_id=ticket_id)
    current = TicketStatus(ticket["status"])
    if to_status not in TICKET_TRANSITIONS[current]:
        allowed = ", ".join(sorted(s.value for s in TICKET_TRANSITIONS[current])) or "none"
        raise Conflict(
            "ticket {id}: cannot go from {current} to {status}",
            table="tickets",
            field="status",
            value=to_status.value,
            hint="allowed next statuses: {allowed}",
            key="ticket_transition",
            params={
                "id": ticket_id,
                "current": current.value,
                "status": to_status.value,
                "allowed": allowed,
            },
        )
    changes: dict[str, Any] = {"status": to_status}
    if ticket["first_response_at"] is None:
        changes["first_response_at"] = at
    if to_status in _DONE_STAMP:
        changes[_DONE_STAMP[to_status]] = at
    if to_status == TicketStatus.CLOSED and ticket["resolved_at"] is None:
        changes["resolved_at"] = at
    if current == TicketStatus.RESOLVED and to_status == TicketStatus.IN_PROGRESS:
        changes["resolved_at"] = None
    clean = {**repo.validate(changes, partial=True), "updated_at": utcnow()}
    t = schema.tickets
    with repo.writing(session, clean):
        stmt = (
            sa.update(t)
            .where(t.c.id == ticket_id, t.c.status == current.value)
            .values(**clean)
            .returning(t)
        )
        updated = session.execute(stmt).mappings().first()
        if updated is None:  # moved meanwhile (only without the lock, e.g. a stale read)
            raise Conflict(
                "ticket {id} is no longer {current}: another change came first",
                table="tickets",
                field="status",
                value=to_status.value,
                hint="read the ticket again and retry",
                key="ticket_changed_meanwhile",
                params={"id": ticket_id, "current": current.value},
            )
        history_repo.create(
            session=session,
            values={
                "ticket_id": ticket_id,
                "from_status": current,
                "to_status": to_status,
                "changed_at": at,
                "changed_by": by,
                "note": note,
            },
        )
    return dict(updated)


def history(*, session: Session, ticket_id: int) -> list[Row]:
    h = schema.ticket_status_history
    stmt = sa.select(h).where(h.c.ticket_id == ticket_id).order_by(h.c.changed_at, h.c.id)
    return [dict(r) for r in session.execute(stmt).mappings()]
