"""The column rules of the canonical tables, as data: one :class:`ColumnRule` per column.

Read from the tables of :mod:`rapport.store.schema` — column types and lengths, nullability,
enumerations, the precision and scale of amounts, the width of integer types and the simple
range CHECK constraints (``x >= 0``, ``x > 0``, ``x BETWEEN 1 AND 5``) — so that each rule
is written once, in the schema. Three checkers apply them: one row at a time
(:meth:`rapport.store.repository.Repository.validate`), a whole import batch in Polars
(:mod:`rapport.ingest.validate`) and a whole score snapshot in Arrow
(:func:`rapport.store.bulk.check_arrow`). The problem texts are here too, so a value is
refused with the same words whichever way it arrives.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from functools import cache

import sqlalchemy as sa

from rapport.store.types import UTCDateTime

_CHECK_GE = re.compile(r"^(\w+) (>=|>) (-?\d+(?:\.\d+)?)$")
_CHECK_BETWEEN = re.compile(r"^(\w+) BETWEEN (-?\d+(?:\.\d+)?) AND (-?\d+(?:\.\d+)?)$")

#: Columns the store fills itself on insert: never required of the caller.
AUTO_COLUMNS = frozenset({"id", "created_at", "updated_at"})

# --- problem texts, shared by every checker --------------------------------------------------

REQUIRED = "is required"
UNKNOWN_VALUE = "unknown value"
NOT_FINITE = "expected a finite number"
FINITE_AMOUNT = "expected a finite amount"


class Kind(StrEnum):
    """What a column holds, as the checkers see it."""

    ENUM = "enum"
    DATETIME = "datetime"  # UTC, time-zone aware
    DATE = "date"
    BOOL = "bool"
    AMOUNT = "amount"  # exact NUMERIC(precision, scale)
    FLOAT = "float"
    INTEGER = "integer"
    TEXT = "text"
    JSON = "json"


@dataclass(frozen=True)
class Bounds:
    """The range a CHECK constraint allows: ``low`` (inclusive unless not) to ``high``."""

    low: float | None = None
    low_inclusive: bool = True
    high: float | None = None

    def violated_by(self, value: float | Decimal) -> str | None:
        """The problem of ``value`` (``must be >= 0`` …), or ``None`` when it is in range."""
        if self.low is not None:
            below = value < self.low if self.low_inclusive else value <= self.low
            if below:
                return self.low_problem
        if self.high is not None and value > self.high:
            return self.high_problem
        return None

    @property
    def low_problem(self) -> str:
        return f"must be {'>=' if self.low_inclusive else '>'} {self.low:g}"

    @property
    def high_problem(self) -> str:
        return f"must be <= {self.high:g}"


@dataclass(frozen=True)
class ColumnRule:
    """Everything a value of one column must satisfy before the database sees it.

    ``required``: the column refuses NULL (the primary key excepted: the store numbers
    rows). ``enum``: the allowed values, ``enum_class`` the domain enumeration they come
    from. ``max_length``: characters of a text. ``integer_range``: the smallest and largest
    value of the integer type (``integer_bits`` wide). ``precision`` and ``scale``: of an
    exact amount. ``bounds``: of a range CHECK constraint. ``server_default``: what the
    store puts in the column when a row leaves it out.
    """

    table: str
    name: str
    kind: Kind
    nullable: bool
    primary_key: bool
    required: bool
    server_default: str | None = None
    enum: tuple[str, ...] | None = None
    enum_class: type[StrEnum] | None = None
    max_length: int | None = None
    integer_bits: int | None = None
    precision: int | None = None
    scale: int | None = None
    bounds: Bounds | None = None

    @property
    def integer_range(self) -> tuple[int, int]:
        """``(smallest, largest)`` value of the integer type."""
        assert self.integer_bits is not None, f"{self.table}.{self.name} is not an integer"
        half = 2 ** (self.integer_bits - 1)
        return -half, half - 1

    @property
    def amount_limit(self) -> Decimal | None:
        """Amounts must be smaller than this in absolute value (``None``: no limit)."""
        if self.precision is None:
            return None
        return Decimal(10) ** (self.precision - (self.scale or 0))

    # problem texts and hints of this column's rules

    def enum_hint(self) -> str:
        return f"use one of: {', '.join(self.enum or ())}"

    def length_problem(self) -> str:
        return f"longer than {self.max_length} characters"

    def integer_problem(self) -> str:
        return f"outside the range of a {self.integer_bits}-bit integer"

    def integer_hint(self) -> str:
        low, high = self.integer_range
        return f"use a whole number from {low} to {high}"

    def amount_problem(self) -> str:
        return f"too large for NUMERIC({self.precision},{self.scale or 0})"

    def amount_hint(self) -> str:
        return f"amounts must be smaller than {self.amount_limit:,} in absolute value"

    def scale_problem(self) -> str:
        return f"more than {self.scale} decimals"

    def scale_hint(self) -> str:
        return f"round the amount to {self.scale} decimals first"


def integer_bits(ctype: sa.types.TypeEngine) -> int:
    """Width of an integer column type: 16 (SMALLINT), 64 (BIGINT) or 32 (INTEGER)."""
    if isinstance(ctype, sa.SmallInteger):
        return 16
    if isinstance(ctype, sa.BigInteger):
        return 64
    return 32


def check_bounds(table: sa.Table) -> dict[str, Bounds]:
    """The ranges of ``table``'s simple CHECK constraints, by column."""
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


def _kind(ctype: sa.types.TypeEngine) -> Kind:
    if isinstance(ctype, sa.Enum):
        return Kind.ENUM
    if isinstance(ctype, UTCDateTime):
        return Kind.DATETIME
    if isinstance(ctype, sa.Date):
        return Kind.DATE
    if isinstance(ctype, sa.Boolean):
        return Kind.BOOL
    if isinstance(ctype, sa.Float):
        return Kind.FLOAT
    if isinstance(ctype, sa.Numeric):
        return Kind.AMOUNT if ctype.asdecimal else Kind.FLOAT
    if isinstance(ctype, sa.Integer):
        return Kind.INTEGER
    if isinstance(ctype, sa.String):
        return Kind.TEXT
    return Kind.JSON


def _enum_class(column: sa.Column) -> type[StrEnum] | None:
    """The domain enumeration of an enumeration column (``None`` for other columns)."""
    ctype = column.type
    if not isinstance(ctype, sa.Enum) or ctype.enum_class is None:
        return None
    if not issubclass(ctype.enum_class, StrEnum):  # import spellings map to string values
        raise TypeError(
            f"{column.table.name}.{column.name}: an enumeration column takes a StrEnum "
            "(rapport.store.types.enum_type)"
        )
    return ctype.enum_class


def _rule(column: sa.Column, bounds: Bounds | None) -> ColumnRule:
    ctype = column.type
    kind = _kind(ctype)
    default = column.server_default
    amount = ctype if isinstance(ctype, sa.Numeric) and kind is Kind.AMOUNT else None
    return ColumnRule(
        table=column.table.name,
        name=column.name,
        kind=kind,
        nullable=bool(column.nullable),
        primary_key=column.primary_key,
        required=not column.nullable and not column.primary_key,
        server_default=str(default.arg) if isinstance(default, sa.DefaultClause) else None,
        enum=tuple(ctype.enums) if isinstance(ctype, sa.Enum) else None,
        enum_class=_enum_class(column),
        max_length=getattr(ctype, "length", None) if kind is Kind.TEXT else None,
        integer_bits=integer_bits(ctype) if kind is Kind.INTEGER else None,
        precision=None if amount is None else amount.precision,
        scale=None if amount is None else amount.scale,
        bounds=bounds,
    )


@cache
def column_rules(table: sa.Table) -> dict[str, ColumnRule]:
    """The rules of every column of ``table``, in column order."""
    bounds = check_bounds(table)
    return {c.name: _rule(c, bounds.get(c.name)) for c in table.c}


def rule(table: sa.Table, column: str) -> ColumnRule:
    """The rules of one column of ``table``."""
    return column_rules(table)[column]


__all__ = [
    "AUTO_COLUMNS",
    "Bounds",
    "ColumnRule",
    "Kind",
    "check_bounds",
    "column_rules",
    "integer_bits",
    "rule",
]
