"""The effect report of a playbook from its measured enrolments, and the next best actions
of a customer (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from rapport.actions.effect import measure_effect
from rapport.actions.effect_report import effect_in_session
from rapport.actions.next_best import MIN_MEASURED, next_best_for, next_best_in_session
from rapport.actions.playbook_registry import sync_playbooks
from rapport.store import schema

from .store_builder import DAY, LATEST, NOW, customer, rules, settings, snapshot


def _enrol(session: Session, code: str, arm: str, success: bool, value: float, cost: float) -> None:
    pid = session.execute(
        sa.select(schema.playbooks.c.id).where(schema.playbooks.c.code == code)
    ).scalar_one()
    cid = customer(session)
    session.execute(
        sa.insert(schema.playbook_enrolments).values(
            playbook_id=pid,
            version=1,
            customer_id=cid,
            occasion="t",
            arm=arm,
            run_date=DAY,
            enrolled_at=NOW,
            outcome_success=success,
            outcome_value=value,
            cost=cost,
            measured_at=NOW,
        )
    )


def test_the_effect_report_is_the_effect_of_the_measured_arms(session: Session) -> None:
    sync_playbooks(session=session, rules=rules(), at=NOW)
    treated = [(True, 120.0), (True, 80.0), (False, 0.0), (True, 50.0), (False, 0.0)]
    held = [(False, 0.0), (True, 60.0), (False, 0.0)]
    control = [(False, 0.0)]
    for s, v in treated:
        _enrol(session, "win_back", "treated", s, v, 0.05)
    for s, v in held:
        _enrol(session, "win_back", "holdout", s, v, 0.0)
    for s, v in control:
        _enrol(session, "win_back", "control", s, v, 0.0)
    [report] = effect_in_session(session=session, code="win_back")
    expected = measure_effect(
        [s for s, _ in treated],
        [s for s, _ in held + control],
        treated_revenue=[v for _, v in treated],
        holdout_revenue=[v for _, v in held + control],
        cost=0.25,
    )
    got = report.effect
    assert (got.treated.customers, got.holdout.customers) == (5, 4)
    assert got.rate_difference == pytest.approx(expected.rate_difference)
    assert got.incremental_revenue == pytest.approx(expected.incremental_revenue)
    assert got.revenue_difference_interval.low == pytest.approx(
        expected.revenue_difference_interval.low
    )
    assert got.cost == pytest.approx(0.25)
    assert report.enrolled == {"treated": 5, "holdout": 3, "control": 1}


def test_next_best_ranks_by_prior_then_measured_uplift_times_value(session: Session) -> None:
    sync_playbooks(session=session, rules=rules(), at=NOW)
    who = customer(session, birthday=dt.date(1990, 1, 1))
    snapshot(
        session, LATEST, {who: {"value_tier": "diamond", "predicted_clv": 10000, "frequency": 3}}
    )
    actions = next_best_in_session(
        session=session, settings=settings(), customer_id=who, day=DAY, limit=20
    )
    codes = [a.code for a in actions]
    assert "diamond_care" in codes and "second_purchase_nudge" not in codes  # frequency 3
    assert all(a.basis == "prior" for a in actions)
    best = actions[0]
    assert best.code == "diamond_at_risk" and best.expected_value == pytest.approx(0.05 * 10000)
    # a measured uplift replaces the prior once both arms are large enough
    for i in range(MIN_MEASURED):
        _enrol(session, "birthday_greeting", "treated", i < 24, 0.0, 0.0)
        _enrol(session, "birthday_greeting", "holdout", i < 3, 0.0, 0.0)
    actions = next_best_in_session(
        session=session, settings=settings(), customer_id=who, day=DAY, limit=20
    )
    top = actions[0]
    assert top.code == "birthday_greeting" and top.basis == "measured"
    assert top.uplift == pytest.approx(21 / 30) and "measured" in top.reason


def test_next_best_leaves_out_what_consent_forbids(session: Session) -> None:
    sync_playbooks(session=session, rules=rules(), at=NOW)
    who = customer(session, marketing_consent=False)
    snapshot(session, LATEST, {who: {"value_tier": "diamond", "monetary": 500}})
    codes = {
        a.code
        for a in next_best_in_session(
            session=session, settings=settings(), customer_id=who, day=DAY, limit=20
        )
    }
    assert "diamond_care" in codes  # a call needs no marketing consent
    assert not codes & {"birthday_greeting", "win_back", "referral_ask", "points_expiring"}


def test_next_best_for_many_customers_is_each_customers_own(session: Session) -> None:
    sync_playbooks(session=session, rules=rules(), at=NOW)
    diamond = customer(session, birthday=dt.date(1990, 1, 1))
    refused = customer(session, marketing_consent=False)
    new = customer(session)
    snapshot(
        session,
        LATEST,
        {
            diamond: {"value_tier": "diamond", "predicted_clv": 10000, "frequency": 3},
            refused: {"value_tier": "diamond", "monetary": 500},
            new: {"value_tier": "bronze", "monetary": 80, "frequency": 1},
        },
    )
    for i in range(MIN_MEASURED):
        _enrol(session, "win_back", "treated", i < 10, 0.0, 0.0)
        _enrol(session, "win_back", "holdout", i < 4, 0.0, 0.0)
    ids = [new, diamond, refused, 999_999]  # and one that does not exist
    batch = next_best_for(session=session, settings=settings(), customer_ids=ids, day=DAY, limit=2)
    assert set(batch) == {new, diamond, refused}
    for who in (new, diamond, refused):
        alone = next_best_in_session(
            session=session, settings=settings(), customer_id=who, day=DAY, limit=2
        )
        assert batch[who] == alone
    assert batch[diamond] and batch[diamond] != batch[refused]
    assert next_best_for(session=session, settings=settings(), customer_ids=[], day=DAY) == {}
