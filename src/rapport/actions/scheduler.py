"""The daily pipeline, run by itself: score → playbooks → alerts → tasks expiry → messages.

``rapport worker`` runs the steps of ``[schedule] steps`` for each day once, at
``[schedule] daily_at`` local time (``settings.timezone``): the run of day *D* starts at
``daily_at`` on *D* and passes *D* to every step. Three rules make it safe to leave alone:

* **One run at a time** across processes and machines: the run holds the lease
  :data:`LOCK_NAME` in ``store_locks`` (:mod:`rapport.store.locks`), renewed by a heartbeat
  thread and given back at the end; a second worker finds it held and waits or leaves.
* **Once per day per step**: ``pipeline_runs`` records each step of each day; a done step
  is not run again, a failed one (or one left running by a killed worker) runs next time.
  A failure stops the run there — later steps read what earlier ones wrote.
* **Catch-up**: days missed while no worker ran are run in order, at most
  ``catch_up_days`` of them; older missed days are reported as skipped.

Steps are wired by name (:data:`STEPS`), and tests pass their own :class:`Step` callables.
Between daily runs the worker sends due messages every ``[messages] poll_seconds``
(:func:`work`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Engine

from rapport.config import ScheduleRules, Settings, get_settings, load_rules
from rapport.errors import RapportError
from rapport.store import locks, pipeline_runs
from rapport.store.db import engine_from_settings, ensure_current, session_scope
from rapport.store.locks import Lease
from rapport.store.repository import utcnow
from rapport.store.tasks import expire_tasks

#: The lease that keeps the daily pipeline to one run at a time.
LOCK_NAME = "daily_pipeline"

StepFunction = Callable[[Settings, dt.date], Mapping[str, Any] | None]


@dataclass(frozen=True)
class Step:
    """A step of the daily pipeline: its name (the ``pipeline_runs.step``) and what it
    does for a day, returning a small JSON-ready summary."""

    name: str
    run: StepFunction


def summary_of(result: Any) -> dict[str, Any]:
    """A JSON-ready summary of what a step returned: its ``as_dict()``, the scalar fields of
    a dataclass, a count, or a mapping as it is."""
    if result is None:
        return {}
    if hasattr(result, "as_dict") or isinstance(result, Mapping):
        values = result.as_dict() if hasattr(result, "as_dict") else result
        # Times as ISO text: the summary is stored as JSON.
        return {
            key: value.isoformat() if isinstance(value, dt.date) else value
            for key, value in values.items()
        }
    if isinstance(result, bool | int | float):
        return {"count": result}
    if dataclasses.is_dataclass(result) and not isinstance(result, type):
        simple = (str, int, float, bool, type(None))
        return {
            f.name: value.isoformat() if isinstance(value, dt.date) else value
            for f in dataclasses.fields(result)
            if isinstance(value := getattr(result, f.name), (*simple, dt.date))
        }
    return {"result": str(result)}


# --- the steps, wired by name ---------------------------------------------------------------


def _score(settings: Settings, day: dt.date) -> dict[str, Any]:
    from rapport.scoring import run

    done = run(settings, as_of=day)
    return {"as_of": done.as_of.isoformat(), "rows": done.rows}


def _loyalty(settings: Settings, day: dt.date) -> dict[str, Any]:
    """The loyalty programme's day: members' programme tiers (after the scores, whose value
    tiers are a floor), the bonuses due and the expiry of the oldest points — as of the end
    of ``day``, or now while that day runs."""
    from rapport.analytics.periods import day_end
    from rapport.store.loyalty_bonuses import post_bonuses
    from rapport.store.loyalty_expiry import post_expiries
    from rapport.store.loyalty_tiers import evaluate_tiers

    rules = load_rules(settings)
    moment = min(day_end(day, settings.tz).replace(tzinfo=dt.UTC), utcnow())
    engine = engine_from_settings(settings)
    try:

        def writing() -> Any:
            return session_scope(engine, writing=True)

        tiers = evaluate_tiers(writing, rules=rules, at=moment, tz=settings.tz)
        bonuses = post_bonuses(writing, rules=rules, at=moment, tz=settings.tz)
        expired = post_expiries(writing, expire_days=rules.loyalty.points_expire_days, at=moment)
    finally:
        engine.dispose()
    return {
        "tiers": summary_of(tiers),
        "bonus_points": sum(bonuses.points.values()),
        "expired_points": expired.points,
    }


def _playbooks(settings: Settings, day: dt.date) -> dict[str, Any]:
    from rapport.actions.engine import measure_outcomes, run_day

    summary = summary_of(run_day(settings, day))
    measured = measure_outcomes(settings, day)
    summary["outcomes_measured"] = measured if isinstance(measured, int) else summary_of(measured)
    return summary


def _alerts(settings: Settings, day: dt.date) -> dict[str, Any]:
    from rapport.actions.alerts import raise_alerts

    return summary_of(raise_alerts(settings, day))


def _expire_tasks(settings: Settings, day: dt.date) -> dict[str, Any]:
    after_days = load_rules(settings).tasks.expire_after_days  # this store's rules
    engine = engine_from_settings(settings)
    try:
        with session_scope(engine, writing=True) as session:
            expired = expire_tasks(session=session, at=utcnow(), after_days=after_days)
            return {"expired": expired}
    finally:
        engine.dispose()


def _messages(settings: Settings, day: dt.date) -> dict[str, Any]:
    from rapport.actions.delivery import deliver

    return dict(deliver(settings).as_dict())


#: Each step's function, by the name ``[schedule] steps`` gives it.
STEPS: dict[str, StepFunction] = {
    "score": _score,
    "loyalty": _loyalty,
    "playbooks": _playbooks,
    "alerts": _alerts,
    "expire_tasks": _expire_tasks,
    "messages": _messages,
}


def configured_steps(rules: ScheduleRules) -> list[Step]:
    """The steps of ``[schedule] steps``, in their order."""
    return [Step(name, STEPS[name]) for name in rules.steps]


# --- which days are due -----------------------------------------------------------------------


def latest_due_day(now: dt.datetime, rules: ScheduleRules, tz: Any) -> dt.date:
    """The latest day whose run is due at ``now``: today once ``daily_at`` has passed
    locally, yesterday before."""
    local = now.astimezone(tz)
    hour, minute = (int(part) for part in rules.daily_at.split(":"))
    due_today = (local.hour, local.minute) >= (hour, minute)
    return local.date() if due_today else local.date() - dt.timedelta(days=1)


@dataclass(frozen=True)
class DuePlan:
    """The days a run should work on, in order, and the missed days it leaves out (older
    than the catch-up window)."""

    days: list[dt.date]
    skipped: list[dt.date]


def plan_days(
    *,
    latest: dt.date,
    first_recorded: dt.date | None,
    last_recorded: dt.date | None,
    done: Mapping[dt.date, set[str]],
    steps: Sequence[str],
    catch_up_days: int,
) -> DuePlan:
    """The days not yet complete from the catch-up window ending on ``latest``, oldest
    first. Before the first run ever, only ``latest`` (history is not run backwards); days
    after the last recorded one that fall before the window are skipped."""
    if first_recorded is None or last_recorded is None:
        window = [latest]
        skipped: list[dt.date] = []
    else:
        start = max(latest - dt.timedelta(days=catch_up_days - 1), first_recorded)
        window = [start + dt.timedelta(days=i) for i in range((latest - start).days + 1)]
        gap_from = last_recorded + dt.timedelta(days=1)
        skipped = [gap_from + dt.timedelta(days=i) for i in range(max((start - gap_from).days, 0))]
    wanted = set(steps)
    return DuePlan(days=[d for d in window if not wanted <= done.get(d, set())], skipped=skipped)


# --- one run ----------------------------------------------------------------------------------


@dataclass
class DayRun:
    """One day of a run: each step's outcome (``done``, ``already done``, ``failed``)."""

    day: dt.date
    steps: dict[str, str] = field(default_factory=dict)
    summaries: dict[str, dict[str, Any]] = field(default_factory=dict)
    error: str | None = None


@dataclass
class PipelineRun:
    """What :func:`run_pipeline` did. ``ran`` is false when another process held the
    lease (``held_by``); ``failed`` names the step that stopped the run; ``lost_lease``
    says the heartbeat could not renew the lease (the run stopped before its next step)."""

    ran: bool
    holder: str
    held_by: Lease | None = None
    days: list[DayRun] = field(default_factory=list)
    skipped: list[dt.date] = field(default_factory=list)
    failed: str | None = None
    lost_lease: bool = False

    @property
    def ok(self) -> bool:
        return self.ran and self.failed is None and not self.lost_lease


def new_holder() -> str:
    """A lease holder's name: host, process id and a random part (unique per run)."""
    return f"{socket.gethostname()[:80]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class _Heartbeat(threading.Thread):
    """Renews the lease (and the running step's heartbeat) every third of the lease."""

    def __init__(self, engine: Engine, holder: str, lease: dt.timedelta) -> None:
        super().__init__(name="rapport-pipeline-heartbeat", daemon=True)
        self.engine, self.holder, self.lease = engine, holder, lease
        self.stopping = threading.Event()
        self.lost = threading.Event()
        self.current: tuple[dt.date, str] | None = None

    def run(self) -> None:
        while not self.stopping.wait(self.lease.total_seconds() / 3):
            at = utcnow()
            try:
                with session_scope(self.engine, writing=True) as session:
                    kept = locks.renew(
                        session=session, name=LOCK_NAME, holder=self.holder, at=at, lease=self.lease
                    )
                    step = self.current
                    if kept and step is not None:
                        pipeline_runs.beat(session=session, day=step[0], step=step[1], at=at)
            except Exception:  # a store hiccup: try again at the next beat
                continue
            if not kept:
                self.lost.set()
                return

    def stop(self) -> None:
        self.stopping.set()
        self.join()


def run_pipeline(
    settings: Settings | None = None,
    *,
    day: dt.date | None = None,
    catch_up_days: int | None = None,
    now: dt.datetime | None = None,
    steps: Sequence[Step] | None = None,
    wait_seconds: float = 0.0,
    holder: str | None = None,
) -> PipelineRun:
    """Run the daily pipeline for the days due at ``now`` (default: the clock), or for
    ``day`` alone; returns what ran.

    Parameters
    ----------
    settings
        Where the store is (default: the configured settings); ``[schedule]`` of the rules.
    day
        Run this local day (its steps not done yet) instead of the days due.
    catch_up_days
        Catch up at most this many days (default: ``[schedule] catch_up_days``).
    now
        The moment that decides which days are due (aware; default: UTC now).
    steps
        The steps to run instead of the configured ones (tests, a partial run).
    wait_seconds
        How long to wait for the lease when another process holds it (0: do not wait).
    holder
        The lease holder's name (default: :func:`new_holder`).
    """
    settings = settings or get_settings()
    rules = load_rules(settings).schedule
    if steps is None:
        steps = configured_steps(rules)
    me = holder or new_holder()
    lease = dt.timedelta(seconds=rules.lease_seconds)
    engine = engine_from_settings(settings)
    try:
        ensure_current(engine)
        result = PipelineRun(ran=False, holder=me)
        deadline = time.monotonic() + wait_seconds
        while True:
            with session_scope(engine, writing=True) as session:
                taken = locks.acquire(
                    session=session, name=LOCK_NAME, holder=me, at=utcnow(), lease=lease
                )
                held_by = None if taken else locks.current(session=session, name=LOCK_NAME)
            if taken or time.monotonic() >= deadline:
                break
            time.sleep(min(1.0, max(deadline - time.monotonic(), 0.0)))
        if not taken:
            result.held_by = held_by
            return result
        result.ran = True
        heartbeat = _Heartbeat(engine, me, lease)
        heartbeat.start()
        try:
            _run_days(engine, settings, rules, steps, result, heartbeat, day, catch_up_days, now)
        finally:
            heartbeat.stop()
            with session_scope(engine, writing=True) as session:
                locks.release(session=session, name=LOCK_NAME, holder=me)
        return result
    finally:
        engine.dispose()


def _run_days(
    engine: Engine,
    settings: Settings,
    rules: ScheduleRules,
    steps: Sequence[Step],
    result: PipelineRun,
    heartbeat: _Heartbeat,
    day: dt.date | None,
    catch_up_days: int | None,
    now: dt.datetime | None,
) -> None:
    names = [step.name for step in steps]
    with session_scope(engine) as session:
        if day is not None:
            plan = DuePlan(days=[day], skipped=[])
        else:
            first, last = pipeline_runs.recorded_days(session=session)
            latest = latest_due_day(now or utcnow(), rules, settings.tz)
            window = catch_up_days or rules.catch_up_days
            since = latest - dt.timedelta(days=window - 1)
            done = pipeline_runs.done_steps(
                session=session, days=[since + dt.timedelta(days=i) for i in range(window)]
            )
            plan = plan_days(
                latest=latest,
                first_recorded=first,
                last_recorded=last,
                done=done,
                steps=names,
                catch_up_days=window,
            )
        done_on = pipeline_runs.done_steps(session=session, days=plan.days)
    result.skipped = plan.skipped
    for run_day in plan.days:
        day_run = DayRun(run_day)
        result.days.append(day_run)
        for step in steps:
            if step.name in done_on.get(run_day, set()):
                day_run.steps[step.name] = "already done"
                continue
            if heartbeat.lost.is_set():
                result.lost_lease = True
                return
            with session_scope(engine, writing=True) as session:
                started = pipeline_runs.start(
                    session=session, day=run_day, step=step.name, at=utcnow()
                )
            if not started:  # done meanwhile (a run this one took the lease over from)
                day_run.steps[step.name] = "already done"
                continue
            heartbeat.current = (run_day, step.name)
            try:
                summary = summary_of(step.run(settings, run_day))
            except Exception as exc:  # any failure of a step is recorded, and stops the run
                error = _error_doc(exc)
                with session_scope(engine, writing=True) as session:
                    pipeline_runs.finish(
                        session=session, day=run_day, step=step.name, at=utcnow(), error=error
                    )
                day_run.steps[step.name] = "failed"
                day_run.error = error["message"]
                result.failed = step.name
                return
            finally:
                heartbeat.current = None
            with session_scope(engine, writing=True) as session:
                pipeline_runs.finish(
                    session=session, day=run_day, step=step.name, at=utcnow(), summary=summary
                )
            day_run.steps[step.name] = "done"
            day_run.summaries[step.name] = summary


def _error_doc(exc: Exception) -> dict[str, Any]:
    doc: dict[str, Any] = {"type": type(exc).__name__, "message": str(exc)[:1000]}
    if isinstance(exc, RapportError) and exc.key:
        doc["key"] = exc.key
    return doc


def due_days(settings: Settings | None = None, *, now: dt.datetime | None = None) -> list[dt.date]:
    """The days a run would work on at ``now``, read without taking the lease (the worker
    asks before it tries)."""
    settings = settings or get_settings()
    rules = load_rules(settings).schedule
    names = [step.name for step in configured_steps(rules)]
    engine = engine_from_settings(settings)
    try:
        with session_scope(engine) as session:
            first, last = pipeline_runs.recorded_days(session=session)
            latest = latest_due_day(now or utcnow(), rules, settings.tz)
            since = latest - dt.timedelta(days=rules.catch_up_days - 1)
            done = pipeline_runs.done_steps(
                session=session,
                days=[since + dt.timedelta(days=i) for i in range(rules.catch_up_days)],
            )
    finally:
        engine.dispose()
    return plan_days(
        latest=latest,
        first_recorded=first,
        last_recorded=last,
        done=done,
        steps=names,
        catch_up_days=rules.catch_up_days,
    ).days
