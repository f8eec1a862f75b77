"""Orders and their items: written together or not at all."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from rapport.errors import ValidationFailed
from rapport.store import orders
from rapport.store.schema import order_items

from .factories import customer, order_values, product


def _item(product_id: int, **values: Any) -> dict[str, Any]:
    return {
        "product_id": product_id,
        "quantity": 2,
        "unit_price": Decimal("88.00"),
        "net_amount": Decimal("176.00"),
        **values,
    }


def _item_count(session: Session) -> int:
    return session.execute(sa.select(sa.func.count()).select_from(order_items)).scalar_one()


def test_create_with_items_numbers_the_lines(session: Session) -> None:
    c = customer(session)
    tea, cup = product(session), product(session, name="紫砂杯")
    created = orders.create(
        session=session,
        values=order_values(c["id"], net_amount=Decimal("264.00")),
        items=[_item(tea["id"]), _item(cup["id"], quantity=1, net_amount=Decimal("88.00"))],
    )
    assert [i["line_no"] for i in created["items"]] == [1, 2]
    assert all(i["order_id"] == created["id"] for i in created["items"])
    stored = orders.items(session=session, order_id=created["id"])
    assert [(i["product_id"], i["quantity"], i["net_amount"]) for i in stored] == [
        (tea["id"], 2, Decimal("176.00")),
        (cup["id"], 1, Decimal("88.00")),
    ]
    assert orders.repo.get(session=session, id=created["id"])["net_amount"] == Decimal("264.00")


def test_given_line_numbers_are_kept_and_items_come_back_in_line_order(session: Session) -> None:
    c = customer(session)
    p = product(session)
    created = orders.create(
        session=session,
        values=order_values(c["id"]),
        items=[_item(p["id"], line_no=20), _item(p["id"], line_no=10)],
    )
    stored = orders.items(session=session, order_id=created["id"])
    assert [i["line_no"] for i in stored] == [10, 20]


def test_order_without_items(session: Session) -> None:
    c = customer(session)
    created = orders.create(session=session, values=order_values(c["id"]))
    assert created["items"] == []
    assert orders.items(session=session, order_id=created["id"]) == []


def test_failing_second_item_leaves_no_order_and_no_items(session: Session) -> None:
    c = customer(session)
    p = product(session)
    kept = orders.create(session=session, values=order_values(c["id"]), items=[_item(p["id"])])
    order_count, item_count = orders.repo.count(session=session), _item_count(session)
    values = order_values(c["id"])

    with pytest.raises(ValidationFailed) as info:
        orders.create(session=session, values=values, items=[_item(p["id"]), _item(987654)])
    assert info.value.location == "order_items.product_id"
    assert info.value.value == 987654

    assert orders.repo.count(session=session) == order_count
    assert _item_count(session) == item_count
    assert orders.repo.find(session=session, key=values["external_id"]) is None
    # The surrounding session goes on: earlier work is intact and new work lands.
    assert len(orders.items(session=session, order_id=kept["id"])) == 1
    again = orders.create(session=session, values=values, items=[_item(p["id"])])
    assert again["external_id"] == values["external_id"]
    assert len(orders.items(session=session, order_id=again["id"])) == 1


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        ({"quantity": 0}, "quantity"),
        ({"unit_price": Decimal("-1.00")}, "unit_price"),
        ({"net_amount": None}, "net_amount"),
        ({"line_no": 0}, "line_no"),
    ],
)
def test_invalid_later_item_rolls_back_the_whole_order(
    session: Session, bad: dict[str, Any], field: str
) -> None:
    c = customer(session)
    p = product(session)
    order_count, item_count = orders.repo.count(session=session), _item_count(session)
    with pytest.raises(ValidationFailed) as info:
        orders.create(
            session=session,
            values=order_values(c["id"]),
            items=[_item(p["id"], line_no=1), _item(p["id"], line_no=2), _item(p["id"], **bad)],
        )
    assert info.value.location == f"order_items.{field}"
    assert (orders.repo.count(session=session), _item_count(session)) == (order_count, item_count)


def test_invalid_order_writes_no_items(session: Session) -> None:
    p = product(session)
    item_count = _item_count(session)
    with pytest.raises(ValidationFailed) as info:
        orders.create(session=session, values=order_values(987654), items=[_item(p["id"])])
    assert info.value.location == "orders.customer_id"
    assert _item_count(session) == item_count


def test_deleting_an_order_deletes_its_items(session: Session) -> None:
    c = customer(session)
    p = product(session)
    created = orders.create(
        session=session, values=order_values(c["id"]), items=[_item(p["id"]), _item(p["id"])]
    )
    orders.repo.delete(session=session, id=created["id"])
    assert orders.items(session=session, order_id=created["id"]) == []


def test_orders_of_a_customer_are_listed_by_filter(session: Session) -> None:
    a, b = customer(session), customer(session)
    mine = [orders.create(session=session, values=order_values(a["id"]))["id"] for _ in range(3)]
    orders.create(session=session, values=order_values(b["id"]))
    listed = orders.repo.list(session=session, filters={"customer_id": a["id"]})
    assert [o["id"] for o in listed] == mine
    assert orders.repo.count(session=session, filters={"customer_id": a["id"]}) == 3
