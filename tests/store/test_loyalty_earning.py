"""Points earned from orders by rule: the rule on arrays, posting on SQLite and PostgreSQL
(once per order, clawbacks on refunds and cancellations, never more than earned, never
below a zero balance, the pending period), and random histories of orders (Hypothesis)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import numpy as np
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from rapport.config import LoyaltyMultipliers, Rules, load_rules
from rapport.domain import LoyaltyReason, OrderStatus
from rapport.errors import Conflict
from rapport.store import loyalty, orders, schema
from rapport.store import loyalty_earning as earning

from .factories import T0, customer, order, product

NOW = T0 + dt.timedelta(days=60)


@pytest.fixture
def rules() -> Rules:
    return load_rules(None)


def _with(rules: Rules, **loyalty_values: Any) -> Rules:
    return rules.model_copy(update={"loyalty": rules.loyalty.model_copy(update=loyalty_values)})


# --- the rule ---------------------------------------------------------------------------------


def test_the_rule_floors_multiplies_and_caps(rules: Rules) -> None:
    plain = earning.evaluate(np.array([19.99, 100.5, -3.0, 0.0]), rules=rules.loyalty)
    assert plain.tolist() == [19, 100, 0, 0]
    tuned = _with(
        rules,
        points_per_currency_unit=100.0,
        max_points_per_order=5000,
        multipliers=LoyaltyMultipliers(channel={"app": 1.5}, tier={"gold": 2.0}),
    ).loyalty
    points = earning.evaluate(
        np.array([19.99, 10.0, 10.0, 80.0]),
        rules=tuned,
        category=np.array([1.0, 1.0, 2.0, 1.0]),
        channel=["store", "app", None, "app"],
        tier=["member", "member", "gold", "member"],
    )
    assert points.tolist() == [1999, 1500, 4000, 5000]  # 80 × 100 × 1.5 = 12,000 → capped


# --- posting on the store ---------------------------------------------------------------------


def _member(session: Session, **values: Any) -> int:
    return int(customer(session, loyalty_joined_at=T0 - dt.timedelta(days=30), **values)["id"])


def _post(session: Session, rules: Rules, *ids: int, now: dt.datetime = NOW) -> earning.EarnRun:
    return earning.post_customers(session, list(ids), rules=rules, now=now)


def _entries(session: Session, customer_id: int) -> list[tuple[int, str, str | None]]:
    lg = schema.loyalty_ledger.c
    rows = session.execute(
        sa.select(lg.points, lg.reason, lg.reference)
        .where(lg.customer_id == customer_id)
        .order_by(lg.id)
    )
    return [(p, LoyaltyReason(r).value, ref) for p, r, ref in rows]


def _change(session: Session, order_id: int, **values: Any) -> None:
    orders.repo.update(session=session, id=order_id, values=values)


def test_an_order_earns_once_and_gives_back_what_is_refunded_or_cancelled(
    session: Session, rules: Rules
) -> None:
    cid = _member(session)
    so = order(session, cid, net_amount=Decimal("100.50"))
    ref = f"order:{so['external_id']}"
    run = _post(session, rules, cid)
    assert (run.earned, run.earned_points) == (1, 100)
    assert _post(session, rules, cid).as_dict() == earning.EarnRun().as_dict() | {"orders": 1}
    _change(session, so["id"], net_amount=Decimal("60.30"), refunded_amount=Decimal("40.20"))
    assert _post(session, rules, cid).clawed_points == 40  # 100 - floor(100 × 60.30 / 100.50)
    _change(session, so["id"], status=OrderStatus.CANCELLED)
    assert _post(session, rules, cid).clawed_points == 60
    _change(session, so["id"], status=OrderStatus.COMPLETED, net_amount=Decimal("100.50"))
    assert _post(session, rules, cid).restored_points == 100
    assert _entries(session, cid) == [
        (100, "purchase", ref),
        (-40, "clawback", ref),
        (-60, "clawback", ref),
        (100, "purchase", ref),
    ]
    assert loyalty.balance(session=session, customer_id=cid) == 100


def test_only_members_earn_and_only_for_orders_placed_since_joining(
    session: Session, rules: Rules
) -> None:
    outsider = int(customer(session)["id"])
    late = int(customer(session, loyalty_joined_at=T0 + dt.timedelta(days=1))["id"])
    order(session, outsider)
    order(session, late)  # placed before joining
    order(session, late, ordered_at=T0 + dt.timedelta(days=2), net_amount=Decimal("9.99"))
    run = _post(session, rules, outsider, late)
    assert (run.orders, run.earned, run.earned_points) == (3, 1, 9)
    assert _entries(session, outsider) == []


def test_statuses_that_are_no_purchase_earn_nothing(session: Session, rules: Rules) -> None:
    cid = _member(session)
    for status in (OrderStatus.PENDING, OrderStatus.CANCELLED, OrderStatus.REFUNDED):
        order(session, cid, status=status)
    assert _post(session, rules, cid).earned == 0


def test_points_are_pending_for_the_returns_window(session: Session, rules: Rules) -> None:
    cid = _member(session)
    order(session, cid, net_amount=Decimal("500"))
    _post(session, _with(rules, pending_days=7), cid)
    with pytest.raises(Conflict):
        loyalty.redeem(
            session=session,
            customer_id=cid,
            points=100,
            at=T0 + dt.timedelta(days=6),
            reference="r",
        )
    loyalty.redeem(
        session=session, customer_id=cid, points=100, at=T0 + dt.timedelta(days=7), reference="r"
    )
    assert loyalty.balance(session=session, customer_id=cid) == 400


def test_a_clawback_never_takes_the_balance_below_zero_and_is_owed(
    session: Session, rules: Rules
) -> None:
    cid = _member(session)
    first = order(session, cid, net_amount=Decimal("100"))
    _post(session, _with(rules, pending_days=0), cid)
    loyalty.redeem(session=session, customer_id=cid, points=90, at=NOW, reference="gift")
    _change(session, first["id"], status=OrderStatus.CANCELLED)
    run = _post(session, rules, cid)
    assert (run.clawed_points, run.owed_points) == (10, 90)
    assert loyalty.balance(session=session, customer_id=cid) == 0
    order(session, cid, net_amount=Decimal("50"), ordered_at=T0 + dt.timedelta(days=5))
    run = _post(session, rules, cid)
    assert (run.earned_points, run.clawed_points, run.owed_points) == (50, 50, 40)
    assert loyalty.balance(session=session, customer_id=cid) == 0


def test_an_imported_earning_is_adopted_not_doubled(session: Session, rules: Rules) -> None:
    cid = _member(session)
    so = order(session, cid, net_amount=Decimal("80"))
    loyalty.append(
        session=session,
        values={
            "customer_id": cid,
            "points": 77,  # the old system's own rule
            "reason": LoyaltyReason.PURCHASE,
            "reference": f"order:{so['external_id']}",
            "occurred_at": T0,
        },
    )
    assert _post(session, rules, cid).earned == 0
    _change(session, so["id"], status=OrderStatus.REFUNDED)
    assert _post(session, rules, cid).clawed_points == 77
    assert loyalty.balance(session=session, customer_id=cid) == 0


def test_category_multipliers_weigh_the_lines(session: Session, rules: Rules) -> None:
    cid = _member(session)
    tea, cup = product(session, category="茶叶"), product(session, category="茶具")
    orders.create(
        session=session,
        values={
            "external_id": "SO-MIX",
            "customer_id": cid,
            "status": OrderStatus.COMPLETED,
            "ordered_at": T0,
            "net_amount": Decimal("100"),
            "currency": "CNY",
        },
        items=[
            {"product_id": tea["id"], "quantity": 1, "unit_price": 75, "net_amount": 75},
            {"product_id": cup["id"], "quantity": 1, "unit_price": 25, "net_amount": 25},
        ],
    )
    tuned = _with(rules, multipliers=LoyaltyMultipliers(category={"茶叶": 2.0}))
    assert _post(session, tuned, cid).earned_points == 175  # 100 × (0.75 × 2 + 0.25 × 1)


def test_switched_off_nothing_is_posted(session: Session, rules: Rules) -> None:
    cid = _member(session)
    order(session, cid)
    assert _post(session, _with(rules, earn_from_orders=False), cid).earned == 0
    assert _entries(session, cid) == []


# --- random histories -------------------------------------------------------------------------

STEPS = st.lists(
    st.one_of(
        st.tuples(st.just("order"), st.integers(0, 50_000)),  # cents
        st.tuples(st.just("refund"), st.integers(0, 9), st.integers(0, 100)),  # order, percent
        st.tuples(st.just("status"), st.integers(0, 9), st.sampled_from(list(OrderStatus))),
        st.tuples(st.just("redeem"), st.integers(1, 300)),
        st.tuples(
            st.just("post"),
        ),
    ),
    max_size=25,
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps=STEPS)
def test_random_histories_keep_the_ledger_sound(
    session: Session, rules: Rules, steps: list[tuple[Any, ...]]
) -> None:
    rules = _with(rules, pending_days=0)
    savepoint = session.begin_nested()
    try:
        cid = _member(session)
        made: list[dict[str, Any]] = []
        paid: dict[int, Decimal] = {}
        for step in [*steps, ("post",)]:
            kind = step[0]
            if kind == "order":
                amount = Decimal(step[1]) / 100
                made.append(order(session, cid, net_amount=amount))
                paid[made[-1]["id"]] = amount
            elif kind == "refund" and made:
                o = made[step[1] % len(made)]
                net = (paid[o["id"]] * (100 - step[2]) / 100).quantize(Decimal("0.01"))
                _change(session, o["id"], net_amount=net, refunded_amount=paid[o["id"]] - net)
            elif kind == "status" and made:
                _change(session, made[step[1] % len(made)]["id"], status=step[2])
            elif kind == "redeem":
                if loyalty.balance(session=session, customer_id=cid) >= step[1]:
                    loyalty.redeem(
                        session=session, customer_id=cid, points=step[1], at=NOW, reference="r"
                    )
            else:
                _post(session, rules, cid)
                _check(session, cid)
        written = len(_entries(session, cid))
        again = _post(session, rules, cid)  # posting again writes nothing
        assert len(_entries(session, cid)) == written
        assert (again.earned, again.clawbacks, again.restored_points) == (0, 0, 0)
    finally:
        savepoint.rollback()


def _check(session: Session, cid: int) -> None:
    entries = _entries(session, cid)
    balance = sum(p for p, _, _ in entries)
    assert balance >= 0
    op = schema.loyalty_order_points.c
    earned = dict(session.execute(sa.select(op.order_id, op.points)).all())
    by_ref: dict[str, int] = {}
    for points, reason, ref in entries:
        if reason in ("purchase", "clawback"):
            by_ref[ref] = by_ref.get(ref, 0) + points
    o = schema.orders.c
    for order_id, number in session.execute(
        sa.select(o.id, o.external_id).where(o.customer_id == cid)
    ):
        held = by_ref.get(f"order:{number}", 0)
        assert 0 <= held <= earned.get(order_id, 0)  # clawback ≤ what was earned
