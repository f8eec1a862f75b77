"""Ticket transitions under concurrency, on a real server: uvicorn serving
``create_app(settings)`` on a free port, on a SQLite database file and on a PostgreSQL
database of its own, with many threads each using its own HTTP client.

* ten clients move one ticket to the same status at once: exactly one succeeds, the nine
  others get 409, and the history has exactly one row for the move;
* clients racing through the workflow on one ticket: every success is one history row,
  and the history is one unbroken chain (each change starts where the one before ended),
  so no change was made from a status that was no longer current;
* many tickets moved in parallel all land.
"""

from __future__ import annotations

import itertools
import random
import threading
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from rapport.api.app import create_app
from rapport.config import Settings
from rapport.domain import TICKET_TRANSITIONS, Role, TicketKind, TicketPriority, TicketStatus
from rapport.store import customers, schema, tickets, users
from rapport.store.db import session_scope
from tests.helpers import live_server

from .conftest import SLA, T0, bearer

THREADS = 10
PARALLEL_TICKETS = 20


@dataclass
class Served:
    url: str
    headers: dict[str, str]
    engine: Engine
    ticket_ids: list[int]

    def transitions(self, ticket_id: int) -> str:
        return f"{self.url}/api/v1/tickets/{ticket_id}/transitions"

    def history(self, ticket_id: int) -> list[dict[str, Any]]:
        h = schema.ticket_status_history
        stmt = sa.select(h).where(h.c.ticket_id == ticket_id).order_by(h.c.id)
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(stmt).mappings()]

    def status(self, ticket_id: int) -> str:
        t = schema.tickets
        with self.engine.connect() as conn:
            return conn.execute(sa.select(t.c.status).where(t.c.id == ticket_id)).scalar_one()


@pytest.fixture
def served(fresh_engine: Engine, api_settings: Settings) -> Iterator[Served]:
    with session_scope(fresh_engine) as session:
        admin = users.create_user(session=session, username="admin", role=Role.ADMIN)
        customer = customers.repo.create(session=session, values={"external_id": "C-1"})
        ids = [
            tickets.open_ticket(
                session=session,
                sla=SLA,
                values={
                    "external_id": f"T-{i}",
                    "customer_id": customer["id"],
                    "kind": TicketKind.COMPLAINT,
                    "priority": TicketPriority.HIGH,
                    "opened_at": T0,
                },
            )["id"]
            for i in range(PARALLEL_TICKETS + 2)
        ]
    app = create_app(api_settings, engine=fresh_engine)
    with live_server(app, lifespan="on") as url:
        yield Served(url, bearer(admin, api_settings), fresh_engine, ids)


def _race(served: Served, calls: list[tuple[int, str]]) -> list[httpx.Response]:
    """Send ``calls`` (ticket id, target status) at once, one thread and client each."""
    barrier = threading.Barrier(len(calls))

    def one(call: tuple[int, str]) -> httpx.Response:
        ticket_id, to = call
        with httpx.Client(headers=served.headers, timeout=60) as client:
            barrier.wait()
            return client.post(served.transitions(ticket_id), json={"to": to})

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(one, calls))


def test_the_same_transition_by_ten_clients_succeeds_once(served: Served) -> None:
    ticket_id = served.ticket_ids[0]
    responses = _race(served, [(ticket_id, "resolved")] * THREADS)
    statuses = Counter(r.status_code for r in responses)
    assert statuses == {200: 1, 409: THREADS - 1}, [r.text for r in responses]
    for refused in (r for r in responses if r.status_code == 409):
        error = refused.json()["error"]
        assert "from resolved to resolved" in error["message"]
        assert error["hint"] == "allowed next statuses: closed, in_progress"
    history = served.history(ticket_id)
    assert [(h["from_status"], h["to_status"]) for h in history] == [
        (None, "open"),
        ("open", "resolved"),
    ]
    assert served.status(ticket_id) == "resolved"


def test_clients_racing_through_the_workflow_leave_one_unbroken_history(
    served: Served,
) -> None:
    ticket_id = served.ticket_ids[1]
    rng = random.Random(7)
    targets = [s.value for s in TicketStatus if s is not TicketStatus.CLOSED]
    succeeded = 0
    for _round in range(3):
        calls = [(ticket_id, rng.choice(targets)) for _ in range(THREADS)]
        responses = _race(served, calls)
        assert {r.status_code for r in responses} <= {200, 409}, [r.text for r in responses]
        succeeded += sum(r.status_code == 200 for r in responses)
    history = served.history(ticket_id)
    assert len(history) == succeeded + 1
    for before, after in itertools.pairwise(history):
        assert after["from_status"] == before["to_status"]
        assert (
            TicketStatus(after["to_status"])
            in TICKET_TRANSITIONS[TicketStatus(after["from_status"])]
        )
    assert served.status(ticket_id) == history[-1]["to_status"]


def test_many_tickets_moved_in_parallel_all_land(served: Served) -> None:
    ids = served.ticket_ids[2:]
    for step in ("in_progress", "resolved", "closed"):
        responses = _race(served, [(ticket_id, step) for ticket_id in ids])
        assert [r.status_code for r in responses] == [200] * len(ids), [
            r.text for r in responses if r.status_code != 200
        ]
    for ticket_id in ids:
        assert served.status(ticket_id) == "closed"
        assert [h["to_status"] for h in served.history(ticket_id)] == [
            "open",
            "in_progress",
            "resolved",
            "closed",
        ]
