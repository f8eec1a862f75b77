"""Relationship depth, maintenance cost and social reach on the fixture company, worked out
by hand, on every engine.

The fixture company (:mod:`tests.analytics.fixture_data`) has no behaviour events, loyalty
ledger, products or order lines and no social interaction; these tests add them as
memtables beside the engine's own tables (the engine joins them), as in
test_demand_series.py. PERIOD = [2023-12-31 16:00, 2024-06-30 16:00) UTC, END its end,
W = 365 days: the activity window as of END is [2023-07-01 16:00, END), the contact
window [2024-04-01 16:00, END). E = {c1, c3, c4, c5, c6, c7, c10}.

Added rows::

    interactions (besides the fixture's I1–I8)
      I101 c3 social 2024-05-10   I102 c3 social 2024-06-01
      I103 c9 social at END (outside)   I104 c8 social 2024-02-01 (c8 never bought)
    events
      E1 c1 social_share 2024-03-01   E2 c1 social_share 2024-04-10
      E3 c4 social_like 2024-05-01 (not a share)   E4 c5 social_share a second before start
      E5 c4 page_view 2024-06-10
    loyalty_ledger
      c1 +400 purchase 2024-02-10, c1 -200 redeem 2024-03-01, c4 -500 redeem 2024-05-01,
      c5 -300 redeem at END (outside), c2 -100 redeem 2023-12-01 (outside)
    products  P1 护肤, P2 食品, P3 服饰, P4 no category — 3 categories in the catalogue
    lines     o1 (c1, 2023-03-10, before the window) P3; o2 P1; o3 P1 P2; o4 P4;
              o8 P2; o9 P2; o10 (cancelled) P3; o12 P1 P3; o17 (at END) P1

Unit costs are the defaults: interactions phone 8, e-mail 2, chat 3, visit 40, social 1,
after-sales 15; tickets low 10, normal 20, high 40, urgent 80; deliveries e-mail and SMS
0.05; a point 0.01.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import ibis
import pyarrow as pa
import pytest

from rapport import scoring
from rapport.analytics.costs import COST_COLUMNS, customer_costs, depth_and_cost
from rapport.analytics.depth import DEPTH_COLUMNS, depth_components
from rapport.analytics.metrics import evaluate
from rapport.analytics.periods import Period
from rapport.analytics.sources import Sources
from rapport.analytics.tables import SCHEMAS
from rapport.config import Rules, load_rules
from rapport.store.components import expand
from tests.analytics import fixture_data as fx
from tests.analytics.conftest import analytics_settings
from tests.analytics.memory import memory_sources

approx = pytest.approx
D = datetime
END = fx.END
E = 7  # buyers active at END
RULES = load_rules()
TENURE_FULL = 1095.75


def _memtable(name: str, rows: list[dict[str, Any]]) -> ibis.Table:
    schema = SCHEMAS[name]
    return ibis.memtable(pa.Table.from_pylist(rows, schema=schema.to_pyarrow()), schema=schema)


def _rows(name: str, *rows: dict[str, Any]) -> list[dict[str, Any]]:
    return [{c: row.get(c) for c in SCHEMAS[name].names} for row in rows]


def _interaction(id: int, customer: int, at: datetime) -> dict[str, Any]:
    return {"id": id, "external_id": f"I{id}", "customer_id": customer, "channel": "social",
            "direction": "inbound", "occurred_at": at}  # fmt: skip


def _event(id: int, customer: int, kind: str, at: datetime) -> dict[str, Any]:
    return {"id": id, "external_id": f"E{id}", "customer_id": customer, "kind": kind,
            "occurred_at": at, "channel": "social"}  # fmt: skip


def _ledger(id: int, customer: int, points: int, reason: str, at: datetime) -> dict[str, Any]:
    return {"id": id, "external_id": f"LY{id}", "customer_id": customer, "points": points,
            "reason": reason, "occurred_at": at}  # fmt: skip


def _product(id: int, category: str | None) -> dict[str, Any]:
    return {"id": id, "sku": f"P{id}", "name": f"商品{id}", "category": category, "price": 10.0,
            "currency": "CNY", "is_active": True, "created_at": D(2023, 1, 1),
            "updated_at": D(2023, 1, 1)}  # fmt: skip


LINES = [(1, 3), (2, 1), (3, 1), (3, 2), (4, 4), (8, 2), (9, 2), (10, 3), (12, 1), (12, 3),
         (17, 1)]  # fmt: skip

OVERLAY: dict[str, list[dict[str, Any]]] = {
    "interactions": [
        *fx.INTERACTIONS,
        *_rows(
            "interactions",
            _interaction(101, 3, D(2024, 5, 10, 12)),
            _interaction(102, 3, D(2024, 6, 1, 12)),
            _interaction(103, 9, END),
            _interaction(104, 8, D(2024, 2, 1, 12)),
        ),
    ],
    "events": _rows(
        "events",
        _event(1, 1, "social_share", D(2024, 3, 1, 12)),
        _event(2, 1, "social_share", D(2024, 4, 10, 12)),
        _event(3, 4, "social_like", D(2024, 5, 1, 12)),
        _event(4, 5, "social_share", fx.START - timedelta(seconds=1)),
        _event(5, 4, "page_view", D(2024, 6, 10, 12)),
    ),
    "loyalty_ledger": _rows(
        "loyalty_ledger",
        _ledger(1, 1, 400, "purchase", D(2024, 2, 10, 12)),
        _ledger(2, 1, -200, "redeem", D(2024, 3, 1, 12)),
        _ledger(3, 4, -500, "redeem", D(2024, 5, 1, 12)),
        _ledger(4, 5, -300, "redeem", END),
        _ledger(5, 2, -100, "redeem", D(2023, 12, 1, 12)),
    ),
    "products": _rows(
        "products", _product(1, "护肤"), _product(2, "食品"), _product(3, "服饰"), _product(4, None)
    ),
    "order_items": _rows(
        "order_items",
        *(
            {
                "id": i,
                "order_id": order,
                "line_no": i,
                "product_id": product,
                "quantity": 1,
                "unit_price": 10.0,
                "net_amount": 10.0,
            }
            for i, (order, product) in enumerate(LINES, start=1)
        ),
    ),
}


@pytest.fixture
def value_sources(analytics_engine) -> tuple[Sources, Any]:
    """The engine's tables with the rows above as memtables."""
    tables = {name: _memtable(name, rows) for name, rows in OVERLAY.items()}
    return Sources(analytics_engine, tables=tables), analytics_engine.con


def metrics(
    sources: tuple[Sources, Any],
    ids: list[str],
    period: Period = fx.PERIOD,
    rules: Rules = RULES,
    by: bool = False,
) -> dict[Any, dict[str, Any]]:
    src, con = sources
    seg = None
    if by:
        c = src.customers
        seg = c.select(customer_id=c.id, segment=c.city)
    rows = evaluate(ids, src, period, rules=rules, by=seg, con=con).to_pylist()
    return {(r["metric"], r["segment"]) if by else r["metric"]: r for r in rows}


def tenure(first: datetime, as_of: datetime = END) -> float:
    return min((as_of - first).total_seconds() / 86400 / TENURE_FULL, 1) * 100


# --- relationship depth ------------------------------------------------------------------

#: Frequency percentiles among the 7 buyers active at END: 1 purchase in the window (c3,
#: c5, c6, c7, c10) → 5/7; 2 (c4) → 6/7; 3 (c1: 2023-09-15, 2024-02-10, 2024-05-20) → 1.
ONE, TWO = 5 / 7 * 100, 6 / 7 * 100
#: Per customer as of END: tenure, frequency, cross-buy, contact, channels. Cross-buy is over
#: min(5, 3 catalogue categories) = 3: c1 护肤 食品 (o1's 服饰 is before the window, o4's
#: P4 has no category), c4 食品, c5 护肤 服饰. Contacts in [2024-04-01 16:00, END): c1 2
#: (I3 visit, E2), c3 2 (I101, I102), c4 2 (E3, E5), c2 1 (I6), c8 1 (I5) → percentiles
#: 2 → 100, 1 → 2/5. Channels in the window over 4: c1 tmall phone chat visit; c3 tmall
#: after_sales social; c4 tmall phone (I7, a second before start, is inside the window);
#: c2 e-mail only (its purchase is older than W); c8 phone social; c9 none (both at END).
EXPECTED_DEPTH = {
    1: (tenure(D(2023, 3, 10, 12)), 100, 200 / 3, 100, 100),
    2: (tenure(D(2023, 2, 1, 12)), 0, 0, 40, 25),
    3: (100, ONE, 0, 100, 75),  # first purchase 2021-05-01: more than three years
    4: (tenure(D(2024, 1, 25, 12)), TWO, 100 / 3, 100, 50),
    5: (tenure(D(2024, 6, 1, 12)), ONE, 200 / 3, 0, 25),
    6: (tenure(fx.START), ONE, 0, 0, 25),
    7: (tenure(D(2023, 8, 20, 12)), ONE, 0, 0, 25),
    8: (None, None, None, 40, 50),  # a prospect: no purchase components
    9: (tenure(D(2022, 11, 15, 12)), 0, 0, 0, 0),
    10: (tenure(D(2024, 6, 30, 15, 59, 59)), ONE, 0, 0, 25),
}


def mean(values: tuple[float | None, ...]) -> float:
    known = [v for v in values if v is not None]
    return sum(known) / len(known)


@pytest.fixture
def depth(value_sources) -> dict[int, dict[str, Any]]:
    src, con = value_sources
    rows = con.to_pyarrow(depth_components(src, END, rules=RULES)).to_pylist()
    return {r["customer_id"]: r for r in rows}


def test_relationship_depth_components_by_hand(depth) -> None:
    assert sorted(depth) == list(range(1, 11))
    assert list(depth[1]) == ["customer_id", *DEPTH_COLUMNS]
    for customer, expected in EXPECTED_DEPTH.items():
        row = depth[customer]
        got = (
            row["depth_tenure"],
            row["depth_frequency"],
            row["depth_cross_buy"],
            row["depth_contact"],
            row["depth_channels"],
        )
        assert got == approx(expected), customer
        assert row["relationship_depth"] == approx(mean(expected)), customer
    c1 = depth[1]
    inputs = ("depth_purchases", "depth_categories", "depth_contacts", "depth_channel_count")
    assert tuple(c1[k] for k in inputs) == (3, 2, 2, 4)
    assert tuple(depth[8][k] for k in inputs) == (None, None, 1, 2)


def test_relationship_depth_of_a_prospect_skips_the_purchase_components(depth) -> None:
    # c8 never bought: the mean of contact (40) and channels (50) alone
    assert depth[8]["relationship_depth"] == approx(45)


def test_relationship_depth_weights_are_configurable(value_sources) -> None:
    src, con = value_sources
    weights = RULES.scores.depth.weights.model_copy(
        update={"tenure": 0.0, "frequency": 3.0, "cross_buy": 0.0, "contact": 1.0}
    )
    depth_rules = RULES.scores.depth.model_copy(update={"weights": weights})
    rules = RULES.model_copy(
        update={"scores": RULES.scores.model_copy(update={"depth": depth_rules})}
    )
    rows = con.to_pyarrow(depth_components(src, END, rules=rules)).to_pylist()
    got = {r["customer_id"]: r["relationship_depth"] for r in rows}
    for customer, (_, freq, _, contact, channels) in EXPECTED_DEPTH.items():
        pairs = [(3.0, freq), (1.0, contact), (1.0, channels)]
        known = [(w, v) for w, v in pairs if v is not None]
        expected = sum(w * v for w, v in known) / sum(w for w, _ in known)
        assert got[customer] == approx(expected), customer


def test_cross_buy_is_null_without_a_catalogue(sources) -> None:
    # the fixture's own tables have no products: cross-buy is nobody's component
    src, con = sources
    rows = con.to_pyarrow(depth_components(src, END, rules=RULES)).to_pylist()
    assert {r["depth_cross_buy"] for r in rows} == {None}
    c3 = next(r for r in rows if r["customer_id"] == 3)
    # without the added social interactions: after_sales and tmall; no contact since April
    assert c3["relationship_depth"] == approx(mean((100, ONE, None, 0, 50)))


def test_relationship_depth_is_the_mean_over_the_buyers_active_at_end(value_sources) -> None:
    active = [1, 3, 4, 5, 6, 7, 10]  # c2, c8 and c9 are not in E
    total = sum(mean(EXPECTED_DEPTH[c]) for c in active)
    r = metrics(value_sources, ["relationship_depth"])["relationship_depth"]
    assert (r["numerator"], r["denominator"]) == (approx(total), E)
    assert r["value"] == approx(total / E)
    by = metrics(value_sources, ["relationship_depth"], by=True)
    # 上海: c1, c7 (c2 is not active); 北京: c3, c4; 广州: c5, c6; no city: c10
    for city, members in {"上海": [1, 7], "北京": [3, 4], "广州": [5, 6], None: [10]}.items():
        row = by[("relationship_depth", city)]
        assert row["denominator"] == len(members)
        assert row["value"] == approx(sum(mean(EXPECTED_DEPTH[c]) for c in members) / len(members))


def test_relationship_depth_grows_with_a_customers_own_contacts(analytics_engine) -> None:
    # one more interaction of c7 in the contact window: c7's contact and channel
    # components rise, and so does c7's depth
    extra = {
        **OVERLAY,
        "interactions": [
            *OVERLAY["interactions"],
            *_rows("interactions", _interaction(105, 7, D(2024, 6, 5, 12))),
        ],
    }
    tables = {name: _memtable(name, rows) for name, rows in extra.items()}
    src, con = Sources(analytics_engine, tables=tables), analytics_engine.con
    rows = con.to_pyarrow(depth_components(src, END, rules=RULES)).to_pylist()
    c7 = next(r for r in rows if r["customer_id"] == 7)
    assert c7["depth_contact"] == approx(3 / 6 * 100)  # 1 contact, like c2 and c8: 3 of 6
    assert c7["depth_channels"] == 50  # tmall, social
    assert c7["relationship_depth"] > mean(EXPECTED_DEPTH[7])


# --- maintenance cost --------------------------------------------------------------------

#: Cost items of PERIOD per customer (interactions, tickets, deliveries, points):
#: c1 phone 8 + chat 3 + visit 40; tickets high 40 (T1; T7 opened before start); e-mail and
#: SMS 0.05 each; 200 points 2.00. c2 e-mail 2; normal ticket 20 (D8 was sent before
#: start). c3 after-sales 15 + two social 1; urgent 80 + low 10; e-mail 0.05. c4 (I7 is a
#: second before start) e-mail 0.05; 500 points 5.00. c5 (I8 at END) normal ticket 20;
#: a bounced e-mail still sent 0.05; the redemption at END is outside. c6 e-mail sent
#: 2024-06-30 10:00 0.05. c7 low ticket 10. c8 phone 8 + social 1. c9: I103 at END.
COSTS = {
    1: (51, 40, 0.1, 2),
    2: (2, 20, 0, 0),
    3: (17, 90, 0.05, 0),
    4: (0, 0, 0.05, 5),
    5: (0, 20, 0.05, 0),
    6: (0, 0, 0.05, 0),
    7: (0, 10, 0, 0),
    8: (9, 0, 0, 0),
}
TOTAL_COST = sum(sum(v) for v in COSTS.values())  # 266.3
REVENUE = 960.0  # net revenue of the period's purchases (test_metrics.py)


def test_maintenance_cost_by_hand(value_sources) -> None:
    assert approx(266.3) == TOTAL_COST
    got = metrics(
        value_sources, ["maintenance_cost", "maintenance_cost_per_customer", "cost_to_serve_ratio"]
    )
    total = got["maintenance_cost"]
    assert (total["numerator"], total["denominator"]) == (approx(TOTAL_COST), None)
    assert total["value"] == approx(TOTAL_COST)
    per = got["maintenance_cost_per_customer"]
    assert (per["numerator"], per["denominator"]) == (approx(TOTAL_COST), E)
    assert per["value"] == approx(TOTAL_COST / E)
    ratio = got["cost_to_serve_ratio"]
    assert (ratio["numerator"], ratio["denominator"]) == (approx(TOTAL_COST), approx(REVENUE))
    assert ratio["value"] == approx(TOTAL_COST / REVENUE * 100)


def test_maintenance_cost_per_customer_by_hand(value_sources) -> None:
    src, con = value_sources
    rows = con.to_pyarrow(customer_costs(src, fx.START, END, rules=RULES)).to_pylist()
    got = {r["customer_id"]: r for r in rows}
    # every customer with a cost or a purchase in the period: c10 bought (20) and cost 0
    assert sorted(got) == [1, 2, 3, 4, 5, 6, 7, 8, 10]
    for customer, parts in COSTS.items():
        row = got[customer]
        assert tuple(row[f"cost_{k}"] for k in ("interactions", "tickets", "deliveries", "points"))\
            == approx(parts), customer  # fmt: skip
        assert row["cost_to_serve"] == approx(sum(parts))
    assert (got[1]["cost_revenue"], got[1]["cost_to_serve_ratio"]) == (400, approx(93.1 / 4))
    assert got[2]["cost_to_serve_ratio"] is None  # no revenue in the period
    assert (got[10]["cost_to_serve"], got[10]["cost_to_serve_ratio"]) == (0, 0)


def test_maintenance_cost_by_segment(value_sources) -> None:
    ids = ["maintenance_cost", "maintenance_cost_per_customer", "cost_to_serve_ratio"]
    got = metrics(value_sources, ids, by=True)
    # (customers, E in the segment, net revenue in the period)
    cities = {
        "上海": ([1, 2, 7], 2, 400.0),
        "北京": ([3, 4], 2, 190.0),
        "广州": ([5, 6], 2, 350.0),
        None: ([8], 1, 20.0),
    }
    for city, (members, active, revenue) in cities.items():
        cost = sum(sum(COSTS[c]) for c in members)
        assert got[("maintenance_cost", city)]["value"] == approx(cost), city
        assert got[("maintenance_cost_per_customer", city)]["value"] == approx(cost / active)
        assert got[("cost_to_serve_ratio", city)]["value"] == approx(cost / revenue * 100)


def test_cost_to_serve_ratio_is_null_without_revenue(value_sources) -> None:
    # [2024-06-10, 2024-06-20): c2's e-mail (2) and no purchase; E as of 2024-06-20 =
    # {c1, c3, c4, c5, c6, c7} (c10 buys only on 06-30)
    period = Period(D(2024, 6, 10), D(2024, 6, 20))
    ids = ["maintenance_cost", "maintenance_cost_per_customer", "cost_to_serve_ratio"]
    got = metrics(value_sources, ids, period)
    assert got["maintenance_cost"]["value"] == approx(2)
    assert got["maintenance_cost_per_customer"]["value"] == approx(2 / 6)
    ratio = got["cost_to_serve_ratio"]
    assert (ratio["numerator"], ratio["denominator"], ratio["value"]) == (approx(2), 0, None)


def test_cost_metrics_over_zero_customers(value_sources) -> None:
    ids = [
        "relationship_depth",
        "maintenance_cost",
        "maintenance_cost_per_customer",
        "cost_to_serve_ratio",
        "social_share_rate",
        "social_interactions_per_customer",
    ]
    got = metrics(value_sources, ids, fx.EMPTY_PERIOD)
    assert got["maintenance_cost"]["value"] == 0  # a total over nothing is 0
    rates = [m for m in ids if m != "maintenance_cost"]  # nobody active: null, never 0
    assert {m: got[m]["value"] for m in rates} == dict.fromkeys(rates)


def test_unit_costs_come_from_the_rules(value_sources) -> None:
    costs = RULES.costs.model_copy(update={"point_value": 0.1})
    rules = RULES.model_copy(update={"costs": costs})
    got = metrics(value_sources, ["maintenance_cost"], rules=rules)
    # 700 points redeemed in the period, now worth 70 instead of 7
    assert got["maintenance_cost"]["value"] == approx(TOTAL_COST - 7 + 70)


# --- social reach ------------------------------------------------------------------------


def test_social_share_rate(value_sources) -> None:
    # c1 (two shares), c3 (two social interactions), c8 (one, not a buyer but counted);
    # c4's like is not a share, c5's share is before start, c9's interaction at END
    r = metrics(value_sources, ["social_share_rate"])["social_share_rate"]
    assert (r["numerator"], r["denominator"]) == (3, E)
    assert r["value"] == approx(300 / 7)
    by = metrics(value_sources, ["social_share_rate"], by=True)
    expected = {"上海": (1, 2), "北京": (1, 2), "广州": (0, 2), None: (1, 1)}
    got = {city: (by[("social_share_rate", city)]["numerator"],
                  by[("social_share_rate", city)]["denominator"]) for city in expected}  # fmt: skip
    assert got == expected


def test_social_interactions_per_customer(value_sources) -> None:
    # E1, E2 (c1), I101, I102 (c3), I104 (c8)
    r = metrics(value_sources, ["social_interactions_per_customer"])[
        "social_interactions_per_customer"
    ]
    assert (r["numerator"], r["denominator"], r["value"]) == (5, E, approx(5 / 7))


# --- the snapshot ------------------------------------------------------------------------


def test_depth_and_cost_cover_every_customer_of_the_snapshot(value_sources) -> None:
    src, con = value_sources
    rows = con.to_pyarrow(depth_and_cost(src, fx.AS_OF, rules=RULES)).to_pylist()
    assert sorted(r["customer_id"] for r in rows) == list(range(1, 11))
    assert list(rows[0]) == ["customer_id", *DEPTH_COLUMNS, *COST_COLUMNS]
    # nobody is without a cost figure: 0 when nothing was spent
    assert all(r["cost_to_serve"] is not None for r in rows)


def test_snapshot_components_hold_depth_and_cost(analytics_sqlite_url, analytics_data_dir):
    # scoring on the fixture store as of AS_OF: c1's cost over [2023-09-02, 2024-09-01) is
    # phone 8 + chat 3 + visit 40, tickets T1 and T7 (high, 40 each), e-mail and SMS 0.05
    # each = 131.1 against 200 + 150 + 250 = 600 of revenue
    settings = analytics_settings(database_url=analytics_sqlite_url, data_dir=analytics_data_dir)
    scores = scoring.compute(settings, fx.AS_OF, rules=RULES)
    docs = scoring.components(scores).to_pylist()
    ids = scores.column("customer_id").to_pylist()
    c1 = expand(docs[ids.index(1)])
    assert c1["cost"] == {
        "total": approx(131.1),
        "interactions": 51,
        "tickets": 80,
        "deliveries": approx(0.1),
        "points": 0,
        "revenue": 600,
        "ratio": approx(131.1 / 6),
    }
    assert c1["depth"]["tenure"] == approx(tenure(D(2023, 3, 10, 12), fx.AS_OF), abs=1e-4)
    assert c1["depth"]["cross_buy"] is None  # the fixture store has no products
    c8 = expand(docs[ids.index(8)])
    assert c8["depth"]["tenure"] is None and c8["depth"]["score"] is not None


def test_one_more_purchase_never_lowers_a_buyers_depth() -> None:
    # c7 buys again on 2024-06-10 in the app, a line of 食品: frequency 5/7 → 6/7 (two
    # purchases, like c4), cross-buy 0 → 1/3, channels tmall → tmall, app; tenure unchanged
    order = {**fx.ORDERS[13], "id": 99, "external_id": "SO0099", "channel": "app",
             "ordered_at": D(2024, 6, 10, 12), "created_at": D(2024, 6, 10, 12)}  # fmt: skip
    assert fx.ORDERS[13]["customer_id"] == 7
    line = {"id": 99, "order_id": 99, "line_no": 1, "product_id": 2, "quantity": 1,
            "unit_price": 10.0, "net_amount": 10.0}  # fmt: skip
    before = {**fx.TABLES, **OVERLAY}
    after = {
        **before,
        "orders": [*fx.ORDERS, order],
        "order_items": [*OVERLAY["order_items"], _rows("order_items", line)[0]],
    }
    depths = []
    for tables in (before, after):
        src, con = memory_sources(tables)
        rows = con.to_pyarrow(depth_components(src, END, rules=RULES)).to_pylist()
        depths.append(next(r for r in rows if r["customer_id"] == 7))
    old, new = depths
    assert (new["depth_frequency"], new["depth_cross_buy"], new["depth_channels"]) == (
        approx(TWO),
        approx(100 / 3),
        50,
    )
    assert new["depth_tenure"] == approx(old["depth_tenure"])
    assert new["relationship_depth"] > old["relationship_depth"]
