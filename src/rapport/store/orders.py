"""Orders with their items, written together or not at all."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from rapport.store import schema
from rapport.store.repository import Repository, Row

repo = Repository(schema.orders, entity="order")
items_repo = Repository(schema.order_items, entity="order item", key=None)


def create(
    *,
    session: Session,
    values: Mapping[str, Any],
    items: Sequence[Mapping[str, Any]] = (),
) -> Row:
    """Create an order and its items in one savepoint; returns the order with ``items``.

    Items without ``line_no`` are numbered 1, 2, … in the given order.
    """
    with repo.writing(session):
        order = repo.create(session=session, values=values)
        written = [
            items_repo.create(
                session=session,
                values={"line_no": n, **item, "order_id": order["id"]},
            )
            for n, item in enumerate(items, start=1)
        ]
    return {**order, "items": written}


def items(*, session: Session, order_id: int) -> list[Row]:
    stmt = (
        sa.select(schema.order_items)
        .where(schema.order_items.c.order_id == order_id)
        .order_by(schema.order_items.c.line_no)
    )
    return [dict(r) for r in session.execute(stmt).mappings()]
