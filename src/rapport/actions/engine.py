"""The playbook engine: every enabled playbook, for one day, over all customers at once.

:func:`run_day` syncs the rules' playbooks into the store, reads every live customer once
(:func:`rapport.actions.audience.load_customers`), and for each enabled playbook in
priority order:

1. **trigger** — who it fires for on the day, on which occasion
   (:mod:`rapport.actions.triggers`);
2. **audience** — the playbook's filter over attributes and scores;
3. **already enrolled** on that occasion — left out (a rerun of the day changes nothing);
4. **eligibility** — consent (marketable: consent given, not opted out) for a playbook that
   messages, an address for each message's channel, the cooldown and re-enrolment rule,
   the frequency caps per customer and channel (outbox messages of the cap's window, plus
   the run's own);
5. **arms** — :func:`rapport.actions.holdout.assign_arms` (the playbook's holdout share,
   the global control group); every eligible customer is enrolled with its arm;
6. **actions** — for the treated arm only: tasks, messages (due at ``send_time``, never in
   quiet hours), loyalty rewards, alerts and tags, in the transaction of the enrolment.

:func:`measure_outcomes` (:mod:`rapport.actions.outcomes`) fills in what came of each
enrolment once its window has ended. A dry run writes nothing and gives the same figures.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import polars as pl
from sqlalchemy.orm import Session

from rapport.actions import playbook_registry as registry
from rapport.actions.audience import filter_expression, load_customers, needed_fields
from rapport.actions.definitions import RECIPIENTS
from rapport.actions.eligibility import SKIP_REASONS, Caps, screen, send_moment
from rapport.actions.holdout import assign_arms, global_control
from rapport.actions.outcomes import measure_outcomes
from rapport.actions.playbooks import Playbook, configured_playbooks
from rapport.actions.triggers import TriggerContext, fire, local_day_bounds
from rapport.config import Rules, Settings, get_settings, load_rules
from rapport.domain import (
    AlertKind,
    AlertSeverity,
    EnrolmentArm,
    LoyaltyReason,
    MessageChannel,
    PlaybookSource,
    TicketPriority,
)
from rapport.store import enrolments, loyalty
from rapport.store import playbooks as stored
from rapport.store.alerts import raise_alert
from rapport.store.customers import tag_customers
from rapport.store.db import engine_from_settings, ensure_current, session_scope
from rapport.store.outbox import NewMessage, enqueue
from rapport.store.repository import utcnow
from rapport.store.tasks import NewTask, add_tasks

__all__ = ["PlaybookFigures", "PlaybookRun", "measure_outcomes", "run_day"]


@dataclass
class PlaybookFigures:
    """What one playbook did (or, dry, would do) on the day."""

    code: str
    name_zh: str
    name_en: str
    triggered: int = 0
    in_audience: int = 0
    already_enrolled: int = 0
    skipped: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SKIP_REASONS, 0))
    eligible: int = 0
    treated: int = 0
    held_out: int = 0
    control: int = 0
    tasks: int = 0
    messages: int = 0
    rewards: int = 0
    alerts: int = 0
    tags: int = 0


@dataclass
class PlaybookRun:
    """What :func:`run_day` did: the day, the snapshots compared, figures per playbook."""

    day: dt.date
    dry_run: bool
    latest_snapshot: dt.date | None = None
    previous_snapshot: dt.date | None = None
    customers: int = 0
    seconds: float = 0.0
    playbooks: list[PlaybookFigures] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        out = asdict(self)
        for key in ("day", "latest_snapshot", "previous_snapshot"):
            out[key] = None if out[key] is None else out[key].isoformat()
        return out

    def as_dict(self) -> dict[str, Any]:
        """:meth:`to_dict` (the daily pipeline's summary of the step)."""
        return self.to_dict()

    def figures(self, code: str) -> PlaybookFigures:
        """The figures of playbook ``code`` (``KeyError`` when it did not run)."""
        for figures in self.playbooks:
            if figures.code == code:
                return figures
        raise KeyError(code)


@dataclass
class _Plan:
    """One playbook in a run: its definition, stored id and version (None when dry and new)."""

    playbook: Playbook
    playbook_id: int | None
    version: int


def _plans(session: Session, rules: Rules, now: dt.datetime, dry_run: bool) -> list[_Plan]:
    if not dry_run:
        registry.sync_playbooks(session=session, rules=rules, at=now)
        return [
            _Plan(p, row["id"], row["version"])
            for row, p in registry.enabled_playbooks(session=session)
        ]
    rows = {row["code"]: row for row in stored.list_all(session=session)}
    plans = []
    for playbook, _source in configured_playbooks(rules):
        row = rows.pop(playbook.code, None)
        if row is not None and row["source"] == PlaybookSource.API.value:
            playbook = registry.stored_playbook(row)
        if playbook.enabled:
            plans.append(_Plan(playbook, row["id"] if row else None, row["version"] if row else 1))
    for row in rows.values():
        if row["source"] == PlaybookSource.API.value and row["enabled"]:
            plans.append(_Plan(registry.stored_playbook(row), row["id"], row["version"]))
    return sorted(plans, key=lambda p: (p.playbook.priority, p.playbook.code))


class _Safe(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def _text(action: dict[str, Any], key: str, locale: str, values: dict[str, Any]) -> str | None:
    lang = "zh" if locale.startswith("zh") else "en"
    template = action.get(f"{key}_{lang}")
    return None if template is None else str(template).format_map(_Safe(values))


def _evaluate(
    plan: _Plan, ctx: TriggerContext, caps: Caps, rules: Rules
) -> tuple[PlaybookFigures, pl.DataFrame]:
    """The playbook's figures and its enrolments-to-be (``customer_id``, ``occasion``,
    ``evidence``, ``arm`` and the customer's columns)."""
    playbook, session = plan.playbook, ctx.session
    figures = PlaybookFigures(playbook.code, playbook.name_zh, playbook.name_en)
    fired = fire(playbook.trigger, ctx).unique(subset=["customer_id"], keep="first")
    df = fired.join(ctx.customers, on="customer_id", how="inner")
    figures.triggered = df.height
    if playbook.audience is not None:
        df = df.filter(filter_expression(playbook.audience, ctx.day))
    figures.in_audience = df.height
    if plan.playbook_id is not None and df.height:
        done = enrolments.enrolled(
            session=session,
            playbook_id=plan.playbook_id,
            occasions=df["occasion"].unique().to_list(),
        )
        done_df = pl.DataFrame(
            done, schema={"customer_id": pl.Int64, "occasion": pl.String}, orient="row"
        )
        before = df.height
        df = df.join(done_df, on=["customer_id", "occasion"], how="anti")
        figures.already_enrolled = before - df.height

    df, skipped = screen(playbook, plan.playbook_id, df, session=session, day=ctx.day)
    for reason, n in skipped.items():
        figures.skipped[reason] += n
    if df.height:
        kept = df.filter(caps.within(df, playbook))
        figures.skipped["cap"] += df.height - kept.height
        df = kept
    figures.eligible = df.height
    config = rules.playbooks
    share = config.holdout_share if playbook.holdout_share is None else playbook.holdout_share
    ids = df["customer_id"].to_numpy()
    held = assign_arms(ids, playbook.code, share, config.global_control_share, config.salt)
    control = global_control(ids, config.global_control_share, config.salt)
    arms = np.where(control, "control", np.where(held, "holdout", "treated"))
    df = df.with_columns(arm=pl.Series(arms.tolist(), dtype=pl.String))
    figures.control = int(control.sum())
    figures.held_out = int(held.sum()) - figures.control
    figures.treated = df.height - int(held.sum())
    for action in playbook.actions:
        if action["kind"] == "message":
            caps.add(
                action["channel"], df.filter(pl.col("arm") == "treated")["customer_id"].to_list()
            )
    return figures, df


def _act(
    plan: _Plan,
    figures: PlaybookFigures,
    rows: list[dict[str, Any]],
    people: dict[int, dict[str, Any]],
    *,
    session: Session,
    settings: Settings,
    now: dt.datetime,
    send_at: dt.datetime,
) -> None:
    """Perform the playbook's actions for its newly enrolled treated customers."""
    playbook = plan.playbook
    treated = [r for r in rows if r["arm"] == EnrolmentArm.TREATED.value]
    if not treated:
        return
    locale = settings.locale
    for index, action in enumerate(playbook.actions):
        kind = action["kind"]
        if kind == "task":
            tasks = []
            for r in treated:
                person = people[r["customer_id"]]
                owner = person["owner_id"] if action["assignee"] == "owner" else None
                tasks.append(
                    NewTask(
                        customer_id=r["customer_id"],
                        title=_text(action, "title", locale, person) or playbook.code,
                        due_at=now + dt.timedelta(hours=action["due_hours"]),
                        priority=TicketPriority(action["priority"]),
                        assignee_id=owner,
                        team=None if owner is not None else action.get("team"),
                        script=_text(action, "script", locale, person),
                        enrolment_id=r["id"],
                    )
                )
            figures.tasks += add_tasks(session=session, tasks=tasks, at=now)
        elif kind == "message":
            suffix = "" if index == 0 else f":{index}"
            messages = []
            for r in treated:
                person = people[r["customer_id"]]
                values = {**(r["reason"] or {}), "name": person.get("name") or ""}
                messages.append(
                    NewMessage(
                        idempotency_key=f"playbook:{playbook.code}:{r['customer_id']}:"
                        f"{r['occasion']}{suffix}",
                        channel=MessageChannel(action["channel"]),
                        recipient=str(person[RECIPIENTS[action["channel"]]]),
                        subject=_text(action, "subject", locale, values),
                        body=_text(action, "body", locale, values),
                        payload={
                            "template": action["template"],
                            "playbook": playbook.code,
                            "occasion": r["occasion"],
                            "locale": locale,
                            "due_at": send_at.isoformat(),
                        },
                        customer_id=r["customer_id"],
                        enrolment_id=r["id"],
                    )
                )
            figures.messages += enqueue(session=session, messages=messages, at=now)
            if send_at > now:
                enrolments.defer_messages(
                    session=session, keys=[m.idempotency_key for m in messages], until=send_at
                )
        elif kind == "reward":
            figures.rewards += loyalty.award(
                session=session,
                entries=[
                    {
                        "customer_id": r["customer_id"],
                        "points": action["points"],
                        "reason": LoyaltyReason(action["reason"]),
                        "reference": f"playbook:{playbook.code}:{r['occasion']}",
                        "occurred_at": now,
                    }
                    for r in treated
                ],
            )
        elif kind == "alert":
            for r in treated:
                raise_alert(
                    session=session,
                    kind=AlertKind(action["alert_kind"]),
                    dedup_key=f"playbook:{playbook.code}:{r['customer_id']}:{r['occasion']}",
                    severity=AlertSeverity(action["severity"]),
                    customer_id=r["customer_id"],
                    details={
                        "playbook": playbook.code,
                        "occasion": r["occasion"],
                        "evidence": r["reason"],
                    },
                    at=now,
                )
                figures.alerts += 1
        else:
            ids = [r["customer_id"] for r in treated]
            figures.tags += tag_customers(
                session=session, customer_ids=ids, tag=action["tag"], at=now
            )


def run_day(
    settings: Settings | None = None,
    day: dt.date | None = None,
    *,
    dry_run: bool = False,
    progress: Callable[[str, int, int], None] | None = None,
    now: dt.datetime | None = None,
) -> PlaybookRun:
    """Evaluate every enabled playbook for ``day`` (local; default today) and act.

    Parameters
    ----------
    settings
        The settings (default: the process's).
    day
        The business day in ``settings.tz``.
    dry_run
        Write nothing (no sync, enrolment or action); the figures are what a run would do.
    progress
        Called as ``progress(code, done, total)`` before each playbook.
    now
        The run's moment (UTC; default: now): enrolments' time, tasks' due dates.

    Returns
    -------
    PlaybookRun
        Per playbook: triggered, in the audience, already enrolled, skipped by reason,
        eligible, treated, held out, control, and the actions performed.
    """
    settings = settings or get_settings()
    rules = load_rules(settings)
    now = now or utcnow()
    day = day or now.astimezone(settings.tz).date()
    engine = engine_from_settings(settings)
    try:
        ensure_current(engine)
        with session_scope(engine, writing=not dry_run) as session:
            return run_in_session(
                session=session,
                settings=settings,
                rules=rules,
                day=day,
                now=now,
                dry_run=dry_run,
                progress=progress,
            )
    finally:
        engine.dispose()


def run_in_session(
    *,
    session: Session,
    settings: Settings,
    rules: Rules,
    day: dt.date,
    now: dt.datetime,
    dry_run: bool = False,
    progress: Callable[[str, int, int], None] | None = None,
) -> PlaybookRun:
    """:func:`run_day` in the caller's ``session`` (the caller commits)."""
    tz = settings.tz
    started = time.perf_counter()
    run = PlaybookRun(day=day, dry_run=dry_run)
    plans = _plans(session, rules, now, dry_run)
    latest_fields, previous_fields = needed_fields(p.playbook for p in plans)
    customers, snaps = load_customers(
        session=session, day=day, tz=tz, fields=latest_fields, previous_fields=previous_fields
    )
    run.latest_snapshot, run.previous_snapshot = snaps.latest, snaps.previous
    run.customers = customers.height
    ctx = TriggerContext(session, rules, day, tz, customers, snaps)
    day_start, day_end = local_day_bounds(day, tz)
    caps = Caps(session, rules, day_start)
    send_at = send_moment(rules, day, tz, now)
    for done, plan in enumerate(plans):
        if progress:
            progress(plan.playbook.code, done, len(plans))
        figures, df = _evaluate(plan, ctx, caps, rules)
        run.playbooks.append(figures)
        if dry_run or not df.height or plan.playbook_id is None:
            continue
        window = dt.timedelta(days=plan.playbook.outcome["window_days"])
        rows = [
            {
                "customer_id": cid,
                "occasion": occasion,
                "arm": arm,
                "version": plan.version,
                "run_date": day,
                "reason": json.loads(evidence),
                "outcome_due_at": day_end + window,
            }
            for cid, occasion, arm, evidence in df.select(
                "customer_id", "occasion", "arm", "evidence"
            ).iter_rows()
        ]
        written = enrolments.enrol(session=session, playbook_id=plan.playbook_id, rows=rows, at=now)
        treated_ids = [r["customer_id"] for r in written if r["arm"] == "treated"]
        people = {
            row["customer_id"]: row
            for row in df.filter(pl.col("customer_id").is_in(treated_ids))
            .select("customer_id", "owner_id", "name", *RECIPIENTS.values())
            .iter_rows(named=True)
        }
        _act(
            plan,
            figures,
            written,
            people,
            session=session,
            settings=settings,
            now=now,
            send_at=send_at,
        )
    if progress:
        progress("", len(plans), len(plans))
    run.seconds = time.perf_counter() - started
    return run
