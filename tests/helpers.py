"""Helpers the test packages share: a free port and a live server, audit entries, row counts."""

from __future__ import annotations

import math
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

from rapport.store import schema

#: What the helpers read through: a session, a connection, or an engine (a connection each).
Bind = Session | Connection | Engine


def free_port() -> int:
    """A TCP port on loopback that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def live_server(app: Any, *, lifespan: str = "off", start_seconds: float = 30) -> Iterator[str]:
    """Serve ``app`` with uvicorn in a thread on a free loopback port; yields its base URL
    (``http://127.0.0.1:PORT``) once it accepts connections, and stops it on exit."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan=lifespan)
    )
    thread = threading.Thread(target=server.run, name="live-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + start_seconds
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def _execute(bind: Bind, stmt: sa.Executable) -> sa.Result[Any]:
    if isinstance(bind, Engine):
        with bind.connect() as conn:
            return conn.execute(stmt).freeze()()
    return bind.execute(stmt)


def audit_entries(
    bind: Bind, action: str | None = None, entity: str | None = None
) -> list[dict[str, Any]]:
    """The audit log, oldest first, optionally of one action and one entity."""
    a = schema.audit_log
    stmt = sa.select(a).order_by(a.c.id)
    if action is not None:
        stmt = stmt.where(a.c.action == action)
    if entity is not None:
        stmt = stmt.where(a.c.entity == entity)
    return [dict(r) for r in _execute(bind, stmt).mappings()]


def count_rows(bind: Bind, table: sa.Table) -> int:
    """The number of rows of ``table``."""
    return _execute(bind, sa.select(sa.func.count()).select_from(table)).scalar_one()


def advance_sequences(engine: Engine) -> None:
    """PostgreSQL: move each integer id sequence past the ids a test loaded explicitly."""
    if engine.dialect.name != "postgresql":
        return
    with engine.begin() as conn:
        for table in schema.TABLES:
            if "id" in table.c and isinstance(table.c.id.type, sa.Integer):
                conn.exec_driver_sql(
                    f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                    f"COALESCE((SELECT max(id) FROM {table.name}), 0) + 1, false)"
                )


def count_calls(monkeypatch: Any, functions: Any) -> dict[str, int]:
    """Through ``monkeypatch``, each ``(module, name)`` of ``functions`` counting its calls
    (and still doing its work); the counts by name, as the calls happen."""
    calls: dict[str, int] = {}
    for module, name in functions:
        original = getattr(module, name)

        def wrapper(*args: Any, _name: str = name, _f: Any = original, **kwargs: Any) -> Any:
            calls[_name] = calls.get(_name, 0) + 1
            return _f(*args, **kwargs)

        monkeypatch.setattr(module, name, wrapper)
    return calls


def snapshot_reports() -> tuple[tuple[Any, str], ...]:
    """Every report a page keeps of a snapshot (``(module, name)``: what
    :func:`count_calls` counts), as :mod:`rapport.reports.snapshot_cache` computes them."""
    from rapport.reports import analysis, movers, overview, snapshots

    return (
        (snapshots, "group_summary"),
        (snapshots, "movements"),
        (snapshots, "diamonds_in"),
        (snapshots, "churn_warnings"),
        (analysis, "rfm_grid"),
        (analysis, "clv_distribution"),
        (analysis, "degree_correlations"),
        (movers, "tier_mover_counts"),
        (movers, "tier_movers_in"),
        (overview, "snapshot_history"),
    )


def statement_plans(engine: Engine, read: Callable[[Session], object]) -> list[tuple[str, str]]:
    """Each statement ``read`` runs, with SQLite's plan of it (its own parameters bound)."""
    sent: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        sent.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", record)
    try:
        with Session(engine) as session:
            read(session)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    with engine.connect() as conn:
        raw = conn.connection.dbapi_connection
        assert raw is not None
        return [
            (sql, " | ".join(str(r[-1]) for r in raw.execute(f"EXPLAIN QUERY PLAN {sql}", args)))
            for sql, args in sent
        ]


def agree(a: Any, b: Any) -> bool:
    """``a`` equals ``b`` (nested dicts and lists), floats to a relative 1e-9: a report
    computed by DuckDB adds its floats in another order than SQLite or PostgreSQL."""
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(agree(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return isinstance(b, list) and len(a) == len(b) and all(map(agree, a, b))
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    return type(a) is type(b) and a == b


def record_dialects(monkeypatch: Any, module: Any, name: str) -> list[str]:
    """``module.name`` (a report taking its session first) replaced by one that records
    the dialect of each session it is given (``sqlite``, ``duckdb`` …) before it runs;
    the list of them, in order."""
    read: list[str] = []
    original = getattr(module, name)

    def recorded(session: Any, *args: Any, **kwargs: Any) -> Any:
        read.append(session.get_bind().dialect.name)
        return original(session, *args, **kwargs)

    monkeypatch.setattr(module, name, recorded)
    return read
