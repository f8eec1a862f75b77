"""The playbook engine on SQLite and PostgreSQL: reruns, dry runs, holdouts, caps, cooldowns,
quiet hours, definitions' versions, outcomes and their cost."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from rapport.actions.eligibility import send_moment
from rapport.actions.holdout import is_held_out
from rapport.actions.outcomes import measure_in_session
from rapport.actions.playbook_registry import put_playbook, sync_playbooks
from rapport.actions.playbooks import parse_playbook
from rapport.domain import CampaignChannel, EnrolmentArm
from rapport.errors import ValidationFailed
from rapport.store import schema
from rapport.store.outbox import NewMessage, enqueue

from .store_builder import (
    DAY,
    LATEST,
    NOW,
    SHANGHAI,
    count,
    customer,
    enrolled,
    local,
    order,
    rules,
    run,
    snapshot,
)

D = dt.timedelta(days=1)
ONLY_BIRTHDAYS = {"disabled": ("diamond_care",)}


def _birthday_people(session: Session, n: int, **values: Any) -> list[int]:
    return [
        customer(session, birthday=dt.date(1990, DAY.month, DAY.day), **values) for _ in range(n)
    ]


def test_a_rerun_of_the_day_enrols_nobody_twice_and_acts_once(session: Session) -> None:
    people = _birthday_people(session, 5)
    first = run(session, rules())
    assert first.figures("birthday_greeting").treated == 5
    again = run(session, rules())
    figures = again.figures("birthday_greeting")
    assert (figures.already_enrolled, figures.eligible, figures.messages) == (5, 0, 0)
    assert count(session, schema.outbox) == 5
    assert count(session, schema.playbook_enrolments) == 5 and len(people) == 5


def test_a_dry_run_writes_nothing_and_gives_the_figures_of_a_run(session: Session) -> None:
    _birthday_people(session, 4)
    _birthday_people(session, 2, marketing_consent=False)
    dry = run(session, rules(holdout=0.5), dry_run=True)
    assert count(session, schema.playbooks) == 0 and count(session, schema.outbox) == 0
    real = run(session, rules(holdout=0.5))
    keys = ("triggered", "in_audience", "skipped", "eligible", "treated", "held_out")
    for key in keys:
        assert getattr(dry.figures("birthday_greeting"), key) == getattr(
            real.figures("birthday_greeting"), key
        ), key
    assert real.figures("birthday_greeting").skipped["consent"] == 2


def test_held_out_customers_get_nothing_and_their_arm_is_the_hash_s(session: Session) -> None:
    people = _birthday_people(session, 40)
    result = run(session, rules(holdout=0.5))
    arms = enrolled(session, "birthday_greeting")
    assert set(arms) == set(people)
    for cid, arm in arms.items():
        expected = is_held_out(cid, "birthday_greeting", 0.5).arm
        assert arm == expected.value
    messaged = set(session.execute(sa.select(schema.outbox.c.customer_id)).scalars())
    assert messaged == {c for c, a in arms.items() if a == EnrolmentArm.TREATED}
    figures = result.figures("birthday_greeting")
    assert figures.treated + figures.held_out == 40 and 0 < figures.held_out < 40


def test_the_global_control_group_is_recorded_as_control(session: Session) -> None:
    _birthday_people(session, 30)
    run(session, rules(global_control_share=0.5))
    arms = set(enrolled(session, "birthday_greeting").values())
    assert "control" in arms and "treated" in arms
    controls = [c for c, a in enrolled(session, "birthday_greeting").items() if a == "control"]
    assert not session.execute(
        sa.select(schema.outbox).where(schema.outbox.c.customer_id.in_(controls))
    ).first()


def test_frequency_caps_count_the_outbox_and_the_run_s_own_messages(session: Session) -> None:
    busy, fresh = _birthday_people(session, 2)
    enqueue(
        session=session,
        messages=[
            NewMessage(f"old:{i}", "sms", "+8613800000000", body="x", customer_id=busy)
            for i in range(2)
        ],
        at=NOW - 3 * D,
    )
    result = run(session, rules(caps=[{"channel": "sms", "max": 2, "days": 7}]))
    assert enrolled(session, "birthday_greeting") == {fresh: "treated"}
    assert result.figures("birthday_greeting").skipped["cap"] == 1
    # messages older than the cap's window do not count
    other = _birthday_people(session, 1)[0]
    enqueue(
        session=session,
        messages=[NewMessage("older", "sms", "+86", body="x", customer_id=other)],
        at=NOW - 30 * D,
    )
    run(session, rules(caps=[{"channel": "sms", "max": 1, "days": 7}]))
    assert other in enrolled(session, "birthday_greeting")


def test_a_cooldown_keeps_a_customer_out_until_it_has_passed(session: Session) -> None:
    sleeper = customer(session)
    order(session, sleeper, local(DAY - 150 * D))
    snapshot(session, DAY - 30 * D, {sleeper: {"frequency": 2}})
    run(session, rules(), day=DAY - 20 * D, now=NOW - 20 * D)
    assert sleeper in enrolled(session, "win_back")
    # a new purchase and a new silence: a new occasion, inside the 180-day cooldown
    order(session, sleeper, local(DAY - 140 * D))
    result = run(session, rules())
    assert result.figures("win_back").skipped["cooldown"] == 1
    assert count(session, schema.playbook_enrolments) == 1


def test_messages_are_due_after_the_quiet_hours(session: Session) -> None:
    the_rules = rules()
    late = dt.datetime(2026, 6, 15, 22, 30, tzinfo=SHANGHAI).astimezone(dt.UTC)
    due = send_moment(the_rules, DAY, SHANGHAI, late)
    assert due == dt.datetime(2026, 6, 16, 9, 0, tzinfo=SHANGHAI)
    assert send_moment(the_rules, DAY, SHANGHAI, NOW) == dt.datetime(
        2026, 6, 15, 10, 0, tzinfo=SHANGHAI
    )
    _birthday_people(session, 1)
    run(session, the_rules, now=late)
    next_attempt = session.execute(sa.select(schema.outbox.c.next_attempt_at)).scalar_one()
    assert next_attempt == dt.datetime(2026, 6, 16, 9, 0, tzinfo=SHANGHAI)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"trigger": {"kind": "sometimes"}}, "trigger.kind"),
        (
            {"trigger": {"kind": "enter", "field": "value_tier", "values": ["platinum"]}},
            "trigger.values",
        ),
        ({"audience": {"field": "shoe_size", "op": "eq", "value": 1}}, "audience.field"),
        (
            {"audience": {"all": [{"field": "city", "op": "gt", "value": "x"}]}},
            "audience.all[0].op",
        ),
        ({"actions": []}, "actions"),
        (
            {
                "actions": [
                    {
                        "kind": "message",
                        "channel": "fax",
                        "template": "t",
                        "body_zh": "a",
                        "body_en": "b",
                    }
                ]
            },
            "actions[0].channel",
        ),
        ({"actions": [{"kind": "task", "title_zh": "a"}]}, "actions[0].title_en"),
        ({"outcome": {"kind": "purchase", "window_days": 0}}, "outcome.window_days"),
        ({"holdout_share": 2}, None),
        ({"colour": "red"}, "playbook.colour"),
    ],
)
def test_an_invalid_definition_names_the_playbook_and_the_field(
    change: dict[str, Any], field: str | None
) -> None:
    good = {
        "code": "vip_event",
        "name_zh": "活动",
        "name_en": "Event",
        "trigger": {"kind": "schedule", "every": "month"},
        "actions": [{"kind": "tag", "tag": "vip"}],
        "outcome": {"kind": "purchase", "window_days": 30},
    }
    assert parse_playbook(good).code == "vip_event"
    with pytest.raises(ValidationFailed) as caught:
        parse_playbook({**good, **change})
    assert "vip_event" in str(caught.value)
    if field is not None:
        assert caught.value.field == field


def test_definitions_are_versioned_only_when_they_change(session: Session) -> None:
    p, v = schema.playbooks, schema.playbook_versions
    assert sync_playbooks(session=session, rules=rules(), at=NOW) == 10
    assert sync_playbooks(session=session, rules=rules(), at=NOW) == 0
    assert count(session, v) == 10
    changed = rules(overrides={"birthday_greeting": {"holdout_share": 0.2}}, disabled=("win_back",))
    assert sync_playbooks(session=session, rules=changed, at=NOW) == 2
    row = session.execute(sa.select(p).where(p.c.code == "birthday_greeting")).mappings().one()
    assert row["version"] == 2 and row["definition"]["holdout_share"] == 0.2
    assert not session.execute(sa.select(p.c.enabled).where(p.c.code == "win_back")).scalar_one()
    audit = count(session, schema.audit_log, schema.audit_log.c.entity == "playbooks")
    assert audit == 12
    # an API edit belongs to the API: the rules no longer change it
    definition = dict(row["definition"]) | {"priority": 1}
    put_playbook(
        session=session, code="birthday_greeting", definition=definition, actor="admin", at=NOW
    )
    sync_playbooks(session=session, rules=rules(), at=NOW)
    row = session.execute(sa.select(p).where(p.c.code == "birthday_greeting")).mappings().one()
    assert (row["version"], row["source"], row["definition"]["priority"]) == (3, "api", 1)


def test_outcomes_are_measured_when_the_window_ends_with_the_cost(session: Session) -> None:
    buyer, idle = _birthday_people(session, 2)
    run(session, rules())
    order(session, buyer, local(DAY + 5 * D), amount="250.00")
    until = local(DAY + 10 * D)
    assert measure_in_session(session=session, rules=rules(), until=until, now=until) == 0
    end = local(DAY + 31 * D, 23)
    assert measure_in_session(session=session, rules=rules(), until=end, now=end) == 2
    e = schema.playbook_enrolments
    rows = {r.customer_id: r for r in session.execute(sa.select(e))}
    assert rows[buyer].outcome_success is True and float(rows[buyer].outcome_value) == 250.0
    assert rows[idle].outcome_success is False and float(rows[idle].outcome_value) == 0.0
    sms = rules().costs.delivery[CampaignChannel.SMS]
    assert float(rows[idle].cost) == pytest.approx(sms)
    assert measure_in_session(session=session, rules=rules(), until=end, now=end) == 0


def test_a_custom_playbook_of_the_rules_with_a_nested_audience(session: Session) -> None:
    custom = {
        "code": "shanghai_vip",
        "name_zh": "上海贵宾",
        "name_en": "Shanghai VIP",
        "trigger": {"kind": "schedule", "every": "month"},
        "audience": {
            "all": [
                {"field": "city", "op": "eq", "value": "上海"},
                {
                    "any": [
                        {"field": "tags", "op": "contains", "value": "vip"},
                        {"field": "created_at", "op": "within_days", "value": 30},
                    ]
                },
                {"not": {"field": "churn_risk", "op": "gt", "value": 0.8}},
            ]
        },
        "actions": [{"kind": "tag", "tag": "invited"}],
        "outcome": {"kind": "purchase", "window_days": 30},
    }
    vip = customer(session, city="上海", tags=["vip"], created_at=NOW - 400 * D)
    new = customer(session, city="上海", created_at=NOW - 3 * D)
    old = customer(session, city="上海", created_at=NOW - 400 * D)
    risky = customer(session, city="上海", tags=["vip"])
    beijing = customer(session, city="北京", tags=["vip"])
    snapshot(session, LATEST, {risky: {"churn_risk": 0.9}, vip: {"churn_risk": 0.1}})
    result = run(session, rules(custom=(custom,), disabled=("diamond_care",)))
    assert enrolled(session, "shanghai_vip") == {vip: "treated", new: "treated"}
    assert result.figures("shanghai_vip").tags == 2
    assert old and beijing
