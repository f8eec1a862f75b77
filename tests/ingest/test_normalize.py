"""Yes/no, enumerations, e-mail addresses and phone numbers; the one import point."""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo

import phonenumbers
import polars as pl
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from rapport import domain
from rapport.i18n.enums import LABELS, SYNONYMS, domain_enums
from rapport.ingest import normalize as nz
from rapport.ingest.normalize import (
    EMAIL_PATTERN,
    bool_series,
    email_series,
    enum_series,
    normalize_email,
    normalize_phone,
    parse_bool,
    parse_enum,
    phone_series,
)
from tests.ingest.normalizer_checks import EMPTY_INPUTS, assert_agree, fullwidth, padded


def test_every_normalizer_is_importable_from_normalize() -> None:
    names = [
        "Normalized",
        "to_halfwidth",
        "halfwidth_series",
        "parse_money",
        "money_series",
        "parse_datetime",
        "datetime_series",
        "parse_date",
        "date_series",
        "normalize_phone",
        "phone_series",
        "normalize_email",
        "email_series",
        "parse_bool",
        "bool_series",
        "parse_enum",
        "enum_series",
        "int_series",
        "float_series",
    ]
    assert all(callable(getattr(nz, name)) for name in names)
    assert set(names) <= set(nz.__all__)


# ---------------------------------------------------------------------------------------
# yes / no

TRUE_TEXTS = ["是", "对", "有", "真", "√", "✓", "✔", "true", "True", "T", "yes", "YES", "y", "1"]
FALSE_TEXTS = ["否", "错", "无", "假", "×", "✗", "✘", "false", "F", "no", "N", "0", "off"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [(t, True) for t in [*TRUE_TEXTS, "ｙｅｓ", " 是 ", "ＴＲＵＥ", "１"]]
    + [(t, False) for t in [*FALSE_TEXTS, "ｎｏ", "０"]],
)
def test_bool_accepts(text: str, expected: bool) -> None:
    assert parse_bool(text) is expected
    result = bool_series(pl.Series([text]))
    assert result.values.dtype == pl.Boolean
    assert result.values.to_list() == [expected]
    assert result.errors.to_list() == [None]


@pytest.mark.parametrize("text", ["maybe", "2", "是的吧", "yess", "x"])
def test_bool_rejects(text: str) -> None:
    with pytest.raises(ValueError, match=f"not yes or no: '{text}'"):
        parse_bool(text)
    assert bool_series(pl.Series([text])).errors.to_list() == [f"not yes or no: '{text}'"]


def test_wu_means_no_in_a_yes_no_column() -> None:
    assert parse_bool("无") is False
    assert bool_series(pl.Series(["有", "无", None, "", "N/A"])).values.to_list() == [
        True,
        False,
        None,
        None,
        None,
    ]


def test_bool_from_typed_columns() -> None:
    assert bool_series(pl.Series([True, None])).values.to_list() == [True, None]
    ints = bool_series(pl.Series([1, 0, 2, None]))
    assert ints.values.to_list() == [True, False, None, None]
    assert ints.errors.to_list() == [None, None, "not yes or no: '2'", None]
    assert parse_bool(True) is True
    assert parse_bool(0) is False
    assert parse_bool(1.0) is True


bool_inputs = st.one_of(
    st.none(),
    padded(st.sampled_from(TRUE_TEXTS + FALSE_TEXTS)),
    st.sampled_from(EMPTY_INPUTS),
    st.text(max_size=4),
)


@settings(deadline=None)
@given(st.lists(bool_inputs, max_size=25))
def test_bool_forms_agree(texts: list[str | None]) -> None:
    assert_agree(parse_bool, bool_series, texts)


@settings(deadline=None)
@given(st.lists(st.one_of(st.none(), st.integers(-3, 3), st.floats(-2, 2)), max_size=20))
def test_bool_forms_agree_on_numbers(values: list[float | None]) -> None:
    floats = [None if v is None else float(v) for v in values]
    assert_agree(parse_bool, bool_series, floats, pl.Float64)
    ints = [None if v is None else int(v) for v in values]
    assert_agree(parse_bool, bool_series, ints, pl.Int64)


# ---------------------------------------------------------------------------------------
# enumerations


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("已完成", "completed"),
        ("交易成功", "completed"),
        ("Completed", "completed"),
        ("ＣＯＭＰＬＥＴＥＤ", "completed"),
        (" paid ", "paid"),
        ("已发货", "shipped"),
        ("交易关闭", "cancelled"),
        ("canceled", "cancelled"),
        ("退货退款", "refunded"),
    ],
)
def test_enum_accepts(text: str, expected: str) -> None:
    assert parse_enum(text, domain.OrderStatus) == expected
    result = enum_series(pl.Series([text]), domain.OrderStatus)
    assert result.values.dtype == pl.Utf8
    assert result.values.to_list() == [expected]
    assert result.errors.to_list() == [None]


def test_enum_error_names_the_accepted_values() -> None:
    message = (
        "unknown value '异常订单' for order status; use one of: pending, paid, shipped, "
        "completed, cancelled, refunding, refunded"
        " (or 待付款, 已付款, 已发货, 已完成, 已取消, 退款中, 已退款)"
    )
    with pytest.raises(ValueError) as exc:
        parse_enum("异常订单", domain.OrderStatus)
    assert str(exc.value) == message
    assert enum_series(pl.Series(["异常订单"]), domain.OrderStatus).errors.to_list() == [message]


def test_enum_error_of_a_long_enum_shows_a_few() -> None:
    with pytest.raises(ValueError, match=r"use one of: online_store, app, .*, …") as exc:
        parse_enum("火星", domain.Channel)
    assert "(or 官网商城, 移动应用" in str(exc.value)


def test_enum_other_enums() -> None:
    assert parse_enum("男", domain.Gender) == "male"
    assert parse_enum("F", domain.Gender) == "female"
    assert parse_enum("紧急", domain.TicketPriority) == "urgent"
    assert parse_enum("In progress", domain.TicketStatus) == "in_progress"
    result = enum_series(pl.Series(["投诉", "建议", "咨询", "表扬", None]), domain.TicketKind)
    assert result.values.to_list() == ["complaint", "suggestion", "inquiry", "praise", None]


@pytest.mark.parametrize("value", EMPTY_INPUTS)
def test_enum_empty_is_null_without_error(value: str | None) -> None:
    assert parse_enum(value, domain.OrderStatus) is None
    result = enum_series(pl.Series([value], dtype=pl.Utf8), domain.OrderStatus)
    assert result.values.to_list() == [None]
    assert result.errors.to_list() == [None]


def _spellings(enum_type: type) -> list[str]:
    spellings = [m.value for m in enum_type]
    spellings += [text for pair in LABELS[enum_type].values() for text in pair]
    return spellings + list(SYNONYMS.get(enum_type, {}))


def _case(text: str, mode: int) -> str:
    return [text, text.upper(), text.lower(), text.title(), text.replace("_", " ")][mode]


@settings(deadline=None, max_examples=200)
@given(st.data())
def test_enum_forms_agree(data: st.DataObject) -> None:
    enum_type = data.draw(st.sampled_from(domain_enums()))
    spelled = st.builds(_case, padded(st.sampled_from(_spellings(enum_type))), st.integers(0, 4))
    texts = data.draw(
        st.lists(
            st.one_of(st.none(), spelled, st.text(max_size=6), st.sampled_from(EMPTY_INPUTS)),
            max_size=25,
        )
    )
    result = assert_agree(
        lambda t: parse_enum(t, enum_type), lambda s: enum_series(s, enum_type), texts
    )
    assert set(result.values.drop_nulls()) <= {m.value for m in enum_type}


# ---------------------------------------------------------------------------------------
# e-mail


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Bob@Example.COM", "bob@example.com"),
        (" bob.smith+crm@mail.example.cn ", "bob.smith+crm@mail.example.cn"),
        ("ｂｏｂ＠ｅｘａｍｐｌｅ．ｃｏｍ", "bob@example.com"),
        ("zhang.san@qq。com", "zhang.san@qq.com"),
        ("o'neil@example.ie", "o'neil@example.ie"),
        ("a@b-c.example.org", "a@b-c.example.org"),
    ],
)
def test_email_accepts(text: str, expected: str) -> None:
    assert normalize_email(text) == expected
    result = email_series(pl.Series([text]))
    assert result.values.to_list() == [expected]
    assert result.errors.to_list() == [None]


@pytest.mark.parametrize(
    "text",
    [
        "bob@",
        "@example.com",
        "bob",
        "bob@example",
        "bob@@example.com",
        "bob@exa mple.com",
        "bob..x@example.com",
        "bob@-example.com",
        "张三@example.com",
        "bob@example.c0m",
        "x" * 250 + "@example.com",
    ],
)
def test_email_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="not an e-mail address"):
        normalize_email(text)
    result = email_series(pl.Series([text]))
    assert result.values.to_list() == [None]
    assert result.errors[0].startswith("not an e-mail address: '")


email_inputs = st.one_of(
    st.none(),
    st.emails(),
    padded(st.emails()),
    st.from_regex(EMAIL_PATTERN, fullmatch=True),
    st.text(alphabet="abcXYZ09@.-_+ ＠．。", max_size=15),
    st.text(max_size=8),
    st.sampled_from(EMPTY_INPUTS),
)


@settings(deadline=None)
@given(st.lists(email_inputs, max_size=25))
def test_email_forms_agree(texts: list[str | None]) -> None:
    assert_agree(normalize_email, email_series, texts)


# ---------------------------------------------------------------------------------------
# phone


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("13812345678", "+8613812345678"),
        ("138 1234 5678", "+8613812345678"),
        ("138-1234-5678", "+8613812345678"),
        ("+86 138 1234 5678", "+8613812345678"),
        ("+86-138-1234-5678", "+8613812345678"),
        ("0086 13812345678", "+8613812345678"),
        ("8613812345678", "+8613812345678"),
        ("１３８１２３４５６７８", "+8613812345678"),
        ("（０１０）１２３４５６７８", "+861012345678"),
        ("010-12345678", "+861012345678"),
        ("0755-12345678", "+8675512345678"),
        ("010-12345678 转 123", "+861012345678"),
        ("010-12345678 ext. 123", "+861012345678"),
        ("+1 212 555 0100", "+12125550100"),
    ],
)
def test_phone_accepts(text: str, expected: str) -> None:
    assert normalize_phone(text) == expected
    result = phone_series(pl.Series([text]))
    assert result.values.to_list() == [expected]
    assert result.errors.to_list() == [None]


@pytest.mark.parametrize("text", ["12345", "abc", "138123456789", "1381234567", "+86 123"])
def test_phone_rejects(text: str) -> None:
    with pytest.raises(ValueError, match=re.escape(f"not a phone number: '{text}'")):
        normalize_phone(text)
    assert phone_series(pl.Series([text])).errors.to_list() == [f"not a phone number: '{text}'"]


def test_phone_other_region() -> None:
    assert normalize_phone("(212) 555-0100", region="US") == "+12125550100"
    assert phone_series(pl.Series(["(212) 555-0100"]), region="US").values.to_list() == [
        "+12125550100"
    ]


def test_phone_from_numeric_columns() -> None:
    floats = phone_series(pl.Series([13812345678.0, None]))
    assert floats.values.to_list() == ["+8613812345678", None]
    ints = phone_series(pl.Series([13812345678, 12345]))
    assert ints.values.to_list() == ["+8613812345678", None]
    assert ints.errors.to_list() == [None, "not a phone number: '12345'"]
    assert normalize_phone(13812345678.0) == "+8613812345678"


@pytest.mark.parametrize("value", EMPTY_INPUTS)
def test_phone_empty_is_null_without_error(value: str | None) -> None:
    assert normalize_phone(value) is None
    result = phone_series(pl.Series([value], dtype=pl.Utf8))
    assert result.values.to_list() == [None]
    assert result.errors.to_list() == [None]


MOBILE_PREFIXES = ["130", "133", "135", "138", "139", "150", "158", "166", "177", "186", "199"]
mobiles = st.builds(
    lambda prefix, rest: prefix + rest,
    st.sampled_from(MOBILE_PREFIXES),
    st.text(alphabet="0123456789", min_size=8, max_size=8),
)
MOBILE_FORMATS = [
    lambda n: n,
    lambda n: f"{n[:3]} {n[3:7]} {n[7:]}",
    lambda n: f"{n[:3]}-{n[3:7]}-{n[7:]}",
    lambda n: f"+86 {n[:3]} {n[3:7]} {n[7:]}",
    lambda n: f"+86-{n}",
    lambda n: f"0086 {n}",
    lambda n: f"0086{n}",
    lambda n: f"86{n}",
    lambda n: f"(+86) {n}",
    lambda n: fullwidth(f"{n[:3]} {n[3:7]} {n[7:]}"),
]


@settings(deadline=None)
@given(st.lists(mobiles, min_size=1, max_size=5))
def test_phone_round_trip(numbers: list[str]) -> None:
    for number in numbers:
        assume(phonenumbers.is_valid_number(phonenumbers.parse(number, "CN")))
    texts = [fmt(n) for fmt in MOBILE_FORMATS for n in numbers]
    expected = ["+86" + n for _ in MOBILE_FORMATS for n in numbers]
    assert [normalize_phone(t) for t in texts] == expected
    assert phone_series(pl.Series(texts)).values.to_list() == expected


phone_inputs = st.one_of(
    st.none(),
    padded(mobiles),
    st.text(alphabet="0123456789 -+()", max_size=16),
    st.text(max_size=8),
    st.sampled_from(EMPTY_INPUTS),
)


@settings(deadline=None)
@given(st.lists(phone_inputs, max_size=25))
def test_phone_forms_agree(texts: list[str | None]) -> None:
    assert_agree(normalize_phone, phone_series, texts)


# ---------------------------------------------------------------------------------------
# column types


def _all_normalizers() -> list:
    tz = ZoneInfo("Asia/Shanghai")
    return [
        (nz.money_series, pl.Decimal(14, 2)),
        (lambda s: nz.datetime_series(s, tz), pl.Datetime("us", "UTC")),
        (nz.date_series, pl.Date),
        (nz.int_series, pl.Int64),
        (nz.float_series, pl.Float64),
        (bool_series, pl.Boolean),
        (lambda s: enum_series(s, domain.Gender), pl.Utf8),
        (phone_series, pl.Utf8),
        (email_series, pl.Utf8),
    ]


@pytest.mark.parametrize(
    "column",
    [pl.Series("c", [], dtype=pl.Utf8), pl.Series("c", [None, None]), pl.Series("c", ["", " "])],
    ids=["empty", "all-null", "all-blank"],
)
def test_value_types_do_not_depend_on_the_data(column: pl.Series) -> None:
    for normalize, dtype in _all_normalizers():
        result = normalize(column)
        assert result.values.dtype == dtype
        assert result.errors.dtype == pl.Utf8
        assert result.values.name == result.errors.name == "c"
        assert len(result.values) == len(column)
        assert result.error_count == 0
