"""Metrics per segment: ``by`` is a table ``customer_id, segment``.

The segments are the customers' cities; c8 and c10 have no city, so they have no row in
``by`` and fall into the null segment:

    上海 = {c1, c2, c7}    北京 = {c3, c4, c9}    广州 = {c5, c6}    null = {c8, c10}

From the sets of test_metrics.py: S = {c1, c2, c7}, E = {c1, c3, c4, c5, c6, c7, c10},
N = {c4, c5, c6, c10}.
"""

from __future__ import annotations

from typing import Any

import ibis
import pytest

from rapport.analytics.metrics import evaluate
from rapport.analytics.sources import Sources
from rapport.config import Rules, load_rules
from tests.analytics import fixture_data as fx

SH, BJ, GZ = "上海", "北京", "广州"
approx = pytest.approx


@pytest.fixture
def rules() -> Rules:
    return load_rules()


def by_city(src: Sources) -> ibis.Table:
    c = src.customers
    return c.filter(c.city.notnull()).select(customer_id=c.id, segment=c.city)


def segments(
    sources: tuple[Sources, Any], metric: str, rules: Rules, by: ibis.Table | None = None
) -> dict[str | None, tuple[float | None, float | None, float | None]]:
    """``{segment: (numerator, denominator, value)}`` of ``metric`` over PERIOD."""
    src, con = sources
    by = by if by is not None else by_city(src)
    table = evaluate([metric], src, fx.PERIOD, rules=rules, by=by, con=con)
    assert table.column_names == ["metric", "segment", "numerator", "denominator", "value"]
    return {r["segment"]: (r["numerator"], r["denominator"], r["value"]) for r in table.to_pylist()}


def test_counts_split_by_segment_and_customers_without_a_row_go_to_null(sources, rules):
    # E = 上海 {c1, c7} 2, 北京 {c3, c4} 2, 广州 {c5, c6} 2, null {c10} 1 — summing to 7.
    got = segments(sources, "customers_end", rules)
    assert {k: v[2] for k, v in got.items()} == {SH: 2, BJ: 2, GZ: 2, None: 1}


def test_segment_rates_are_null_where_the_segment_has_no_base(sources, rules):
    # retention (E - N) / S per segment:
    #   上海: S {c1, c2, c7} = 3, E {c1, c7} = 2, N = 0 → (2 - 0) / 3 * 100 = 66.67
    #   北京: S = 0, E {c3, c4}, N {c4} → numerator 1, denominator 0 → null
    #   广州: S = 0, E = N = {c5, c6} → 0 / 0 → null
    #   null: S = 0, E = N = {c10} → null
    got = segments(sources, "retention_rate", rules)
    assert got == {
        SH: (2, 3, approx(200 / 3)),
        BJ: (1, 0, None),
        GZ: (0, 0, None),
        None: (0, 0, None),
    }


def test_average_order_value_by_segment(sources, rules):
    # 上海: c1 150 + 250 = 400 / 2 = 200; 北京: c3 90 + c4 60 + 40 = 190 / 3 = 63.33;
    # 广州: c5 300 + c6 50 = 350 / 2 = 175; null: c10 20 / 1 = 20.
    got = segments(sources, "average_order_value", rules)
    assert got == {
        SH: (400, 2, 200),
        BJ: (190, 3, approx(190 / 3)),
        GZ: (350, 2, 175),
        None: (20, 1, 20),
    }


def test_complaint_rate_splits_numerator_and_denominator(sources, rules):
    # Complainers {c1, c2} in 上海, {c3} in 北京; E as above.
    #   上海 2 / 2 * 100 = 100 (c2 complained although not in E); 北京 1 / 2 = 50;
    #   广州 0 / 2 = 0; null 0 / 1 = 0.
    got = segments(sources, "complaint_rate", rules)
    assert got == {SH: (2, 2, 100), BJ: (1, 2, 50), GZ: (0, 2, 0), None: (0, 1, 0)}


def test_nps_by_segment(sources, rules):
    # Latest answers: 上海 c1 10 → 1 promoter of 1 = 100; 北京 c3 9, c4 7 → (1 - 0) / 2 = 50;
    # 广州 c5 3 → -100. No respondent without a segment: no null row.
    got = segments(sources, "nps", rules)
    assert got == {SH: (1, 1, 100), BJ: (1, 2, 50), GZ: (-1, 1, -100)}


def test_interaction_frequency_by_segment(sources, rules):
    # 上海: c1 ×3 + c2 = 4 interactions / (E 2 × 5.9795 months) = 0.3345;
    # 北京: c3 1 / (2 × 5.9795) = 0.0836; 广州: 0; null: c8 1 / (c10 1 × 5.9795) = 0.1672
    months = 182 / 30.4375
    got = segments(sources, "interaction_frequency", rules)
    assert {k: v[2] for k, v in got.items()} == {
        SH: approx(4 / (2 * months)),
        BJ: approx(1 / (2 * months)),
        GZ: 0,
        None: approx(1 / months),
    }


def test_conversion_rate_takes_the_converted_customers_segment(sources, rules):
    # Leads of the period: L1 → c4 (北京) converted; L5 → c5 (广州) converted; L2 (converted
    # into c8 after end, no segment row), L3 and L6 (not converted) → null: 0 / 3.
    got = segments(sources, "conversion_rate", rules)
    assert got == {BJ: (1, 1, 100), GZ: (1, 1, 100), None: (0, 3, 0)}


def test_first_response_time_by_segment(sources, rules):
    # Tickets opened in the period by segment: 上海 t1 (c1) 2 h, t2 (c2) 30 h, t8 (c7) 24 h
    # → median 24; 北京 t3 (c3) 1 h, t4 (c3) unanswered → median 1 of 1 answered (2 opened);
    # 广州 t5 (c5) 4 h.
    got = segments(sources, "first_response_time", rules)
    assert got == {SH: (3, 3, 24), BJ: (1, 2, 1), GZ: (1, 1, 4)}


def test_clv_simple_by_segment(sources, rules):
    # 上海: buyers in the period {c1} with 400 → yearly 400 * 365.25 / 182 = 802.75;
    #   churn base {c1, c2}, c2 lapsed → churn 1/2, lifespan 2 → 1605.49
    # 北京: buyers {c3, c4}, 190 / 2 = 95 → yearly 190.65; base {c9} lapsed → churn 1,
    #   lifespan 1 → 190.65
    # 广州 and null: nobody active at 2023-07-01 16:00 → churn unknown → null
    got = segments(sources, "clv_simple", rules)
    per_year = 365.25 / 182
    assert got[SH] == (approx(400 * per_year), 0.5, approx(400 * per_year * 2))
    assert got[BJ] == (approx(95 * per_year), 1.0, approx(95 * per_year))
    assert got[GZ] == (approx(175 * per_year), None, None)
    assert got[None] == (approx(20 * per_year), None, None)


def test_a_customer_in_two_segments_counts_in_both(sources, rules):
    # by: c1 in "vip" and "wechat", c7 in "wechat". E: vip {c1} 1, wechat {c1, c7} 2,
    # null (no row) {c3, c4, c5, c6, c10} 5.
    by = ibis.memtable(
        {"customer_id": [1, 1, 7], "segment": ["vip", "wechat", "wechat"]},
        schema={"customer_id": "int64", "segment": "string"},
    )
    got = segments(sources, "customers_end", rules, by=by)
    assert {k: v[2] for k, v in got.items()} == {"vip": 1, "wechat": 2, None: 5}


def test_clv_simple_caps_the_lifespan_in_a_segment_without_churn(sources, rules):
    # by: c1 alone. Churn base {c1}, still active → churn 0 → lifespan 10 years:
    # 400 * 365.25 / 182 * 10 = 8027.47
    by = ibis.memtable(
        {"customer_id": [1], "segment": ["solo"]},
        schema={"customer_id": "int64", "segment": "string"},
    )
    got = segments(sources, "clv_simple", rules, by=by)
    assert got["solo"] == (approx(400 * 365.25 / 182), approx(0.1), approx(4000 * 365.25 / 182))
