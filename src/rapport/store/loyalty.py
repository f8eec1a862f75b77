"""The loyalty programme: an append-only points ledger, balances, and the configured tiers
(a member's tier is decided by :mod:`rapport.store.loyalty_tiers`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from rapport.config import LoyaltyRules
from rapport.domain import LoyaltyReason
from rapport.errors import Conflict, ValidationFailed
from rapport.store import customers, schema
from rapport.store.repository import Repository, Row

repo = Repository(schema.loyalty_ledger, entity="loyalty entry")
tiers_repo = Repository(schema.loyalty_tiers, entity="loyalty tier", key="code")

TIER_NAMES: dict[str, tuple[str, str]] = {
    "member": ("会员", "Member"),
    "silver": ("银卡会员", "Silver"),
    "gold": ("金卡会员", "Gold"),
    "platinum": ("白金会员", "Platinum"),
}


def balance(*, session: Session, customer_id: int, at: dt.datetime | None = None) -> int:
    """Points balance of a customer (as of ``at`` when given)."""
    ledger = schema.loyalty_ledger
    stmt = sa.select(sa.func.coalesce(sa.func.sum(ledger.c.points), 0)).where(
        ledger.c.customer_id == customer_id
    )
    if at is not None:
        stmt = stmt.where(ledger.c.occurred_at <= at)
    return int(session.execute(stmt).scalar_one())


def pending(*, session: Session, customer_id: int, at: dt.datetime) -> int:
    """Points of the customer's balance not yet spendable at ``at``: earned from orders
    whose pending period (``[loyalty] pending_days``, the returns window) has not ended."""
    ledger = schema.loyalty_ledger
    stmt = sa.select(sa.func.coalesce(sa.func.sum(ledger.c.points), 0)).where(
        ledger.c.customer_id == customer_id,
        ledger.c.points > 0,
        ledger.c.available_at > at,
    )
    return int(session.execute(stmt).scalar_one())


def latest_entries(*, session: Session, customer_id: int, limit: int = 10) -> list[Row]:
    """The customer's newest ``limit`` ledger entries, newest first (by time, then id; the
    index on ``customer_id, occurred_at`` serves it)."""
    ledger = schema.loyalty_ledger
    stmt = (
        sa.select(ledger)
        .where(ledger.c.customer_id == customer_id)
        .order_by(ledger.c.occurred_at.desc(), ledger.c.id.desc())
        .limit(limit)
    )
    return [dict(r) for r in session.execute(stmt).mappings()]


def lock_customer(*, session: Session, customer_id: int) -> None:
    """Serialize the ledger writes of one customer until the transaction ends.

    PostgreSQL locks the customer's row (``SELECT … FOR UPDATE``): a concurrent writer for
    the same customer waits here, then reads the balance this one committed. SQLite takes
    the database write lock with a no-op ``UPDATE`` (waiting up to the busy timeout), so no
    other transaction can write between the balance check and the insert.

    On SQLite the lock must be the transaction's first read or write: a transaction that
    already read may hold a stale snapshot, which SQLite refuses to turn into a writer
    (``SQLITE_BUSY_SNAPSHOT``). Callers that read before (the API authenticates the caller
    first) commit or start a new transaction before calling :func:`append`.
    """
    c = schema.customers
    if not 1 <= customer_id < 2**31:  # no such customer: nothing to lock
        return
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sa.select(c.c.id).where(c.c.id == customer_id).with_for_update())
    else:
        session.execute(sa.update(c).where(c.c.id == customer_id).values(id=c.c.id))


def lock_customers(*, session: Session, customer_ids: Sequence[int]) -> None:
    """:func:`lock_customer` for many customers at once (a batch of a ledger job): their
    rows in id order on PostgreSQL, the database's write lock on SQLite."""
    c = schema.customers
    if not customer_ids:
        return
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            sa.select(c.c.id).where(c.c.id.in_(customer_ids)).order_by(c.c.id).with_for_update()
        )
    else:
        session.execute(sa.update(c).where(c.c.id == customer_ids[0]).values(id=c.c.id))


def append(*, session: Session, values: Mapping[str, Any]) -> Row:
    """Append one ledger entry. Negative entries may not take the balance below zero, nor
    spend points still pending at the entry's time (:func:`pending`).

    The customer is locked first (:func:`lock_customer`), so concurrent entries of one
    customer are serialized: the balance checked is the balance the entry is added to.
    """
    clean = repo.validate(values)
    lock_customer(session=session, customer_id=clean["customer_id"])
    customers.repo.get(session=session, id=clean["customer_id"])
    if clean["points"] < 0 and clean["reason"] != LoyaltyReason.ADJUST:
        available = balance(session=session, customer_id=clean["customer_id"]) - pending(
            session=session, customer_id=clean["customer_id"], at=clean["occurred_at"]
        )
        if available + clean["points"] < 0:
            raise Conflict(
                "customer {customer} has {available} points, cannot spend {points}",
                table="loyalty_ledger",
                field="points",
                value=clean["points"],
                hint="redeem at most the balance",
                key="points_insufficient",
                params={
                    "customer": clean["customer_id"],
                    "available": available,
                    "points": -clean["points"],
                },
            )
    return repo.create(session=session, values=clean)


def award(*, session: Session, entries: Sequence[Mapping[str, Any]]) -> int:
    """Append many positive entries (points given: bonuses, rewards) at once; returns how
    many. Each is checked as :func:`append` checks it; the customers are locked first
    (:func:`lock_customers`), and no balance check is needed: nothing is spent."""
    clean = [repo.validate(values) for values in entries]
    if any(row["points"] <= 0 for row in clean):
        raise ValueError("award() gives points: every entry's points must be above 0")
    if clean:
        lock_customers(session=session, customer_ids=sorted({r["customer_id"] for r in clean}))
        session.execute(sa.insert(schema.loyalty_ledger), clean)
    return len(clean)


def redeem(
    *, session: Session, customer_id: int, points: int, at: dt.datetime, reference: str
) -> Row:
    """Spend ``points`` (> 0); refused when the balance is insufficient."""
    if points <= 0:
        raise ValidationFailed(
            "loyalty_ledger.points = {points}: redeem a positive number of points",
            table="loyalty_ledger",
            field="points",
            value=points,
            hint="give a number of points above 0",
            key="points_not_positive",
            params={"points": points},
        )
    return append(
        session=session,
        values={
            "customer_id": customer_id,
            "points": -points,
            "reason": LoyaltyReason.REDEEM,
            "reference": reference,
            "occurred_at": at,
        },
    )


def benefits(code: str, rules: LoyaltyRules) -> dict[str, Any]:
    """The benefits of a programme tier: its earn multiplier (``[loyalty.multipliers]
    tier``, 1 when not listed), the priority of its members' tickets and its gifts."""
    tier = next(t for t in rules.tiers if t.code == code)
    return {
        "earn_multiplier": rules.multipliers.tier.get(code, 1.0),
        "sla_priority": tier.sla_priority.value,
        "gifts": list(tier.gifts),
    }


def sync_tiers(*, session: Session, rules: LoyaltyRules) -> list[Row]:
    """Make the ``loyalty_tiers`` table match the configured tiers (by code): thresholds,
    names and :func:`benefits`.

    Configured tiers are inserted or updated, tiers no longer configured are deleted;
    returns the rows in the configured order.
    """
    t = schema.loyalty_tiers
    out = []
    with tiers_repo.writing(session):
        for tier in rules.tiers:
            zh, en = TIER_NAMES.get(tier.code, (tier.code, tier.code.title()))
            _, row = tiers_repo.upsert(
                session=session,
                values={
                    "code": tier.code,
                    "name_zh": zh,
                    "name_en": en,
                    "min_points": tier.min_points,
                    "min_spend": Decimal(str(tier.min_spend)),
                    "benefits": benefits(tier.code, rules),
                },
            )
            out.append(row)
        session.execute(sa.delete(t).where(t.c.code.not_in([tier.code for tier in rules.tiers])))
    return out
