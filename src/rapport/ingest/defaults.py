"""What an import fills in when the file does not say: defaults per entity and field.

A real export rarely has every column the store needs: no Chinese shop export has a
currency column, chat logs have no call direction, a POS sales list has no order status.
A field with a default here is never required of the file. The default fills the field
where the file has no column for it *and* where its cell is empty; a value that does not
parse is still reported, never silently replaced.

Each default is data: the import fields it reads (all must be present for it to apply;
``()`` for a constant), a Polars expression over the batch's normalised values (given the
business rules), and what it means, for the docs and the report.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import polars as pl

from rapport.config import Rules
from rapport.domain import (
    SURVEY_SCALES,
    Direction,
    LeadStatus,
    OrderStatus,
    TicketPriority,
    TicketStatus,
)


@dataclass(frozen=True)
class FieldDefault:
    """The value of a field the file leaves out or leaves empty."""

    reads: tuple[str, ...]  # import fields the expression reads; all must be in the file
    expr: Callable[[Rules], pl.Expr]
    says: str  # what the default is, in words (docs/import.md, the report)


c = pl.col


def _const(value: str) -> Callable[[Rules], pl.Expr]:
    return lambda _rules: pl.lit(value, dtype=pl.Utf8)


def _business_currency(rules: Rules) -> pl.Expr:
    return pl.lit(rules.business.currency, dtype=pl.Utf8)


def _scale(end: int) -> Callable[[Rules], pl.Expr]:
    by_kind = {kind.value: float(scale[end]) for kind, scale in SURVEY_SCALES.items()}
    return lambda _rules: c("kind").replace_strict(by_kind, default=None, return_dtype=pl.Float64)


def _ticket_status(_rules: Rules) -> pl.Expr:
    return (
        pl.when(c("closed_at").is_not_null())
        .then(pl.lit(TicketStatus.CLOSED.value))
        .when(c("resolved_at").is_not_null())
        .then(pl.lit(TicketStatus.RESOLVED.value))
        .otherwise(pl.lit(TicketStatus.OPEN.value))
    )


def _lead_status(_rules: Rules) -> pl.Expr:
    converted = c("converted_at").is_not_null()
    return (
        pl.when(converted)
        .then(pl.lit(LeadStatus.CONVERTED.value))
        .otherwise(pl.lit(LeadStatus.NEW.value))
    )


def _zero_if_null(name: str) -> pl.Expr:
    return c(name).fill_null(0)


DEFAULTS: dict[str, dict[str, FieldDefault]] = {
    "users": {
        "display_name": FieldDefault(("username",), lambda _r: c("username"), "the username"),
    },
    "leads": {
        "status": FieldDefault(
            (), _lead_status, "converted when the row has converted_at, otherwise new"
        ),
    },
    "products": {
        "currency": FieldDefault((), _business_currency, "the business currency"),
    },
    "orders": {
        "status": FieldDefault(
            (), _const(OrderStatus.COMPLETED.value), "completed (a list of sales)"
        ),
        "currency": FieldDefault((), _business_currency, "the business currency"),
        "net_amount": FieldDefault(
            ("gross_amount",),
            lambda _r: (
                c("gross_amount")
                - _zero_if_null("discount_amount")
                - _zero_if_null("refunded_amount")
            ),
            "gross_amount - discount_amount - refunded_amount",
        ),
    },
    "order_items": {
        "net_amount": FieldDefault(
            ("quantity", "unit_price"),
            lambda _r: c("unit_price") * c("quantity"),
            "quantity × unit_price",
        ),
    },
    "interactions": {
        "direction": FieldDefault(
            (), _const(Direction.UNKNOWN.value), "unknown (the source did not say)"
        ),
    },
    "tickets": {
        "priority": FieldDefault((), _const(TicketPriority.NORMAL.value), "normal"),
        "status": FieldDefault(
            (), _ticket_status, "closed with closed_at, resolved with resolved_at, else open"
        ),
    },
    "survey_responses": {
        "scale_min": FieldDefault(("kind",), _scale(0), "the usual scale of the survey kind"),
        "scale_max": FieldDefault(("kind",), _scale(1), "the usual scale of the survey kind"),
    },
}


def defaults(entity: str) -> dict[str, FieldDefault]:
    """The defaults of ``entity``'s fields (empty when it has none)."""
    return DEFAULTS.get(entity, {})


def applicable(entity: str, present: set[str]) -> dict[str, FieldDefault]:
    """The defaults that can apply when the file gives the fields ``present``."""
    return {
        name: default
        for name, default in defaults(entity).items()
        if all(f in present for f in default.reads)
    }
