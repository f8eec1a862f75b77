"""What can be imported: one :class:`EntitySpec` per canonical entity, derived from the schema.

Import files speak the *import format*: the canonical column names of the table, except that
references use the business key of the referenced row (``customer_external_id``,
``product_sku``, ``owner_username`` …) instead of surrogate ids. ``docs/import.md`` lists
every entity's columns; :func:`entity` and :data:`ENTITIES` are the source of that list.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal

import sqlalchemy as sa

from rapport.errors import ValidationFailed
from rapport.store import rules, schema
from rapport.store.rules import ColumnRule
from rapport.store.types import UTCDateTime

Kind = Literal[
    "text", "money", "datetime", "date", "int", "float", "bool", "enum", "phone", "email",
    "json", "tags",
]  # fmt: skip


@dataclass(frozen=True)
class Reference:
    """A foreign key given by the referenced row's business key."""

    table: sa.Table
    key: str  # column of ``table`` holding the business key

    @property
    def label(self) -> str:
        return f"{self.table.name}.{self.key}"


@dataclass(frozen=True)
class FieldSpec:
    """One column of an import file."""

    name: str  # column name in the import format
    column: str  # target column of the table
    kind: Kind
    required: bool
    rule: ColumnRule  # the store's rules of the target column (type, length, range …)
    enum: type[StrEnum] | None = None
    reference: Reference | None = None
    server_default: str | None = None  # what the store puts in a NOT NULL column left empty

    @property
    def max_length(self) -> int | None:
        """Characters a text may have (``None`` for references: their key is checked)."""
        return None if self.reference is not None else self.rule.max_length


@dataclass(frozen=True)
class EntitySpec:
    """How rows of one entity are read, checked and written."""

    name: str
    table: sa.Table
    key: tuple[str, ...]  # import fields identifying a row
    fields: tuple[FieldSpec, ...]
    derive_key: bool = False  # the key may be absent: derive it from ``identity``
    identity: tuple[str, ...] = ()  # import fields that identify a row without a key
    extra_column: str | None = None  # JSON column keeping unknown source columns
    importable_timestamps: tuple[str, ...] = ()
    by_name: dict[str, FieldSpec] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_name", {f.name: f for f in self.fields})

    @property
    def key_columns(self) -> tuple[str, ...]:
        return tuple(self.by_name[k].column for k in self.key)


_u = schema.users.c
_REFS: dict[tuple[str, str], tuple[str, Reference]] = {}


def _ref(table: str, column: str, name: str, target: sa.Table, key: str) -> None:
    _REFS[(table, column)] = (name, Reference(target, key))


for _t in ("orders", "events", "interactions", "survey_responses", "tickets", "loyalty_ledger",
           "campaign_deliveries"):  # fmt: skip
    _ref(_t, "customer_id", "customer_external_id", schema.customers, "external_id")
_ref("customers", "owner_id", "owner_username", schema.users, "username")
_ref("leads", "owner_id", "owner_username", schema.users, "username")
_ref("leads", "converted_customer_id", "converted_customer_external_id", schema.customers,
     "external_id")  # fmt: skip
_ref("order_items", "order_id", "order_external_id", schema.orders, "external_id")
_ref("order_items", "product_id", "product_sku", schema.products, "sku")
_ref("events", "product_id", "product_sku", schema.products, "sku")
_ref("events", "campaign_id", "campaign_external_id", schema.campaigns, "external_id")
_ref("interactions", "staff_id", "staff_username", schema.users, "username")
_ref("survey_responses", "ticket_id", "ticket_external_id", schema.tickets, "external_id")
_ref("survey_responses", "campaign_id", "campaign_external_id", schema.campaigns, "external_id")
_ref("tickets", "assignee_id", "assignee_username", schema.users, "username")
_ref("referrals", "referrer_customer_id", "referrer_external_id", schema.customers, "external_id")
_ref("referrals", "referred_lead_id", "referred_lead_external_id", schema.leads, "external_id")
_ref("referrals", "referred_customer_id", "referred_customer_external_id", schema.customers,
     "external_id")  # fmt: skip
_ref("campaign_deliveries", "campaign_id", "campaign_external_id", schema.campaigns,
     "external_id")  # fmt: skip
_ref("campaign_deliveries", "order_id", "order_external_id", schema.orders, "external_id")
_ref("loyalty_ledger", "created_by", "created_by_username", schema.users, "username")

_SPECIAL_KIND: dict[str, Kind] = {"phone": "phone", "email": "email", "tags": "tags"}
_NOT_IMPORTED = {"id", "created_at", "updated_at", "deleted_at", "erased_at", "password_hash"}
_TIMESTAMP_SOURCES: dict[str, tuple[str, ...]] = {
    "customers": ("created_at",),
    "leads": ("created_at",),
}


def _kind(column: sa.Column) -> Kind:
    ctype = column.type
    if column.name in _SPECIAL_KIND:
        return _SPECIAL_KIND[column.name]
    if isinstance(ctype, sa.Enum):
        return "enum"
    if isinstance(ctype, UTCDateTime):
        return "datetime"
    if isinstance(ctype, sa.Date):
        return "date"
    if isinstance(ctype, sa.Boolean):
        return "bool"
    if isinstance(ctype, sa.Float):
        return "float"
    if isinstance(ctype, sa.Numeric):
        return "money"
    if isinstance(ctype, sa.Integer):
        return "int"
    if isinstance(ctype, sa.String | sa.Text):
        return "text"
    return "json"


def _build(
    name: str,
    table: sa.Table,
    key: tuple[str, ...],
    *,
    identity: tuple[str, ...] = (),
    required_extra: tuple[str, ...] = (),
) -> EntitySpec:
    column_rules = rules.column_rules(table)
    fields: list[FieldSpec] = []
    importable = _TIMESTAMP_SOURCES.get(name, ())
    for column in table.c:
        if column.name in _NOT_IMPORTED and column.name not in importable:
            continue
        if column.name == "extra":
            continue
        rule = column_rules[column.name]
        ref = _REFS.get((table.name, column.name))
        required = (
            (rule.required and rule.server_default is None) or column.name in required_extra
        ) and not (identity and column.name == "external_id")
        if column.name in importable:
            required = False
        fields.append(
            FieldSpec(
                name=ref[0] if ref else column.name,
                column=column.name,
                kind="text" if ref else _kind(column),
                required=required,
                rule=rule,
                enum=rule.enum_class,
                reference=ref[1] if ref else None,
                server_default=rule.server_default if rule.required else None,
            )
        )
    extra = "properties" if name == "events" else ("extra" if "extra" in table.c else None)
    return EntitySpec(
        name=name,
        table=table,
        key=key,
        fields=tuple(fields),
        derive_key=bool(identity),
        identity=identity,
        extra_column=extra,
        importable_timestamps=importable,
    )


ENTITIES: dict[str, EntitySpec] = {
    spec.name: spec
    for spec in (
        _build("users", schema.users, ("username",)),
        _build("customers", schema.customers, ("external_id",)),
        _build("leads", schema.leads, ("external_id",)),
        _build("products", schema.products, ("sku",)),
        _build("campaigns", schema.campaigns, ("external_id",)),
        _build("orders", schema.orders, ("external_id",)),
        _build("order_items", schema.order_items, ("order_external_id", "line_no")),
        _build(
            "events",
            schema.events,
            ("external_id",),
            identity=(
                "customer_external_id",
                "kind",
                "occurred_at",
                "session_id",
                "product_sku",
                "campaign_external_id",
            ),
        ),
        _build(
            "interactions",
            schema.interactions,
            ("external_id",),
            identity=("customer_external_id", "channel", "direction", "occurred_at"),
        ),
        _build("tickets", schema.tickets, ("external_id",)),
        _build(
            "survey_responses",
            schema.survey_responses,
            ("external_id",),
            identity=("customer_external_id", "kind", "responded_at"),
        ),
        _build(
            "referrals",
            schema.referrals,
            ("external_id",),
            identity=(
                "referrer_external_id",
                "referred_lead_external_id",
                "referred_customer_external_id",
                "referred_at",
            ),
        ),
        _build(
            "campaign_deliveries",
            schema.campaign_deliveries,
            ("external_id",),
            identity=("campaign_external_id", "customer_external_id"),
        ),
        _build(
            "loyalty_ledger",
            schema.loyalty_ledger,
            ("external_id",),
            identity=("customer_external_id", "points", "reason", "reference", "occurred_at"),
        ),
    )
}

#: Import order that satisfies every reference.
IMPORT_ORDER: tuple[str, ...] = tuple(ENTITIES)


def entity(name: str) -> EntitySpec:
    """The spec of entity ``name``; :class:`ValidationFailed` listing the valid names."""
    try:
        return ENTITIES[name]
    except KeyError:
        raise ValidationFailed(
            "unknown entity {name!r}",
            field="entity",
            value=name,
            hint="use one of: {names}",
            key="entity_unknown",
            params={"name": name, "names": ", ".join(ENTITIES)},
        ) from None
