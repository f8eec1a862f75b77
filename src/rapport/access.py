"""Who is calling, how they log in, and which customers they may see: the one home of
log-in attempts and row-level access.

The API, the CLI's staff commands and the web workspace all read customers through a
:class:`CustomerScope`; none of them repeats the ownership rules. This module knows the
store's tables and the roles, nothing of HTTP.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlalchemy.sql import util as sql_util

from rapport.domain import AuditAction, LoginThrottleKind, Role
from rapport.errors import Forbidden
from rapport.ingest.scope import ImportScope
from rapport.store import audit, customers, leads, login_throttle, schema, tokens, users
from rapport.store.login_throttle import ThrottlePolicy
from rapport.store.repository import Row

# --- the caller ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Principal:
    """Who is calling: a user, through a log-in token or one of their API tokens."""

    user_id: int
    username: str
    role: Role
    team: str | None
    via: str  # "login" or "api_token"
    token_id: int | None = None
    token_name: str | None = None
    scopes: frozenset[str] | None = None  # None: a log-in, limited by the role alone

    @property
    def actor(self) -> str:
        """How the audit log names the caller."""
        if self.via == "api_token":
            return f"{self.username} (token {self.token_name})"[:128]
        return self.username

    def may(self, scope: str) -> bool:
        return self.scopes is None or tokens.allows(self.scopes, scope)


#: Who may write each kind of record (within their customer scope); the other roles read.
#: The API's routes and the web workspace's forms check these same sets.
WRITERS: dict[str, frozenset[Role]] = {
    "customers": frozenset({Role.ADMIN, Role.MANAGER, Role.SALES}),
    "interactions": frozenset({Role.ADMIN, Role.MANAGER, Role.SALES, Role.SERVICE}),
    "tickets": frozenset({Role.ADMIN, Role.MANAGER, Role.SALES, Role.SERVICE}),
    # tasks marked done or skipped, added by hand; alerts acknowledged and resolved
    "tasks": frozenset({Role.ADMIN, Role.MANAGER, Role.SALES, Role.SERVICE}),
    "alerts": frozenset({Role.ADMIN, Role.MANAGER, Role.SALES, Role.SERVICE}),
    # a customer's points spent on a reward of the catalogue (a voucher issued)
    "redemptions": frozenset({Role.ADMIN, Role.MANAGER, Role.SALES}),
    # a voucher marked used at the till
    "vouchers": frozenset({Role.ADMIN, Role.MANAGER, Role.SALES, Role.SERVICE}),
}


def may_write(principal: Principal, records: str) -> bool:
    """Whether ``principal``'s role may write ``records`` (a key of :data:`WRITERS`)."""
    return principal.role in WRITERS[records]


#: Who administers staff accounts and API tokens and reads the audit log: the API's
#: ``/users`` and ``/audit`` routes and the web workspace's Admin page check this set.
ADMINISTRATORS: frozenset[Role] = frozenset({Role.ADMIN})


def check_account_change(principal: Principal, user_id: int, *, role: Role, active: bool) -> None:
    """Refuse an administrator disabling their own account or giving up their own admin
    role (``role``, ``active``: the account ``user_id`` after the change): they would lock
    themselves out of the change they are making. Another administrator may do it; the
    store keeps the last active one in any case
    (:func:`rapport.store.users.keeps_an_admin`)."""
    if principal.user_id != user_id or (active and role in ADMINISTRATORS):
        return
    raise Forbidden(
        "you may not disable your own account or give up your own admin role",
        table="users",
        field="is_active" if not active else "role",
        hint="ask another administrator",
        key="own_account",
    )


# --- row-level access to customers ---------------------------------------------------------

_c = schema.customers.c


def owner_clause(p: Principal, owner_id: sa.ColumnElement[Any]) -> sa.ColumnElement[bool] | None:
    """The owner rule of every owned record (customers, leads) on its ``owner_id`` column:
    ``None`` (everything) for admin and analyst, their own for sales, their team's and
    unowned ones for a manager (their own and unowned without a team), nothing for others."""
    if p.role in (Role.ADMIN, Role.ANALYST):
        return None
    if p.role is Role.SALES:
        return owner_id == p.user_id
    if p.role is Role.MANAGER:
        u = schema.users
        if p.team is None:
            team = owner_id == p.user_id
        else:
            team = owner_id.in_(sa.select(u.c.id).where(u.c.team == p.team).correlate(None))
        return sa.or_(owner_id.is_(None), team)
    return sa.false()


def not_deleted(customer_id: sa.ColumnElement[Any], dialect: str) -> sa.ColumnElement[bool]:
    """The SQL condition that ``customer_id`` (a column of a table whose rows always name a
    customer: a foreign key to ``customers``, deleted with them) is not a deleted
    customer's, for a statement that reads no other column of ``customers``: the deleted
    ones read once from the partial index ``ix_customers_deleted`` instead of a look-up of
    every row's customer (an aggregate of a snapshot's million rows: 0.3 s against 1.1 s
    on SQLite). ``dialect`` is the store's: SQLite reads ``NOT IN`` as one list built
    before the rows; PostgreSQL plans ``NOT EXISTS`` as an anti-join (its ``NOT IN`` of a
    long list is a scan of the list per row)."""
    deleted = sa.select(_c.id).where(_c.deleted_at.is_not(None))
    if dialect == "sqlite":
        return customer_id.not_in(deleted)
    return sa.not_(deleted.where(_c.id == customer_id).exists())


def service_customers(user_id: int) -> sa.Select:
    """The ids of the customers with a ticket assigned to ``user_id`` (a service agent's
    customers), uncorrelated: it reads the tickets of ``user_id`` alone whatever statement
    it is placed in, even one reading ``tickets`` itself."""
    t = schema.tickets.alias("assigned")
    return sa.select(t.c.customer_id).where(t.c.assignee_id == user_id).correlate(None)


@dataclass(frozen=True)
class CustomerScope:
    """Which customers the caller may see, and whether they see them masked.

    ========  ==============================================================================
    admin     every customer
    manager   customers owned by a user of the manager's team, and unowned customers (the
              pool a manager assigns from); a manager without a team: their own and unowned
    sales     customers they own
    service   customers with a ticket assigned to them
    analyst   every customer, personal data masked
    ========  ==============================================================================

    A customer outside the scope is reported exactly like a missing one (404).
    """

    principal: Principal

    @property
    def masked(self) -> bool:
        return self.principal.role is Role.ANALYST

    def clause(self) -> sa.ColumnElement[bool] | None:
        """The SQL condition on ``customers`` of this scope (``None``: every customer)."""
        p = self.principal
        if p.role is not Role.SERVICE:
            return owner_clause(p, _c.owner_id)
        # The customers of the agent's tickets, read once from the index on the tickets'
        # assignee and customer rather than a look-up of tickets for every customer: a
        # statement starts from the agent's few customers, not from all of them.
        return _c.id.in_(service_customers(p.user_id))

    def where(self, stmt: sa.Select) -> sa.Select:
        """``stmt`` (a select reading ``customers``) kept to this scope."""
        clause = self.clause()
        return stmt if clause is None else stmt.where(clause)

    def probe_clause(self) -> sa.ColumnElement[bool] | None:
        """This scope as a condition checked customer by customer, for a statement that
        walks an index of the customers in its own order and stops when its page is full:
        a service agent's, an ``EXISTS`` on the index of the tickets' assignee and customer
        (:meth:`clause` would read the agent's customers first and sort them); the other
        roles', :meth:`clause`."""
        p = self.principal
        if p.role is not Role.SERVICE:
            return self.clause()
        t = schema.tickets.alias("assigned")
        return (
            sa.select(sa.literal(1))
            .where(t.c.assignee_id == p.user_id, t.c.customer_id == _c.id)
            .exists()
        )

    def owner_ranges(self, session: Session) -> list[sa.ColumnElement[bool]] | None:
        """This scope as conditions on ``customers.owner_id`` that each name one value (no
        owner, or one user), whose rows together are the scope's: a manager's unowned
        customers and each user's of their team. A list in the customers' order can read
        each one as a range of the index on the owner, in that order, and merge them,
        where the scope's ``OR`` leaves the database to read and sort every customer of
        it. ``None`` when the scope is not such a union (every customer, or a service
        agent's customers)."""
        p = self.principal
        if p.role is Role.SALES:
            return [_c.owner_id == p.user_id]
        if p.role is not Role.MANAGER:
            return None
        if p.team is None:
            ids = [p.user_id]
        else:
            u = schema.users
            ids = list(session.execute(sa.select(u.c.id).where(u.c.team == p.team)).scalars())
        return [_c.owner_id.is_(None), *(_c.owner_id == i for i in sorted(ids))]

    def owns(self, user_id: sa.ColumnElement[Any]) -> sa.ColumnElement[bool]:
        """The SQL condition that the user whose id is in ``user_id`` (a column of another
        table, such as ``users.id``) owns a customer of this scope, deleted ones included:
        who the owner filter of a list offers. The owner rule (:func:`owner_clause`) on the
        user, then one look-up of the index on the customers' owner per user; for a service
        agent, the user's entries of that index probed for the agent's customers (read once
        from their tickets) until one is found. Neither reads every customer."""
        p = self.principal
        one = schema.customers.alias("owned")
        owned = sa.select(sa.literal(1)).select_from(one).where(one.c.owner_id == user_id)
        if p.role is Role.SERVICE:
            # each owner's customers walked until one is the agent's
            agents = one.c.id.in_(service_customers(p.user_id))
            return owned.where(agents).exists()
        rule = owner_clause(p, user_id)
        return owned.exists() if rule is None else sa.and_(rule, owned.exists())

    def current(self) -> list[sa.ColumnElement[bool]]:
        """The SQL conditions on ``customers`` of a customer of this scope that is not
        deleted: what every list and export of customers shows."""
        clause = self.clause()
        return [_c.deleted_at.is_(None)] if clause is None else [_c.deleted_at.is_(None), clause]

    def visible(self, customer_id: sa.ColumnElement[Any]) -> sa.ColumnElement[bool]:
        """The SQL condition that ``customer_id`` (a column of a customer-owned record:
        ``tickets.customer_id``, ``orders.customer_id`` …) names a customer of this scope
        that is not deleted. Records of deleted customers and of customers outside the
        scope are hidden alike (a 404 for one record, left out of lists).

        A service agent's records are each checked against the agent's tickets (one probe
        of the index on the tickets' assignee and customer), not against the list of all
        their customers: a statement reading a few records (the open tickets) does not read
        the agent's tens of thousands of tickets first."""
        p = self.principal
        if p.role is Role.SERVICE:
            t = schema.tickets.alias("assigned")
            assigned = sa.select(sa.literal(1)).select_from(t)
            assigned = assigned.where(t.c.customer_id == customer_id, t.c.assignee_id == p.user_id)
            return sa.and_(_of_customer(customer_id), assigned.exists())
        return _customer_is(customer_id, self.current())

    def covers(
        self, customer_id: sa.ColumnElement[Any], *, or_null: bool = False
    ) -> sa.ColumnElement[bool] | None:
        """The SQL condition that the customer whose id is in ``customer_id`` (a column of
        another table, such as ``referrals.referred_customer_id``) lies in this scope;
        ``None``: every customer. Deleted customers count as in scope here: the caller
        decides whether a record pointing at one is shown. With ``or_null``, a record
        pointing at no customer (``customer_id`` null) passes too."""
        clause = self.clause()
        if clause is None:
            return None
        inside = customer_id.in_(sa.select(_c.id).where(clause).correlate(None))
        return sa.or_(customer_id.is_(None), inside) if or_null else inside

    def get(self, *, session: Session, id: int, include_deleted: bool = False) -> Row:
        """The customer ``id`` if in scope; otherwise the same :class:`NotFound` as a
        missing customer."""
        row = customers.repo.get(session=session, id=id, include_deleted=include_deleted)
        clause = self.clause()
        if clause is not None:
            inside = session.execute(
                sa.select(sa.literal(1)).where(_c.id == row["id"], clause)
            ).first()
            if inside is None:
                raise customers.repo.not_found(id)
        return row

    def import_scope(self) -> ImportScope:
        """This scope as the importer's conditions: an import job runs with it."""
        p = self.principal
        return ImportScope(
            customers=self.clause(),
            owners=owner_clause(p, schema.users.c.id),
            leads=owner_clause(p, schema.leads.c.owner_id),
        )

    def check_owner(self, session: Session, owner_id: int | None) -> None:
        """403 unless the caller may give a customer to ``owner_id``."""
        p = self.principal
        if p.role is Role.ADMIN:
            return
        if p.role is Role.SALES:
            if owner_id != p.user_id:
                raise Forbidden(
                    "sales users can only own their customers themselves",
                    field="owner_id",
                    hint="leave owner_id out or set it to your user id {user_id}",
                    key="sales_owner",
                    params={"user_id": p.user_id},
                )
            return
        if p.role is Role.MANAGER:
            if owner_id is None or owner_id == p.user_id:
                return
            u = schema.users
            owner_team = session.execute(
                sa.select(u.c.team).where(u.c.id == owner_id)
            ).scalar_one_or_none()
            if p.team is None or owner_team != p.team:
                raise Forbidden(
                    "a manager can only give customers to users of their team",
                    field="owner_id",
                    value=owner_id,
                    key="manager_owner",
                )
            return
        raise Forbidden(
            "the {role} role may not assign customers",
            field="owner_id",
            key="role_cannot_assign",
            params={"role": p.role.value},
        )


@dataclass(frozen=True)
class LeadScope:
    """Which leads the caller may see: the customers' owner rule (:func:`owner_clause`) on
    ``leads.owner_id``. A lead outside the scope is reported exactly like a missing one."""

    principal: Principal

    @property
    def masked(self) -> bool:
        return self.principal.role is Role.ANALYST

    def clause(self) -> sa.ColumnElement[bool] | None:
        """The SQL condition on ``leads`` of this scope (``None``: every lead)."""
        return owner_clause(self.principal, schema.leads.c.owner_id)

    def where(self, stmt: sa.Select) -> sa.Select:
        """``stmt`` (a select reading ``leads``) kept to this scope."""
        clause = self.clause()
        return stmt if clause is None else stmt.where(clause)

    def get(self, *, session: Session, id: int) -> Row:
        """The lead ``id`` if in scope; otherwise the same :class:`NotFound` as a missing one."""
        row = leads.repo.get(session=session, id=id)
        clause = self.clause()
        if clause is not None:
            inside = session.execute(
                sa.select(sa.literal(1)).where(schema.leads.c.id == row["id"], clause)
            ).first()
            if inside is None:
                raise leads.repo.not_found(id)
        return row


# --- row-level access to tasks and alerts --------------------------------------------------


def _of_customer(customer_id: sa.ColumnElement[Any]) -> sa.ColumnElement[bool]:
    """The SQL condition that ``customer_id`` names a customer that is not deleted."""
    return _customer_is(customer_id, [_c.deleted_at.is_(None)])


def _customer_is(
    customer_id: sa.ColumnElement[Any], conditions: list[sa.ColumnElement[bool]]
) -> sa.ColumnElement[bool]:
    """The SQL condition that ``customer_id`` (a column of another table) names a customer
    meeting ``conditions`` (on ``customers``).

    An EXISTS, one look-up of the customer per record, rather than ``IN (SELECT id …)``,
    whose sub-select SQLite reads whole first (1,000,000 customers: half a second, even
    for an empty table of records). The sub-select reads customers under an alias of its
    own, so a statement that joins customers for another column is not mistaken for it.
    """
    one = schema.customers.alias("customer_in_scope")
    adapt = sql_util.ClauseAdapter(one)
    return (
        sa.select(sa.literal(1))
        .select_from(one)
        .where(one.c.id == customer_id, *(adapt.traverse(c) for c in conditions))
        .exists()
    )


@dataclass(frozen=True)
class TaskScope:
    """Which tasks the caller may see: the customer scope, widened by the work given to the
    caller or to their team.

    ========  ==============================================================================
    admin     every task
    manager   tasks of the manager's customers (:class:`CustomerScope`), tasks assigned to a
              user of their team, and their team's queue
    sales     tasks of the customers they own, and tasks assigned to them
    service   tasks assigned to them, and their team's queue (tasks for the team, no one
              assigned)
    analyst   every task, free text (note, skip reason) removed
    ========  ==============================================================================

    Tasks of deleted customers are hidden from everyone. A task outside the scope is
    reported exactly like a missing one (404).
    """

    principal: Principal

    @property
    def masked(self) -> bool:
        return self.principal.role is Role.ANALYST

    def clause(self) -> sa.ColumnElement[bool]:
        """The SQL condition on ``tasks`` of this scope."""
        p, t = self.principal, schema.tasks.c
        alive = _of_customer(t.customer_id)
        if p.role in (Role.ADMIN, Role.ANALYST):
            return alive
        mine = t.assignee_id == p.user_id
        queue = sa.and_(t.assignee_id.is_(None), t.team == p.team) if p.team is not None else None
        if p.role is Role.SERVICE:
            return sa.and_(alive, sa.or_(mine, queue) if queue is not None else mine)
        customers_of = CustomerScope(p).visible(t.customer_id)
        if p.role is Role.SALES:
            return sa.and_(alive, sa.or_(customers_of, mine))
        if p.role is Role.MANAGER:
            either = [customers_of, mine]
            if p.team is not None and queue is not None:
                u = schema.users
                either += [queue, t.assignee_id.in_(sa.select(u.c.id).where(u.c.team == p.team))]
            return sa.and_(alive, sa.or_(*either))
        return sa.false()


@dataclass(frozen=True)
class AlertScope:
    """Which alerts the caller may see: an alert about a customer when the customer is in
    the caller's :class:`CustomerScope`; an alert about no customer (a daily metric out of
    its band) for admins, managers and analysts. Alerts of deleted customers are hidden
    from everyone; an alert outside the scope is reported exactly like a missing one."""

    principal: Principal

    def clause(self) -> sa.ColumnElement[bool]:
        """The SQL condition on ``alerts`` of this scope."""
        p, a = self.principal, schema.alerts.c
        about_one = CustomerScope(p).visible(a.customer_id)
        if p.role in (Role.ADMIN, Role.MANAGER, Role.ANALYST):
            return sa.or_(a.customer_id.is_(None), about_one)
        return sa.and_(a.customer_id.is_not(None), about_one)


# --- log-in ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LoginOutcome:
    """What one log-in attempt came to: the user (right password), or a lock with the
    seconds to wait, or neither (wrong username or password)."""

    user: Row | None = None
    locked: LoginThrottleKind | None = None
    retry_after: int = 0


def log_in(
    *,
    session: Session,
    username: str,
    password: str,
    address: str | None,
    policy: ThrottlePolicy,
    via: str | None = None,
) -> LoginOutcome:
    """One log-in attempt, as the API and the web workspace make it: refused without a
    password check while the account or the address is locked out; otherwise the password
    is checked, the throttle counters follow the outcome and the attempt is audited
    (``via`` is added to the audit detail when given). The caller commits, so a refusal
    stays recorded."""
    extra = {"via": via} if via else {}
    attempt = login_throttle.begin(
        session=session, username=username, address=address, policy=policy
    )
    lock = attempt.lock()
    if lock is not None:
        kind, retry_after = lock
        audit.record(
            session=session,
            actor=username[:128],
            action=AuditAction.LOGIN_LOCKED,
            entity="users",
            detail={"locked": kind.value, "retry_after_seconds": retry_after, **extra},
            client_address=address,
        )
        return LoginOutcome(locked=kind, retry_after=retry_after)
    user = users.authenticate(session=session, username=username, password=password)
    if user is None:
        lockout = login_throttle.record_failure(session=session, attempt=attempt, policy=policy)
        detail = {"lockout_seconds": int(lockout.total_seconds())} if lockout else {}
        audit.record(
            session=session,
            actor=username[:128],
            action=AuditAction.LOGIN_FAILED,
            entity="users",
            detail={**detail, **extra} or None,
            client_address=address,
        )
        return LoginOutcome()
    login_throttle.record_success(session=session, attempt=attempt)
    audit.record(
        session=session,
        actor=user["username"],
        actor_user_id=user["id"],
        action=AuditAction.LOGIN,
        entity="users",
        entity_id=user["id"],
        detail=extra or None,
        client_address=address,
    )
    return LoginOutcome(user=user)
