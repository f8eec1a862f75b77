"""The rewards catalogue and redemption on SQLite and PostgreSQL: the price is spent and a
voucher issued in one transaction, stock never below zero (also when two customers race for
the last one), inactive rewards refused, a voucher used once."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from rapport.domain import LoyaltyReason
from rapport.errors import Conflict, NotFound, ValidationFailed
from rapport.store import loyalty, schema
from rapport.store import loyalty_rewards as rewards
from rapport.store.db import session_scope

from .factories import T0, customer

CUP = {"code": "CUP", "name_zh": "马克杯", "name_en": "Mug", "kind": "gift", "points": 300}


def _earn(session: Session, customer_id: int, points: int) -> None:
    loyalty.append(
        session=session,
        values={
            "customer_id": customer_id,
            "points": points,
            "reason": LoyaltyReason.BONUS,
            "occurred_at": T0,
        },
    )


def test_redeeming_spends_the_price_and_issues_a_voucher(session: Session) -> None:
    rewards.save(session=session, values={**CUP, "stock": 2})
    cid = int(customer(session)["id"])
    _earn(session, cid, 1000)
    voucher = rewards.redeem(session=session, customer_id=cid, code="CUP", at=T0)
    assert voucher["code"].startswith("RV-") and len(voucher["code"]) == 17
    assert voucher["entry"]["points"] == -300 and voucher["entry"]["reference"] == "reward:CUP"
    assert loyalty.balance(session=session, customer_id=cid) == 700
    assert rewards.reward(session=session, code="CUP")["stock"] == 1
    used = rewards.use_voucher(session=session, code=voucher["code"], at=T0 + dt.timedelta(1))
    assert used["used_at"] is not None
    with pytest.raises(Conflict, match="was used"):
        rewards.use_voucher(session=session, code=voucher["code"], at=T0 + dt.timedelta(2))


def test_out_of_stock_inactive_unknown_and_unaffordable_are_refused(session: Session) -> None:
    rewards.save(session=session, values={**CUP, "stock": 0})
    rewards.save(session=session, values={**CUP, "code": "OLD", "active": False})
    rewards.save(session=session, values={**CUP, "code": "BIG", "points": 5000})
    cid = int(customer(session)["id"])
    _earn(session, cid, 1000)
    for code, error, words in (
        ("CUP", Conflict, "out of stock"),
        ("OLD", Conflict, "not offered"),
        ("NOPE", NotFound, "no reward"),
        ("BIG", Conflict, "cannot spend"),
    ):
        with pytest.raises(error, match=words):
            rewards.redeem(session=session, customer_id=cid, code=code, at=T0)
    assert loyalty.balance(session=session, customer_id=cid) == 1000
    with pytest.raises(NotFound):
        rewards.use_voucher(session=session, code="RV-NONE", at=T0)


def test_a_price_of_zero_and_a_negative_stock_are_refused(session: Session) -> None:
    for values in ({**CUP, "points": 0}, {**CUP, "stock": -1}, {**CUP, "kind": "cash"}):
        with pytest.raises(ValidationFailed):
            rewards.save(session=session, values=values)


def test_the_catalogue_by_price(session: Session) -> None:
    rewards.save(session=session, values={**CUP, "code": "B", "points": 900})
    rewards.save(session=session, values={**CUP, "code": "A", "points": 100, "active": False})
    assert [r["code"] for r in rewards.catalogue(session=session)] == ["A", "B"]
    assert [r["code"] for r in rewards.catalogue(session=session, active_only=True)] == ["B"]


def test_two_customers_racing_for_the_last_one(fresh_engine: Engine) -> None:
    with session_scope(fresh_engine, writing=True) as session:
        rewards.save(session=session, values={**CUP, "stock": 1})
        ids = [int(customer(session)["id"]) for _ in range(2)]
        for cid in ids:
            _earn(session, cid, 500)
    outcomes: list[Any] = []

    def take(cid: int) -> None:
        try:
            with session_scope(fresh_engine, writing=True) as session:
                rewards.redeem(session=session, customer_id=cid, code="CUP", at=T0)
            outcomes.append("voucher")
        except Conflict as exc:
            outcomes.append(str(exc))

    threads = [threading.Thread(target=take, args=(cid,)) for cid in ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count("voucher") == 1
    assert any("out of stock" in o for o in outcomes)
    with session_scope(fresh_engine) as session:
        assert rewards.reward(session=session, code="CUP")["stock"] == 0
        spent = session.execute(
            sa.select(sa.func.count()).where(schema.loyalty_ledger.c.points < 0)
        ).scalar_one()
        vouchers = session.execute(
            sa.select(sa.func.count()).select_from(schema.loyalty_vouchers)
        ).scalar_one()
    assert spent == vouchers == 1


def test_a_customers_vouchers_newest_first_with_their_reward(session: Session) -> None:
    rewards.save(session=session, values=CUP)
    rewards.save(session=session, values={**CUP, "code": "PEN", "name_en": "Pen", "points": 100})
    cid, other = int(customer(session)["id"]), int(customer(session)["id"])
    _earn(session, cid, 1000)
    _earn(session, other, 1000)
    first = rewards.redeem(session=session, customer_id=cid, code="CUP", at=T0)
    second = rewards.redeem(session=session, customer_id=cid, code="PEN", at=T0 + dt.timedelta(1))
    rewards.redeem(session=session, customer_id=other, code="PEN", at=T0)
    rewards.use_voucher(session=session, code=first["code"], at=T0 + dt.timedelta(2))
    found = rewards.customer_vouchers(session=session, customer_id=cid)
    assert [v["code"] for v in found] == [second["code"], first["code"]]
    assert [(v["reward_code"], v["name_en"], v["points"]) for v in found] == [
        ("PEN", "Pen", 100),
        ("CUP", "Mug", 300),
    ]
    assert found[0]["used_at"] is None and found[1]["used_at"] is not None
    assert [
        v["code"] for v in rewards.customer_vouchers(session=session, customer_id=cid, limit=1)
    ] == [second["code"]]
    assert rewards.customer_voucher_counts(session=session, customer_id=cid) == {
        "issued": 2,
        "used": 1,
    }
    assert rewards.customer_voucher_counts(session=session, customer_id=other)["used"] == 0
