"""Dated score snapshots: one row per customer and ``as_of`` date, history kept."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from rapport.errors import NotFound, ValidationFailed
from rapport.store import components, kept_reports, schema
from rapport.store.db import begin_writing, lock_for_upsert
from rapport.store.repository import Repository, Row, utcnow
from rapport.store.rules import ColumnRule, Kind

if TYPE_CHECKING:
    import pyarrow as pa

    from rapport.store.bulk import Encoded

repo = Repository(schema.customer_scores, entity="score snapshot", key=None)
_s = schema.customer_scores


def check_snapshot(data: pa.Table) -> None:
    """Refuse snapshot rows (whole Arrow columns) holding a value the store would refuse,
    naming the first one and its customer: the rules of :meth:`Repository.validate`
    applied by :func:`rapport.store.bulk.check_arrow`.

    Raises
    ------
    ValidationFailed
        Naming the column, the value and the customer.
    """
    from rapport.store.bulk import check_arrow

    check_arrow(_s, data, key="customer_id")


def replace_snapshot(
    *,
    connection: sa.Connection,
    as_of: dt.date,
    data: pa.Table | Iterable[pa.Table],
    ahead: Callable[[Iterator[Encoded]], Generator[Encoded, None, None]] | None = None,
) -> int:
    """Replace the snapshot of ``as_of`` with ``data``, atomically; returns rows written.

    ``data`` holds columns of ``customer_scores`` (``as_of`` and ``computed_at`` among
    them), one row per customer: one table, or the snapshot in parts (an iterable of
    tables, consumed one at a time, so a caller can make each part only when it is
    written and memory stays bounded by a part). The date's rows are deleted, then each
    part is checked (:func:`check_snapshot`) and written by the store's bulk writer
    (:class:`rapport.store.bulk.BulkWriter`), all in a savepoint of ``connection``'s
    transaction — which must be a writer's (:func:`rapport.store.db.begin_writer`): no
    other snapshot is written while it lasts. When anything fails (a part refused
    after others were written too), nothing of it remains. ``ahead`` runs the parts'
    making, checking and encoding for the writer (:meth:`rapport.store.bulk.BulkWriter.
    encoded`) on a thread of its own while the writer writes the part before
    (:func:`rapport.scoring.made_ahead`); without it the writer does it all in turn.

    Raises
    ------
    ValidationFailed
        From :func:`check_snapshot`, or when the database refuses a row (a customer
        deleted meanwhile).
    Conflict
        When two rows are for the same customer.
    """
    import polars as pl
    import pyarrow as pa

    from rapport.store.bulk import BulkWriter

    parts = [data] if isinstance(data, pa.Table) else data
    rows = 0
    lock_for_upsert(connection, _s)
    try:
        with connection.begin_nested():
            connection.execute(sa.delete(_s).where(_s.c.as_of == as_of))
            kept_reports.forget(connection, as_of=as_of)  # what was computed from the old rows
            writer = BulkWriter(connection)

            def encoded() -> Generator[Encoded, None, None]:
                for part in parts:
                    check_snapshot(part)
                    frame = pl.from_arrow(part)
                    assert isinstance(frame, pl.DataFrame)
                    yield writer.encoded(frame)

            ready = ahead(encoded()) if ahead is not None else encoded()
            with contextlib.closing(ready):  # a writer that fails stops the making
                for part in ready:
                    writer.insert_encoded(_s, part)
                    rows += part.rows
    except sa.exc.DBAPIError as exc:
        error = repo.translate(exc)
        if error is None:
            raise
        raise error from exc
    return rows


def _arrow_type(rule: ColumnRule) -> pa.DataType:
    import pyarrow as pa

    if rule.kind is Kind.INTEGER:
        return pa.int64()
    if rule.kind in (Kind.FLOAT, Kind.AMOUNT):
        return pa.float64()
    if rule.kind is Kind.DATE:
        return pa.date32()
    if rule.kind is Kind.DATETIME:
        return pa.timestamp("us", tz="UTC")
    if rule.kind is Kind.BOOL:
        return pa.bool_()
    return pa.string()  # text, enumerations, JSON documents (as JSON text)


def _rows_table(rows: list[Row]) -> pa.Table:
    """Checked rows (:meth:`Repository.validate`) as the Arrow table of a snapshot; a field
    a row does not carry is NULL there."""
    import pyarrow as pa

    names = [c for c in repo.rules if any(c in row for row in rows)]
    columns = {}
    for name in names:
        rule = repo.rules[name]
        values = [row.get(name) for row in rows]
        if name == _s.c.components.name:  # stored compact, as the scoring run writes it
            values = [components.compact(components.expand(v)) for v in values]
        if rule.kind is Kind.JSON:
            values = [None if v is None else json.dumps(v, ensure_ascii=False) for v in values]
        elif rule.kind is Kind.AMOUNT:
            values = [None if v is None else float(v) for v in values]
        columns[name] = pa.array(values, _arrow_type(rule))
    return pa.table(columns)


def _with_churn_source(row: Mapping[str, Any]) -> Mapping[str, Any]:
    """``row`` with the ``churn_source`` of its ``components`` document when it has a churn
    risk and no source of its own."""
    if "churn_source" in row or row.get("churn_risk") is None:
        return row
    document = components.expand(row.get("components"))
    churn = document.get("churn") if isinstance(document, Mapping) else None
    source = churn.get("source") if isinstance(churn, Mapping) else None
    return row if source is None else {**row, "churn_source": source}


def write_snapshot(*, session: Session, as_of: dt.date, rows: Iterable[Mapping[str, Any]]) -> int:
    """:func:`replace_snapshot` for rows given as mappings, in ``session``'s transaction
    (begun as a writer when it has not begun yet); returns rows written.

    Each row is checked first (:meth:`Repository.validate`, naming the field and value);
    rows may carry different fields, and a field a row does not carry is stored as NULL,
    but for ``churn_source``: a row with a churn risk and none takes its ``components``
    document's (``churn.source``), as the scoring run's rows have it.
    """
    computed_at = utcnow()
    clean = [
        repo.validate(
            {
                **_with_churn_source(row),
                "as_of": as_of,
                "computed_at": row.get("computed_at", computed_at),
            }
        )
        for row in rows
    ]
    begin_writing(session)
    connection = session.connection()
    if not clean:
        lock_for_upsert(connection, _s)
        with repo.writing(session):
            session.execute(sa.delete(_s).where(_s.c.as_of == as_of))
        return 0
    return replace_snapshot(connection=connection, as_of=as_of, data=_rows_table(clean))


def snapshot_dates(*, session: Session) -> list[dt.date]:
    """The dates of the snapshots, oldest first (:func:`dates_statement`)."""
    return list(session.execute(dates_statement()).scalars())


def dates_statement() -> sa.Select[Any]:
    """The snapshot dates, oldest first, as a walk down the index on ``as_of``: one step
    per date (the next is the smallest after the last one found), so the cost follows the
    number of snapshots, not of their rows — a ``DISTINCT`` reads every entry of the index,
    a million per snapshot at 1,000,000 customers (half a second on SQLite)."""
    first = sa.select(sa.func.min(_s.c.as_of).label("day")).cte("snapshot_days", recursive=True)
    after = sa.select(sa.func.min(_s.c.as_of)).where(_s.c.as_of > first.c.day).scalar_subquery()
    walk = first.union_all(sa.select(after).where(first.c.day.is_not(None)))
    return sa.select(walk.c.day).where(walk.c.day.is_not(None)).order_by(walk.c.day)


#: Snapshot dates named in full by :func:`check_snapshot_date`; more are elided.
SHOWN_DATES = 8


def _dates_text(dates: list[dt.date]) -> str:
    shown = [d.isoformat() for d in dates]
    if len(shown) > SHOWN_DATES:
        shown = [*shown[:3], "…", *shown[-(SHOWN_DATES - 3) :]]
    return ", ".join(shown)


def check_snapshot_date(
    dates: list[dt.date], as_of: dt.date | None, *, field: str = "as_of"
) -> dt.date:
    """The snapshot date to read: ``as_of`` when a snapshot has that date, the latest when
    ``as_of`` is ``None``.

    Raises
    ------
    NotFound
        When there is no snapshot at all (run ``rapport score``).
    ValidationFailed
        When no snapshot is dated ``as_of``: names ``field``, the date, and the dates that
        exist — never an empty answer that reads as "nobody".
    """
    if not dates:
        raise NotFound(
            "no score snapshot",
            table="customer_scores",
            hint="run `rapport score` first",
            key="snapshot_none",
            hint_key="score_first",
        )
    if as_of is None:
        return dates[-1]
    if as_of not in dates:
        raise ValidationFailed(
            "no score snapshot dated {day}",
            field=field,
            value=as_of.isoformat(),
            hint="snapshots exist on {dates} ({count} in all); "
            "`rapport score --as-of {day}` makes one on that day",
            key="snapshot_not_on_day",
            params={
                "day": as_of.isoformat(),
                "dates": _dates_text(sorted(dates)),
                "count": len(dates),
            },
        )
    return as_of


def require_snapshot(*, session: Session, as_of: dt.date | None, field: str = "as_of") -> dt.date:
    """:func:`check_snapshot_date` against the snapshots in the store."""
    return check_snapshot_date(snapshot_dates(session=session), as_of, field=field)


def for_customer(*, session: Session, customer_id: int, limit: int = 2) -> list[Row]:
    """The latest ``limit`` snapshots of one customer, newest first."""
    stmt = (
        sa.select(_s)
        .where(_s.c.customer_id == customer_id)
        .order_by(_s.c.as_of.desc())
        .limit(limit)
    )
    return [dict(r) for r in session.execute(stmt).mappings()]
