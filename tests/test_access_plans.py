"""How the scope conditions on records of a customer read the customers: one look-up by
primary key per record, never the whole table first (SQLite's query plan; the rows each
scope lets through are tested with the alerts, tickets, tasks and the API's routes)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from rapport.access import AlertScope, CustomerScope, Principal, TaskScope
from rapport.domain import Role
from rapport.store import schema
from rapport.store.db import create_engine


@pytest.fixture
def sqlite_engine(sqlite_start: Path, tmp_path: Path) -> Iterator[Engine]:
    path = tmp_path / "plan.db"
    shutil.copy(sqlite_start, path)
    engine = create_engine(f"sqlite:///{path}")
    yield engine
    engine.dispose()


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
