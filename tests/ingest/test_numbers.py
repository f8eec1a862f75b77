"""Money, whole numbers and decimal numbers: examples, agreement of both forms, round trips."""

from __future__ import annotations

from decimal import Decimal

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rapport.ingest.numbers import (
    _FLOAT_PATTERN,
    _INT_PATTERN,
    MONEY_DTYPE,
    MONEY_PATTERN,
    float_series,
    int_series,
    money_series,
    parse_float,
    parse_int,
    parse_money,
)
from tests.ingest.normalizer_checks import EMPTY_INPUTS, assert_agree, fullwidth, padded

MONEY_OK = [
    ("¥1,280.00元", "1280.00"),
    ("￥１，２８０", "1280.00"),
    ("RMB 1280", "1280.00"),
    ("rmb1280", "1280.00"),
    ("CNY 1,280.50", "1280.50"),
    ("1280元", "1280.00"),
    ("1,280.5 元", "1280.50"),
    ("1280 人民币", "1280.00"),
    ("$12", "12.00"),
    ("USD 12.5", "12.50"),
    ("12.00", "12.00"),
    ("12", "12.00"),
    (".5", "0.50"),
    ("5.", "5.00"),
    ("-12.5", "-12.50"),
    ("+12.5", "12.50"),
    ("−12.5", "-12.50"),
    ("-¥12", "-12.00"),
    ("¥-12", "-12.00"),
    ("（12.00）", "-12.00"),
    ("(12.00)", "-12.00"),
    ("(¥1,280.00元)", "-1280.00"),
    ("1.2万", "12000.00"),
    ("1.2万元", "12000.00"),
    ("1.2w", "12000.00"),
    ("3千", "3000.00"),
    ("3k", "3000.00"),
    ("2亿", "200000000.00"),
    ("1.5百万", "1500000.00"),
    ("0.005", "0.01"),
    ("-0.005", "-0.01"),
    ("0.0049", "0.00"),
    ("-0", "0.00"),
    ("12.300000000000001", "12.30"),
    ("999999999999.99", "999999999999.99"),
    ("１２．５", "12.50"),
    ("  ¥ 12  ", "12.00"),
]

MONEY_BAD = [
    ("abc", "not an amount"),
    ("1.2.3", "not an amount"),
    ("12,34,5", "not an amount"),
    ("1,2345", "not an amount"),
    ("¥", "not an amount"),
    ("(12", "not an amount"),
    ("12)", "not an amount"),
    ("-(12)", "not an amount"),
    ("--12", "not an amount"),
    ("-¥-12", "not an amount"),
    ("1e3", "not an amount"),
    ("12 34", "not an amount"),
    ("元", "not an amount"),
    ("1000000000000", "amount out of range"),
    ("9999999999999999999999", "amount out of range"),
    ("1亿亿", "not an amount"),
    ("100000000万", "amount out of range"),
]


@pytest.mark.parametrize(("text", "expected"), MONEY_OK)
def test_money_accepts(text: str, expected: str) -> None:
    assert parse_money(text) == Decimal(expected)
    result = money_series(pl.Series([text]))
    assert result.values.dtype == MONEY_DTYPE
    assert result.values.to_list() == [Decimal(expected)]
    assert result.errors.to_list() == [None]


@pytest.mark.parametrize(("text", "reason"), MONEY_BAD)
def test_money_rejects(text: str, reason: str) -> None:
    message = f"{reason}: '{text}'"
    with pytest.raises(ValueError) as exc:
        parse_money(text)
    assert str(exc.value) == message
    result = money_series(pl.Series([text]))
    assert result.values.to_list() == [None]
    assert result.errors.to_list() == [message]


@pytest.mark.parametrize("value", EMPTY_INPUTS)
def test_money_empty_is_null_without_error(value: str | None) -> None:
    assert parse_money(value) is None
    result = money_series(pl.Series([value], dtype=pl.Utf8))
    assert result.values.to_list() == [None]
    assert result.errors.to_list() == [None]


def test_money_from_numeric_columns() -> None:
    floats = money_series(pl.Series([12.0, 0.125, -0.125, 1.005, None, float("nan"), 1e13]))
    assert floats.values.dtype == MONEY_DTYPE
    assert floats.values.to_list() == [
        Decimal("12.00"),
        Decimal("0.13"),
        Decimal("-0.13"),
        Decimal("1.00"),  # the float 1.005 is a little less than 1.005
        None,
        None,
        None,
    ]
    assert floats.errors.to_list()[:6] == [None] * 6
    assert floats.errors[6].startswith("amount out of range")
    ints = money_series(pl.Series([1280, None, 10**13]))
    assert ints.values.to_list() == [Decimal("1280.00"), None, None]
    assert ints.errors[2] == "amount out of range: '10000000000000'"
    decimals = money_series(pl.Series([Decimal("1.235"), Decimal("-1.234")]))
    assert decimals.values.to_list() == [Decimal("1.24"), Decimal("-1.23")]


def test_money_scalar_numbers() -> None:
    assert parse_money(12) == Decimal("12.00")
    assert parse_money(0.125) == Decimal("0.13")
    assert parse_money(Decimal("1.235")) == Decimal("1.24")
    assert parse_money(float("nan")) is None
    for bad in (float("inf"), 1e12, 10**30, Decimal("NaN")):
        with pytest.raises(ValueError, match="amount out of range"):
            parse_money(bad)
    with pytest.raises(ValueError, match="not an amount"):
        parse_money(True)


def test_money_keeps_the_column_name_and_length() -> None:
    result = money_series(pl.Series("amount", ["1", "x", None]))
    assert result.values.name == result.errors.name == "amount"
    assert result.error_count == 1


# ---------------------------------------------------------------------------------------
# property tests

MONEY_ALPHABET = "0123456789,.-+−()（）¥￥$元块万千亿wkWK RMBcnyusd人民币１２，．"
money_inputs = st.one_of(
    st.none(),
    st.from_regex(MONEY_PATTERN, fullmatch=True),
    padded(st.from_regex(MONEY_PATTERN, fullmatch=True)),
    st.text(alphabet=MONEY_ALPHABET, max_size=15),
    st.text(max_size=10),
    st.sampled_from(EMPTY_INPUTS),
)


@settings(deadline=None, max_examples=300)
@given(st.lists(money_inputs, max_size=25))
def test_money_forms_agree(texts: list[str | None]) -> None:
    assert_agree(parse_money, money_series, texts)


@settings(deadline=None)
@given(
    st.lists(
        st.one_of(
            st.none(),
            st.floats(allow_nan=True, allow_infinity=True),
            st.floats(min_value=-1e6, max_value=1e6).map(lambda x: round(x, 3)),
        ),
        max_size=25,
    )
)
def test_money_forms_agree_on_floats(values: list[float | None]) -> None:
    assert_agree(parse_money, money_series, values, dtype=pl.Float64)


@settings(deadline=None)
@given(st.lists(st.one_of(st.none(), st.integers(-(2**63), 2**63 - 1)), max_size=25))
def test_money_forms_agree_on_integers(values: list[int | None]) -> None:
    assert_agree(parse_money, money_series, values, dtype=pl.Int64)


amounts = st.decimals(
    min_value=Decimal("-999999999999.99"),
    max_value=Decimal("999999999999.99"),
    places=2,
    allow_nan=False,
    allow_infinity=False,
)


@settings(deadline=None)
@given(st.lists(amounts, min_size=1, max_size=20), st.booleans())
def test_money_round_trip(values: list[Decimal], wide: bool) -> None:
    texts = [f"¥{v:,.2f}元" for v in values]
    texts += [f"({v:,.2f})" for v in values if v > 0]
    texts += [f"RMB {v:.2f}" for v in values]
    if wide:
        texts = [fullwidth(t) for t in texts]
    expected = (
        values + [-v for v in values if v > 0] + values  # the parenthesised ones are negative
    )
    assert [parse_money(t) for t in texts] == expected
    assert money_series(pl.Series(texts)).values.to_list() == expected


@settings(deadline=None)
@given(amounts)
def test_money_round_trip_in_wan(value: Decimal) -> None:
    text = f"{value / 10000}万"
    assert parse_money(text) == value
    assert money_series(pl.Series([text])).values.to_list() == [value]


# ---------------------------------------------------------------------------------------
# whole and decimal numbers


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12", 12),
        ("1,280", 1280),
        ("12.0", 12),
        ("12.", 12),
        ("-3", -3),
        ("+3", 3),
        ("１２", 12),
        ("−7", -7),
        ("9223372036854775807", 2**63 - 1),
    ],
)
def test_int_accepts(text: str, expected: int) -> None:
    assert parse_int(text) == expected
    result = int_series(pl.Series([text]))
    assert result.values.dtype == pl.Int64
    assert result.values.to_list() == [expected]


@pytest.mark.parametrize("text", ["12.5", "abc", "1,28", "1e3", "9223372036854775808", "1 2"])
def test_int_rejects(text: str) -> None:
    with pytest.raises(ValueError, match=f"not a whole number: '{text}'"):
        parse_int(text)
    assert int_series(pl.Series([text])).errors.to_list() == [f"not a whole number: '{text}'"]


def test_int_from_numeric_columns() -> None:
    assert int_series(pl.Series([1, None])).values.to_list() == [1, None]
    floats = int_series(pl.Series([12.0, 12.5, None, float("nan")]))
    assert floats.values.to_list() == [12, None, None, None]
    assert floats.errors.to_list() == [None, "not a whole number: '12.5'", None, None]


@pytest.mark.parametrize(
    ("text", "expected"),
    [("12.5", 12.5), ("1,234.5", 1234.5), ("-1.5e3", -1500.0), ("１２", 12.0), (".5", 0.5)],
)
def test_float_accepts(text: str, expected: float) -> None:
    assert parse_float(text) == expected
    result = float_series(pl.Series([text]))
    assert result.values.dtype == pl.Float64
    assert result.values.to_list() == [expected]


@pytest.mark.parametrize("text", ["abc", "1.2.3", "1e999", "inf", "12,34"])
def test_float_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="not a number"):
        parse_float(text)
    assert float_series(pl.Series([text])).errors.to_list() == [f"not a number: '{text}'"]


def test_float_from_numeric_columns() -> None:
    result = float_series(pl.Series([1.5, float("nan"), None, float("inf")]))
    assert result.values.to_list() == [1.5, None, None, None]
    assert result.errors.to_list()[:3] == [None, None, None]
    assert result.errors[3] == "not a number: 'inf'"


number_inputs = st.one_of(
    st.none(),
    st.from_regex(_INT_PATTERN, fullmatch=True),
    st.from_regex(_FLOAT_PATTERN, fullmatch=True),
    padded(st.from_regex(_FLOAT_PATTERN, fullmatch=True)),
    st.text(alphabet="0123456789,.-+eE ", max_size=12),
    st.text(max_size=8),
    st.sampled_from(EMPTY_INPUTS),
)


@settings(deadline=None, max_examples=200)
@given(st.lists(number_inputs, max_size=25))
def test_number_forms_agree(texts: list[str | None]) -> None:
    assert_agree(parse_int, int_series, texts)
    assert_agree(parse_float, float_series, texts)
