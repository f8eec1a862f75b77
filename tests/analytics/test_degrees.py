"""The four degrees on small hand-made companies (in-memory tables, DuckDB) and their
properties: every score in 0–100 or null, null without data, monotone in its inputs.

The inputs the fixture company lacks (behaviour events, ticket ratings, programme
members, social shares) are checked here; test_scores.py checks the rest on every engine.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from itertools import count
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rapport.analytics import degrees
from rapport.analytics.scores import coverage, customer_scores
from rapport.analytics.tables import SCHEMAS
from rapport.config import load_rules
from rapport.domain import EventKind, InteractionChannel, SurveyKind, TicketKind
from tests.analytics.memory import memory_sources

AS_OF = datetime(2024, 7, 1)
RULES = load_rules()
approx = pytest.approx
_ids = count(1)


def ago(days: float) -> datetime:
    return AS_OF - timedelta(days=days)


def rows(table: str, *partial: dict[str, Any]) -> list[dict[str, Any]]:
    names = SCHEMAS[table].names
    return [{n: row.get(n) for n in names} for row in partial]


def customer(id: int, *, member_days: float | None = None) -> dict[str, Any]:
    joined = ago(member_days) if member_days is not None else None
    return {"id": id, "created_at": ago(1000), "updated_at": ago(1000), "loyalty_joined_at": joined}


def order(customer: int, days: float, net: float = 100.0, status: str = "completed") -> dict:
    return {
        "id": next(_ids),
        "customer_id": customer,
        "status": status,
        "ordered_at": ago(days),
        "net_amount": net,
        "gross_amount": net,
    }


def answer(customer: int, kind: str, days: float, score: float, lo: float, hi: float, **kw):
    return {
        "id": next(_ids),
        "customer_id": customer,
        "kind": kind,
        "responded_at": ago(days),
        "score": score,
        "scale_min": lo,
        "scale_max": hi,
        **kw,
    }


def ticket(id: int, customer: int, kind: str, days: float, rating: int | None = None) -> dict:
    return {
        "id": id,
        "customer_id": customer,
        "kind": kind,
        "priority": "normal",
        "status": "resolved",
        "opened_at": ago(days),
        "resolved_at": ago(days),
        "satisfaction_rating": rating,
    }


def event(customer: int, kind: str, days: float) -> dict:
    return {"id": next(_ids), "customer_id": customer, "kind": kind, "occurred_at": ago(days)}


def contact(customer: int, channel: str, days: float, direction: str = "inbound") -> dict:
    return {
        "id": next(_ids),
        "customer_id": customer,
        "channel": channel,
        "direction": direction,
        "occurred_at": ago(days),
    }


def company(**tables: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    out = {name: [] for name in SCHEMAS}
    for name, table_rows in tables.items():
        out[name] = rows(name, *table_rows)
    return out


def run(fn, tables: dict[str, list[dict[str, Any]]], rules=RULES) -> dict[int, dict]:
    src, con = memory_sources(tables)
    return {r["customer_id"]: r for r in con.to_pyarrow(fn(src, AS_OF, rules=rules)).to_pylist()}


def half(age_days: float, half_life: float) -> float:
    return 0.5 ** (age_days / half_life)


# --- hand-checked inputs the fixture company lacks ---------------------------------------


def test_engagement_weighs_events_by_kind_and_outbound_contacts_by_half() -> None:
    tables = company(
        customers=[customer(1), customer(2)],
        events=[
            event(1, EventKind.PAGE_VIEW, 5),  # 0.2
            event(1, EventKind.ADD_TO_CART, 10),  # 1.5
            event(1, EventKind.EVENT_ATTEND, 80),  # 5.0
            event(1, EventKind.REVIEW, 95),  # outside the 90-day window
            event(2, EventKind.LOGIN, 200),  # only old behaviour: 0, not null
        ],
        interactions=[
            contact(1, InteractionChannel.VISIT, 3),  # 4.0
            contact(1, InteractionChannel.PHONE, 4, "outbound"),  # 2.0 * 0.5
        ],
    )
    got = run(degrees.engagement, tables)
    x = 0.2 + 1.5 + 5.0 + 4.0 + 1.0
    assert got[1]["eng_weighted"] == approx(x)
    assert got[1]["engagement"] == approx(100 * x / (x + 10))
    assert (got[1]["eng_events"], got[1]["eng_interactions"]) == (3, 2)
    assert got[2]["engagement"] == 0


def test_the_engagement_of_several_dates_in_one_pass_is_each_dates_own() -> None:
    window = RULES.scores.engagement.recent_window_days
    moments = [ago(2 * window), ago(window), AS_OF]
    tables = company(
        customers=[customer(1), customer(2), customer(3), customer(4)],
        events=[
            event(1, EventKind.PAGE_VIEW, 3 * window),  # before every date, in no window
            event(1, EventKind.ADD_TO_CART, 2 * window),  # at the first date: not before it
            event(1, EventKind.REVIEW, window + 1),  # in the second date's window
            event(2, EventKind.LOGIN, window),  # at the second date: not before it
            event(3, EventKind.EVENT_ATTEND, 0.5),
            event(4, EventKind.LOGIN, 5 * window),  # only old behaviour: 0 at every date
        ],
        interactions=[
            contact(1, InteractionChannel.VISIT, 2 * window + 1),
            contact(2, InteractionChannel.PHONE, window - 1, "outbound"),  # seen at the third
            contact(3, InteractionChannel.VISIT, window + 2),  # seen from the second date
        ],
    )
    src, con = memory_sources(tables)
    sums = degrees.engagement_sums(src, moments, rules=RULES)
    seen = []
    for k, moment in enumerate(moments):
        alone = con.to_pyarrow(degrees.engagement(src, moment, rules=RULES).order_by("customer_id"))
        together = degrees.engagement_from(sums, k, moment, rules=RULES).order_by("customer_id")
        assert con.to_pyarrow(together).equals(alone)
        seen.append(alone.column("customer_id").to_pylist())
    # each date has its own customers: those first seen later are absent before
    assert seen == [[1, 4], [1, 3, 4], [1, 2, 3, 4]]


def test_ticket_ratings_count_once_and_complaints_pull_down() -> None:
    tables = company(
        customers=[customer(1), customer(2)],
        tickets=[
            ticket(1, 1, TicketKind.INQUIRY, 30, rating=5),  # 100, weight 1
            ticket(2, 1, TicketKind.SERVICE_REQUEST, 10, rating=2),  # answered in a survey
            ticket(3, 2, TicketKind.COMPLAINT, 0.5, rating=4),  # 75 and a complaint (0)
        ],
        survey_responses=[
            answer(1, SurveyKind.CSAT, 9, 3, 1, 5, ticket_id=2),  # 50: replaces rating 2
            answer(1, SurveyKind.CES, 9, 1, 1, 7),  # weight 0 by default
        ],
    )
    got = run(degrees.satisfaction, tables)
    w1, w2 = half(30, 180), half(9, 180)
    assert got[1]["satisfaction"] == approx((100 * w1 + 50 * w2) / (w1 + w2))
    assert (got[1]["sat_answers"], got[1]["sat_ticket_ratings"]) == (1, 1)
    w = half(0.5, 180)
    assert got[2]["satisfaction"] == approx(75 * w / (2 * w))
    assert got[2]["sat_complaints"] == 1


def test_loyalty_membership_counts_from_the_join_date() -> None:
    tables = company(
        customers=[customer(1, member_days=10), customer(2, member_days=-5)],
        orders=[order(1, 20), order(2, 20)],
    )
    got = run(degrees.loyalty, tables)
    assert got[1]["loy_membership"] == 100
    assert got[2]["loy_membership"] == 0  # joins after AS_OF
    assert got[1]["loyalty"] - got[2]["loyalty"] == approx(0.1 * 100)


def test_advocacy_counts_shares_of_the_last_year_without_nps() -> None:
    tables = company(
        customers=[customer(1), customer(2)],
        events=[
            event(1, EventKind.SOCIAL_SHARE, 10),
            event(1, EventKind.SOCIAL_SHARE, 300),
            event(1, EventKind.SOCIAL_SHARE, 400),  # older than shares_window_days
            event(2, EventKind.SOCIAL_SHARE, 400),
        ],
    )
    got = run(degrees.advocacy, tables)
    # no nps answer: the mean over referrals (0) and shares (100 * 2 / 5 = 40), 0.3 : 0.2
    assert got[1]["advocacy"] == approx(0.2 * 40 / 0.5)
    assert got[1]["adv_nps"] is None
    assert 2 not in got  # nothing in the window: no data


def test_an_answer_on_a_degenerate_scale_is_not_evidence() -> None:
    tables = company(
        customers=[customer(1)], survey_responses=[answer(1, SurveyKind.CSAT, 3, 5, 5, 5)]
    )
    assert run(degrees.satisfaction, tables) == {}


# --- properties ----------------------------------------------------------------------------

CUSTOMERS = (1, 2, 3)
days = st.floats(min_value=0.01, max_value=900, allow_nan=False)
who = st.sampled_from(CUSTOMERS)
money = st.integers(min_value=1, max_value=100_000).map(lambda cents: cents / 100)


@st.composite
def companies(draw: st.DrawFn) -> dict[str, list[dict[str, Any]]]:
    """A few customers with random purchases, answers, tickets, events and referrals."""
    orders = [
        order(c, d, m, s)
        for c, d, m, s in draw(
            st.lists(
                st.tuples(
                    who, days, money, st.sampled_from(["completed", "completed", "cancelled"])
                ),
                max_size=8,
            )
        )
    ]
    answers = []
    for c, kind, d, point in draw(
        st.lists(
            st.tuples(who, st.sampled_from(list(SurveyKind)), days, st.integers(0, 10)), max_size=6
        )
    ):
        answers.append(answer(c, kind, d, point, 0, 10))
    tickets = [
        ticket(i, c, kind, d, rating)
        for i, (c, kind, d, rating) in enumerate(
            draw(
                st.lists(
                    st.tuples(
                        who, st.sampled_from(list(TicketKind)), days, st.none() | st.integers(1, 5)
                    ),
                    max_size=4,
                )
            ),
            start=1,
        )
    ]
    events = [
        event(c, k, d)
        for c, k, d in draw(
            st.lists(st.tuples(who, st.sampled_from(list(EventKind)), days), max_size=8)
        )
    ]
    referrals = [
        {
            "id": i,
            "referrer_customer_id": c,
            "referred_at": ago(d + 1),
            "converted": True,
            "converted_at": ago(d),
        }
        for i, (c, d) in enumerate(draw(st.lists(st.tuples(who, days), max_size=2)), start=1)
    ]
    members = draw(st.lists(st.none() | days, min_size=3, max_size=3))
    return company(
        customers=[customer(c, member_days=m) for c, m in zip(CUSTOMERS, members, strict=True)],
        orders=orders,
        survey_responses=answers,
        tickets=tickets,
        events=events,
        referrals=referrals,
    )


FEW = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SCORES = ("satisfaction", "loyalty", "engagement", "advocacy", "relationship_index")


@pytest.mark.slow  # a property over generated companies: 10-60 s
@FEW
@given(companies())
def test_every_score_is_within_0_and_100_or_null(tables) -> None:
    got = run(customer_scores, tables)
    assert sorted(got) == list(CUSTOMERS)
    for row in got.values():
        for name in SCORES:
            assert row[name] is None or 0 <= row[name] <= 100, (name, row)
        for name in ("r_score", "f_score", "m_score"):
            assert row[name] is None or 1 <= row[name] <= 5
        has_orders = any(
            o["customer_id"] == row["customer_id"] and o["status"] == "completed"
            for o in tables["orders"]
        )
        assert (row["loyalty"] is None) == (not has_orders)
        assert (row["value_tier"] is None) == (not has_orders)
        assert (row["lifecycle_stage"] == "prospect") == (not has_orders)


@pytest.mark.slow  # a property over generated companies: 10-60 s
@FEW
@given(companies(), who, days, money)
def test_one_more_purchase_never_lowers_loyalty(tables, c, d, amount) -> None:
    before = run(degrees.loyalty, tables).get(c, {}).get("loyalty")
    more = {**tables, "orders": [*tables["orders"], *rows("orders", order(c, d, amount))]}
    after = run(degrees.loyalty, more)[c]["loyalty"]
    assert after is not None
    assert before is None or after >= before - 1e-9


@FEW
@given(companies(), st.data())
def test_a_better_answer_never_lowers_satisfaction(tables, data) -> None:
    weighted = [
        i
        for i, a in enumerate(tables["survey_responses"])
        if RULES.scores.satisfaction.survey_weights[SurveyKind(a["kind"])] > 0 and a["score"] < 10
    ]
    if not weighted:
        return
    i = data.draw(st.sampled_from(weighted))
    c = tables["survey_responses"][i]["customer_id"]
    before = run(degrees.satisfaction, tables)[c]["satisfaction"]
    answers = [dict(a) for a in tables["survey_responses"]]
    answers[i]["score"] = data.draw(st.integers(int(answers[i]["score"]) + 1, 10))
    after = run(degrees.satisfaction, {**tables, "survey_responses": answers})[c]["satisfaction"]
    assert after >= before - 1e-9


@pytest.mark.slow  # a property over generated companies: 10-60 s
@FEW
@given(companies(), who, st.sampled_from(list(TicketKind)), days)
def test_one_more_complaint_never_raises_satisfaction(tables, c, kind, d) -> None:
    before = run(degrees.satisfaction, tables).get(c, {}).get("satisfaction")
    extra = ticket(99, c, TicketKind.COMPLAINT, d)
    after = run(
        degrees.satisfaction, {**tables, "tickets": [*tables["tickets"], *rows("tickets", extra)]}
    )
    assert after[c]["satisfaction"] is not None
    assert before is None or after[c]["satisfaction"] <= before + 1e-9


@pytest.mark.slow  # a property over generated companies: 10-60 s
@FEW
@given(companies(), who, st.sampled_from(list(EventKind)), days)
def test_one_more_event_never_lowers_engagement_or_advocacy(tables, c, kind, d) -> None:
    more = {**tables, "events": [*tables["events"], *rows("events", event(c, kind, d))]}
    for fn, name in ((degrees.engagement, "engagement"), (degrees.advocacy, "advocacy")):
        before = run(fn, tables).get(c, {}).get(name)
        after = run(fn, more).get(c, {}).get(name)
        assert before is None or after >= before - 1e-9


@pytest.mark.slow  # a property over generated companies: 10-60 s
@FEW
@given(companies(), who, days, st.integers(0, 10))
def test_a_higher_latest_nps_never_lowers_advocacy(tables, c, d, point) -> None:
    def with_latest(score: int) -> float:
        latest = answer(c, SurveyKind.NPS, 0.001, score, 0, 10)  # newer than any other
        answers = [*tables["survey_responses"], *rows("survey_responses", latest)]
        return run(degrees.advocacy, {**tables, "survey_responses": answers})[c]["advocacy"]

    assert with_latest(min(point + 1, 10)) >= with_latest(point) - 1e-9


def test_no_data_means_null_and_coverage_is_reported() -> None:
    tables = company(customers=[customer(1), customer(2)], orders=[order(1, 10)])
    got = run(customer_scores, tables)
    assert got[2]["loyalty"] is None and got[2]["relationship_index"] is None
    for name in ("satisfaction", "engagement", "advocacy"):
        assert got[1][name] is None and got[2][name] is None
    assert got[1]["relationship_index"] == approx(got[1]["loyalty"])
    src, con = memory_sources(tables)
    (cover,) = con.to_pyarrow(coverage(customer_scores(src, AS_OF, rules=RULES))).to_pylist()
    assert cover["customers"] == 2
    assert (cover["loyalty"], cover["satisfaction"], cover["r_score"]) == (50, 0, 50)
