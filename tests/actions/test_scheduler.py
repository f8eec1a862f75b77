"""The daily pipeline with fake steps: one run at a time (a second worker does not run),
a day's steps once (a rerun runs nothing), failed steps retried, missed days caught up in
order up to the window — on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.engine import Engine

from rapport.actions import scheduler
from rapport.actions.scheduler import Step, latest_due_day, run_pipeline
from rapport.config import PIPELINE_STEPS, ScheduleRules, Settings, load_rules
from rapport.domain import RunStatus
from rapport.store import locks, pipeline_runs
from rapport.store.db import session_scope

SHANGHAI = ZoneInfo("Asia/Shanghai")
D1 = dt.date(2026, 3, 2)


def at_local(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=SHANGHAI)


class Recorder:
    """Fake steps that record (step, day) in the order they ran."""

    def __init__(self, names: tuple[str, ...] = ("score", "playbooks", "messages")) -> None:
        self.calls: list[tuple[str, dt.date]] = []
        self.fail: set[tuple[str, dt.date]] = set()
        self.steps = [Step(name, self._make(name)) for name in names]

    def _make(self, name: str) -> Any:
        def run(settings: Settings, day: dt.date) -> dict[str, Any]:
            self.calls.append((name, day))
            if (name, day) in self.fail:
                raise RuntimeError(f"{name} broke on {day}")
            return {"n": len(self.calls)}

        return run


@pytest.fixture
def settings(fresh_engine: Engine, tmp_path: Path) -> Iterator[Settings]:
    url = fresh_engine.url.render_as_string(hide_password=False)
    yield Settings(_env_file=None, database_url=url, data_dir=tmp_path / "data")


def _recorded(settings: Settings) -> list[tuple[dt.date, str, RunStatus]]:
    from rapport.store.db import engine_from_settings

    engine = engine_from_settings(settings)
    try:
        with session_scope(engine) as session:
            return [(r.run_date, r.step, r.status) for r in pipeline_runs.runs(session=session)]
    finally:
        engine.dispose()


def test_the_day_due_turns_at_daily_at_local_time() -> None:
    rules = load_rules().schedule  # daily_at = "02:00"
    assert latest_due_day(at_local(D1, 1, 59), rules, SHANGHAI) == D1 - dt.timedelta(days=1)
    assert latest_due_day(at_local(D1, 2, 0), rules, SHANGHAI) == D1
    # 18:30 UTC on 1 March is 02:30 on 2 March in Shanghai
    utc = dt.datetime(2026, 3, 1, 18, 30, tzinfo=dt.UTC)
    assert latest_due_day(utc, rules, SHANGHAI) == D1


def test_a_rerun_of_a_day_runs_nothing(backend: str, settings: Settings) -> None:
    fake = Recorder()
    first = run_pipeline(settings, now=at_local(D1, 3), steps=fake.steps)
    assert first.ok and [d.day for d in first.days] == [D1]
    assert fake.calls == [("score", D1), ("playbooks", D1), ("messages", D1)]
    again = run_pipeline(settings, now=at_local(D1, 9), steps=fake.steps)
    assert again.ok and again.days == [] and len(fake.calls) == 3
    forced = run_pipeline(settings, day=D1, steps=fake.steps)
    assert set(forced.days[0].steps.values()) == {"already done"} and len(fake.calls) == 3
    assert {s for _, s, st in _recorded(settings) if st == RunStatus.DONE} == {
        "score",
        "playbooks",
        "messages",
    }
    with session_scope_of(settings) as session:
        assert locks.current(session=session, name=scheduler.LOCK_NAME) is None  # released


def test_missed_days_are_caught_up_in_order_within_the_window(
    backend: str, settings: Settings
) -> None:
    fake = Recorder(("score", "messages"))
    run_pipeline(settings, now=at_local(D1, 3), steps=fake.steps)
    fake.calls.clear()
    later = D1 + dt.timedelta(days=4)
    before_its_hour = run_pipeline(settings, now=at_local(later, 1), steps=fake.steps)
    days = [D1 + dt.timedelta(days=i) for i in (1, 2, 3)]
    assert [d.day for d in before_its_hour.days] == days
    assert fake.calls == [(step, day) for day in days for step in ("score", "messages")]
    fake.calls.clear()
    much_later = D1 + dt.timedelta(days=10)
    run = run_pipeline(settings, now=at_local(much_later, 2), steps=fake.steps, catch_up_days=3)
    assert [d.day for d in run.days] == [much_later - dt.timedelta(days=i) for i in (2, 1, 0)]
    assert run.skipped == [D1 + dt.timedelta(days=i) for i in range(4, 8)]
    assert [day for step, day in fake.calls if step == "score"] == [d.day for d in run.days]


def test_the_first_run_ever_does_not_go_back_in_history(backend: str, settings: Settings) -> None:
    fake = Recorder(("score",))
    run = run_pipeline(settings, now=at_local(D1, 5), steps=fake.steps, catch_up_days=30)
    assert [d.day for d in run.days] == [D1] and run.skipped == []


def test_a_failed_step_stops_the_run_and_is_retried_next_time(
    backend: str, settings: Settings
) -> None:
    fake = Recorder()
    fake.fail.add(("playbooks", D1))
    failed = run_pipeline(settings, now=at_local(D1, 3), steps=fake.steps)
    assert failed.ran and not failed.ok and failed.failed == "playbooks"
    assert failed.days[0].error == f"playbooks broke on {D1}"
    assert fake.calls == [("score", D1), ("playbooks", D1)]  # messages waits for playbooks
    assert _recorded(settings) == [
        (D1, "score", RunStatus.DONE),
        (D1, "playbooks", RunStatus.FAILED),
    ]
    fake.fail.clear()
    fake.calls.clear()
    retried = run_pipeline(settings, now=at_local(D1, 4), steps=fake.steps)
    assert retried.ok
    assert fake.calls == [("playbooks", D1), ("messages", D1)]
    assert retried.days[0].steps == {
        "score": "already done",
        "playbooks": "done",
        "messages": "done",
    }


def test_two_workers_racing_one_runs_and_the_other_does_not(
    backend: str, settings: Settings
) -> None:
    inside, leave = threading.Event(), threading.Event()
    calls: list[str] = []

    def slow(settings: Settings, day: dt.date) -> None:
        calls.append("slow")
        inside.set()
        assert leave.wait(30)

    outcome: dict[str, Any] = {}
    first = threading.Thread(
        target=lambda: outcome.setdefault(
            "a", run_pipeline(settings, now=at_local(D1, 3), steps=[Step("score", slow)])
        )
    )
    first.start()
    assert inside.wait(30)
    second = run_pipeline(settings, now=at_local(D1, 3), steps=[Step("score", slow)])
    leave.set()
    first.join()
    assert not second.ran and second.days == []
    assert second.held_by is not None and second.held_by.holder == outcome["a"].holder
    assert outcome["a"].ok and calls == ["slow"]
    after = run_pipeline(settings, now=at_local(D1, 3), steps=[Step("score", slow)])
    assert after.ran and after.days == [] and calls == ["slow"]


def test_a_killed_holder_is_taken_over_once_its_lease_runs_out(
    backend: str, settings: Settings
) -> None:
    from rapport.store.db import engine_from_settings
    from rapport.store.repository import utcnow

    engine = engine_from_settings(settings)
    with session_scope(engine, writing=True) as session:  # a worker killed mid-step
        stale = utcnow() - dt.timedelta(hours=1)
        locks.acquire(
            session=session,
            name=scheduler.LOCK_NAME,
            holder="gone:1",
            at=stale,
            lease=dt.timedelta(minutes=5),
        )
        pipeline_runs.start(session=session, day=D1, step="score", at=stale)
    engine.dispose()
    fake = Recorder(("score",))
    run = run_pipeline(settings, now=at_local(D1, 3), steps=fake.steps)
    assert run.ok and fake.calls == [("score", D1)]
    assert _recorded(settings) == [(D1, "score", RunStatus.DONE)]


def test_a_second_worker_can_wait_for_the_lease(backend: str, settings: Settings) -> None:
    from rapport.store.db import engine_from_settings
    from rapport.store.repository import utcnow

    engine = engine_from_settings(settings)
    with session_scope(engine, writing=True) as session:
        locks.acquire(
            session=session,
            name=scheduler.LOCK_NAME,
            holder="other:1",
            at=utcnow(),
            lease=dt.timedelta(seconds=2),
        )
    engine.dispose()
    fake = Recorder(("score",))
    assert not run_pipeline(settings, now=at_local(D1, 3), steps=fake.steps).ran
    waited = run_pipeline(settings, now=at_local(D1, 3), steps=fake.steps, wait_seconds=10)
    assert waited.ok and fake.calls == [("score", D1)]


def test_every_step_the_schedule_may_name_has_its_function() -> None:
    assert list(scheduler.STEPS) == list(PIPELINE_STEPS)
    rules = load_rules().schedule
    steps = scheduler.configured_steps(rules)
    assert [s.name for s in steps] == list(rules.steps)
    assert all(s.run is scheduler.STEPS[s.name] for s in steps)
    only = ScheduleRules(steps=("alerts", "messages"))
    assert [s.name for s in scheduler.configured_steps(only)] == ["alerts", "messages"]


def session_scope_of(settings: Settings) -> Any:
    from contextlib import contextmanager

    from rapport.store.db import engine_from_settings

    @contextmanager
    def scope() -> Iterator[Any]:
        engine = engine_from_settings(settings)
        try:
            with session_scope(engine) as session:
                yield session
        finally:
            engine.dispose()

    return scope()


def test_a_run_that_loses_its_lease_stops_before_its_next_step(
    backend: str, fresh_engine: Engine, tmp_path: Path
) -> None:
    import sqlalchemy as sa

    from rapport.store import schema
    from rapport.store.repository import utcnow

    rules = tmp_path / "rules.toml"
    rules.write_text("[schedule]\nlease_seconds = 6.0\n", encoding="utf-8")  # a beat every 2 s
    url = fresh_engine.url.render_as_string(hide_password=False)
    settings = Settings(_env_file=None, database_url=url, config_file=rules)
    calls: list[str] = []

    def stolen(settings: Settings, day: dt.date) -> None:
        calls.append("first")
        with fresh_engine.begin() as conn:  # another process took the lease over
            conn.execute(
                sa.update(schema.store_locks).values(
                    holder="thief:1", expires_at=utcnow() + dt.timedelta(hours=1)
                )
            )
        threading.Event().wait(3)  # the heartbeat finds it gone meanwhile

    def second(settings: Settings, day: dt.date) -> None:
        calls.append("second")

    run = run_pipeline(
        settings, now=at_local(D1, 3), steps=[Step("score", stolen), Step("alerts", second)]
    )
    assert run.lost_lease and not run.ok and calls == ["first"]
    with session_scope(fresh_engine) as session:
        held = locks.current(session=session, name=scheduler.LOCK_NAME)
    assert held is not None and held.holder == "thief:1"  # not released by the loser
