"""Tickets: SLA due times from the rules, the workflow, its time stamps and history."""

from __future__ import annotations

import datetime as dt
from collections import deque
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from rapport.config import SlaRules, get_settings, load_rules
from rapport.domain import TICKET_TRANSITIONS, TicketPriority, TicketStatus
from rapport.errors import Conflict, NotFound, ValidationFailed
from rapport.store import tickets
from rapport.store.schema import ticket_status_history

from .factories import T0, customer, ticket, ticket_values, user

ALLOWED = sorted((current, nxt) for current, nexts in TICKET_TRANSITIONS.items() for nxt in nexts)
FORBIDDEN = sorted(
    (current, nxt)
    for current in TicketStatus
    for nxt in TicketStatus
    if nxt not in TICKET_TRANSITIONS[current]
)


def hours(n: float) -> dt.datetime:
    return T0 + dt.timedelta(hours=n)


def path_to(status: TicketStatus) -> list[TicketStatus]:
    """The shortest walk along the workflow from ``open`` to ``status``."""
    queue: deque[list[TicketStatus]] = deque([[TicketStatus.OPEN]])
    while queue:
        walk = queue.popleft()
        if walk[-1] == status:
            return walk[1:]
        queue.extend(
            [*walk, nxt] for nxt in sorted(TICKET_TRANSITIONS[walk[-1]]) if nxt not in walk
        )
    raise AssertionError(f"{status} is unreachable from open")


def ticket_in(session: Session, status: TicketStatus) -> dict:
    c = customer(session)
    t = ticket(session, c["id"])
    for n, step in enumerate(path_to(status), start=1):
        t = tickets.transition(session=session, ticket_id=t["id"], to_status=step, at=hours(n))
    assert t["status"] == status
    return t


def history_count(session: Session) -> int:
    return session.execute(
        sa.select(sa.func.count()).select_from(ticket_status_history)
    ).scalar_one()


# --- opening -------------------------------------------------------------------------------


@pytest.mark.parametrize("priority", list(TicketPriority))
def test_open_ticket_derives_due_times_from_the_configured_sla(
    session: Session, priority: TicketPriority
) -> None:
    sla = load_rules().sla
    c = customer(session)
    t = ticket(session, c["id"], priority=priority)
    assert t["status"] == TicketStatus.OPEN
    assert t["opened_at"] == T0
    assert t["first_response_due_at"] == T0 + dt.timedelta(hours=sla.first_response_hours[priority])
    assert t["resolution_due_at"] == T0 + dt.timedelta(hours=sla.resolution_hours[priority])
    assert t["first_response_due_at"] <= t["resolution_due_at"]


def test_sla_targets_differ_by_priority(session: Session) -> None:
    c = customer(session)
    due = {p: ticket(session, c["id"], priority=p)["first_response_due_at"] for p in TicketPriority}
    assert due[TicketPriority.URGENT] < due[TicketPriority.HIGH] < due[TicketPriority.NORMAL]
    assert due[TicketPriority.NORMAL] < due[TicketPriority.LOW]


def test_open_ticket_follows_the_users_rules_file(
    session: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text("[sla.first_response_hours]\nurgent = 0.5\n", encoding="utf-8")
    monkeypatch.setenv("RAPPORT_CONFIG_FILE", str(rules))
    get_settings.cache_clear()
    c = customer(session)
    t = ticket(session, c["id"], priority=TicketPriority.URGENT)
    assert t["first_response_due_at"] == T0 + dt.timedelta(minutes=30)


def test_open_ticket_with_explicit_sla_and_explicit_due_time(session: Session) -> None:
    sla = SlaRules(
        first_response_hours={p: 1 for p in TicketPriority},
        resolution_hours={p: 10 for p in TicketPriority},
    )
    c = customer(session)
    given = hours(3)
    t = tickets.open_ticket(
        session=session, values=ticket_values(c["id"], resolution_due_at=given), sla=sla
    )
    assert t["first_response_due_at"] == hours(1)
    assert t["resolution_due_at"] == given


def test_a_ticket_opened_without_an_external_id_gets_a_new_one(session: Session) -> None:
    c = customer(session)
    first, second = (
        tickets.open_ticket(session=session, values=ticket_values(c["id"], external_id=None))
        for _ in range(2)
    )
    for t in (first, second):
        assert t["external_id"][:2] == "T-" and len(t["external_id"]) == 18
        int(t["external_id"][2:], 16)  # hexadecimal digits
    assert first["external_id"] != second["external_id"]
    given = tickets.open_ticket(session=session, values=ticket_values(c["id"], external_id="TK-9"))
    assert given["external_id"] == "TK-9"


def test_open_ticket_writes_the_first_history_row(session: Session) -> None:
    staff = user(session)
    c = customer(session)
    t = tickets.open_ticket(session=session, values=ticket_values(c["id"]), opened_by=staff["id"])
    [row] = tickets.history(session=session, ticket_id=t["id"])
    assert row["from_status"] is None
    assert row["to_status"] == TicketStatus.OPEN
    assert row["changed_at"] == T0
    assert row["changed_by"] == staff["id"]


def test_invalid_ticket_writes_neither_ticket_nor_history(session: Session) -> None:
    c = customer(session)
    tickets_before, history_before = tickets.repo.count(session=session), history_count(session)
    with pytest.raises(ValidationFailed) as info:
        ticket(session, c["id"], priority="p0")
    assert info.value.field == "priority"
    for p in TicketPriority:
        assert p.value in (info.value.hint or "")
    with pytest.raises(ValidationFailed):
        ticket(session, 987654)
    assert (tickets.repo.count(session=session), history_count(session)) == (
        tickets_before,
        history_before,
    )


# --- the workflow --------------------------------------------------------------------------


@pytest.mark.parametrize(("current", "nxt"), ALLOWED, ids=[f"{a}->{b}" for a, b in ALLOWED])
def test_every_allowed_transition(
    session: Session, current: TicketStatus, nxt: TicketStatus
) -> None:
    t = ticket_in(session, current)
    before = tickets.history(session=session, ticket_id=t["id"])
    at = hours(10)
    moved = tickets.transition(
        session=session, ticket_id=t["id"], to_status=nxt, at=at, note="处理中"
    )
    assert moved["status"] == nxt
    assert tickets.repo.get(session=session, id=t["id"])["status"] == nxt
    after = tickets.history(session=session, ticket_id=t["id"])
    assert after[: len(before)] == before
    [last] = after[len(before) :]
    assert (last["from_status"], last["to_status"], last["changed_at"], last["note"]) == (
        current,
        nxt,
        at,
        "处理中",
    )


@pytest.mark.parametrize(("current", "nxt"), FORBIDDEN, ids=[f"{a}->{b}" for a, b in FORBIDDEN])
def test_every_forbidden_transition_is_a_conflict(
    session: Session, current: TicketStatus, nxt: TicketStatus
) -> None:
    t = ticket_in(session, current)
    history_before = tickets.history(session=session, ticket_id=t["id"])
    with pytest.raises(Conflict) as info:
        tickets.transition(session=session, ticket_id=t["id"], to_status=nxt, at=hours(10))
    error = info.value
    assert (error.table, error.field, error.value) == ("tickets", "status", nxt.value)
    allowed = TICKET_TRANSITIONS[current]
    hint = error.hint or ""
    for status in allowed:
        assert status.value in hint
    for status in set(TicketStatus) - allowed:
        assert status.value not in hint.split(": ", 1)[-1].split(", ")
    if not allowed:
        assert "none" in hint
    assert tickets.repo.get(session=session, id=t["id"]) == t
    assert tickets.history(session=session, ticket_id=t["id"]) == history_before


def test_transition_of_a_missing_ticket(session: Session) -> None:
    with pytest.raises(NotFound):
        tickets.transition(
            session=session, ticket_id=987654, to_status=TicketStatus.RESOLVED, at=hours(1)
        )


def test_transition_with_a_naive_time_changes_nothing(session: Session) -> None:
    c = customer(session)
    t = ticket(session, c["id"])
    with pytest.raises(ValidationFailed):
        tickets.transition(
            session=session,
            ticket_id=t["id"],
            to_status=TicketStatus.IN_PROGRESS,
            at=dt.datetime(2024, 3, 2, 9, 0),
        )
    assert tickets.repo.get(session=session, id=t["id"]) == t
    assert len(tickets.history(session=session, ticket_id=t["id"])) == 1


def test_response_before_opening_is_refused(session: Session) -> None:
    c = customer(session)
    t = ticket(session, c["id"])
    with pytest.raises(ValidationFailed) as info:
        tickets.transition(
            session=session, ticket_id=t["id"], to_status=TicketStatus.IN_PROGRESS, at=hours(-1)
        )
    assert info.value.table == "tickets"
    assert tickets.repo.get(session=session, id=t["id"])["status"] == TicketStatus.OPEN
    assert len(tickets.history(session=session, ticket_id=t["id"])) == 1


def test_unknown_target_status_is_a_validation_error(session: Session) -> None:
    c = customer(session)
    t = ticket(session, c["id"])
    with pytest.raises(ValidationFailed) as info:
        tickets.transition(session=session, ticket_id=t["id"], to_status="escalated", at=hours(1))
    assert info.value.field == "status"
    for status in TicketStatus:
        assert status.value in (info.value.hint or "")


# --- time stamps ---------------------------------------------------------------------------


def test_first_response_is_stamped_once(session: Session) -> None:
    c = customer(session)
    t = ticket(session, c["id"])
    assert t["first_response_at"] is None
    t = tickets.transition(
        session=session, ticket_id=t["id"], to_status=TicketStatus.IN_PROGRESS, at=hours(1)
    )
    assert t["first_response_at"] == hours(1)
    t = tickets.transition(
        session=session, ticket_id=t["id"], to_status=TicketStatus.WAITING_CUSTOMER, at=hours(2)
    )
    t = tickets.transition(
        session=session, ticket_id=t["id"], to_status=TicketStatus.IN_PROGRESS, at=hours(3)
    )
    assert t["first_response_at"] == hours(1)
    assert t["resolved_at"] is None and t["closed_at"] is None


def test_resolve_then_close_stamps_both(session: Session) -> None:
    c = customer(session)
    t = ticket(session, c["id"])
    t = tickets.transition(
        session=session, ticket_id=t["id"], to_status=TicketStatus.RESOLVED, at=hours(5)
    )
    assert t["resolved_at"] == hours(5)
    assert t["first_response_at"] == hours(5)
    assert t["closed_at"] is None
    t = tickets.transition(
        session=session, ticket_id=t["id"], to_status=TicketStatus.CLOSED, at=hours(30)
    )
    assert t["closed_at"] == hours(30)
    assert t["resolved_at"] == hours(5)


def test_closing_an_unresolved_ticket_also_resolves_it(session: Session) -> None:
    c = customer(session)
    t = ticket(session, c["id"])
    t = tickets.transition(
        session=session, ticket_id=t["id"], to_status=TicketStatus.CLOSED, at=hours(2)
    )
    assert t["closed_at"] == hours(2)
    assert t["resolved_at"] == hours(2)


def test_reopen_clears_resolved_at_and_a_new_resolution_stamps_again(session: Session) -> None:
    c = customer(session)
    t = ticket(session, c["id"])
    t = tickets.transition(
        session=session, ticket_id=t["id"], to_status=TicketStatus.RESOLVED, at=hours(5)
    )
    t = tickets.transition(
        session=session, ticket_id=t["id"], to_status=TicketStatus.IN_PROGRESS, at=hours(6)
    )
    assert t["resolved_at"] is None
    assert t["first_response_at"] == hours(5)
    t = tickets.transition(
        session=session, ticket_id=t["id"], to_status=TicketStatus.RESOLVED, at=hours(8)
    )
    assert t["resolved_at"] == hours(8)
    assert tickets.repo.get(session=session, id=t["id"])["resolved_at"] == hours(8)


def test_history_is_ordered_and_complete(session: Session) -> None:
    staff = user(session)
    c = customer(session)
    t = ticket(session, c["id"])
    walk = [
        TicketStatus.IN_PROGRESS,
        TicketStatus.WAITING_CUSTOMER,
        TicketStatus.IN_PROGRESS,
        TicketStatus.RESOLVED,
        TicketStatus.IN_PROGRESS,
        TicketStatus.RESOLVED,
        TicketStatus.CLOSED,
    ]
    for n, status in enumerate(walk, start=1):
        tickets.transition(
            session=session, ticket_id=t["id"], to_status=status, at=hours(n), by=staff["id"]
        )
    rows = tickets.history(session=session, ticket_id=t["id"])
    assert [r["to_status"] for r in rows] == [TicketStatus.OPEN, *walk]
    assert [r["from_status"] for r in rows] == [None, TicketStatus.OPEN, *walk[:-1]]
    assert [r["changed_at"] for r in rows] == [T0, *(hours(n) for n in range(1, len(walk) + 1))]
    assert all(r["changed_by"] == staff["id"] for r in rows[1:])


def test_history_belongs_to_its_ticket(session: Session) -> None:
    c = customer(session)
    a, b = ticket(session, c["id"]), ticket(session, c["id"])
    tickets.transition(
        session=session, ticket_id=a["id"], to_status=TicketStatus.CLOSED, at=hours(1)
    )
    assert len(tickets.history(session=session, ticket_id=a["id"])) == 2
    assert len(tickets.history(session=session, ticket_id=b["id"])) == 1


def test_deleting_a_ticket_deletes_its_history(session: Session) -> None:
    c = customer(session)
    t = ticket(session, c["id"])
    tickets.transition(
        session=session, ticket_id=t["id"], to_status=TicketStatus.CLOSED, at=hours(1)
    )
    tickets.repo.delete(session=session, id=t["id"])
    assert tickets.history(session=session, ticket_id=t["id"]) == []
