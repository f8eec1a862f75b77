"""What the database refuses, in the locale: a duplicate key, a CHECK constraint and the
loyalty ledger's append-only trigger become domain errors whose Chinese text names the
table and column, on SQLite and PostgreSQL alike; the English message stays as the API
shows it."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from rapport.domain import LoyaltyReason
from rapport.errors import Conflict, RapportError, ValidationFailed
from rapport.i18n.errors import error_text
from rapport.store import customers, loyalty, orders
from tests.i18n.test_cli_locale import CJK
from tests.store.factories import customer, order_values


def _chinese(error: RapportError) -> str:
    text = error_text(error, "zh_CN")
    assert CJK.search(text) and text != str(error), text
    return text


def test_a_duplicate_found_by_the_database(session: Session) -> None:
    a, b = customer(session), customer(session)
    t = customers.repo.table
    change = {"external_id": a["external_id"]}
    try:
        with customers.repo.writing(session, change):
            session.execute(sa.update(t).where(t.c.id == b["id"]).values(**change))
    except Conflict as error:
        assert _chinese(error) == (
            f"customers.external_id = {a['external_id']!r}：已存在 — "
            "external_id 在 customers 中必须唯一"
        )
        assert str(error) == (
            f"customers.external_id = {a['external_id']!r}: already exists — "
            "external_id must be unique in customers"
        )
    else:
        raise AssertionError("the duplicate was written")


def test_a_check_constraint_of_the_database(session: Session) -> None:
    o = orders.repo.create(session=session, values=order_values(customer(session)["id"]))
    t = orders.repo.table
    try:
        with orders.repo.writing(session):
            session.execute(sa.update(t).where(t.c.id == o["id"]).values(net_amount=-1))
    except ValidationFailed as error:
        assert _chinese(error).startswith("orders：数据库的检查约束拒绝了这个值（"), error
        assert str(error).startswith("orders: ")
    else:
        raise AssertionError("the negative amount was written")


def test_the_ledgers_append_only_rule(session: Session) -> None:
    c = customer(session)
    row = loyalty.append(
        session=session,
        values={
            "customer_id": c["id"],
            "points": 10,
            "reason": LoyaltyReason.PURCHASE,
            "occurred_at": c["created_at"],
        },
    )
    try:
        loyalty.repo.update(session=session, id=row["id"], values={"points": 1000})
    except Conflict as error:
        assert _chinese(error) == "积分流水只能追加：请添加一条更正记录"
        assert str(error) == "loyalty_ledger is append-only: add a correcting entry instead"
    else:
        raise AssertionError("the ledger entry was changed")
