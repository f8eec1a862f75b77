"""The generic repository: reads, writes, upserts, paging and the bad-input contract."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from rapport.domain import Gender, OrderStatus
from rapport.errors import Conflict, NotFound, RapportError, ValidationFailed
from rapport.store import customers, orders, products, users
from rapport.store.repository import UpsertOutcome

from .factories import SHANGHAI, T0, customer, ext, order_values, product, user


def _unchanged_except(before: dict[str, Any], after: dict[str, Any], *fields: str) -> None:
    differing = {k for k in before if before[k] != after[k]}
    assert differing == set(fields)


# --- create / get / update / delete ------------------------------------------------------


def test_create_then_get_returns_the_row(session: Session) -> None:
    created = customers.repo.create(
        session=session,
        values={
            "external_id": "C-一号",
            "name": "张伟",
            "city": "深圳市",
            "gender": Gender.MALE,
            "birthday": dt.date(1990, 5, 4),
            "tags": ["VIP客户"],
        },
    )
    assert isinstance(created["id"], int)
    fetched = customers.repo.get(session=session, id=created["id"])
    assert fetched == created
    assert fetched["gender"] == "male"
    assert fetched["marketing_consent"] is False  # server default
    assert fetched["created_at"] == fetched["updated_at"]
    assert fetched["created_at"].utcoffset() == dt.timedelta(0)


def test_get_missing_row_raises_not_found(session: Session) -> None:
    with pytest.raises(NotFound) as info:
        customers.repo.get(session=session, id=987654)
    assert (info.value.table, info.value.field, info.value.value) == ("customers", "id", 987654)


def test_get_by_key_and_find(session: Session) -> None:
    c = customer(session)
    assert customers.repo.get_by_key(session=session, key=c["external_id"])["id"] == c["id"]
    assert customers.repo.find(session=session, key="no-such-key") is None
    with pytest.raises(NotFound) as info:
        customers.repo.get_by_key(session=session, key="no-such-key")
    assert info.value.field == "external_id"


def test_update_changes_only_the_given_fields(session: Session) -> None:
    c = customer(session, city="北京市", province="北京市")
    updated = customers.repo.update(session=session, id=c["id"], values={"city": "上海市"})
    assert updated["city"] == "上海市"
    assert updated["updated_at"] > c["updated_at"]
    _unchanged_except(c, updated, "city", "updated_at")
    assert customers.repo.get(session=session, id=c["id"]) == updated


def test_update_with_equal_values_writes_nothing(session: Session) -> None:
    c = customer(session, city="北京市")
    same = customers.repo.update(session=session, id=c["id"], values={"city": "北京市"})
    assert same == c
    assert customers.repo.get(session=session, id=c["id"])["updated_at"] == c["updated_at"]


def test_update_missing_row_raises_not_found(session: Session) -> None:
    with pytest.raises(NotFound):
        customers.repo.update(session=session, id=987654, values={"city": "北京市"})


def test_update_natural_key_to_one_in_use_is_a_conflict(session: Session) -> None:
    a = customer(session)
    b = customer(session)
    with pytest.raises(Conflict) as info:
        customers.repo.update(session=session, id=b["id"], values={"external_id": a["external_id"]})
    assert info.value.field == "external_id"
    assert customers.repo.get(session=session, id=b["id"])["external_id"] == b["external_id"]


def test_update_can_set_a_nullable_field_to_none(session: Session) -> None:
    c = customer(session, city="北京市")
    assert customers.repo.update(session=session, id=c["id"], values={"city": None})["city"] is None


def test_hard_delete_removes_the_row(session: Session) -> None:
    p = product(session)
    products.repo.delete(session=session, id=p["id"])
    with pytest.raises(NotFound):
        products.repo.get(session=session, id=p["id"])
    assert products.repo.find(session=session, key=p["sku"]) is None


def test_delete_of_a_referenced_row_is_refused_and_the_session_goes_on(session: Session) -> None:
    c = customer(session)
    p = product(session)
    orders.create(
        session=session,
        values=order_values(c["id"]),
        items=[{"product_id": p["id"], "quantity": 1, "unit_price": 88, "net_amount": 88}],
    )
    with pytest.raises(RapportError) as info:
        products.repo.delete(session=session, id=p["id"])
    assert info.value.table == "products"
    assert products.repo.get(session=session, id=p["id"])["sku"] == p["sku"]


# --- list / count / pagination -----------------------------------------------------------


def test_cursor_pagination_visits_every_row_once(session: Session) -> None:
    owner = user(session)
    ids = [customer(session, owner_id=owner["id"])["id"] for _ in range(23)]
    customer(session)  # another owner's customer, filtered out
    seen: list[int] = []
    after: int | None = None
    pages = 0
    while True:
        page = customers.repo.list(
            session=session, filters={"owner_id": owner["id"]}, after_id=after, limit=5
        )
        if not page:
            break
        pages += 1
        assert len(page) <= 5
        seen.extend(r["id"] for r in page)
        after = page[-1]["id"]
    assert seen == sorted(ids)
    assert pages == 5
    assert customers.repo.count(session=session, filters={"owner_id": owner["id"]}) == 23


def test_pagination_does_not_repeat_rows_when_rows_arrive_between_pages(
    session: Session,
) -> None:
    owner = user(session)
    first_ids = [customer(session, owner_id=owner["id"])["id"] for _ in range(4)]
    first = customers.repo.list(session=session, filters={"owner_id": owner["id"]}, limit=2)
    late = customer(session, owner_id=owner["id"])["id"]
    rest = customers.repo.list(
        session=session, filters={"owner_id": owner["id"]}, after_id=first[-1]["id"], limit=10
    )
    visited = [r["id"] for r in first + rest]
    assert visited == [*first_ids, late]


def test_list_filters_by_null(session: Session) -> None:
    c = customer(session, city=None, external_id=ext("nullcity"))
    rows = customers.repo.list(session=session, filters={"city": None}, limit=1000)
    assert c["id"] in {r["id"] for r in rows}
    assert all(r["city"] is None for r in rows)


def test_list_refuses_unknown_filter_and_bad_limit(session: Session) -> None:
    with pytest.raises(ValidationFailed) as info:
        customers.repo.list(session=session, filters={"shoe_size": 42})
    assert info.value.field == "shoe_size"
    with pytest.raises(ValidationFailed) as info:
        customers.repo.list(session=session, limit=0)
    assert info.value.field == "limit"


# --- upsert ------------------------------------------------------------------------------


def test_upsert_inserts_then_is_unchanged(session: Session) -> None:
    values = {"external_id": ext("C"), "name": "李娜", "city": "杭州市", "tags": ["新客"]}
    outcome, inserted = customers.repo.upsert(session=session, values=values)
    assert outcome is UpsertOutcome.INSERTED
    outcome, again = customers.repo.upsert(session=session, values=values)
    assert outcome is UpsertOutcome.UNCHANGED
    assert again == inserted
    stored = customers.repo.get(session=session, id=inserted["id"])
    assert stored["updated_at"] == inserted["updated_at"]
    assert (
        customers.repo.count(session=session, filters={"external_id": values["external_id"]}) == 1
    )


def test_upsert_of_equal_values_in_other_forms_is_unchanged(session: Session) -> None:
    c = customer(session)
    values = order_values(c["id"], net_amount=Decimal("1280.00"), extra={"渠道": "天猫"})
    _, inserted = orders.repo.upsert(session=session, values=values)
    same_in_other_forms = {
        **values,
        "net_amount": 1280,  # an int that is the same amount
        "ordered_at": values["ordered_at"].astimezone(dt.UTC),  # the same instant in UTC
        "status": "completed",  # the enum's value instead of the member
        "extra": {"渠道": "天猫"},
    }
    outcome, row = orders.repo.upsert(session=session, values=same_in_other_forms)
    assert outcome is UpsertOutcome.UNCHANGED
    assert row["updated_at"] == inserted["updated_at"]


def test_upsert_with_one_changed_field_updates_only_that_field(session: Session) -> None:
    values = {"external_id": ext("C"), "name": "李娜", "city": "杭州市", "phone": "+8613800000000"}
    _, before = customers.repo.upsert(session=session, values=values)
    outcome, after = customers.repo.upsert(session=session, values={**values, "city": "苏州市"})
    assert outcome is UpsertOutcome.UPDATED
    assert after["city"] == "苏州市"
    assert after["updated_at"] > before["updated_at"]
    _unchanged_except(before, after, "city", "updated_at")
    assert customers.repo.get(session=session, id=before["id"]) == after


def test_upsert_leaves_fields_it_is_not_given(session: Session) -> None:
    c = customer(session, city="杭州市", email="li@example.cn")
    outcome, row = customers.repo.upsert(
        session=session, values={"external_id": c["external_id"], "city": "苏州市"}
    )
    assert outcome is UpsertOutcome.UPDATED
    assert row["email"] == "li@example.cn"
    assert row["name"] == c["name"]


def test_upsert_requires_the_natural_key(session: Session) -> None:
    with pytest.raises(ValidationFailed) as info:
        customers.repo.upsert(session=session, values={"name": "无编号"})
    assert info.value.field == "external_id"


def test_upsert_by_another_natural_key(session: Session) -> None:
    u = user(session, display_name="王芳")
    outcome, row = users.repo.upsert(
        session=session,
        values={"username": u["username"], "display_name": "王芳芳", "role": u["role"]},
    )
    assert outcome is UpsertOutcome.UPDATED
    assert row["id"] == u["id"] and row["display_name"] == "王芳芳"


# --- the bad-input contract --------------------------------------------------------------


def _refused(session: Session, exc_type: type[RapportError], write: Any) -> RapportError:
    """Run ``write``, expect ``exc_type``, and check nothing was written and the session works."""
    counts = (
        customers.repo.count(session=session, include_deleted=True),
        orders.repo.count(session=session),
    )
    with pytest.raises(exc_type) as info:
        write()
    after = (
        customers.repo.count(session=session, include_deleted=True),
        orders.repo.count(session=session),
    )
    assert after == counts
    probe = customer(session)  # the session is still usable
    assert customers.repo.get(session=session, id=probe["id"])["id"] == probe["id"]
    return info.value


def test_duplicate_external_id_is_a_conflict_naming_table_field_and_value(
    session: Session,
) -> None:
    c = customer(session, external_id="C-重复-001")
    error = _refused(
        session,
        Conflict,
        lambda: customers.repo.create(session=session, values={"external_id": "C-重复-001"}),
    )
    assert (error.table, error.field, error.value) == ("customers", "external_id", "C-重复-001")
    assert "customers.external_id" in str(error) and "C-重复-001" in str(error)
    assert error.hint
    assert customers.repo.get(session=session, id=c["id"])["name"] == c["name"]


def test_unknown_enum_value_lists_the_allowed_values(session: Session) -> None:
    error = _refused(
        session,
        ValidationFailed,
        lambda: customers.repo.create(
            session=session, values={"external_id": ext("C"), "gender": "martian"}
        ),
    )
    assert (error.table, error.field, error.value) == ("customers", "gender", "martian")
    assert error.hint is not None
    for member in Gender:
        assert member.value in error.hint


def test_enum_member_and_its_value_are_both_accepted(session: Session) -> None:
    c = customer(session)
    a = orders.repo.create(session=session, values=order_values(c["id"], status="refunded"))
    b = orders.repo.create(
        session=session, values=order_values(c["id"], status=OrderStatus.REFUNDED)
    )
    assert a["status"] == b["status"] == OrderStatus.REFUNDED


@pytest.mark.parametrize(
    "field", ["net_amount", "gross_amount", "discount_amount", "refunded_amount"]
)
def test_negative_amount_is_refused_naming_the_field(session: Session, field: str) -> None:
    c = customer(session)
    error = _refused(
        session,
        ValidationFailed,
        lambda: orders.repo.create(
            session=session, values=order_values(c["id"], **{field: Decimal("-0.01")})
        ),
    )
    assert error.location == f"orders.{field}"
    assert f"orders.{field}" in str(error)


def test_zero_amount_is_accepted(session: Session) -> None:
    c = customer(session)
    row = orders.repo.create(session=session, values=order_values(c["id"], net_amount=0))
    assert row["net_amount"] == Decimal("0.00")


def test_order_for_a_missing_customer_names_customer_id(session: Session) -> None:
    error = _refused(
        session,
        ValidationFailed,
        lambda: orders.repo.create(session=session, values=order_values(987654)),
    )
    assert error.location == "orders.customer_id"
    assert error.value == 987654


@pytest.mark.parametrize("field", ["customer_id", "status", "ordered_at", "net_amount", "currency"])
def test_missing_required_field_is_refused(session: Session, field: str) -> None:
    c = customer(session)
    values = order_values(c["id"])
    del values[field]
    error = _refused(
        session, ValidationFailed, lambda: orders.repo.create(session=session, values=values)
    )
    assert error.location == f"orders.{field}"
    assert "required" in error.message


def test_required_field_set_to_none_is_refused(session: Session) -> None:
    c = customer(session)
    o = orders.repo.create(session=session, values=order_values(c["id"]))
    with pytest.raises(ValidationFailed) as info:
        orders.repo.update(session=session, id=o["id"], values={"currency": None})
    assert info.value.location == "orders.currency"
    assert orders.repo.get(session=session, id=o["id"])["currency"] == "CNY"


def test_too_long_string_is_refused(session: Session) -> None:
    limit = customers.repo.table.c.name.type.length
    error = _refused(
        session,
        ValidationFailed,
        lambda: customers.repo.create(
            session=session, values={"external_id": ext("C"), "name": "张" * (limit + 1)}
        ),
    )
    assert error.location == "customers.name"
    assert str(limit) in error.message


def test_unknown_field_is_refused(session: Session) -> None:
    error = _refused(
        session,
        ValidationFailed,
        lambda: customers.repo.create(
            session=session, values={"external_id": ext("C"), "nick_name": "小张"}
        ),
    )
    assert error.field == "nick_name"
    assert "name" in (error.hint or "")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("owner_id", True),  # bool for int
        ("owner_id", 1.5),  # float for int
        ("owner_id", "1"),  # text for int
        ("birthday", 19900504.0),  # float for date
        ("birthday", "1990-05-04"),  # text for date
        ("birthday", dt.datetime(1990, 5, 4, tzinfo=dt.UTC)),  # datetime for date
        ("loyalty_joined_at", dt.date(2024, 1, 1)),  # date for datetime
        ("loyalty_joined_at", "2024-01-01T00:00:00+08:00"),  # text for datetime
        ("marketing_consent", "yes"),  # text for bool
        ("marketing_consent", 1),  # int for bool
        ("name", 12345),  # int for text
        ("city", ["深圳市"]),  # list for text
    ],
)
def test_wrong_types_are_refused_naming_the_field(session: Session, field: str, value: Any) -> None:
    error = _refused(
        session,
        ValidationFailed,
        lambda: customers.repo.create(
            session=session, values={"external_id": ext("C"), field: value}
        ),
    )
    assert error.location == f"customers.{field}"


@pytest.mark.parametrize("value", [True, "abc", [1]])
def test_amount_of_the_wrong_type_is_refused(session: Session, value: Any) -> None:
    c = customer(session)
    error = _refused(
        session,
        ValidationFailed,
        lambda: orders.repo.create(session=session, values=order_values(c["id"], net_amount=value)),
    )
    assert error.location == "orders.net_amount"


def test_naive_time_in_an_update_is_refused(session: Session) -> None:
    c = customer(session)
    o = orders.repo.create(session=session, values=order_values(c["id"]))
    with pytest.raises(ValidationFailed) as info:
        orders.repo.update(
            session=session, id=o["id"], values={"ordered_at": dt.datetime(2024, 1, 1)}
        )
    assert info.value.location == "orders.ordered_at"
    assert orders.repo.get(session=session, id=o["id"])["ordered_at"] == T0


def test_times_are_stored_in_utc_whatever_zone_they_are_given_in(session: Session) -> None:
    c = customer(session)
    o = orders.repo.create(
        session=session,
        values=order_values(c["id"], ordered_at=dt.datetime(2024, 6, 1, 0, 0, tzinfo=SHANGHAI)),
    )
    assert o["ordered_at"] == dt.datetime(2024, 5, 31, 16, 0, tzinfo=dt.UTC)


# --- numbers: precision, range, finiteness ---------------------------------------------


def test_amount_beyond_the_money_precision_is_refused(session: Session) -> None:
    c = customer(session)
    error = _refused(
        session,
        ValidationFailed,
        lambda: orders.repo.create(
            session=session, values=order_values(c["id"], net_amount=Decimal("1000000000000.00"))
        ),
    )
    assert error.location == "orders.net_amount"


def test_nan_amount_is_refused_naming_the_field(session: Session) -> None:
    c = customer(session)
    error = _refused(
        session,
        ValidationFailed,
        lambda: orders.repo.create(
            session=session, values=order_values(c["id"], net_amount=float("nan"))
        ),
    )
    assert error.location == "orders.net_amount"


def test_integer_beyond_the_column_range_is_refused(session: Session) -> None:
    c = customer(session)
    o = orders.repo.create(session=session, values=order_values(c["id"]))
    p = product(session)
    with pytest.raises(ValidationFailed) as info:
        orders.items_repo.create(
            session=session,
            values={
                "order_id": o["id"],
                "line_no": 1,
                "product_id": p["id"],
                "quantity": 2**31,
                "unit_price": 1,
                "net_amount": 1,
            },
        )
    assert info.value.location == "order_items.quantity"


@pytest.mark.parametrize(
    "value", [Decimal("12.345"), "0.001", Decimal("-0.001"), 0.125, Decimal("99.999")]
)
def test_amount_with_more_than_two_decimals_is_refused_not_rounded(
    session: Session, value: Any
) -> None:
    c = customer(session)
    error = _refused(
        session,
        ValidationFailed,
        lambda: orders.repo.create(session=session, values=order_values(c["id"], net_amount=value)),
    )
    assert error.location == "orders.net_amount"
    assert "more than 2 decimals" in error.message


@pytest.mark.parametrize(
    ("value", "stored"),
    [
        (Decimal("12.30"), Decimal("12.30")),
        (Decimal("12.300"), Decimal("12.30")),
        ("7.5", Decimal("7.50")),
        (0.1, Decimal("0.10")),
        (Decimal("999999999999.99"), Decimal("999999999999.99")),
    ],
)
def test_amount_with_at_most_two_decimals_is_stored_exactly(
    session: Session, value: Any, stored: Decimal
) -> None:
    c = customer(session)
    row = orders.repo.create(session=session, values=order_values(c["id"], net_amount=value))
    assert row["net_amount"] == stored
    assert orders.repo.get(session=session, id=row["id"])["net_amount"] == stored


@pytest.mark.parametrize(
    "value", [float("inf"), float("-inf"), Decimal("Infinity"), Decimal("NaN"), Decimal("sNaN")]
)
def test_infinite_or_nan_amount_is_refused(session: Session, value: Any) -> None:
    c = customer(session)
    error = _refused(
        session,
        ValidationFailed,
        lambda: orders.repo.create(session=session, values=order_values(c["id"], net_amount=value)),
    )
    assert error.location == "orders.net_amount"


def test_amount_limit_comes_from_the_column_type(session: Session) -> None:
    c = customer(session)
    error = _refused(
        session,
        ValidationFailed,
        lambda: orders.repo.create(
            session=session, values=order_values(c["id"], net_amount=Decimal("1E+30"))
        ),
    )
    assert error.location == "orders.net_amount"
    assert "NUMERIC(14,2)" in error.message


@pytest.mark.parametrize(
    ("field", "value"), [("quantity", -(2**31) - 1), ("line_no", 2**31), ("order_id", 2**63)]
)
def test_integers_beyond_32_bits_are_refused_on_update_too(
    session: Session, field: str, value: int
) -> None:
    c = customer(session)
    p = product(session)
    order = orders.create(
        session=session,
        values=order_values(c["id"]),
        items=[{"product_id": p["id"], "quantity": 1, "unit_price": 1, "net_amount": 1}],
    )
    item = order["items"][0]
    with pytest.raises(ValidationFailed) as info:
        orders.items_repo.update(session=session, id=item["id"], values={field: value})
    assert info.value.location == f"order_items.{field}"
    assert orders.items_repo.get(session=session, id=item["id"]) == item


def test_integer_at_the_edge_of_the_column_range_is_accepted(session: Session) -> None:
    c = customer(session)
    o = orders.repo.create(session=session, values=order_values(c["id"]))
    p = product(session)
    item = orders.items_repo.create(
        session=session,
        values={
            "order_id": o["id"],
            "line_no": 2**31 - 1,
            "product_id": p["id"],
            "quantity": 1,
            "unit_price": 1,
            "net_amount": 1,
        },
    )
    assert item["line_no"] == 2**31 - 1


def test_get_with_an_id_beyond_the_integer_range_is_not_found(session: Session) -> None:
    with pytest.raises(NotFound):
        customers.repo.get(session=session, id=2**40)
    probe = customer(session)  # the session is still usable
    assert customers.repo.get(session=session, id=probe["id"])["id"] == probe["id"]


def test_reference_beyond_the_integer_range_is_refused_and_the_session_goes_on(
    session: Session,
) -> None:
    error = _refused(
        session,
        ValidationFailed,
        lambda: customers.repo.create(
            session=session, values={"external_id": ext("C"), "owner_id": 2**40}
        ),
    )
    assert error.location == "customers.owner_id"


def test_duplicate_composite_key_names_its_columns_and_values(session: Session) -> None:
    c = customer(session)
    p = product(session)
    item = {"product_id": p["id"], "quantity": 1, "unit_price": 1, "net_amount": 1, "line_no": 1}
    before = orders.repo.count(session=session)
    with pytest.raises(Conflict) as info:
        orders.create(session=session, values=order_values(c["id"]), items=[item, item])
    assert info.value.table == "order_items"
    columns = info.value.field.split(", ")
    assert all(column in orders.items_repo.table.c for column in columns)
    assert columns == ["order_id", "line_no"]
    assert len(info.value.value) == 2 and info.value.value[1] == 1
    assert "order_items.(order_id, line_no)" in info.value.message
    assert orders.repo.count(session=session) == before


def test_duplicate_composite_key_is_a_conflict(session: Session) -> None:
    c = customer(session)
    p = product(session)
    item = {"product_id": p["id"], "quantity": 1, "unit_price": 1, "net_amount": 1, "line_no": 1}
    before = orders.repo.count(session=session)
    with pytest.raises(Conflict) as info:
        orders.create(session=session, values=order_values(c["id"]), items=[item, item])
    assert info.value.table == "order_items"
    assert orders.repo.count(session=session) == before


def test_duplicate_found_by_the_database_names_the_column_and_value(session: Session) -> None:
    a = customer(session)
    b = customer(session)
    t = customers.repo.table
    change = {"external_id": a["external_id"]}
    with pytest.raises(Conflict) as info, customers.repo.writing(session, change):
        session.execute(sa.update(t).where(t.c.id == b["id"]).values(**change))
    assert (info.value.table, info.value.field) == ("customers", "external_id")
    assert info.value.value == a["external_id"]
    assert f"customers.external_id = {a['external_id']!r}" in info.value.message
    assert customers.repo.get(session=session, id=b["id"])["external_id"] == b["external_id"]


def test_value_refused_by_the_database_is_a_domain_error(session: Session) -> None:
    c = customer(session)
    o = orders.repo.create(session=session, values=order_values(c["id"]))
    t = orders.repo.table
    with pytest.raises(ValidationFailed) as info, orders.repo.writing(session):
        session.execute(sa.update(t).where(t.c.id == o["id"]).values(net_amount=-1))
    assert info.value.table == "orders"
    assert orders.repo.get(session=session, id=o["id"])["net_amount"] == Decimal("1280.00")


def test_session_is_usable_after_a_refused_database_check(session: Session) -> None:
    c = customer(session)
    o = orders.repo.create(session=session, values=order_values(c["id"]))
    t = orders.repo.table
    with pytest.raises(sa.exc.IntegrityError), session.begin_nested():
        session.execute(sa.update(t).where(t.c.id == o["id"]).values(net_amount=-1))
    assert orders.repo.get(session=session, id=o["id"])["net_amount"] == Decimal("1280.00")
