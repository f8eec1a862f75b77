"""How the scope conditions read the customers: one look-up by primary key per record of a
customer, never the whole table first; a manager's customer list as ranges of the owner
index, a service agent's list, owners and queue from the agent's tickets (SQLite's query
plan; the rows each scope lets through are tested with the customer list, the alerts,
tickets, tasks and the API's routes)."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from rapport.access import AlertScope, CustomerScope, Principal, TaskScope
from rapport.domain import Role
from rapport.reports.service_queue import QueueQuery, ticket_queue
from rapport.store import schema
from rapport.web.customer_list import CustomerQuery, list_customers, owners
from tests.helpers import statement_plans


def plan(engine: Engine, stmt: sa.Select) -> str:
    sql = stmt.compile(engine, compile_kwargs={"literal_binds": True})
    with engine.connect() as conn:
        return " | ".join(str(r[-1]) for r in conn.execute(sa.text(f"EXPLAIN QUERY PLAN {sql}")))


@pytest.mark.parametrize("role", list(Role))
def test_scoped_records_look_their_customer_up_instead_of_reading_every_customer(
    sqlite_engine: Engine, role: Role
) -> None:
    p = Principal(7, "someone", role, "east", "login")
    a, t, k = schema.alerts, schema.tickets, schema.tasks
    statements = {
        "alerts": sa.select(sa.func.count()).select_from(a).where(AlertScope(p).clause()),
        "tickets": sa.select(t.c.id)
        .where(CustomerScope(p).visible(t.c.customer_id))
        .order_by(t.c.id.desc())
        .limit(20),
        "tasks": sa.select(sa.func.count()).select_from(k).where(TaskScope(p).clause()),
    }
    for name, stmt in statements.items():
        found = plan(sqlite_engine, stmt)
        assert "SCAN customers" not in found, (name, found)
        assert "SCAN customer_in_scope" not in found, (name, found)
        if name != "tasks" or role is not Role.SERVICE:  # a service agent's tasks: by team
            assert "SEARCH customer_in_scope USING INTEGER PRIMARY KEY (rowid=?)" in found, (
                name,
                found,
            )


MANAGER = Principal(7, "manager", Role.MANAGER, "east", "login")
AGENT = Principal(8, "agent", Role.SERVICE, "east", "login")


@pytest.fixture
def team_engine(sqlite_engine: Engine) -> Engine:
    """Three users of the manager's team and one of another, so the team's ranges are
    several."""
    now = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    with sqlite_engine.begin() as conn:
        people = [(Role.MANAGER, "east"), (Role.SERVICE, "east"), (Role.SALES, "east")]
        for i, (role, team) in enumerate([*people, (Role.SALES, "west")], start=7):
            conn.execute(
                sa.insert(schema.users).values(
                    id=i,
                    username=f"u{i}",
                    display_name=f"u{i}",
                    role=role,
                    team=team,
                    created_at=now,
                    updated_at=now,
                )
            )
    return sqlite_engine


@pytest.mark.parametrize("who", [MANAGER, AGENT], ids=["manager", "service"])
def test_customer_list_reads_ranges_of_an_index_not_every_customer(
    team_engine: Engine, who: Principal
) -> None:
    """A manager's first page merges the unowned range and each team member's range of
    the owner index, in id order (no sort of the customers); a service agent's list, count
    and owners start from the agent's tickets."""
    scope = CustomerScope(who)
    found = statement_plans(
        team_engine,
        lambda s: (list_customers(session=s, scope=scope, query=CustomerQuery()), owners(s, scope)),
    )
    for sql, shown in found:
        assert "SCAN customers" not in shown, (sql, shown)
        assert "SCAN owned" not in shown, (sql, shown)
    page = next(shown for sql, shown in found if "ORDER BY customers.id" in sql)
    assert "TEMP B-TREE" not in page, page
    if who.role is Role.MANAGER:
        assert page.count("USING INDEX ix_customers_owner_id (owner_id=?)") == 4, page
    else:
        assert "SEARCH assigned USING" in page and "ix_tickets_assignee_id" in page, page


@pytest.mark.parametrize("who", [MANAGER, AGENT], ids=["manager", "service"])
def test_the_service_queue_checks_each_open_tickets_customer(
    team_engine: Engine, who: Principal
) -> None:
    """The queue's count and page start from the open tickets and check each one's customer
    (and a service agent's tickets of that customer): never the scope's customers first."""
    scope = CustomerScope(who)
    now = dt.datetime(2026, 12, 5, tzinfo=dt.UTC)
    found = statement_plans(
        team_engine,
        lambda s: ticket_queue(session=s, scope=scope, query=QueueQuery(), now=now),
    )
    found = [(sql, shown) for sql, shown in found if sql.startswith("SELECT")]
    assert len(found) == 2
    for sql, shown in found:
        assert "SCAN customers" not in shown, (sql, shown)
        assert "MULTI-INDEX OR" not in shown, (sql, shown)
        assert "SEARCH customer_in_scope USING INTEGER PRIMARY KEY (rowid=?)" in shown, shown
        if who.role is Role.SERVICE:
            assert "SEARCH assigned USING" in shown, shown
            assert "LIST SUBQUERY" not in shown, shown  # not all of the agent's customers


def test_an_agents_own_queue_reads_their_open_tickets_alone(team_engine: Engine) -> None:
    """A service agent's queue ("mine", their page's default) reads their open tickets, one
    range of the index on (assignee, status), not every ticket they ever had."""
    scope = CustomerScope(AGENT)
    now = dt.datetime(2026, 12, 5, tzinfo=dt.UTC)
    query = QueueQuery(assignee="mine")
    found = statement_plans(
        team_engine, lambda s: ticket_queue(session=s, scope=scope, query=query, now=now)
    )
    found = [(sql, shown) for sql, shown in found if sql.startswith("SELECT")]
    assert len(found) == 2
    for sql, shown in found:
        read = (
            "SEARCH queued USING INDEX ix_tickets_assignee_id_status (assignee_id=? AND status=?)"
        )
        assert read in shown, (sql, shown)
