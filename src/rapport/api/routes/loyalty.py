"""``/customers/{id}/loyalty``: the points balance, programme tier and ledger of a customer,
and the earn and redeem writes.

Row-level access is the customer's (:class:`~rapport.api.deps.CustomerScope`): a customer
outside the caller's scope is a 404 like a missing one. An entry's ``reference`` may name a
person (a phone, a member number, a gift's recipient), so analysts see it masked
(:func:`rapport.api.masking.mask_reference`: ``order:SO123`` → ``order:S***3``); points,
reasons and times are shown as they are.

Concurrency: a write runs in the request's one transaction, begun as a writer and committed
before the answer (:data:`~rapport.api.deps.SessionDep`). It locks the customer first
(:func:`rapport.store.loyalty.lock_customer`: PostgreSQL ``SELECT … FOR UPDATE`` on the
customer row; SQLite already holds the database write lock) and only then reads the
balance, in the transaction that inserts the entry.
Concurrent redeems of one customer are therefore serialized: the balance never goes
negative, no write is lost, and a redeem the balance cannot cover is a 409 that names the
balance and the points asked.

=============================================  ==========================  ==============
route                                          roles                       scope
=============================================  ==========================  ==============
GET /customers/{id}/loyalty                    all (scoped)                loyalty:read
POST /customers/{id}/loyalty/earn, /redeem     admin, manager, sales       loyalty:write
=============================================  ==========================  ==============
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Annotated

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Path
from sqlalchemy.orm import Session

from rapport.api.audit import Auditor, AuditorDep
from rapport.api.deps import (
    CustomerScope,
    CustomerScopeDep,
    RulesDep,
    SessionDep,
    SettingsDep,
    require_role,
    require_scope,
)
from rapport.api.errors import COMMON_RESPONSES, CONFLICT_RESPONSE, NOT_FOUND_RESPONSE
from rapport.api.masking import mask_ledger_entry
from rapport.api.pagination import PageDep, paginate
from rapport.api.schemas.loyalty import (
    EarnRequest,
    ExpiringPoints,
    LedgerEntry,
    LedgerPage,
    LoyaltyEntryResult,
    LoyaltyPublic,
    ProgrammeTier,
    RedeemRequest,
)
from rapport.config import Rules, Settings
from rapport.domain import AuditAction, LoyaltyReason, Role
from rapport.store import loyalty, loyalty_expiry, loyalty_tiers, schema
from rapport.store.repository import Row, utcnow

router = APIRouter(prefix="/customers/{customer_id}/loyalty", tags=["loyalty"])

ENTITY = "loyalty_ledger"
CustomerId = Annotated[int, Path(ge=1, description="The customer's id.")]
READ = [Depends(require_scope("loyalty:read"))]
WRITE = [
    Depends(require_scope("loyalty:write")),
    Depends(require_role(Role.ADMIN, Role.MANAGER, Role.SALES)),
]
_l = schema.loyalty_ledger.c
#: Every lot with points left is listed, those past their expiry too (the next expiry run
#: takes them).
EVER = dt.datetime.min.replace(tzinfo=dt.UTC)


def _entry(row: Row, scope: CustomerScope) -> LedgerEntry:
    """A ledger entry as the caller may see it (``reference`` masked for analysts)."""
    return LedgerEntry.model_validate(mask_ledger_entry(row) if scope.masked else row)


def _programme(
    session: Session, customer_id: int, rules: Rules, settings: Settings
) -> ProgrammeTier | None:
    """The customer's programme tier (:func:`rapport.store.loyalty_tiers.tier_card`)."""
    card = loyalty_tiers.tier_card(
        session, customer_id=customer_id, rules=rules, at=utcnow(), tz=settings.tz
    )
    return None if card is None else ProgrammeTier.model_validate(card)


@router.get(
    "",
    response_model=LoyaltyPublic,
    dependencies=READ,
    responses={**COMMON_RESPONSES, **NOT_FOUND_RESPONSE},
)
def get_loyalty(
    customer_id: CustomerId,
    session: SessionDep,
    scope: CustomerScopeDep,
    rules: RulesDep,
    settings: SettingsDep,
    page: PageDep,
) -> LoyaltyPublic:
    """Balance, the programme tier (since when, the next review, a grace running, the basis
    over the window, what is missing for the next tier, the benefits), what expires when,
    and a page of the ledger in id order (follow ``ledger.next_cursor``)."""
    scope.get(session=session, id=customer_id)
    points = loyalty.balance(session=session, customer_id=customer_id)
    expiring = loyalty_expiry.customer_expiring(
        session,
        customer_id=customer_id,
        expire_days=rules.loyalty.points_expire_days,
        after=EVER,
    )
    stmt = sa.select(schema.loyalty_ledger).where(_l.customer_id == customer_id)
    ledger = paginate(session, stmt, page, key=_l.id)
    programme = _programme(session, customer_id, rules, settings)
    missing = None
    if programme and programme.to_next_tier is not None and programme.basis == "points":
        missing = int(programme.to_next_tier)
    return LoyaltyPublic(
        customer_id=customer_id,
        balance=points,
        tier=programme.tier if programme else None,
        next_tier=programme.next_tier if programme else None,
        points_to_next_tier=missing,
        programme=programme,
        expiring=[ExpiringPoints(expires_at=at, points=n) for at, n in expiring],
        ledger=ledger.as_page(LedgerPage, lambda r: _entry(r, scope)),
    )


@dataclass(frozen=True)
class _Writing:
    """What a write of the ledger needs of the request."""

    session: Session
    scope: CustomerScope
    auditor: Auditor
    rules: Rules
    settings: Settings


def _writing(
    session: SessionDep,
    scope: CustomerScopeDep,
    auditor: AuditorDep,
    rules: RulesDep,
    settings: SettingsDep,
) -> _Writing:
    return _Writing(session, scope, auditor, rules, settings)


WritingDep = Annotated[_Writing, Depends(_writing)]


def _write(
    w: _Writing,
    customer_id: int,
    points: int,
    reason: LoyaltyReason,
    body: EarnRequest | RedeemRequest,
) -> LoyaltyEntryResult:
    session, rules, settings = w.session, w.rules, w.settings
    loyalty.lock_customer(session=session, customer_id=customer_id)
    w.scope.get(session=session, id=customer_id)
    values = {
        "customer_id": customer_id,
        "points": points,
        "reason": reason,
        "reference": body.reference,
        "occurred_at": body.occurred_at or utcnow(),
        "external_id": body.external_id,
        "created_by": w.scope.principal.user_id,
    }
    entry: Row = loyalty.append(session=session, values=values)
    after = loyalty.balance(session=session, customer_id=customer_id)
    # points earned may lift the tier at once (tier_basis = points); the ledger is locked
    loyalty_tiers.evaluate_customers(
        session, [customer_id], rules=rules, at=utcnow(), tz=settings.tz, lock=False
    )
    w.auditor.record(
        AuditAction.CREATE,
        ENTITY,
        entry["id"],
        {"customer_id": customer_id, "points": points, "reason": str(reason)},
    )
    programme = _programme(session, customer_id, rules, settings)
    return LoyaltyEntryResult(
        entry=_entry(entry, w.scope), balance=after, tier=programme.tier if programme else None
    )


@router.post(
    "/earn",
    response_model=LoyaltyEntryResult,
    status_code=201,
    dependencies=WRITE,
    responses={**COMMON_RESPONSES, **NOT_FOUND_RESPONSE, **CONFLICT_RESPONSE},
)
def earn_points(customer_id: CustomerId, body: EarnRequest, w: WritingDep) -> LoyaltyEntryResult:
    """Add points (201 with the entry and the new balance); 409 when ``external_id`` was
    used before."""
    return _write(w, customer_id, body.points, LoyaltyReason(body.reason.value), body)


@router.post(
    "/redeem",
    response_model=LoyaltyEntryResult,
    status_code=201,
    dependencies=WRITE,
    responses={**COMMON_RESPONSES, **NOT_FOUND_RESPONSE, **CONFLICT_RESPONSE},
)
def redeem_points(
    customer_id: CustomerId, body: RedeemRequest, w: WritingDep
) -> LoyaltyEntryResult:
    """Spend points (201 with the entry and the new balance). 409 when the balance is
    smaller than ``points`` (the message names both) — nothing is written then."""
    return _write(w, customer_id, -body.points, LoyaltyReason.REDEEM, body)
