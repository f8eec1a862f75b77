"""The canonical tables with one set of types on every engine.

``Sources(engine).orders`` is the store's ``orders`` table cast to
:data:`rapport.analytics.tables.SCHEMAS` ``["orders"]``; metric code only ever reads
tables through a :class:`Sources`, so it never sees an engine's own types.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import ibis

from rapport.analytics.tables import SCHEMAS

if TYPE_CHECKING:
    from rapport.config import Rules


def conform(table: ibis.Table, name: str, columns: Sequence[str] | None = None) -> ibis.Table:
    """Cast ``table`` to the canonical schema of ``name`` (only where types differ); with
    ``columns``, to those canonical columns alone."""
    schema = SCHEMAS[name]
    names = list(schema.names if columns is None else columns)
    missing = [c for c in names if c not in table.columns]
    if missing:
        raise KeyError(f"table {name} lacks canonical columns {missing}")
    casts = {
        column: table[column].cast(schema[column])
        for column in names
        if table[column].type().copy(nullable=True) != schema[column].copy(nullable=True)
    }
    return table.select(*names).mutate(**casts) if casts else table.select(*names)


class Sources:
    """Lazily conformed canonical tables of one engine (or of in-memory tables, in tests).

    ``rules`` are the business rules the tables are read under (which order statuses are
    purchases); without them, the configured rules (:func:`rapport.config.load_rules`).
    """

    def __init__(
        self,
        engine: Any = None,
        *,
        tables: dict[str, ibis.Table] | None = None,
        rules: Rules | None = None,
    ) -> None:
        self._engine = engine
        self._given = tables or {}
        self._cache: dict[str, ibis.Table] = {}
        self._rules = rules

    @property
    def purchase_statuses(self) -> tuple[str, ...]:
        """Order statuses that count as purchases (``[business] purchase_statuses``)."""
        if self._rules is None:
            from rapport.config import load_rules

            self._rules = load_rules()
        return tuple(str(s) for s in self._rules.business.purchase_statuses)

    def __getattr__(self, name: str) -> ibis.Table:
        if name.startswith("_") or name not in SCHEMAS:
            raise AttributeError(name)
        if name not in self._cache:
            raw = self._given[name] if name in self._given else self._engine.table(name)
            self._cache[name] = conform(raw, name)
        return self._cache[name]


#: The column that names the customer a row is about, in each canonical table that has
#: one: the rows a customer's own figures read (a referral is its referrer's).
CUSTOMER_KEYS: dict[str, str] = {
    "customers": "id",
    "orders": "customer_id",
    "events": "customer_id",
    "interactions": "customer_id",
    "survey_responses": "customer_id",
    "tickets": "customer_id",
    "referrals": "referrer_customer_id",
    "campaign_deliveries": "customer_id",
    "loyalty_ledger": "customer_id",
    "loyalty_member_tiers": "customer_id",
    "loyalty_tier_changes": "customer_id",
}


class CustomersOnly(Sources):
    """``base``'s tables with only the rows of the customers ``ids`` (one ``customer_id``
    column; :data:`CUSTOMER_KEYS` says which column of each table names the customer; the
    other tables are ``base``'s whole).

    A figure computed customer by customer from each customer's own rows, such as the
    churn features, is the same for those customers on these sources as on ``base``, and
    reads a fraction of the rows: the churn model's training sample
    (:func:`rapport.models.pipeline.churn_training`)."""

    def __init__(self, base: Sources, ids: ibis.Table) -> None:
        super().__init__(rules=base._rules)
        self._base = base
        self._ids = ids.select(_only="customer_id")

    @property
    def purchase_statuses(self) -> tuple[str, ...]:
        return self._base.purchase_statuses

    def __getattr__(self, name: str) -> ibis.Table:
        if name.startswith("_") or name not in SCHEMAS:
            raise AttributeError(name)
        if name not in self._cache:
            table = getattr(self._base, name)
            key = CUSTOMER_KEYS.get(name)
            if key is not None:
                table = table.semi_join(self._ids, table[key] == self._ids._only)
            self._cache[name] = table
        return self._cache[name]
