"""Keyword-only create/get/update/list/upsert over one canonical table.

Each aggregate module (``customers``, ``orders`` …) owns one :class:`Repository` and adds
its own behaviour on top. Values are validated against the table's own metadata — column
types and lengths, the precision and scale of amounts (never rounded: an amount with more
decimals than its column keeps is refused), the range of integer types, finite numbers,
enumerations, required columns, the simple range CHECK constraints and foreign keys — so
that a bad value raises a domain error naming the table, the field and the value on SQLite
and PostgreSQL alike, before the database would refuse it. Every write runs in a
savepoint: when it fails, nothing of it remains, the caller's transaction goes on, and a
database error about the data becomes a domain error too.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import Enum, StrEnum
from typing import Any, NoReturn

import sqlalchemy as sa
from sqlalchemy.orm import Session

from rapport.errors import Conflict, NotFound, RapportError, ValidationFailed
from rapport.store.types import UTCDateTime

Row = dict[str, Any]

_CHECK_GE = re.compile(r"^(\w+) (>=|>) (-?\d+(?:\.\d+)?)$")
_CHECK_BETWEEN = re.compile(r"^(\w+) BETWEEN (-?\d+(?:\.\d+)?) AND (-?\d+(?:\.\d+)?)$")
#: PostgreSQL's detail of key violations: ``Key (a, b)=(1, 2) already exists.``
_PG_KEY_DETAIL = re.compile(r"^Key \((?P<columns>.+?)\)=\((?P<values>.*)\) (?:already|is) ")
#: SQLite's constraint messages: ``UNIQUE constraint failed: t.a, t.b``.
_SQLITE_CONSTRAINT = re.compile(
    r"^(?P<what>UNIQUE|NOT NULL|CHECK|FOREIGN KEY) constraint failed(?:: (?P<target>.+))?$"
)
_AUTO_COLUMNS = frozenset({"id", "created_at", "updated_at"})


class UpsertOutcome(StrEnum):
    INSERTED = "inserted"
    UPDATED = "updated"
    UNCHANGED = "unchanged"


@dataclass(frozen=True)
class Bounds:
    low: float | None = None
    low_inclusive: bool = True
    high: float | None = None

    def violated_by(self, value: float | Decimal) -> str | None:
        if self.low is not None:
            below = value < self.low if self.low_inclusive else value <= self.low
            if below:
                op = ">=" if self.low_inclusive else ">"
                return f"must be {op} {self.low:g}"
        if self.high is not None and value > self.high:
            return f"must be <= {self.high:g}"
        return None


def _integer_bits(ctype: sa.Integer) -> int:
    """Width of an integer column type: 16 (SMALLINT), 64 (BIGINT) or 32 (INTEGER)."""
    if isinstance(ctype, sa.SmallInteger):
        return 16
    if isinstance(ctype, sa.BigInteger):
        return 64
    return 32


def _integer_range(ctype: sa.Integer) -> tuple[int, int]:
    bits = _integer_bits(ctype)
    return -(2 ** (bits - 1)), 2 ** (bits - 1) - 1


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _column_bounds(table: sa.Table) -> dict[str, Bounds]:
    bounds: dict[str, Bounds] = {}
    for constraint in table.constraints:
        if not isinstance(constraint, sa.CheckConstraint):
            continue
        text = str(constraint.sqltext).strip()
        if m := _CHECK_GE.match(text):
            bounds[m[1]] = Bounds(low=float(m[3]), low_inclusive=m[2] == ">=")
        elif m := _CHECK_BETWEEN.match(text):
            bounds[m[1]] = Bounds(low=float(m[2]), high=float(m[3]))
    return bounds


def now_if_missing(values: dict[str, Any], *columns: str) -> None:
    stamp = utcnow()
    for column in columns:
        if values.get(column) is None:
            values[column] = stamp


class Repository:
    """Validated, keyword-only access to one table.

    Parameters
    ----------
    table
        The canonical table.
    entity
        The singular noun used in messages ("customer").
    key
        The natural key column used by :meth:`upsert` and :meth:`find` (``external_id``,
        ``sku``, ``username``), or ``None`` when the table has none.
    soft_delete
        Whether rows are hidden by ``deleted_at`` instead of removed.
    """

    def __init__(
        self,
        table: sa.Table,
        *,
        entity: str,
        key: str | None = "external_id",
        soft_delete: bool = False,
    ) -> None:
        self.table = table
        self.entity = entity
        self.key = key
        self.soft_delete = soft_delete
        self.bounds = _column_bounds(table)
        self.has_timestamps = "created_at" in table.c and "updated_at" in table.c
        self.references: dict[str, sa.Table] = {
            fk.parent.name: fk.column.table for fk in table.foreign_keys
        }

    # --- validation ----------------------------------------------------------------------

    def _fail(self, field: str, value: Any, problem: str, hint: str | None = None) -> NoReturn:
        raise ValidationFailed(
            f"{self.table.name}.{field} = {value!r}: {problem}",
            table=self.table.name,
            field=field,
            value=value,
            hint=hint,
        )

    def _coerce(self, column: sa.Column, value: Any) -> Any:
        name = column.name
        ctype = column.type
        if isinstance(ctype, sa.Enum):
            raw = value.value if isinstance(value, Enum) else value
            if raw not in ctype.enums:
                self._fail(name, raw, "unknown value", f"use one of: {', '.join(ctype.enums)}")
            return raw
        if isinstance(ctype, UTCDateTime):
            if not isinstance(value, dt.datetime):
                self._fail(name, value, "expected a date and time")
            if value.tzinfo is None:
                self._fail(name, value, "time without a time zone", "attach a zone")
            return value.astimezone(dt.UTC)
        if isinstance(ctype, sa.Date):
            if isinstance(value, dt.datetime) or not isinstance(value, dt.date):
                self._fail(name, value, "expected a date")
            return value
        if isinstance(ctype, sa.Boolean):
            if not isinstance(value, bool):
                self._fail(name, value, "expected true or false")
            return value
        if isinstance(ctype, sa.Numeric) and ctype.asdecimal and not isinstance(ctype, sa.Float):
            return self._amount(name, ctype, value)
        if isinstance(ctype, sa.Float):
            if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
                self._fail(name, value, "expected a number")
            try:
                number = float(value)
            except (OverflowError, ValueError):
                self._fail(name, value, "expected a finite number")
            if not math.isfinite(number):
                self._fail(name, value, "expected a finite number")
            return number
        if isinstance(ctype, sa.Integer):
            if isinstance(value, bool) or not isinstance(value, int):
                self._fail(name, value, "expected a whole number")
            low, high = _integer_range(ctype)
            if not low <= value <= high:
                self._fail(
                    name,
                    value,
                    f"outside the range of a {_integer_bits(ctype)}-bit integer",
                    f"use a whole number from {low} to {high}",
                )
            return value
        if isinstance(ctype, sa.String):
            if not isinstance(value, str):
                self._fail(name, value, "expected text")
            if ctype.length is not None and len(value) > ctype.length:
                self._fail(name, value, f"longer than {ctype.length} characters")
            return value
        return value  # JSON documents

    def _amount(self, name: str, ctype: sa.Numeric, value: Any) -> Decimal:
        """An exact amount that fits ``NUMERIC(precision, scale)``; never rounded."""
        try:
            if isinstance(value, bool):
                raise InvalidOperation
            number = Decimal(str(value))
        except (InvalidOperation, ValueError):
            self._fail(name, value, "expected an amount")
        if not number.is_finite():
            self._fail(name, value, "expected a finite amount")
        precision, scale = ctype.precision, ctype.scale or 0
        if precision is not None:
            limit = Decimal(10) ** (precision - scale)
            if abs(number) >= limit:
                self._fail(
                    name,
                    value,
                    f"too large for NUMERIC({precision},{scale})",
                    f"amounts must be smaller than {limit:,} in absolute value",
                )
        if ctype.scale is None:
            return number
        try:
            exact = number.quantize(Decimal(1).scaleb(-scale))
        except InvalidOperation:
            self._fail(name, value, "too large for an amount")
        if exact != number:
            self._fail(
                name,
                value,
                f"more than {scale} decimals",
                f"round the amount to {scale} decimals first",
            )
        return exact

    def validate(self, values: Mapping[str, Any], *, partial: bool = False) -> Row:
        """Check and coerce ``values``; ``partial`` for updates (no required check)."""
        unknown = sorted(set(values) - set(self.table.c.keys()))
        if unknown:
            self._fail(
                unknown[0],
                values[unknown[0]],
                "no such field",
                f"fields of {self.table.name}: {', '.join(self.table.c.keys())}",
            )
        clean: Row = {}
        for name, value in values.items():
            column = self.table.c[name]
            if value is None:
                if not column.nullable and not column.primary_key:
                    self._fail(name, None, "is required")
                clean[name] = None
                continue
            value = self._coerce(column, value)
            bounds = self.bounds.get(name)
            if bounds is not None and (problem := bounds.violated_by(value)):
                self._fail(name, value, problem)
            clean[name] = value
        if not partial:
            for column in self.table.c:
                if (
                    not column.nullable
                    and column.name not in clean
                    and column.name not in _AUTO_COLUMNS
                    and column.server_default is None
                    and not column.primary_key
                ):
                    self._fail(column.name, None, "is required")
        return clean

    def check_references(self, session: Session, values: Mapping[str, Any]) -> None:
        """Raise when a foreign key in ``values`` names a missing row.

        Each key is validated against its column type first, so the lookup cannot fail in
        the database; call it inside :meth:`writing` all the same.
        """
        for name, parent in self.references.items():
            value = values.get(name)
            if value is None:
                continue
            value = self._coerce(self.table.c[name], value)
            found = session.execute(
                sa.select(sa.literal(1)).select_from(parent).where(parent.c.id == value)
            ).first()
            if found is None:
                self._fail(
                    name,
                    value,
                    f"no {parent.name} row with id {value}",
                    f"create the {parent.name} row first",
                )

    # --- errors from the database ---------------------------------------------------------

    def translate(
        self, exc: sa.exc.DBAPIError, values: Mapping[str, Any] | None = None
    ) -> RapportError | None:
        """Turn a database error about the written data into a domain error.

        Covers integrity errors (unique, foreign key, not null, check), data errors and
        exceptions raised by triggers (the ledger's append-only guard) on SQLite and
        PostgreSQL alike. ``values`` are the written values, used to name the offending
        value when the statement's parameters do not (SQLite's are positional). Returns
        ``None`` for errors that are not about the data (connection lost, database locked,
        a wrong statement): those stay as they are.
        """
        orig = exc.orig
        if getattr(orig, "diag", None) is not None:  # psycopg
            return self._translate_postgres(exc, values)
        if isinstance(exc, sa.exc.IntegrityError | sa.exc.DataError):
            return self._translate_sqlite(exc, values)
        return None

    @staticmethod
    def _written_value(
        exc: sa.exc.DBAPIError, fields: list[str], values: Mapping[str, Any] | None
    ) -> Any:
        """The value(s) of ``fields`` in the failed write, if known."""
        for source in (exc.params, values):
            if isinstance(source, Mapping) and all(f in source for f in fields):
                found = tuple(source[f] for f in fields)
                return found[0] if len(found) == 1 else found
        return None

    def _duplicate(self, fields: list[str], value: Any) -> Conflict:
        field = ", ".join(fields)
        where = fields[0] if len(fields) == 1 else f"({field})"
        shown = "" if value is None else f" = {value!r}"
        return Conflict(
            f"{self.table.name}.{where}{shown}: already exists",
            table=self.table.name,
            field=field,
            value=value,
            hint=(
                f"{where} must be unique in {self.table.name}"
                if len(fields) == 1
                else f"the combination {where} must be unique in {self.table.name}"
            ),
        )

    def _translate_postgres(
        self, exc: sa.exc.DBAPIError, values: Mapping[str, Any] | None
    ) -> RapportError | None:
        orig = exc.orig
        diag = orig.diag  # type: ignore[union-attr]
        sqlstate = getattr(orig, "sqlstate", None) or ""
        message = diag.message_primary or str(orig).splitlines()[0]
        if sqlstate == "P0001":  # RAISE EXCEPTION in a trigger: a rule of the table
            return Conflict(message, table=self.table.name, hint=diag.message_hint)
        if not sqlstate.startswith(("22", "23")):
            return None
        field: str | None = diag.column_name
        value: Any = None
        detail = diag.message_detail or ""
        if m := _PG_KEY_DETAIL.match(detail):
            fields = [f.strip().strip('"') for f in m["columns"].split(",")]
            field = field or ", ".join(fields)
            value = self._written_value(exc, fields, values)
            if value is None:
                value = m["values"]
            if sqlstate == "23505":
                return self._duplicate(fields, value)
        field = field or diag.constraint_name
        if sqlstate == "23505":
            return Conflict(
                f"{self.table.name}: duplicate value ({detail or message})",
                table=self.table.name,
                field=field,
            )
        if sqlstate == "23502" and diag.column_name:
            return ValidationFailed(
                f"{self.table.name}.{diag.column_name} = None: is required",
                table=self.table.name,
                field=diag.column_name,
            )
        return ValidationFailed(
            f"{self.table.name}: {message}", table=self.table.name, field=field, value=value
        )

    def _translate_sqlite(
        self, exc: sa.exc.DBAPIError, values: Mapping[str, Any] | None
    ) -> RapportError:
        orig = exc.orig
        message = str(orig).splitlines()[0] if orig is not None else str(exc)
        kind = getattr(orig, "sqlite_errorname", "") or ""
        if kind == "SQLITE_CONSTRAINT_TRIGGER":  # RAISE(ABORT, ...) in a trigger
            return Conflict(message, table=self.table.name)
        if m := _SQLITE_CONSTRAINT.match(message):
            what, target = m["what"], m["target"] or ""
            fields = [c.strip().rpartition(".")[2] for c in target.split(",") if c.strip()]
            if what == "UNIQUE" and fields and not target.startswith("index "):
                return self._duplicate(fields, self._written_value(exc, fields, values))
            if what == "NOT NULL" and fields:
                return ValidationFailed(
                    f"{self.table.name}.{fields[0]} = None: is required",
                    table=self.table.name,
                    field=fields[0],
                )
            if what == "UNIQUE":
                return Conflict(f"{self.table.name}: {message}", table=self.table.name)
            return ValidationFailed(
                f"{self.table.name}: {message}",
                table=self.table.name,
                field=", ".join(fields) or None,
            )
        return ValidationFailed(f"{self.table.name}: {message}", table=self.table.name)

    @contextmanager
    def writing(self, session: Session, values: Mapping[str, Any] | None = None) -> Iterator[None]:
        """A savepoint around one logical write: all of it lands, or none of it.

        A database error about the written data becomes a domain error (see
        :meth:`translate`, which gets ``values``); the savepoint is rolled back, so the
        caller's transaction goes on.
        """
        try:
            with session.begin_nested():
                yield
        except sa.exc.DBAPIError as exc:
            error = self.translate(exc, values)
            if error is None:
                raise
            raise error from exc

    # --- reads ---------------------------------------------------------------------------

    def _visible(self, stmt: sa.Select, include_deleted: bool) -> sa.Select:
        if self.soft_delete and not include_deleted:
            stmt = stmt.where(self.table.c.deleted_at.is_(None))
        return stmt

    def get(self, *, session: Session, id: int, include_deleted: bool = False) -> Row:
        """The row with primary key ``id``; :class:`NotFound` otherwise."""
        low, high = _integer_range(self.table.c.id.type)
        row = None
        if not isinstance(id, int) or low <= id <= high:  # no id beyond the column's range
            stmt = self._visible(
                sa.select(self.table).where(self.table.c.id == id), include_deleted
            )
            row = session.execute(stmt).mappings().first()
        if row is None:
            raise NotFound(
                f"no {self.entity} with id {id}", table=self.table.name, field="id", value=id
            )
        return dict(row)

    def find(self, *, session: Session, key: Any, include_deleted: bool = True) -> Row | None:
        """The row whose natural key equals ``key``, or ``None``."""
        assert self.key is not None, f"{self.table.name} has no natural key"
        stmt = self._visible(
            sa.select(self.table).where(self.table.c[self.key] == key), include_deleted
        )
        row = session.execute(stmt).mappings().first()
        return dict(row) if row is not None else None

    def get_by_key(self, *, session: Session, key: Any) -> Row:
        row = self.find(session=session, key=key, include_deleted=False)
        if row is None:
            raise NotFound(
                f"no {self.entity} with {self.key} {key!r}",
                table=self.table.name,
                field=self.key,
                value=key,
            )
        return row

    def _filtered(self, stmt: sa.Select, filters: Mapping[str, Any] | None) -> sa.Select:
        for name, value in (filters or {}).items():
            if name not in self.table.c:
                self._fail(name, value, "no such field to filter on")
            column = self.table.c[name]
            stmt = stmt.where(column.is_(None) if value is None else column == value)
        return stmt

    def list(
        self,
        *,
        session: Session,
        filters: Mapping[str, Any] | None = None,
        after_id: int | None = None,
        limit: int = 100,
        include_deleted: bool = False,
    ) -> list[Row]:
        """Rows in primary-key order; page with ``after_id`` = the last id seen (stable)."""
        if limit < 1:
            self._fail("limit", limit, "must be at least 1")
        stmt = self._filtered(self._visible(sa.select(self.table), include_deleted), filters)
        if after_id is not None:
            stmt = stmt.where(self.table.c.id > after_id)
        stmt = stmt.order_by(self.table.c.id).limit(limit)
        return [dict(r) for r in session.execute(stmt).mappings()]

    def count(
        self,
        *,
        session: Session,
        filters: Mapping[str, Any] | None = None,
        include_deleted: bool = False,
    ) -> int:
        stmt = sa.select(sa.func.count()).select_from(self.table)
        stmt = self._filtered(self._visible(stmt, include_deleted), filters)
        return int(session.execute(stmt).scalar_one())

    # --- writes --------------------------------------------------------------------------

    def _insert(self, session: Session, clean: Row) -> Row:
        if self.has_timestamps:
            now_if_missing(clean, "created_at", "updated_at")
        key_value = clean.get(self.key) if self.key is not None else None
        with self.writing(session, clean):
            self.check_references(session, clean)
            if key_value is not None and self.find(session=session, key=key_value) is not None:
                raise Conflict(
                    f"{self.table.name}.{self.key} = {key_value!r}: already exists",
                    table=self.table.name,
                    field=self.key,
                    value=key_value,
                    hint="update it, or upsert instead of create",
                )
            row = (
                session.execute(sa.insert(self.table).values(**clean).returning(self.table))
                .mappings()
                .one()
            )
        return dict(row)

    def create(self, *, session: Session, values: Mapping[str, Any]) -> Row:
        """Insert one row; returns it with its id."""
        return self._insert(session, self.validate(values))

    def _changes(self, existing: Row, clean: Row) -> Row:
        return {k: v for k, v in clean.items() if k not in _AUTO_COLUMNS and existing.get(k) != v}

    def _apply(self, session: Session, existing: Row, changes: Row) -> Row:
        if self.has_timestamps:
            changes = {**changes, "updated_at": utcnow()}
        with self.writing(session, changes):
            self.check_references(session, changes)
            row = (
                session.execute(
                    sa.update(self.table)
                    .where(self.table.c.id == existing["id"])
                    .values(**changes)
                    .returning(self.table)
                )
                .mappings()
                .one()
            )
        return dict(row)

    def update(self, *, session: Session, id: int, values: Mapping[str, Any]) -> Row:
        """Change the given fields of row ``id`` (others stay); unchanged values write nothing."""
        clean = self.validate(values, partial=True)
        existing = self.get(session=session, id=id)
        changes = self._changes(existing, clean)
        if self.key in changes:
            other = self.find(session=session, key=changes[self.key])
            if other is not None and other["id"] != id:
                raise Conflict(
                    f"{self.table.name}.{self.key} = {changes[self.key]!r}: already exists",
                    table=self.table.name,
                    field=self.key,
                    value=changes[self.key],
                )
        return self._apply(session, existing, changes) if changes else existing

    def upsert(self, *, session: Session, values: Mapping[str, Any]) -> tuple[UpsertOutcome, Row]:
        """Insert by natural key, or update only the fields that differ, or do nothing."""
        if self.key is None:
            raise TypeError(f"{self.table.name} has no natural key to upsert by")
        if values.get(self.key) is None:
            self._fail(self.key, None, "is required to upsert")
        existing = self.find(session=session, key=values[self.key])
        if existing is None:
            return UpsertOutcome.INSERTED, self.create(session=session, values=values)
        clean = self.validate(values, partial=True)
        changes = self._changes(existing, clean)
        if self.soft_delete and existing.get("deleted_at") is not None:
            changes.setdefault("deleted_at", None)
        if not changes:
            return UpsertOutcome.UNCHANGED, existing
        return UpsertOutcome.UPDATED, self._apply(session, existing, changes)

    def delete(self, *, session: Session, id: int) -> None:
        """Remove row ``id`` (soft-deleted tables only set ``deleted_at``)."""
        existing = self.get(session=session, id=id)
        if self.soft_delete:
            self._apply(session, existing, {"deleted_at": utcnow()})
            return
        with self.writing(session):
            session.execute(sa.delete(self.table).where(self.table.c.id == id))
