"""The service queue (服务): the open tickets a user may see with their SLA clocks, overdue
first, and one ticket as a user sees it, with what the user may do with it.

Which tickets a user sees is the API's rule (``/tickets``): a ticket is visible when its
customer is in the user's :class:`~rapport.access.CustomerScope`. Who may move or assign
one is said here once (:func:`may_move`, :data:`ASSIGNING_ROLES`, :func:`assignees`), and
the API's ticket routes check the same: the roles of ``WRITERS["tickets"]`` move tickets (a
service user only the tickets assigned to them), admins and managers assign them, to an
active admin, manager, sales or service user.

The SLA clock of an open ticket is the next target it still has to meet: its
``first_response_due_at`` while nobody has answered, then its ``resolution_due_at``. Both
are stored on the ticket when it is opened (:func:`rapport.store.tickets.due_times`, from the
priority's targets of the business rules; the importer does the same), so the queue reads
them and never recomputes them. A ticket is overdue when that time has passed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from rapport.access import CustomerScope, Principal, may_write
from rapport.domain import (
    TICKET_TRANSITIONS,
    Role,
    TicketKind,
    TicketPriority,
    TicketStatus,
)
from rapport.errors import Forbidden, ValidationFailed
from rapport.masking import mask_name
from rapport.store import schema, tickets
from rapport.store.paging import PageRequest
from rapport.store.repository import Row

#: The statuses of a ticket still being worked on: the queue's.
OPEN_STATUSES = tuple(
    s for s in TicketStatus if s not in (TicketStatus.RESOLVED, TicketStatus.CLOSED)
)
#: Roles that may give a ticket to someone (``POST /tickets/{id}/assign``).
ASSIGNING_ROLES = frozenset({Role.ADMIN, Role.MANAGER})
#: Roles a ticket may be assigned to.
ASSIGNABLE_ROLES = frozenset({Role.ADMIN, Role.MANAGER, Role.SALES, Role.SERVICE})
#: Whose tickets the queue shows: every visible one, the user's own, nobody's.
ASSIGNEE_FILTERS = ("all", "mine", "unassigned")
#: Tickets on one page of the queue.
PAGE_SIZE = 25
#: Fields of a ticket that analysts do not see (free text that may describe a person).
MASKED_FIELDS = ("subject", "description", "extra")

_c = schema.customers
_u = schema.users
#: The tickets read here, under a name of their own: the scope's condition on a customer
#: (:meth:`~rapport.access.CustomerScope.current`) may read ``tickets`` itself (a service
#: user's customers), and must not be correlated with the ticket of the outer row.
_t = schema.tickets.alias("queued")


@dataclass(frozen=True)
class QueueQuery:
    """A page of the queue: the filters and the cursor of the page (``None``: the first)."""

    assignee: str = "all"
    status: TicketStatus | None = None
    priority: TicketPriority | None = None
    kind: TicketKind | None = None
    after: str | None = None
    limit: int = PAGE_SIZE

    def __post_init__(self) -> None:
        if self.assignee not in ASSIGNEE_FILTERS:
            raise ValidationFailed(
                "assignee {assignee!r}: not a queue filter",
                field="assignee",
                value=self.assignee,
                hint="use one of: {choices}",
                key="queue_assignee",
                params={"assignee": self.assignee, "choices": ", ".join(ASSIGNEE_FILTERS)},
                hint_key="option_value_unknown.hint",
            )
        if self.status is not None and self.status not in OPEN_STATUSES:
            raise ValidationFailed(
                "status {status!r}: the queue holds open tickets only",
                field="status",
                value=self.status.value,
                hint="use one of: {choices}",
                key="queue_status",
                params={
                    "status": self.status.value,
                    "choices": ", ".join(s.value for s in OPEN_STATUSES),
                },
                hint_key="option_value_unknown.hint",
            )
        if not 1 <= self.limit <= 500:
            raise ValidationFailed(
                "limit {limit}: out of range",
                field="limit",
                value=self.limit,
                hint="ask for 1 to {maximum} tickets a page",
                key="queue_limit",
                params={"limit": self.limit, "maximum": 500},
            )


@dataclass(frozen=True)
class QueuePage:
    """One page of the queue, with the count of every matching ticket and of the overdue
    ones among them, and the cursor of the next page (``None``: this is the last)."""

    rows: list[Row]
    count: int
    overdue: int
    next_cursor: str | None


def next_due(t: sa.FromClause = _t) -> sa.ColumnElement[Any]:
    """The ticket's next SLA target (a column of ``t``, the tickets or an alias of them): the
    first response until answered, then resolution. The alert run
    (:mod:`rapport.actions.alerts`) watches the same clock."""
    return sa.case(
        (
            t.c.first_response_at.is_(None),
            sa.func.coalesce(t.c.first_response_due_at, t.c.resolution_due_at),
        ),
        else_=t.c.resolution_due_at,
    )


def _conditions(scope: CustomerScope, query: QueueQuery) -> list[sa.ColumnElement[bool]]:
    statuses = [query.status] if query.status is not None else list(OPEN_STATUSES)
    found = [_t.c.status.in_(statuses), scope.visible(_t.c.customer_id)]
    if query.assignee == "mine":
        found.append(_t.c.assignee_id == scope.principal.user_id)
    elif query.assignee == "unassigned":
        found.append(_t.c.assignee_id.is_(None))
    if query.priority is not None:
        found.append(_t.c.priority == query.priority)
    if query.kind is not None:
        found.append(_t.c.kind == query.kind)
    return found


def _cursor(due: dt.datetime | None, ticket_id: int) -> str:
    return f"{due.astimezone(dt.UTC).isoformat() if due else '-'}|{ticket_id}"


def _parse_cursor(cursor: str) -> tuple[dt.datetime | None, int]:
    try:
        due_text, _, id_text = cursor.partition("|")
        due = None if due_text == "-" else dt.datetime.fromisoformat(due_text)
        if due is not None and due.tzinfo is None:
            raise ValueError("no time zone")
        return due, int(id_text)
    except ValueError:
        raise ValidationFailed(
            "cursor {cursor!r}: not a cursor of the queue",
            field="after",
            value=cursor,
            hint="page with the cursor the previous page returned, or leave it out",
            key="queue_cursor",
            params={"cursor": cursor},
        ) from None


def _after(cursor: str, due: sa.ColumnElement[Any]) -> sa.ColumnElement[bool]:
    """The tickets after ``cursor`` in queue order: due time (none last), then id."""
    last_due, last_id = _parse_cursor(cursor)
    if last_due is None:
        return sa.and_(due.is_(None), _t.c.id > last_id)
    return sa.or_(
        due.is_(None),
        due > last_due,
        sa.and_(due == last_due, _t.c.id > last_id),
    )


def _clock(row: Row, now: dt.datetime) -> Row:
    """``row`` with its SLA clock as of ``now``: which target is next, how long is left
    (negative: overdue by that much), and the ticket's age."""
    due = row["due_at"]
    row["due_kind"] = "first_response" if row["first_response_at"] is None else "resolution"
    row["time_left"] = None if due is None else due - now
    row["overdue"] = due is not None and due < now
    row["age"] = now - row["opened_at"]
    return row


def _shown(row: Row, scope: CustomerScope) -> Row:
    if scope.masked:
        row.update(dict.fromkeys(f for f in MASKED_FIELDS if f in row))
        row["customer_name"] = mask_name(row.get("customer_name"))
    return row


def ticket_queue(
    *, session: Session, scope: CustomerScope, query: QueueQuery, now: dt.datetime
) -> QueuePage:
    """The open tickets of ``scope`` matching ``query``, overdue first, then by the next SLA
    due time (the soonest first; tickets without due times last), then by id; paged by
    keyset (the last row's due time and id), so a later page costs what the first does.

    Each row is the ticket with ``customer_name``, ``assignee_name`` (display name, else
    username), ``due_at``, ``due_kind`` (``first_response`` or ``resolution``),
    ``time_left`` (a ``timedelta``, negative when overdue), ``overdue`` and ``age``, as of
    ``now`` (an aware time). For an analyst the subject is removed and the customer's name
    masked.

    Raises
    ------
    ValidationFailed
        When ``query.after`` is not a cursor this function returned.
    """
    if now.tzinfo is None:
        raise ValidationFailed(
            "now: a naive time", field="now", hint="pass an aware time (UTC)", key="naive_now"
        )
    page = PageRequest(limit=query.limit)
    due = next_due()
    found = _conditions(scope, query)
    # The open tickets (few, by the status index) lead, and each one's customer is
    # checked against the scope (CustomerScope.visible: one look-up per ticket), never
    # the scope's customers first (a manager's hundreds of thousands, a service agent's
    # tens of thousands); the customers are joined for the name alone.
    tables = _t.join(_c, _c.c.id == _t.c.customer_id)
    totals = session.execute(
        sa.select(
            sa.func.count(),
            sa.func.coalesce(sa.func.sum(sa.case((due < now, 1), else_=0)), 0),
        )
        .select_from(tables)
        .where(*found)
    ).one()
    if query.after:
        found.append(_after(query.after, due))
    stmt = (
        sa.select(
            _t.c.id,
            _t.c.customer_id,
            _c.c.name.label("customer_name"),
            _t.c.kind,
            _t.c.priority,
            _t.c.status,
            _t.c.subject,
            _t.c.assignee_id,
            sa.func.coalesce(_u.c.display_name, _u.c.username).label("assignee_name"),
            _t.c.opened_at,
            _t.c.first_response_at,
            _t.c.first_response_due_at,
            _t.c.resolution_due_at,
            due.label("due_at"),
        )
        .select_from(tables.outerjoin(_u, _u.c.id == _t.c.assignee_id))
        .where(*found)
        .order_by(sa.case((due.is_(None), 1), else_=0), due, _t.c.id)
        .limit(page.fetch)
    )
    found_rows = [dict(r) for r in session.execute(stmt).mappings()]
    shown = page.cut(found_rows, count=int(totals[0]), key=lambda r: (r["due_at"], r["id"]))
    return QueuePage(
        rows=[_shown(_clock(r, now), scope) for r in shown.data],
        count=shown.count,
        overdue=int(totals[1]),
        next_cursor=None if shown.next_key is None else _cursor(*shown.next_key),
    )


# --- one ticket ----------------------------------------------------------------------------


def visible_ticket(*, session: Session, scope: CustomerScope, ticket_id: int) -> Row:
    """Ticket ``ticket_id`` when its customer is in ``scope`` (and not deleted:
    :meth:`CustomerScope.visible`); otherwise the same :class:`NotFound` as a missing ticket
    — what the service pages and ``/api/v1/tickets/{id}`` read."""
    if not 1 <= ticket_id <= 2**31 - 1:
        raise tickets.not_found(ticket_id)
    stmt = sa.select(_t).where(_t.c.id == ticket_id, scope.visible(_t.c.customer_id))
    row = session.execute(stmt).mappings().first()
    if row is None:
        raise tickets.not_found(ticket_id)
    return dict(row)


def _names(session: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    stmt = sa.select(_u.c.id, sa.func.coalesce(_u.c.display_name, _u.c.username)).where(
        _u.c.id.in_(sorted(ids))
    )
    return {i: n for i, n in session.execute(stmt).all()}


def ticket_view(*, session: Session, scope: CustomerScope, ticket_id: int, now: dt.datetime) -> Row:
    """One ticket as the queue shows it (:func:`ticket_queue`'s fields) with its
    ``description``, ``channel``, ``history`` (oldest change first, each with
    ``changed_by_name``), what the user may do (``next_statuses``: empty when they may not
    move it; ``may_assign``), and the customer's name. Analysts see the free text removed
    (subject, description, the history's notes) and the customer's name masked.

    Raises
    ------
    NotFound
        When the ticket does not exist or lies outside ``scope``.
    """
    row = visible_ticket(session=session, scope=scope, ticket_id=ticket_id)
    history = tickets.history(session=session, ticket_id=ticket_id)
    people = {h["changed_by"] for h in history if h["changed_by"] is not None}
    if row["assignee_id"] is not None:
        people.add(row["assignee_id"])
    names = _names(session, people)
    customer = session.execute(
        sa.select(_c.c.name).where(_c.c.id == row["customer_id"])
    ).scalar_one_or_none()
    row["customer_name"] = customer
    row["assignee_name"] = names.get(row["assignee_id"]) if row["assignee_id"] else None
    row["due_at"] = (
        row["first_response_due_at"] or row["resolution_due_at"]
        if row["first_response_at"] is None
        else row["resolution_due_at"]
    )
    open_now = row["status"] in OPEN_STATUSES
    _clock(row, now)
    if not open_now:  # a resolved or closed ticket has no running clock
        row["time_left"] = None
        row["overdue"] = False
    row["history"] = [
        {
            **h,
            "changed_by_name": names.get(h["changed_by"]) if h["changed_by"] else None,
            "note": None if scope.masked else h["note"],
        }
        for h in history
    ]
    row["next_statuses"] = next_statuses(scope.principal, row)
    row["may_assign"] = may_assign(scope.principal)
    return _shown(row, scope)


# --- what a user may do --------------------------------------------------------------------


def may_move(principal: Principal, ticket: Row) -> bool:
    """Whether ``principal`` may move ``ticket`` along the workflow: a role that writes
    tickets, and for a service user only a ticket assigned to them."""
    if not may_write(principal, "tickets"):
        return False
    return principal.role is not Role.SERVICE or ticket["assignee_id"] == principal.user_id


def next_statuses(principal: Principal, ticket: Row) -> list[TicketStatus]:
    """The statuses ``principal`` may move ``ticket`` to (workflow order); none when they
    may not move it."""
    if not may_move(principal, ticket):
        return []
    allowed = TICKET_TRANSITIONS[TicketStatus(ticket["status"])]
    return [s for s in TicketStatus if s in allowed]


def may_assign(principal: Principal) -> bool:
    return principal.role in ASSIGNING_ROLES


def assignees(*, session: Session, user_id: int | None = None) -> list[Row]:
    """The active users a ticket may be assigned to (:data:`ASSIGNABLE_ROLES`) with
    ``id``, ``name`` (display name, else username), ``role`` and ``team``, by name; only
    ``user_id`` when given (empty: that user may not take tickets)."""
    stmt = (
        sa.select(
            _u.c.id,
            sa.func.coalesce(_u.c.display_name, _u.c.username).label("name"),
            _u.c.username,
            _u.c.role,
            _u.c.team,
        )
        .where(_u.c.is_active.is_(True), _u.c.role.in_(sorted(ASSIGNABLE_ROLES)))
        .order_by(_u.c.username)
    )
    if user_id is not None:
        stmt = stmt.where(_u.c.id == user_id)
    return [dict(r) for r in session.execute(stmt).mappings()]


def move(
    *,
    session: Session,
    scope: CustomerScope,
    ticket_id: int,
    to_status: TicketStatus,
    at: dt.datetime,
    note: str | None = None,
) -> Row:
    """Move ticket ``ticket_id`` to ``to_status`` as ``scope``'s user, through
    :func:`rapport.store.tickets.transition` (the ticket is locked; the workflow decides).
    Call it in a transaction begun as a writer (:func:`rapport.store.db.begin_writing`).

    Raises
    ------
    NotFound
        When the ticket does not exist or lies outside ``scope``.
    Forbidden
        When the user may not move it (:func:`may_move`).
    Conflict
        When the workflow does not allow ``to_status`` now (also when another user moved
        the ticket first).
    """
    row = visible_ticket(session=session, scope=scope, ticket_id=ticket_id)
    user = scope.principal
    if not may_move(user, row):
        raise Forbidden(
            "ticket {id}: the {role} role may move only the tickets assigned to them"
            if user.role is Role.SERVICE
            else "ticket {id}: the {role} role may not move tickets",
            hint="ask a manager to assign the ticket to you",
            key="ticket_move_own" if user.role is Role.SERVICE else "ticket_move_forbidden",
            params={"id": ticket_id, "role": user.role.value},
            hint_key="ticket_move.hint",
        )
    return tickets.transition(
        session=session,
        ticket_id=ticket_id,
        to_status=to_status,
        at=at,
        by=user.user_id,
        note=note or None,
    )


def assign(
    *, session: Session, scope: CustomerScope, ticket_id: int, assignee_id: int | None
) -> tuple[Row, Row]:
    """Give ticket ``ticket_id`` to ``assignee_id`` (``None``: nobody) as ``scope``'s user;
    the ticket before and after.

    Raises
    ------
    NotFound
        When the ticket does not exist or lies outside ``scope``.
    Forbidden
        When the user's role may not assign tickets (:data:`ASSIGNING_ROLES`).
    ValidationFailed
        When ``assignee_id`` is no active user of :data:`ASSIGNABLE_ROLES`.
    """
    user = scope.principal
    if not may_assign(user):
        raise Forbidden(
            "the {role} role may not assign tickets",
            hint="ask an admin or a manager",
            key="ticket_assign_forbidden",
            params={"role": user.role.value},
        )
    before = visible_ticket(session=session, scope=scope, ticket_id=ticket_id)
    if assignee_id is not None and not assignees(session=session, user_id=assignee_id):
        raise ValidationFailed(
            "assignee_id: no active staff user with id {id}",
            field="assignee_id",
            value=assignee_id,
            hint="assign an active admin, manager, sales or service user",
            key="ticket_assignee_unknown",
            params={"id": assignee_id},
        )
    after = tickets.repo.update(session=session, id=ticket_id, values={"assignee_id": assignee_id})
    return before, after
