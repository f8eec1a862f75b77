"""Series of metrics by day/week/month/quarter, the cohort matrix, the funnel and the
service breakdowns, on the fixture company (see :mod:`tests.analytics.fixture_data`).

Buckets are local calendar units of Shanghai (UTC+8), so each starts at 16:00 UTC of the
day before the local date.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import ibis
import pytest

from rapport.analytics.cohorts import cohort_matrix
from rapport.analytics.funnel import funnel
from rapport.analytics.metrics import execute, series
from rapport.analytics.metrics_service import service_levels
from rapport.analytics.periods import Period
from rapport.config import Rules, load_rules
from rapport.errors import ValidationFailed
from tests.analytics import fixture_data as fx

D = datetime
approx = pytest.approx


@pytest.fixture
def rules() -> Rules:
    return load_rules()


def local_midnight(year: int, month: int, day: int) -> datetime:
    """Midnight of a Shanghai date, in naive UTC."""
    return D(year, month, day) - timedelta(hours=8)


def run_series(sources, rules, metrics, granularity, period=fx.PERIOD, **kw):
    src, con = sources
    return series(metrics, src, period, granularity, rules=rules, con=con, tz=fx.TZ, **kw)


# --- series -----------------------------------------------------------------------------


def test_monthly_new_customers_and_order_value(sources, rules):
    # New customers by local month: January c6 (at 2024-01-01 00:00 local) and c4
    # (2024-01-25); June c5 (2024-06-01) and c10 (2024-06-30 23:59:59 local) → [2,0,0,0,0,2].
    # Order value by month: Jan (50 + 60) / 2 = 55, Feb 150, Mar 90, Apr 40, May 250,
    # Jun (300 + 20) / 2 = 160.
    table = run_series(sources, rules, ["customers_new", "average_order_value"], "month")
    assert table.column_names == [
        "metric", "bucket_start", "bucket_end", "numerator", "denominator", "value",
    ]  # fmt: skip
    rows = table.to_pylist()
    starts = [local_midnight(2024, m, 1) for m in range(1, 7)]
    assert [r["bucket_start"] for r in rows[:6]] == starts
    assert [r["bucket_end"] for r in rows[:6]] == [*starts[1:], fx.PERIOD.end]
    assert [r["metric"] for r in rows] == ["customers_new"] * 6 + ["average_order_value"] * 6
    assert [r["value"] for r in rows[:6]] == [2, 0, 0, 0, 0, 2]
    assert [r["value"] for r in rows[6:]] == [55, 150, 90, 40, 250, 160]


def test_quarterly_bases_are_taken_at_each_quarters_boundaries(sources, rules):
    # Q1 = [2023-12-31 16:00, 2024-03-31 16:00): S = {c1, c2, c7} = 3 as for the half year.
    # Its end 2024-03-31 16:00 (local Apr 1) is Q2's start: purchases in
    # [2023-04-01 16:00, 2024-03-31 16:00) → c1, c3, c4, c6, c7 = 5 (c2's 2023-02-01 is out).
    # Q2's end is PERIOD's end → 7.
    rows = run_series(sources, rules, ["customers_start", "customers_end"], "quarter").to_pylist()
    values = [(r["metric"], r["bucket_start"], r["value"]) for r in rows]
    q2 = local_midnight(2024, 4, 1)
    assert values == [
        ("customers_start", fx.PERIOD.start, 3),
        ("customers_start", q2, 5),
        ("customers_end", fx.PERIOD.start, 5),
        ("customers_end", q2, 7),
    ]


def test_weekly_buckets_are_iso_weeks_clipped_to_the_period(sources, rules):
    # June 2024 local: June 1 is a Saturday → buckets start June 1 (clipped), 3, 10, 17, 24;
    # the last ends with the period at July 1 00:00 local.
    # New customers: c5 on June 1 (20:00 local) and c10 on June 30 (23:59:59 local).
    june = Period.parse("2024-06", tz=fx.TZ)
    rows = run_series(sources, rules, ["customers_new"], "week", period=june).to_pylist()
    assert [r["bucket_start"] for r in rows] == [
        local_midnight(2024, 6, d) for d in (1, 3, 10, 17, 24)
    ]
    assert rows[-1]["bucket_end"] == local_midnight(2024, 7, 1)
    assert [r["value"] for r in rows] == [1, 0, 0, 0, 1]


def test_daily_series_over_many_buckets(sources, rules):
    # 182 daily buckets (run as several queries); the four new customers fall on local
    # January 1 (c6), January 25 (c4), June 1 (c5) and June 30 (c10).
    rows = run_series(sources, rules, ["customers_new"], "day").to_pylist()
    assert len(rows) == 182
    assert sum(r["value"] for r in rows) == 4
    assert [r["bucket_start"] for r in rows if r["value"]] == [
        local_midnight(2024, 1, 1),
        local_midnight(2024, 1, 25),
        local_midnight(2024, 6, 1),
        local_midnight(2024, 6, 30),
    ]


def test_series_by_segment(sources, rules):
    # New customers by quarter and city. Q1: c4 (北京), c6 (广州); Q2: c5 (广州),
    # c10 (no city). A segment appears in a bucket when it has a buyer by the bucket's end:
    # in Q1 上海 (c1, c2, c7), 北京 (c3, c4, c9), 广州 (c6) — c10 only buys in Q2.
    src, _ = sources
    c = src.customers
    by = c.filter(c.city.notnull()).select(customer_id=c.id, segment=c.city)
    rows = run_series(sources, rules, ["customers_new"], "quarter", by=by).to_pylist()
    got = {(r["bucket_start"], r["segment"]): r["value"] for r in rows}
    q1, q2 = fx.PERIOD.start, local_midnight(2024, 4, 1)
    assert got == {
        (q1, "上海"): 0,
        (q1, "北京"): 1,
        (q1, "广州"): 1,
        (q2, "上海"): 0,
        (q2, "北京"): 0,
        (q2, "广州"): 1,
        (q2, None): 1,
    }


def test_series_of_an_empty_period_has_no_rows(sources, rules):
    instant = Period(fx.PERIOD.start, fx.PERIOD.start)
    table = run_series(sources, rules, ["customers_new"], "month", period=instant)
    assert table.num_rows == 0
    assert "bucket_start" in table.column_names


def test_series_refuses_an_unknown_granularity(sources, rules):
    with pytest.raises(ValidationFailed, match="granularity"):
        run_series(sources, rules, ["customers_new"], "fortnight")


# --- cohorts ----------------------------------------------------------------------------


def test_cohort_matrix(sources):
    # Cohorts by local month of first purchase: 2024-01 = {c4, c6} (c6's first purchase is
    # at 2024-01-01 00:00 local), 2024-06 = {c5, c10}; Feb–May have no new buyer.
    # 2024-01 by month since: 0 → both (100 %), 1 and 2 → none, 3 (April) → c4's 40.00
    # order (50 %), 4 and 5 → none. 2024-06 has only its own month: 100 %.
    src, con = sources
    rows = execute(cohort_matrix(src, fx.PERIOD, tz=fx.TZ), con).to_pylist()
    got = [(r["cohort"], r["month_offset"], r["customers"], r["active"], r["share"]) for r in rows]
    assert got == [
        ("2024-01", 0, 2, 2, 100.0),
        ("2024-01", 1, 2, 0, 0.0),
        ("2024-01", 2, 2, 0, 0.0),
        ("2024-01", 3, 2, 1, 50.0),
        ("2024-01", 4, 2, 0, 0.0),
        ("2024-01", 5, 2, 0, 0.0),
        ("2024-06", 0, 2, 2, 100.0),
    ]
    assert rows[0]["cohort_start"] == fx.PERIOD.start
    assert rows[-1]["cohort_start"] == local_midnight(2024, 6, 1)


def test_cohort_matrix_of_an_empty_period(sources):
    src, con = sources
    assert execute(cohort_matrix(src, fx.EMPTY_PERIOD, tz=fx.TZ), con).num_rows == 0


# --- funnel -----------------------------------------------------------------------------


def test_funnel(sources):
    # Leads created in the period: L1, L2, L3, L5, L6 = 5.
    # Converted before end: L1 → c4, L5 → c5 = 2 (40 % of leads).
    # Purchased after the lead's creation and before end: c4 (2024-01-25, 2024-04-12),
    # c5 (2024-06-01) = 2 (100 % of converted). Repeat: c4 = 1 (50 % of purchasers).
    src, con = sources
    rows = execute(funnel(src, fx.PERIOD), con).to_pylist()
    assert rows == [
        {"stage": "leads", "position": 1, "count": 5, "share_of_leads": 100.0,
         "share_of_previous": None},
        {"stage": "converted", "position": 2, "count": 2, "share_of_leads": 40.0,
         "share_of_previous": 40.0},
        {"stage": "purchased", "position": 3, "count": 2, "share_of_leads": 40.0,
         "share_of_previous": 100.0},
        {"stage": "repeat", "position": 4, "count": 1, "share_of_leads": 20.0,
         "share_of_previous": 50.0},
    ]  # fmt: skip


def test_funnel_of_an_empty_period(sources):
    src, con = sources
    rows = execute(funnel(src, fx.EMPTY_PERIOD), con).to_pylist()
    assert [(r["count"], r["share_of_leads"]) for r in rows] == [(0, None)] * 4


# --- service ----------------------------------------------------------------------------


def _levels(sources, rules, dimension):
    src, con = sources
    rows = execute(service_levels(src, fx.PERIOD, rules=rules, dimension=dimension), con)
    return {r.pop(dimension): r for r in rows.to_pylist()}


def test_service_levels_by_priority(sources, rules):
    # Opened in the period (response h / resolution h) and due in the period (met?):
    #   high:   t1 (2 / 24) opened; due t1 ✓, t7 ✓ → 2 / 2 = 100
    #   normal: t2 (30 / 72), t5 (4 / not by end) opened → median response (30 + 4) / 2 = 17,
    #           resolution 72; due t2 ✗ → 0
    #   urgent: t3 (1 / 24); due t3 ✗ → 0
    #   low:    t4 (never), t8 (24 / 96) → medians 24 and 96; due t4 ✗, t8 ✓ → 50
    got = _levels(sources, rules, "priority")
    summary = {
        k: (
            v["tickets_opened"],
            v["answered"],
            v["first_response_hours"],
            v["resolved"],
            v["resolution_hours"],
            v["tickets_due"],
            v["sla_met"],
            v["sla_attainment"],
        )
        for k, v in got.items()
    }
    assert summary == {
        "high": (1, 1, 2.0, 1, 24.0, 2, 2, 100.0),
        "low": (2, 1, 24.0, 1, 96.0, 2, 1, 50.0),
        "normal": (2, 2, 17.0, 1, 72.0, 1, 0, 0.0),
        "urgent": (1, 1, 1.0, 1, 24.0, 1, 0, 0.0),
    }


def test_service_levels_by_channel(sources, rules):
    # phone: t1 (2 / 24), t3 (1 / 24) → medians 1.5 and 24; due t1 ✓, t3 ✗ → 50
    # email: t2, t5 → 17 and 72; due t2 ✗ → 0
    # wechat: t4 unanswered → medians null; due ✗ → 0
    # chat: only t7, opened before the period → nothing opened, medians null; due ✓ → 100
    # no channel: t8 → 24 and 96; due ✓ → 100
    got = _levels(sources, rules, "channel")
    assert {k: (v["first_response_hours"], v["resolution_hours"]) for k, v in got.items()} == {
        "chat": (None, None),
        "email": (17.0, 72.0),
        "phone": (1.5, 24.0),
        "wechat": (None, None),
        None: (24.0, 96.0),
    }
    assert {k: v["sla_attainment"] for k, v in got.items()} == {
        "chat": 100.0,
        "email": 0.0,
        "phone": 50.0,
        "wechat": 0.0,
        None: 100.0,
    }
    assert got["chat"]["tickets_opened"] == 0


def test_service_levels_refuse_an_unknown_dimension(sources, rules):
    src, _ = sources
    with pytest.raises(ValidationFailed, match="assignee") as caught:
        service_levels(src, fx.PERIOD, rules=rules, dimension="assignee")
    assert "priority" in caught.value.hint


def test_metric_results_combine_with_other_expressions(sources, rules):
    # The functions return plain expressions: a caller can join or filter them before
    # anything runs.
    from rapport.analytics.metrics import nps

    src, con = sources
    expr = nps(src, fx.PERIOD, rules=rules).mutate(band=ibis.literal("all"))
    (r,) = execute(expr, con).to_pylist()
    assert (r["band"], r["value"]) == ("all", 25.0)
