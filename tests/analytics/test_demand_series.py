"""Demand per product category and week/month, on the fixture company and every engine.

The fixture company has orders but no lines, so these tests add two small tables as
memtables beside the engine's own ``orders`` (the engine joins them):

======== ===== ======================= ==============================================
order    net   status, ordered_at      lines (product: net_amount)
======== ===== ======================= ==============================================
3        150   2024-02-10              P1 护肤 100, P2 食品 50
4        250   2024-05-20              P1 护肤 250
7         90   2024-03-03              none → (uncategorised)
8         60   2024-01-25              none → (uncategorised)
9         40   2024-04-12 (70 paid,    P1 护肤 50, P2 食品 20 — the refund lowers both
               30 refunded)            lines by 40/70: 28.571…, 11.428…
10       500   cancelled               P1 护肤 500 — never a purchase
11         0   refunded                P1 护肤 200 — never a purchase
12       300   2024-06-01              P2 食品 200, P2 食品 120 — one order, 300
13        50   exactly at start        P3 (no category) 50 → (uncategorised)
17       500   exactly at end          P1 护肤 500 — after the period
18        20   a second before end     P1 护肤 0, P2 食品 0 — lines worth 0 share equally
======== ===== ======================= ==============================================

Months of 2024 in Shanghai (the period ``fx.PERIOD``)::

    (uncategorised)  Jan 2 orders 110 (13, 8)   Mar 1 order 90 (7)
    护肤             Feb 1 / 100   Apr 1 / 28.57   May 1 / 250   Jun 1 / 10 (18)
    食品             Feb 1 / 50    Apr 1 / 11.43   Jun 2 / 310 (12: 300, 18: 10)

The revenues add up to the purchases' net amounts in the period: 150 + 250 + 90 + 60 + 40
+ 300 + 50 + 20 = 960.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import ibis
import pyarrow as pa
import pytest

from rapport.analytics.demand import (
    UNCATEGORISED,
    category_demand,
    category_series,
    complete_series,
    demand_periods,
)
from rapport.analytics.metrics import execute
from rapport.analytics.sources import Sources
from rapport.analytics.tables import SCHEMAS
from rapport.errors import ValidationFailed
from tests.analytics import fixture_data as fx

SKIN, FOOD = "护肤", "食品"
approx = pytest.approx


def _product(id: int, category: str | None) -> dict:
    at = datetime(2023, 1, 1)
    return {"id": id, "sku": f"P{id}", "name": f"商品{id}", "category": category, "price": 10.0,
            "currency": "CNY", "is_active": True, "extra": None, "created_at": at,
            "updated_at": at}  # fmt: skip


LINES = [  # (order, product, net_amount)
    (3, 1, 100.0), (3, 2, 50.0), (4, 1, 250.0), (9, 1, 50.0), (9, 2, 20.0), (10, 1, 500.0),
    (11, 1, 200.0), (12, 2, 200.0), (12, 2, 120.0), (13, 3, 50.0), (17, 1, 500.0),
    (18, 1, 0.0), (18, 2, 0.0),
]  # fmt: skip


def _items() -> list[dict]:
    rows, line_no = [], {}
    for i, (order, product, amount) in enumerate(LINES, start=1):
        line_no[order] = line_no.get(order, 0) + 1
        rows.append({"id": i, "order_id": order, "line_no": line_no[order], "product_id": product,
                     "quantity": 1, "unit_price": amount, "net_amount": amount})  # fmt: skip
    return rows


def _memtable(name: str, rows: list[dict]) -> ibis.Table:
    schema = SCHEMAS[name]
    return ibis.memtable(pa.Table.from_pylist(rows, schema=schema.to_pyarrow()), schema=schema)


@pytest.fixture
def demand_sources(analytics_engine):
    """The engine's tables, with the lines and products above as memtables."""
    tables = {
        "order_items": _memtable("order_items", _items()),
        "products": _memtable(
            "products", [_product(1, SKIN), _product(2, FOOD), _product(3, None)]
        ),
    }
    return Sources(analytics_engine, tables=tables), analytics_engine.con


def local_midnight(year: int, month: int, day: int) -> datetime:
    """Midnight of a Shanghai date, in naive UTC."""
    return datetime(year, month, day) - timedelta(hours=8)


MONTHS = [local_midnight(2024, m, 1) for m in range(1, 7)]


def test_raw_series_has_only_the_pairs_with_purchases(demand_sources):
    src, con = demand_sources
    expr = category_series(src, fx.PERIOD.start, fx.PERIOD.end, granularity="month", tz=fx.TZ)
    rows = execute(expr, con).to_pylist()
    got = {(r["category"], r["period_start"]): (r["orders"], r["revenue"]) for r in rows}
    jan, feb, mar, apr, may, jun = MONTHS
    assert got == {
        (UNCATEGORISED, jan): (2, approx(110)),
        (UNCATEGORISED, mar): (1, approx(90)),
        (SKIN, feb): (1, approx(100)),
        (SKIN, apr): (1, approx(40 * 50 / 70)),
        (SKIN, may): (1, approx(250)),
        (SKIN, jun): (1, approx(10)),
        (FOOD, feb): (1, approx(50)),
        (FOOD, apr): (1, approx(40 * 20 / 70)),
        (FOOD, jun): (2, approx(310)),
    }


def test_completed_monthly_series_fills_zeros_and_adds_up_to_revenue(demand_sources):
    src, con = demand_sources
    table = category_demand(
        src, fx.PERIOD.start, fx.PERIOD.end, granularity="month", tz=fx.TZ, con=con
    )
    assert table.column_names == ["category", "period_start", "period_end", "orders", "revenue"]
    rows = table.to_pylist()
    assert len(rows) == 3 * 6
    assert [r["category"] for r in rows[::6]] == [UNCATEGORISED, SKIN, FOOD]
    assert [r["period_start"] for r in rows[:6]] == MONTHS
    assert [r["period_end"] for r in rows[:6]] == [*MONTHS[1:], fx.PERIOD.end]
    assert [r["orders"] for r in rows] == [2, 0, 1, 0, 0, 0, 0, 1, 0, 1, 1, 1, 0, 1, 0, 1, 0, 2]
    # rounded to cents: 40 * 50 / 70 = 28.571… → 28.57, 40 * 20 / 70 → 11.43
    assert [r["revenue"] for r in rows[6:12]] == [0, 100, 0, 28.57, 250, 10]
    assert [r["revenue"] for r in rows[12:]] == [0, 50, 0, 11.43, 0, 310]
    assert sum(r["revenue"] for r in rows) == approx(960)


def test_weekly_buckets_hold_the_purchases_at_the_edges(demand_sources):
    # 2024-01-01 (local) is a Monday: 26 whole ISO weeks. Order 13 at exactly start is in
    # the first week; order 18 a second before end (Sunday 23:59:59 local) in the last.
    src, con = demand_sources
    rows = category_demand(
        src, fx.PERIOD.start, fx.PERIOD.end, granularity="week", tz=fx.TZ, con=con
    ).to_pylist()
    assert len(rows) == 3 * 26
    first = {r["category"]: r["orders"] for r in rows if r["period_start"] == fx.PERIOD.start}
    assert first == {UNCATEGORISED: 1, SKIN: 0, FOOD: 0}
    last_week = local_midnight(2024, 6, 24)
    last = {r["category"]: r["revenue"] for r in rows if r["period_start"] == last_week}
    assert last == {UNCATEGORISED: 0, SKIN: 10, FOOD: 10}
    assert {r["period_end"] for r in rows if r["period_start"] == last_week} == {fx.PERIOD.end}


def test_a_period_without_purchases_gives_zeros_for_the_categories_asked(demand_sources):
    src, con = demand_sources
    start, end = fx.EMPTY_PERIOD.start, fx.EMPTY_PERIOD.end
    expr = category_series(src, start, end, granularity="month", tz="UTC")
    table = complete_series(
        execute(expr, con), start, end, granularity="month", tz="UTC", categories=[SKIN]
    )
    assert table.to_pylist() == [
        {"category": SKIN, "period_start": start, "period_end": end, "orders": 0, "revenue": 0.0}
    ]


def test_only_weeks_and_months_and_a_non_empty_period():
    with pytest.raises(ValidationFailed, match="weekly or monthly"):
        demand_periods(fx.PERIOD.start, fx.PERIOD.end, granularity="day")
    with pytest.raises(ValidationFailed, match="empty"):
        demand_periods(fx.PERIOD.start, fx.PERIOD.start, granularity="week")
