"""Bonus points by rule on SQLite and PostgreSQL: welcome, birthday month, first repeat
purchase, referral and the referred customer's welcome — members only, events of the window
only, each once (a second run posts nothing), referral bonuses capped per year."""

from __future__ import annotations

import datetime as dt
from contextlib import nullcontext
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from rapport.config import LoyaltyBonuses, Rules, load_rules
from rapport.domain import LoyaltyReason, OrderStatus
from rapport.store import loyalty, referrals, schema
from rapport.store.loyalty_bonuses import post_bonuses

from .factories import customer, order

SHANGHAI = ZoneInfo("Asia/Shanghai")
AT = dt.datetime(2024, 6, 20, 12, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)


def _rules(**bonuses: Any) -> Rules:
    base = load_rules()
    values = {
        "welcome": 0,
        "birthday": 0,
        "first_repeat": 0,
        "referral": 0,
        "referred_welcome": 0,
        "referrals_per_year": 0,
        **bonuses,
    }
    loyalty_rules = base.loyalty.model_copy(update={"bonuses": LoyaltyBonuses(**values)})
    return base.model_copy(update={"loyalty": loyalty_rules})


def _run(session: Session, rules: Rules, at: dt.datetime = AT) -> Any:
    return post_bonuses(lambda: nullcontext(session), rules=rules, at=at, tz=SHANGHAI)


def _bonuses(session: Session, customer_id: int) -> list[tuple[int, str, str | None]]:
    lg = schema.loyalty_ledger.c
    rows = session.execute(
        sa.select(lg.points, lg.reason, lg.reference)
        .where(lg.customer_id == customer_id)
        .order_by(lg.id)
    )
    return [(p, LoyaltyReason(r).value, ref) for p, r, ref in rows]


def _member(session: Session, joined: dt.datetime = AT - 100 * DAY, **values: Any) -> int:
    return int(customer(session, loyalty_joined_at=joined, **values)["id"])


def test_a_welcome_for_members_who_joined_within_the_window_once(session: Session) -> None:
    rules = _rules(welcome=100)
    new, old = _member(session, AT - 10 * DAY), _member(session, AT - 40 * DAY)
    outsider = int(customer(session)["id"])
    run = _run(session, rules)
    assert (run.entries["welcome"], run.points["welcome"]) == (1, 100)
    assert _bonuses(session, new) == [(100, "bonus", "welcome")]
    assert _bonuses(session, old) == [] and _bonuses(session, outsider) == []
    assert _run(session, rules).entries["welcome"] == 0


def test_the_birthday_bonus_once_a_year_in_the_birthday_month(session: Session) -> None:
    rules = _rules(birthday=200)
    june = _member(session, birthday=dt.date(1990, 6, 28))
    july = _member(session, birthday=dt.date(1990, 7, 1))
    imported = _member(session, birthday=dt.date(1985, 6, 2))
    loyalty.append(
        session=session,
        values={
            "customer_id": imported,
            "points": 200,
            "reason": LoyaltyReason.BIRTHDAY,
            "reference": "birthday:2024",  # the sample's (and an old system's) convention
            "occurred_at": AT - 18 * DAY,
        },
    )
    non_member = int(customer(session, birthday=dt.date(1990, 6, 1))["id"])
    run = _run(session, rules)
    assert run.entries["birthday"] == 1
    assert _bonuses(session, june) == [(200, "birthday", "birthday:2024")]
    assert _bonuses(session, july) == [] and _bonuses(session, non_member) == []
    assert len(_bonuses(session, imported)) == 1
    assert _run(session, rules, AT + 5 * DAY).entries["birthday"] == 0
    next_year = _run(session, rules, AT.replace(year=2025))
    assert next_year.entries["birthday"] == 2  # june and imported, for 2025


def test_the_first_repeat_purchase_and_only_purchases_count(session: Session) -> None:
    rules = _rules(first_repeat=50)
    twice, once, cancelled = _member(session), _member(session), _member(session)
    order(session, twice, ordered_at=AT - 60 * DAY)
    order(session, twice, ordered_at=AT - 3 * DAY)
    order(session, twice, ordered_at=AT - 2 * DAY)  # the third: no second bonus
    order(session, once, ordered_at=AT - 3 * DAY)
    order(session, cancelled, ordered_at=AT - 60 * DAY)
    order(session, cancelled, ordered_at=AT - 3 * DAY, status=OrderStatus.CANCELLED)
    assert _run(session, rules).entries["first_repeat"] == 1
    assert _bonuses(session, twice) == [(50, "bonus", "first_repeat")]
    assert _run(session, rules).entries["first_repeat"] == 0


def test_a_referral_rewards_both_sides_at_the_first_purchase_capped_per_year(
    session: Session,
) -> None:
    rules = _rules(referral=500, referred_welcome=100, referrals_per_year=1)
    referrer = _member(session)
    friends = [_member(session, AT - 20 * DAY) for _ in range(2)]
    for n, friend in enumerate(friends):
        referrals.repo.create(
            session=session,
            values={
                "external_id": f"RF-{n}",
                "referrer_customer_id": referrer,
                "referred_customer_id": friend,
                "referred_at": AT - 20 * DAY,
            },
        )
        order(session, friend, ordered_at=AT - (5 - n) * DAY, net_amount=Decimal("10"))
    run = _run(session, rules)
    assert (run.entries["referral"], run.capped) == (1, 1)
    assert _bonuses(session, referrer) == [(500, "referral", "referral:RF-0")]
    for friend in friends:
        assert _bonuses(session, friend) == [(100, "bonus", "referred_welcome")]
    again = _run(session, rules)
    assert (again.entries["referral"], again.entries["referred_welcome"]) == (0, 0)


@pytest.mark.parametrize("kind", ["welcome", "birthday", "first_repeat"])
def test_a_bonus_at_zero_is_off(session: Session, kind: str) -> None:
    member = _member(session, AT - 5 * DAY, birthday=dt.date(1990, 6, 1))
    order(session, member, ordered_at=AT - 4 * DAY)
    order(session, member, ordered_at=AT - 3 * DAY)
    run = _run(session, _rules(**{kind: 0}))
    assert sum(run.entries.values()) == 0 and _bonuses(session, member) == []
