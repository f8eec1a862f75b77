"""Column types shared by the canonical schema, identical on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.types import TypeDecorator

#: Money: 14 digits with cents, stored exactly (NUMERIC on both databases).
MONEY = sa.Numeric(14, 2, asdecimal=True)

#: JSON documents: JSONB on PostgreSQL, JSON text on SQLite.
JSONDoc = sa.JSON(none_as_null=True).with_variant(postgresql.JSONB(none_as_null=True), "postgresql")


class UTCDateTime(TypeDecorator[dt.datetime]):
    """A timestamp stored in UTC and returned as an aware UTC ``datetime``.

    Aware values are converted to UTC on the way in; naive values are refused, because a
    naive time has no meaning without a zone (importers attach the configured zone first).
    PostgreSQL stores ``timestamptz``; SQLite stores ISO text without offset, always UTC.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    @property
    def python_type(self) -> type[dt.datetime]:
        """What a value is in Python (a keyset cursor reads its key back as one)."""
        return dt.datetime

    def process_bind_param(self, value: Any, dialect: sa.Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if not isinstance(value, dt.datetime):
            raise TypeError(f"expected a datetime, got {type(value).__name__}")
        if value.tzinfo is None:
            raise ValueError(
                f"naive datetime {value.isoformat()} refused: attach a time zone first"
            )
        utc = value.astimezone(dt.UTC)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: Any, dialect: sa.Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


def is_json(ctype: sa.types.TypeEngine[Any]) -> bool:
    """Whether a column type holds JSON documents: ``JSONDoc`` or a type built on it
    (``rapport.store.components.ComponentsDoc``)."""
    impl = getattr(ctype, "impl_instance", None) if isinstance(ctype, TypeDecorator) else None
    return isinstance(ctype, sa.JSON) or isinstance(impl, sa.JSON)


def enum_type(enum: type[StrEnum], name: str) -> sa.Enum:
    """A portable enum: VARCHAR plus a named CHECK constraint on both databases."""
    return sa.Enum(
        enum,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=max(len(m.value) for m in enum) + 8,
        values_callable=lambda e: [m.value for m in e],
        validate_strings=True,
    )


def money(value: Any) -> Decimal | None:
    """Coerce a number to a cent-exact ``Decimal`` (``None`` stays ``None``)."""
    if value is None:
        return None
    return Decimal(str(value)).quantize(Decimal("0.01"))
