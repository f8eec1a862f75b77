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
from decimal import Decimal, InvalidOperation
from enum import Enum, StrEnum
from typing import Any, NoReturn

import sqlalchemy as sa
from sqlalchemy.orm import Session

from rapport.errors import Conflict, NotFound, RapportError, ValidationFailed
from rapport.store import rules
from rapport.store.paging import SortKey, beyond
from rapport.store.rules import AUTO_COLUMNS, ColumnRule, Kind, column_rules

Row = dict[str, Any]

#: PostgreSQL's detail of key violations: ``Key (a, b)=(1, 2) already exists.``
_PG_KEY_DETAIL = re.compile(r"^Key \((?P<columns>.+?)\)=\((?P<values>.*)\) (?:already|is) ")
#: SQLite's constraint messages: ``UNIQUE constraint failed: t.a, t.b``.
_SQLITE_CONSTRAINT = re.compile(
    r"^(?P<what>UNIQUE|NOT NULL|CHECK|FOREIGN KEY) constraint failed(?:: (?P<target>.+))?$"
)


class UpsertOutcome(StrEnum):
    INSERTED = "inserted"
    UPDATED = "updated"
    UNCHANGED = "unchanged"


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


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
        #: The rules of each column (:mod:`rapport.store.rules`), by name.
        self.rules = column_rules(table)
        self.has_timestamps = "created_at" in table.c and "updated_at" in table.c
        self.references: dict[str, sa.Table] = {
            fk.parent.name: fk.column.table for fk in table.foreign_keys
        }

    # --- validation ----------------------------------------------------------------------

    def _fail(self, field: str, value: Any, problem: str, hint: str | None = None) -> NoReturn:
        # ``problem`` and ``hint`` are texts of the column rules: rapport.i18n.errors shows
        # them in Chinese (TEXTS) under zh_CN
        raise ValidationFailed(
            "{table}.{field} = {value!r}: {problem}",
            table=self.table.name,
            field=field,
            value=value,
            hint=None if hint is None else "{advice}",
            key="value_refused",
            params={
                "table": self.table.name,
                "field": field,
                "value": value,
                "problem": problem,
                "advice": hint,
            },
        )

    def _coerce(self, rule: ColumnRule, value: Any) -> Any:
        name = rule.name
        kind = rule.kind
        if kind is Kind.ENUM:
            raw = value.value if isinstance(value, Enum) else value
            if raw not in (rule.enum or ()):
                self._fail(name, raw, rules.UNKNOWN_VALUE, rule.enum_hint())
            return raw
        if kind is Kind.DATETIME:
            if not isinstance(value, dt.datetime):
                self._fail(name, value, "expected a date and time")
            if value.tzinfo is None:
                self._fail(name, value, "time without a time zone", "attach a zone")
            return value.astimezone(dt.UTC)
        if kind is Kind.DATE:
            if isinstance(value, dt.datetime) or not isinstance(value, dt.date):
                self._fail(name, value, "expected a date")
            return value
        if kind is Kind.BOOL:
            if not isinstance(value, bool):
                self._fail(name, value, "expected true or false")
            return value
        if kind is Kind.AMOUNT:
            return self._amount(rule, value)
        if kind is Kind.FLOAT:
            if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
                self._fail(name, value, "expected a number")
            try:
                number = float(value)
            except (OverflowError, ValueError):
                self._fail(name, value, rules.NOT_FINITE)
            if not math.isfinite(number):
                self._fail(name, value, rules.NOT_FINITE)
            return number
        if kind is Kind.INTEGER:
            if isinstance(value, bool) or not isinstance(value, int):
                self._fail(name, value, "expected a whole number")
            low, high = rule.integer_range
            if not low <= value <= high:
                self._fail(name, value, rule.integer_problem(), rule.integer_hint())
            return value
        if kind is Kind.TEXT:
            if not isinstance(value, str):
                self._fail(name, value, "expected text")
            if rule.max_length is not None and len(value) > rule.max_length:
                self._fail(name, value, rule.length_problem())
            return value
        return value  # JSON documents

    def _amount(self, rule: ColumnRule, value: Any) -> Decimal:
        """An exact amount that fits ``NUMERIC(precision, scale)``; never rounded."""
        name = rule.name
        try:
            if isinstance(value, bool):
                raise InvalidOperation
            number = Decimal(str(value))
        except (InvalidOperation, ValueError):
            self._fail(name, value, "expected an amount")
        if not number.is_finite():
            self._fail(name, value, rules.FINITE_AMOUNT)
        limit = rule.amount_limit
        if limit is not None and abs(number) >= limit:
            self._fail(name, value, rule.amount_problem(), rule.amount_hint())
        if rule.scale is None:
            return number
        try:
            exact = number.quantize(Decimal(1).scaleb(-rule.scale))
        except InvalidOperation:
            self._fail(name, value, "too large for an amount")
        if exact != number:
            self._fail(name, value, rule.scale_problem(), rule.scale_hint())
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
            rule = self.rules[name]
            if value is None:
                if rule.required:
                    self._fail(name, None, rules.REQUIRED)
                clean[name] = None
                continue
            value = self._coerce(rule, value)
            if rule.bounds is not None and (problem := rule.bounds.violated_by(value)):
                self._fail(name, value, problem)
            clean[name] = value
        if not partial:
            for rule in self.rules.values():
                if (
                    rule.required
                    and rule.name not in clean
                    and rule.name not in AUTO_COLUMNS
                    and rule.server_default is None
                ):
                    self._fail(rule.name, None, rules.REQUIRED)
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
            value = self._coerce(self.rules[name], value)
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
        return Conflict(
            "{table}.{where}: already exists"
            if value is None
            else "{table}.{where} = {value!r}: already exists",
            table=self.table.name,
            field=field,
            value=value,
            hint=(
                "{where} must be unique in {table}"
                if len(fields) == 1
                else "the combination {where} must be unique in {table}"
            ),
            key="value_duplicate_unnamed" if value is None else "value_duplicate",
            params={"table": self.table.name, "where": where, "value": value},
            hint_key="unique.hint" if len(fields) == 1 else "unique_together.hint",
        )

    def _translate_postgres(
        self, exc: sa.exc.DBAPIError, values: Mapping[str, Any] | None
    ) -> RapportError | None:
        orig = exc.orig
        diag = orig.diag  # type: ignore[union-attr]
        sqlstate = getattr(orig, "sqlstate", None) or ""
        message = diag.message_primary or str(orig).splitlines()[0]
        if sqlstate == "P0001":  # RAISE EXCEPTION in a trigger: a rule of the table
            return Conflict(
                "{rule}",
                table=self.table.name,
                hint=None if diag.message_hint is None else "{advice}",
                key="db_rule",
                params={"rule": message, "advice": diag.message_hint},
            )
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
                "{table}: duplicate value ({detail})",
                table=self.table.name,
                field=field,
                key="duplicate_detail",
                params={"table": self.table.name, "detail": detail or message},
            )
        if sqlstate == "23502" and diag.column_name:
            return ValidationFailed(
                "{table}.{field} = None: is required",
                table=self.table.name,
                field=diag.column_name,
                key="value_missing",
                params={"table": self.table.name, "field": diag.column_name},
            )
        return ValidationFailed(
            "{table}: {message}",
            table=self.table.name,
            field=field,
            value=value,
            key=(
                "db_foreign_key"
                if sqlstate == "23503"
                else "db_check"
                if sqlstate == "23514"
                else "db_not_null"
                if sqlstate == "23502"
                else "db_refused"
            ),
            params={"table": self.table.name, "message": message},
        )

    def _translate_sqlite(
        self, exc: sa.exc.DBAPIError, values: Mapping[str, Any] | None
    ) -> RapportError:
        orig = exc.orig
        message = str(orig).splitlines()[0] if orig is not None else str(exc)
        kind = getattr(orig, "sqlite_errorname", "") or ""
        if kind == "SQLITE_CONSTRAINT_TRIGGER":  # RAISE(ABORT, ...) in a trigger
            return Conflict(
                "{rule}", table=self.table.name, key="db_rule", params={"rule": message}
            )
        if m := _SQLITE_CONSTRAINT.match(message):
            what, target = m["what"], m["target"] or ""
            fields = [c.strip().rpartition(".")[2] for c in target.split(",") if c.strip()]
            if what == "UNIQUE" and fields and not target.startswith("index "):
                return self._duplicate(fields, self._written_value(exc, fields, values))
            if what == "NOT NULL" and fields:
                return ValidationFailed(
                    "{table}.{field} = None: is required",
                    table=self.table.name,
                    field=fields[0],
                    key="value_missing",
                    params={"table": self.table.name, "field": fields[0]},
                )
            if what == "UNIQUE":
                return Conflict(
                    "{table}: {message}",
                    table=self.table.name,
                    key="db_unique",
                    params={"table": self.table.name, "message": message},
                )
            return ValidationFailed(
                "{table}: {message}",
                table=self.table.name,
                field=", ".join(fields) or None,
                key=(
                    "db_check"
                    if what == "CHECK"
                    else "db_foreign_key"
                    if what == "FOREIGN KEY"
                    else "db_not_null"
                ),
                params={"table": self.table.name, "message": message},
            )
        return ValidationFailed(
            "{table}: {message}",
            table=self.table.name,
            key="db_refused",
            params={"table": self.table.name, "message": message},
        )

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
        rule = self.rules["id"]
        row = None
        if (
            rule.kind is not Kind.INTEGER
            or not isinstance(id, int)
            or rule.integer_range[0] <= id <= rule.integer_range[1]
        ):  # no id beyond the column's range
            stmt = self._visible(
                sa.select(self.table).where(self.table.c.id == id), include_deleted
            )
            row = session.execute(stmt).mappings().first()
        if row is None:
            raise self.not_found(id)
        return dict(row)

    def not_found(self, id: Any, *, field: str = "id") -> NotFound:
        """The :class:`NotFound` of a missing ``id`` ("no order with id 7"), the one
        :meth:`get` raises. A caller that hides a row (outside the user's scope, beyond the
        column's range) raises this one too, so that hidden and missing rows look alike;
        ``field`` names the field the id came in when it is not the row's own ``id``."""
        return NotFound(
            "no {entity} with id {id}",
            table=self.table.name,
            field=field,
            value=id,
            key="record_not_found",
            params={"entity": self.entity, "id": id},
        )

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
                "no {entity} with {key_name} {key!r}",
                table=self.table.name,
                field=self.key,
                value=key,
                key="record_not_found_by_key",
                params={"entity": self.entity, "key_name": self.key, "key": key},
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
        """Rows in primary-key order; page with ``after_id`` = the last id seen (stable: a
        keyset page of :mod:`rapport.store.paging`)."""
        if limit < 1:
            self._fail("limit", limit, "must be at least 1")
        stmt = self._filtered(self._visible(sa.select(self.table), include_deleted), filters)
        order = [SortKey(self.table.c.id)]
        if after_id is not None:
            stmt = stmt.where(beyond(order, (after_id,)))
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
                    "{table}.{where} = {value!r}: already exists",
                    table=self.table.name,
                    field=self.key,
                    value=key_value,
                    hint="update it, or upsert instead of create",
                    key="value_duplicate",
                    params={"table": self.table.name, "where": self.key, "value": key_value},
                    hint_key="value_exists.hint",
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
        return {k: v for k, v in clean.items() if k not in AUTO_COLUMNS and existing.get(k) != v}

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
                    "{table}.{where} = {value!r}: already exists",
                    table=self.table.name,
                    field=self.key,
                    value=changes[self.key],
                    key="value_duplicate",
                    params={
                        "table": self.table.name,
                        "where": self.key,
                        "value": changes[self.key],
                    },
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
