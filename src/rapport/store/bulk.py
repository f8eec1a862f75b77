"""Whole-table checks and bulk writes: the fast paths of the importer, the bulk API and the
score snapshots.

:func:`check_arrow` applies the column rules of :mod:`rapport.store.rules` to whole Arrow
columns (what :meth:`~rapport.store.repository.Repository.validate` does to one row).
:class:`BulkWriter` is the one bulk writer: it inserts and updates Polars frames batch by
batch (:data:`BATCH_ROWS` rows at a time, so memory stays bounded), with ``executemany`` of
values already in SQLAlchemy's storage format on SQLite and ``COPY … FROM STDIN`` on
PostgreSQL; key lookups go through a temporary table joined to the target, so a batch of
100,000 keys costs one query. A row the database refuses raises SQLAlchemy's
:class:`~sqlalchemy.exc.DBAPIError` on both (for
:meth:`~rapport.store.repository.Repository.translate`).
"""

from __future__ import annotations

import contextlib
import io
import json
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn

import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa

from rapport.errors import ValidationFailed
from rapport.store import rules
from rapport.store.db import one_of
from rapport.store.rules import ColumnRule, Kind, column_rules
from rapport.store.types import is_json


def _fail(
    table: sa.Table,
    rule: ColumnRule,
    values: pa.Array,
    bad: pa.Array,
    keys: pa.Array,
    label: str,
    problem: str,
    hint: str | None = None,
) -> NoReturn:
    index = pc.index(bad, True).as_py()
    value, key = values[index].as_py(), keys[index].as_py()
    raise ValidationFailed(
        "{table}.{field} = {value!r} ({label} {key}): {problem}",
        table=table.name,
        field=rule.name,
        value=value,
        hint=None if hint is None else "{advice}",
        key="bulk_value_refused",
        params={
            "table": table.name,
            "field": rule.name,
            "value": value,
            "label": label,
            "key": key,
            "problem": problem,
            "advice": hint,
        },
        hint_key="value_refused.hint",
    )


def _any(bad: pa.Array) -> pa.Array | None:
    """``bad`` with nulls read as false, or ``None`` when no value is bad."""
    bad = pc.fill_null(bad, False)
    return bad if pc.any(bad).as_py() else None


def check_arrow(table: sa.Table, data: pa.Table, *, key: str = "id") -> None:
    """Refuse ``data`` (rows for ``table``) when a value breaks a rule of its column,
    naming the first such value and its row by ``key`` (``customer_id`` → "customer 12").

    The rules are those :meth:`~rapport.store.repository.Repository.validate` applies to
    one row: required columns, enumerations, text lengths, finite numbers, integer widths,
    amounts that fit ``NUMERIC(precision, scale)`` in whole cents, and the CHECK ranges.

    Raises
    ------
    ValidationFailed
        Naming the table, the column, the value and the row.
    """
    known = column_rules(table)
    unknown = [c for c in data.column_names if c not in known]
    if unknown:
        raise ValidationFailed(
            "{table} has no column {column}",
            table=table.name,
            field=unknown[0],
            hint="fields of {table}: {fields}",
            key="bulk_no_column",
            params={"table": table.name, "column": unknown[0], "fields": ", ".join(known)},
        )
    keys = data.column(key).combine_chunks()
    label = key.removesuffix("_id")
    for name in data.column_names:
        rule = known[name]
        values = data.column(name).combine_chunks()

        def fail(bad: pa.Array, problem: str, hint: str | None = None) -> NoReturn:
            _fail(table, rule, values, bad, keys, label, problem, hint)  # noqa: B023

        if (rule.required or rule.primary_key) and values.null_count:
            fail(values.is_null(), rules.REQUIRED)
        if rule.kind is Kind.ENUM:
            listed = pc.is_in(values, value_set=pa.array(rule.enum))
            if (bad := _any(pc.and_(values.is_valid(), pc.invert(listed)))) is not None:
                fail(bad, rules.UNKNOWN_VALUE, rule.enum_hint())
        elif rule.kind is Kind.TEXT and rule.max_length is not None:
            if (bad := _any(pc.greater(pc.utf8_length(values), rule.max_length))) is not None:
                fail(bad, rule.length_problem())
        elif rule.kind in (Kind.INTEGER, Kind.AMOUNT, Kind.FLOAT):
            _check_number(rule, values, fail)


def _check_number(rule: ColumnRule, values: pa.Array, fail: Any) -> None:
    floating = pa.types.is_floating(values.type)
    if floating and (bad := _any(pc.invert(pc.is_finite(values)))) is not None:
        fail(bad, rules.NOT_FINITE)
    if rule.kind is Kind.INTEGER:
        low, high = rule.integer_range
        if (bad := _any(pc.or_(pc.less(values, low), pc.greater(values, high)))) is not None:
            fail(bad, rule.integer_problem(), rule.integer_hint())
    elif rule.kind is Kind.AMOUNT and rule.scale is not None:
        limit = rule.amount_limit
        if limit is not None:
            too_large = pc.greater_equal(pc.abs(values), float(limit))
            if (bad := _any(too_large)) is not None:
                fail(bad, rule.amount_problem(), rule.amount_hint())
        rounded = pc.round(values, rule.scale)
        if (bad := _any(pc.greater(pc.abs(pc.subtract(values, rounded)), 1e-9))) is not None:
            fail(bad, rule.scale_problem(), rule.scale_hint())
    bounds = rule.bounds
    if bounds is None:
        return
    if bounds.low is not None:
        low_bad = (
            pc.less(values, bounds.low)
            if bounds.low_inclusive
            else pc.less_equal(values, bounds.low)
        )
        if (bad := _any(low_bad)) is not None:
            fail(bad, bounds.low_problem)
    if bounds.high is not None and (bad := _any(pc.greater(values, bounds.high))) is not None:
        fail(bad, bounds.high_problem)


#: How SQLAlchemy stores a time on SQLite (UTC, no offset).
SQLITE_DATETIME = "%Y-%m-%d %H:%M:%S%.6f"
#: Rows per statement (or COPY) of an insert or update: bounds the memory of a write.
BATCH_ROWS = 50_000


@dataclass(frozen=True)
class Encoded:
    """Rows encoded for :meth:`BulkWriter.insert_encoded`: the columns, the slices as the
    dialect sends them and the number of rows."""

    columns: tuple[str, ...]
    parts: Iterable[Any]
    rows: int


class BulkWriter:
    """Batch operations on one connection (inside the batch's transaction)."""

    def __init__(self, conn: sa.Connection) -> None:
        self.conn = conn
        self.dialect = conn.dialect.name

    # --- lookups -------------------------------------------------------------------------

    def _key_table(self, columns: Sequence[sa.Column], frame: pl.DataFrame) -> sa.Table:
        name = f"_rapport_keys_{uuid.uuid4().hex[:8]}"
        temp = sa.Table(
            name,
            sa.MetaData(),
            *[sa.Column(f"k{i}", c.type) for i, c in enumerate(columns)],
            prefixes=["TEMPORARY"],
        )
        temp.create(self.conn)
        self.insert(temp, frame.rename(dict(zip(frame.columns, temp.c.keys(), strict=True))))
        return temp

    def lookup(
        self,
        table: sa.Table,
        key_columns: Sequence[str],
        keys: pl.DataFrame,
        columns: Sequence[str] = ("id",),
        *,
        where: sa.ColumnElement[bool] | None = None,
    ) -> list[sa.Row]:
        """Rows of ``table`` whose ``key_columns`` equal a row of ``keys`` (distinct), and
        that meet ``where`` (one text key only)."""
        keys = keys.unique()
        if keys.height == 0:
            return []
        targets = [table.c[k] for k in key_columns]
        selected = [*targets, *[table.c[c] for c in columns]]
        if len(targets) == 1 and keys.dtypes[0] == pl.Utf8:
            # one text key: the whole key list travels as one parameter
            stmt = sa.select(*selected).where(self._in_keys(targets[0], keys.to_series()))
            if where is not None:
                stmt = stmt.where(where)
            return list(self.conn.execute(stmt))
        if where is not None:
            raise ValueError("a condition is only supported with one text key")
        temp = self._key_table(targets, keys)
        try:
            condition = sa.and_(*[t == temp.c[f"k{i}"] for i, t in enumerate(targets)])
            stmt = sa.select(*targets, *[table.c[c] for c in columns]).join_from(
                table, temp, condition
            )
            return list(self.conn.execute(stmt))
        finally:
            temp.drop(self.conn)

    def _in_keys(self, column: sa.Column, values: pl.Series) -> sa.ColumnElement[bool]:
        """``column`` is one of ``values`` (text; :func:`rapport.store.db.one_of`)."""
        return one_of(column, values.to_list(), dialect=self.dialect)

    def resolve_ids(
        self,
        table: sa.Table,
        key: str,
        keys: pl.Series,
        *,
        where: sa.ColumnElement[bool] | None = None,
    ) -> pl.DataFrame:
        """``k`` → ``id`` of the rows of ``table`` whose text column ``key`` is in ``keys``
        (and that meet ``where``: the others read as missing)."""
        if where is not None:
            unique = keys.drop_nulls().unique()
            stmt = sa.select(table.c[key], table.c.id).where(
                self._in_keys(table.c[key], unique), where
            )
            rows = self.conn.execute(stmt).fetchall() if unique.len() else []
            return pl.DataFrame(
                [tuple(r) for r in rows], schema={"k": pl.Utf8, "id": pl.Int64}, orient="row"
            )
        wanted = json.dumps(keys.drop_nulls().unique().to_list(), ensure_ascii=False)
        if self.dialect == "sqlite":
            sql = (
                f'SELECT "{key}", id FROM "{table.name}" '
                f'WHERE "{key}" IN (SELECT value FROM json_each(?))'
            )
        else:
            sql = (
                f'SELECT "{key}", id FROM "{table.name}" '
                f'WHERE "{key}" = ANY(ARRAY(SELECT jsonb_array_elements_text(%s::jsonb)))'
            )
        rows = self.conn.exec_driver_sql(sql, (wanted,)).fetchall()
        return pl.DataFrame(rows, schema={"k": pl.Utf8, "id": pl.Int64}, orient="row")

    # --- writes --------------------------------------------------------------------------

    def _storage(self, frame: pl.DataFrame) -> pl.DataFrame:
        """Convert typed columns to what the driver stores (SQLite) or COPY reads (PG).

        Times are UTC: an aware one is converted, a naive one is taken as UTC already.
        """
        exprs = []
        for name, dtype in frame.schema.items():
            col = pl.col(name)
            if isinstance(dtype, pl.Datetime):
                fmt = SQLITE_DATETIME if self.dialect == "sqlite" else SQLITE_DATETIME + "+00"
                utc = (
                    col.dt.replace_time_zone("UTC")
                    if dtype.time_zone is None
                    else col.dt.convert_time_zone("UTC")
                )
                exprs.append(utc.dt.strftime(fmt))
            elif dtype == pl.Date:
                exprs.append(col.dt.strftime("%Y-%m-%d"))
            elif isinstance(dtype, pl.Decimal):
                exprs.append(col.cast(pl.Float64).round(2))
            elif dtype == pl.Boolean and self.dialect == "sqlite":
                exprs.append(col.cast(pl.Int64))
            else:
                exprs.append(col)
        return frame.select(exprs)

    def insert(self, table: sa.Table, frame: pl.DataFrame) -> None:
        """Insert the rows of ``frame`` (columns named as ``table``'s), :data:`BATCH_ROWS`
        at a time, each slice encoded as it is sent (as :meth:`encoded` does).

        Raises
        ------
        sqlalchemy.exc.DBAPIError
            When the database refuses a row (on PostgreSQL too, where ``COPY`` runs on the
            driver's own cursor); the transaction is then to be rolled back.
        """
        slices = (self._encode(part) for part in frame.iter_slices(BATCH_ROWS))
        self.insert_encoded(table, Encoded(tuple(frame.columns), slices, frame.height))

    def encoded(self, frame: pl.DataFrame) -> Encoded:
        """The rows of ``frame`` encoded now as :meth:`insert_encoded` sends them, in
        slices of :data:`BATCH_ROWS`: CSV for PostgreSQL's ``COPY``, tuples of stored
        values for SQLite. Needs no connection: a writer can encode the next rows on
        another thread while it sends these."""
        slices = [self._encode(part) for part in frame.iter_slices(BATCH_ROWS)]
        return Encoded(tuple(frame.columns), slices, frame.height)

    def _encode(self, part: pl.DataFrame) -> Any:
        stored = self._storage(part)
        if self.dialect == "postgresql":
            buffer = io.BytesIO()
            stored.write_csv(buffer, include_header=False, null_value="")
            return buffer.getvalue()
        return stored.rows()

    def insert_encoded(self, table: sa.Table, encoded: Encoded) -> None:
        """Insert rows :meth:`encoded` gave (raises as :meth:`insert`)."""
        if not encoded.rows:
            return
        columns = ", ".join(f'"{c}"' for c in encoded.columns)
        if self.dialect == "postgresql":
            sql = f'COPY "{table.name}" ({columns}) FROM STDIN WITH (FORMAT csv)'
            raw = self.conn.connection.driver_connection
            assert raw is not None, "a connection in use has its driver's connection"
            with _driver_errors(sql), raw.cursor() as cur, cur.copy(sql) as copy:
                for data in encoded.parts:
                    copy.write(data)
            return
        marks = ", ".join("?" for _ in encoded.columns)
        sql = f'INSERT INTO "{table.name}" ({columns}) VALUES ({marks})'
        for rows in encoded.parts:
            self.conn.exec_driver_sql(sql, rows)

    def update(self, table: sa.Table, frame: pl.DataFrame) -> None:
        """Update rows by ``id``; ``frame`` holds ``id`` and the columns to set."""
        if frame.height == 0:
            return
        columns = [c for c in frame.columns if c != "id"]
        mark = "?" if self.dialect == "sqlite" else "%s"
        sets = ", ".join(f'"{c}" = {mark}' for c in columns)
        if self.dialect == "postgresql":
            # COPY wrote text; here psycopg adapts Python values, JSON needs an explicit cast
            casts = {c: "::jsonb" for c in columns if is_json(table.c[c].type)}
            sets = ", ".join(f'"{c}" = %s{casts.get(c, "")}' for c in columns)
        sql = f'UPDATE "{table.name}" SET {sets} WHERE id = {mark}'
        for part in frame.select([*columns, "id"]).iter_slices(BATCH_ROWS):
            data = part if self.dialect == "postgresql" else self._storage(part)
            self.conn.exec_driver_sql(sql, data.rows())


@contextlib.contextmanager
def _driver_errors(statement: str) -> Iterator[None]:
    """psycopg's own errors (raised outside SQLAlchemy, by ``COPY``) as SQLAlchemy's."""
    import psycopg

    try:
        yield
    except psycopg.Error as exc:
        raise sa.exc.DBAPIError.instance(statement, None, exc, psycopg.Error) from exc


__all__ = ["BATCH_ROWS", "BulkWriter", "check_arrow"]
