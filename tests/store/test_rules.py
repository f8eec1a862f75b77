"""The column rules are read from the schema once, and the three checkers — one row
(Repository.validate), an import batch (Polars) and a snapshot (Arrow) — refuse the same
values with the same words."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import polars as pl
import pyarrow as pa
import pytest

from rapport.errors import ValidationFailed
from rapport.ingest.entities import entity
from rapport.ingest.validate import Context, check_batch
from rapport.store import orders, schema
from rapport.store.bulk import check_arrow
from rapport.store.rules import Bounds, Kind, column_rules, rule


def test_rules_are_read_from_the_schema() -> None:
    r_score = rule(schema.customer_scores, "r_score")
    assert r_score.kind is Kind.INTEGER and r_score.integer_bits == 16
    assert r_score.integer_range == (-(2**15), 2**15 - 1)
    assert r_score.bounds == Bounds(low=1, high=5)
    net = rule(schema.orders, "net_amount")
    assert (net.kind, net.precision, net.scale) == (Kind.AMOUNT, 14, 2)
    assert net.bounds == Bounds(low=0) and net.required
    quantity = rule(schema.order_items, "quantity")
    assert quantity.bounds == Bounds(low=0, low_inclusive=False)
    assert quantity.bounds.violated_by(0) == "must be > 0"
    assert rule(schema.customers, "external_id").max_length == 64
    status = rule(schema.orders, "status")
    assert status.kind is Kind.ENUM and "completed" in (status.enum or ())
    assert not rule(schema.orders, "id").required  # the store numbers rows
    assert list(column_rules(schema.orders)) == list(schema.orders.c.keys())


def test_the_repository_reads_the_same_rules() -> None:
    assert orders.repo.rules is column_rules(schema.orders)


def _row_problem(column: str, value: object) -> str:
    with pytest.raises(ValidationFailed) as info:
        orders.items_repo.validate({column: value}, partial=True)
    return info.value.message


def _arrow_problem(column: str, value: object) -> str:
    data = pa.table({"id": pa.array([1, 2]), column: pa.array([1, value], pa.int64())})
    with pytest.raises(ValidationFailed) as info:
        check_arrow(schema.order_items, data)
    assert "(id 2)" in info.value.message
    return info.value.message


def _batch_problem(column: str, value: int) -> str:
    spec = entity("order_items")
    frame = pl.DataFrame(
        {
            "order_external_id": ["O1"],
            "line_no": ["1"],
            "product_sku": ["P1"],
            "quantity": ["1"],
            "unit_price": ["1.00"],
            "net_amount": ["1.00"],
        }
    ).with_columns(pl.lit(str(value)).alias(column))
    ctx = Context(tz=ZoneInfo("UTC"), phone_region="CN", today=dt.date(2024, 1, 1))
    checked = check_batch(
        spec,
        frame,
        pl.Series([2]),
        mapping={c: c for c in frame.columns},
        unknown=[],
        ctx=ctx,
    )
    assert checked.values.height == 0
    return checked.rejects["_reason"][0]


@pytest.mark.parametrize(
    ("column", "value", "problem"),
    [
        ("quantity", 0, "must be > 0"),
        ("line_no", -3, "must be > 0"),
        ("quantity", 2**31, "outside the range of a 32-bit integer"),
    ],
)
def test_the_three_checkers_refuse_alike(column: str, value: int, problem: str) -> None:
    assert problem in _row_problem(column, value)
    assert problem in _arrow_problem(column, value)
    assert f"{column}: {problem}" in _batch_problem(column, value)
