"""Which order statuses are purchases is one business rule, read the same way by the
metrics, the models' purchase summaries and the scores' features."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import ibis
import pytest

from rapport.analytics.metrics import evaluate, execute
from rapport.analytics.metrics_base import purchases
from rapport.analytics.periods import Period
from rapport.analytics.purchase_summary import purchase_summary
from rapport.analytics.sources import Sources
from rapport.config import Rules, load_rules
from tests.analytics import fixture_data
from tests.analytics.memory import memory_tables

#: one customer's orders in 2024, one per status, net amounts 10, 20, … 70
STATUSES = ("pending", "paid", "shipped", "completed", "cancelled", "refunding", "refunded")


def _tables() -> dict[str, list[dict[str, Any]]]:
    orders = [
        fixture_data._order(i + 1, 1, datetime(2024, 1 + i, 10, 12), 10.0 * (i + 1), status=s)
        for i, s in enumerate(STATUSES)
    ]
    return {**fixture_data.TABLES, "orders": orders}


def _rules(statuses: list[str] | None) -> Rules:
    rules = load_rules()
    if statuses is None:
        return rules
    data = rules.model_dump()
    data["business"]["purchase_statuses"] = statuses
    return Rules.model_validate(data)


@pytest.mark.parametrize(
    ("statuses", "counted"),
    [
        (None, ("paid", "shipped", "completed")),  # the default rule
        (["completed"], ("completed",)),
        (["shipped", "completed", "refunding"], ("shipped", "completed", "refunding")),
    ],
)
def test_the_rule_decides_purchases_in_metrics_and_model_summaries(
    statuses: list[str] | None, counted: tuple[str, ...]
) -> None:
    rules = _rules(statuses)
    src = Sources(tables=memory_tables(_tables()), rules=rules)
    con = ibis.duckdb.connect()
    con.raw_sql("SET TimeZone = 'UTC'")
    amounts = [10.0 * (STATUSES.index(s) + 1) for s in counted]

    bought = execute(purchases(src), con).to_pylist()
    assert sorted(r["status"] for r in bought) == sorted(counted)

    period = Period(datetime(2024, 1, 1), datetime(2025, 1, 1))
    table = evaluate(["average_order_value", "purchase_frequency"], src, period, rules=rules)
    values = {r["metric"]: r["value"] for r in table.to_pylist()}
    assert values["average_order_value"] == pytest.approx(sum(amounts) / len(amounts))
    assert values["purchase_frequency"] == pytest.approx(len(counted))

    summary = execute(purchase_summary(src, datetime(2025, 1, 1)), con).to_pylist()
    mine = next(r for r in summary if r["customer_id"] == 1)
    assert mine["frequency"] == len(counted) - 1  # repeat purchases (days)


def test_cancelled_and_refunded_orders_are_never_purchases() -> None:
    with pytest.raises(ValueError, match="never purchases"):
        _rules(["completed", "refunded"])
