"""The rewards catalogue and vouchers: ``/loyalty/rewards``, a redemption for a customer,
and a voucher used at the till (docs/loyalty.md).

A redemption locks the customer's ledger first (as every ledger write,
:func:`rapport.store.loyalty.lock_customer`) and is scoped like the customer: outside the
caller's scope it is a 404 like a missing customer. The price is spent and the voucher issued
in the request's one transaction (:func:`rapport.store.loyalty_rewards.redeem`): 409 when the
points available do not cover it, the reward is out of stock or no longer offered.

=============================================  ==============================  ===============
route                                          roles                           scope
=============================================  ==============================  ===============
GET /loyalty/rewards                           all                             loyalty:read
PUT /loyalty/rewards/{code}                    admin, manager                  loyalty:write
POST /customers/{id}/loyalty/vouchers          admin, manager, sales (scoped)  loyalty:write
POST /loyalty/vouchers/{code}/use              admin, manager, sales, service  loyalty:write
=============================================  ==============================  ===============
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path

from rapport.access import WRITERS
from rapport.api.audit import AuditorDep
from rapport.api.deps import (
    CurrentUser,
    CustomerScopeDep,
    SessionDep,
    require_role,
    require_scope,
)
from rapport.api.errors import COMMON_RESPONSES, CONFLICT_RESPONSE, NOT_FOUND_RESPONSE
from rapport.api.schemas.loyalty_rewards import (
    RedeemReward,
    RewardPublic,
    RewardWrite,
    VoucherPublic,
)
from rapport.domain import AuditAction, Role
from rapport.store import loyalty, loyalty_rewards
from rapport.store.repository import utcnow

router = APIRouter(tags=["loyalty"])

Code = Annotated[str, Path(min_length=1, max_length=32, description="The code.")]
CustomerId = Annotated[int, Path(ge=1, description="The customer's id.")]
READ = [Depends(require_scope("loyalty:read"))]
CATALOGUE = [
    Depends(require_scope("loyalty:write")),
    Depends(require_role(Role.ADMIN, Role.MANAGER)),
]
REDEEM = [
    Depends(require_scope("loyalty:write")),
    Depends(require_role(*WRITERS["redemptions"])),
]
USE = [
    Depends(require_scope("loyalty:write")),
    Depends(require_role(*WRITERS["vouchers"])),
]


def _voucher(row: dict[str, Any], reward: dict[str, Any], balance: int | None) -> VoucherPublic:
    return VoucherPublic(
        code=row["code"],
        reward=reward["code"],
        customer_id=row["customer_id"],
        points=reward["points"],
        issued_at=row["issued_at"],
        used_at=row["used_at"],
        balance=balance,
    )


@router.get(
    "/loyalty/rewards",
    response_model=list[RewardPublic],
    dependencies=READ,
    responses=COMMON_RESPONSES,
)
def list_rewards(session: SessionDep, active: bool = False) -> list[RewardPublic]:
    """The catalogue by price (``active=true``: only what is offered)."""
    rows = loyalty_rewards.catalogue(session=session, active_only=active)
    return [RewardPublic.model_validate(r) for r in rows]


@router.put(
    "/loyalty/rewards/{code}",
    response_model=RewardPublic,
    dependencies=CATALOGUE,
    responses=COMMON_RESPONSES,
)
def save_reward(
    code: Code, body: RewardWrite, session: SessionDep, auditor: AuditorDep
) -> RewardPublic:
    """Create the reward of ``code`` or replace its fields (idempotent)."""
    row = loyalty_rewards.save(
        session=session, values={"code": code, **body.model_dump(mode="json")}
    )
    auditor.wrote(AuditAction.UPDATE, "loyalty_rewards", row["id"], body.model_fields_set)
    return RewardPublic.model_validate(row)


@router.post(
    "/customers/{customer_id}/loyalty/vouchers",
    response_model=VoucherPublic,
    status_code=201,
    dependencies=REDEEM,
    responses={**COMMON_RESPONSES, **NOT_FOUND_RESPONSE, **CONFLICT_RESPONSE},
)
def redeem_reward(
    customer_id: CustomerId,
    body: RedeemReward,
    session: SessionDep,
    scope: CustomerScopeDep,
    user: CurrentUser,
    auditor: AuditorDep,
) -> VoucherPublic:
    """Spend a reward's price for the customer and issue its voucher (201)."""
    loyalty.lock_customer(session=session, customer_id=customer_id)
    scope.get(session=session, id=customer_id)
    voucher = loyalty_rewards.redeem(
        session=session,
        customer_id=customer_id,
        code=body.reward,
        at=utcnow(),
        created_by=user.user_id,
    )
    auditor.record(
        AuditAction.CREATE,
        "loyalty_vouchers",
        voucher["id"],
        {"customer_id": customer_id, "reward": body.reward, "points": voucher["reward"]["points"]},
    )
    balance = loyalty.balance(session=session, customer_id=customer_id)
    return _voucher(voucher, voucher["reward"], balance)


@router.post(
    "/loyalty/vouchers/{code}/use",
    response_model=VoucherPublic,
    dependencies=USE,
    responses={**COMMON_RESPONSES, **NOT_FOUND_RESPONSE, **CONFLICT_RESPONSE},
)
def use_voucher(
    code: Code, session: SessionDep, scope: CustomerScopeDep, auditor: AuditorDep
) -> VoucherPublic:
    """Mark a voucher used (once: 409 with the time of its first use). A voucher of a
    customer outside the caller's scope is a 404 like a missing one."""
    found = loyalty_rewards.voucher(session=session, code=code)
    scope.get(session=session, id=found["customer_id"])
    row = loyalty_rewards.use_voucher(session=session, code=code, at=utcnow())
    auditor.record(AuditAction.UPDATE, "loyalty_vouchers", row["id"], {"used": True})
    reward = loyalty_rewards.reward_by_id(session=session, reward_id=row["reward_id"])
    return _voucher(row, reward, None)
