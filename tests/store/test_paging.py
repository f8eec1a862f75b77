"""Keyset paging (rapport.store.paging): cursors read back as they were written (the id
cursors clients already hold among them), malformed ones refused naming the field, and
walks in mixed orders over decimal and float keys with ties that visit every row that
existed throughout exactly once, on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from rapport.errors import ValidationFailed
from rapport.store import schema, scores
from rapport.store.paging import (
    PageRequest,
    SortKey,
    decode_cursor,
    encode_cursor,
    read_page,
)

from .factories import customer

DAY = dt.date(2024, 12, 31)
_s = schema.customer_scores.c


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def test_an_id_cursor_is_the_one_clients_already_hold() -> None:
    assert encode_cursor((123,)) == _b64("id:123")
    assert decode_cursor(_b64("id:123")) == (123,)


def test_cursors_carry_decimals_floats_dates_and_text_back_as_their_keys_types() -> None:
    keys = [
        SortKey(sa.literal(Decimal("1.00"), sa.Numeric(14, 2))),
        SortKey(sa.literal(0.5, sa.Float)),
        SortKey(sa.literal(dt.date(2024, 1, 1), sa.Date)),
        SortKey(sa.literal("x", sa.String)),
        SortKey(sa.literal(1, sa.Integer)),
    ]
    key = (Decimal("1234.57"), 0.1 + 0.2, dt.date(2024, 2, 29), "张伟", 42)
    page = PageRequest(limit=2, after=decode_cursor(encode_cursor(key)))
    assert page.start(keys) == key
    assert isinstance(page.start(keys)[0], Decimal)


@pytest.mark.parametrize(
    "cursor",
    [
        "garbage!",
        _b64("id:-1"),
        _b64("id:2147483648"),
        _b64("id:"),
        _b64("x:1"),
        _b64("k:[]"),
        _b64("k:{}"),
        _b64("k:[NaN,1]"),
        _b64("k:[[1],2]"),
        _b64("k:[1,2"),
    ],
)
def test_a_malformed_cursor_is_refused_naming_the_field(cursor: str) -> None:
    with pytest.raises(ValidationFailed) as info:
        decode_cursor(cursor, field="query.cursor")
    assert info.value.field == "query.cursor" and info.value.value == cursor
    assert info.value.hint


@pytest.mark.parametrize(
    ("after", "keys"),
    [
        ((1, 2), [SortKey(_s.customer_id)]),  # a key of two values for a list of one
        (("x",), [SortKey(_s.customer_id)]),  # text for an id
        ((True,), [SortKey(_s.customer_id)]),
        (("abc", 1), [SortKey(_s.predicted_clv), SortKey(_s.customer_id)]),
        (("nan", 1), [SortKey(_s.predicted_clv), SortKey(_s.customer_id)]),
    ],
)
def test_a_cursor_of_another_list_is_refused(after: tuple[Any, ...], keys: list[SortKey]) -> None:
    with pytest.raises(ValidationFailed) as info:
        PageRequest(limit=5, after=after, field="query.cursor").start(keys)
    assert info.value.field == "query.cursor"


def test_cut_reads_one_row_more_to_know_a_next_page_exists() -> None:
    page = PageRequest(limit=2, after=(9,))
    assert page.fetch == 3
    rows = [{"id": 8}, {"id": 7}, {"id": 6}]
    cut = page.cut(rows, count=30)
    assert (cut.data, cut.count, cut.next_key) == (rows[:2], 30, (7,))
    assert cut.next_cursor == encode_cursor((7,))
    last = page.cut(rows[:2], count=30)
    assert (last.data, last.next_key, last.next_cursor) == (rows[:2], None, None)


def _snapshot(session: Session, n: int) -> list[int]:
    """``n`` scored customers whose predicted CLV, churn risk and revenue repeat (ties)."""
    ids = [customer(session)["id"] for _ in range(n)]
    scores.write_snapshot(
        session=session,
        as_of=DAY,
        rows=[
            {
                "customer_id": customer_id,
                "predicted_clv": Decimal(("1999.99", "250.10", "1999.99", "0.01")[i % 4]),
                "churn_risk": (0.1, 0.7, 1 / 3)[i % 3],
                "monetary": None if i % 5 == 0 else Decimal("88.80"),
            }
            for i, customer_id in enumerate(ids)
        ],
    )
    return ids


def _walk(session: Session, stmt: sa.Select[Any], order: list[SortKey], limit: int) -> list[int]:
    seen: list[int] = []
    after = None
    while True:
        page = read_page(session, stmt, PageRequest(limit=limit, after=after), order)
        assert len(page.data) <= limit
        assert all(set(row) == {"customer_id"} for row in page.data)  # keys read aside
        seen += [row["customer_id"] for row in page.data]
        if page.next_key is None:
            return seen
        after = decode_cursor(page.next_cursor or "")  # as a client hands it back


@pytest.mark.parametrize("limit", [1, 3, 7])
def test_walks_in_mixed_orders_visit_every_row_once_in_order(session: Session, limit: int) -> None:
    _snapshot(session, 23)
    value_at_risk = sa.type_coerce(_s.churn_risk * _s.predicted_clv, sa.Float)
    orders = {
        "value at risk": [SortKey(value_at_risk, descending=True), SortKey(_s.customer_id)],
        "clv, then id down": [
            SortKey(_s.predicted_clv, descending=True),
            SortKey(_s.customer_id, descending=True),
        ],
        "revenue (none as 0), risk up": [
            SortKey(sa.func.coalesce(_s.monetary, 0), descending=True),
            SortKey(_s.churn_risk),
            SortKey(_s.customer_id),
        ],
    }
    stmt = sa.select(_s.customer_id).where(_s.as_of == DAY)
    for name, order in orders.items():
        keys = sa.select(*(k.column for k in order), _s.customer_id).where(_s.as_of == DAY)
        rows = session.execute(keys).all()
        expected = [
            r[-1]
            for r in sorted(
                rows,
                key=lambda r, order=order: tuple(
                    -v if k.descending else v for k, v in zip(order, r, strict=False)
                ),
            )
        ]
        assert _walk(session, stmt, order, limit) == expected, name


def test_rows_arriving_or_leaving_between_pages_never_shift_a_page(session: Session) -> None:
    ids = _snapshot(session, 10)
    order = [SortKey(_s.predicted_clv, descending=True), SortKey(_s.customer_id)]
    stmt = sa.select(_s.customer_id).where(_s.as_of == DAY)
    first = read_page(session, stmt, PageRequest(limit=4), order)
    assert first.count == 10
    shown = [r["customer_id"] for r in first.data]
    # a newcomer ranked first arrives and a row of the first page leaves: the next pages
    # start where the first ended all the same
    newcomer = customer(session)["id"]
    session.execute(
        sa.insert(schema.customer_scores).values(
            customer_id=newcomer,
            as_of=DAY,
            predicted_clv=Decimal("99999.00"),
            computed_at=dt.datetime.now(dt.UTC),
        )
    )
    session.execute(sa.delete(schema.customer_scores).where(_s.customer_id == shown[0]))
    rest = _walk_from(session, stmt, order, first.next_key)
    assert newcomer not in rest and not set(shown) & set(rest)  # nothing twice
    assert set(shown) | set(rest) == set(ids)  # everything that was there throughout


def _walk_from(
    session: Session, stmt: sa.Select[Any], order: list[SortKey], after: Any
) -> list[int]:
    seen: list[int] = []
    while after is not None:
        page = read_page(session, stmt, PageRequest(limit=3, after=after), order)
        seen += [row["customer_id"] for row in page.data]
        after = page.next_key
    return seen
