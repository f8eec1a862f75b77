"""Bonus points by rule: welcome, birthday month, first repeat purchase, referral.

``[loyalty.bonuses]`` of the business rules gives each bonus's points (0: off). Members only
(``customers.loyalty_joined_at`` on or before the event), and only for events of the last
``window_days`` before the run, so that switching a bonus on never rewards the whole history
and a run missed for a few days catches up. Each bonus has its ledger reference, which makes
it once per customer (or per year, or per referral) and the run idempotent:

=================  ========  ===========================  ==========================================
bonus              reason    reference                    when (``occurred_at``)
=================  ========  ===========================  ==========================================
welcome            bonus     ``welcome``                  on joining
birthday           birthday  ``birthday:<year>``          the run, in the member's birthday month
first_repeat       bonus     ``first_repeat``             the second purchase
referral           referral  ``referral:<referral no.>``  the referred customer's first purchase;
                                                          to the referrer, at most
                                                          ``referrals_per_year`` a calendar year
referred_welcome   bonus     ``referred_welcome``         the same first purchase, to the referred
=================  ========  ===========================  ==========================================

A purchase is an order whose status counts (``[business] purchase_statuses``). The references
are those of the sample company's ledger (``birthday:<year>``, ``referral:<number>``), so a
ledger imported with such entries is never rewarded twice. The customers concerned are
locked (:func:`rapport.store.loyalty.lock_customers`) and their existing bonuses read again
inside the writing transaction, so two runs at once post each bonus once.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from rapport.config import Rules
from rapport.domain import LoyaltyReason
from rapport.store import schema
from rapport.store.loyalty import lock_customers
from rapport.store.loyalty_expiry import aware

KINDS = ("welcome", "birthday", "first_repeat", "referral", "referred_welcome")


@dataclass
class BonusRun:
    """Bonuses posted (or, dry, to post) by kind: entries and points; referral bonuses
    left out by the yearly cap."""

    at: dt.datetime
    entries: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    points: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    capped: int = 0
    dry_run: bool = False


def _purchases(session: Session, rules: Rules, since: dt.datetime, at: dt.datetime) -> Any:
    """Each customer's counting orders: (customer, rank by time, ordered_at), for
    customers with a counting order in [since, at]."""
    o = schema.orders.c
    counting = [s.value for s in rules.business.purchase_statuses]
    recent = (
        sa.select(o.customer_id)
        .where(o.status.in_(counting), o.ordered_at >= since, o.ordered_at <= at)
        .distinct()
    )
    rank = sa.func.row_number().over(partition_by=o.customer_id, order_by=(o.ordered_at, o.id))
    ranked = (
        sa.select(o.customer_id, o.ordered_at, rank.label("n"))
        .where(o.status.in_(counting), o.customer_id.in_(recent), o.ordered_at <= at)
        .subquery()
    )
    return session.execute(
        sa.select(ranked.c.customer_id, ranked.c.n, ranked.c.ordered_at).where(ranked.c.n <= 2)
    ).all()


def _wanted(session: Session, rules: Rules, at: dt.datetime, tz: ZoneInfo) -> list[dict[str, Any]]:
    """Every bonus due at ``at`` by the rules, before looking at what the ledger holds."""
    bonuses = rules.loyalty.bonuses
    since = at - dt.timedelta(days=bonuses.window_days)
    c = schema.customers.c
    joined = dict(
        session.execute(
            sa.select(c.id, c.loyalty_joined_at).where(
                c.loyalty_joined_at.is_not(None), c.loyalty_joined_at <= at, c.deleted_at.is_(None)
            )
        ).all()
    )
    out: list[dict[str, Any]] = []

    def add(kind: str, customer: int, when: dt.datetime, reference: str, **more: Any) -> None:
        points = getattr(bonuses, kind)
        if points > 0 and customer in joined and joined[customer] <= when:
            reason = {
                "birthday": LoyaltyReason.BIRTHDAY,
                "referral": LoyaltyReason.REFERRAL,
            }.get(kind, LoyaltyReason.BONUS)
            out.append(
                {
                    "kind": kind,
                    "customer_id": customer,
                    "points": points,
                    "reason": reason,
                    "reference": reference,
                    "occurred_at": when,
                    **more,
                }
            )

    for customer, when in joined.items():
        if when >= since:
            add("welcome", customer, when, "welcome")
    if bonuses.birthday:
        local = at.astimezone(tz)
        month = sa.extract("month", c.birthday)
        for (customer,) in session.execute(
            sa.select(c.id).where(month == local.month, c.loyalty_joined_at.is_not(None))
        ):
            add("birthday", customer, at, f"birthday:{local.year}")
    firsts: dict[int, dt.datetime] = {}
    for customer, n, when in _purchases(session, rules, since, at):
        when = aware(when)
        if n == 1:
            firsts[customer] = when
        elif n == 2 and when >= since:
            add("first_repeat", customer, when, "first_repeat")
    if bonuses.referral or bonuses.referred_welcome:
        r = schema.referrals.c
        recent = {k: v for k, v in firsts.items() if v >= since}
        for number, ref_id, referrer, referred in session.execute(
            sa.select(r.external_id, r.id, r.referrer_customer_id, r.referred_customer_id).where(
                r.referred_customer_id.in_(list(recent))
            )
        ):
            when = recent[referred]
            add("referral", referrer, when, f"referral:{number or f'id-{ref_id}'}")
            add("referred_welcome", referred, when, "referred_welcome")
    return out


def post_bonuses(
    sessions: Callable[[], AbstractContextManager[Session]],
    *,
    rules: Rules,
    at: dt.datetime,
    tz: ZoneInfo,
    dry_run: bool = False,
) -> BonusRun:
    """Post every bonus due at ``at`` that the ledger does not hold yet, in one writing
    transaction (see the module's description)."""
    at = aware(at)
    run = BonusRun(at=at, dry_run=dry_run)
    with sessions() as session:
        wanted = _wanted(session, rules, at, tz)
        if not wanted:
            return run
        customers = sorted({w["customer_id"] for w in wanted})
        if not dry_run:
            lock_customers(session=session, customer_ids=customers)
        lg = schema.loyalty_ledger.c
        held: set[tuple[int, str]] = set()
        referrals_in_year: dict[int, int] = defaultdict(int)
        for start in range(0, len(customers), 10_000):
            chunk = customers[start : start + 10_000]
            for customer, reference, reason, occurred in session.execute(
                sa.select(lg.customer_id, lg.reference, lg.reason, lg.occurred_at).where(
                    lg.customer_id.in_(chunk),
                    lg.points > 0,
                    lg.reason.in_(
                        [LoyaltyReason.BONUS, LoyaltyReason.BIRTHDAY, LoyaltyReason.REFERRAL]
                    ),
                )
            ):
                held.add((customer, reference))
                if reason == LoyaltyReason.REFERRAL and aware(occurred).year == at.year:
                    referrals_in_year[customer] += 1
        cap = rules.loyalty.bonuses.referrals_per_year
        rows = []
        for w in sorted(wanted, key=lambda w: (w["occurred_at"], w["customer_id"])):
            key = (w["customer_id"], w["reference"])
            if key in held:
                continue
            if w["kind"] == "referral" and cap:
                if referrals_in_year[w["customer_id"]] >= cap:
                    run.capped += 1
                    continue
                referrals_in_year[w["customer_id"]] += 1
            held.add(key)
            run.entries[w["kind"]] += 1
            run.points[w["kind"]] += w["points"]
            rows.append({k: v for k, v in w.items() if k != "kind"})
        if rows and not dry_run:
            session.execute(sa.insert(schema.loyalty_ledger), rows)
    return run
