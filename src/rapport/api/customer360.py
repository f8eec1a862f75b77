"""The customer 360 card of the API: the same pieces as ``rapport customer ID``.

Profile from :mod:`rapport.store.customers`, score snapshots from
:func:`rapport.store.scores.for_customer`, and the merged activity timeline from
:func:`rapport.analytics.timeline.timeline` — the same Ibis expression the CLI runs.

The server does not attach DuckDB to the store for one customer: on a SQLite store,
DuckDB's own copy of SQLite must never open the WAL file that the server's connections
hold open (see :mod:`rapport.scoring`). Instead, each source's latest entries of the
customer are read through the store's session (indexed by ``customer_id`` and time), put
into in-memory tables typed by the canonical analytics schema, and the timeline
expression runs on them in an in-memory DuckDB. The newest ``limit`` entries overall are
among the newest ``limit`` of each source, so the result is the same as over the whole
store.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from decimal import Decimal
from typing import Any

import ibis
import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy.orm import Session

from rapport.analytics.metrics import execute
from rapport.analytics.sources import Sources
from rapport.analytics.tables import SCHEMAS
from rapport.analytics.timeline import SOURCES, timeline
from rapport.store import schema, scores
from rapport.store.db import json_dumps
from rapport.store.repository import Row

#: The time column of each timeline source (its index with ``customer_id``).
_TIME = {
    "orders": "ordered_at",
    "interactions": "occurred_at",
    "tickets": "opened_at",
    "survey_responses": "responded_at",
    "events": "occurred_at",
}

_local = threading.local()


def _duckdb() -> Any:
    """One in-memory DuckDB per server thread (no store attached), in UTC."""
    con = getattr(_local, "con", None)
    if con is None:
        con = ibis.duckdb.connect(threads=1)
        con.raw_sql("SET TimeZone = 'UTC'")
        _local.con = con
    return con


def _canonical(value: Any) -> Any:
    """A store value as the analytics schema types it (naive UTC, floats, JSON text)."""
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).replace(tzinfo=None)
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dict | list):
        return json_dumps(value)
    return value


def _latest(session: Session, name: str, customer_id: int, limit: int) -> ibis.Table:
    table = schema.metadata.tables[name]
    time = table.c[_TIME[name]]
    stmt = (
        sa.select(table)
        .where(table.c.customer_id == customer_id)
        .order_by(time.desc(), table.c.id.desc())
        .limit(limit)
    )
    columns = SCHEMAS[name].names
    rows = [{c: _canonical(r[c]) for c in columns} for r in session.execute(stmt).mappings()]
    data = pa.Table.from_pylist(rows, schema=SCHEMAS[name].to_pyarrow())
    return ibis.memtable(data, schema=SCHEMAS[name])


def customer_timeline(*, session: Session, customer_id: int, limit: int) -> list[dict[str, Any]]:
    """The newest ``limit`` entries of the customer's timeline (newest first); ``at`` is an
    aware UTC time."""
    tables = {name: _latest(session, name, customer_id, limit) for name in SOURCES}
    expr = timeline(Sources(tables=tables), customer_id, limit=limit)
    rows = execute(expr, _duckdb()).to_pylist()
    for row in rows:
        row["at"] = row["at"].replace(tzinfo=dt.UTC)
    return rows


def latest_scores(*, session: Session, customer_id: int) -> tuple[Row | None, Row | None]:
    """The customer's latest score snapshot and the one before (``None`` when missing)."""
    snapshots = scores.for_customer(session=session, customer_id=customer_id, limit=2)
    for snap in snapshots:
        if isinstance(snap.get("components"), str):
            snap["components"] = json.loads(snap["components"])
    latest = snapshots[0] if snapshots else None
    previous = snapshots[1] if len(snapshots) > 1 else None
    return latest, previous
