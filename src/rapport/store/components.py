"""The ``components`` document of a score snapshot row, and the compact form it is stored in.

Each row of ``customer_scores`` explains its scores in a JSON document: one object per score
group (``satisfaction``, ``loyalty``, … ``churn``), ``null`` where the score is, holding the
inputs the score used (docs/scores.md). Readers always get that keyed document.

The store keeps it **compact**: a JSON array whose first item is the layout's version, then
each group's values in the layout's order, without the names (``null`` for a group without
a score; the churn reasons each as ``[feature, value, contribution, direction]``)::

    [1, [5, 0, 0, 0.9005], [25.0, 11.9273, 89.3891, 0.0], …, ["classifier", [["p_alive", …]]]]

The names are the same for every row, so they are written once, here, instead of in each of
a million rows: a document of the sample company takes 340 bytes instead of 1,140, which is
what a snapshot's write and its room in the store are mostly made of. A snapshot scored
without the models ends after the ``cost`` group. A layout, once released, never changes:
new or renamed inputs get a new version, and the old versions stay here to read the rows
written with them. A document that is not in a known layout (the keyed form written by
earlier versions, or one a client stored) is stored and read as it is.

:class:`ComponentsDoc` is the column's type: what SQLAlchemy reads comes back keyed, and a
keyed document in the current layout is written compact. The scoring run's bulk write makes
the compact text itself (:func:`rapport.scoring.components`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator

from rapport.store.types import JSONDoc

#: One layout: each group's key and the names of its values, in their order.
Layout = tuple[tuple[str, tuple[str, ...]], ...]

#: The names of a churn reason's values, in their order.
REASON_FIELDS = ("feature", "value", "contribution", "direction")

#: Every layout by version. Released layouts never change (see the module).
LAYOUTS: dict[int, Layout] = {
    1: (
        ("satisfaction", ("answers", "ticket_ratings", "complaints", "evidence_weight")),
        ("loyalty", ("repeat", "recency", "tenure", "membership")),
        ("engagement", ("events", "interactions", "weighted_actions")),
        ("advocacy", ("nps", "converted_referrals", "shares")),
        ("rfm", ("revenue_rank",)),
        ("value_tier", ("next", "missing")),
        (
            "lifecycle",
            (
                "phase",
                "purchases",
                "purchases_in_window",
                "days_since_first",
                "days_since_last",
                "mean_gap_days",
                "at_risk_after_days",
                "revenue_first_half",
                "revenue_second_half",
            ),
        ),
        (
            "depth",
            (
                "score",
                "tenure",
                "frequency",
                "cross_buy",
                "contact",
                "channels",
                "purchases_in_window",
                "categories",
                "contacts",
                "channel_count",
            ),
        ),
        (
            "cost",
            ("total", "interactions", "tickets", "deliveries", "points", "revenue", "ratio"),
        ),
        ("prediction", ("expected_purchases_90d", "clv_low", "clv_high")),
        ("churn", ("source", "reasons")),
    ),
}

#: The layout documents are written in.
CURRENT = 1

#: Groups a document of a snapshot scored without the models has (the layout up to ``cost``).
_WITHOUT_MODELS = [key for key, _ in LAYOUTS[CURRENT]].index("cost") + 1


def expand(document: Any) -> Any:
    """``document`` as readers use it: the keyed document of a compact one in a known
    layout (JSON text is parsed first); anything else as it is (``None``, a keyed
    document, a list in no known layout)."""
    if isinstance(document, str | bytes):
        try:
            document = json.loads(document)
        except ValueError:  # text, not a document
            return document
    if not _compact(document):
        return document
    layout = LAYOUTS[document[0]]
    out: dict[str, Any] = {}
    for (key, names), values in zip(layout, document[1:], strict=False):
        if values is None:
            out[key] = None
            continue
        group = dict(zip(names, values, strict=True))
        if key == "churn" and isinstance(group.get("reasons"), list):
            group["reasons"] = [
                dict(zip(REASON_FIELDS, r, strict=True)) if isinstance(r, list) else r
                for r in group["reasons"]
            ]
        out[key] = group
    return out


def compact(document: Any) -> Any:
    """``document`` in the current layout's compact form when it is a keyed document of
    that layout (its groups, each ``None`` or with exactly the layout's names, in order,
    the prediction groups possibly left out); anything else as it is."""
    if not isinstance(document, Mapping):
        return document
    layout = LAYOUTS[CURRENT]
    keys = list(document)
    if keys != [key for key, _ in layout[: len(keys)]] or len(keys) < _WITHOUT_MODELS:
        return document
    out: list[Any] = [CURRENT]
    for key, names in layout[: len(keys)]:
        group = document[key]
        if group is None:
            out.append(None)
            continue
        if not isinstance(group, Mapping) or list(group) != list(names):
            return document
        values = list(group.values())
        if key == "churn" and group["reasons"] is not None:
            reasons = group["reasons"]
            if not all(isinstance(r, Mapping) and list(r) == list(REASON_FIELDS) for r in reasons):
                return document
            values[-1] = [list(r.values()) for r in reasons]
        out.append(values)
    return out


def _compact(document: Any) -> bool:
    """Whether ``document`` is in a known compact layout."""
    return (
        isinstance(document, list)
        and bool(document)
        and type(document[0]) is int
        and document[0] in LAYOUTS
        and len(document) - 1 <= len(LAYOUTS[document[0]])
        and all(
            values is None or (isinstance(values, list) and len(values) == len(names))
            for (_, names), values in zip(LAYOUTS[document[0]], document[1:], strict=False)
        )
    )


class ComponentsDoc(TypeDecorator[Any]):
    """The ``components`` column: JSONB on PostgreSQL, JSON text on SQLite, written compact
    when it is in the current layout and always read keyed (see the module)."""

    impl = sa.JSON(none_as_null=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: sa.Dialect) -> sa.types.TypeEngine[Any]:
        return JSONDoc.dialect_impl(dialect)  # the store's JSON type on each database

    def process_bind_param(self, value: Any, dialect: sa.Dialect) -> Any:
        return compact(value)

    def process_result_value(self, value: Any, dialect: sa.Dialect) -> Any:
        return expand(value)


__all__ = ["CURRENT", "LAYOUTS", "REASON_FIELDS", "ComponentsDoc", "compact", "expand"]
