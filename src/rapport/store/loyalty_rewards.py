"""The rewards catalogue and redemption with voucher codes.

A reward (``loyalty_rewards``) is a coupon, a gift or a discount with a price in points and a
stock (``NULL``: unlimited). Redeeming one (:func:`redeem`) is one transaction: the customer's
ledger is locked, the reward must be active and in stock, a ``redeem`` entry of minus its
price is appended (refused when the points available do not cover it, as every spend), the
stock goes down by one in the same statement that checks it (so two customers racing for the
last one cannot both get it), and a voucher with a random code is issued. A voucher is used
once (:func:`use_voucher`).
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from rapport.domain import LoyaltyReason
from rapport.errors import Conflict
from rapport.store import schema
from rapport.store.db import rowcount
from rapport.store.loyalty import append, lock_customer
from rapport.store.repository import Repository, Row

repo = Repository(schema.loyalty_rewards, entity="reward", key="code")
vouchers = Repository(schema.loyalty_vouchers, entity="voucher", key="code")

#: Voucher codes: "RV-" and 12 characters of an alphabet without look-alikes (0/O, 1/I/L).
ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 12


def voucher_code() -> str:
    body = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
    return f"RV-{body[:4]}-{body[4:8]}-{body[8:]}"


def reward(*, session: Session, code: str) -> Row:
    """The reward of ``code``; :class:`NotFound` naming the code."""
    return repo.get_by_key(session=session, key=code)


def reward_by_id(*, session: Session, reward_id: int) -> Row:
    return repo.get(session=session, id=reward_id)


def voucher(*, session: Session, code: str) -> Row:
    """The voucher of ``code``; :class:`NotFound` naming the code."""
    return vouchers.get_by_key(session=session, key=code)


def catalogue(*, session: Session, active_only: bool = False) -> list[Row]:
    """The rewards by price, then code."""
    r = schema.loyalty_rewards.c
    stmt = sa.select(schema.loyalty_rewards).order_by(r.points, r.code)
    if active_only:
        stmt = stmt.where(r.active.is_(True))
    return [dict(row) for row in session.execute(stmt).mappings()]


def save(*, session: Session, values: Mapping[str, Any]) -> Row:
    """Create the reward of ``values["code"]`` or change it (validated by the column
    rules: a positive price, a stock of 0 or more)."""
    _, row = repo.upsert(session=session, values=dict(values))
    return row


def redeem(
    *,
    session: Session,
    customer_id: int,
    code: str,
    at: dt.datetime,
    created_by: int | None = None,
) -> Row:
    """Spend a reward's price and issue its voucher; returns the voucher with ``reward``
    (the catalogue row) and ``entry`` (the ledger entry)."""
    lock_customer(session=session, customer_id=customer_id)
    item = reward(session=session, code=code)
    if not item["active"]:
        raise Conflict(
            "reward {code!r} is not offered any more",
            table="loyalty_rewards",
            field="active",
            value=code,
            key="reward_inactive",
            params={"code": code},
        )
    r = schema.loyalty_rewards.c
    if item["stock"] is not None:
        taken = session.execute(
            sa.update(schema.loyalty_rewards)
            .where(r.id == item["id"], r.stock > 0)
            .values(stock=r.stock - 1)
        )
        if rowcount(taken) != 1:
            raise Conflict(
                "reward {code!r} is out of stock",
                table="loyalty_rewards",
                field="stock",
                value=code,
                hint="choose another reward, or raise its stock",
                key="reward_out_of_stock",
                params={"code": code},
            )
    entry = append(
        session=session,
        values={
            "customer_id": customer_id,
            "points": -item["points"],
            "reason": LoyaltyReason.REDEEM,
            "reference": f"reward:{code}",
            "occurred_at": at,
            "created_by": created_by,
        },
    )
    voucher = vouchers.create(
        session=session,
        values={
            "code": voucher_code(),
            "reward_id": item["id"],
            "customer_id": customer_id,
            "ledger_id": entry["id"],
            "issued_at": at,
        },
    )
    return {**voucher, "reward": item, "entry": entry}


def use_voucher(*, session: Session, code: str, at: dt.datetime) -> Row:
    """Mark a voucher used; :class:`Conflict` when it was used already (and when)."""
    v = schema.loyalty_vouchers.c
    done = session.execute(
        sa.update(schema.loyalty_vouchers)
        .where(v.code == code, v.used_at.is_(None))
        .values(used_at=at)
    )
    row = voucher(session=session, code=code)
    if rowcount(done) != 1:
        raise Conflict(
            "voucher {code!r} was used on {used}",
            table="loyalty_vouchers",
            field="used_at",
            value=code,
            key="voucher_used",
            params={"code": code, "used": row["used_at"]},
        )
    return dict(row)


def voucher_counts(*, session: Session, since: dt.datetime, until: dt.datetime) -> Row:
    """Vouchers issued and used before ``until`` (``issued``, ``used``) and within
    ``[since, until)`` (``issued_window``, ``used_window``)."""
    v = schema.loyalty_vouchers.c

    def count(column: Any, *, start: dt.datetime | None = None) -> Any:
        condition = column < until if start is None else (column >= start) & (column < until)
        return sa.func.count().filter(condition)

    row = session.execute(
        sa.select(
            count(v.issued_at).label("issued"),
            count(v.used_at).label("used"),
            count(v.issued_at, start=since).label("issued_window"),
            count(v.used_at, start=since).label("used_window"),
        )
    ).one()
    return {key: int(value) for key, value in row._mapping.items()}


def customer_vouchers(*, session: Session, customer_id: int, limit: int = 20) -> list[Row]:
    """The customer's vouchers, newest first (at most ``limit``), each with its reward's
    ``reward_code``, ``name_zh``, ``name_en``, ``kind`` and ``points``."""
    v = schema.loyalty_vouchers.c
    r = schema.loyalty_rewards.c
    stmt = (
        sa.select(
            schema.loyalty_vouchers,
            r.code.label("reward_code"),
            r.name_zh,
            r.name_en,
            r.kind,
            r.points,
        )
        .join(schema.loyalty_rewards, r.id == v.reward_id)
        .where(v.customer_id == customer_id)
        .order_by(v.issued_at.desc(), v.id.desc())
        .limit(limit)
    )
    return [dict(row) for row in session.execute(stmt).mappings()]


def customer_voucher_counts(*, session: Session, customer_id: int) -> Row:
    """How many vouchers the customer was issued (``issued``) and has used (``used``)."""
    v = schema.loyalty_vouchers.c
    row = session.execute(
        sa.select(
            sa.func.count().label("issued"),
            sa.func.count(v.used_at).label("used"),
        ).where(v.customer_id == customer_id)
    ).one()
    return {"issued": int(row.issued), "used": int(row.used)}
