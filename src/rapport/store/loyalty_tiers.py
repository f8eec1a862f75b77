"""Programme tiers on the store: each member's tier evaluated by rule, its history, and the
tier card the API and the customer 360 card show.

The rule is :mod:`rapport.store.loyalty_tier_rules` (docs/loyalty.md "Tiers"); this module
reads its inputs and writes its result:

* the **basis** over the rolling window ``(at − tier_window_months, at]``: with ``tier_basis
  = "spend"`` the net amount of the member's purchases (orders whose status counts,
  ``[business] purchase_statuses``, placed since joining the programme, as for earning);
  with ``"points"`` the points earned (``purchase``, ``bonus``, ``referral``, ``birthday``,
  ``review`` entries) less clawbacks — spending and expiry do not lower a tier;
* the **floor** from the member's latest score snapshot on or before the day
  (``customer_scores.value_tier`` through ``[loyalty.value_tier_map]``);
* the **state** in ``loyalty_member_tiers``; every change of tier is appended to
  ``loyalty_tier_changes`` (from, to, when, why).

Only members are evaluated (``customers.loyalty_joined_at`` on or before ``at``). A state
is written only when it changes (or its basis does), so evaluating again at the same moment
writes nothing. :func:`evaluate_customers` works in the caller's transaction (the earning
hook calls it for the customers whose orders it posts); :func:`evaluate_tiers` runs it over
every member, :data:`BATCH_CUSTOMERS` per transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from rapport.config import LoyaltyRules, Rules, get_settings
from rapport.domain import LoyaltyReason, TierChangeReason
from rapport.store import schema
from rapport.store.loyalty import TIER_NAMES, benefits, lock_customers
from rapport.store.loyalty_expiry import aware
from rapport.store.loyalty_tier_rules import (
    Decision,
    TierState,
    decide,
    floor_tier,
    next_tier,
    ranked,
    threshold,
    window_start,
)
from rapport.store.tasks import NewTask, add_tasks

#: Members one transaction of :func:`evaluate_tiers` evaluates.
BATCH_CUSTOMERS = 1_000
#: Ledger reasons whose points count towards a tier (clawbacks take theirs back).
TIER_POINT_REASONS = (
    LoyaltyReason.PURCHASE,
    LoyaltyReason.BONUS,
    LoyaltyReason.REFERRAL,
    LoyaltyReason.BIRTHDAY,
    LoyaltyReason.REVIEW,
    LoyaltyReason.CLAWBACK,
)

_c = schema.customers.c
_o = schema.orders.c
_lg = schema.loyalty_ledger.c
_mt = schema.loyalty_member_tiers.c
_sc = schema.customer_scores.c


@dataclass
class TierRun:
    """What an evaluation did (or, dry, would do)."""

    at: dt.datetime
    members: int = 0  # members evaluated
    initial: int = 0
    upgrades: int = 0
    downgrades: int = 0
    mappings: int = 0
    graces: int = 0  # grace periods started at a review
    written: int = 0  # member states written
    gift_tasks: int = 0  # tasks to hand over a new tier's gifts
    dry_run: bool = False
    tiers: dict[int, str] = field(default_factory=dict)  # member → tier after the run

    def add(self, other: TierRun) -> None:
        for name in ("members", "initial", "upgrades", "downgrades", "mappings", "graces"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.written += other.written
        self.gift_tasks += other.gift_tasks
        self.tiers.update(other.tiers)

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "tiers"}


_COUNTERS = {
    TierChangeReason.INITIAL: "initial",
    TierChangeReason.UPGRADE: "upgrades",
    TierChangeReason.DOWNGRADE: "downgrades",
    TierChangeReason.MAPPING: "mappings",
}


def _zone(tz: ZoneInfo | None) -> ZoneInfo:
    return tz if tz is not None else get_settings().tz


def members(
    session: Session, *, at: dt.datetime, customer_ids: Sequence[int] | None = None
) -> list[int]:
    """Customers who joined the programme on or before ``at`` (among ``customer_ids``), by
    id."""
    stmt = (
        sa.select(_c.id)
        .where(_c.loyalty_joined_at.is_not(None), _c.loyalty_joined_at <= aware(at))
        .order_by(_c.id)
    )
    if customer_ids is not None:
        stmt = stmt.where(_c.id.in_(list(customer_ids)))
    return list(session.execute(stmt).scalars())


def basis_values(
    session: Session,
    customer_ids: Sequence[int],
    *,
    rules: Rules,
    start: dt.datetime,
    end: dt.datetime,
) -> dict[int, Decimal]:
    """Each customer's tier basis in ``(start, end]``: the net amount of purchases placed
    since joining (``tier_basis = "spend"``) or the points earned less clawbacks
    (``"points"``). Customers with nothing in the window are left out (0)."""
    if not customer_ids:
        return {}
    ids = list(customer_ids)
    if rules.loyalty.tier_basis == "spend":
        counting = [s.value for s in rules.business.purchase_statuses]
        stmt = (
            sa.select(_o.customer_id, sa.func.sum(_o.net_amount))
            .join(schema.customers, _c.id == _o.customer_id)
            .where(
                _o.customer_id.in_(ids),
                _o.status.in_(counting),
                _o.ordered_at > start,
                _o.ordered_at <= end,
                _o.ordered_at >= _c.loyalty_joined_at,
            )
            .group_by(_o.customer_id)
        )
    else:
        stmt = (
            sa.select(_lg.customer_id, sa.func.sum(_lg.points))
            .where(
                _lg.customer_id.in_(ids),
                _lg.reason.in_([r.value for r in TIER_POINT_REASONS]),
                _lg.occurred_at > start,
                _lg.occurred_at <= end,
            )
            .group_by(_lg.customer_id)
        )
    return {cid: Decimal(value or 0) for cid, value in session.execute(stmt)}


def value_tiers(session: Session, customer_ids: Sequence[int], *, on: dt.date) -> dict[int, str]:
    """Each customer's value tier in their latest score snapshot dated on or before ``on``
    (customers never scored, or without a value tier then, are left out)."""
    if not customer_ids:
        return {}
    latest = (
        sa.select(_sc.customer_id, sa.func.max(_sc.as_of).label("as_of"))
        .where(_sc.customer_id.in_(list(customer_ids)), _sc.as_of <= on)
        .group_by(_sc.customer_id)
        .subquery()
    )
    stmt = sa.select(_sc.customer_id, _sc.value_tier).join(
        latest, sa.and_(latest.c.customer_id == _sc.customer_id, latest.c.as_of == _sc.as_of)
    )
    return {cid: str(tier) for cid, tier in session.execute(stmt) if tier is not None}


def states(session: Session, customer_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """The stored ``loyalty_member_tiers`` rows of ``customer_ids``, by customer."""
    if not customer_ids:
        return {}
    stmt = sa.select(schema.loyalty_member_tiers).where(_mt.customer_id.in_(list(customer_ids)))
    return {r["customer_id"]: dict(r) for r in session.execute(stmt).mappings()}


def _state(row: dict[str, Any] | None) -> TierState | None:
    if row is None:
        return None
    return TierState(
        tier=row["tier"],
        since=row["since"],
        review_on=row["review_on"],
        grace_until=row["grace_until"],
    )


def evaluate_customers(
    session: Session,
    customer_ids: Sequence[int],
    *,
    rules: Rules,
    at: dt.datetime,
    tz: ZoneInfo | None = None,
    dry_run: bool = False,
    lock: bool = True,
) -> TierRun:
    """Decide the tier of every member among ``customer_ids`` at ``at`` and write what
    changed, in the session's transaction. ``lock=False`` when the caller already locked
    their ledgers (:func:`rapport.store.loyalty.lock_customers`). With ``dry_run`` nothing is
    written; ``run.tiers`` holds every member's tier after the decision either way."""
    at = aware(at)
    zone = _zone(tz)
    run = TierRun(at=at, dry_run=dry_run)
    if lock and not dry_run and customer_ids:  # first: on SQLite the lock must come first
        lock_customers(session=session, customer_ids=sorted(set(customer_ids)))
    ids = members(session, at=at, customer_ids=customer_ids)
    if not ids:
        return run
    loyalty = rules.loyalty
    on = at.astimezone(zone).date()
    values = basis_values(session, ids, rules=rules, start=window_start(at, zone, loyalty), end=at)
    floors = value_tiers(session, ids, on=on) if loyalty.value_tier_map else {}
    stored = states(session, ids)
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    changes: list[dict[str, Any]] = []
    for cid in ids:
        value = values.get(cid, Decimal(0))
        row = stored.get(cid)
        before = _state(row)
        decision: Decision = decide(
            before, value=value, floor=floor_tier(floors.get(cid), loyalty), on=on, rules=loyalty
        )
        run.members += 1
        run.tiers[cid] = decision.state.tier
        if decision.change is not None:
            counter = _COUNTERS[decision.change.reason]
            setattr(run, counter, getattr(run, counter) + 1)
            changes.append(
                {
                    "customer_id": cid,
                    "from_tier": decision.change.from_tier,
                    "to_tier": decision.change.to_tier,
                    "reason": decision.change.reason,
                    "changed_on": on,
                    "changed_at": at,
                    "basis_value": value,
                }
            )
        elif before is not None and before.grace_until is None and decision.state.grace_until:
            run.graces += 1
        if not decision.changed and row is not None and Decimal(row["basis_value"]) == value:
            continue
        new = decision.state
        values_row = {
            "customer_id": cid,
            "tier": new.tier,
            "since": new.since,
            "review_on": new.review_on,
            "grace_until": new.grace_until,
            "basis_value": value,
            "evaluated_at": at,
        }
        (inserts if row is None else updates).append(values_row)
    run.written = len(inserts) + len(updates)
    if dry_run:
        return run
    if inserts:
        session.execute(sa.insert(schema.loyalty_member_tiers), inserts)
    if updates:
        table = schema.loyalty_member_tiers
        session.execute(
            sa.update(table)
            .where(table.c.customer_id == sa.bindparam("key"))
            .values({k: sa.bindparam(k) for k in updates[0] if k != "customer_id"}),
            [{"key": u["customer_id"], **u} for u in updates],
        )
    if changes:
        session.execute(sa.insert(schema.loyalty_tier_changes), changes)
        run.gift_tasks = _gift_tasks(session, changes, loyalty=loyalty, at=at)
    return run


#: Changes that raise a member into a tier: its gifts are due.
_RAISING = frozenset({TierChangeReason.UPGRADE, TierChangeReason.MAPPING})


def _gift_tasks(
    session: Session,
    changes: Sequence[Mapping[str, Any]],
    *,
    loyalty: LoyaltyRules,
    at: dt.datetime,
) -> int:
    """A task per member raised into a tier with gifts: for their owner, else the
    ``gift_team`` queue, due ``gift_task_days`` later. Written with the change itself, so
    the change and its task are made once (a second evaluation changes nothing)."""
    gifts = {tier.code: tier.gifts for tier in loyalty.tiers if tier.gifts}
    raised = [c for c in changes if c["reason"] in _RAISING and gifts.get(c["to_tier"])]
    if not raised:
        return 0
    _c = schema.customers
    owners = dict(
        session.execute(
            sa.select(_c.c.id, _c.c.owner_id).where(_c.c.id.in_([c["customer_id"] for c in raised]))
        ).all()
    )
    due = at + dt.timedelta(days=loyalty.gift_task_days)
    new = [
        NewTask(
            customer_id=c["customer_id"],
            title=loyalty.gift_task_title.format(
                tier=c["to_tier"], gifts="、".join(gifts[c["to_tier"]])
            )[:200],
            due_at=due,
            assignee_id=owners.get(c["customer_id"]),
            team=None if owners.get(c["customer_id"]) else loyalty.gift_team,
        )
        for c in raised
    ]
    return add_tasks(session=session, tasks=new, at=at)


def evaluate_tiers(
    sessions: Callable[[], AbstractContextManager[Session]],
    *,
    rules: Rules,
    at: dt.datetime,
    tz: ZoneInfo | None = None,
    customer_ids: Sequence[int] | None = None,
    dry_run: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> TierRun:
    """:func:`evaluate_customers` over every member (or ``customer_ids``),
    :data:`BATCH_CUSTOMERS` per transaction: a failure keeps what earlier batches wrote, and
    running again changes nothing more. ``sessions`` returns a writing session's context
    manager; ``progress(done, total)`` is called after each batch."""
    run = TierRun(at=aware(at), dry_run=dry_run)
    with sessions() as session:
        ids = members(session, at=at, customer_ids=customer_ids)
    for start in range(0, len(ids), BATCH_CUSTOMERS):
        batch = ids[start : start + BATCH_CUSTOMERS]
        with sessions() as session:
            run.add(evaluate_customers(session, batch, rules=rules, at=at, tz=tz, dry_run=dry_run))
        if progress is not None:
            progress(min(start + BATCH_CUSTOMERS, len(ids)), len(ids))
    return run


def stored_tiers(session: Session, customer_ids: Sequence[int]) -> dict[int, str]:
    """The stored programme tier of each of ``customer_ids`` that has one."""
    return {cid: row["tier"] for cid, row in states(session, customer_ids).items()}


def _tier_public(code: str, rules: LoyaltyRules) -> dict[str, Any]:
    rule = next(t for t in rules.tiers if t.code == code)
    zh, en = TIER_NAMES.get(code, (code, code.title()))
    return {
        "code": code,
        "name_zh": zh,
        "name_en": en,
        "min_points": rule.min_points,
        "min_spend": Decimal(str(rule.min_spend)),
    }


def tier_card(
    session: Session,
    *,
    customer_id: int,
    rules: Rules,
    at: dt.datetime,
    tz: ZoneInfo | None = None,
) -> dict[str, Any] | None:
    """A member's programme tier as shown to staff: the tier, since when, the next review,
    a grace running, the basis over the window now, the next tier and what is missing to
    reach it, the value-tier floor and the tier's benefits. ``None`` for a non-member.

    The tier is the stored one (``evaluated`` true); a member never evaluated is shown the
    tier the next evaluation would give (``evaluated`` false). Nothing is written."""
    at = aware(at)
    zone = _zone(tz)
    if not members(session, at=at, customer_ids=[customer_id]):
        return None
    loyalty = rules.loyalty
    on = at.astimezone(zone).date()
    value = basis_values(
        session, [customer_id], rules=rules, start=window_start(at, zone, loyalty), end=at
    ).get(customer_id, Decimal(0))
    value_tier = value_tiers(session, [customer_id], on=on).get(customer_id)
    floor = floor_tier(value_tier, loyalty)
    row = states(session, [customer_id]).get(customer_id)
    state = _state(row)
    if state is None or state.tier not in {t.code for t in loyalty.tiers}:
        state = decide(state, value=value, floor=floor, on=on, rules=loyalty).state
    above = next_tier(state.tier, loyalty)
    return {
        "customer_id": customer_id,
        "tier": _tier_public(state.tier, loyalty),
        "since": state.since,
        "review_on": state.review_on,
        "grace_until": state.grace_until,
        "evaluated": row is not None,
        "basis": loyalty.tier_basis,
        "window_months": loyalty.tier_window_months,
        "basis_value": value,
        "next_tier": _tier_public(above.code, loyalty) if above else None,
        "to_next_tier": max(threshold(above, loyalty) - value, Decimal(0)) if above else None,
        "value_tier": value_tier,
        "floor_tier": floor,
        "benefits": benefits(state.tier, loyalty),
    }


def tier_history(session: Session, *, customer_id: int, limit: int = 50) -> list[dict[str, Any]]:
    """A member's tier changes, newest first."""
    t = schema.loyalty_tier_changes
    stmt = (
        sa.select(t)
        .where(t.c.customer_id == customer_id)
        .order_by(t.c.changed_at.desc(), t.c.id.desc())
        .limit(limit)
    )
    return [dict(r) for r in session.execute(stmt).mappings()]


def base_tier(rules: LoyaltyRules) -> str:
    """The tier every member starts in (threshold 0 in the basis)."""
    return ranked(rules)[0].code
