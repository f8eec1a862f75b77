"""The analytics schemas and the store's schema cannot drift apart."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from rapport.analytics.tables import MONEY, SCHEMAS
from rapport.store import schema
from rapport.store.types import UTCDateTime

#: Store tables the analytics never read.
NOT_ANALYTIC = {
    "audit_log",
    "api_tokens",
    "idempotency_keys",
    "survey_links",
    "login_throttle",
    "import_jobs",
    "customer_notes",
    # the loyalty engine's own bookkeeping: what each order earned, the rewards catalogue
    # and its vouchers (the ledger, which the analytics read, holds every movement)
    "loyalty_order_points",
    "loyalty_rewards",
    "loyalty_vouchers",
    # the action loop's own records: playbooks, enrolments, tasks, alerts, outbox, runs
    # (their reports read them through the store)
    "playbooks",
    "playbook_versions",
    "playbook_enrolments",
    "tasks",
    "alerts",
    "outbox",
    "pipeline_runs",
    "store_locks",
    # the pages' snapshot reports computed ahead: a cache of what the analytics produced
    "kept_reports",
    # each customer's searched text, derived from customers by triggers for the search
    "customer_search",
    # per copied table, a count of its changed rows: what the scoring run's kept copy is
    # checked against (rapport.analytics.working_copy), read through the store
    "table_changes",
}
STORE = {table.name: table for table in schema.TABLES if table.name not in NOT_ANALYTIC}


def analytic_type(column: sa.Column) -> str:
    """The canonical Ibis type of a store column."""
    column_type = column.type
    if isinstance(column_type, UTCDateTime):
        return "timestamp"
    if isinstance(column_type, sa.Date):
        return "date"
    if isinstance(column_type, sa.Boolean):
        return "boolean"
    if isinstance(column_type, sa.Float | sa.Numeric):
        return "float64"
    if isinstance(column_type, sa.Integer):
        return "int64"
    return "string"


def test_the_same_tables() -> None:
    assert sorted(SCHEMAS) == sorted(STORE)


@pytest.mark.parametrize("name", sorted(STORE))
def test_the_same_columns_in_the_same_order_with_mapped_types(name) -> None:
    store = {column.name: analytic_type(column) for column in STORE[name].columns}
    canonical = {column: str(dtype) for column, dtype in SCHEMAS[name].items()}
    assert list(canonical) == list(store)
    assert canonical == store


def test_money_columns_are_the_store_money_columns() -> None:
    store_money = {
        name: tuple(
            c.name
            for c in table.columns
            if isinstance(c.type, sa.Numeric) and not isinstance(c.type, sa.Float)
        )
        for name, table in STORE.items()
    }
    assert {name: cols for name, cols in store_money.items() if cols} == MONEY
