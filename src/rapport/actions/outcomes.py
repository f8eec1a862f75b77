"""What came of each enrolment: its outcome over the playbook's window, and its cost.

An enrolment's window runs from its enrolment to ``outcome_due_at`` (the end of the run's
day plus the playbook's ``window_days``). :func:`measure_outcomes` measures every enrolment
whose window ended by the end of the day, treated and held out alike:

- ``outcome_value``: the customer's revenue in the window (net amount of purchases: the
  statuses of ``[business] purchase_statuses``);
- ``outcome_success`` by the playbook's outcome kind: ``purchase`` (a purchase in the
  window), ``revenue`` (revenue above 0), ``survey_answered`` (a survey answer),
  ``ticket_closed`` (a ticket of theirs closed), ``referral`` (a referral made),
  ``retention`` (in the last snapshot by the window's end, a lifecycle stage other than
  at risk or churned; without a snapshot, a purchase in the window);
- ``cost``: the treated arm's actions at the unit costs of ``[costs]`` (a message at its
  channel's delivery cost, a task at its channel's interaction cost, a reward's points at
  ``point_value``; alerts and tags cost nothing); a held-out customer costs nothing.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl
import sqlalchemy as sa
from sqlalchemy.orm import Session

from rapport.actions.audience import frame
from rapport.actions.triggers import local_day_bounds
from rapport.config import Rules, Settings, get_settings, load_rules
from rapport.domain import CampaignChannel, InteractionChannel, LifecycleStage
from rapport.store import enrolments, schema
from rapport.store import playbooks as stored
from rapport.store.db import engine_from_settings, ensure_current, session_scope
from rapport.store.repository import utcnow

_CHUNK = 500
_LOST = (LifecycleStage.AT_RISK.value, LifecycleStage.CHURNED.value)


def action_cost(definition: dict[str, Any], rules: Rules) -> float:
    """What the actions of one treated enrolment cost at the unit costs of ``[costs]``."""
    costs = rules.costs
    total = 0.0
    for action in definition.get("actions", []):
        if action["kind"] == "message":
            total += costs.delivery.get(CampaignChannel(action["channel"]), 0.0)
        elif action["kind"] == "task":
            total += costs.interaction.get(InteractionChannel(action.get("channel", "phone")), 0.0)
        elif action["kind"] == "reward":
            total += action["points"] * costs.point_value
    return total


def _events(
    session: Session, stmt_of: Any, customer_ids: list[int], types: dict[str, Any]
) -> pl.DataFrame:
    parts = [
        frame(session, stmt_of(customer_ids[i : i + _CHUNK]), types)
        for i in range(0, len(customer_ids), _CHUNK)
    ]
    return pl.concat(parts) if parts else pl.DataFrame(schema=types)


def _in_window(
    due: pl.DataFrame, events: pl.DataFrame, name: str, value: str | None = None
) -> pl.DataFrame:
    joined = due.select("id", "customer_id", "enrolled_at", "outcome_due_at").join(
        events, on="customer_id", how="inner"
    )
    inside = joined.filter(
        (pl.col("at") > pl.col("enrolled_at")) & (pl.col("at") <= pl.col("outcome_due_at"))
    )
    aggs = [pl.len().alias(name)]
    if value:
        aggs.append(pl.col(value).sum().alias(f"{name}_value"))
    return inside.group_by("id").agg(aggs)


def measure_outcomes(
    settings: Settings | None = None, day: dt.date | None = None, *, now: dt.datetime | None = None
) -> int:
    """Measure every enrolment whose outcome window ended by the end of ``day`` (local);
    returns how many were measured. Running it again measures nothing new."""
    settings = settings or get_settings()
    rules = load_rules(settings)
    now = now or utcnow()
    day = day or now.astimezone(settings.tz).date()
    until = local_day_bounds(day, settings.tz)[1]
    engine = engine_from_settings(settings)
    try:
        ensure_current(engine)
        with session_scope(engine, writing=True) as session:
            return measure_in_session(session=session, rules=rules, until=until, now=now)
    finally:
        engine.dispose()


def measure_in_session(
    *, session: Session, rules: Rules, until: dt.datetime, now: dt.datetime
) -> int:
    """:func:`measure_outcomes` of the windows ended by ``until``, in the caller's session."""
    rows = enrolments.due_for_measurement(session=session, until=until)
    return _measure(session, rules, rows, now) if rows else 0


def _measure(session: Session, rules: Rules, rows: list[dict[str, Any]], now: dt.datetime) -> int:
    utc = pl.Datetime("us", "UTC")
    due = pl.DataFrame(
        rows,
        schema={
            "id": pl.Int64,
            "playbook_id": pl.Int64,
            "version": pl.Int64,
            "customer_id": pl.Int64,
            "arm": pl.String,
            "enrolled_at": utc,
            "outcome_due_at": utc,
        },
    )
    ids = due["customer_id"].unique().sort().to_list()
    o, r, t, f = schema.orders, schema.survey_responses, schema.tickets, schema.referrals
    statuses = [s.value for s in rules.business.purchase_statuses]
    orders = _events(
        session,
        lambda c: sa.select(
            o.c.customer_id, o.c.ordered_at, sa.cast(o.c.net_amount, sa.Float)
        ).where(o.c.customer_id.in_(c), o.c.status.in_(statuses)),
        ids,
        {"customer_id": pl.Int64, "at": utc, "amount": pl.Float64},
    )
    simple = {"customer_id": pl.Int64, "at": utc}
    surveys = _events(
        session,
        lambda c: sa.select(r.c.customer_id, r.c.responded_at).where(r.c.customer_id.in_(c)),
        ids,
        simple,
    )
    closed = _events(
        session,
        lambda c: sa.select(t.c.customer_id, t.c.closed_at).where(
            t.c.customer_id.in_(c), t.c.closed_at.is_not(None)
        ),
        ids,
        simple,
    )
    referred = _events(
        session,
        lambda c: sa.select(f.c.referrer_customer_id, f.c.referred_at).where(
            f.c.referrer_customer_id.in_(c)
        ),
        ids,
        simple,
    )
    out = due
    for part in (
        _in_window(due, orders, "purchases", "amount"),
        _in_window(due, surveys, "surveys"),
        _in_window(due, closed, "closed"),
        _in_window(due, referred, "referrals"),
    ):
        out = out.join(part, on="id", how="left")
    out = out.with_columns(
        pl.col("purchases", "surveys", "closed", "referrals").fill_null(0),
        pl.col("purchases_value").fill_null(0.0),
    )
    retained = _retained(session, due)
    out = out.join(retained, on="id", how="left")
    definitions: dict[tuple[int, int], dict[str, Any]] = {}
    results = []
    for row in out.iter_rows(named=True):
        key = (row["playbook_id"], row["version"])
        if key not in definitions:
            definitions[key] = (
                stored.definition_of(session=session, playbook_id=key[0], version=key[1]) or {}
            )
        definition = definitions[key]
        kind = definition.get("outcome", {}).get("kind", "purchase")
        success = {
            "purchase": row["purchases"] > 0,
            "revenue": row["purchases_value"] > 0,
            "survey_answered": row["surveys"] > 0,
            "ticket_closed": row["closed"] > 0,
            "referral": row["referrals"] > 0,
            "retention": row["purchases"] > 0 if row["retained"] is None else row["retained"],
        }[kind]
        cost = action_cost(definition, rules) if row["arm"] == "treated" else 0.0
        results.append(
            {
                "id": row["id"],
                "success": bool(success),
                "value": round(row["purchases_value"], 2),
                "cost": round(cost, 2),
            }
        )
    return enrolments.record_outcomes(session=session, rows=results, at=now)


def _retained(session: Session, due: pl.DataFrame) -> pl.DataFrame:
    """Per enrolment: whether the last snapshot by its window's end keeps the customer out
    of at risk and churned (null without such a snapshot)."""
    s = schema.customer_scores
    last_day = due["outcome_due_at"].max()
    assert isinstance(last_day, dt.datetime)
    ids = due["customer_id"].unique().sort().to_list()
    snaps = _events(
        session,
        lambda c: sa.select(s.c.customer_id, s.c.as_of, s.c.lifecycle_stage).where(
            s.c.customer_id.in_(c), s.c.as_of <= last_day.date()
        ),
        ids,
        {"customer_id": pl.Int64, "as_of": pl.Date, "stage": pl.String},
    )
    joined = due.select("id", "customer_id", "outcome_due_at").join(snaps, on="customer_id")
    latest = (
        joined.filter(pl.col("as_of") <= pl.col("outcome_due_at").dt.date())
        .sort("as_of")
        .group_by("id")
        .agg(pl.col("stage").last())
    )
    return latest.select("id", (~pl.col("stage").is_in(list(_LOST))).alias("retained"))
