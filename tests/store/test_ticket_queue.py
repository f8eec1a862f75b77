"""The service queue (rapport.reports.service_queue) on both backends: open tickets of the
caller's scope, overdue first then by the next SLA due time, keyset paging, the filters,
one ticket with its history, and who may move or assign a ticket."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from rapport.access import CustomerScope, Principal
from rapport.config import load_rules
from rapport.domain import Role, TicketKind, TicketPriority, TicketStatus
from rapport.errors import Conflict, Forbidden, NotFound, ValidationFailed
from rapport.reports import service_queue as sq
from rapport.reports.service_queue import QueueQuery
from rapport.store import schema, tickets

from .factories import T0, customer, ticket, user

SLA = load_rules().sla


def at(hours: float) -> dt.datetime:
    return T0 + dt.timedelta(hours=hours)


def principal(row: dict[str, Any]) -> Principal:
    return Principal(
        user_id=row["id"],
        username=row["username"],
        role=Role(row["role"]),
        team=row["team"],
        via="test",
    )


def scope_of(row: dict[str, Any]) -> CustomerScope:
    return CustomerScope(principal(row))


@pytest.fixture
def desk(session: Session) -> dict[str, Any]:
    """An admin, a service agent, a sales user with a customer, and tickets of five kinds
    of urgency (the clock stands at T0 + 10 h)."""
    admin = user(session, role=Role.ADMIN)
    agent = user(session, role=Role.SERVICE)
    other_agent = user(session, role=Role.SERVICE)
    seller = user(session, role=Role.SALES)
    analyst = user(session, role=Role.ANALYST)
    owned = customer(session, owner_id=seller["id"], name="李雷")
    walk_in = customer(session)
    far = customer(session)
    t: dict[str, dict[str, Any]] = {}
    # urgent, opened 5 h ago: first response due 2 h after opening -> 3 h overdue
    t["urgent_late"] = ticket(
        session,
        owned["id"],
        priority=TicketPriority.URGENT,
        opened_at=at(5),
        assignee_id=agent["id"],
    )
    # low, opened 60 h before: first response (48 h) 50 h overdue — the most overdue
    t["low_later"] = ticket(
        session,
        walk_in["id"],
        priority=TicketPriority.LOW,
        opened_at=at(-50),
        kind=TicketKind.INQUIRY,
    )
    # normal, just opened: due in 24 h
    t["fresh"] = ticket(session, owned["id"], opened_at=at(10), assignee_id=agent["id"])
    # answered: the clock is the resolution (120 h after opening), not overdue
    answered = ticket(session, far["id"], opened_at=at(0), assignee_id=other_agent["id"])
    t["answered"] = tickets.transition(
        session=session, ticket_id=answered["id"], to_status=TicketStatus.IN_PROGRESS, at=at(1)
    )
    # without due times (not written by Rapport's writers): last
    no_sla = ticket(session, walk_in["id"], opened_at=at(0))
    session.execute(
        sa.update(schema.tickets)
        .where(schema.tickets.c.id == no_sla["id"])
        .values(first_response_due_at=None, resolution_due_at=None)
    )
    t["no_sla"] = {**no_sla, "first_response_due_at": None}
    # done: never in the queue
    done = ticket(session, owned["id"], opened_at=at(0), assignee_id=agent["id"])
    t["done"] = tickets.transition(
        session=session, ticket_id=done["id"], to_status=TicketStatus.RESOLVED, at=at(2)
    )
    return {
        "admin": admin,
        "agent": agent,
        "other_agent": other_agent,
        "seller": seller,
        "analyst": analyst,
        "owned": owned,
        "walk_in": walk_in,
        "far": far,
        "t": t,
        "now": at(10),
    }


def ids(page: sq.QueuePage) -> list[int]:
    return [r["id"] for r in page.rows]


def queue(session: Session, who: dict[str, Any], now: dt.datetime, **query: Any) -> sq.QueuePage:
    return sq.ticket_queue(session=session, scope=scope_of(who), query=QueueQuery(**query), now=now)


def test_overdue_first_then_by_the_next_due_time(session: Session, desk: dict) -> None:
    t, now = desk["t"], desk["now"]
    page = queue(session, desk["admin"], now)
    assert ids(page) == [
        t["low_later"]["id"],  # 50 h overdue
        t["urgent_late"]["id"],  # 3 h overdue
        t["fresh"]["id"],  # first response due in 24 h
        t["answered"]["id"],  # resolution due in 110 h
        t["no_sla"]["id"],  # no due time: last
    ]
    assert page.count == 5 and page.overdue == 2 and page.next_cursor is None
    rows = {r["id"]: r for r in page.rows}
    late = rows[t["urgent_late"]["id"]]
    assert late["overdue"] is True
    assert late["due_kind"] == "first_response"
    assert late["due_at"] == at(5) + dt.timedelta(hours=SLA.first_response_hours["urgent"])
    assert late["time_left"] == dt.timedelta(hours=-3)
    assert late["age"] == dt.timedelta(hours=5)
    assert late["customer_name"] == "李雷"
    assert late["assignee_name"] == desk["agent"]["display_name"]
    answered = rows[t["answered"]["id"]]
    assert answered["due_kind"] == "resolution"
    assert answered["due_at"] == t["answered"]["resolution_due_at"]
    assert answered["overdue"] is False and answered["time_left"] == dt.timedelta(hours=110)
    assert rows[t["no_sla"]["id"]]["time_left"] is None
    assert rows[t["no_sla"]["id"]]["overdue"] is False
    # the clock moves with "now": later, the fresh ticket is overdue too
    later = queue(session, desk["admin"], at(40))
    assert later.overdue == 3
    assert ids(later)[:3] == [t["low_later"]["id"], t["urgent_late"]["id"], t["fresh"]["id"]]


def test_keyset_pages_walk_the_whole_queue_once(session: Session, desk: dict) -> None:
    now = desk["now"]
    whole = ids(queue(session, desk["admin"], now))
    seen: list[int] = []
    after = None
    for _ in range(5):
        page = queue(session, desk["admin"], now, limit=2, after=after)
        assert page.count == 5  # the count is of every matching ticket, not of the page
        seen += ids(page)
        after = page.next_cursor
        if after is None:
            break
    assert seen == whole
    with pytest.raises(ValidationFailed, match="cursor"):
        queue(session, desk["admin"], now, after="not a cursor")


def test_filters(session: Session, desk: dict) -> None:
    t, now = desk["t"], desk["now"]
    agent = desk["agent"]
    mine = queue(session, agent, now, assignee="mine")
    assert ids(mine) == [t["urgent_late"]["id"], t["fresh"]["id"]]
    unassigned = queue(session, desk["admin"], now, assignee="unassigned")
    assert ids(unassigned) == [t["low_later"]["id"], t["no_sla"]["id"]]
    urgent = queue(session, desk["admin"], now, priority=TicketPriority.URGENT)
    assert ids(urgent) == [t["urgent_late"]["id"]]
    inquiries = queue(session, desk["admin"], now, kind=TicketKind.INQUIRY)
    assert ids(inquiries) == [t["low_later"]["id"]]
    moving = queue(session, desk["admin"], now, status=TicketStatus.IN_PROGRESS)
    assert ids(moving) == [t["answered"]["id"]]
    with pytest.raises(ValidationFailed, match="open tickets only"):
        QueueQuery(status=TicketStatus.RESOLVED)
    with pytest.raises(ValidationFailed, match="not a queue filter"):
        QueueQuery(assignee="theirs")


def test_the_queue_keeps_to_the_callers_scope(session: Session, desk: dict) -> None:
    t, now = desk["t"], desk["now"]
    # service: the tickets of the customers with a ticket assigned to them
    seen = set(ids(queue(session, desk["agent"], now)))
    assert seen == {t["urgent_late"]["id"], t["fresh"]["id"]}
    other = set(ids(queue(session, desk["other_agent"], now)))
    assert other == {t["answered"]["id"]}
    # sales: their customers' tickets
    assert set(ids(queue(session, desk["seller"], now))) == seen
    # a deleted customer's tickets leave every queue
    session.execute(
        sa.update(schema.customers)
        .where(schema.customers.c.id == desk["owned"]["id"])
        .values(deleted_at=now)
    )
    assert ids(queue(session, desk["agent"], now)) == []
    with pytest.raises(NotFound):
        sq.ticket_view(
            session=session, scope=scope_of(desk["admin"]), ticket_id=t["fresh"]["id"], now=now
        )


def test_an_analyst_sees_no_free_text_and_masked_names(session: Session, desk: dict) -> None:
    t, now = desk["t"], desk["now"]
    page = queue(session, desk["analyst"], now)
    row = next(r for r in page.rows if r["id"] == t["urgent_late"]["id"])
    assert row["subject"] is None and row["customer_name"] == "李*"
    view = sq.ticket_view(
        session=session, scope=scope_of(desk["analyst"]), ticket_id=row["id"], now=now
    )
    assert view["subject"] is None and view["description"] is None
    assert view["next_statuses"] == [] and view["may_assign"] is False


def test_one_ticket_with_its_history_and_what_the_user_may_do(session: Session, desk: dict) -> None:
    t, now = desk["t"], desk["now"]
    agent = desk["agent"]
    view = sq.ticket_view(
        session=session, scope=scope_of(agent), ticket_id=t["urgent_late"]["id"], now=now
    )
    assert view["overdue"] is True and view["customer_name"] == "李雷"
    assert view["next_statuses"] == [
        TicketStatus.IN_PROGRESS,
        TicketStatus.WAITING_CUSTOMER,
        TicketStatus.RESOLVED,
        TicketStatus.CLOSED,
    ]
    assert view["may_assign"] is False
    assert [h["to_status"] for h in view["history"]] == [TicketStatus.OPEN]
    # a resolved ticket: no running clock; only reopening or closing next
    done = sq.ticket_view(
        session=session, scope=scope_of(desk["admin"]), ticket_id=t["done"]["id"], now=now
    )
    assert done["time_left"] is None and done["overdue"] is False
    assert done["next_statuses"] == [TicketStatus.IN_PROGRESS, TicketStatus.CLOSED]
    assert done["may_assign"] is True
    assert [h["to_status"] for h in done["history"]] == [TicketStatus.OPEN, TicketStatus.RESOLVED]
    # a ticket of the same customer that is not the agent's: visible, not movable by them
    theirs = ticket(session, desk["owned"]["id"], opened_at=at(9))
    seen = sq.ticket_view(session=session, scope=scope_of(agent), ticket_id=theirs["id"], now=now)
    assert seen["next_statuses"] == []
    # outside the scope: as missing
    with pytest.raises(NotFound):
        sq.ticket_view(
            session=session, scope=scope_of(agent), ticket_id=t["answered"]["id"], now=now
        )


def test_move_follows_the_workflow_and_the_service_rule(session: Session, desk: dict) -> None:
    t, now = desk["t"], desk["now"]
    agent_scope = scope_of(desk["agent"])
    moved = sq.move(
        session=session,
        scope=agent_scope,
        ticket_id=t["urgent_late"]["id"],
        to_status=TicketStatus.IN_PROGRESS,
        at=now,
        note="已致电客户",
    )
    assert moved["status"] == TicketStatus.IN_PROGRESS and moved["first_response_at"] == now
    history = tickets.history(session=session, ticket_id=moved["id"])
    assert history[-1]["note"] == "已致电客户"
    assert history[-1]["changed_by"] == desk["agent"]["id"]
    with pytest.raises(Conflict, match="cannot go from in_progress to open"):
        sq.move(
            session=session,
            scope=agent_scope,
            ticket_id=moved["id"],
            to_status=TicketStatus.OPEN,
            at=now,
        )
    theirs = ticket(session, desk["owned"]["id"], opened_at=at(9))
    with pytest.raises(Forbidden, match="assigned to them"):
        sq.move(
            session=session,
            scope=agent_scope,
            ticket_id=theirs["id"],
            to_status=TicketStatus.IN_PROGRESS,
            at=now,
        )
    with pytest.raises(Forbidden):
        sq.move(
            session=session,
            scope=scope_of(desk["analyst"]),
            ticket_id=theirs["id"],
            to_status=TicketStatus.IN_PROGRESS,
            at=now,
        )
    with pytest.raises(NotFound):
        sq.move(
            session=session,
            scope=agent_scope,
            ticket_id=t["answered"]["id"],
            to_status=TicketStatus.RESOLVED,
            at=now,
        )


def test_assign_by_admins_and_managers_to_active_staff(session: Session, desk: dict) -> None:
    t = desk["t"]
    ticket_id = t["low_later"]["id"]
    before, after = sq.assign(
        session=session,
        scope=scope_of(desk["admin"]),
        ticket_id=ticket_id,
        assignee_id=desk["agent"]["id"],
    )
    assert before["assignee_id"] is None and after["assignee_id"] == desk["agent"]["id"]
    with pytest.raises(Forbidden, match="may not assign"):
        sq.assign(
            session=session,
            scope=scope_of(desk["agent"]),
            ticket_id=ticket_id,
            assignee_id=desk["agent"]["id"],
        )
    with pytest.raises(ValidationFailed, match="no active staff user"):
        sq.assign(
            session=session,
            scope=scope_of(desk["admin"]),
            ticket_id=ticket_id,
            assignee_id=desk["analyst"]["id"],
        )
    people = {p["id"] for p in sq.assignees(session=session)}
    assert desk["agent"]["id"] in people and desk["analyst"]["id"] not in people
    _, cleared = sq.assign(
        session=session, scope=scope_of(desk["admin"]), ticket_id=ticket_id, assignee_id=None
    )
    assert cleared["assignee_id"] is None
