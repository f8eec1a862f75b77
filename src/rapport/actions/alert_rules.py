"""The conditions an alert warns of, each found by one query over the store.

Each rule returns the :class:`Condition` s true on the run's day; :mod:`rapport.actions.alerts`
raises them (one alert per ``dedup_key``) and resolves the alerts whose condition is gone.
The rules and their thresholds are ``[alerts]`` of the business rules; docs/actions.md
("Alerts") says what each one means.

========================  =========================================================
kind and dedup key        condition
========================  =========================================================
churn_risk                a high-value customer's churn risk reached the threshold in
``:<customer>:<as_of>``   the latest snapshot (below it, or none, in the one before)
diamond_downgraded        diamond in the previous snapshot, lower in the latest
``:<customer>:<as_of>``
nps_detractor             an NPS answer of 0–6 (on 0–10)
``:<response>``
sla_at_risk               an open ticket in the last share of the time its next SLA
``:<ticket>:<target>``    target allows
sla_breached              an open ticket past its next SLA target
``:<ticket>:<target>``
metric_out_of_band        a daily metric outside mean ± k·sd of the days before
``:<metric>:<day>``
========================  =========================================================
"""

from __future__ import annotations

import datetime as dt
import math
import statistics
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from rapport.analytics.metrics_surveys import NPS_DETRACTOR_MAX
from rapport.config import Rules
from rapport.domain import AlertKind, AlertSeverity, SurveyKind, TicketKind, ValueTier
from rapport.reports.service_queue import OPEN_STATUSES, next_due
from rapport.store import schema

_c = schema.customers
_s = schema.customer_scores
_latest = _s.alias("latest")
_previous = _s.alias("previous")


@dataclass(frozen=True)
class Condition:
    """One condition found true: what an alert about it carries."""

    kind: AlertKind
    dedup_key: str
    severity: AlertSeverity
    customer_id: int | None
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RunDay:
    """What the rules read: the run's local ``day``, the time ``at`` it is evaluated (the
    end of the day, or now when that is earlier), the zone, and the two latest score
    snapshots on or before the day."""

    day: dt.date
    at: dt.datetime
    tz: ZoneInfo
    latest: dt.date | None
    previous: dt.date | None

    def bounds(self, day: dt.date) -> tuple[dt.datetime, dt.datetime]:
        """The UTC start and end of the local ``day``."""
        start = dt.datetime.combine(day, dt.time(), self.tz).astimezone(dt.UTC)
        end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), self.tz)
        return start, end.astimezone(dt.UTC)


def _alive(customer_id: sa.ColumnElement[Any]) -> sa.ColumnElement[bool]:
    return customer_id.in_(sa.select(_c.c.id).where(_c.c.deleted_at.is_(None)))


def _number(value: Any) -> float | None:
    return None if value is None else round(float(value), 4)


# --- score snapshots -------------------------------------------------------------------------


def _high_value(rules: Rules) -> sa.ColumnElement[bool]:
    """High-value in either snapshot: a tier of ``high_value_tiers``, or predicted CLV at
    least ``high_value_clv`` (when it is above 0)."""
    a = rules.alerts
    tiers = [ValueTier(t).value for t in a.high_value_tiers]
    either: list[sa.ColumnElement[bool]] = [
        _latest.c.value_tier.in_(tiers),
        _previous.c.value_tier.in_(tiers),
    ]
    if a.high_value_clv > 0:
        either += [
            _latest.c.predicted_clv >= a.high_value_clv,
            _previous.c.predicted_clv >= a.high_value_clv,
        ]
    return sa.or_(*either)


def _pair(run: RunDay) -> Any:
    """The latest snapshot's rows beside the previous snapshot's row of each customer."""
    return _latest.outerjoin(
        _previous,
        sa.and_(
            _previous.c.customer_id == _latest.c.customer_id, _previous.c.as_of == run.previous
        ),
    )


def churn_risk(session: Session, rules: Rules, run: RunDay) -> list[Condition]:
    """High-value customers whose churn risk reached ``churn_risk_threshold`` in the latest
    snapshot and was below it (or unknown) in the previous one. Critical for a diamond
    customer (in either snapshot), a warning otherwise."""
    if run.latest is None or run.previous is None:
        return []
    threshold = rules.alerts.churn_risk_threshold
    stmt = (
        sa.select(
            _latest.c.customer_id,
            _latest.c.churn_risk,
            _previous.c.churn_risk.label("previous_churn_risk"),
            _latest.c.value_tier,
            _previous.c.value_tier.label("previous_value_tier"),
            _latest.c.predicted_clv,
        )
        .select_from(_pair(run))
        .where(
            _latest.c.as_of == run.latest,
            _latest.c.churn_risk >= threshold,
            sa.or_(_previous.c.churn_risk.is_(None), _previous.c.churn_risk < threshold),
            _high_value(rules),
            _alive(_latest.c.customer_id),
        )
        .order_by(_latest.c.customer_id)
    )
    out = []
    for r in session.execute(stmt).mappings():
        diamond = ValueTier.DIAMOND.value in (r["value_tier"], r["previous_value_tier"])
        out.append(
            Condition(
                AlertKind.CHURN_RISK,
                f"churn_risk:{r['customer_id']}:{run.latest.isoformat()}",
                AlertSeverity.CRITICAL if diamond else AlertSeverity.WARNING,
                r["customer_id"],
                {
                    "as_of": run.latest.isoformat(),
                    "previous_as_of": run.previous.isoformat(),
                    "churn_risk": _number(r["churn_risk"]),
                    "previous_churn_risk": _number(r["previous_churn_risk"]),
                    "threshold": threshold,
                    "value_tier": r["value_tier"],
                    "predicted_clv": _number(r["predicted_clv"]),
                },
            )
        )
    return out


def diamond_downgraded(session: Session, rules: Rules, run: RunDay) -> list[Condition]:
    """Customers diamond in the previous snapshot and of a lower tier in the latest."""
    if run.latest is None or run.previous is None:
        return []
    diamond = ValueTier.DIAMOND.value
    stmt = (
        sa.select(
            _latest.c.customer_id,
            _latest.c.value_tier,
            _latest.c.churn_risk,
            _latest.c.predicted_clv,
        )
        .select_from(_pair(run))
        .where(
            _latest.c.as_of == run.latest,
            _previous.c.value_tier == diamond,
            _latest.c.value_tier.is_not(None),
            _latest.c.value_tier != diamond,
            _alive(_latest.c.customer_id),
        )
        .order_by(_latest.c.customer_id)
    )
    return [
        Condition(
            AlertKind.DIAMOND_DOWNGRADED,
            f"diamond_downgraded:{r['customer_id']}:{run.latest.isoformat()}",
            AlertSeverity.WARNING,
            r["customer_id"],
            {
                "as_of": run.latest.isoformat(),
                "previous_as_of": run.previous.isoformat(),
                "value_tier": r["value_tier"],
                "previous_value_tier": diamond,
                "churn_risk": _number(r["churn_risk"]),
                "predicted_clv": _number(r["predicted_clv"]),
            },
        )
        for r in session.execute(stmt).mappings()
    ]


# --- survey answers --------------------------------------------------------------------------


def nps_detractors(session: Session, rules: Rules, run: RunDay) -> list[Condition]:
    """NPS answers of a detractor (0–6 on the 0–10 scale, the band of the ``nps`` metric:
    :data:`rapport.analytics.metrics_surveys.NPS_DETRACTOR_MAX`; another scale is rescaled
    to 0–10 first) given on the day or the day before, up to the run's time — the day
    before too, so that a run early in the day still sees the evening's answers. Each
    answer is its own condition."""
    r = schema.survey_responses
    start = run.bounds(run.day - dt.timedelta(days=1))[0]
    end = min(run.at, run.bounds(run.day)[1])
    on_ten = (r.c.score - r.c.scale_min) * 10
    stmt = (
        sa.select(
            r.c.id, r.c.customer_id, r.c.score, r.c.scale_min, r.c.scale_max, r.c.responded_at
        )
        .where(
            r.c.kind == SurveyKind.NPS.value,
            r.c.responded_at >= start,
            r.c.responded_at < end,
            on_ten <= NPS_DETRACTOR_MAX * (r.c.scale_max - r.c.scale_min),
            _alive(r.c.customer_id),
        )
        .order_by(r.c.id)
    )
    return [
        Condition(
            AlertKind.NPS_DETRACTOR,
            f"nps_detractor:{row['id']}",
            AlertSeverity.WARNING,
            row["customer_id"],
            {
                "response_id": row["id"],
                "score": row["score"],
                "scale_min": row["scale_min"],
                "scale_max": row["scale_max"],
                "responded_at": row["responded_at"].isoformat(),
            },
        )
        for row in session.execute(stmt).mappings()
    ]


# --- service levels --------------------------------------------------------------------------


def sla(session: Session, rules: Rules, run: RunDay) -> list[Condition]:
    """Open tickets whose next SLA target (the service queue's clock,
    :func:`rapport.reports.service_queue.next_due`: first response until answered, then
    resolution; due times set from ``[sla.*]`` when the ticket was opened) has passed
    (``sla_breached``, critical), or is within the last ``sla_warning_share`` of the time
    the target allows from the ticket's opening (``sla_at_risk``, a warning)."""
    t = schema.tickets
    due = next_due(t)
    stmt = (
        sa.select(
            t.c.id,
            t.c.customer_id,
            t.c.priority,
            t.c.opened_at,
            t.c.first_response_at,
            t.c.first_response_due_at,
            due.label("due_at"),
        )
        .where(t.c.status.in_([s.value for s in OPEN_STATUSES]), due.is_not(None))
        .where(_alive(t.c.customer_id))
        .order_by(t.c.id)
    )
    share = rules.alerts.sla_warning_share
    out = []
    for r in session.execute(stmt).mappings():
        answered = r["first_response_at"] is not None or r["first_response_due_at"] is None
        target = "resolution" if answered else "first_response"
        due_at, opened = r["due_at"], r["opened_at"]
        if due_at < run.at:
            kind, severity = AlertKind.SLA_BREACHED, AlertSeverity.CRITICAL
        elif run.at >= due_at - (due_at - opened) * share:
            kind, severity = AlertKind.SLA_AT_RISK, AlertSeverity.WARNING
        else:
            continue
        out.append(
            Condition(
                kind,
                f"{kind.value}:{r['id']}:{target}",
                severity,
                r["customer_id"],
                {
                    "ticket_id": r["id"],
                    "target": target,
                    "priority": r["priority"],
                    "due_at": due_at.isoformat(),
                    "opened_at": opened.isoformat(),
                },
            )
        )
    return out


# --- daily metrics ---------------------------------------------------------------------------


def _revenue(rules: Rules) -> tuple[Callable[..., sa.Select[Any]], sa.Select[Any]]:
    o = schema.orders
    statuses = [s.value for s in rules.business.purchase_statuses]

    def day(start: dt.datetime, end: dt.datetime) -> sa.Select[Any]:
        return sa.select(sa.func.coalesce(sa.func.sum(o.c.net_amount), 0)).where(
            o.c.status.in_(statuses), o.c.ordered_at >= start, o.c.ordered_at < end
        )

    return day, sa.select(sa.func.min(o.c.ordered_at))


def _new_complaints(rules: Rules) -> tuple[Callable[..., sa.Select[Any]], sa.Select[Any]]:
    t = schema.tickets

    def day(start: dt.datetime, end: dt.datetime) -> sa.Select[Any]:
        return sa.select(sa.func.count()).where(
            t.c.kind == TicketKind.COMPLAINT.value, t.c.opened_at >= start, t.c.opened_at < end
        )

    return day, sa.select(sa.func.min(t.c.opened_at))


#: Each watched metric: its query of one day and of the first record it reads (days before
#: that are no history), and whether it is a count (its band is at least ±1 wide per sd).
METRICS: dict[str, tuple[Callable[[Rules], Any], bool]] = {
    "revenue": (_revenue, False),
    "new_complaints": (_new_complaints, True),
}


def band_day(run: RunDay) -> dt.date:
    """The day a run's metrics are read for: the run's day once it is over at the run's
    time, else the day before (a day still running would look low)."""
    return run.day if run.at >= run.bounds(run.day)[1] else run.day - dt.timedelta(days=1)


def metrics_out_of_band(session: Session, rules: Rules, run: RunDay) -> list[Condition]:
    """The metrics of ``band_metrics`` whose value on :func:`band_day` lies outside
    ``mean ± band_sd · sd`` of the ``band_days`` days before it (sample standard deviation;
    for a count at least 1, so a quiet history does not make one complaint an alert). Days
    before the metric's first record are no history; with fewer than ``band_min_days``
    days of history the metric is not judged. ``revenue`` is the net amount of purchases
    ([business] purchase_statuses) ordered on the day, ``new_complaints`` the complaint
    tickets opened on it (local days)."""
    a = rules.alerts
    day = band_day(run)
    out = []
    for name in a.band_metrics:
        build, is_count = METRICS[name]
        query, first = build(rules)
        first_at = session.execute(first).scalar_one_or_none()
        if first_at is None:
            continue
        first_day = first_at.astimezone(run.tz).date()
        history = [
            day - dt.timedelta(days=n)
            for n in range(a.band_days, 0, -1)
            if day - dt.timedelta(days=n) >= first_day
        ]
        if len(history) < a.band_min_days:
            continue
        values = [float(session.execute(query(*run.bounds(d))).scalar_one()) for d in history]
        value = float(session.execute(query(*run.bounds(day))).scalar_one())
        mean = statistics.fmean(values)
        sd = statistics.stdev(values)
        if is_count:
            sd = max(sd, 1.0)
        low, high = mean - a.band_sd * sd, mean + a.band_sd * sd
        if low <= value <= high or not math.isfinite(value):
            continue
        out.append(
            Condition(
                AlertKind.METRIC_OUT_OF_BAND,
                f"metric_out_of_band:{name}:{day.isoformat()}",
                AlertSeverity.WARNING,
                None,
                {
                    "metric": name,
                    "day": day.isoformat(),
                    "value": round(value, 2),
                    "mean": round(mean, 2),
                    "sd": round(sd, 2),
                    "low": round(low, 2),
                    "high": round(high, 2),
                    "days": len(values),
                    "direction": "above" if value > high else "below",
                },
            )
        )
    return out


#: The rules in the order a run applies them.
RULES: tuple[Callable[[Session, Rules, RunDay], list[Condition]], ...] = (
    churn_risk,
    diamond_downgraded,
    nps_detractors,
    sla,
    metrics_out_of_band,
)
