"""What a copy of a table needs to know to be refreshed from what changed since it was made.

The scoring run keeps its copy of the store between runs
(:mod:`rapport.analytics.working_copy`). For each table it copies, :func:`marks` reads
from the store what says whether a copy made earlier still holds:

* the table's row of ``table_changes`` (migration 0021): ``changes``, raised on SQLite by
  triggers with every row updated or deleted, and ``since``, a key the store gave the row
  (another store has another);
* the highest id, one step down the primary key: a store gives each new row the next id,
  so the rows added since a copy are those above the highest id it copied;
* a digest of the row at the highest id and of the row at the highest id copied before
  (:func:`row_digest`), so a store put back from an older file, which may hold other rows
  at the same ids, is told from the one copied.

A copy is still good for a table while its ``since`` and ``changes`` are those the copy was
made at and the last row it copied is there as it was; it then needs only the rows above
that row's id. Only a SQLite store keeps the counts (PostgreSQL hands out ids before the
transactions that use them commit, so a row can appear below the highest id a copy saw):
:func:`marks` gives nothing for another store, and a copy of it is made whole each time.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from rapport.store import schema


@dataclasses.dataclass(frozen=True)
class TableMark:
    """What the store says of one table (see the module). ``top`` is the highest id
    (``None``: no row) and ``top_digest`` the :func:`row_digest` of that row;
    ``copied_digest`` the digest of the row at the id asked about (``None``: no such row)."""

    since: str
    changes: int
    top: int | None
    top_digest: str | None
    copied_digest: str | None


def row_digest(values: Sequence[Any]) -> str:
    """The SHA-256 (hex) of a row's values as the store's driver gives them."""
    return hashlib.sha256(repr(tuple(values)).encode("utf-8")).hexdigest()


def _row(connection: Connection, table: sa.Table, columns: Sequence[str], row_id: int) -> Any:
    stmt = sa.select(*(table.c[c] for c in columns)).where(table.c.id == row_id)
    return connection.execute(stmt).first()


def marks(
    connection: Connection,
    tables: Mapping[str, Sequence[str]],
    copied: Mapping[str, int | None] | None = None,
) -> dict[str, TableMark]:
    """The :class:`TableMark` of each of ``tables`` (its name → the columns a copy holds,
    which the digests read) that has a row in ``table_changes``, on a SQLite store; an
    empty mapping on any other store. ``copied`` gives, per table, the highest id a copy
    made earlier holds: the digest of the row at that id is ``copied_digest``."""
    if connection.dialect.name != "sqlite":
        return {}
    c = schema.table_changes.c
    rows = connection.execute(
        sa.select(c.table_name, c.since, c.changes).where(c.table_name.in_(list(tables)))
    ).all()
    found: dict[str, TableMark] = {}
    for name, since, changes in rows:
        table = schema.metadata.tables[name]
        columns = tables[name]
        top = connection.execute(sa.select(sa.func.max(table.c.id))).scalar_one_or_none()
        top_row = None if top is None else _row(connection, table, columns, top)
        before = (copied or {}).get(name)
        copied_row = None if before is None else _row(connection, table, columns, before)
        found[name] = TableMark(
            since=str(since),
            changes=int(changes),
            top=None if top is None else int(top),
            top_digest=None if top_row is None else row_digest(top_row),
            copied_digest=None if copied_row is None else row_digest(copied_row),
        )
    return found


def added(
    connection: Connection, name: str, columns: Sequence[str], after: int, upto: int
) -> list[tuple[Any, ...]]:
    """The rows of table ``name`` with ids in (``after``, ``upto``], ``columns`` of each, as
    the SQLite driver gives them (times as their text), in id order: the rows a kept copy
    lacks, read down the primary key. SQLite only (``?`` parameters)."""
    table = schema.metadata.tables[name]
    quote = connection.dialect.identifier_preparer.quote
    sql = (
        f"SELECT {', '.join(quote(c) for c in columns)} FROM {quote(table.name)} "
        "WHERE id > ? AND id <= ? ORDER BY id"
    )
    # the driver's own cursor: a row through SQLAlchemy's result costs twice its read
    cursor = connection.connection.cursor()
    try:
        cursor.execute(sql, (after, upto))
        return list(cursor.fetchall())
    finally:
        cursor.close()


__all__ = ["TableMark", "added", "marks", "row_digest"]
