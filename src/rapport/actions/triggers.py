"""Who a playbook's trigger fires for on a day, and on which occasion.

Each trigger gives a frame ``customer_id``, ``occasion``, ``evidence`` (JSON text: what
staff see as the reason). The occasion makes an enrolment once-only: a rerun of the day, or
the same snapshot change seen again on a later day before the next scoring, finds the same
occasion and enrols nobody twice.

===================  =========================================  ==========================
trigger              fires when                                 occasion
===================  =========================================  ==========================
enter / leave        in (out of) the values in the latest        ``snapshot:<latest as_of>``
                     snapshot, not (was) in the one before
upgrade / downgrade  value tier higher (lower) than before       ``snapshot:<latest as_of>``
score_crosses        rose to ``above`` / fell to ``below``       ``snapshot:<latest as_of>``
score_drop           fell by at least ``by``                     ``snapshot:<latest as_of>``
event                first purchase, complaint opened, NPS       ``order:``/``ticket:``/
                     detractor (0–6) or promoter (9–10)          ``survey:<id>`` (the day's
                     answer, ticket closed — on the day          first per customer)
date birthday        the day is the birthday (29 Feb: 28 Feb)    ``birthday:<year>``
date anniversary     the day is the first purchase's day         ``anniversary:<year>``
no_purchase/contact  ``days`` (to ``max_days``) since the last   ``no_purchase:<last day>``
schedule             every customer, once per period             ``2026Q4``, ``2026-12``
points_expiring      points expire within ``within_days``        ``expire:<day>``
===================  =========================================  ==========================
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

import polars as pl
import sqlalchemy as sa
from sqlalchemy.orm import Session

from rapport.actions.audience import Snapshots, frame
from rapport.actions.definitions import TIER_ORDER
from rapport.config import Rules
from rapport.domain import SurveyKind, TicketKind, TicketStatus
from rapport.store import schema
from rapport.store.loyalty_expiry import aware, expiring, lifetime

TRIGGER_SCHEMA = {"customer_id": pl.Int64, "occasion": pl.String, "evidence": pl.String}
_o = schema.orders
_t = schema.tickets
_r = schema.survey_responses
_i = schema.interactions
_l = schema.loyalty_ledger


def local_day_bounds(day: dt.date, tz: ZoneInfo) -> tuple[dt.datetime, dt.datetime]:
    """The UTC start and end of the local ``day``."""
    start = dt.datetime.combine(day, dt.time(), tz).astimezone(dt.UTC)
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tz).astimezone(dt.UTC)
    return start, end


@dataclass
class TriggerContext:
    """What every trigger of one run reads: the customers' frame, the day and its bounds,
    and per-customer aggregates computed once when a trigger first asks for them."""

    session: Session
    rules: Rules
    day: dt.date
    tz: ZoneInfo
    customers: pl.DataFrame
    snapshots: Snapshots
    _cache: dict[str, pl.DataFrame] = field(default_factory=dict)

    @property
    def bounds(self) -> tuple[dt.datetime, dt.datetime]:
        return local_day_bounds(self.day, self.tz)

    def purchases(self) -> pl.DataFrame:
        """Per customer: first and last purchase day (local), up to the end of the day."""
        if "purchases" not in self._cache:
            statuses = [s.value for s in self.rules.business.purchase_statuses]
            stmt = (
                sa.select(
                    _o.c.customer_id,
                    sa.func.min(_o.c.ordered_at).label("first_at"),
                    sa.func.max(_o.c.ordered_at).label("last_at"),
                )
                .where(_o.c.status.in_(statuses), _o.c.ordered_at < self.bounds[1])
                .group_by(_o.c.customer_id)
            )
            self._cache["purchases"] = self._local_days(
                stmt, {"first_at": "first_day", "last_at": "last_day"}
            )
        return self._cache["purchases"]

    def contacts(self) -> pl.DataFrame:
        """Per customer: the last local day of a purchase or an interaction."""
        if "contacts" not in self._cache:
            stmt = (
                sa.select(_i.c.customer_id, sa.func.max(_i.c.occurred_at).label("last_at"))
                .where(_i.c.occurred_at < self.bounds[1])
                .group_by(_i.c.customer_id)
            )
            touched = self._local_days(stmt, {"last_at": "last_day"})
            bought = self.purchases().select("customer_id", "last_day")
            self._cache["contacts"] = (
                pl.concat([touched, bought]).group_by("customer_id").agg(pl.col("last_day").max())
            )
        return self._cache["contacts"]

    def _local_days(self, stmt: sa.Select[Any], names: dict[str, str]) -> pl.DataFrame:
        types: dict[str, Any] = {"customer_id": pl.Int64}
        types |= {name: pl.Datetime("us", "UTC") for name in names}
        zone = str(self.tz)
        out = frame(self.session, stmt, types)
        return out.select(
            "customer_id",
            *(pl.col(a).dt.convert_time_zone(zone).dt.date().alias(b) for a, b in names.items()),
        )


def _empty() -> pl.DataFrame:
    return pl.DataFrame(schema=TRIGGER_SCHEMA)


def _out(df: pl.DataFrame, occasion: pl.Expr, evidence: dict[str, pl.Expr]) -> pl.DataFrame:
    return df.select(
        pl.col("customer_id").cast(pl.Int64),
        occasion.cast(pl.String).alias("occasion"),
        pl.struct(*[e.alias(k) for k, e in evidence.items()])
        .struct.json_encode()
        .alias("evidence"),
    )


def fire(trigger: dict[str, Any], ctx: TriggerContext) -> pl.DataFrame:
    """The customers ``trigger`` fires for on ``ctx.day`` (see the module's table)."""
    kind = trigger["kind"]
    if kind in ("enter", "leave", "upgrade", "downgrade", "score_crosses", "score_drop"):
        return _snapshot_change(trigger, ctx)
    if kind == "event":
        return _event(trigger, ctx)
    if kind == "date":
        return _date(trigger, ctx)
    if kind == "schedule":
        return _schedule(trigger, ctx)
    return _points_expiring(trigger, ctx)


def _snapshot_change(trigger: dict[str, Any], ctx: TriggerContext) -> pl.DataFrame:
    snaps = ctx.snapshots
    if snaps.latest is None or snaps.previous is None:
        return _empty()
    kind = trigger["kind"]
    df = ctx.customers
    name = trigger.get("field") or trigger["score"]
    now, before = pl.col(name), pl.col(f"prev_{name}")
    if kind in ("enter", "leave"):
        values = trigger["values"]
        inside, was = now.is_in(values).fill_null(False), before.is_in(values).fill_null(False)
        hit = (inside & ~was) if kind == "enter" else (was & now.is_not_null() & ~inside)
    elif kind in ("upgrade", "downgrade"):
        ranks = {str(t): i for i, t in enumerate(TIER_ORDER)}
        rank = now.replace_strict(ranks, default=None, return_dtype=pl.Int32)
        rank_before = before.replace_strict(ranks, default=None, return_dtype=pl.Int32)
        hit = (rank > rank_before) if kind == "upgrade" else (rank < rank_before)
    elif kind == "score_crosses":
        if "above" in trigger:
            hit = (before < trigger["above"]) & (now >= trigger["above"])
        else:
            hit = (before > trigger["below"]) & (now <= trigger["below"])
    else:
        hit = (before - now) >= trigger["by"]
    found = df.filter(hit.fill_null(False))
    return _out(
        found,
        pl.lit(f"snapshot:{snaps.latest.isoformat()}"),
        {"from": before.cast(pl.String), "to": now.cast(pl.String), "field": pl.lit(name)},
    )


def _event(trigger: dict[str, Any], ctx: TriggerContext) -> pl.DataFrame:
    start, end = ctx.bounds
    event = trigger["event"]
    types = {"customer_id": pl.Int64, "ref": pl.Int64, "score": pl.Float64}
    stmt: sa.Select[Any]
    if event == "first_purchase":
        statuses = [s.value for s in ctx.rules.business.purchase_statuses]
        p = _o.alias("p")
        earlier = sa.select(sa.literal(1)).where(
            p.c.customer_id == _o.c.customer_id, p.c.status.in_(statuses), p.c.ordered_at < start
        )
        stmt = (
            sa.select(_o.c.customer_id, sa.func.min(_o.c.id), sa.func.sum(_o.c.net_amount))
            .where(
                _o.c.status.in_(statuses),
                _o.c.ordered_at >= start,
                _o.c.ordered_at < end,
                ~sa.exists(earlier),
            )
            .group_by(_o.c.customer_id)
        )
        found = frame(ctx.session, stmt, types)
        return _out(found, pl.lit("first_purchase"), {"order_id": pl.col("ref")})
    if event in ("complaint_opened", "ticket_closed"):
        column = _t.c.opened_at if event == "complaint_opened" else _t.c.closed_at
        kinds = [TicketKind.COMPLAINT.value] if event == "complaint_opened" else None
        kinds = trigger.get("ticket_kinds") or kinds
        stmt = sa.select(_t.c.customer_id, sa.func.min(_t.c.id), sa.null()).where(
            column >= start, column < end
        )
        if event == "ticket_closed":
            stmt = stmt.where(_t.c.status == TicketStatus.CLOSED.value)
        if kinds:
            stmt = stmt.where(_t.c.kind.in_(kinds))
        found = frame(ctx.session, stmt.group_by(_t.c.customer_id), types)
        return _out(found, pl.format("ticket:{}", pl.col("ref")), {"ticket_id": pl.col("ref")})
    ten = (_r.c.score - _r.c.scale_min) * 10.0 / (_r.c.scale_max - _r.c.scale_min)
    side = ten <= 6 if event == "nps_detractor" else ten >= 9
    stmt = (
        sa.select(_r.c.customer_id, sa.func.min(_r.c.id), sa.func.min(_r.c.score))
        .where(
            _r.c.kind == SurveyKind.NPS.value,
            _r.c.responded_at >= start,
            _r.c.responded_at < end,
            side,
        )
        .group_by(_r.c.customer_id)
    )
    found = frame(ctx.session, stmt, types)
    return _out(
        found,
        pl.format("survey:{}", pl.col("ref")),
        {"survey_id": pl.col("ref"), "score": pl.col("score")},
    )


def _same_day(dates: pl.Expr, day: dt.date) -> pl.Expr:
    """Whether ``dates`` fall on ``day``'s month and day (29 Feb on 28 Feb of other years)."""
    on_day = (dates.dt.month() == day.month) & (dates.dt.day() == day.day)
    leap = day.month == 2 and day.day == 28 and not _is_leap(day.year)
    if leap:
        on_day = on_day | ((dates.dt.month() == 2) & (dates.dt.day() == 29))
    return on_day.fill_null(False)


def _is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def _date(trigger: dict[str, Any], ctx: TriggerContext) -> pl.DataFrame:
    day = ctx.day
    kind = trigger["date"]
    if kind == "birthday":
        found = ctx.customers.filter(_same_day(pl.col("birthday"), day))
        return _out(found, pl.lit(f"birthday:{day.year}"), {"birthday": pl.col("birthday")})
    if kind == "purchase_anniversary":
        found = ctx.purchases().filter(
            _same_day(pl.col("first_day"), day) & (pl.col("first_day").dt.year() < day.year)
        )
        return _out(
            found,
            pl.lit(f"anniversary:{day.year}"),
            {
                "first_purchase": pl.col("first_day"),
                "years": day.year - pl.col("first_day").dt.year(),
            },
        )
    last = ctx.purchases() if kind == "no_purchase" else ctx.contacts()
    since = (pl.lit(day) - pl.col("last_day")).dt.total_days()
    hit = since >= trigger["days"]
    if trigger.get("max_days") is not None:
        hit = hit & (since <= trigger["max_days"])
    found = last.filter(hit)
    return _out(
        found,
        pl.format(f"{kind}:{{}}", pl.col("last_day")),
        {"last_day": pl.col("last_day"), "days": since},
    )


def period_label(day: dt.date, every: str) -> str:
    """The period ``day`` is in: ``2026``, ``2026Q4`` or ``2026-12``."""
    if every == "year":
        return f"{day.year}"
    if every == "quarter":
        return f"{day.year}Q{(day.month - 1) // 3 + 1}"
    return f"{day.year}-{day.month:02d}"


def _schedule(trigger: dict[str, Any], ctx: TriggerContext) -> pl.DataFrame:
    label = period_label(ctx.day, trigger["every"])
    return _out(ctx.customers, pl.lit(label), {"period": pl.lit(label)})


def _points_expiring(trigger: dict[str, Any], ctx: TriggerContext) -> pl.DataFrame:
    expire_days = ctx.rules.loyalty.points_expire_days
    at = ctx.bounds[1]
    horizon = at + dt.timedelta(days=trigger["within_days"])
    life = lifetime(expire_days)
    candidates = sa.select(_l.c.customer_id).where(
        _l.c.points > 0, _l.c.occurred_at > at - life, _l.c.occurred_at <= horizon - life
    )
    stmt = sa.select(
        _l.c.customer_id, _l.c.id, _l.c.points, _l.c.reason, _l.c.reference, _l.c.occurred_at
    ).where(_l.c.customer_id.in_(candidates.distinct()))
    entries: dict[int, list[dict[str, Any]]] = {}
    for row in ctx.session.execute(stmt).mappings():
        entries.setdefault(row["customer_id"], []).append(dict(row))
    rows = []
    for customer_id, ledger in entries.items():
        due = [
            (when, pts)
            for when, pts in expiring(ledger, expire_days, after=aware(at))
            if when <= horizon
        ]
        if due:
            when, points = due[0]
            day = when.astimezone(ctx.tz).date().isoformat()
            rows.append(
                {
                    "customer_id": customer_id,
                    "occasion": f"expire:{day}",
                    "evidence": json.dumps({"points": points, "expires_on": day}),
                }
            )
    return pl.DataFrame(rows, schema=TRIGGER_SCHEMA)
