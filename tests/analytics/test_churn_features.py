"""Churn features and labels on the fixture company, worked out by hand, on every engine.

The cut-off is the end of the fixture period, ``M = fx.END`` = 2024-06-30 16:00 UTC, with
the default rules (W = 365 days) and the horizon h = 90 days:

    population (active at M)  purchases in [2023-07-01 16:00, M): c1, c3, c4, c5, c6, c7, c10
                              (c9's purchase at exactly M is not before M; c2 and c9's
                              earlier purchases are older than W; c8 never bought)
    recent                    [2024-04-01 16:00, M)
    prior                     [2024-01-02 16:00, 2024-04-01 16:00)
    actions: last 30 days     [2024-05-31 16:00, M), the 60 before [2024-04-01 16:00, ...)
    degrees "before"          as of M - h = 2024-04-01 16:00
    labels                    purchases in [M, 2024-09-28 16:00)

The fixture has no behaviour events; :func:`test_engagement_decay_counts_events_too`
checks them on an in-memory company.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any

import pytest

from rapport.analytics.churn_features import CHURN_FEATURES, churn_features, churn_labels
from rapport.analytics.sources import Sources
from rapport.analytics.tables import SCHEMAS
from rapport.config import load_rules
from rapport.errors import ValidationFailed
from tests.analytics import fixture_data as fx
from tests.analytics.memory import memory_sources

approx = pytest.approx
M = fx.END
RULES = load_rules()


def half(age_days: float, half_life: float) -> float:
    return 0.5 ** (age_days / half_life)


def age(at: datetime, moment: datetime = M) -> float:
    """Fractional days from ``at`` to ``moment``."""
    return (moment - at).total_seconds() / 86400


@pytest.fixture(scope="module")
def features(sources: tuple[Sources, Any]) -> dict[int, dict[str, Any]]:
    src, con = sources
    rows = con.to_pyarrow(churn_features(src, M, rules=RULES)).to_pylist()
    return {row["customer_id"]: row for row in rows}


def test_one_row_per_active_buyer_with_every_feature(features) -> None:
    assert sorted(features) == [1, 3, 4, 5, 6, 7, 10]
    assert list(features[1]) == ["customer_id", *CHURN_FEATURES]


def test_rfm_and_purchase_trends(features) -> None:
    c1, c3, c4 = features[1], features[3], features[4]
    # c1: last purchase 2024-05-20 → 41 calendar days; 3 purchases (600) in W;
    # recent: 05-20 (250); prior: 02-10 (150)
    assert (c1["recency_days"], c1["frequency"], c1["monetary"]) == (41, 3, approx(600))
    assert (c1["purchases_recent"], c1["purchase_trend"]) == (1, 0)
    assert (c1["revenue_recent"], c1["revenue_trend"]) == (approx(250), approx(100))
    # c3: 2024-03-03 (90) falls in the prior horizon only
    assert (c3["purchases_recent"], c3["purchase_trend"]) == (0, -1)
    assert (c3["revenue_recent"], c3["revenue_trend"]) == (0, approx(-90))
    # c4: 01-25 (60) is in the prior horizon, 04-12 (40 net after the partial refund) recent
    assert (c4["purchases_recent"], c4["purchase_trend"]) == (1, 0)
    assert c4["revenue_trend"] == approx(40 - 60)


def test_degrees_and_their_change_over_the_horizon(features) -> None:
    c1, c3, c4, c10 = features[1], features[3], features[4], features[10]
    # engagement of c1: at M a visit (4) in [04-01 16:00, M) → 100 * 4 / 14; at M - h a
    # phone call (2) and a chat (1) in [01-02 16:00, 04-01 16:00) → 100 * 3 / 13
    assert c1["engagement"] == approx(400 / 14)
    assert c1["engagement_change"] == approx(400 / 14 - 300 / 13)
    # c3's after-sales contact (03-03) is recent only at M - h
    assert (c3["engagement"], c3["engagement_change"]) == (0, approx(-100 / 11))
    # advocacy of c1: at M nps 10 (100), one converted referral (50): 0.5*100 + 0.3*50;
    # at M - h nps 6 (60), no referral yet: 0.5*60
    assert c1["advocacy"] == approx(65) and c1["advocacy_change"] == approx(35)
    # loyalty of c1 at M: repeat 100*2/5, recency half-life 90 d, tenure over 730 d
    recency = 100 * half(age(datetime(2024, 5, 20, 12)), 90)
    tenure = 100 * age(datetime(2023, 3, 10, 12)) / 730
    assert c1["loyalty"] == approx(0.4 * 40 + 0.3 * recency + 0.2 * tenure)
    # satisfaction of c4: at M - h only the complaint of 2023-12-01 (0 points) → 0; at M
    # also the csat 4/5 of 04-15 (75) and the perceived value 3/5 of 05-01 (50, weight .5)
    w_csat = half(age(datetime(2024, 4, 15, 12)), 180)
    w_complaint = half(age(datetime(2023, 12, 1)), 180)
    w_value = 0.5 * half(age(datetime(2024, 5, 1, 12)), 180)
    sat = (75 * w_csat + 50 * w_value) / (w_csat + w_complaint + w_value)
    assert c4["satisfaction"] == approx(sat) and c4["satisfaction_change"] == approx(sat)
    # null rules: c10 has no rating, contact or answer; c10 was not a buyer at M - h
    assert c10["satisfaction"] is None and c10["engagement"] is None
    assert c10["advocacy"] is None and c10["loyalty"] is not None
    assert c10["loyalty_change"] is None and c10["satisfaction_change"] is None


def test_tickets_complaints_and_sla_breaches(features) -> None:
    # c3: T3 (complaint) opened 04-01 12:00, before the recent horizon, but due
    # 04-02 00:00 inside it and resolved late; T4 (complaint) opened 05-01, unanswered,
    # due 05-11 → 1 ticket, 1 complaint, 2 breaches
    c3 = features[3]
    assert (c3["tickets_recent"], c3["complaints_recent"], c3["sla_breaches_recent"]) == (1, 1, 2)
    # c7: T8 (low, no stored due times) answered in 24 h ≤ 48 h, closed in 4 days ≤ 240 h
    c7 = features[7]
    assert (c7["tickets_recent"], c7["complaints_recent"], c7["sla_breaches_recent"]) == (1, 0, 0)
    # c5: T5 opened 06-28, due only after M
    assert features[5]["tickets_recent"] == 1 and features[5]["sla_breaches_recent"] == 0
    # c1's tickets are older than the horizon: counts are 0, not null
    c1 = features[1]
    assert (c1["tickets_recent"], c1["complaints_recent"], c1["sla_breaches_recent"]) == (0, 0, 0)


def test_nps_change_needs_two_answers(features) -> None:
    # c1 answered 6 (02-01) then 10 (05-01): +4; the others answered once or never
    assert features[1]["nps_change"] == approx(4)
    assert all(features[c]["nps_change"] is None for c in (3, 4, 5, 6, 7, 10))


def test_engagement_decay_and_recent_actions(features) -> None:
    # c1's visit of 05-01 is in the 60 days before the last 30: ln(1 + 1/2) - ln(1 + 0)
    assert features[1]["actions_30d"] == 0
    assert features[1]["engagement_decay"] == approx(math.log(1.5))
    # no action in the last 90 days: steady at 0, never null (c4's contact is older)
    assert all(features[c]["engagement_decay"] == 0 for c in (3, 4, 5, 6, 7, 10))


def test_tenure_gaps_and_overdue(features) -> None:
    c1, c3, c5 = features[1], features[3], features[5]
    assert c1["tenure_days"] == approx(age(datetime(2023, 3, 10, 12)))
    # (2024-05-20 - 2023-03-10) / 3 gaps = 437 / 3 days
    assert c1["mean_gap_days"] == approx(437 / 3)
    assert c1["overdue_ratio"] == approx(age(datetime(2024, 5, 20, 12)) / (437 / 3))
    # c3: 2021-05-01 → 2024-03-03, one gap of 1037 days
    assert c3["mean_gap_days"] == approx(1037)
    assert c3["tenure_days"] == approx(age(datetime(2021, 5, 1, 12)))
    # one purchase: no gap, no overdue ratio
    assert c5["mean_gap_days"] is None and c5["overdue_ratio"] is None


def test_labels_say_who_bought_nothing_in_the_horizon(sources) -> None:
    src, con = sources
    rows = con.to_pyarrow(churn_labels(src, M, horizon_days=90)).to_pylist()
    labels = {row["customer_id"]: row["churned"] for row in rows}
    # c9 buys at exactly M: inside [M, M + 90 d); c8 never bought before M: no row
    assert labels == {1: True, 2: True, 3: True, 4: True, 5: True, 6: True, 7: True,
                      9: False, 10: True}  # fmt: skip


# --- in memory (DuckDB) -------------------------------------------------------------------


def _rows(table: str, *rows: dict[str, Any]) -> list[dict[str, Any]]:
    return [{n: row.get(n) for n in SCHEMAS[table].names} for row in rows]


def test_engagement_decay_counts_events_too() -> None:
    moment = datetime(2024, 7, 1)

    def ago(days: float) -> datetime:
        return moment - timedelta(days=days)

    tables: dict[str, list[dict[str, Any]]] = {name: [] for name in SCHEMAS}
    tables["customers"] = _rows("customers", {"id": 1, "created_at": ago(400)})
    tables["orders"] = _rows(
        "orders",
        {"id": 1, "customer_id": 1, "status": "completed", "ordered_at": ago(10),
         "net_amount": 10.0, "gross_amount": 10.0},
    )  # fmt: skip
    tables["events"] = _rows(
        "events",
        *({"id": i, "customer_id": 1, "kind": "page_view", "occurred_at": ago(d)}
          for i, d in enumerate((1, 29, 31, 45, 70, 89, 91), start=1)),
    )  # fmt: skip
    tables["interactions"] = _rows(
        "interactions", {"id": 1, "customer_id": 1, "channel": "phone", "occurred_at": ago(5)}
    )
    src, con = memory_sources(tables)
    row = con.to_pyarrow(churn_features(src, moment, rules=RULES)).to_pylist()[0]
    # last 30 days: 2 events + 1 interaction; the 60 before: 4 events (91 days is older)
    assert row["actions_30d"] == 3
    assert row["engagement_decay"] == approx(math.log(1 + 4 / 2) - math.log(1 + 3))


@pytest.mark.parametrize("horizon", [0, -5, 1.5])
def test_the_horizon_is_a_positive_number_of_days(horizon) -> None:
    src, _ = memory_sources()
    with pytest.raises(ValidationFailed, match="horizon"):
        churn_features(src, M, rules=RULES, horizon_days=horizon)
    with pytest.raises(ValidationFailed, match="horizon"):
        churn_labels(src, M, horizon_days=horizon)
