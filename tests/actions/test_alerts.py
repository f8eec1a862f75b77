"""The alert run on a handmade store (two score snapshots, survey answers, tickets, orders):
each rule fires where it should and nowhere else, a second run raises and sends nothing new,
conditions that are gone resolve by themselves, and the messages of new alerts wait in the
outbox for the people ``[alerts]`` names — on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from rapport.actions.alerts import raise_alerts
from rapport.config import Settings, SlaRules
from rapport.domain import (
    AlertKind,
    AlertSeverity,
    AlertStatus,
    MessageChannel,
    OrderStatus,
    Role,
    SurveyKind,
    TicketKind,
    TicketPriority,
    TicketStatus,
)
from rapport.errors import ValidationFailed
from rapport.store import alerts, customers, orders, schema, scores, surveys, tickets, users
from rapport.store.scores import write_snapshot

TZ = ZoneInfo("Asia/Shanghai")
DAY = dt.date(2026, 3, 10)
#: The run's time: 18:00 on DAY, local (the day is not over: the metrics read DAY - 1).
NOW = dt.datetime(2026, 3, 10, 18, 0, tzinfo=TZ)
PREVIOUS, LATEST = dt.date(2026, 3, 1), dt.date(2026, 3, 9)
#: Every ticket gets these targets: first response in 4 hours, resolution in 48.
SLA = SlaRules(
    first_response_hours=dict.fromkeys(TicketPriority, 4.0),
    resolution_hours=dict.fromkeys(TicketPriority, 48.0),
)
RULES_FILE = """
[alerts]
webhook_url = "https://hooks.example.com/rapport"
email_to = ["lead@example.com"]
email_users = ["zhao"]
"""


@pytest.fixture
def settings(empty_url: str, tmp_path: Path) -> Settings:
    rules = tmp_path / "rules.toml"
    rules.write_text(RULES_FILE, encoding="utf-8")
    return Settings(
        _env_file=None,
        database_url=empty_url,
        data_dir=tmp_path / "data",
        config_file=rules,
        timezone="Asia/Shanghai",
        locale="en",
    )


def _local(day: dt.date, hour: float) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), TZ) + dt.timedelta(hours=hour)


def _customer(s: Session, name: str, owner: dict[str, Any] | None = None) -> int:
    row = customers.repo.create(
        session=s,
        values={"external_id": f"C-{name}", "name": name, "owner_id": owner and owner["id"]},
    )
    return int(row["id"])


def _snapshot(s: Session, as_of: dt.date, rows: dict[int, tuple[str, float]]) -> None:
    write_snapshot(
        session=s,
        as_of=as_of,
        rows=[
            {"customer_id": c, "value_tier": tier, "churn_risk": risk}
            for c, (tier, risk) in rows.items()
        ],
    )


def _nps(s: Session, customer_id: int, score: float, at: dt.datetime, top: float = 10) -> int:
    low = 0.0 if top == 10 else 1.0
    row = surveys.repo.create(
        session=s,
        values={
            "customer_id": customer_id,
            "kind": SurveyKind.NPS,
            "score": score,
            "scale_min": low,
            "scale_max": top,
            "responded_at": at,
        },
    )
    return int(row["id"])


def _ticket(s: Session, customer_id: int, opened: dt.datetime, **values: Any) -> int:
    row = tickets.open_ticket(
        session=s,
        sla=SLA,
        values={
            "external_id": f"T-{opened.isoformat()}-{values.get('status', 'open')}",
            "customer_id": customer_id,
            "kind": TicketKind.COMPLAINT,
            "priority": TicketPriority.NORMAL,
            "opened_at": opened,
            **values,
        },
    )
    return int(row["id"])


@pytest.fixture
def world(fresh_engine: Engine) -> dict[str, Any]:
    """Customers in every relation to the rules; see the comments by each."""
    with Session(fresh_engine) as s:
        manager = users.create_user(
            session=s,
            username="mgr",
            role=Role.MANAGER,
            team="east",
            password=None,
            email="mgr@example.com",
        )
        sales = users.create_user(
            session=s,
            username="li.na",
            role=Role.SALES,
            team="east",
            password=None,
            email="li.na@example.com",
        )
        west = users.create_user(
            session=s, username="chen", role=Role.SALES, team="west", password=None
        )
        # named in email_users; a ticket of the diamond customer is assigned to him
        service = users.create_user(
            session=s, username="zhao", role=Role.SERVICE, team="support", email="zhao@example.com"
        )
        c = {
            "crossing": _customer(s, "甲", sales),  # gold, 0.3 → 0.7: churn_risk (warning)
            "diamond_crossing": _customer(s, "乙", west),  # diamond, 0.2 → 0.65: critical
            "not_valuable": _customer(s, "丙", sales),  # silver, 0.3 → 0.9: none
            "already_high": _customer(s, "丁", sales),  # diamond, 0.7 → 0.8: none (no crossing)
            "downgraded": _customer(s, "戊", sales),  # diamond → gold, low risk: downgrade
            "deleted": _customer(s, "己", sales),  # gold, 0.1 → 0.9 but deleted: none
        }
        _snapshot(
            s,
            PREVIOUS,
            {
                c["crossing"]: ("gold", 0.3),
                c["diamond_crossing"]: ("diamond", 0.2),
                c["not_valuable"]: ("silver", 0.3),
                c["already_high"]: ("diamond", 0.7),
                c["downgraded"]: ("diamond", 0.1),
                c["deleted"]: ("gold", 0.1),
            },
        )
        _snapshot(
            s,
            LATEST,
            {
                c["crossing"]: ("gold", 0.7),
                c["diamond_crossing"]: ("diamond", 0.65),
                c["not_valuable"]: ("silver", 0.9),
                c["already_high"]: ("diamond", 0.8),
                c["downgraded"]: ("gold", 0.15),
                c["deleted"]: ("gold", 0.9),
            },
        )
        customers.repo.update(session=s, id=c["deleted"], values={"deleted_at": NOW})
        answers = {
            "six": _nps(s, c["not_valuable"], 6, _local(DAY, 10)),  # detractor
            "seven": _nps(s, c["not_valuable"], 7, _local(DAY, 11)),  # passive: none
            "three_of_five": _nps(s, c["crossing"], 3, _local(DAY, 9), top=5),  # 5 on 0–10
            "four_of_five": _nps(s, c["crossing"], 4, _local(DAY, 9), top=5),  # 7.5: none
            "yesterday": _nps(s, c["crossing"], 0, _local(DAY - dt.timedelta(days=1), 21)),
            "days_ago": _nps(s, c["crossing"], 0, _local(DAY - dt.timedelta(days=3), 12)),
            "after_run": _nps(s, c["crossing"], 0, _local(DAY, 19)),  # after NOW: none yet
        }
        tks = {
            # first response due 13:00 < 18:00: breached
            "breached": _ticket(s, c["crossing"], _local(DAY, 9)),
            # due 18:30: in the last quarter of its 4 hours (from 17:30): at risk
            "at_risk": _ticket(
                s, c["diamond_crossing"], _local(DAY, 14.5), assignee_id=service["id"]
            ),
            # due 21:00: not yet
            "fresh": _ticket(s, c["crossing"], _local(DAY, 17)),
            # past its targets but resolved: none
            "resolved": _ticket(s, c["crossing"], _local(DAY, 1), status=TicketStatus.RESOLVED),
        }
        # 20 quiet days of revenue, then DAY - 1 far above them; DAY itself is not judged
        for n in range(1, 21):
            day = DAY - dt.timedelta(days=1 + n)
            _order(s, c["crossing"], _local(day, 12), Decimal(100 + (n % 3)))
        _order(s, c["crossing"], _local(DAY - dt.timedelta(days=1), 12), Decimal(5000))
        _order(s, c["crossing"], _local(DAY, 12), Decimal(1))
        s.commit()
    return {
        "customers": c,
        "answers": answers,
        "tickets": tks,
        "users": {"manager": manager, "sales": sales, "west": west},
    }


def _order(s: Session, customer_id: int, at: dt.datetime, amount: Decimal) -> None:
    orders.repo.create(
        session=s,
        values={
            "external_id": f"SO-{at.isoformat()}",
            "customer_id": customer_id,
            "status": OrderStatus.COMPLETED,
            "ordered_at": at,
            "net_amount": amount,
            "currency": "CNY",
        },
    )


def _alerts(engine: Engine) -> dict[str, dict[str, Any]]:
    with Session(engine) as s:
        return {r["dedup_key"]: dict(r) for r in s.execute(sa.select(schema.alerts)).mappings()}


def _outbox(engine: Engine) -> list[dict[str, Any]]:
    with Session(engine) as s:
        t = schema.outbox
        return [dict(r) for r in s.execute(sa.select(t).order_by(t.c.id)).mappings()]


def test_each_rule_fires_where_it_should(
    settings: Settings, fresh_engine: Engine, world: dict[str, Any]
) -> None:
    run = raise_alerts(settings, DAY, now=NOW)
    c, a, t = world["customers"], world["answers"], world["tickets"]
    found = _alerts(fresh_engine)
    assert set(found) == {
        f"churn_risk:{c['crossing']}:{LATEST}",
        f"churn_risk:{c['diamond_crossing']}:{LATEST}",
        f"diamond_downgraded:{c['downgraded']}:{LATEST}",
        f"nps_detractor:{a['six']}",
        f"nps_detractor:{a['three_of_five']}",
        f"nps_detractor:{a['yesterday']}",
        f"sla_breached:{t['breached']}:first_response",
        f"sla_at_risk:{t['at_risk']}:first_response",
        f"metric_out_of_band:revenue:{DAY - dt.timedelta(days=1)}",
    }
    assert found[f"churn_risk:{c['crossing']}:{LATEST}"]["severity"] == "warning"
    assert found[f"churn_risk:{c['diamond_crossing']}:{LATEST}"]["severity"] == "critical"
    assert found[f"sla_breached:{t['breached']}:first_response"]["severity"] == "critical"
    band = found[f"metric_out_of_band:revenue:{DAY - dt.timedelta(days=1)}"]["details"]
    assert band["value"] == 5000 and band["days"] == 20 and band["direction"] == "above"
    assert band["mean"] == pytest.approx(101.0, abs=0.1)
    assert all(f["status"] == AlertStatus.OPEN.value for f in found.values())
    assert run.raised_total == 9 and run.seen == 0 and run.resolved == 0
    assert (run.latest, run.previous) == (LATEST, PREVIOUS)


def test_messages_go_to_the_people_configured(
    settings: Settings, fresh_engine: Engine, world: dict[str, Any]
) -> None:
    run = raise_alerts(settings, DAY, now=NOW)
    sent = _outbox(fresh_engine)
    assert run.messages == len(sent)
    hooks = [m for m in sent if m["channel"] == MessageChannel.WEBHOOK.value]
    assert len(hooks) == 9  # every new alert
    assert {m["recipient"] for m in hooks} == {"https://hooks.example.com/rapport"}
    mails = [m for m in sent if m["channel"] == MessageChannel.EMAIL.value]
    by_alert: dict[int, set[str]] = {}
    for m in mails:
        by_alert.setdefault(m["alert_id"], set()).add(m["recipient"])
    found = {a["id"]: a for a in _alerts(fresh_engine).values()}
    c = world["customers"]
    for alert_id, to in by_alert.items():
        alert = found[alert_id]
        assert "lead@example.com" in to
        # the manager of team east hears of east customers and of the metric, not of west's
        east = alert["customer_id"] != c["diamond_crossing"]
        assert ("mgr@example.com" in to) == east
        # zhao, named in email_users, hears of what he sees: the customer of his ticket
        assert ("zhao@example.com" in to) == (alert["customer_id"] == c["diamond_crossing"])
        # the owner with an address (li.na) hears of her customers
        assert ("li.na@example.com" in to) == (
            alert["customer_id"] in set(c.values()) - {c["diamond_crossing"]}
        )
    assert set(by_alert) == set(found)  # every alert is a warning or critical
    # the e-mail says what happened in the configured language (en here)
    by_key = {a["dedup_key"]: a["id"] for a in found.values()}
    body = {m["alert_id"]: (m["subject"], m["body"]) for m in mails}
    subject, text = body[by_key[f"churn_risk:{c['crossing']}:{LATEST}"]]
    kind = "High-value churn risk"
    assert subject == f"[Rapport alert] Warning: {kind} (customer {c['crossing']} 甲)"
    assert "Churn risk rose from 0.3 to 0.7 (threshold 0.6); value tier Gold" in text
    subject, text = body[by_key[f"metric_out_of_band:revenue:{DAY - dt.timedelta(days=1)}"]]
    assert subject.endswith(f"(Revenue, {DAY - dt.timedelta(days=1)})")
    assert "Revenue of 2026-03-09: 5000.0, above its expected band" in text
    subject, text = body[by_key[f"sla_at_risk:{world['tickets']['at_risk']}:first_response"]]
    assert "its first response target at 2026-03-10 18:30 is near" in text
    assert len({m["idempotency_key"] for m in sent}) == len(sent)


def test_a_second_run_raises_and_sends_nothing_new(
    settings: Settings, fresh_engine: Engine, world: dict[str, Any]
) -> None:
    first = raise_alerts(settings, DAY, now=NOW)
    again = raise_alerts(settings, DAY, now=NOW + dt.timedelta(minutes=5))
    assert again.raised_total == 0
    assert again.messages == 0
    assert again.seen == first.raised_total
    assert len(_alerts(fresh_engine)) == first.raised_total


def test_conditions_gone_resolve_by_themselves(
    settings: Settings, fresh_engine: Engine, world: dict[str, Any]
) -> None:
    raise_alerts(settings, DAY, now=NOW)
    c, t = world["customers"], world["tickets"]
    later = NOW + dt.timedelta(minutes=30)
    with Session(fresh_engine) as s:
        tickets.transition(
            session=s,
            ticket_id=t["at_risk"],
            to_status=TicketStatus.IN_PROGRESS,
            at=later,
            by=world["users"]["manager"]["id"],
        )
        tk = schema.tickets
        s.execute(sa.update(tk).where(tk.c.id == t["breached"]).values(first_response_at=later))
        _snapshot(
            s,
            DAY,
            {
                c["crossing"]: ("gold", 0.2),  # the risk fell back: resolved
                c["diamond_crossing"]: ("diamond", 0.7),  # still high: stays
                c["downgraded"]: ("diamond", 0.1),  # diamond again: resolved
            },
        )
        s.commit()
    run = raise_alerts(settings, DAY, now=later + dt.timedelta(minutes=1))
    found = _alerts(fresh_engine)
    status = {k: v["status"] for k, v in found.items()}
    resolved = {k for k, v in status.items() if v == AlertStatus.RESOLVED.value}
    assert resolved == {
        f"churn_risk:{c['crossing']}:{LATEST}",
        f"diamond_downgraded:{c['downgraded']}:{LATEST}",
        f"sla_breached:{t['breached']}:first_response",
        # answered (its first move out of open): the first-response target is met
        f"sla_at_risk:{t['at_risk']}:first_response",
    }
    assert run.resolved == len(resolved)
    assert found[f"churn_risk:{c['diamond_crossing']}:{LATEST}"]["status"] == "open"
    assert all(v["resolved_by"] is None for k, v in found.items() if k in resolved)


def test_a_day_not_begun_is_refused(settings: Settings, fresh_engine: Engine) -> None:
    with pytest.raises(ValidationFailed) as caught:
        raise_alerts(settings, DAY + dt.timedelta(days=1), now=NOW)
    assert caught.value.field == "day"


def test_one_snapshot_judges_no_crossing(
    settings: Settings, fresh_engine: Engine, world: dict[str, Any]
) -> None:
    with Session(fresh_engine) as s:
        write_snapshot(session=s, as_of=PREVIOUS, rows=[])
        s.commit()
        assert scores.snapshot_dates(session=s) == [LATEST]
    run = raise_alerts(settings, DAY, now=NOW)
    kinds = {k.split(":")[0] for k in _alerts(fresh_engine)}
    assert "churn_risk" not in kinds and "diamond_downgraded" not in kinds
    assert run.not_judged


def test_an_event_resolved_stays_resolved_a_state_opens_again(
    settings: Settings, fresh_engine: Engine, world: dict[str, Any]
) -> None:
    raise_alerts(settings, DAY, now=NOW)
    c, a, t = world["customers"], world["answers"], world["tickets"]
    keys = [
        f"churn_risk:{c['crossing']}:{LATEST}",
        f"nps_detractor:{a['six']}",
        f"sla_breached:{t['breached']}:first_response",
    ]
    found = _alerts(fresh_engine)
    with Session(fresh_engine) as s:
        for key in keys:
            alerts.resolve(
                session=s, alert_id=found[key]["id"], by=world["users"]["manager"]["id"], at=NOW
            )
        s.commit()
    # the next morning: the same crossing, the same answer (yesterday's now), the same breach
    again = raise_alerts(settings, DAY + dt.timedelta(days=1), now=NOW + dt.timedelta(hours=16))
    status = {k: v["status"] for k, v in _alerts(fresh_engine).items()}
    assert status[keys[0]] == status[keys[1]] == AlertStatus.RESOLVED.value
    assert status[keys[2]] == AlertStatus.OPEN.value  # the ticket is still unanswered
    assert status[f"nps_detractor:{a['after_run']}"] == AlertStatus.OPEN.value
    # new: the reopened breach and the two other tickets now past their targets; the
    # answer given after the first run
    assert again.raised == {"sla_breached": 3, "nps_detractor": 1}


def test_many_alerts_at_once(settings: Settings, fresh_engine: Engine) -> None:
    """1,100 late tickets: raised, sent and resolved past the statements' chunks of ids."""
    n = 1100
    with Session(fresh_engine) as s:
        users.create_user(
            session=s, username="mgr", role=Role.MANAGER, team="east", email="mgr@example.com"
        )
        customer = _customer(s, "甲")
        opened = _local(DAY, 1)
        t = schema.tickets
        s.execute(
            sa.insert(t),
            [
                {
                    "external_id": f"T-{i}",
                    "customer_id": customer,
                    "kind": TicketKind.INQUIRY.value,
                    "priority": TicketPriority.NORMAL.value,
                    "status": TicketStatus.OPEN.value,
                    "opened_at": opened,
                    "first_response_due_at": opened + dt.timedelta(hours=4),
                    "resolution_due_at": opened + dt.timedelta(hours=48),
                    "created_at": opened,
                    "updated_at": opened,
                }
                for i in range(n)
            ],
        )
        s.commit()
    run = raise_alerts(settings, DAY, now=NOW)
    assert run.raised == {"sla_breached": n}
    sent = _outbox(fresh_engine)
    mails = [m for m in sent if m["channel"] == MessageChannel.EMAIL.value]
    assert {m["recipient"] for m in mails} == {"mgr@example.com", "lead@example.com"}
    assert len(mails) == 2 * n and len(sent) == 3 * n  # and a webhook each
    with Session(fresh_engine) as s:
        s.execute(sa.update(schema.tickets).values(status=TicketStatus.CLOSED.value))
        s.commit()
    later = raise_alerts(settings, DAY, now=NOW + dt.timedelta(minutes=1))
    assert later.resolved == n and later.raised == {}


def test_a_playbooks_alert_is_left_to_it(settings: Settings, fresh_engine: Engine) -> None:
    """An alert a playbook raised (its own key) is not the run's to resolve."""
    with Session(fresh_engine) as s:
        customer = _customer(s, "甲")
        alerts.raise_alert(
            session=s,
            kind=AlertKind.SLA_BREACHED,
            dedup_key=f"playbook:complaint_recovery:{customer}:2026-03-09",
            severity=AlertSeverity.CRITICAL,
            customer_id=customer,
            details={"playbook": "complaint_recovery"},
            at=NOW,
        )
        s.commit()
    run = raise_alerts(settings, DAY, now=NOW)
    assert run.resolved == 0
    assert (
        _alerts(fresh_engine)[f"playbook:complaint_recovery:{customer}:2026-03-09"]["status"]
        == "open"
    )
