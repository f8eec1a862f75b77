"""``table_changes`` (migration 0021) counts each copied table's rows updated or deleted on
SQLite, and :func:`rapport.store.table_changes.marks` reads what a kept copy is checked
against: the count, the store's key for the table, the highest id and the digests of rows.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from rapport.analytics.working_copy import READ
from rapport.store import schema, table_changes
from rapport.store.db import create_engine, upgrade

from .factories import customer, order, product

COPIED = {"orders": ("id", "customer_id", "status", "net_amount"), "customers": ("id",)}


def _changes(session: Session) -> dict[str, int]:
    c = schema.table_changes.c
    return dict(session.execute(sa.select(c.table_name, c.changes)).tuples().all())


def test_every_copied_table_has_a_row_with_a_key_of_its_own(session: Session) -> None:
    c = schema.table_changes.c
    rows = session.execute(sa.select(c.table_name, c.changes, c.since)).all()
    assert {r.table_name for r in rows} == set(READ)
    assert all(r.changes == 0 and len(r.since) == 32 for r in rows)
    assert len({r.since for r in rows}) == len(rows)


def test_updates_and_deletes_are_counted_and_inserts_are_not(session: Session, backend) -> None:
    c = customer(session)
    p = product(session)
    first, second = order(session, c["id"]), order(session, c["id"])
    session.execute(
        sa.insert(schema.order_items),
        [
            {
                "order_id": first["id"],
                "line_no": n,
                "product_id": p["id"],
                "quantity": 1,
                "unit_price": 1,
                "net_amount": 1,
            }
            for n in (1, 2, 3)
        ],
    )
    assert _changes(session)["orders"] == 0
    session.execute(
        sa.update(schema.orders)
        .where(schema.orders.c.customer_id == c["id"])
        .values(net_amount=schema.orders.c.net_amount + 1)
    )
    session.execute(sa.delete(schema.orders).where(schema.orders.c.id == first["id"]))
    got = _changes(session)
    if backend == "postgres":  # no triggers: PostgreSQL's copy is always made whole
        assert set(got.values()) == {0}
        return
    # two rows updated, one deleted; its three items gone with it by the cascade
    assert got["orders"] == 3 and got["order_items"] == 3
    assert got["customers"] == got["events"] == 0
    assert second["id"] > first["id"]


def test_marks_give_the_highest_id_and_its_row_and_the_row_copied_before(
    session: Session, backend
) -> None:
    c = customer(session)
    first, second = order(session, c["id"]), order(session, c["id"])
    conn = session.connection()
    marks = table_changes.marks(conn, COPIED, {"orders": first["id"], "customers": None})
    if backend == "postgres":
        assert marks == {}
        return
    mark = marks["orders"]
    assert mark.top == second["id"] and mark.changes == 0
    assert mark.top_digest != mark.copied_digest is not None
    # the digest is of the copied columns' values: the same row gives the same digest
    again = table_changes.marks(conn, COPIED, {"orders": second["id"]})["orders"]
    assert again.copied_digest == mark.top_digest
    session.execute(
        sa.update(schema.orders).where(schema.orders.c.id == second["id"]).values(status="refunded")
    )
    changed = table_changes.marks(conn, COPIED, {"orders": second["id"]})["orders"]
    assert changed.copied_digest != mark.top_digest and changed.changes == 1
    # a row no longer there has no digest; a table without rows no highest id
    session.execute(sa.delete(schema.orders).where(schema.orders.c.id == second["id"]))
    gone = table_changes.marks(conn, COPIED, {"orders": second["id"]})["orders"]
    assert gone.copied_digest is None and gone.top == first["id"]
    assert marks["customers"].copied_digest is None


def test_a_store_migrated_again_gives_each_table_another_key(tmp_path: Path) -> None:
    keys = []
    for name in ("one.db", "two.db"):
        eng = create_engine(f"sqlite:///{tmp_path / name}")
        try:
            upgrade(eng)
            with eng.connect() as conn:
                keys.append(table_changes.marks(conn, COPIED)["orders"].since)
        finally:
            eng.dispose()
    assert keys[0] != keys[1]


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)  # SQLite's triggers alone
def test_every_copied_table_but_the_ledger_has_counting_triggers(session: Session) -> None:
    names = session.execute(
        sa.text("SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE :n"),
        {"n": "%_changes_%"},
    ).scalars()
    on = {name.rsplit("_changes_", 1)[0] for name in names}
    assert on == set(READ) - {"loyalty_ledger"}
