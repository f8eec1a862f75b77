"""Every metric of METRICS.md on the fixture company, with its value worked out by hand.

The company and its boundaries are described in :mod:`tests.analytics.fixture_data`:
PERIOD = [2023-12-31 16:00, 2024-06-30 16:00) UTC (2024-01..2024-06 in Shanghai), 182
days; W = 365 days. The sets every customer metric starts from:

    S = {c1, c2, c7}   purchases in [2022-12-31 16:00, 2023-12-31 16:00); c6's purchase at
                       exactly start is in the period, c9's 2022-11-15 is too early
    E = {c1, c3, c4, c5, c6, c7, c10}
                       purchases in [2023-07-01 16:00, 2024-06-30 16:00); c9's purchase at
                       exactly end is outside, c2's last purchase is 2023-02-01
    N = {c4, c5, c6, c10}
                       first purchase in the period; c3 (first purchase 2021) is reactivated,
                       not new; c5's cancelled and refunded orders are not purchases
    S ∩ E = {c1, c7}

Purchases in the period: c1 150 + 250, c3 90, c4 60 + 40 (70 less 30 refunded), c5 300,
c6 50, c10 20 — 8 purchases, 960.00, by 6 buyers.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest

import rapport.analytics
from rapport.analytics.metrics import METRICS, UNITS, definition, evaluate, metric_expr
from rapport.analytics.periods import Period
from rapport.analytics.sources import Sources
from rapport.config import Rules, load_rules
from rapport.errors import ValidationFailed
from tests.analytics import fixture_data as fx
from tests.analytics import test_metrics_value
from tests.analytics.memory import memory_sources

MONTHS = 182 / 30.4375  # months in PERIOD


@pytest.fixture
def rules() -> Rules:
    return load_rules()


def row(
    sources: tuple[Sources, Any],
    metric: str,
    rules: Rules,
    period: Period = fx.PERIOD,
) -> dict[str, Any]:
    src, con = sources
    (only,) = evaluate([metric], src, period, rules=rules, con=con).to_pylist()
    return only


def value(sources: tuple[Sources, Any], metric: str, rules: Rules, **kw: Any) -> Any:
    return row(sources, metric, rules, **kw)["value"]


approx = pytest.approx


# --- stickiness and base ----------------------------------------------------------------


def test_customers_start(sources, rules):
    # S = {c1, c2, c7}: purchases in [2022-12-31 16:00, 2023-12-31 16:00)
    # (c1 2023-03-10 and 2023-09-15, c2 2023-02-01, c7 2023-08-20). c6 bought at exactly
    # 2023-12-31 16:00 = start, which belongs to the period, not to the base before it.
    r = row(sources, "customers_start", rules)
    assert r == {"metric": "customers_start", "numerator": 3, "denominator": None, "value": 3}


def test_customers_end(sources, rules):
    # E: purchases in [2023-07-01 16:00, 2024-06-30 16:00):
    # c1 (2024-05-20), c3 (2024-03-03), c4 (2024-04-12), c5 (2024-06-01), c6 (start),
    # c7 (2023-08-20), c10 (2024-06-30 15:59:59) = 7. c9 bought at exactly end: outside.
    assert value(sources, "customers_end", rules) == 7


def test_customers_new(sources, rules):
    # First purchase in the period: c4 (2024-01-25), c5 (2024-06-01 — its cancelled
    # 2024-02-01 and refunded 2024-03-01 orders are no purchases), c6 (at start),
    # c10 (a second before end) = 4. c3 bought first in 2021: reactivated, not new.
    assert value(sources, "customers_new", rules) == 4


def test_retention_rate_is_the_seed_formula(sources, rules):
    # (E - N) / S * 100 = (7 - 4) / 3 * 100 = 100.0 — the reactivated c3 counts in E - N
    # although it was not in S, which is why cohort_retention exists.
    r = row(sources, "retention_rate", rules)
    assert (r["numerator"], r["denominator"]) == (3, 3)
    assert r["value"] == approx(100.0)


def test_cohort_retention(sources, rules):
    # |S ∩ E| / S * 100 = |{c1, c7}| / |{c1, c2, c7}| * 100 = 2 / 3 * 100 = 66.67
    r = row(sources, "cohort_retention", rules)
    assert (r["numerator"], r["denominator"]) == (2, 3)
    assert r["value"] == approx(200 / 3)


def test_churn_rate(sources, rules):
    # (S - |S ∩ E|) / S * 100 = (3 - 2) / 3 * 100 = 33.33 (c2 lapsed)
    r = row(sources, "churn_rate", rules)
    assert (r["numerator"], r["denominator"]) == (1, 3)
    assert r["value"] == approx(100 / 3)


def test_customer_growth_rate(sources, rules):
    # (E - S) / S * 100 = (7 - 3) / 3 * 100 = 133.33
    r = row(sources, "customer_growth_rate", rules)
    assert (r["numerator"], r["denominator"]) == (4, 3)
    assert r["value"] == approx(400 / 3)


def test_repurchase_rate(sources, rules):
    # Buyers in the period: c1 (2), c3 (1), c4 (2), c5 (1), c6 (1), c10 (1) = 6;
    # with >= 2 purchases: c1, c4 = 2 → 2 / 6 * 100 = 33.33
    r = row(sources, "repurchase_rate", rules)
    assert (r["numerator"], r["denominator"]) == (2, 6)
    assert r["value"] == approx(100 / 3)


def test_purchase_frequency(sources, rules):
    # 8 purchases / 6 buyers = 1.3333 (a ratio, not a percent)
    r = row(sources, "purchase_frequency", rules)
    assert (r["numerator"], r["denominator"]) == (8, 6)
    assert r["value"] == approx(8 / 6)


def test_average_order_value_uses_net_amounts(sources, rules):
    # Revenue = 150 + 250 (c1) + 90 (c3) + 60 + 40 (c4: 70 less 30 refunded) + 300 (c5:
    # 320 less a 20 discount) + 50 (c6) + 20 (c10) = 960; 960 / 8 purchases = 120.00.
    # The cancelled 500 and the refunded 200 of c5 are not purchases.
    r = row(sources, "average_order_value", rules)
    assert r["numerator"] == approx(960.0)
    assert r["denominator"] == 8
    assert r["value"] == approx(120.0)


def test_conversion_rate(sources, rules):
    # Leads created in the period: L1, L2, L3, L5, L6 = 5 (L4 was created in 2023, L7 at
    # exactly end). Converted before end: L1 (2024-01-20), L5 (2024-05-25) = 2; L2 converts
    # on 2024-08-01, after end → 2 / 5 * 100 = 40.0
    r = row(sources, "conversion_rate", rules)
    assert (r["numerator"], r["denominator"]) == (2, 5)
    assert r["value"] == approx(40.0)


def test_clv_simple(sources, rules):
    # aov * purchase_frequency = revenue / buyers = 960 / 6 = 160 a buyer in the period;
    # purchases per year: * 365.25 / 182 → yearly value 160 * 365.25 / 182 = 321.0989.
    # Churn over [2023-07-01 16:00, 2024-06-30 16:00): active at 2023-07-01 16:00 (purchase
    # in [2022-07-01 16:00, 2023-07-01 16:00)) = {c1, c2, c9}; still active at end: c1 →
    # churn = 2 / 3, lifespan = 1 / (2/3) = 1.5 years; margin 1.0 →
    # clv = 321.0989 * 1.5 = 481.648
    r = row(sources, "clv_simple", rules)
    assert r["numerator"] == approx(160 * 365.25 / 182)
    assert r["denominator"] == approx(2 / 3)
    assert r["value"] == approx(160 * 365.25 / 182 * 1.5)


def test_clv_simple_applies_the_gross_margin(sources, rules):
    # Same as above with gross_margin 0.4: 481.648 * 0.4 = 192.659
    business = rules.business.model_copy(update={"gross_margin": 0.4})
    half = rules.model_copy(update={"business": business})
    assert value(sources, "clv_simple", half) == approx(160 * 365.25 / 182 * 1.5 * 0.4)


def test_clv_simple_caps_the_lifespan_at_ten_years(sources, rules):
    # With a 730-day activity window: the churn base (a purchase in [2021-07-01 16:00,
    # 2023-07-01 16:00)) is {c1, c2, c9} (c3's 2021-05-01 is too early), and all three are
    # still active at end (a purchase in [2022-07-01 16:00, 2024-06-30 16:00): c1 2024-05-20,
    # c2 2023-02-01, c9 2022-11-15) → churn 0, lifespan capped at 10 years:
    # denominator = 1/10, value = 160 * 365.25 / 182 * 10 = 3210.99
    activity = rules.activity.model_copy(update={"window_days": 730})
    long = rules.model_copy(update={"activity": activity})
    r = row(sources, "clv_simple", long)
    assert r["denominator"] == approx(0.1)
    assert r["value"] == approx(160 * 365.25 / 182 * 10)


# --- surveys ----------------------------------------------------------------------------


def test_nps_takes_each_customers_latest_answer(sources, rules):
    # nps answers in the period: c1 6 (2024-02-01) then 10 (2024-05-01) → 10 counts;
    # c3 9, c4 7, c5 3. (c7's 0 is before the period, c2's 2 after it.)
    # Respondents 4; promoters c1, c3 = 2; detractors c5 = 1;
    # NPS = (2 - 1) / 4 * 100 = 25.0. (With c1's first answer it would be -25.)
    r = row(sources, "nps", rules)
    assert (r["numerator"], r["denominator"]) == (1, 4)
    assert r["value"] == approx(25.0)


def test_nps_of_the_metrics_md_example(rules):
    # METRICS.md: [10,10,9,9,9,8,7,6,3,0] → promoters 5/10 = 50 %, detractors 3/10 = 30 %,
    # NPS = 20.
    scores = [10, 10, 9, 9, 9, 8, 7, 6, 3, 0]
    tables = {name: [] for name in fx.TABLES}
    tables["survey_responses"] = [
        {
            **dict.fromkeys(fx.SURVEY_RESPONSES[0]),
            "id": i,
            "customer_id": i,
            "kind": "nps",
            "score": float(score),
            "scale_min": 0.0,
            "scale_max": 10.0,
            "responded_at": fx.PERIOD.start,
        }
        for i, score in enumerate(scores, start=1)
    ]
    src, con = memory_sources(tables)
    (r,) = evaluate(["nps"], src, fx.PERIOD, rules=rules, con=con).to_pylist()
    assert (r["numerator"], r["denominator"]) == (2, 10)
    assert r["value"] == approx(20.0)


def test_csat_counts_the_top_two_points_of_each_scale(sources, rules):
    # csat responses in the period (c7's at exactly end is out):
    #   c1 5 of 1–5 ✓, c1 3 of 1–5 ✗, c3 3 of 1–5 ✗, c4 4 of 1–5 ✓,
    #   c5 9 of 1–10 ✓ (top two: 9–10), c6 6 of 1–7 ✓ (top two: 6–7)
    # → 4 / 6 * 100 = 66.67
    r = row(sources, "csat", rules)
    assert (r["numerator"], r["denominator"]) == (4, 6)
    assert r["value"] == approx(400 / 6)


def test_satisfaction_index(sources, rules):
    # Normalized = 100 * (score - min) / (max - min):
    #   c1 5/1–5 → 100, c1 3/1–5 → 50, c3 3/1–5 → 50, c4 4/1–5 → 75,
    #   c5 9/1–10 → 800/9 = 88.89, c6 6/1–7 → 500/6 = 83.33
    # mean = (100 + 50 + 50 + 75 + 88.89 + 83.33) / 6 = 447.22 / 6 = 74.54
    total = 100 + 50 + 50 + 75 + 800 / 9 + 500 / 6
    r = row(sources, "satisfaction_index", rules)
    assert r["numerator"] == approx(total)
    assert r["denominator"] == 6
    assert r["value"] == approx(total / 6)


def test_perceived_value(sources, rules):
    # c1 8 of 0–10 → 80, c4 3 of 1–5 → 50; mean = 65.0
    r = row(sources, "perceived_value", rules)
    assert (r["numerator"], r["denominator"]) == (130, 2)
    assert r["value"] == approx(65.0)


def test_expectation_gap_averages_per_customer_gaps(sources, rules):
    # Customers with both csat and expectation answers in the period:
    #   c1: csat mean (100 + 50) / 2 = 75, expectation 4/1–5 = 75 → gap 0
    #   c3: csat 50, expectation 4/1–5 = 75 → gap -25
    #   c6: csat 83.33, expectation 7/1–7 = 100 → gap -16.67
    # (c2 has an expectation but no csat: left out.)
    # mean gap = (0 - 25 - 16.67) / 3 = -13.89 (expectations not met)
    r = row(sources, "expectation_gap", rules)
    assert r["numerator"] == approx(-25 - 100 / 6)
    assert r["denominator"] == 3
    assert r["value"] == approx((-25 - 100 / 6) / 3)


# --- engagement -------------------------------------------------------------------------


def test_complaint_rate(sources, rules):
    # Complaint tickets opened in the period: t1 (c1), t2 (c2), t3 and t4 (both c3) →
    # customers {c1, c2, c3} = 3 (c4's t6 is from 2023-12-01). c2 is not in E but counts.
    # 3 / E = 3 / 7 * 100 = 42.86
    r = row(sources, "complaint_rate", rules)
    assert (r["numerator"], r["denominator"]) == (3, 7)
    assert r["value"] == approx(300 / 7)


def test_interaction_frequency(sources, rules):
    # Interactions in the period: c1 ×3, c3, c8, c2 = 6 (one a second before start and one
    # at exactly end are out). months = 182 / 30.4375 = 5.9795;
    # 6 / E / months = 6 / 7 / 5.9795 = 0.1433 interactions per active customer per month
    r = row(sources, "interaction_frequency", rules)
    assert r["numerator"] == 6
    assert r["denominator"] == approx(7 * MONTHS)
    assert r["value"] == approx(6 / 7 / MONTHS)


def test_email_open_rate(sources, rules):
    # E-mail deliveries sent in the period and delivered: d1 (c1), d2 (c3), d3 (c4),
    # d6 (c6) = 4. Out: d4 bounced, d5 holdout (never sent), d7 sms, d8 sent in 2023.
    # Opened before end: d1, d2 (d6 was opened on 2024-07-02) → 2 / 4 * 100 = 50.0
    r = row(sources, "email_open_rate", rules)
    assert (r["numerator"], r["denominator"]) == (2, 4)
    assert r["value"] == approx(50.0)


def test_email_click_rate(sources, rules):
    # Same 4 deliveries; clicked: d1 → 1 / 4 * 100 = 25.0 (d7's click is an sms)
    r = row(sources, "email_click_rate", rules)
    assert (r["numerator"], r["denominator"]) == (1, 4)
    assert r["value"] == approx(25.0)


def test_referral_rate(sources, rules):
    # Referrals in the period: c1 → L6, c1 → c10, c2 → L3 → referrers {c1, c2} = 2
    # (c9's referral is from 2023). 2 / E = 2 / 7 * 100 = 28.57
    r = row(sources, "referral_rate", rules)
    assert (r["numerator"], r["denominator"]) == (2, 7)
    assert r["value"] == approx(200 / 7)


# --- service ----------------------------------------------------------------------------


def test_first_response_time(sources, rules):
    # Tickets opened in the period: t1, t2, t3, t4, t5, t8 = 6 (t6, t7 opened in 2023).
    # Hours to first response: t1 2, t2 30, t3 1, t5 4, t8 24; t4 never answered → left
    # out of the median, counted in the denominator. Sorted [1, 2, 4, 24, 30] → median 4.
    r = row(sources, "first_response_time", rules)
    assert (r["numerator"], r["denominator"]) == (5, 6)
    assert r["value"] == approx(4.0)


def test_resolution_time(sources, rules):
    # Hours to resolution, tickets opened in the period: t1 24, t2 72, t3 24, t8 96 (closed
    # without a resolution stamp: closed_at counts); t4 never resolved, t5 resolved only
    # after end. Sorted [24, 24, 72, 96] → median (24 + 72) / 2 = 48.
    r = row(sources, "resolution_time", rules)
    assert (r["numerator"], r["denominator"]) == (4, 6)
    assert r["value"] == approx(48.0)


def test_sla_attainment(sources, rules):
    # Tickets whose resolution due time is in the period: t1, t2, t3, t4, t7 (opened in 2023,
    # due 2024-01-01 00:00), t8 (no stored due times: low = 48 h / 240 h → due 2024-06-11)
    # = 6; t5 is due 2024-07-03, t6 in 2023.
    #   t1 answered 2 h ≤ 8, resolved 24 h ≤ 48 → met
    #   t2 answered after 30 h > 24 → missed
    #   t3 resolved after 24 h > 12 → missed
    #   t4 never answered, past due at end → missed
    #   t7 answered 4 h ≤ 8, resolved at exactly its due time → met
    #   t8 answered 24 h ≤ 48, closed after 96 h ≤ 240 → met
    # → 3 / 6 * 100 = 50.0
    r = row(sources, "sla_attainment", rules)
    assert (r["numerator"], r["denominator"]) == (3, 6)
    assert r["value"] == approx(50.0)


def test_sla_attainment_uses_the_rules_where_no_due_time_is_stored(sources, rules):
    # With a 12 h response target for low priority, t8 (answered after 24 h, no stored due
    # times) misses: 2 / 6 * 100 = 33.33. The stored due times of the others win.
    hours = {**rules.sla.first_response_hours, "low": 12.0}
    sla = rules.sla.model_copy(update={"first_response_hours": hours})
    strict = rules.model_copy(update={"sla": sla})
    r = row(sources, "sla_attainment", strict)
    assert (r["numerator"], r["denominator"]) == (2, 6)


# --- nulls, registry, evaluation --------------------------------------------------------


def test_every_metric_is_covered_here():
    # depth, cost and social reach are worked out in test_metrics_value.py
    names = [*globals(), *vars(test_metrics_value)]
    tested = {name.removeprefix("test_") for name in names if name.startswith("test_")}
    missing = [m for m in METRICS if not any(t.startswith(m) for t in tested)]
    assert missing == []


def test_counts_are_zero_and_rates_null_over_an_empty_period(sources, rules):
    # EMPTY_PERIOD (January 2030) and its activity windows hold no data: S = E = N = 0, the
    # total maintenance_cost is 0, and every other metric has an empty or zero denominator
    # → null, never 0, never an error.
    src, con = sources
    rows = evaluate(list(METRICS), src, fx.EMPTY_PERIOD, rules=rules, con=con).to_pylist()
    values = {r["metric"]: r["value"] for r in rows}
    counts = {"customers_start", "customers_end", "customers_new", "maintenance_cost"}
    assert {m: values[m] for m in counts} == dict.fromkeys(counts, 0)
    assert {m: v for m, v in values.items() if m not in counts} == dict.fromkeys(
        set(METRICS) - counts
    )


def test_rates_are_null_over_a_zero_length_period(sources, rules):
    # [start, start): S = E = {c1, c2, c7} (both are "active at start"), so S = 3 and
    # cohort retention = 3 / 3 * 100 = 100; no purchase lies in the period → average order
    # value null; 0 months → interaction frequency null.
    src, con = sources
    instant = Period(fx.PERIOD.start, fx.PERIOD.start)
    rows = evaluate(
        ["customers_start", "cohort_retention", "average_order_value", "interaction_frequency"],
        src,
        instant,
        rules=rules,
        con=con,
    ).to_pylist()
    assert [r["value"] for r in rows] == [3, approx(100.0), None, None]


def test_evaluate_returns_rows_in_the_order_asked(sources, rules):
    src, con = sources
    ids = ["nps", "customers_end", "churn_rate"]
    table = evaluate(ids, src, fx.PERIOD, rules=rules, con=con)
    assert table.column_names == ["metric", "numerator", "denominator", "value"]
    assert table.column("metric").to_pylist() == ids


def test_evaluate_refuses_an_unknown_metric(sources, rules):
    src, con = sources
    with pytest.raises(ValidationFailed, match="unknown metric 'retention'") as caught:
        evaluate(["retention"], src, fx.PERIOD, rules=rules, con=con)
    assert "retention_rate" in caught.value.hint


def test_metric_expressions_are_built_without_running(sources, rules):
    src, _ = sources
    expr = metric_expr("retention_rate", src, fx.PERIOD, rules=rules)
    assert expr.columns == ("metric", "numerator", "denominator", "value")
    assert all(str(expr.schema()[c]) == "float64" for c in expr.columns[1:])


def test_registry_defines_every_metric_of_metrics_md():
    assert list(METRICS) == [
        "customers_start", "customers_end", "customers_new", "retention_rate",
        "cohort_retention", "churn_rate", "customer_growth_rate", "repurchase_rate",
        "purchase_frequency", "average_order_value", "conversion_rate", "nps", "csat",
        "satisfaction_index", "complaint_rate", "interaction_frequency", "email_open_rate",
        "email_click_rate", "referral_rate", "first_response_time", "resolution_time",
        "sla_attainment", "perceived_value", "expectation_gap", "clv_simple",
        "relationship_depth", "maintenance_cost", "maintenance_cost_per_customer",
        "cost_to_serve_ratio", "social_share_rate", "social_interactions_per_customer",
    ]  # fmt: skip
    for metric_id, d in METRICS.items():
        assert d.id == metric_id == d.function.__name__
        assert d.unit in UNITS
        assert d.label_zh and d.label_en and d.formula
        assert d.function.__doc__
    assert definition("nps").label_zh == "净推荐值"


def test_evaluate_without_con_runs_on_the_tables_own_backend(sources, rules):
    src, con = sources
    ids = ["customers_end", "nps"]
    explicit = evaluate(ids, src, fx.PERIOD, rules=rules, con=con).to_pylist()
    assert evaluate(ids, src, fx.PERIOD, rules=rules).to_pylist() == explicit


ANALYTICS = Path(rapport.analytics.__file__).parent
DOCS = Path(__file__).resolve().parents[2] / "docs"
METRIC_MODULES = [
    "periods.py",
    "metrics.py",
    "metrics_base.py",
    "metrics_customers.py",
    "metrics_surveys.py",
    "metrics_engagement.py",
    "metrics_service.py",
    "metrics_value.py",
    "depth.py",
    "costs.py",
    "cohorts.py",
    "funnel.py",
]
BACKENDS = {"duckdb", "postgres", "pyspark", "sqlite", "datafusion", "polars", "trino"}
RUNNERS = {"execute", "to_pyarrow", "to_pandas", "to_polars", "raw_sql", "sql", "collect"}


@pytest.mark.parametrize("module", METRIC_MODULES)
def test_metric_code_is_engine_blind_and_runs_nothing_outside_execute(module):
    tree = ast.parse((ANALYTICS / module).read_text(encoding="utf-8"))
    imported = {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    } | {
        node.module.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module
    }
    assert not imported & (BACKENDS | {"sqlalchemy", "psycopg"})
    backends = [
        n.attr
        for n in ast.walk(tree)
        if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name) and n.value.id == "ibis"
    ]
    assert not set(backends) & BACKENDS
    runners = []
    for function in (n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)):
        if function.name == "execute":
            continue
        runners += [
            n.func.attr
            for n in ast.walk(function)
            if isinstance(n, ast.Call)
            and isinstance(n.func, ast.Attribute)
            and n.func.attr in RUNNERS
        ]
    assert runners == []


def test_docs_describe_every_metric():
    doc = (DOCS / "metrics.md").read_text(encoding="utf-8")
    headings = [line for line in doc.splitlines() if line.startswith("### ")]
    for metric_id, d in METRICS.items():
        assert any(f"`{metric_id}`" in h for h in headings), metric_id
        assert d.label_zh in doc, metric_id


def test_a_result_fetched_in_batches_is_the_result_fetched_whole(sources) -> None:
    import ibis

    from rapport.analytics.metrics import execute

    src, con = sources
    o = src.orders
    # a count, a sum of integers (a decimal on DuckDB), a small integer and a string
    expr = (
        o.group_by("customer_id")
        .agg(
            orders=o.count(),
            cents=(o.net_amount * 100).round().cast("int64").sum(),
            first=o.ordered_at.min(),
            statuses=o.status.nunique().cast("int16"),
            channel=o.channel.max(),
        )
        .order_by("customer_id")
    )
    whole = execute(expr, con)
    assert whole.num_rows > 6
    batched = execute(expr, con, batch_rows=3)
    assert batched.schema == whole.schema == expr.schema().to_pyarrow()
    assert batched.to_pylist() == whole.to_pylist()
    none = execute(expr.filter(ibis.literal(False)), con, batch_rows=3)
    assert none.num_rows == 0 and none.schema == whole.schema
