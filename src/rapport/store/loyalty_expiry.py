"""Points expiry, first in first out.

Every positive entry of the loyalty ledger is a *lot* of points that expires
``[loyalty] points_expire_days`` after it was earned. Whatever takes points away consumes
the oldest lots first: a redemption, a negative adjustment, a clawback. An ``expire`` entry
posted here names its lot in ``reference`` (``expire:<entry id>``) and consumes that lot;
an ``expire`` entry without such a reference (one imported from another system) consumes
the oldest lots like any other spend.

The lots are never stored: they are replayed from the ledger (:func:`replay`), ordered by
time and then id, so the ledger stays the one truth and the balance stays the sum of its
entries. The replay also says what expires when (:func:`expiring`).

The expiry job (:func:`post_expiries`) posts, for each lot past its expiry date with points
left, one ``expire`` entry of minus what is left, dated at the lot's expiry. Running it again
posts nothing: the replay then sees the lot used up. Each customer's ledger is locked while
its expiries are posted (:func:`rapport.store.loyalty.lock_customer`), so a redemption
running at the same moment either spends the points first (and nothing expires) or sees
the balance after the expiry.

A spend larger than every lot left (only an adjustment may take the balance below zero)
leaves a *debt* that later lots pay first, so points never expire twice.
"""

from __future__ import annotations

import datetime as dt
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from rapport.domain import LoyaltyReason
from rapport.store import schema
from rapport.store.loyalty import lock_customers

#: The reference of an expiry entry: the lot it consumes.
REFERENCE_PREFIX = "expire:"
#: Customers whose expiries one transaction posts.
BATCH_CUSTOMERS = 1_000


@dataclass
class Lot:
    """Points earned by one ledger entry and what is left of them."""

    entry_id: int
    earned_at: dt.datetime
    expires_at: dt.datetime
    points: int
    left: int


def lifetime(days: int) -> dt.timedelta:
    return dt.timedelta(days=days)


def aware(moment: dt.datetime) -> dt.datetime:
    """``moment`` as an aware datetime (a naive one is taken as UTC, as the store does)."""
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _lot_of(reference: str | None) -> int | None:
    if not reference or not reference.startswith(REFERENCE_PREFIX):
        return None
    tail = reference[len(REFERENCE_PREFIX) :]
    return int(tail) if tail.isdigit() else None


def replay(entries: Iterable[Mapping[str, Any]], expire_days: int) -> list[Lot]:
    """The lots of one customer's ledger ``entries`` (any order), with what is left of each.

    Entries are taken by ``occurred_at``, then ``id``. A positive entry opens a lot; an
    ``expire`` entry naming a lot consumes that lot (and, should it exceed what is left,
    the oldest lots for the rest); any other negative entry consumes the oldest lots.
    """
    life = lifetime(expire_days)
    ordered = sorted(entries, key=lambda e: (e["occurred_at"], e["id"]))
    lots: list[Lot] = []
    by_id: dict[int, Lot] = {}
    open_lots: deque[Lot] = deque()
    debt = 0
    for entry in ordered:
        points = int(entry["points"])
        if points > 0:
            paid = min(debt, points)
            debt -= paid
            lot = Lot(
                entry_id=int(entry["id"]),
                earned_at=entry["occurred_at"],
                expires_at=entry["occurred_at"] + life,
                points=points,
                left=points - paid,
            )
            lots.append(lot)
            by_id[lot.entry_id] = lot
            if lot.left:
                open_lots.append(lot)
            continue
        owed = -points
        if entry["reason"] == LoyaltyReason.EXPIRE:
            named = by_id.get(_lot_of(entry.get("reference")) or -1)
            if named is not None:
                taken = min(owed, named.left)
                named.left -= taken
                owed -= taken
        while owed and open_lots:
            head = open_lots[0]
            if head.left == 0:
                open_lots.popleft()
                continue
            taken = min(owed, head.left)
            head.left -= taken
            owed -= taken
        debt += owed
    return lots


def expiring(
    entries: Iterable[Mapping[str, Any]], expire_days: int, *, after: dt.datetime
) -> list[tuple[dt.datetime, int]]:
    """What expires when: ``(expires_at, points)`` of each lot with points left that
    expires after ``after``, soonest first (lots expiring at the same moment summed)."""
    due: dict[dt.datetime, int] = {}
    for lot in replay(entries, expire_days):
        if lot.left and lot.expires_at > after:
            due[lot.expires_at] = due.get(lot.expires_at, 0) + lot.left
    return sorted(due.items())


def due_expiries(
    entries: Iterable[Mapping[str, Any]], expire_days: int, *, at: dt.datetime
) -> list[Lot]:
    """The lots of one ledger past their expiry at ``at`` with points left."""
    return [lot for lot in replay(entries, expire_days) if lot.left and lot.expires_at <= at]


@dataclass(frozen=True)
class ExpiryRun:
    """What :func:`post_expiries` did (or, dry, would do)."""

    at: dt.datetime
    customers: int
    entries: int
    points: int
    dry_run: bool


def _entries(session: Session, customer_ids: Sequence[int]) -> dict[int, list[dict[str, Any]]]:
    ledger = schema.loyalty_ledger
    rows = session.execute(
        sa.select(
            ledger.c.id,
            ledger.c.customer_id,
            ledger.c.points,
            ledger.c.reason,
            ledger.c.reference,
            ledger.c.occurred_at,
        ).where(ledger.c.customer_id.in_(customer_ids))
    ).mappings()
    out: dict[int, list[dict[str, Any]]] = {c: [] for c in customer_ids}
    for row in rows:
        out[row["customer_id"]].append(dict(row))
    return out


def candidates(session: Session, *, expire_days: int, at: dt.datetime) -> list[int]:
    """Customers with a lot old enough to have expired at ``at`` (whether or not points
    are left in it), by id."""
    ledger = schema.loyalty_ledger
    cutoff = at - lifetime(expire_days)
    stmt = (
        sa.select(ledger.c.customer_id)
        .where(ledger.c.points > 0, ledger.c.occurred_at <= cutoff)
        .distinct()
        .order_by(ledger.c.customer_id)
    )
    return list(session.execute(stmt).scalars())


def post_batch(
    session: Session, customer_ids: Sequence[int], *, expire_days: int, at: dt.datetime
) -> tuple[int, int, int]:
    """Post the due expiries of ``customer_ids`` in the session's transaction, which must
    not have read the ledger yet; returns (customers, entries, points)."""
    at = aware(at)
    lock_customers(session=session, customer_ids=customer_ids)
    rows: list[dict[str, Any]] = []
    customers = 0
    for customer_id, entries in _entries(session, customer_ids).items():
        lots = due_expiries(entries, expire_days, at=at)
        customers += bool(lots)
        rows.extend(
            {
                "customer_id": customer_id,
                "points": -lot.left,
                "reason": LoyaltyReason.EXPIRE,
                "reference": f"{REFERENCE_PREFIX}{lot.entry_id}",
                "occurred_at": lot.expires_at,
            }
            for lot in lots
        )
    if rows:
        session.execute(sa.insert(schema.loyalty_ledger), rows)
    return customers, len(rows), -sum(r["points"] for r in rows)


def post_expiries(
    sessions: Callable[[], AbstractContextManager[Session]],
    *,
    expire_days: int,
    at: dt.datetime,
    dry_run: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> ExpiryRun:
    """Post every lot's expiry due at ``at``, :data:`BATCH_CUSTOMERS` customers per
    transaction.

    ``sessions`` is a callable returning a context manager of a writing session
    (``lambda: session_scope(engine, writing=True)``): each batch commits on its own, so a
    long run holds the write lock briefly and a failure keeps what earlier batches posted
    (running again resumes: nothing is posted twice). With ``dry_run`` nothing is written
    and the figures are what would be posted. ``progress(done, total)`` is called after
    each batch.
    """
    at = aware(at)
    with sessions() as session:
        ids = candidates(session, expire_days=expire_days, at=at)
    customers = entries = points = 0
    done = 0
    for start in range(0, len(ids), BATCH_CUSTOMERS):
        batch = ids[start : start + BATCH_CUSTOMERS]
        with sessions() as session:
            if dry_run:
                for ledger in _entries(session, batch).values():
                    lots = due_expiries(ledger, expire_days, at=at)
                    customers += bool(lots)
                    entries += len(lots)
                    points += sum(lot.left for lot in lots)
            else:
                c, e, p = post_batch(session, batch, expire_days=expire_days, at=at)
                customers, entries, points = customers + c, entries + e, points + p
        done += len(batch)
        if progress is not None:
            progress(done, len(ids))
    return ExpiryRun(at=at, customers=customers, entries=entries, points=points, dry_run=dry_run)


def customer_expiring(
    session: Session, *, customer_id: int, expire_days: int, after: dt.datetime
) -> list[tuple[dt.datetime, int]]:
    """What one customer's points expire when, after ``after`` (see :func:`expiring`)."""
    entries = _entries(session, [customer_id])[customer_id]
    return expiring(entries, expire_days, after=aware(after))
