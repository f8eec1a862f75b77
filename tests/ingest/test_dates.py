"""Dates and times: every accepted spelling, time zones, agreement of both forms, round trips."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rapport.ingest.dates import (
    DATETIME_PATTERN,
    date_series,
    datetime_series,
    parse_date,
    parse_datetime,
)
from tests.ingest.normalizer_checks import EMPTY_INPUTS, assert_agree, fullwidth, padded

SHANGHAI = ZoneInfo("Asia/Shanghai")
NEW_YORK = ZoneInfo("America/New_York")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


# 2024-03-05 in Shanghai (UTC+8, no daylight saving since 1991)
DATETIME_OK = [
    ("2024-03-05", utc(2024, 3, 4, 16)),
    ("2024-03-05 14:30", utc(2024, 3, 5, 6, 30)),
    ("2024-03-05 14:30:00", utc(2024, 3, 5, 6, 30)),
    ("2024-03-05T14:30:00", utc(2024, 3, 5, 6, 30)),
    ("2024-03-05T14:30:00.123", utc(2024, 3, 5, 6, 30, 0, 123000)),
    ("2024-03-05T14:30:00.1234567", utc(2024, 3, 5, 6, 30, 0, 123456)),
    ("2024-03-05T14:30:00+08:00", utc(2024, 3, 5, 6, 30)),
    ("2024-03-05T14:30:00+0800", utc(2024, 3, 5, 6, 30)),
    ("2024-03-05T14:30:00+08", utc(2024, 3, 5, 6, 30)),
    ("2024-03-05T14:30:00Z", utc(2024, 3, 5, 14, 30)),
    ("2024-03-05 14:30:00 UTC", utc(2024, 3, 5, 14, 30)),
    ("2024-03-05T14:30:00-05:00", utc(2024, 3, 5, 19, 30)),
    ("2024/3/5", utc(2024, 3, 4, 16)),
    ("2024/03/05", utc(2024, 3, 4, 16)),
    ("2024/03/05 14:30:05", utc(2024, 3, 5, 6, 30, 5)),
    ("2024.3.5", utc(2024, 3, 4, 16)),
    ("2024年3月5日", utc(2024, 3, 4, 16)),
    ("2024年3月5号", utc(2024, 3, 4, 16)),
    ("2024年3月5日 14:30", utc(2024, 3, 5, 6, 30)),
    ("2024年3月5日14时30分", utc(2024, 3, 5, 6, 30)),
    ("2024年3月5日14时30分15秒", utc(2024, 3, 5, 6, 30, 15)),
    ("2024年3月5日 14点", utc(2024, 3, 5, 6)),
    ("2024年03月05日 下午2:30", utc(2024, 3, 5, 6, 30)),
    ("2024年03月05日 上午11:30", utc(2024, 3, 5, 3, 30)),
    ("2024-03-05 2:30 PM", utc(2024, 3, 5, 6, 30)),
    ("2024-03-05 12:05 am", utc(2024, 3, 4, 16, 5)),
    ("2024-03-05 12:05 pm", utc(2024, 3, 5, 4, 5)),
    ("20240305", utc(2024, 3, 4, 16)),
    ("45356", utc(2024, 3, 4, 16)),
    ("45356.5", utc(2024, 3, 5, 4)),
    ("45356.604166666664", utc(2024, 3, 5, 6, 30)),  # 14:30, in binary fractions of a day
    ("２０２４－０３－０５　１４：３０", utc(2024, 3, 5, 6, 30)),
    ("2024-02-29", utc(2024, 2, 28, 16)),
]

DATETIME_BAD = [
    "2024-02-30",
    "2023-02-29",
    "2024-13-01",
    "2024-00-10",
    "2024-03-00",
    "2024-03-05 24:00",
    "2024-03-05 14:60",
    "2024-03-05 14:30:60",
    "2024-03-05 13:00 am",
    "2024-03-05 14:30+15:00",
    "0999-01-01",
    "2100-01-01",
    "9999-12-31",
    "73051",
    "tomorrow",
    "2024-03",
    "03/05/2024",
    "12345",
    "99999",
    "2024-03-05 14",
    "2024-03-05 下午",
]


@pytest.mark.parametrize(("text", "expected"), DATETIME_OK)
def test_datetime_accepts(text: str, expected: datetime) -> None:
    assert parse_datetime(text, SHANGHAI) == expected
    result = datetime_series(pl.Series([text]), SHANGHAI)
    assert result.values.dtype == pl.Datetime("us", "UTC")
    assert result.values.to_list() == [expected]
    assert result.errors.to_list() == [None]


@pytest.mark.parametrize("text", DATETIME_BAD)
def test_datetime_rejects(text: str) -> None:
    message = f"not a date or time: '{text}'"
    with pytest.raises(ValueError) as exc:
        parse_datetime(text, SHANGHAI)
    assert str(exc.value) == message
    result = datetime_series(pl.Series([text]), SHANGHAI)
    assert result.values.to_list() == [None]
    assert result.errors.to_list() == [message]


@pytest.mark.parametrize("value", EMPTY_INPUTS)
def test_datetime_empty_is_null_without_error(value: str | None) -> None:
    assert parse_datetime(value, SHANGHAI) is None
    result = datetime_series(pl.Series([value], dtype=pl.Utf8), SHANGHAI)
    assert result.values.to_list() == [None]
    assert result.errors.to_list() == [None]


def test_clock_changes() -> None:
    gap, twice = "2024-03-10 02:30", "2024-11-03 01:30"  # New York, spring and autumn
    with pytest.raises(ValueError, match="time does not exist in America/New_York: '2024-03"):
        parse_datetime(gap, NEW_YORK)
    first = utc(2024, 11, 3, 5, 30)  # 01:30 EDT, the earlier of the two instants
    assert parse_datetime(twice, NEW_YORK) == first
    result = datetime_series(pl.Series([gap, twice]), NEW_YORK)
    assert result.values.to_list() == [None, first]
    assert result.errors.to_list() == [
        "time does not exist in America/New_York: '2024-03-10 02:30'",
        None,
    ]


def test_the_offset_wins_over_the_zone() -> None:
    text = "2024-07-01T09:00:00+02:00"
    for tz in (SHANGHAI, NEW_YORK, ZoneInfo("UTC")):
        assert parse_datetime(text, tz) == utc(2024, 7, 1, 7)
        assert datetime_series(pl.Series([text]), tz).values.to_list() == [utc(2024, 7, 1, 7)]


def test_datetime_from_temporal_columns() -> None:
    naive = pl.Series([datetime(2024, 3, 5, 14, 30), None])
    assert datetime_series(naive, SHANGHAI).values.to_list() == [utc(2024, 3, 5, 6, 30), None]
    berlin = pl.Series([datetime(2024, 3, 5, 14, 30)]).dt.replace_time_zone("Europe/Berlin")
    aware = datetime_series(berlin.cast(pl.Datetime("ms", "Europe/Berlin")), SHANGHAI)
    assert aware.values.dtype == pl.Datetime("us", "UTC")
    assert aware.values.to_list() == [utc(2024, 3, 5, 13, 30)]
    days = datetime_series(pl.Series([date(2024, 3, 5)]), SHANGHAI)
    assert days.values.to_list() == [utc(2024, 3, 4, 16)]
    gap = datetime_series(pl.Series([datetime(2024, 3, 10, 2, 30)]), NEW_YORK)
    assert gap.values.to_list() == [None]
    assert gap.errors[0].startswith("time does not exist in America/New_York")
    sentinel = datetime_series(pl.Series([datetime(9999, 12, 31)]), SHANGHAI)
    assert sentinel.values.to_list() == [None]
    assert sentinel.errors[0].startswith("not a date or time")


def test_datetime_from_excel_numbers() -> None:
    result = datetime_series(pl.Series([45356.5, 45356.0, 100.0, None, float("nan")]), SHANGHAI)
    assert result.values.to_list() == [utc(2024, 3, 5, 4), utc(2024, 3, 4, 16), None, None, None]
    assert result.errors[2].startswith("not a date or time")
    ints = datetime_series(pl.Series([45356]), SHANGHAI)
    assert ints.values.to_list() == [utc(2024, 3, 4, 16)]


def test_datetime_scalar_objects() -> None:
    assert parse_datetime(datetime(2024, 3, 5, 14, 30), SHANGHAI) == utc(2024, 3, 5, 6, 30)
    aware = datetime(2024, 3, 5, 14, 30, tzinfo=timezone(timedelta(hours=1)))
    assert parse_datetime(aware, SHANGHAI) == utc(2024, 3, 5, 13, 30)
    assert parse_datetime(date(2024, 3, 5), SHANGHAI) == utc(2024, 3, 4, 16)
    assert parse_datetime(45356.5, SHANGHAI) == utc(2024, 3, 5, 4)
    assert parse_datetime(float("nan"), SHANGHAI) is None
    with pytest.raises(ValueError, match="not a date or time"):
        parse_datetime(True, SHANGHAI)
    with pytest.raises(ValueError, match="not a date or time"):
        parse_datetime(5, SHANGHAI)


# ---------------------------------------------------------------------------------------
# dates (birthdays)


@pytest.mark.parametrize(("text", "_"), DATETIME_OK)
def test_date_accepts_every_datetime_spelling(text: str, _: datetime) -> None:
    expected = date(2024, 2, 29) if text == "2024-02-29" else date(2024, 3, 5)
    assert parse_date(text) == expected
    result = date_series(pl.Series([text]))
    assert result.values.dtype == pl.Date
    assert result.values.to_list() == [expected]


@pytest.mark.parametrize(
    "text",
    ["2024-02-30", "2024-13-01", "0999-01-01", "tomorrow", "12345", "1990年2月30日", "19900230"],
)
def test_date_rejects(text: str) -> None:
    with pytest.raises(ValueError, match=f"not a date: '{text}'"):
        parse_date(text)
    assert date_series(pl.Series([text])).errors.to_list() == [f"not a date: '{text}'"]


def test_date_ignores_time_and_offset() -> None:
    text = "1990-05-17T23:30:00-05:00"
    assert parse_date(text) == date(1990, 5, 17)
    assert date_series(pl.Series([text])).values.to_list() == [date(1990, 5, 17)]


def test_date_from_other_columns() -> None:
    assert date_series(pl.Series([date(1990, 5, 17)])).values.to_list() == [date(1990, 5, 17)]
    stamps = pl.Series([datetime(1990, 5, 17, 23, 0)])
    assert date_series(stamps).values.to_list() == [date(1990, 5, 17)]
    serials = date_series(pl.Series([45356.99, 45356, 5.0, None]))
    assert serials.values.to_list() == [date(2024, 3, 5), date(2024, 3, 5), None, None]
    assert serials.errors[2].startswith("not a date")
    assert parse_date(45356.99) == date(2024, 3, 5)
    assert parse_date(datetime(1990, 5, 17, 23)) == date(1990, 5, 17)
    assert parse_date(date(1990, 5, 17)) == date(1990, 5, 17)
    sentinel = date_series(pl.Series([date(9999, 12, 31), None]))
    assert sentinel.values.to_list() == [None, None]
    assert sentinel.errors[0].startswith("not a date")
    with pytest.raises(ValueError, match="not a date"):
        parse_date(date(9999, 12, 31))


# ---------------------------------------------------------------------------------------
# property tests

DATE_ALPHABET = "0123456789-/.:年月日号时分秒点 T+Z上下午pmPM"
datetime_inputs = st.one_of(
    st.none(),
    st.from_regex(DATETIME_PATTERN, fullmatch=True),
    padded(st.from_regex(DATETIME_PATTERN, fullmatch=True)),
    st.text(alphabet=DATE_ALPHABET, max_size=25),
    st.text(max_size=10),
    st.sampled_from(EMPTY_INPUTS),
)
zones = st.sampled_from([SHANGHAI, NEW_YORK, ZoneInfo("UTC"), ZoneInfo("Australia/Lord_Howe")])


@pytest.mark.slow  # 300 examples, ~7 s of CPU; the smaller properties below run fast
@settings(deadline=None, max_examples=300)
@given(st.lists(datetime_inputs, max_size=25), zones)
def test_datetime_forms_agree(texts: list[str | None], tz: ZoneInfo) -> None:
    assert_agree(lambda t: parse_datetime(t, tz), lambda s: datetime_series(s, tz), texts)


@pytest.mark.slow  # 300 examples, ~5 s of CPU; the smaller properties below run fast
@settings(deadline=None, max_examples=300)
@given(st.lists(datetime_inputs, max_size=25))
def test_date_forms_agree(texts: list[str | None]) -> None:
    assert_agree(parse_date, date_series, texts)


@settings(deadline=None)
@given(
    st.lists(
        st.one_of(
            st.none(), st.floats(allow_nan=True), st.floats(min_value=19000, max_value=81000)
        ),
        max_size=20,
    ),
    zones,
)
def test_forms_agree_on_excel_numbers(values: list[float | None], tz: ZoneInfo) -> None:
    assert_agree(
        lambda t: parse_datetime(t, tz), lambda s: datetime_series(s, tz), values, pl.Float64
    )
    assert_agree(parse_date, date_series, values, pl.Float64)


@settings(deadline=None)
@given(st.lists(st.one_of(st.none(), st.datetimes()), max_size=20), zones)
def test_forms_agree_on_naive_datetimes(values: list[datetime | None], tz: ZoneInfo) -> None:
    assert_agree(
        lambda t: parse_datetime(t, tz),
        lambda s: datetime_series(s, tz),
        values,
        pl.Datetime("us"),
    )
    assert_agree(parse_date, date_series, values, pl.Datetime("us"))


@settings(deadline=None)
@given(st.lists(st.one_of(st.none(), st.dates()), max_size=20), zones)
def test_forms_agree_on_dates(values: list[date | None], tz: ZoneInfo) -> None:
    assert_agree(lambda t: parse_datetime(t, tz), lambda s: datetime_series(s, tz), values, pl.Date)
    assert_agree(parse_date, date_series, values, pl.Date)


def _ampm(moment: datetime) -> str:
    hour = moment.hour % 12 or 12
    half = "下午" if moment.hour >= 12 else "上午"
    return f"{moment:%Y年%m月%d日} {half}{hour}:{moment:%M}"


def _excel(moment: datetime) -> str:
    moment = _truncate(moment, "millisecond")
    days = (moment - datetime(1899, 12, 30)) / timedelta(days=1)
    return repr(days)


#: (format, the precision it keeps)
FORMATS = [
    (lambda m: f"{m:%Y-%m-%d}", "day"),
    (lambda m: f"{m:%Y-%m-%d %H:%M}", "minute"),
    (lambda m: f"{m:%Y-%m-%d %H:%M:%S}", "second"),
    (lambda m: f"{m:%Y-%m-%dT%H:%M:%S.%f}", "microsecond"),
    (lambda m: f"{m:%Y/%m/%d}", "day"),
    (lambda m: f"{m.year}/{m.month}/{m.day}", "day"),
    (lambda m: f"{m:%Y/%m/%d %H:%M:%S}", "second"),
    (lambda m: f"{m.year}.{m.month}.{m.day}", "day"),
    (lambda m: f"{m.year}年{m.month}月{m.day}日", "day"),
    (lambda m: f"{m.year}年{m.month}月{m.day}日 {m:%H:%M}", "minute"),
    (lambda m: f"{m.year}年{m.month}月{m.day}日{m.hour}时{m.minute}分", "minute"),
    (lambda m: f"{m.year}年{m.month}月{m.day}日{m.hour}时{m.minute}分{m.second}秒", "second"),
    (_ampm, "minute"),
    (lambda m: f"{m:%Y-%m-%d %I:%M %p}", "minute"),
    (lambda m: f"{m:%Y%m%d}", "day"),
    (_excel, "millisecond"),
]


def _truncate(moment: datetime, precision: str) -> datetime:
    if precision == "day":
        return moment.replace(hour=0, minute=0, second=0, microsecond=0)
    if precision == "minute":
        return moment.replace(second=0, microsecond=0)
    if precision == "second":
        return moment.replace(microsecond=0)
    if precision == "millisecond":
        return moment.replace(microsecond=moment.microsecond // 1000 * 1000)
    return moment


# Shanghai has had no daylight saving since 1991; Excel serials cover 1954–2119.
moments = st.datetimes(min_value=datetime(1992, 1, 1), max_value=datetime(2099, 12, 31))


@settings(deadline=None)
@given(st.lists(moments, min_size=1, max_size=5), st.booleans())
def test_datetime_round_trip_in_shanghai(values: list[datetime], wide: bool) -> None:
    texts, instants, days = [], [], []
    for fmt, precision in FORMATS:
        for value in values:
            text = fmt(value)
            texts.append(fullwidth(text) if wide else text)
            kept = _truncate(value, precision)
            instants.append(kept.replace(tzinfo=SHANGHAI).astimezone(UTC))
            days.append(kept.date())
    assert [parse_datetime(t, SHANGHAI) for t in texts] == instants
    assert datetime_series(pl.Series(texts), SHANGHAI).values.to_list() == instants
    assert [parse_date(t) for t in texts] == days
    assert date_series(pl.Series(texts)).values.to_list() == days


@settings(deadline=None)
@given(
    st.lists(moments, min_size=1, max_size=10),
    st.integers(-14 * 60, 14 * 60),
    st.sampled_from(["{sign}{h:02}:{m:02}", "{sign}{h:02}{m:02}", " {sign}{h:02}:{m:02}"]),
)
def test_datetime_round_trip_with_offsets(values: list[datetime], minutes: int, fmt: str) -> None:
    sign = "-" if minutes < 0 else "+"
    offset = fmt.format(sign=sign, h=abs(minutes) // 60, m=abs(minutes) % 60)
    texts = [f"{v:%Y-%m-%dT%H:%M:%S}{offset}" for v in values]
    expected = [
        v.replace(microsecond=0, tzinfo=timezone(timedelta(minutes=minutes))).astimezone(UTC)
        for v in values
    ]
    assert [parse_datetime(t, SHANGHAI) for t in texts] == expected
    assert datetime_series(pl.Series(texts), SHANGHAI).values.to_list() == expected
