"""The customer list's query on SQLite and PostgreSQL: filters on the latest snapshot,
keyset pages in every sort (ties and customers without a snapshot included), Chinese
search, and the scope."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from rapport.access import CustomerScope, Principal
from rapport.domain import LifecycleStage, Role, ValueTier
from rapport.store import customers, schema, users
from rapport.web.customer_list import (
    MAX_RANGES,
    SORTS,
    CustomerQuery,
    list_customers,
    owners,
)

OLD, NEW = dt.date(2026, 9, 30), dt.date(2026, 10, 31)
NAMES = ["张伟", "王芳", "李娜", "张敏", "Wei Zhang", None, "刘洋", "张伟", "陈静", "杨杰"]


def scope(role: Role, user_id: int = 0) -> CustomerScope:
    return CustomerScope(Principal(user_id=user_id, username="u", role=role, team=None, via="t"))


@pytest.fixture
def book(session: Session) -> dict[str, int]:
    """Ten customers, owned by two sales users or nobody; scores of two snapshots, the
    newest with ties and gaps (customer 10 has none)."""
    ana = users.create_user(session=session, username="ana", role="sales")["id"]
    bo = users.create_user(session=session, username="bo", role="sales")["id"]
    ids = []
    for i, name in enumerate(NAMES):
        row = customers.repo.create(
            session=session,
            values={
                "external_id": f"C{i:03d}",
                "name": name,
                "phone": f"+86138000000{i:02d}",
                "city": "上海市" if i % 2 else "北京市",
                "owner_id": (ana, bo, None)[i % 3],
                "marketing_consent": i % 4 == 0,
            },
        )
        ids.append(row["id"])
    now = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    rows = []
    for i, cid in enumerate(ids[:-1]):
        rows.append(
            {
                "customer_id": cid,
                "as_of": OLD,
                "computed_at": now,
                "relationship_index": None,
                "predicted_clv": None,
                "churn_risk": None,
                "value_tier": ValueTier.BRONZE,
                "lifecycle_stage": None,
                "rfm_segment": None,
            }
        )
        rows.append(
            {
                "customer_id": cid,
                "as_of": NEW,
                "computed_at": now,
                "relationship_index": float(i % 4) * 10,  # ties
                "predicted_clv": None if i == 2 else Decimal(f"{(i % 3) * 100}.50"),
                "churn_risk": round(0.1 * (i % 5), 2),
                "value_tier": ValueTier.GOLD if i < 3 else ValueTier.SILVER,
                "lifecycle_stage": LifecycleStage.ACTIVE if i % 2 else LifecycleStage.NEW,
                "rfm_segment": "champions" if i < 4 else "lost",
            }
        )
    session.execute(sa.insert(schema.customer_scores), rows)
    return {"ana": ana, "bo": bo, **{f"c{i}": cid for i, cid in enumerate(ids)}}


def every_page(session: Session, query: CustomerQuery, who: CustomerScope) -> list[dict]:
    rows, after = [], None
    while True:
        page = list_customers(
            session=session, scope=who, query=CustomerQuery(**{**query.__dict__, "after": after})
        )
        rows.extend(page.rows)
        if page.next_cursor is None:
            return rows
        after = page.next_cursor


@pytest.mark.parametrize("sort", list(SORTS))
def test_keyset_pages_in_every_sort(session: Session, book: dict[str, int], sort: str) -> None:
    rows = every_page(session, CustomerQuery(sort=sort, limit=3), scope(Role.ADMIN))
    assert len(rows) == len({r["id"] for r in rows}) == 10
    if sort == "name":  # in the database's collation, which Python does not know
        return
    descending, _ = SORTS[sort]
    keys = [(r["sort_key"], r["id"]) for r in rows]
    assert keys == sorted(keys, key=lambda k: (-k[0] if descending else k[0], k[1]))


def test_filters_read_the_latest_snapshot(session: Session, book: dict[str, int]) -> None:
    admin = scope(Role.ADMIN)

    def ids(**filters) -> set[int]:
        return {r["id"] for r in every_page(session, CustomerQuery(**filters), admin)}

    assert ids(tier=ValueTier.GOLD) == {book["c0"], book["c1"], book["c2"]}
    assert ids(tier=ValueTier.BRONZE) == set()  # only in the older snapshot
    assert ids(stage=LifecycleStage.ACTIVE, segment="champions") == {book["c1"], book["c3"]}
    assert ids(city="上海市", owner_id=book["ana"]) == {book["c3"], book["c9"]}
    assert ids(unowned=True) == {book[f"c{i}"] for i in (2, 5, 8)}
    assert ids(marketable=True) == {book[f"c{i}"] for i in (0, 4, 8)}
    page = list_customers(session=session, scope=admin, query=CustomerQuery())
    assert page.count == 10 and page.as_of == NEW


def test_search_in_chinese_within_the_scope(session: Session, book: dict[str, int]) -> None:
    found = every_page(session, CustomerQuery(q="张"), scope(Role.ADMIN))
    assert {r["id"] for r in found} == {book[f"c{i}"] for i in (0, 3, 7)}
    assert {r["id"] for r in every_page(session, CustomerQuery(q="c00"), scope(Role.ADMIN))}
    mine = every_page(session, CustomerQuery(q="张"), scope(Role.SALES, book["ana"]))
    assert {r["id"] for r in mine} == {book["c0"], book["c3"]}
    # a sales user naming another owner still gets only their own
    other = every_page(
        session, CustomerQuery(q="张", owner_id=book["bo"]), scope(Role.SALES, book["ana"])
    )
    assert {r["id"] for r in other} <= {book["c0"], book["c3"]}
    assert not every_page(session, CustomerQuery(q="%"), scope(Role.ADMIN))


def test_a_managers_pages_merge_the_unowned_and_each_team_member_in_id_order(
    session: Session, book: dict[str, int]
) -> None:
    """A manager's list reads the unowned customers and each team member's apart and
    merges them: every page in id order, a deleted customer and other teams' left out,
    the filters and the count as the scope's own."""
    mo = users.create_user(session=session, username="mo", role="manager", team="east")["id"]
    u = schema.users.c
    session.execute(sa.update(schema.users).where(u.id == book["ana"]).values(team="east"))
    session.execute(sa.update(schema.users).where(u.id == book["bo"]).values(team="west"))
    c = schema.customers.c
    session.execute(sa.update(schema.customers).where(c.id == book["c1"]).values(owner_id=mo))
    gone = dt.datetime(2026, 11, 2, tzinfo=dt.UTC)
    session.execute(sa.update(schema.customers).where(c.id == book["c3"]).values(deleted_at=gone))
    manager = CustomerScope(Principal(mo, "mo", Role.MANAGER, "east", "t"))

    def ids(**filters: Any) -> list[int]:
        return [r["id"] for r in every_page(session, CustomerQuery(limit=2, **filters), manager)]

    assert ids() == [book[f"c{i}"] for i in (0, 1, 2, 5, 6, 8, 9)]
    assert ids(city="上海市") == [book[f"c{i}"] for i in (1, 5, 9)]
    assert ids(unowned=True) == [book[f"c{i}"] for i in (2, 5, 8)]
    assert ids(owner_id=book["bo"]) == []
    assert ids(q="张") == [book["c0"]]  # c3 deleted, c7 bo's
    first = list_customers(session=session, scope=manager, query=CustomerQuery(limit=2))
    assert first.count == 7
    later = list_customers(
        session=session, scope=manager, query=CustomerQuery(limit=2, after=first.next_cursor)
    )
    assert [r["id"] for r in later.rows] == [book["c2"], book["c5"]]
    assert {r["id"] for r in owners(session, manager)} == {book["ana"], mo}


def test_a_service_agents_list_and_owners_are_their_tickets_customers(
    session: Session, book: dict[str, int]
) -> None:
    agent = users.create_user(session=session, username="sv", role="service")["id"]
    other = users.create_user(session=session, username="sw", role="service")["id"]
    at = dt.datetime(2026, 11, 3, tzinfo=dt.UTC)
    for n, (customer, to) in enumerate(
        [("c7", agent), ("c2", agent), ("c7", agent), ("c4", other), ("c9", None)]
    ):
        session.execute(
            sa.insert(schema.tickets).values(
                external_id=f"T{n}",
                customer_id=book[customer],
                kind="inquiry",
                priority="normal",
                status="open",
                assignee_id=to,
                opened_at=at,
                created_at=at,
                updated_at=at,
            )
        )
    service = CustomerScope(Principal(agent, "sv", Role.SERVICE, None, "t"))
    page = list_customers(session=session, scope=service, query=CustomerQuery())
    assert [r["id"] for r in page.rows] == [book["c2"], book["c7"]] and page.count == 2
    assert {r["id"] for r in owners(session, service)} == {book["bo"]}  # c2 unowned, c7 bo's


def test_a_manager_of_a_team_too_large_to_merge_still_gets_their_pages(
    session: Session, book: dict[str, int]
) -> None:
    now = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    many = [
        {"username": f"s{i}", "display_name": f"s{i}", "role": "sales", "team": "big"}
        for i in range(MAX_RANGES + 300)
    ]
    session.execute(sa.insert(schema.users).values(created_at=now, updated_at=now), many)
    session.execute(
        sa.update(schema.users).where(schema.users.c.id == book["ana"]).values(team="big")
    )
    manager = CustomerScope(Principal(book["ana"], "ana", Role.MANAGER, "big", "t"))
    rows = every_page(session, CustomerQuery(limit=4), manager)
    assert [r["id"] for r in rows] == [book[f"c{i}"] for i in (0, 2, 3, 5, 6, 8, 9)]
