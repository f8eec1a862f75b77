"""Programme tiers on the store, on SQLite and PostgreSQL: the evaluation job (initial tiers,
idempotent, downgrades only after a review and its grace), the spend and points bases, the
value-tier floor from the latest snapshot, the upgrade when earning posts an order, the earn
multiplier of the programme tier, and the tier card."""

from __future__ import annotations

import datetime as dt
import threading
import time
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from rapport.config import LoyaltyMultipliers, LoyaltyRules, LoyaltyTierRule, Rules, load_rules
from rapport.domain import LoyaltyReason, OrderStatus, ValueTier
from rapport.store import loyalty, schema, session_scope
from rapport.store import loyalty_earning as earning
from rapport.store import loyalty_tier_rules as rule
from rapport.store import loyalty_tiers as tiers
from rapport.store.loyalty_tier_rules import TierState

from .factories import customer, order

SHANGHAI = ZoneInfo("Asia/Shanghai")
JOINED = dt.datetime(2025, 1, 1, 9, tzinfo=SHANGHAI)
TIERS = [
    LoyaltyTierRule(code="member", min_points=0, min_spend=0),
    LoyaltyTierRule(code="silver", min_points=2000, min_spend=200),
    LoyaltyTierRule(code="gold", min_points=10_000, min_spend=1000),
    LoyaltyTierRule(code="platinum", min_points=50_000, min_spend=5000),
]


def programme(**values: Any) -> Rules:
    rules = load_rules(None)
    fields = {
        "tiers": TIERS,
        "tier_basis": "spend",
        "tier_review": "quarterly",
        "tier_grace_days": 30,
        "tier_window_months": 12,
    } | values
    loyalty_rules = LoyaltyRules.model_validate(rules.loyalty.model_dump() | fields)
    return rules.model_copy(update={"loyalty": loyalty_rules})


def at(day: str, hour: int = 12) -> dt.datetime:
    return dt.datetime.fromisoformat(day).replace(hour=hour, tzinfo=SHANGHAI)


def member(session: Session, **values: Any) -> int:
    return int(customer(session, loyalty_joined_at=JOINED, **values)["id"])


def spend(session: Session, cid: int, amount: str, day: str, **values: Any) -> dict[str, Any]:
    return order(session, cid, net_amount=Decimal(amount), ordered_at=at(day, 10), **values)


def run(session: Session, rules: Rules, day: str, *ids: int, dry: bool = False) -> tiers.TierRun:
    return tiers.evaluate_customers(
        session, list(ids), rules=rules, at=at(day, 23), tz=SHANGHAI, dry_run=dry
    )


def state(session: Session, cid: int) -> dict[str, Any]:
    return tiers.states(session, [cid])[cid]


def changes(session: Session, cid: int) -> list[tuple[str | None, str, str, dt.date]]:
    t = schema.loyalty_tier_changes.c
    rows = session.execute(
        sa.select(t.from_tier, t.to_tier, t.reason, t.changed_on)
        .where(t.customer_id == cid)
        .order_by(t.id)
    )
    return [(a, b, str(r), d) for a, b, r, d in rows]


def test_members_get_their_tier_once_and_a_second_run_writes_nothing(session: Session) -> None:
    rules = programme()
    small, big = member(session), member(session)
    outsider = int(customer(session)["id"])
    spend(session, small, "150.00", "2025-03-01")
    spend(session, big, "800.00", "2025-03-01")
    spend(session, big, "300.00", "2025-04-01")
    spend(session, big, "5000.00", "2025-04-02", status=OrderStatus.CANCELLED)  # not a purchase
    spend(session, outsider, "9000.00", "2025-04-01")
    first = run(session, rules, "2025-05-10", small, big, outsider)
    assert (first.members, first.initial, first.written) == (2, 2, 2)
    assert first.tiers == {small: "member", big: "gold"}
    assert state(session, big) == {
        "customer_id": big,
        "tier": "gold",
        "since": dt.date(2025, 5, 10),
        "review_on": dt.date(2025, 7, 1),
        "grace_until": None,
        "basis_value": Decimal("1100.00"),
        "evaluated_at": at("2025-05-10", 23),
    }
    assert changes(session, big) == [(None, "gold", "initial", dt.date(2025, 5, 10))]
    assert tiers.states(session, [outsider]) == {}
    again = run(session, rules, "2025-05-10", small, big, outsider)
    assert (again.written, again.initial, again.upgrades) == (0, 0, 0)
    assert len(changes(session, big)) == 1


def test_spend_counts_only_purchases_placed_since_joining_within_the_window(
    session: Session,
) -> None:
    rules = programme(tier_window_months=6)
    cid = member(session)
    spend(session, cid, "900.00", "2024-12-20")  # before joining
    spend(session, cid, "150.00", "2025-01-05")  # out of the 6-month window on 2025-07-10
    spend(session, cid, "120.00", "2025-02-01", status=OrderStatus.PENDING)  # not a purchase
    spend(session, cid, "210.00", "2025-06-01")
    run(session, rules, "2025-07-10", cid)
    assert state(session, cid)["tier"] == "silver"
    assert state(session, cid)["basis_value"] == Decimal("210.00")


def test_a_downgrade_waits_for_the_review_and_the_grace_then_drops_as_far_as_spend_says(
    session: Session,
) -> None:
    rules = programme(tier_window_months=3, tier_grace_days=30)
    cid = member(session)
    spend(session, cid, "6000.00", "2025-02-01")
    assert run(session, rules, "2025-02-01", cid).tiers[cid] == "platinum"
    kept = run(session, rules, "2025-04-01", cid)  # a review, still qualified: no grace
    assert kept.tiers[cid] == "platinum" and state(session, cid)["grace_until"] is None
    assert state(session, cid)["review_on"] == dt.date(2025, 7, 1)
    # the spend leaves the 3-month window on 2025-05-01: still platinum until the review
    assert run(session, rules, "2025-06-30", cid).tiers[cid] == "platinum"
    review = run(session, rules, "2025-07-01", cid)
    assert review.graces == 1 and review.tiers[cid] == "platinum"
    assert state(session, cid)["grace_until"] == dt.date(2025, 7, 31)
    assert run(session, rules, "2025-07-30", cid).tiers[cid] == "platinum"
    down = run(session, rules, "2025-07-31", cid)
    assert (down.downgrades, down.tiers[cid]) == (1, "member")  # three tiers at once
    assert changes(session, cid)[-1] == ("platinum", "member", "downgrade", dt.date(2025, 7, 31))
    assert state(session, cid)["review_on"] == dt.date(2025, 10, 1)


def test_points_earned_count_and_spending_them_does_not_lower_the_tier(session: Session) -> None:
    rules = programme(tier_basis="points")
    cid = member(session)
    moment = at("2025-03-01")
    for points, reason in ((2500, LoyaltyReason.PURCHASE), (-400, LoyaltyReason.CLAWBACK)):
        loyalty.append(
            session=session,
            values={"customer_id": cid, "points": points, "reason": reason, "occurred_at": moment},
        )
    assert run(session, rules, "2025-03-02", cid).tiers[cid] == "silver"  # 2,100 earned
    loyalty.redeem(
        session=session, customer_id=cid, points=2000, at=at("2025-03-03"), reference="x"
    )
    assert run(session, rules, "2025-09-01", cid).tiers[cid] == "silver"
    assert state(session, cid)["basis_value"] == Decimal(2100)


def _snapshot(session: Session, cid: int, as_of: dt.date, value_tier: ValueTier | None) -> None:
    session.execute(
        sa.insert(schema.customer_scores).values(
            customer_id=cid,
            as_of=as_of,
            value_tier=value_tier,
            computed_at=dt.datetime.now(dt.UTC),
        )
    )


def test_the_latest_value_tier_is_a_floor_of_the_programme_tier(session: Session) -> None:
    rules = programme(value_tier_map={ValueTier.DIAMOND: "platinum", ValueTier.GOLD: "silver"})
    diamond, gold_spender = member(session), member(session)
    _snapshot(session, diamond, dt.date(2025, 3, 31), ValueTier.BRONZE)
    _snapshot(session, diamond, dt.date(2025, 4, 30), ValueTier.DIAMOND)
    _snapshot(session, diamond, dt.date(2025, 6, 30), ValueTier.BRONZE)  # after the day
    _snapshot(session, gold_spender, dt.date(2025, 4, 30), ValueTier.GOLD)
    spend(session, gold_spender, "1500.00", "2025-04-01")
    result = run(session, rules, "2025-05-10", diamond, gold_spender)
    assert result.tiers == {diamond: "platinum", gold_spender: "gold"}
    assert changes(session, diamond) == [(None, "platinum", "initial", dt.date(2025, 5, 10))]
    # a floor given later lifts at once, as a mapping
    other = member(session)
    run(session, rules, "2025-05-10", other)
    _snapshot(session, other, dt.date(2025, 5, 11), ValueTier.DIAMOND)
    lifted = run(session, rules, "2025-05-12", other)
    assert lifted.mappings == 1
    assert changes(session, other)[-1] == ("member", "platinum", "mapping", dt.date(2025, 5, 12))


def test_earning_upgrades_at_once_and_the_multiplier_follows_the_programme_tier(
    session: Session,
) -> None:
    rules = programme(multipliers=LoyaltyMultipliers(tier={"gold": 2.0, "platinum": 3.0}))
    rich = member(session)  # a big balance, but no spend: the balance does not make a tier
    loyalty.append(
        session=session,
        values={
            "customer_id": rich,
            "points": 90_000,
            "reason": LoyaltyReason.ADJUST,
            "occurred_at": at("2025-02-01"),
        },
    )
    spend(session, rich, "100.00", "2025-02-02")
    earning.post_customers(session, [rich], rules=rules, now=at("2025-02-03"), tz=SHANGHAI)
    assert state(session, rich)["tier"] == "member"
    assert loyalty.balance(session=session, customer_id=rich) == 90_100  # × 1

    cid = member(session)
    spend(session, cid, "1200.00", "2025-03-01")  # lifts to gold: upgraded before it earns
    earning.post_customers(session, [cid], rules=rules, now=at("2025-03-01", 18), tz=SHANGHAI)
    assert state(session, cid)["tier"] == "gold"
    assert changes(session, cid) == [(None, "gold", "initial", dt.date(2025, 3, 1))]
    assert loyalty.balance(session=session, customer_id=cid) == 2400  # × 2
    spend(session, cid, "4000.00", "2025-03-05")  # 5,200 in the window: platinum at once
    earning.post_customers(session, [cid], rules=rules, now=at("2025-03-05", 18), tz=SHANGHAI)
    assert changes(session, cid)[-1] == ("gold", "platinum", "upgrade", dt.date(2025, 3, 5))
    assert loyalty.balance(session=session, customer_id=cid) == 2400 + 12_000  # × 3


def test_points_basis_the_points_an_order_earns_lift_the_tier_after_posting(
    session: Session,
) -> None:
    rules = programme(tier_basis="points", multipliers=LoyaltyMultipliers(tier={"silver": 2.0}))
    cid = member(session)
    spend(session, cid, "2500.00", "2025-03-01")
    earning.post_customers(session, [cid], rules=rules, now=at("2025-03-01", 18), tz=SHANGHAI)
    assert loyalty.balance(session=session, customer_id=cid) == 2500  # earned as a member
    assert state(session, cid)["tier"] == "silver"  # lifted by those points
    assert [c[:3] for c in changes(session, cid)] == [
        (None, "member", "initial"),
        ("member", "silver", "upgrade"),
    ]


def test_a_dry_run_decides_and_writes_nothing(session: Session) -> None:
    rules = programme()
    cid = member(session)
    spend(session, cid, "300.00", "2025-03-01")
    dry = run(session, rules, "2025-03-02", cid, dry=True)
    assert (dry.initial, dry.written, dry.tiers) == (1, 1, {cid: "silver"})
    assert tiers.states(session, [cid]) == {} and changes(session, cid) == []


def test_the_job_works_through_every_member_in_batches(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    rules = programme()
    ids = [member(session) for _ in range(5)]
    for cid in ids[:2]:
        spend(session, cid, "1000.00", "2025-03-01")
    session.commit()
    monkeypatch.setattr(tiers, "BATCH_CUSTOMERS", 2)
    seen: list[tuple[int, int]] = []

    class Sessions:
        def __call__(self) -> Any:
            return self

        def __enter__(self) -> Session:
            return session

        def __exit__(self, *exc: object) -> None:
            session.flush()

    result = tiers.evaluate_tiers(
        Sessions(),
        rules=rules,
        at=at("2025-03-02"),
        tz=SHANGHAI,
        progress=lambda done, total: seen.append((done, total)),
    )
    assert seen == [(2, 5), (4, 5), (5, 5)]
    assert result.members == 5 and result.initial == 5
    assert {result.tiers[c] for c in ids[:2]} == {"gold"}
    assert {result.tiers[c] for c in ids[2:]} == {"member"}
    again = tiers.evaluate_tiers(Sessions(), rules=rules, at=at("2025-03-02"), tz=SHANGHAI)
    assert again.written == 0 and again.initial == 0


def test_the_card_shows_the_tier_the_next_review_what_is_missing_and_the_benefits(
    session: Session,
) -> None:
    rules = programme(
        tiers=[
            *TIERS[:2],
            LoyaltyTierRule(
                code="gold", min_points=10_000, min_spend=1000, sla_priority="high", gifts=["TEA"]
            ),
            TIERS[3],
        ],
        multipliers=LoyaltyMultipliers(tier={"gold": 1.5}),
    )
    cid = member(session)
    spend(session, cid, "1200.00", "2025-03-01")
    fresh = tiers.tier_card(session, customer_id=cid, rules=rules, at=at("2025-03-02"), tz=SHANGHAI)
    assert fresh is not None and fresh["evaluated"] is False and fresh["tier"]["code"] == "gold"
    run(session, rules, "2025-03-02", cid)
    spend(session, cid, "300.00", "2025-03-10")
    card = tiers.tier_card(session, customer_id=cid, rules=rules, at=at("2025-03-11"), tz=SHANGHAI)
    assert card is not None
    assert card["tier"]["code"] == "gold" and card["tier"]["name_zh"] == "金卡会员"
    assert (card["since"], card["review_on"], card["grace_until"]) == (
        dt.date(2025, 3, 2),
        dt.date(2025, 4, 1),
        None,
    )
    assert card["evaluated"] is True and card["basis"] == "spend"
    assert card["basis_value"] == Decimal("1500.00")
    assert card["next_tier"]["code"] == "platinum"
    assert card["to_next_tier"] == Decimal("3500.00")
    assert card["benefits"] == {"earn_multiplier": 1.5, "sla_priority": "high", "gifts": ["TEA"]}
    outsider = int(customer(session)["id"])
    assert tiers.tier_card(session, customer_id=outsider, rules=rules, at=at("2025-03-11")) is None


# --- random histories on the store -----------------------------------------------------------

ORDER = ["member", "silver", "gold", "platinum"]
STEPS = st.lists(
    st.tuples(
        st.integers(min_value=1, max_value=45),  # days to the next evaluation
        st.lists(  # orders placed the day before it: amount, counts as a purchase?
            st.tuples(st.integers(min_value=0, max_value=3000), st.booleans()), max_size=2
        ),
    ),
    min_size=1,
    max_size=12,
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps=STEPS, grace=st.integers(min_value=0, max_value=60))
def test_random_histories_on_the_store_follow_the_rule(
    session: Session, steps: list[tuple[int, list[tuple[int, bool]]]], grace: int
) -> None:
    """The job's tiers and history are the rule's (replayed here from the same orders), an
    upgrade never waits, a downgrade comes after a review date and its grace, and a second
    evaluation writes nothing."""
    rules = programme(tier_window_months=3, tier_grace_days=grace, tier_review="monthly")
    cid = member(session)
    day = dt.date(2025, 3, 1)
    history: list[tuple[dt.datetime, Decimal]] = []
    state: TierState | None = None
    expected_changes = 0
    for gap, placed in steps:
        day += dt.timedelta(days=gap)
        for amount, counts in placed:
            when = at((day - dt.timedelta(days=1)).isoformat(), 10)
            status = OrderStatus.COMPLETED if counts else OrderStatus.CANCELLED
            order(session, cid, net_amount=Decimal(amount), ordered_at=when, status=status)
            if counts:
                history.append((when, Decimal(amount)))
        moment = at(day.isoformat(), 23)
        expected = rule.evaluate(
            history, state, at=moment, tz=SHANGHAI, floor=None, rules=rules.loyalty
        )
        result = tiers.evaluate_customers(session, [cid], rules=rules, at=moment, tz=SHANGHAI)
        stored = state_of(session, cid)
        assert stored == expected.state and result.tiers[cid] == expected.state.tier
        expected_changes += expected.change is not None
        # independently: the spend of the last 3 months, the tier it reaches, never waiting
        start = rule.add_months(day, -3)
        spent = sum(v for t, v in history if t.astimezone(SHANGHAI).date() > start)
        reached = [
            c for c, floor in zip(ORDER, (0, 200, 1000, 5000), strict=True) if spent >= floor
        ]
        assert ORDER.index(stored.tier) >= ORDER.index(reached[-1])
        if state is not None and ORDER.index(stored.tier) < ORDER.index(state.tier):
            assert stored.tier == reached[-1]  # as far down as the spend says
            reviews = [
                state.since + dt.timedelta(days=d)
                for d in range(1, (day - state.since).days + 1)
                if (state.since + dt.timedelta(days=d)).day == 1
            ]
            assert any(r + dt.timedelta(days=grace) <= day for r in reviews)
        again = tiers.evaluate_customers(session, [cid], rules=rules, at=moment, tz=SHANGHAI)
        assert again.written == 0 and state_of(session, cid) == stored
        state = stored
    assert len(changes(session, cid)) == expected_changes


def state_of(session: Session, cid: int) -> TierState:
    row = state(session, cid)
    return TierState(row["tier"], row["since"], row["review_on"], row["grace_until"])


def test_evaluations_at_once_write_one_state_and_one_change(
    fresh_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The job and an order's posting evaluating one member at the same moment, each in its
    own transaction: the member's ledger lock serializes them, so one writes the state and
    the change and the others find them (no duplicate key, no second change). Reading the
    states is slowed down so that, unlocked, every transaction would read none."""
    rules = programme()
    read = tiers.states

    def slow_states(session: Session, customer_ids: Any) -> Any:
        found = read(session, customer_ids)
        time.sleep(0.2)
        return found

    monkeypatch.setattr(tiers, "states", slow_states)
    with session_scope(fresh_engine, writing=True) as session:
        cid = member(session)
        spend(session, cid, "1200.00", "2025-03-01")
    errors: list[BaseException] = []
    start = threading.Barrier(6)

    def evaluate() -> None:
        try:
            start.wait()
            with session_scope(fresh_engine, writing=True) as session:
                run(session, rules, "2025-03-02", cid)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=evaluate) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with session_scope(fresh_engine) as session:
        assert state(session, cid)["tier"] == "gold"
        assert changes(session, cid) == [(None, "gold", "initial", dt.date(2025, 3, 2))]


def test_a_member_raised_into_a_tier_with_gifts_gets_one_gift_task(session: Session) -> None:
    from .factories import user

    gifted = [
        TIERS[0],
        TIERS[1],
        LoyaltyTierRule(
            code="gold", min_points=10_000, min_spend=1000, gifts=["生日蛋糕", "专属客服"]
        ),
        TIERS[3],
    ]
    rules = programme(tiers=gifted, gift_task_days=3, gift_team="vip")
    owner = user(session)
    owned, unowned, small = (
        member(session, owner_id=owner["id"]),
        member(session),
        member(session),
    )
    for cid in (owned, unowned):
        spend(session, cid, "300.00", "2025-03-01")
    spend(session, small, "50.00", "2025-03-01")
    first = run(session, rules, "2025-03-10", owned, unowned, small)
    assert first.gift_tasks == 0  # silver (no gifts); a first tier is no upgrade
    for cid in (owned, unowned):
        spend(session, cid, "900.00", "2025-04-01")
    raised = run(session, rules, "2025-04-02", owned, unowned, small)
    assert (raised.upgrades, raised.gift_tasks) == (2, 2)
    t = schema.tasks.c
    rows = session.execute(
        sa.select(t.customer_id, t.assignee_id, t.team, t.title, t.status, t.due_at).order_by(
            t.customer_id
        )
    ).all()
    due = at("2025-04-02", 23) + dt.timedelta(days=3)
    assert rows == [
        (owned, owner["id"], None, "为升级至gold的会员送上礼遇：生日蛋糕、专属客服", "open", due),
        (unowned, None, "vip", "为升级至gold的会员送上礼遇：生日蛋糕、专属客服", "open", due),
    ]
    again = run(session, rules, "2025-04-03", owned, unowned, small)
    assert again.gift_tasks == 0
    assert session.execute(sa.select(sa.func.count()).select_from(schema.tasks)).scalar_one() == 2
