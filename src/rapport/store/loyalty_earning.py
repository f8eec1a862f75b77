"""Points earned from orders by rule, and taken back when an order is cancelled or refunded.

The rule (``[loyalty]`` of the business rules, docs/loyalty.md): an order earns when its
status counts as a purchase (``[business] purchase_statuses``) and its customer was a member
of the programme when it was placed (``customers.loyalty_joined_at`` on or before
``ordered_at``)::

    points = floor(net × points_per_currency_unit × category × channel × tier)

capped at ``max_points_per_order`` (0: no cap). ``category`` is the multiplier of the order's
product categories weighted by the lines' net amounts (lines without a multiplier count 1);
``channel`` the order channel's; ``tier`` that of the customer's programme tier when the
points are posted. :func:`evaluate` computes it for arrays of orders at once.

What an order earned is recorded once, in ``loyalty_order_points`` (the net amount it earned
on and the points), beside the ``purchase`` entry of the ledger (``reference =
"order:<order number>"``, spendable from ``available_at``: ``pending_days`` after the order).
The ledger entries of an order are then kept equal to

    target = 0                                  if the order no longer counts (cancelled…)
    target = floor(points × net / basis)        otherwise (a partial refund lowers net)

by a ``clawback`` entry (never more than the order has left) or, when a refund is reversed,
a ``purchase`` entry giving back what was taken (never above what it first earned). So
posting is idempotent: an order imported again, a retried request or a second run finds
its entries equal to the target and posts nothing. A clawback never takes the balance below
zero; what it cannot take now stays owed and is taken from the points the customer earns
next (the next run sees the difference again).

A ledger imported from another system may already hold an order's earning (a ``purchase``
entry with its reference): the order then *adopts* it (its points, on the order's net
amount at that moment) instead of earning again.

:func:`post_customers` does this for the orders of some customers, in the caller's
transaction, after locking their ledgers; :func:`post_orders` runs it over the store (or the
orders changed since a moment) in batches of customers, each its own transaction.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import sqlalchemy as sa
from sqlalchemy.orm import Session

from rapport.config import LoyaltyRules, Rules
from rapport.domain import LoyaltyReason
from rapport.store import schema
from rapport.store.loyalty import lock_customers
from rapport.store.loyalty_expiry import aware
from rapport.store.loyalty_tiers import base_tier, evaluate_customers

#: The ledger reference of an order's entries.
PREFIX = "order:"
#: Customers whose orders one transaction posts.
BATCH_CUSTOMERS = 1_000
#: Reasons of the entries that belong to an order's earning.
ORDER_REASONS = (LoyaltyReason.PURCHASE, LoyaltyReason.CLAWBACK)


def reference(order_number: str) -> str:
    return f"{PREFIX}{order_number}"


def evaluate(
    net: np.ndarray,
    *,
    rules: LoyaltyRules,
    category: np.ndarray | None = None,
    channel: Sequence[str | None] | None = None,
    tier: Sequence[str] | None = None,
) -> np.ndarray:
    """The points of orders of net amounts ``net`` (one float per order) by the rule:
    ``category`` is each order's category multiplier (1 where None), ``channel`` its
    channel and ``tier`` its customer's programme tier code. Whole points, rounded down,
    capped at ``max_points_per_order``; an amount below zero earns nothing."""
    factor = np.full(len(net), rules.points_per_currency_unit, dtype=np.float64)
    if category is not None:
        factor *= category
    for names, table in ((channel, rules.multipliers.channel), (tier, rules.multipliers.tier)):
        if names is not None and table:
            factor *= np.fromiter((table.get(n or "", 1.0) for n in names), np.float64, len(net))
    # a hair above the product so that 19.99 × 100 is 1999 whatever the float rounding
    points = np.floor(np.maximum(net, 0.0) * factor + 1e-6).astype(np.int64)
    if rules.max_points_per_order:
        np.minimum(points, rules.max_points_per_order, out=points)
    return points


@dataclass
class EarnRun:
    """What posting did (or, dry, would do)."""

    orders: int = 0  # orders looked at
    earned: int = 0  # orders that earned now
    earned_points: int = 0
    clawbacks: int = 0  # clawback entries
    clawed_points: int = 0
    restored_points: int = 0  # given back after a reversed refund
    owed_points: int = 0  # clawbacks the balance could not cover yet
    dry_run: bool = False
    customers: set[int] = field(default_factory=set)

    def add(self, other: EarnRun) -> None:
        for name in (
            "orders",
            "earned",
            "earned_points",
            "clawbacks",
            "clawed_points",
            "restored_points",
            "owed_points",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.customers |= other.customers

    def as_dict(self) -> dict[str, Any]:
        out = {k: v for k, v in self.__dict__.items() if k != "customers"}
        out["customers"] = len(self.customers)
        return out


def _category_multipliers(
    session: Session, order_ids: Sequence[int], table: Mapping[str, float]
) -> dict[int, float]:
    """Each order's category multiplier, its lines weighted by net amount (1 without)."""
    if not table or not order_ids:
        return {}
    i, p = schema.order_items.c, schema.products.c
    rows = session.execute(
        sa.select(i.order_id, i.net_amount, p.category)
        .join(schema.products, p.id == i.product_id)
        .where(i.order_id.in_(order_ids))
    )
    weight: dict[int, float] = defaultdict(float)
    total: dict[int, float] = defaultdict(float)
    for order_id, amount, category in rows:
        amount = float(amount or 0)
        weight[order_id] += amount * table.get(category or "", 1.0)
        total[order_id] += amount
    return {o: weight[o] / total[o] for o in total if total[o] > 0}


def post_customers(
    session: Session,
    customer_ids: Sequence[int],
    *,
    rules: Rules,
    now: dt.datetime,
    dry_run: bool = False,
    tz: ZoneInfo | None = None,
) -> EarnRun:
    """Bring the ledger entries of every order of ``customer_ids`` to their target, in the
    session's transaction (which must not have read the ledger yet: the ledgers are locked
    first). With ``dry_run`` nothing is written.

    The members' programme tiers are evaluated first (an upgrade the orders qualify for
    happens at once, :mod:`rapport.store.loyalty_tiers`) and their tier multiplier is that
    of the tier then; with ``tier_basis = "points"`` they are evaluated again once the points
    are posted. ``tz`` is the business's time zone (default: the settings')."""
    run = EarnRun(dry_run=dry_run)
    if not customer_ids or not rules.loyalty.earn_from_orders:
        return run
    now = aware(now)
    if not dry_run:
        lock_customers(session=session, customer_ids=customer_ids)
    o, c, lg = schema.orders.c, schema.customers.c, schema.loyalty_ledger.c
    op = schema.loyalty_order_points.c
    orders = [
        dict(r)
        for r in session.execute(
            sa.select(
                o.id,
                o.external_id,
                o.customer_id,
                o.status,
                o.ordered_at,
                o.net_amount,
                o.channel,
                c.loyalty_joined_at,
                op.basis,
                op.points.label("earned"),
            )
            .join(schema.customers, c.id == o.customer_id)
            .outerjoin(schema.loyalty_order_points, op.order_id == o.id)
            .where(o.customer_id.in_(customer_ids))
            .order_by(o.customer_id, o.ordered_at, o.id)
        ).mappings()
    ]
    run.orders = len(orders)
    if not orders:
        return run
    balances: dict[int, int] = dict(
        session.execute(
            sa.select(lg.customer_id, sa.func.sum(lg.points))
            .where(lg.customer_id.in_(customer_ids))
            .group_by(lg.customer_id)
        ).all()
    )
    posted: dict[str, tuple[int, int]] = {}  # reference → (purchase points, all its points)
    for ref, reason, points in session.execute(
        sa.select(lg.reference, lg.reason, sa.func.sum(lg.points))
        .where(
            lg.customer_id.in_(customer_ids),
            lg.reference.like(f"{PREFIX}%"),
            lg.reason.in_(ORDER_REASONS),
        )
        .group_by(lg.reference, lg.reason)
    ):
        purchase, total = posted.get(ref, (0, 0))
        points = int(points)
        posted[ref] = (
            purchase + (points if reason == LoyaltyReason.PURCHASE else 0),
            total + points,
        )

    counting = set(rules.business.purchase_statuses)
    loyalty = rules.loyalty
    new = [r for r in orders if r["basis"] is None]
    categories = _category_multipliers(
        session, [r["id"] for r in new], loyalty.multipliers.category
    )
    # the programme tiers brought up to date first: the tier multiplier reads them
    tier_run = evaluate_customers(
        session, customer_ids, rules=rules, at=now, tz=tz, dry_run=dry_run, lock=False
    )
    base = base_tier(loyalty)
    tiers = [tier_run.tiers.get(r["customer_id"], base) for r in new]
    rule_points = evaluate(
        np.array([float(r["net_amount"]) for r in new], dtype=np.float64),
        rules=loyalty,
        category=np.array([categories.get(r["id"], 1.0) for r in new], dtype=np.float64),
        channel=[r["channel"] for r in new],
        tier=tiers,
    )
    points_of_new = {r["id"]: int(p) for r, p in zip(new, rule_points, strict=True)}

    entries: list[dict[str, Any]] = []
    records: list[dict[str, Any]] = []
    pending = dt.timedelta(days=loyalty.pending_days)
    # first what new orders earn, so that a clawback may take from the points earned now
    held: list[tuple[dict[str, Any], str, int]] = []  # order, reference, points over target
    for r in orders:
        ref = reference(r["external_id"])
        customer = r["customer_id"]
        counts = r["status"] in counting and (
            r["loyalty_joined_at"] is not None and r["loyalty_joined_at"] <= r["ordered_at"]
        )
        purchase, current = posted.get(ref, (0, 0))
        net = Decimal(r["net_amount"])
        basis, earned = r["basis"], r["earned"]
        if basis is None:
            if purchase > 0:  # an earning from an imported ledger: adopted, not doubled
                basis, earned = net, purchase
            elif counts and points_of_new[r["id"]] > 0:
                basis, earned = net, points_of_new[r["id"]]
                entries.append(
                    {
                        "customer_id": customer,
                        "points": earned,
                        "reason": LoyaltyReason.PURCHASE,
                        "reference": ref,
                        "occurred_at": r["ordered_at"],
                        "available_at": r["ordered_at"] + pending,
                    }
                )
                current += earned
                balances[customer] = balances.get(customer, 0) + earned
                run.earned += 1
                run.earned_points += earned
                run.customers.add(customer)
            else:
                continue
            records.append(
                {"order_id": r["id"], "basis": basis, "points": earned, "posted_at": now}
            )
        target = _target(counts, int(earned), Decimal(basis), net)
        held.append((r, ref, current - target))
    # then each order's entries to their target
    for r, ref, excess in held:
        customer = r["customer_id"]
        if excess > 0:
            taken = min(excess, max(balances.get(customer, 0), 0))
            run.owed_points += excess - taken
            if taken:
                entries.append(
                    {
                        "customer_id": customer,
                        "points": -taken,
                        "reason": LoyaltyReason.CLAWBACK,
                        "reference": ref,
                        "occurred_at": now,
                        "available_at": None,
                    }
                )
                balances[customer] -= taken
                run.clawbacks += 1
                run.clawed_points += taken
                run.customers.add(customer)
        elif excess < 0:  # a refund reversed: give back what was taken (target ≤ earned)
            back = -excess
            entries.append(
                {
                    "customer_id": customer,
                    "points": back,
                    "reason": LoyaltyReason.PURCHASE,
                    "reference": ref,
                    "occurred_at": now,
                    "available_at": now,
                }
            )
            balances[customer] = balances.get(customer, 0) + back
            run.restored_points += back
            run.customers.add(customer)
    if not dry_run:
        if records:
            session.execute(sa.insert(schema.loyalty_order_points), records)
        if entries:
            session.execute(sa.insert(schema.loyalty_ledger), entries)
        if entries and loyalty.tier_basis == "points":  # the points just earned may lift
            evaluate_customers(
                session, sorted(run.customers), rules=rules, at=now, tz=tz, lock=False
            )
    return run


def _target(counts: bool, earned: int, basis: Decimal, net: Decimal) -> int:
    """What an order's entries should sum to: nothing once it no longer counts, else its
    earning scaled down by what was refunded since (never above the earning)."""
    if not counts or earned <= 0:
        return 0
    if basis <= 0 or net >= basis:
        return earned
    return math.floor(earned * (net / basis))


def candidates(
    session: Session, *, since: dt.datetime | None = None, unposted: bool = False
) -> list[int]:
    """Customers with orders (changed at or after ``since`` when given; with ``unposted``,
    orders that have not earned yet), by id."""
    o = schema.orders.c
    stmt = sa.select(o.customer_id).distinct().order_by(o.customer_id)
    if since is not None:
        stmt = stmt.where(o.updated_at >= aware(since))
    if unposted:
        done = sa.select(schema.loyalty_order_points.c.order_id).where(
            schema.loyalty_order_points.c.order_id == o.id
        )
        stmt = stmt.where(~sa.exists(done))
    return list(session.execute(stmt).scalars())


def post_orders(
    sessions: Callable[[], AbstractContextManager[Session]],
    *,
    rules: Rules,
    now: dt.datetime,
    since: dt.datetime | None = None,
    unposted: bool = False,
    customer_ids: Sequence[int] | None = None,
    dry_run: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> EarnRun:
    """:func:`post_customers` over the customers with orders (changed since ``since``, or
    ``customer_ids``), :data:`BATCH_CUSTOMERS` per transaction: a failure keeps what earlier
    batches posted, and running again resumes without posting anything twice.

    ``sessions`` returns a context manager of a writing session
    (``lambda: session_scope(engine, writing=True)``); ``progress(done, total)`` is called
    after each batch.
    """
    run = EarnRun(dry_run=dry_run)
    if not rules.loyalty.earn_from_orders:
        return run
    if customer_ids is None:
        with sessions() as session:
            ids = candidates(session, since=since, unposted=unposted)
    else:
        ids = sorted(set(customer_ids))
    for start in range(0, len(ids), BATCH_CUSTOMERS):
        batch = ids[start : start + BATCH_CUSTOMERS]
        with sessions() as session:
            run.add(post_customers(session, batch, rules=rules, now=now, dry_run=dry_run))
        if progress is not None:
            progress(min(start + BATCH_CUSTOMERS, len(ids)), len(ids))
    return run
