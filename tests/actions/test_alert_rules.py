"""The alert rules one by one at their edges: predicted CLV making a customer high-value,
the SLA warning share, the resolution target after a first response, a daily metric inside,
above and below its band, the floor of a count's band, and too little history — on SQLite
and PostgreSQL (each test's transaction rolled back)."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from rapport.actions.alert_rules import (
    RunDay,
    band_day,
    churn_risk,
    metrics_out_of_band,
    sla,
)
from rapport.cli.main import app
from rapport.config import Rules, Settings, SlaRules, load_rules
from rapport.domain import AlertKind, OrderStatus, TicketKind, TicketPriority
from rapport.errors import ConfigError
from rapport.store import customers, orders, tickets
from rapport.store.scores import write_snapshot

TZ = ZoneInfo("Asia/Shanghai")
DAY = dt.date(2026, 3, 10)
SLA = SlaRules(
    first_response_hours=dict.fromkeys(TicketPriority, 4.0),
    resolution_hours=dict.fromkeys(TicketPriority, 48.0),
)


def _rules(**alerts: Any) -> Rules:
    rules = load_rules(Settings(_env_file=None))
    return rules.model_copy(update={"alerts": rules.alerts.model_copy(update=alerts)})


def _local(day: dt.date, hour: float) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), TZ) + dt.timedelta(hours=hour)


def _run(at: dt.datetime, latest: dt.date | None = None, previous: dt.date | None = None) -> RunDay:
    return RunDay(DAY, at, TZ, latest, previous)


@pytest.fixture
def customer(session: Session) -> int:
    return int(customers.repo.create(session=session, values={"external_id": "C-1"})["id"])


def test_predicted_clv_makes_a_customer_high_value(session: Session, customer: int) -> None:
    before, after = DAY - dt.timedelta(days=7), DAY
    for as_of, risk in ((before, 0.2), (after, 0.8)):
        write_snapshot(
            session=session,
            as_of=as_of,
            rows=[
                {
                    "customer_id": customer,
                    "value_tier": "silver",
                    "churn_risk": risk,
                    "predicted_clv": 20000,
                }
            ],
        )
    run = _run(_local(DAY, 23), after, before)
    assert churn_risk(session, _rules(), run) == []  # silver, CLV off by default
    assert churn_risk(session, _rules(high_value_clv=30000.0), run) == []
    found = churn_risk(session, _rules(high_value_clv=10000.0), run)
    assert [(c.kind, c.customer_id) for c in found] == [(AlertKind.CHURN_RISK, customer)]
    assert found[0].details["churn_risk"] == 0.8
    # exactly at the threshold counts as reached
    assert churn_risk(session, _rules(high_value_clv=1.0, churn_risk_threshold=0.8), run)


def _ticket(session: Session, customer: int, opened: dt.datetime, **values: Any) -> int:
    row = tickets.open_ticket(
        session=session,
        sla=SLA,
        values={
            "external_id": f"T-{opened.isoformat()}",
            "customer_id": customer,
            "kind": TicketKind.INQUIRY,
            "priority": TicketPriority.NORMAL,
            "opened_at": opened,
            **values,
        },
    )
    return int(row["id"])


def test_the_sla_warning_share(session: Session, customer: int) -> None:
    opened = _local(DAY, 8)  # first response due 12:00; the last quarter starts 11:00
    ticket = _ticket(session, customer, opened)
    rules = _rules()
    assert sla(session, rules, _run(_local(DAY, 10.99))) == []
    at_risk = sla(session, rules, _run(_local(DAY, 11)))
    assert [(c.kind, c.dedup_key) for c in at_risk] == [
        (AlertKind.SLA_AT_RISK, f"sla_at_risk:{ticket}:first_response")
    ]
    assert sla(session, rules, _run(_local(DAY, 12))) == at_risk  # due at 12:00: not past
    late = sla(session, rules, _run(_local(DAY, 12.01)))
    assert [c.dedup_key for c in late] == [f"sla_breached:{ticket}:first_response"]
    # half the time: a warning from 10:00
    assert sla(session, _rules(sla_warning_share=0.5), _run(_local(DAY, 10)))


def test_after_the_first_response_the_resolution_target_counts(
    session: Session, customer: int
) -> None:
    opened = _local(DAY, 8)  # resolution due two days later at 08:00
    ticket = _ticket(session, customer, opened, first_response_at=_local(DAY, 9))
    rules = _rules()
    assert sla(session, rules, _run(_local(DAY, 13))) == []
    ahead = sla(session, rules, _run(_local(DAY + dt.timedelta(days=1), 20)))
    assert [c.dedup_key for c in ahead] == [f"sla_at_risk:{ticket}:resolution"]


def _revenue_history(session: Session, customer: int, days: int, amount: int) -> None:
    for n in range(1, days + 1):
        orders.repo.create(
            session=session,
            values={
                "external_id": f"SO-{n}",
                "customer_id": customer,
                "status": OrderStatus.COMPLETED,
                "ordered_at": _local(DAY - dt.timedelta(days=n), 12),
                "net_amount": Decimal(amount + (n % 2) * 10),  # 100 and 110 by turns
                "currency": "CNY",
            },
        )


def _day_order(session: Session, customer: int, amount: int) -> None:
    orders.repo.create(
        session=session,
        values={
            "external_id": "SO-day",
            "customer_id": customer,
            "status": OrderStatus.COMPLETED,
            "ordered_at": _local(DAY, 15),
            "net_amount": Decimal(amount),
            "currency": "CNY",
        },
    )


@pytest.mark.parametrize(
    ("amount", "direction"), [(105, None), (140, None), (200, "above"), (10, "below")]
)
def test_revenue_inside_and_outside_its_band(
    session: Session, customer: int, amount: int, direction: str | None
) -> None:
    """History: 28 days alternating 100 and 110 (mean 105, sd ≈ 5.09; band ≈ 89.7–120.3
    at 3 sd); 140 is inside at 7 sd."""
    _revenue_history(session, customer, 28, 100)
    _day_order(session, customer, amount)
    after_the_day = _run(_local(DAY + dt.timedelta(days=1), 1))
    assert band_day(after_the_day) == DAY
    sd = 7.0 if amount == 140 else 3.0
    found = metrics_out_of_band(
        session, _rules(band_metrics=("revenue",), band_sd=sd), after_the_day
    )
    if direction is None:
        assert found == []
    else:
        assert [c.details["direction"] for c in found] == [direction]
        assert found[0].dedup_key == f"metric_out_of_band:revenue:{DAY}"
        assert found[0].details["days"] == 28


def test_a_day_still_running_is_not_judged(session: Session, customer: int) -> None:
    _revenue_history(session, customer, 28, 100)
    _day_order(session, customer, 10_000)
    during = _run(_local(DAY, 16))
    assert band_day(during) == DAY - dt.timedelta(days=1)
    assert metrics_out_of_band(session, _rules(band_metrics=("revenue",)), during) == []


def test_too_little_history_judges_nothing(session: Session, customer: int) -> None:
    _revenue_history(session, customer, 13, 100)  # band_min_days is 14
    _day_order(session, customer, 10_000)
    after_the_day = _run(_local(DAY + dt.timedelta(days=1), 1))
    assert metrics_out_of_band(session, _rules(band_metrics=("revenue",)), after_the_day) == []
    orders.repo.create(
        session=session,
        values={
            "external_id": "SO-14",
            "customer_id": customer,
            "status": OrderStatus.COMPLETED,
            "ordered_at": _local(DAY - dt.timedelta(days=14), 12),
            "net_amount": Decimal(100),
            "currency": "CNY",
        },
    )
    found = metrics_out_of_band(session, _rules(band_metrics=("revenue",)), after_the_day)
    assert [c.details["days"] for c in found] == [14]


@pytest.mark.parametrize(("complaints", "alerted"), [(3, False), (4, True)])
def test_a_quiet_history_of_complaints_has_a_band_of_at_least_one(
    session: Session, customer: int, complaints: int, alerted: bool
) -> None:
    """No complaint for 20 days (another ticket 20 days ago starts the history): mean 0,
    sd taken as 1, so the band is 0–3 at 3 sd."""
    _ticket(session, customer, _local(DAY - dt.timedelta(days=20), 9))
    for n in range(complaints):
        _ticket(session, customer, _local(DAY, 9 + n), kind=TicketKind.COMPLAINT)
    after_the_day = _run(_local(DAY + dt.timedelta(days=1), 1))
    found = metrics_out_of_band(session, _rules(band_metrics=("new_complaints",)), after_the_day)
    assert bool(found) is alerted
    if alerted:
        assert found[0].details["value"] == complaints and found[0].details["sd"] == 1.0


def test_the_rules_are_checked_and_shown(tmp_path: Path) -> None:
    """``[alerts]`` refuses a history shorter than its minimum, a webhook that is no URL and
    an address without @, naming the key; ``rapport config show`` prints both sections."""
    for body, where in (
        ("band_days = 10\nband_min_days = 14", "alerts"),
        ('webhook_url = "hooks.example.com"', "alerts.webhook_url"),
        ('email_to = ["lead"]', "alerts.email_to"),
    ):
        path = tmp_path / "rules.toml"
        path.write_text(f"[alerts]\n{body}\n", encoding="utf-8")
        with pytest.raises(ConfigError) as caught:
            load_rules(Settings(_env_file=None, config_file=path))
        assert caught.value.field == where
    shown = CliRunner().invoke(app, ["config", "show", "--json"])
    assert shown.exit_code == 0, shown.output
    rules = json.loads(shown.output)["rules"]
    assert rules["tasks"] == {"expire_after_days": 7}
    assert rules["alerts"]["churn_risk_threshold"] == 0.6
    assert rules["alerts"]["high_value_tiers"] == ["diamond", "gold"]
