"""The customer 360 card: the same pieces as ``rapport customer ID``, read by the API
(``GET /api/v1/customers/{id}/360``) and the web workspace's card.

Profile from :mod:`rapport.store.customers`, score snapshots from
:func:`rapport.store.scores.for_customer`, and the merged activity timeline from
:func:`rapport.analytics.timeline.timeline` — the same Ibis expression the CLI runs.

The server does not attach DuckDB to the store for one customer: on a SQLite store,
DuckDB's own copy of SQLite must never open the WAL file that the server's connections
hold open (see :mod:`rapport.scoring`). Instead, each source's latest entries of the
customer are read through the store's session (indexed by ``customer_id`` and time) into
Arrow tables typed by the canonical analytics schema, and the timeline expression —
compiled to SQL once per entry count — runs on them in an in-memory DuckDB of the
thread. The newest ``limit`` entries overall are among the newest ``limit`` of each
source, so the result is the same as over the whole store.

The loyalty programme tier comes from :mod:`rapport.store.loyalty_tiers`.

Staff's notes about the customer (:mod:`rapport.store.notes`) join the card's timeline
here, as the source ``notes``: the analytics never read them (they are no activity of the
customer and no contact), so they are not part of the Ibis timeline.
"""

from __future__ import annotations

import datetime as dt
import threading
from decimal import Decimal
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

import duckdb
import ibis
import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy.orm import Session

from rapport.analytics.sources import Sources
from rapport.analytics.tables import SCHEMAS
from rapport.analytics.timeline import SOURCES, timeline
from rapport.config import Rules
from rapport.store import loyalty_tiers, notes, schema, scores
from rapport.store.components import expand
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

#: The sources of the card's timeline: the analytics' and staff's notes.
TIMELINE_SOURCES = (*SOURCES, "notes")
#: Sources whose ``detail`` is free text that may name or describe people (an
#: interaction's subject, a note): left out for a masked scope.
FREE_TEXT_SOURCES = frozenset({"interactions", "notes"})

#: The names the timeline's SQL reads the customer's rows under, one per source.
_TABLE_NAMES = {name: f"rapport_timeline_{name}" for name in SOURCES}
#: The customer id the compiled SQL filters on; the rows handed to it carry it.
_PLACEHOLDER_ID = 0

_local = threading.local()


@lru_cache(maxsize=256)
def timeline_sql(limit: int) -> str:
    """DuckDB SQL of :func:`rapport.analytics.timeline.timeline` over one customer's rows.

    Compiling an Ibis expression costs far more than running it on a few rows, so the
    expression is compiled once per ``limit``, over unbound tables named
    :data:`_TABLE_NAMES`, for the customer :data:`_PLACEHOLDER_ID`.
    """
    tables = {name: ibis.table(SCHEMAS[name], name=_TABLE_NAMES[name]) for name in SOURCES}
    expr = timeline(Sources(tables=tables), _PLACEHOLDER_ID, limit=limit)
    return ibis.to_sql(expr, dialect="duckdb")


def _duckdb() -> duckdb.DuckDBPyConnection:
    """One in-memory DuckDB per server thread (no store attached), in UTC."""
    con = getattr(_local, "con", None)
    if con is None:
        con = duckdb.connect(config={"threads": 1})
        con.execute("SET TimeZone = 'UTC'")
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


def _latest(session: Session, name: str, customer_id: int, limit: int) -> pa.Table:
    """The customer's newest ``limit`` rows of one source, typed by the canonical schema."""
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
    for row in rows:
        row["customer_id"] = _PLACEHOLDER_ID
    return pa.Table.from_pylist(rows, schema=SCHEMAS[name].to_pyarrow())


def customer_timeline(
    *, session: Session, customer_id: int, limit: int, masked: bool
) -> list[dict[str, Any]]:
    """The newest ``limit`` entries of the customer's timeline (newest first; at the same
    instant in the order of :data:`TIMELINE_SOURCES`); ``at`` is an aware UTC time.

    ``masked`` (an analyst's scope): the ``detail`` of the free-text sources
    (:data:`FREE_TEXT_SOURCES`) is ``None``.
    """
    data = {name: _latest(session, name, customer_id, limit) for name in SOURCES}
    con = _duckdb()
    try:
        for name, table in data.items():
            con.register(_TABLE_NAMES[name], table)
        rows = con.execute(timeline_sql(limit)).to_arrow_table().to_pylist()
    finally:
        for name in data:
            con.unregister(_TABLE_NAMES[name])
    for row in rows:
        row["at"] = row["at"].replace(tzinfo=dt.UTC)
    rows += [
        {
            "at": note["created_at"],
            "source": "notes",
            "kind": None,
            "detail": note["body"],
            "value": None,
            "entry_id": note["id"],
        }
        for note in notes.for_customer(session=session, customer_id=customer_id, limit=limit)
    ]
    rows.sort(key=lambda row: row["at"], reverse=True)  # stable: ties keep their order
    rows = rows[:limit]
    if masked:
        for row in rows:
            if row["source"] in FREE_TEXT_SOURCES:
                row["detail"] = None
    return rows


def latest_scores(*, session: Session, customer_id: int) -> tuple[Row | None, Row | None]:
    """The customer's latest score snapshot and the one before (``None`` when missing)."""
    snapshots = scores.for_customer(session=session, customer_id=customer_id, limit=2)
    for snap in snapshots:
        snap["components"] = expand(snap.get("components"))
    latest = snapshots[0] if snapshots else None
    previous = snapshots[1] if len(snapshots) > 1 else None
    return latest, previous


def programme_tier(
    *, session: Session, customer_id: int, rules: Rules, at: dt.datetime, tz: ZoneInfo
) -> Row | None:
    """The customer's loyalty programme tier as the card shows it (tier, since, the next
    review, the basis over the window, what is missing for the next tier, the benefits):
    :func:`rapport.store.loyalty_tiers.tier_card`; ``None`` for a non-member."""
    return loyalty_tiers.tier_card(session, customer_id=customer_id, rules=rules, at=at, tz=tz)


def score_history(*, session: Session, customer_id: int, limit: int = 24) -> list[Row]:
    """The customer's latest ``limit`` score snapshots, oldest first (the relationship index
    across snapshots)."""
    return list(
        reversed(scores.for_customer(session=session, customer_id=customer_id, limit=limit))
    )
