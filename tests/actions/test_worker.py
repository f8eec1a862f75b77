"""The worker's loop: the day's pipeline when due (once), messages every poll, a failed
run not tried again before retry_minutes, and a stop that ends it."""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from rapport.actions.worker import work
from rapport.config import Settings
from rapport.domain import MessageChannel
from rapport.store import outbox
from rapport.store.db import session_scope
from rapport.store.repository import utcnow

NOW = dt.datetime(2026, 3, 2, 3, 0, tzinfo=dt.UTC)  # 11:00 in Shanghai: 2 March is due


def _settings(engine: Engine, tmp_path: Path, steps: str) -> Settings:
    rules = tmp_path / "rules.toml"
    rules.write_text(
        f"[schedule]\nsteps = {steps}\n"
        "[messages]\npoll_seconds = 0.2\nmax_attempts = 1\ntimeout_seconds = 1.0\n",
        encoding="utf-8",
    )
    url = engine.url.render_as_string(hide_password=False)
    return Settings(_env_file=None, database_url=url, config_file=rules)


def _run_polls(settings: Settings, polls: int) -> list[tuple[str, Any]]:
    """Run the loop for ``polls`` passes at :data:`NOW`; what it reported."""
    stop = threading.Event()
    events: list[tuple[str, Any]] = []
    passes = {"n": 0}

    def clock() -> dt.datetime:
        passes["n"] += 1
        if passes["n"] >= polls:
            stop.set()
        return NOW

    def report(kind: str, what: Any) -> None:
        events.append((kind, what))

    thread = threading.Thread(
        target=work, args=(settings,), kwargs={"stop": stop, "report": report, "now": clock}
    )
    thread.start()
    thread.join(60)
    assert not thread.is_alive(), events
    return events


def test_the_loop_runs_the_day_once_and_sends_messages(
    backend: str, fresh_engine: Engine, tmp_path: Path
) -> None:
    settings = _settings(fresh_engine, tmp_path, '["expire_tasks", "messages"]')
    with session_scope(fresh_engine, writing=True) as session:
        outbox.enqueue(
            session=session,
            messages=[outbox.NewMessage("k", MessageChannel.SMS, "138")],
            at=utcnow(),
        )
    events = _run_polls(settings, 4)
    runs = [what for kind, what in events if kind == "pipeline"]
    assert len(runs) == 1 and runs[0].ok  # due once; the later polls find it done
    assert [d.day for d in runs[0].days] == [dt.date(2026, 3, 2)]
    assert runs[0].days[0].summaries["messages"]["dead"] == 1  # sms has no gateway here
    assert not [kind for kind, _ in events if kind == "error"]


def test_a_failed_run_waits_for_retry_minutes(
    backend: str, fresh_engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rapport.actions import scheduler

    def broken(settings: Settings, day: dt.date) -> None:
        raise RuntimeError("the step broke")

    monkeypatch.setitem(scheduler.STEPS, "expire_tasks", broken)
    settings = _settings(fresh_engine, tmp_path, '["expire_tasks"]')
    events = _run_polls(settings, 5)
    runs = [what for kind, what in events if kind == "pipeline"]
    assert len(runs) == 1 and runs[0].failed == "expire_tasks"  # not again within 15 minutes


def test_the_loyalty_step_evaluates_tiers_and_expires_old_points(
    backend: str, fresh_engine: Engine, tmp_path: Path
) -> None:
    import sqlalchemy as sa

    from rapport.domain import LoyaltyReason
    from rapport.store import loyalty, schema
    from tests.store.factories import customer

    settings = _settings(fresh_engine, tmp_path, '["loyalty"]')
    earned = NOW - dt.timedelta(days=800)  # older than points_expire_days (730)
    with session_scope(fresh_engine, writing=True) as session:
        member = customer(session, loyalty_joined_at=earned)
        loyalty.append(
            session=session,
            values={
                "customer_id": member["id"],
                "points": 300,
                "reason": LoyaltyReason.BONUS.value,
                "occurred_at": earned,
            },
        )
    events = _run_polls(settings, 2)
    runs = [what for kind, what in events if kind == "pipeline"]
    assert len(runs) == 1 and runs[0].ok, events
    summary = runs[0].days[0].summaries["loyalty"]
    assert summary["expired_points"] == 300
    assert summary["tiers"]["members"] == 1
    with session_scope(fresh_engine) as session:
        assert loyalty.balance(session=session, customer_id=member["id"]) == 0
        tiers = session.execute(sa.select(schema.loyalty_member_tiers.c.customer_id)).scalars()
        assert list(tiers) == [member["id"]]
