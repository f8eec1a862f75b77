"""The loyalty programme: an append-only ledger, balances, redemption and tiers."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.orm import Session

from rapport.config import LoyaltyRules, LoyaltyTierRule, load_rules
from rapport.domain import LoyaltyReason
from rapport.errors import Conflict, NotFound, ValidationFailed
from rapport.store import customers, loyalty
from rapport.store.repository import UpsertOutcome

from .factories import T0, customer


def earn(session: Session, customer_id: int, points: int, at: dt.datetime = T0, **kw) -> dict:
    return loyalty.append(
        session=session,
        values={
            "customer_id": customer_id,
            "points": points,
            "reason": kw.pop("reason", LoyaltyReason.PURCHASE),
            "occurred_at": at,
            **kw,
        },
    )


def entries(session: Session, customer_id: int) -> int:
    return loyalty.repo.count(session=session, filters={"customer_id": customer_id})


# --- balance -------------------------------------------------------------------------------


def test_balance_sums_the_ledger_of_one_customer(session: Session) -> None:
    a, b = customer(session), customer(session)
    assert loyalty.balance(session=session, customer_id=a["id"]) == 0
    earn(session, a["id"], 1280, reference="order:SO-1")
    earn(session, a["id"], 200, reason=LoyaltyReason.BIRTHDAY)
    earn(session, b["id"], 999)
    loyalty.redeem(session=session, customer_id=a["id"], points=480, at=T0, reference="gift:杯子")
    assert loyalty.balance(session=session, customer_id=a["id"]) == 1000
    assert loyalty.balance(session=session, customer_id=b["id"]) == 999


def test_balance_as_of_a_time(session: Session) -> None:
    c = customer(session)
    day = dt.timedelta(days=1)
    earn(session, c["id"], 100, at=T0)
    earn(session, c["id"], 50, at=T0 + day)
    earn(session, c["id"], -30, at=T0 + 2 * day, reason=LoyaltyReason.EXPIRE)
    assert loyalty.balance(session=session, customer_id=c["id"], at=T0 - day) == 0
    assert loyalty.balance(session=session, customer_id=c["id"], at=T0) == 100
    assert loyalty.balance(session=session, customer_id=c["id"], at=T0 + day) == 150
    assert loyalty.balance(session=session, customer_id=c["id"], at=T0 + 3 * day) == 120


# --- redemption ----------------------------------------------------------------------------


def test_redeem_writes_a_negative_entry(session: Session) -> None:
    c = customer(session)
    earn(session, c["id"], 500)
    row = loyalty.redeem(
        session=session, customer_id=c["id"], points=500, at=T0, reference="coupon:满100减20"
    )
    assert (row["points"], row["reason"], row["reference"]) == (
        -500,
        LoyaltyReason.REDEEM,
        "coupon:满100减20",
    )
    assert loyalty.balance(session=session, customer_id=c["id"]) == 0


def test_redeem_beyond_the_balance_is_refused_and_writes_nothing(session: Session) -> None:
    c = customer(session)
    earn(session, c["id"], 300)
    before = entries(session, c["id"])
    with pytest.raises(Conflict) as info:
        loyalty.redeem(session=session, customer_id=c["id"], points=301, at=T0, reference="x")
    assert info.value.location == "loyalty_ledger.points"
    assert "300" in info.value.message
    assert entries(session, c["id"]) == before
    assert loyalty.balance(session=session, customer_id=c["id"]) == 300


@pytest.mark.parametrize("points", [0, -5])
def test_redeem_needs_a_positive_number(session: Session, points: int) -> None:
    c = customer(session)
    earn(session, c["id"], 100)
    with pytest.raises(ValidationFailed) as info:
        loyalty.redeem(session=session, customer_id=c["id"], points=points, at=T0, reference="x")
    assert info.value.field == "points"
    assert entries(session, c["id"]) == 1


def test_other_spending_reasons_may_not_go_negative_either(session: Session) -> None:
    c = customer(session)
    earn(session, c["id"], 10)
    with pytest.raises(Conflict):
        earn(session, c["id"], -11, reason=LoyaltyReason.EXPIRE)
    assert loyalty.balance(session=session, customer_id=c["id"]) == 10


def test_adjust_may_take_the_balance_below_zero(session: Session) -> None:
    c = customer(session)
    earn(session, c["id"], 10)
    earn(session, c["id"], -50, reason=LoyaltyReason.ADJUST, reference="客服更正")
    assert loyalty.balance(session=session, customer_id=c["id"]) == -40


def test_zero_points_are_refused(session: Session) -> None:
    c = customer(session)
    with pytest.raises(ValidationFailed):
        earn(session, c["id"], 0)
    assert entries(session, c["id"]) == 0


def test_points_for_a_missing_or_deleted_customer(session: Session) -> None:
    with pytest.raises(NotFound):
        earn(session, 987654, 10)
    c = customer(session)
    customers.repo.delete(session=session, id=c["id"])
    with pytest.raises(NotFound):
        earn(session, c["id"], 10)


@pytest.mark.parametrize("verb", ["update", "delete"])
def test_the_ledger_refuses_changes_with_a_domain_error(session: Session, verb: str) -> None:
    c = customer(session)
    row = earn(session, c["id"], 100)
    with pytest.raises(Conflict) as info:
        if verb == "update":
            loyalty.repo.update(session=session, id=row["id"], values={"points": 1000})
        else:
            loyalty.repo.delete(session=session, id=row["id"])
    assert info.value.table == "loyalty_ledger"
    assert "append-only" in info.value.message
    assert loyalty.balance(session=session, customer_id=c["id"]) == 100
    assert earn(session, c["id"], 5)["points"] == 5  # the session goes on


# --- tiers ---------------------------------------------------------------------------------


def test_sync_tiers_writes_the_configured_tiers_once(session: Session) -> None:
    rules = load_rules().loyalty
    rows = loyalty.sync_tiers(session=session, rules=rules)
    assert [(r["code"], r["min_points"]) for r in rows] == [
        (t.code, t.min_points) for t in rules.tiers
    ]
    assert all(r["name_zh"] and r["name_en"] for r in rows)
    assert loyalty.tiers_repo.count(session=session) == len(rules.tiers)
    for tier in rules.tiers:
        outcome, _ = loyalty.tiers_repo.upsert(
            session=session, values={"code": tier.code, "min_points": tier.min_points}
        )
        assert outcome is UpsertOutcome.UNCHANGED
    again = loyalty.sync_tiers(session=session, rules=rules)
    assert again == rows


def test_sync_tiers_updates_a_changed_threshold(session: Session) -> None:
    rules = load_rules().loyalty
    loyalty.sync_tiers(session=session, rules=rules)
    changed = rules.model_copy(
        update={
            "tiers": [
                t if t.code != "gold" else LoyaltyTierRule(code="gold", min_points=12000)
                for t in rules.tiers
            ]
        }
    )
    loyalty.sync_tiers(session=session, rules=changed)
    assert loyalty.tiers_repo.get_by_key(session=session, key="gold")["min_points"] == 12000
    assert loyalty.tiers_repo.count(session=session) == len(rules.tiers)


def test_sync_tiers_replaces_the_tiers_by_the_configured_ones(session: Session) -> None:
    loyalty.sync_tiers(session=session, rules=load_rules().loyalty)
    other = LoyaltyRules(
        points_per_currency_unit=1,
        points_expire_days=365,
        tiers=[
            LoyaltyTierRule(code="vip", min_points=500),
            LoyaltyTierRule(code="member", min_points=0),
        ],
    )
    rows = loyalty.sync_tiers(session=session, rules=other)
    assert [r["code"] for r in rows] == ["vip", "member"]
    stored = {r["code"]: r["min_points"] for r in loyalty.tiers_repo.list(session=session)}
    assert stored == {"vip": 500, "member": 0}


def test_sync_tiers_removes_a_tier_dropped_from_the_rules(session: Session) -> None:
    rules = load_rules().loyalty
    loyalty.sync_tiers(session=session, rules=rules)
    fewer = rules.model_copy(update={"tiers": [t for t in rules.tiers if t.code != "platinum"]})
    loyalty.sync_tiers(session=session, rules=fewer)
    codes = {r["code"] for r in loyalty.tiers_repo.list(session=session)}
    assert codes == {t.code for t in fewer.tiers}
