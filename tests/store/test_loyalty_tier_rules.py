"""Programme tiers by rule, without a store: thresholds, review dates, the rolling window,
and random histories of spend (Hypothesis): an upgrade never waits, a downgrade never comes
before a review date and its grace period, the value-tier floor holds, and deciding again
changes nothing."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rapport.config import LoyaltyRules, LoyaltyTierRule, load_rules
from rapport.domain import TierChangeReason, ValueTier
from rapport.store import loyalty_tier_rules as tr
from rapport.store.loyalty_tier_rules import TierState

SHANGHAI = ZoneInfo("Asia/Shanghai")
TIERS = [
    LoyaltyTierRule(code="gold", min_points=10_000, min_spend=1000),
    LoyaltyTierRule(code="member", min_points=0, min_spend=0),
    LoyaltyTierRule(code="platinum", min_points=50_000, min_spend=5000),
    LoyaltyTierRule(code="silver", min_points=2000, min_spend=200),
]
ORDER = ["member", "silver", "gold", "platinum"]  # by threshold, listed here independently
SPEND = {"member": 0, "silver": 200, "gold": 1000, "platinum": 5000}


def programme(**values: Any) -> LoyaltyRules:
    base = load_rules(None).loyalty
    fields = {"tiers": TIERS, "tier_basis": "spend", "tier_grace_days": 30} | values
    return LoyaltyRules.model_validate(base.model_dump() | fields)


def by_spend(value: float) -> str:
    return ([code for code in ORDER if value >= SPEND[code]] or ["member"])[-1]


def test_tiers_rank_by_the_basis_whatever_their_order_in_the_rules() -> None:
    rules = programme()
    assert [t.code for t in tr.ranked(rules)] == ORDER
    assert [tr.qualified(v, rules) for v in (-5, 0, 199.99, 200, 4999, 5000, 10**9)] == [
        "member",
        "member",
        "member",
        "silver",
        "gold",
        "platinum",
        "platinum",
    ]
    points = programme(tier_basis="points")
    assert tr.qualified(9999, points) == "silver" and tr.qualified(10_000, points) == "gold"
    assert tr.next_tier("gold", rules).code == "platinum"  # type: ignore[union-attr]
    assert tr.next_tier("platinum", rules) is None


def test_months_are_added_on_the_calendar_clipping_the_day() -> None:
    assert tr.add_months(dt.date(2026, 1, 31), 1) == dt.date(2026, 2, 28)
    assert tr.add_months(dt.date(2028, 1, 31), 1) == dt.date(2028, 2, 29)
    assert tr.add_months(dt.date(2026, 3, 31), -13) == dt.date(2025, 2, 28)
    assert tr.add_months(dt.date(2026, 12, 15), 1) == dt.date(2027, 1, 15)


@pytest.mark.parametrize(
    ("review", "on", "expected"),
    [
        ("monthly", dt.date(2026, 5, 31), dt.date(2026, 6, 1)),
        ("monthly", dt.date(2026, 6, 1), dt.date(2026, 7, 1)),
        ("quarterly", dt.date(2026, 2, 10), dt.date(2026, 4, 1)),
        ("quarterly", dt.date(2026, 4, 1), dt.date(2026, 7, 1)),
        ("quarterly", dt.date(2026, 12, 31), dt.date(2027, 1, 1)),
        ("yearly", dt.date(2026, 1, 1), dt.date(2027, 1, 1)),
    ],
)
def test_calendar_reviews_fall_on_the_first_day_of_the_next_period(
    review: str, on: dt.date, expected: dt.date
) -> None:
    rules = programme(tier_review=review)
    assert tr.next_review(on, dt.date(2020, 3, 17), rules) == expected


def test_anniversary_reviews_count_from_the_day_the_tier_began() -> None:
    rules = programme(tier_review="anniversary", tier_review_months=6)
    since = dt.date(2026, 1, 31)
    assert tr.next_review(since, since, rules) == dt.date(2026, 7, 31)
    assert tr.next_review(dt.date(2026, 7, 30), since, rules) == dt.date(2026, 7, 31)
    assert tr.next_review(dt.date(2026, 7, 31), since, rules) == dt.date(2027, 1, 31)
    assert tr.next_review(dt.date(2030, 2, 1), since, rules) == dt.date(2030, 7, 31)


def test_the_window_excludes_its_start_and_includes_the_moment_of_evaluation() -> None:
    rules = programme(tier_window_months=12)
    at = dt.datetime(2026, 3, 1, 12, tzinfo=SHANGHAI)
    start = tr.window_start(at, SHANGHAI, rules)
    assert start == dt.datetime(2025, 3, 1, 4, tzinfo=dt.UTC)
    history = [
        (start, Decimal(1)),
        (start + dt.timedelta(seconds=1), Decimal(10)),
        (at, Decimal(100)),
        (at + dt.timedelta(seconds=1), Decimal(1000)),
    ]
    assert tr.basis_value(history, start, at) == 110


def test_a_worked_year_upgrade_at_once_grace_after_the_review_then_two_tiers_down() -> None:
    rules = programme(tier_review="quarterly", tier_grace_days=30)
    first = tr.decide(None, value=0, floor=None, on=dt.date(2026, 1, 10), rules=rules)
    assert first.change == tr.TierChange(None, "member", TierChangeReason.INITIAL)
    assert first.state == TierState("member", dt.date(2026, 1, 10), dt.date(2026, 4, 1))
    up = tr.decide(first.state, value=1200, floor=None, on=dt.date(2026, 2, 3), rules=rules)
    assert up.change == tr.TierChange("member", "gold", TierChangeReason.UPGRADE)
    gold = up.state
    assert gold == TierState("gold", dt.date(2026, 2, 3), dt.date(2026, 4, 1))
    # below gold before the review: nothing happens
    same = tr.decide(gold, value=100, floor=None, on=dt.date(2026, 3, 31), rules=rules)
    assert same.state == gold and not same.changed
    # at the review: 30 days' grace, the next review set
    review = tr.decide(gold, value=100, floor=None, on=dt.date(2026, 4, 1), rules=rules)
    assert review.change is None
    assert review.state == TierState(
        "gold", dt.date(2026, 2, 3), dt.date(2026, 7, 1), grace_until=dt.date(2026, 5, 1)
    )
    waiting = tr.decide(review.state, value=100, floor=None, on=dt.date(2026, 4, 30), rules=rules)
    assert waiting.state == review.state
    down = tr.decide(review.state, value=100, floor=None, on=dt.date(2026, 5, 1), rules=rules)
    assert down.change == tr.TierChange("gold", "member", TierChangeReason.DOWNGRADE)
    assert down.state == TierState("member", dt.date(2026, 5, 1), dt.date(2026, 7, 1))


def test_back_above_the_tier_during_the_grace_keeps_it() -> None:
    rules = programme()
    graced = TierState("gold", dt.date(2026, 1, 1), dt.date(2026, 7, 1), dt.date(2026, 5, 1))
    back = tr.decide(graced, value=1000, floor=None, on=dt.date(2026, 4, 20), rules=rules)
    assert back.state == replace_grace(graced, None) and back.change is None and back.changed
    later = tr.decide(back.state, value=0, floor=None, on=dt.date(2026, 5, 2), rules=rules)
    assert later.state.tier == "gold"  # a new grace only from the next review


def replace_grace(state: TierState, grace: dt.date | None) -> TierState:
    return TierState(state.tier, state.since, state.review_on, grace)


def test_the_value_tier_floor_lifts_and_holds_a_member() -> None:
    rules = programme(value_tier_map={ValueTier.DIAMOND: "platinum", ValueTier.GOLD: "silver"})
    assert tr.floor_tier("diamond", rules) == "platinum"
    assert tr.floor_tier(ValueTier.BRONZE, rules) is None and tr.floor_tier(None, rules) is None
    member = TierState("member", dt.date(2026, 1, 1), dt.date(2026, 4, 1))
    lifted = tr.decide(member, value=300, floor="platinum", on=dt.date(2026, 1, 5), rules=rules)
    assert lifted.change == tr.TierChange("member", "platinum", TierChangeReason.MAPPING)
    # a floor below what the spend gives changes nothing: the spend upgrades
    spent = tr.decide(member, value=1500, floor="silver", on=dt.date(2026, 1, 5), rules=rules)
    assert spent.change == tr.TierChange("member", "gold", TierChangeReason.UPGRADE)
    # the floor holds through a review: no grace starts
    held = tr.decide(lifted.state, value=0, floor="platinum", on=dt.date(2026, 9, 1), rules=rules)
    assert held.state.tier == "platinum" and held.state.grace_until is None
    # the floor gone (no longer diamond): reviewed like any member, down to what spend gives
    graced = tr.decide(held.state, value=300, floor=None, on=dt.date(2026, 10, 1), rules=rules)
    down = tr.decide(graced.state, value=300, floor=None, on=dt.date(2026, 10, 31), rules=rules)
    assert down.change == tr.TierChange("platinum", "silver", TierChangeReason.DOWNGRADE)


def test_a_tier_no_longer_configured_is_decided_afresh() -> None:
    rules = programme()
    gone = TierState("diamond_club", dt.date(2025, 1, 1), dt.date(2026, 1, 1))
    again = tr.decide(gone, value=250, floor=None, on=dt.date(2026, 2, 1), rules=rules)
    assert again.change == tr.TierChange("diamond_club", "silver", TierChangeReason.INITIAL)


# --- random histories --------------------------------------------------------------------


def is_review_date(day: dt.date, since: dt.date, rules: LoyaltyRules) -> bool:
    """Independently of the module: is ``day`` one of the tier's review dates?"""
    if rules.tier_review == "monthly":
        return day.day == 1
    if rules.tier_review == "quarterly":
        return day.day == 1 and day.month in (1, 4, 7, 10)
    if rules.tier_review == "yearly":
        return (day.month, day.day) == (1, 1)
    step = rules.tier_review_months
    return any(tr.add_months(since, k * step) == day for k in range(1, 400))


steps = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=60),  # days since the previous evaluation
        st.lists(st.integers(min_value=-300, max_value=3000), max_size=3),  # spends that day
        st.sampled_from([None, None, None, "silver", "gold", "platinum"]),  # the floor
    ),
    min_size=1,
    max_size=40,
)


@settings(max_examples=300, deadline=None)
@given(
    steps=steps,
    review=st.sampled_from(["monthly", "quarterly", "yearly", "anniversary"]),
    review_months=st.integers(min_value=1, max_value=12),
    grace=st.integers(min_value=0, max_value=120),
    window=st.integers(min_value=1, max_value=12),
)
def test_random_histories_upgrade_at_once_and_downgrade_only_after_review_and_grace(
    steps: list[tuple[int, list[int], str | None]],
    review: str,
    review_months: int,
    grace: int,
    window: int,
) -> None:
    rules = programme(
        tier_review=review,
        tier_review_months=review_months,
        tier_grace_days=grace,
        tier_window_months=window,
    )
    at = dt.datetime(2025, 12, 20, 10, tzinfo=dt.UTC)
    history: list[tuple[dt.datetime, Decimal]] = []
    state: TierState | None = None
    for gap, spends, floor in steps:
        at += dt.timedelta(days=gap)
        history += [(at - dt.timedelta(minutes=1), Decimal(s)) for s in spends]
        on = at.astimezone(SHANGHAI).date()
        start = tr.add_months(on, -window)
        spent = sum(v for t, v in history if t.astimezone(SHANGHAI).date() > start)
        target = max(by_spend(float(spent)), floor or "member", key=ORDER.index)
        decision = tr.evaluate(history, state, at=at, tz=SHANGHAI, floor=floor, rules=rules)
        new = decision.state
        # the floor, and an upgrade never waits
        assert ORDER.index(new.tier) >= ORDER.index(target)
        if state is not None and ORDER.index(target) > ORDER.index(state.tier):
            assert new.tier == target and decision.change is not None
            assert decision.change.reason in (TierChangeReason.UPGRADE, TierChangeReason.MAPPING)
        # a downgrade: to the target at once, after a review date and its grace
        if state is not None and ORDER.index(new.tier) < ORDER.index(state.tier):
            assert new.tier == target
            assert decision.change is not None
            assert decision.change.reason == TierChangeReason.DOWNGRADE
            reviews = [
                state.since + dt.timedelta(days=d)
                for d in range(1, (on - state.since).days + 1)
                if is_review_date(state.since + dt.timedelta(days=d), state.since, rules)
            ]
            assert any(r + dt.timedelta(days=grace) <= on for r in reviews)
        # the next review lies ahead and is a review date
        assert new.review_on > on and is_review_date(new.review_on, new.since, rules)
        # a second evaluation changes nothing
        again = tr.evaluate(history, new, at=at, tz=SHANGHAI, floor=floor, rules=rules)
        assert again.state == new and again.change is None and not again.changed
        state = new
