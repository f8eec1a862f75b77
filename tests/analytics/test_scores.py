"""Every per-customer score on the fixture company, worked out by hand, on every engine.

As of ``fx.AS_OF`` = 2024-09-01 00:00 UTC with the default rules: W = 365 days, RFM
window [2023-09-02, 2024-09-01), recent engagement window [2024-06-03, 2024-09-01),
satisfaction half-life 180 days. Ages are days from the event to AS_OF, e.g. c1's last
purchase 2024-05-20 12:00 is 103.5 days old.

The fixture has no behaviour events, ticket ratings or programme members; those inputs
are checked in test_degrees.py.
"""

from __future__ import annotations

from typing import Any

import pytest

from rapport.analytics.scores import COMPONENTS, SCORE_COLUMNS, customer_scores
from rapport.analytics.sources import Sources
from rapport.config import load_rules
from tests.analytics import fixture_data as fx

approx = pytest.approx


def half(age_days: float, half_life: float) -> float:
    return 0.5 ** (age_days / half_life)


@pytest.fixture(scope="module")
def scores(sources: tuple[Sources, Any]) -> dict[int, dict[str, Any]]:
    """The snapshot of the fixture company, by customer id (one engine run per engine)."""
    src, con = sources
    rows = con.to_pyarrow(customer_scores(src, fx.AS_OF, rules=load_rules())).to_pylist()
    return {row["customer_id"]: row for row in rows}


def test_every_customer_has_one_row_with_every_column(scores) -> None:
    assert sorted(scores) == list(range(1, 11))
    expected = [*SCORE_COLUMNS, *(c for group in COMPONENTS.values() for c in group)]
    assert list(scores[1]) == expected


def test_satisfaction_weights_answers_by_age_and_counts_complaints_as_zero(scores) -> None:
    # c1: csat 5/5 (100) 201.5 days old, csat 3/5 (50) 113.5 days, perceived_value 8/10
    # (80, kind weight 0.5) 183.5 days, complaint ticket (0) opened 2024-02-20 08:00,
    # 193.667 days; nps answers do not count for satisfaction.
    w = [half(201.5, 180), half(113.5, 180), 0.5 * half(183.5, 180), half(193 + 2 / 3, 180)]
    s = [100, 50, 80, 0]
    c1 = scores[1]
    assert c1["satisfaction"] == approx(sum(a * b for a, b in zip(w, s, strict=True)) / sum(w))
    assert c1["satisfaction"] == approx(53.6639, abs=1e-4)
    assert (c1["sat_answers"], c1["sat_ticket_ratings"], c1["sat_complaints"]) == (3, 0, 1)
    assert c1["sat_weight"] == approx(sum(w))
    # c5: one csat 9 on 1–10 = 88.9; c6: 6 on 1–7 = 83.3 — a single answer is the score
    assert scores[5]["satisfaction"] == approx(800 / 9)
    assert scores[6]["satisfaction"] == approx(500 / 6)
    # c2: only a complaint (and an expectation answer, weight 0): satisfaction 0
    assert scores[2]["satisfaction"] == 0
    # c7: csat 1 of 5 at exactly END (before AS_OF, so it counts): 0
    assert scores[7]["satisfaction"] == 0


def test_satisfaction_is_null_without_any_rating(scores) -> None:
    for customer in (8, 9, 10):
        assert scores[customer]["satisfaction"] is None
        assert scores[customer]["sat_answers"] is None


def test_loyalty_components(scores) -> None:
    # c1: 3 purchases in [2023-09-02, 2024-09-01) → repeat 100 * 2 / (2 + 3) = 40;
    # last purchase 103.5 days ago → recency 100 * 0.5 ** (103.5 / 90);
    # first purchase 2023-03-10 12:00, 540.5 days ago → tenure 100 * 540.5 / 730; no member
    c1 = scores[1]
    assert c1["loy_repeat"] == approx(40)
    assert c1["loy_recency"] == approx(100 * half(103.5, 90))
    assert c1["loy_tenure"] == approx(100 * 540.5 / 730)
    assert c1["loy_membership"] == 0
    expected = 0.4 * 40 + 0.3 * 100 * half(103.5, 90) + 0.2 * 100 * 540.5 / 730
    assert c1["loyalty"] == approx(expected)
    # c3's first purchase is 1218.5 days old: tenure is capped at 100
    assert scores[3]["loy_tenure"] == 100
    # c2 bought once, 577.5 days ago: nothing repeated in the window
    assert scores[2]["loy_repeat"] == 0
    assert scores[2]["loyalty"] == approx(0.3 * 100 * half(577.5, 90) + 0.2 * 100 * 577.5 / 730)


def test_loyalty_is_null_for_customers_who_never_bought(scores) -> None:
    # c8 has only a cancelled order
    assert scores[8]["loyalty"] is None and scores[8]["purchases_total"] is None


def test_engagement_counts_recent_interactions_and_saturates(scores) -> None:
    # recent window [2024-06-03, 2024-09-01): c2's e-mail (weight 1) on 2024-06-15 and
    # c5's chat (1) at END: 100 * 1 / (1 + 10)
    assert scores[2]["engagement"] == approx(100 / 11)
    assert scores[5]["engagement"] == approx(100 / 11)
    assert (scores[2]["eng_interactions"], scores[2]["eng_events"]) == (1, 0)
    # c1, c3, c4 and c8 interacted only before the window: 0, not null
    for customer in (1, 3, 4, 8):
        assert scores[customer]["engagement"] == 0
    # c6, c7, c9, c10 never interacted: no data
    for customer in (6, 7, 9, 10):
        assert scores[customer]["engagement"] is None


def test_advocacy_combines_latest_nps_and_converted_referrals(scores) -> None:
    # c1: latest nps 10 (the earlier 6 is replaced) → 100; one referral converted
    # (2024-06-30 15:59:59) → 100 * 1 / (1 + 1) = 50; no shares → 0
    c1 = scores[1]
    assert (c1["adv_nps"], c1["adv_referrals"], c1["adv_shares"]) == (100, 1, 0)
    assert c1["advocacy"] == approx(0.5 * 100 + 0.3 * 50)
    # c2: nps 2 → 20; a referral that never converted counts 0
    assert scores[2]["advocacy"] == approx(0.5 * 20)
    assert scores[7]["advocacy"] == 0  # nps 0
    # c9 referred a lead that never converted and gave no answer: no data
    for customer in (6, 8, 9, 10):
        assert scores[customer]["advocacy"] is None


def test_relationship_index_skips_null_degrees(scores) -> None:
    c1 = scores[1]
    assert c1["relationship_index"] == approx(
        0.3 * c1["satisfaction"] + 0.3 * c1["loyalty"] + 0.2 * 0 + 0.2 * c1["advocacy"]
    )
    # c9: only loyalty is known
    assert scores[9]["relationship_index"] == approx(scores[9]["loyalty"])
    # c6: satisfaction and loyalty, weights 0.3 each
    c6 = scores[6]
    assert c6["relationship_index"] == approx((c6["satisfaction"] + c6["loyalty"]) / 2)


def test_rfm_values_and_quintiles(scores) -> None:
    # buyers in the window: recency (days, by date) / frequency / monetary
    expected = {
        1: (104, 3, 600.0),  # 2024-05-20
        3: (182, 1, 90.0),  # 2024-03-03
        4: (142, 2, 100.0),  # 2024-04-12; 40 after the partial refund
        5: (92, 1, 300.0),  # 2024-06-01
        6: (245, 1, 50.0),  # 2023-12-31 16:00
        9: (63, 1, 500.0),  # 2024-06-30 16:00 (2022's purchase is outside the window)
        10: (63, 1, 20.0),  # 2024-06-30 15:59:59
    }
    for customer, values in expected.items():
        row = scores[customer]
        assert (row["recency_days"], row["frequency"], row["monetary"]) == values
    # n = 7, score = 1 + #{k in 1..4: 5 * rank >= 6 k}; rank 0-based, ties share the lowest.
    # recency reversed (desc): c6 0, c3 1, c4 2, c1 3, c5 4, c9 and c10 5 → 1 1 2 3 4 5 5
    # frequency: five 1s rank 0 → 1; c4 (2) rank 5 → 5; c1 (3) rank 6 → 5
    # monetary: 20 50 90 100 300 500 600 → ranks 0..6 → 1 1 2 3 4 5 5
    scored = {
        c: (scores[c]["r_score"], scores[c]["f_score"], scores[c]["m_score"]) for c in expected
    }
    assert scored == {
        1: (3, 5, 5),
        3: (1, 1, 2),
        4: (2, 5, 3),
        5: (4, 1, 4),
        6: (1, 1, 1),
        9: (5, 1, 5),
        10: (5, 1, 1),
    }
    for customer in (2, 7, 8):
        assert scores[customer]["r_score"] is None and scores[customer]["monetary"] is None


def test_rfm_segments_follow_the_map(scores) -> None:
    segments = {c: scores[c]["rfm_segment"] for c in scores}
    assert segments == {
        1: "loyal",  # r3 f5: champions need r >= 4
        2: "lost",  # a buyer with no purchase in the window: lapsed_segment
        3: "lost",  # r1 f1
        4: "at_risk",  # r2 f5: bought often, not lately
        5: "new",  # r4 f1
        6: "lost",
        7: "lost",
        8: None,  # never bought
        9: "new",  # r5 f1
        10: "new",
    }


def test_lifecycle_stages(scores) -> None:
    stages = {c: scores[c]["lifecycle_stage"] for c in scores}
    assert stages == {
        1: "active",  # last purchase 103.5 d ago, threshold min(180, 3 * 145.7 d) = 180
        2: "churned",  # nothing in the last 365 days
        3: "at_risk",  # 181.5 d > 180 (its return on 2024-03-03 is older than 90 days)
        4: "active",  # 141.5 d < 180; halves 60 → 40: not growing
        5: "active",  # one purchase 91.5 d ago: no longer new, not yet at risk
        6: "at_risk",  # one purchase 244.3 d ago > 180
        7: "churned",
        8: "prospect",
        9: "reactivated",  # 2024-06-30 16:00 came 593 d after 2022-11-15 (> W)
        10: "new",  # first purchase 62.3 d ago
    }
    assert scores[1]["lifecycle_phase"] == "maintenance"
    assert scores[9]["lifecycle_phase"] == "win_back"
    assert scores[8]["lifecycle_phase"] == "acquisition"
    assert scores[10]["lifecycle_phase"] == "conversion"
    assert scores[1]["mean_gap_days"] == approx(437 / 3)  # 2023-03-10 … 2024-05-20


def test_value_tiers_with_their_reasons(scores) -> None:
    # revenue percent rank among the 7 window buyers: 20 50 90 100 300 500 600 → k / 6
    assert scores[1]["revenue_rank"] == 1 and scores[10]["revenue_rank"] == 0
    assert scores[9]["revenue_rank"] == approx(5 / 6)
    tiers = {
        c: (scores[c]["value_tier"], scores[c]["tier_next"], scores[c]["tier_missing"])
        for c in scores
    }
    # c1: top revenue but loyalty 44.3 < 45: silver (top 50 %, loyalty >= 25), gold lacks loyalty
    assert tiers[1] == ("silver", "gold", "loyalty")
    # c9: rank 5/6 is in the top 50 % and loyalty 36.5 >= 25 → silver
    assert tiers[9] == ("silver", "gold", "loyalty")
    # c4: rank 0.5 >= 0.5 and loyalty 26.1 → silver; gold wants the top 20 % too
    assert tiers[4] == ("silver", "gold", "revenue,loyalty")
    # c5: rank 4/6 but loyalty 17.3 < 25 → bronze
    assert tiers[5] == ("bronze", "silver", "loyalty")
    # c2 bought nothing in the window: no contribution
    assert tiers[2] == ("bronze", "silver", "revenue,loyalty")
    assert tiers[8] == (None, None, None)


def test_value_tiers_check_the_predicted_churn_risk(sources) -> None:
    # silver now also needs churn risk <= 0.3 where the models predicted it:
    # c1 (risk 0.9) drops to bronze lacking only that; c9 (0.1) keeps silver; c4 has no
    # prediction (unknown passes) and keeps silver too.
    import ibis
    import pyarrow as pa

    src, con = sources
    rules = load_rules()
    tiers = [
        r.model_copy(update={"max_churn_risk": 0.3}) if r.tier.value == "silver" else r
        for r in rules.scores.tiers.rules
    ]
    scores_rules = rules.scores.model_copy(
        update={"tiers": rules.scores.tiers.model_copy(update={"rules": tiers})}
    )
    rules = rules.model_copy(update={"scores": scores_rules})
    predictions = ibis.memtable(
        pa.table({"customer_id": pa.array([1, 9], pa.int64()), "churn_risk": [0.9, 0.1]})
    )
    expr = customer_scores(src, fx.AS_OF, rules=rules, predictions=predictions)
    rows = {r["customer_id"]: r for r in con.to_pyarrow(expr).to_pylist()}
    assert (rows[1]["value_tier"], rows[1]["tier_missing"]) == ("bronze", "churn_risk")
    assert rows[9]["value_tier"] == "silver"
    assert rows[4]["value_tier"] == "silver"
