"""Every built-in playbook fires on a handmade store where it should and not where it should
not (SQLite and PostgreSQL); its actions reach the treated customers only."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Session

from rapport.domain import TicketKind
from rapport.store import loyalty, schema

from .store_builder import (
    DAY,
    LATEST,
    NOW,
    PREVIOUS,
    count,
    customer,
    enrolled,
    local,
    nps,
    order,
    rules,
    run,
    snapshot,
    ticket,
)

D = dt.timedelta(days=1)


def test_diamond_care_calls_every_diamond_once_a_quarter(session: Session) -> None:
    owner_user = session.execute(
        sa.insert(schema.users)
        .values(username="li", display_name="李", role="sales", created_at=NOW, updated_at=NOW)
        .returning(schema.users.c.id)
    ).scalar_one()
    diamond = customer(session, owner_id=owner_user)
    gold = customer(session)
    snapshot(session, LATEST, {diamond: {"value_tier": "diamond"}, gold: {"value_tier": "gold"}})
    result = run(session, rules())
    assert enrolled(session, "diamond_care") == {diamond: "treated"}
    figures = result.figures("diamond_care")
    assert (figures.triggered, figures.in_audience, figures.treated, figures.tasks) == (2, 1, 1, 1)
    task = session.execute(sa.select(schema.tasks)).mappings().one()
    assert task["customer_id"] == diamond and task["assignee_id"] == owner_user
    assert task["priority"] == "high" and "diamond" in task["title"]
    tags = session.execute(
        sa.select(schema.customers.c.tags).where(schema.customers.c.id == diamond)
    ).scalar_one()
    assert tags == ["diamond_care"]
    # the same quarter again: nothing new; the next quarter: again
    assert run(session, rules(), day=DAY + 3 * D).figures("diamond_care").already_enrolled == 1
    assert count(session, schema.tasks) == 1


def test_diamond_at_risk_when_churn_risk_rises_past_the_threshold(session: Session) -> None:
    rising, steady, gold = customer(session), customer(session), customer(session)
    snapshot(
        session,
        PREVIOUS,
        {
            rising: {"value_tier": "diamond", "churn_risk": 0.3},
            steady: {"value_tier": "diamond", "churn_risk": 0.7},
            gold: {"value_tier": "gold", "churn_risk": 0.3},
        },
    )
    snapshot(
        session,
        LATEST,
        {
            rising: {"value_tier": "diamond", "churn_risk": 0.65},
            steady: {"value_tier": "diamond", "churn_risk": 0.8},
            gold: {"value_tier": "gold", "churn_risk": 0.9},
        },
    )
    run(session, rules())
    assert enrolled(session, "diamond_at_risk") == {rising: "treated"}
    alert = session.execute(sa.select(schema.alerts)).mappings().one()
    assert alert["customer_id"] == rising and alert["severity"] == "critical"
    task = (
        session.execute(sa.select(schema.tasks).where(schema.tasks.c.customer_id == rising))
        .mappings()
        .all()
    )
    due = {t["priority"]: t["due_at"] for t in task}
    assert due["urgent"] - NOW == dt.timedelta(hours=48)


def test_second_purchase_nudge_for_one_time_buyers_after_thirty_days(session: Session) -> None:
    once = customer(session)
    twice = customer(session)
    recent = customer(session)
    order(session, once, local(DAY - 40 * D))
    order(session, twice, local(DAY - 40 * D))
    order(session, recent, local(DAY - 10 * D))
    snapshot(
        session, LATEST, {once: {"frequency": 1}, twice: {"frequency": 2}, recent: {"frequency": 1}}
    )
    run(session, rules())
    assert enrolled(session, "second_purchase_nudge") == {once: "treated"}
    message = session.execute(sa.select(schema.outbox)).mappings().one()
    assert message["channel"] == "email" and message["customer_id"] == once
    assert message["idempotency_key"].startswith(f"playbook:second_purchase_nudge:{once}:")


def test_birthday_greeting_on_the_day_for_marketable_customers_only(session: Session) -> None:
    today = customer(session, birthday=dt.date(1990, DAY.month, DAY.day))
    tomorrow = customer(session, birthday=dt.date(1990, DAY.month, DAY.day + 1))
    refused = customer(session, birthday=dt.date(1985, DAY.month, DAY.day), marketing_opt_out=True)
    result = run(session, rules())
    assert enrolled(session, "birthday_greeting") == {today: "treated"}
    assert result.figures("birthday_greeting").skipped["consent"] == 1
    message = session.execute(sa.select(schema.outbox)).mappings().one()
    assert message["recipient"].startswith("+86") and "张伟" in message["body"]
    assert tomorrow not in enrolled(session, "birthday_greeting") and refused


def test_win_back_for_repeat_buyers_asleep_for_four_months(session: Session) -> None:
    sleeping, awake, long_gone = customer(session), customer(session), customer(session)
    order(session, sleeping, local(DAY - 150 * D))
    order(session, awake, local(DAY - 20 * D))
    order(session, long_gone, local(DAY - 500 * D))
    snapshot(session, LATEST, {c: {"frequency": 3} for c in (sleeping, awake, long_gone)})
    run(session, rules())
    assert enrolled(session, "win_back") == {sleeping: "treated"}


def test_nps_follow_up_and_referral_ask_by_the_day_s_answers(session: Session) -> None:
    detractor, promoter, passive, yesterday = (customer(session) for _ in range(4))
    nps(session, detractor, 3, local(DAY, 9))
    nps(session, promoter, 10, local(DAY, 10))
    nps(session, passive, 7, local(DAY, 11))
    nps(session, yesterday, 2, local(DAY - D))
    run(session, rules())
    assert enrolled(session, "nps_detractor_follow_up") == {detractor: "treated"}
    assert enrolled(session, "referral_ask") == {promoter: "treated"}
    task = session.execute(sa.select(schema.tasks)).mappings().one()
    assert task["team"] == "service" and task["assignee_id"] is None


def test_complaint_recovery_after_a_complaint_closes(session: Session) -> None:
    complained, asked = customer(session), customer(session)
    ticket(session, complained, opened=local(DAY - 3 * D), closed=local(DAY, 10))
    ticket(
        session, asked, opened=local(DAY - 3 * D), closed=local(DAY, 10), kind=TicketKind.INQUIRY
    )
    run(session, rules())
    assert enrolled(session, "complaint_recovery") == {complained: "treated"}
    assert loyalty.balance(session=session, customer_id=complained) == 100
    assert loyalty.balance(session=session, customer_id=asked) == 0


def test_tier_upgrade_congratulations_when_the_value_tier_rises(session: Session) -> None:
    up, down, same = customer(session), customer(session), customer(session)
    snapshot(
        session,
        PREVIOUS,
        {up: {"value_tier": "silver"}, down: {"value_tier": "gold"}, same: {"value_tier": "gold"}},
    )
    snapshot(
        session,
        LATEST,
        {up: {"value_tier": "gold"}, down: {"value_tier": "silver"}, same: {"value_tier": "gold"}},
    )
    run(session, rules())
    assert enrolled(session, "tier_upgrade_congrats") == {up: "treated"}
    assert loyalty.balance(session=session, customer_id=up) == 200
    push = session.execute(sa.select(schema.outbox)).mappings().one()
    assert push["channel"] == "app_push"


def test_points_expiring_within_thirty_days(session: Session) -> None:
    days = rules().loyalty.points_expire_days
    soon, later = customer(session), customer(session)
    for who, age in ((soon, days - 10), (later, days - 60)):
        loyalty.append(
            session=session,
            values={
                "customer_id": who,
                "points": 500,
                "reason": "bonus",
                "occurred_at": local(DAY - age * D),
            },
        )
    run(session, rules())
    assert enrolled(session, "points_expiring") == {soon: "treated"}
    body = session.execute(sa.select(schema.outbox.c.body)).scalar_one()
    assert "500" in body
