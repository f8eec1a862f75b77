"""Properties of the engine over random customer histories (hypothesis), on SQLite and
PostgreSQL: consent, frequency caps and cooldowns are never violated, a rerun enrols nobody
twice, and held-out customers get no action."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from rapport.store import schema
from rapport.store.outbox import NewMessage, enqueue

from .store_builder import DAY, NOW, count, customer, local, order, rules, run, snapshot

D = dt.timedelta(days=1)
CAP = {"channel": "sms", "max": 2, "days": 7}
# birthdays (sms), win-back (email, 180-day cooldown) and points expiring (sms): two sms
# playbooks compete for the same cap on the same day
KEEP = ("birthday_greeting", "win_back", "points_expiring")

people = st.lists(
    st.fixed_dictionaries(
        {
            "consent": st.booleans(),
            "opt_out": st.booleans(),
            "birthday_today": st.booleans(),
            "old_sms": st.lists(st.integers(0, 20), max_size=3),  # days ago
            "last_order_days": st.none() | st.integers(100, 400),
            "expiring_points": st.booleans(),
            "won_back_days_ago": st.none() | st.integers(1, 400),
        }
    ),
    min_size=1,
    max_size=8,
)


def _build(session: Session, histories: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    expire_days = rules().loyalty.points_expire_days
    out = {}
    for h in histories:
        cid = customer(
            session,
            marketing_consent=h["consent"],
            marketing_opt_out=h["opt_out"],
            birthday=dt.date(1990, DAY.month, DAY.day) if h["birthday_today"] else None,
        )
        for i, days in enumerate(h["old_sms"]):
            enqueue(
                session=session,
                messages=[NewMessage(f"old:{cid}:{i}", "sms", "+86", body="x", customer_id=cid)],
                at=NOW - days * D,
            )
        if h["last_order_days"] is not None:
            order(session, cid, local(DAY - h["last_order_days"] * D))
            order(session, cid, local(DAY - (h["last_order_days"] + 5) * D))
        if h["expiring_points"]:
            session.execute(
                sa.insert(schema.loyalty_ledger).values(
                    customer_id=cid,
                    points=300,
                    reason="bonus",
                    occurred_at=local(DAY - (expire_days - 5) * D),
                )
            )
        out[cid] = h
    snapshot(session, DAY - 2 * D, {c: {"frequency": 2} for c in out})
    return out


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(histories=people, holdout=st.sampled_from([0.0, 0.5]))
def test_consent_caps_cooldowns_reruns_and_holdouts(
    session: Session, histories: list[dict[str, Any]], holdout: float
) -> None:
    nested = session.begin_nested()
    try:
        the_rules = rules(
            holdout=holdout,
            caps=[CAP],
            disabled=tuple(
                c
                for c in (
                    "diamond_care",
                    "diamond_at_risk",
                    "second_purchase_nudge",
                    "nps_detractor_follow_up",
                    "referral_ask",
                    "complaint_recovery",
                    "tier_upgrade_congrats",
                )
            ),
        )
        built = _build(session, histories)
        # earlier win-back enrolments, some inside the 180-day cooldown
        earlier = [c for c, h in built.items() if h["won_back_days_ago"] is not None]
        if earlier:
            run(session, the_rules, day=DAY - 400 * D, now=NOW - 400 * D)  # syncs the playbooks
            pid = session.execute(
                sa.select(schema.playbooks.c.id).where(schema.playbooks.c.code == "win_back")
            ).scalar_one()
            for c in earlier:
                session.execute(
                    sa.insert(schema.playbook_enrolments).values(
                        playbook_id=pid,
                        version=1,
                        customer_id=c,
                        occasion=f"old:{c}",
                        arm="treated",
                        run_date=DAY - built[c]["won_back_days_ago"] * D,
                        enrolled_at=NOW - built[c]["won_back_days_ago"] * D,
                    )
                )
        before = count(session, schema.outbox)
        first = run(session, the_rules)
        e, o, p = schema.playbook_enrolments, schema.outbox, schema.playbooks
        new_messages = session.execute(
            sa.select(o.c.customer_id, o.c.channel, o.c.enrolment_id).where(
                o.c.idempotency_key.like("playbook:%")
            )
        ).all()
        arms = dict(session.execute(sa.select(e.c.id, e.c.arm)).all())
        for cid, _channel, enrolment_id in new_messages:
            h = built[cid]
            # consent: only marketable customers get a message
            assert h["consent"] and not h["opt_out"]
            # holdouts: no action for a held-out enrolment
            assert arms[enrolment_id] == "treated"
        # caps: at most 2 sms in 7 days per customer, old ones included
        window_start = local(DAY) - 7 * D
        for cid in built:
            sms = session.execute(
                sa.select(sa.func.count()).where(
                    o.c.customer_id == cid, o.c.channel == "sms", o.c.created_at >= window_start
                )
            ).scalar_one()
            old = sum(1 for d in built[cid]["old_sms"] if NOW - d * D >= window_start)
            assert sms <= max(2, old)
            if old >= 2:
                assert sms == old
        # cooldown: no win-back within 180 days of the last one
        today = (
            session.execute(
                sa.select(e.c.customer_id)
                .join(p, p.c.id == e.c.playbook_id)
                .where(p.c.code == "win_back", e.c.run_date == DAY)
            )
            .scalars()
            .all()
        )
        for cid in today:
            ago = built[cid]["won_back_days_ago"]
            assert ago is None or ago >= 180
        # a rerun enrols nobody twice and sends nothing more
        total = count(session, e)
        again = run(session, the_rules)
        assert count(session, e) == total
        assert all(f.eligible == 0 for f in again.playbooks)
        assert count(session, o) == before + sum(f.messages for f in first.playbooks)
    finally:
        nested.rollback()
