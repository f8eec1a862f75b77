"""Chinese text, money and times come back from both databases exactly as written."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from rapport.errors import ValidationFailed
from rapport.store import orders, schema, types
from rapport.store.repository import Repository
from rapport.store.schema import metadata
from rapport.store.types import UTCDateTime

from .factories import SHANGHAI, customer, order_values

#: Samples of what real Chinese data holds: names, regions, addresses, emoji, mixed text and
#: a character outside the Basic Multilingual Plane (4 bytes in UTF-8, CJK Extension B).
SAMPLES = ("张伟", "广东省", "深圳市南山区科技园路1号", "VIP客户🎉", "𠀀", "😀")
LONG_TEXT = "，".join(SAMPLES) + "。备注：客户说“质量很好”"

#: Written into every time column; the same instant everywhere keeps the ordering checks
#: (resolved_at >= opened_at, ended_at >= started_at …) satisfied.
INSTANT = dt.datetime(2024, 2, 10, 0, 30, 15, 123456, tzinfo=SHANGHAI)

JSON_DOC = {
    "备注": "VIP客户🎉",
    "地址": {"省": "广东省", "详细": "深圳市南山区科技园路1号"},
    "标签": ["张伟", "𠀀", "😀"],
    "数量": 3,
}


def is_text(column: sa.Column) -> bool:
    """Free text: String/Text columns that are not enumerations."""
    return isinstance(column.type, sa.String) and not isinstance(column.type, sa.Enum)


def tables_with(predicate: Any) -> list[str]:
    return [t.name for t in metadata.sorted_tables if any(predicate(c) for c in t.c)]


def is_json(column: sa.Column) -> bool:
    return types.is_json(column.type)


def is_time(column: sa.Column) -> bool:
    return isinstance(column.type, UTCDateTime)


def text_for(column: sa.Column) -> str:
    """Chinese text that fills the column as far as its length allows."""
    length = column.type.length
    if length is None or length >= len(LONG_TEXT):
        return LONG_TEXT
    for sample in sorted(SAMPLES, key=len, reverse=True):
        if len(sample) <= length:
            rest = "".join(s for s in SAMPLES if s != sample)
            return (sample + rest)[:length]
    raise AssertionError(f"no sample fits {column}")


def value_for(column: sa.Column, parents: dict[str, int]) -> Any:
    """A valid value of the column's type (foreign keys point at ``parents``)."""
    fks = list(column.foreign_keys)
    if fks:
        return parents[fks[0].column.table.name]
    ctype = column.type
    if isinstance(ctype, sa.Enum):
        return ctype.enums[0]
    if is_text(column):
        return text_for(column)
    if is_json(column):
        return JSON_DOC
    if is_time(column):
        return INSTANT
    if isinstance(ctype, sa.Date):
        return dt.date(2024, 2, 10)
    if isinstance(ctype, sa.Boolean):
        return False
    if isinstance(ctype, sa.Float):
        return 0.5
    if isinstance(ctype, sa.Numeric):
        return Decimal("1280.00")
    if isinstance(ctype, sa.Integer):
        return 1
    raise AssertionError(f"no value for {column}")


#: What generic values cannot know: rules that tie columns of one row together.
OVERRIDES: dict[str, dict[str, Any]] = {
    "leads": {"status": "converted"},  # converted_at is filled, so the status must say so
    "survey_responses": {"score": 4.0, "scale_min": 1.0, "scale_max": 5.0},
}


def build_row(table: sa.Table, parents: dict[str, int]) -> dict[str, Any]:
    """Every column except a surrogate integer id, filled with a valid value (a text id,
    such as an import job's, is text like any other)."""
    row = {
        c.name: value_for(c, parents)
        for c in table.c
        if not (c.name == "id" and isinstance(c.type, sa.Integer))
    }
    row.update(OVERRIDES.get(table.name, {}))
    if table.name == "referrals":
        row["referred_customer_id"] = parents["customers (second)"]
    return row


def fill_every_table(session: Session) -> dict[str, tuple[dict[str, Any], dict[str, Any]]]:
    """Insert one full row into every table, parents first; returns (written, key) per table."""
    parents: dict[str, int] = {}
    written: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}
    for table in metadata.sorted_tables:
        row = build_row(table, parents)
        if table is schema.customer_search:  # its customer's row, written by a trigger, replaced
            session.execute(sa.delete(table).where(table.c.customer_id == row["customer_id"]))
        repo = Repository(table, entity=table.name, key=None)
        stored = repo.create(session=session, values=row)
        key = {c.name: stored[c.name] for c in table.primary_key.columns}
        written[table.name] = (row, key)
        if "id" in key:
            parents[table.name] = key["id"]
        if table.name == "customers":
            second = {**row, "external_id": "第二位客户"}
            parents["customers (second)"] = repo.create(session=session, values=second)["id"]
    return written


def read_back(session: Session, table: sa.Table, key: dict[str, Any]) -> dict[str, Any]:
    stmt = sa.select(table).where(*(table.c[k] == v for k, v in key.items()))
    return dict(session.execute(stmt).mappings().one())


@pytest.fixture
def filled(session: Session) -> dict[str, tuple[dict[str, Any], dict[str, Any]]]:
    return fill_every_table(session)


@pytest.mark.parametrize("table_name", tables_with(is_text))
def test_chinese_text_round_trips_in_every_text_column(
    session: Session, filled: dict, table_name: str
) -> None:
    table = metadata.tables[table_name]
    written, key = filled[table_name]
    stored = read_back(session, table, key)
    text_columns = [c for c in table.c if is_text(c)]
    for column in text_columns:
        assert stored[column.name] == written[column.name], column.name
        assert any(ord(ch) > 0x7F for ch in stored[column.name]), column.name
        if written[column.name] == LONG_TEXT:
            assert "𠀀" in stored[column.name] and "🎉" in stored[column.name]
    # The database counts characters, not bytes: nothing was stored double-encoded.
    lengths = session.execute(
        sa.select(*(sa.func.length(c) for c in text_columns)).where(
            *(table.c[k] == v for k, v in key.items())
        )
    ).one()
    assert list(lengths) == [len(written[c.name]) for c in text_columns]


@pytest.mark.parametrize("table_name", tables_with(is_json))
def test_chinese_json_values_round_trip(session: Session, filled: dict, table_name: str) -> None:
    table = metadata.tables[table_name]
    _, key = filled[table_name]
    stored = read_back(session, table, key)
    for column in (c for c in table.c if is_json(c)):
        assert stored[column.name] == JSON_DOC, column.name


@pytest.mark.parametrize("table_name", tables_with(is_time))
def test_every_time_column_comes_back_as_aware_utc(
    session: Session, filled: dict, table_name: str
) -> None:
    table = metadata.tables[table_name]
    _, key = filled[table_name]
    stored = read_back(session, table, key)
    for column in (c for c in table.c if is_time(c)):
        value = stored[column.name]
        assert value == INSTANT, column.name
        assert value.utcoffset() == dt.timedelta(0), column.name
        assert value.tzname() == "UTC", column.name
        assert (value.hour, value.microsecond) == (16, 123456), column.name


def test_text_at_the_column_length_fits(session: Session) -> None:
    name = "张" * metadata.tables["customers"].c.name.type.length
    row = customer(session, name=name)
    assert read_back(session, metadata.tables["customers"], {"id": row["id"]})["name"] == name


@pytest.mark.parametrize(
    "amount",
    ["1280.00", "0.01", "0.10", "999999999999.99", "123456789012.34", "19.99"],
)
def test_money_round_trips_exactly(session: Session, amount: str) -> None:
    c = customer(session)
    created = orders.repo.create(
        session=session, values=order_values(c["id"], net_amount=Decimal(amount))
    )
    stored = read_back(session, metadata.tables["orders"], {"id": created["id"]})
    assert isinstance(stored["net_amount"], Decimal)
    assert stored["net_amount"] == Decimal(amount)
    assert str(stored["net_amount"]) == amount


def test_money_sums_are_exact_in_the_database(session: Session) -> None:
    c = customer(session)
    for amount in ("0.10", "0.20", "1280.00"):
        orders.repo.create(session=session, values=order_values(c["id"], net_amount=amount))
    o = metadata.tables["orders"]
    total = session.execute(
        sa.select(sa.func.sum(o.c.net_amount)).where(o.c.customer_id == c["id"])
    ).scalar_one()
    assert Decimal(str(total)) == Decimal("1280.30")


def test_time_written_in_shanghai_is_the_same_instant_in_utc(session: Session) -> None:
    c = customer(session)
    written = dt.datetime(2024, 1, 1, 7, 59, 59, tzinfo=SHANGHAI)  # 2023-12-31 23:59:59 UTC
    created = orders.repo.create(session=session, values=order_values(c["id"], ordered_at=written))
    stored = read_back(session, metadata.tables["orders"], {"id": created["id"]})["ordered_at"]
    assert stored == written
    assert stored.tzinfo is not None and stored.utcoffset() == dt.timedelta(0)
    assert (stored.year, stored.month, stored.day, stored.hour) == (2023, 12, 31, 23)


def test_times_compare_as_instants_in_the_database(session: Session) -> None:
    c = customer(session)
    early = dt.datetime(2024, 1, 1, 8, 0, tzinfo=SHANGHAI)  # 00:00 UTC
    late = dt.datetime(2024, 1, 1, 1, 0, tzinfo=dt.UTC)  # one hour after ``early``
    ids = {
        orders.repo.create(session=session, values=order_values(c["id"], ordered_at=t))["id"]: t
        for t in (late, early)
    }
    o = metadata.tables["orders"]
    ordered = session.execute(
        sa.select(o.c.id).where(o.c.customer_id == c["id"]).order_by(o.c.ordered_at)
    ).scalars()
    assert [ids[i] for i in ordered] == [early, late]
    cutoff = dt.datetime(2024, 1, 1, 8, 30, tzinfo=SHANGHAI)  # 00:30 UTC
    after = session.execute(
        sa.select(o.c.id).where(o.c.customer_id == c["id"], o.c.ordered_at > cutoff)
    ).scalars()
    assert [ids[i] for i in after] == [late]


def test_naive_datetime_is_refused_naming_the_field(session: Session) -> None:
    c = customer(session)
    before = orders.repo.count(session=session)
    with pytest.raises(ValidationFailed) as info:
        orders.repo.create(
            session=session,
            values=order_values(c["id"], ordered_at=dt.datetime(2024, 1, 1, 12, 0)),
        )
    assert info.value.table == "orders"
    assert info.value.field == "ordered_at"
    assert "orders.ordered_at" in str(info.value)
    assert orders.repo.count(session=session) == before


def test_naive_datetime_is_refused_by_the_column_type_too(session: Session) -> None:
    # Below the repository, the column type itself refuses to guess a zone.
    o = metadata.tables["orders"]
    c = customer(session)
    naive = dt.datetime(2024, 1, 1, 12, 0)
    values = {**order_values(c["id"], ordered_at=naive), "created_at": naive, "updated_at": naive}
    with pytest.raises(sa.exc.StatementError, match="naive datetime"):
        session.execute(sa.insert(o).values(**values))
