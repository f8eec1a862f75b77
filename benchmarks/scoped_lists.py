"""The customer list, its owner filter and the service queue of each scoped role, in process:
the product functions the web pages and the API call, each statement timed.

    .venv/bin/python -m benchmarks.scoped_lists --database-url 'sqlite:///file:STORE?mode=ro&uri=true'
        [--rounds 2]

Read only: open the store read-only (as above) or use a copy. The callers:

* ``manager``: the store's first active manager, with their own team;
* ``mgr_team``: the same manager as the lead of the team that owns the most customers (the
  scope of a manager with salespeople: their customers and the unowned);
* ``service``: the service agent with the most tickets;
* ``sales``: the salesperson who owns the most customers;
* ``admin``: the first admin (every customer; for comparison).

For each: the first page of ``/customers`` (:func:`rapport.web.customer_list.list_customers`,
sorted by id) and the next one by its cursor, the same sorted by name and by each score
(``name``, ``name2``, ``relationship_index``, …), the owner filter's list
(:func:`~rapport.web.customer_list.owners`), the first page of the service queue
(:func:`rapport.reports.service_queue.ticket_queue`) and the next, and a text search of the
list (``search:…``: a surname, a whole name, the last four digits of a phone, a customer
number, a text nobody has). ``--steps`` keeps the steps whose names start with one of its
words. Each round runs them all
in a new session; the first round of the process is "cold" for SQLite's page cache (the
operating system's may hold the file). A digest of every returned row id, count and cursor
ends the output: two versions of the code that return the same pages print the same digest.

Nothing here is a unit test.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import time
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session

from rapport.access import CustomerScope, Principal
from rapport.domain import Role
from rapport.reports.service_queue import OPEN_STATUSES, QueueQuery, ticket_queue
from rapport.store import schema
from rapport.web.customer_list import SORTS, CustomerQuery, list_customers, owners


def callers(engine: sa.Engine) -> dict[str, Principal]:
    """The principals measured (see the module's text), and a line about their scopes."""
    q = sa.text
    with engine.connect() as c:
        mgr = c.execute(
            q(
                "SELECT id, username, team FROM users "
                "WHERE role = 'manager' AND is_active ORDER BY id"
            )
        ).first()
        big = c.execute(
            q(
                "SELECT u.team FROM customers c JOIN users u ON u.id = c.owner_id "
                "WHERE u.team IS NOT NULL GROUP BY u.team ORDER BY count(*) DESC LIMIT 1"
            )
        ).scalar()
        agent = c.execute(
            q(
                "SELECT u.id, u.username, u.team FROM users u WHERE u.role = 'service' "
                "ORDER BY (SELECT count(*) FROM tickets t WHERE t.assignee_id = u.id) DESC, u.id"
            )
        ).first()
        seller = c.execute(
            q(
                "SELECT u.id, u.username, u.team FROM users u JOIN customers c "
                "ON c.owner_id = u.id WHERE u.role = 'sales' GROUP BY u.id "
                "ORDER BY count(*) DESC, u.id LIMIT 1"
            )
        ).first()
        admin = c.execute(
            q("SELECT id, username, team FROM users WHERE role = 'admin' ORDER BY id")
        ).first()
        found: dict[str, Principal] = {}
        if mgr is not None:
            found["manager"] = Principal(mgr.id, mgr.username, Role.MANAGER, mgr.team, "login")
            if big is not None:
                found["mgr_team"] = Principal(mgr.id, mgr.username, Role.MANAGER, big, "login")
        if agent is not None:
            found["service"] = Principal(
                agent.id, agent.username, Role.SERVICE, agent.team, "login"
            )
        if seller is not None:
            found["sales"] = Principal(seller.id, seller.username, Role.SALES, seller.team, "login")
        if admin is not None:
            found["admin"] = Principal(admin.id, admin.username, Role.ADMIN, admin.team, "login")
        for name, p in found.items():
            if p.role is Role.MANAGER:
                team = c.execute(
                    q(
                        "SELECT count(*), (SELECT count(*) FROM customers WHERE owner_id IN "
                        "(SELECT id FROM users WHERE team = :t)) FROM users WHERE team = :t"
                    ),
                    {"t": p.team},
                ).one()
                print(f"{name}: {p.username}, team {p.team}: {team[0]} users owning {team[1]:,}")
            elif p.role is Role.SERVICE:
                mine = c.execute(
                    q(
                        "SELECT count(*), count(DISTINCT customer_id) FROM tickets "
                        "WHERE assignee_id = :i"
                    ),
                    {"i": p.user_id},
                ).one()
                print(f"{name}: {p.username}: {mine[0]:,} tickets of {mine[1]:,} customers")
            elif p.role is Role.SALES:
                owned = c.execute(
                    q("SELECT count(*) FROM customers WHERE owner_id = :i"), {"i": p.user_id}
                ).scalar()
                print(f"{name}: {p.username}: owns {owned:,}")
        unowned = c.execute(q("SELECT count(*) FROM customers WHERE owner_id IS NULL")).scalar()
        t = schema.tickets.c
        opened = c.execute(sa.select(sa.func.count()).where(t.status.in_(OPEN_STATUSES))).scalar()
        print(f"unowned customers {unowned:,}; open tickets {opened:,}")
    return found


def search_texts(engine: sa.Engine) -> list[str]:
    """What the searches look for: the surname of the middle customer, their whole name, the
    last four digits of their phone, their customer number, and a text nobody has."""
    with engine.connect() as c:
        middle = c.execute(sa.text("SELECT max(id) / 2 FROM customers")).scalar() or 1
        row = c.execute(
            sa.text(
                "SELECT name, phone, external_id FROM customers WHERE id >= :i ORDER BY id LIMIT 1"
            ),
            {"i": middle},
        ).one()
    texts = [row.name[:1], row.name, (row.phone or "")[-4:], row.external_id, "无此客户xyz"]
    return [t for t in texts if t]


def calls(
    session: Session, scope: CustomerScope, now: dt.datetime, texts: list[str]
) -> dict[str, Callable[[], Any]]:
    """The measured calls of one caller, in order (a next page reads the cursor the first
    returned)."""
    cursors: dict[str, str | None] = {}

    def sorted_page(sort: str, then: bool) -> Callable[[], Any]:
        def run() -> Any:
            after = cursors.get(sort) if then else None
            query = CustomerQuery(sort=sort, after=after)
            page = list_customers(session=session, scope=scope, query=query)
            cursors[sort] = page.next_cursor
            return [r["id"] for r in page.rows], page.count, page.next_cursor

        return run

    def searched(text: str) -> Callable[[], Any]:
        def run() -> Any:
            page = list_customers(session=session, scope=scope, query=CustomerQuery(q=text))
            return [r["id"] for r in page.rows], page.count, page.capped

        return run

    ordered = {}
    for sort in SORTS:
        if sort != "id":
            ordered[sort] = sorted_page(sort, False)
            ordered[f"{sort}2"] = sorted_page(sort, True)

    def first_page() -> Any:
        page = list_customers(session=session, scope=scope, query=CustomerQuery())
        cursors["list"] = page.next_cursor
        return [r["id"] for r in page.rows], page.count, page.next_cursor

    def next_page() -> Any:
        query = CustomerQuery(after=cursors["list"])
        page = list_customers(session=session, scope=scope, query=query)
        return [r["id"] for r in page.rows], page.count, page.next_cursor

    def owner_filter() -> Any:
        return [r["id"] for r in owners(session, scope)]

    def queue() -> Any:
        page = ticket_queue(session=session, scope=scope, query=QueueQuery(), now=now)
        cursors["queue"] = page.next_cursor
        return [r["id"] for r in page.rows], page.count, page.overdue, page.next_cursor

    def queue_next() -> Any:
        if cursors["queue"] is None:
            return None
        query = QueueQuery(after=cursors["queue"])
        page = ticket_queue(session=session, scope=scope, query=query, now=now)
        return [r["id"] for r in page.rows], page.count, page.next_cursor

    return {
        "list": first_page,
        "page2": next_page,
        "owners": owner_filter,
        "queue": queue,
        "queue2": queue_next,
        **ordered,
        **{f"search:{t}": searched(t) for t in texts},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--steps", nargs="*", help="Only the steps starting with these words.")
    args = parser.parse_args()
    engine = sa.create_engine(args.database_url)
    spent: list[float] = []

    @event.listens_for(engine, "before_cursor_execute")
    def _sent(conn: Any, *_: Any) -> None:
        conn.info["sent"] = time.perf_counter()

    @event.listens_for(engine, "after_cursor_execute")
    def _done(conn: Any, *_: Any) -> None:
        spent.append((time.perf_counter() - conn.info["sent"]) * 1000)

    people = callers(engine)
    texts = search_texts(engine)
    now = dt.datetime.now(dt.UTC)
    results: dict[str, Any] = {}
    for n in range(args.rounds):
        for name, p in people.items():
            scope = CustomerScope(p)
            with Session(engine) as session:
                steps = calls(session, scope, now, texts)
                for step, run in steps.items():
                    if args.steps and not step.startswith(tuple(args.steps)):
                        continue
                    spent.clear()
                    began = time.perf_counter()
                    results[f"{name} {step}"] = run()
                    total = (time.perf_counter() - began) * 1000
                    statements = ", ".join(f"{ms:.1f}" for ms in spent)
                    label = "cold" if n == 0 else f"warm{n}"
                    print(
                        f"{label:6} {name:8} {step:20} {total:8.1f} ms  (statements {statements})",
                        flush=True,
                    )
    text = json.dumps(sorted(results.items()), default=str)
    print("digest", hashlib.sha256(text.encode()).hexdigest()[:16])
    engine.dispose()


if __name__ == "__main__":
    main()
