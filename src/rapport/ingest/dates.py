"""Dates and times of import files: ISO, slashes, dots, Chinese, compact and Excel serials.

Accepted spellings (after full-width → half-width and stripping)::

    2024-03-05          2024/3/5          2024.3.5          2024年3月5日 (or 5号)
    2024-03-05 14:30    2024-03-05 14:30:00    2024-03-05T14:30:00.123
    2024-03-05T14:30:00+08:00 / +0800 / +08 / Z / UTC     (the offset wins over the zone)
    2024/03/05 14:30:05     2024年3月5日 14:30     2024年3月5日14时30分(15秒)
    2024年03月05日 下午2:30    2024-03-05 2:30 PM   (上午/早上/凌晨/am and 下午/晚上/pm)
    20240305            45356.5   (an Excel serial day number: 20000 ≤ n < 73051,
                                   days since 1899-12-30, the fraction is the time of day)

Decisions:

- A value without an offset is a wall-clock time in the import's time zone ``tz``; it is
  converted to UTC. A wall-clock time that falls in a daylight-saving gap does not exist and
  is an error; one that occurs twice (clocks set back) is taken at its earlier instant.
- Years outside 1000–2099 are rejected, also in columns that are already dates: they are
  typos or sentinels (``9999-12-31``), and past 2099 the time-zone rules Polars knows end
  (it would stop applying daylight saving). Excel serials are therefore limited to
  20000–73050 (1954-10-03 to 2099-12-31). Sub-microsecond digits are truncated. Excel
  serials are rounded to the millisecond (Excel stores times as binary fractions).
- A separator between date and time may be a space, ``T``, or nothing
  (``2024年3月5日14时30分``); the date separators of one value need not match.
- Both forms share one regular expression (the subset that Python's ``re`` and Polars' Rust
  ``regex`` read alike) and the same arithmetic, so they agree value for value.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import polars as pl

from rapport.ingest.text import (
    Normalized,
    clean,
    clean_series,
    finish,
    missing_reason,
    quote,
)

_AMPM = r"上午|下午|早上|凌晨|晚上|am|pm|a\.m\.|p\.m\."
_DATE = (
    r"(?P<y>[0-9]{4})(?:[-/.]|[ ]*年[ ]*)(?P<mo>[0-9]{1,2})(?:[-/.]|[ ]*月[ ]*)"
    r"(?P<d>[0-9]{1,2})[ ]*(?:日|号)?"
)
_TIME = (
    r"(?:[ T]*(?P<ap>" + _AMPM + r")?[ ]*(?P<h>[0-9]{1,2})[ ]*[:时点][ ]*"
    r"(?:(?P<mi>[0-9]{1,2})[ ]*"
    r"(?:[:分][ ]*(?P<s>[0-9]{1,2})(?:[.,](?P<f>[0-9]{1,9}))?[ ]*秒?|分)?)?"
    r"[ ]*(?P<ap2>" + _AMPM + r")?"
    r"[ ]*(?P<tz>z|utc|gmt|[+-][0-9]{2}(?::?[0-9]{2})?)?)?"
)
_COMPACT = r"(?P<cy>[0-9]{4})(?P<cm>[0-9]{2})(?P<cd>[0-9]{2})"
_EXCEL = r"(?P<xl>[0-9]{5}(?:\.[0-9]+)?)"

#: The one pattern both forms match a cleaned value against.
DATETIME_PATTERN = rf"(?i)^(?:{_DATE}{_TIME}|{_COMPACT}|{_EXCEL})$"
_DATETIME_RE = re.compile(DATETIME_PATTERN)

_PM = ("下午", "晚上", "pm", "p.m.")
_AM = ("上午", "早上", "凌晨", "am", "a.m.")
_UTC_WORDS = ("z", "utc", "gmt")
YEARS = (1000, 2099)
EXCEL_SERIALS = (20000, 73051)  # 1954-10-03 up to 2100-01-01
_EXCEL_EPOCH_DAYS = -25569  # 1899-12-30 in days since 1970-01-01
_DAY_MS = 86_400_000
_DAY_US = 86_400_000_000
_EPOCH = datetime(1970, 1, 1)

DATETIME_ERROR = "not a date or time"
DATE_ERROR = "not a date"


# ---------------------------------------------------------------------------------------
# shared arithmetic (integers and floats only, so that both forms compute the same)


def _round_half_away(x: float) -> int:
    """Round to the nearest integer, halves away from zero (Rust's ``f64::round``)."""
    whole = math.trunc(x)
    if abs(x - whole) >= 0.5:
        whole += 1 if x > 0 else -1
    return whole


def _days_in_month(year: int, month: int) -> int:
    if month == 2:
        return 29 if (year % 4 == 0 and year % 100 != 0) or year % 400 == 0 else 28
    return 30 if month in (4, 6, 9, 11) else 31


def _days_in_month_expr(year: pl.Expr, month: pl.Expr) -> pl.Expr:
    leap = ((year % 4 == 0) & (year % 100 != 0)) | (year % 400 == 0)
    return (
        pl.when(month == 2)
        .then(pl.when(leap).then(29).otherwise(28))
        .when(month.is_in([4, 6, 9, 11]))
        .then(30)
        .otherwise(31)
    )


def _days_from_civil_expr(year: pl.Expr, month: pl.Expr, day: pl.Expr) -> pl.Expr:
    """Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm, y ≥ 0)."""
    y = year - (month <= 2).cast(pl.Int64)
    era = y // 400
    yoe = y - era * 400
    mp = (month + 9) % 12
    doy = (153 * mp + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def _valid_date(y: int, mo: int, d: int) -> bool:
    return YEARS[0] <= y <= YEARS[1] and 1 <= mo <= 12 and 1 <= d <= _days_in_month(y, mo)


# ---------------------------------------------------------------------------------------
# scalar forms


def _excel_ms(days: float) -> int | None:
    if not (EXCEL_SERIALS[0] <= days < EXCEL_SERIALS[1]):
        return None
    return _round_half_away(days * _DAY_MS) + _EXCEL_EPOCH_DAYS * _DAY_MS


def _offset_minutes(tz: str) -> int | None:
    """Minutes east of UTC of ``+08:00``/``+0800``/``+08``/``Z``; ``None`` when out of range."""
    if tz.lower() in _UTC_WORDS:
        return 0
    digits = tz[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:4] or 0)
    if hours > 14 or minutes > 59:
        return None
    return (hours * 60 + minutes) * (-1 if tz[0] == "-" else 1)


def _localize(naive: datetime, tz: ZoneInfo) -> datetime | None:
    """UTC instant of a wall-clock time in ``tz``; ``None`` if the clock skipped it."""
    aware = naive.replace(tzinfo=tz)  # fold=0: the earlier of two instants
    instant = aware.astimezone(UTC)
    if instant.astimezone(tz).replace(tzinfo=None) != naive:
        return None
    return instant


def _wall_clock(text: Any) -> datetime | None:
    """The wall-clock time a scalar spells (aware when it carries an offset)."""
    bad = ValueError(f"{DATETIME_ERROR}: {quote(str(text))}")
    if isinstance(text, date):
        if not YEARS[0] <= text.year <= YEARS[1]:
            raise bad
        if isinstance(text, datetime):
            return text
        return datetime(text.year, text.month, text.day)
    if isinstance(text, bool):
        raise bad
    if isinstance(text, int | float | Decimal):
        days = float(text)
        if math.isnan(days):
            return None
        ms = _excel_ms(days) if math.isfinite(days) else None
        if ms is None:
            raise bad
        return _EPOCH + timedelta(milliseconds=ms)
    value = clean(text)
    if value is None:
        return None
    found = _DATETIME_RE.match(value)
    if found is None:
        raise bad
    g = found.groupdict()
    if g["xl"] is not None:
        ms = _excel_ms(float(g["xl"]))
        if ms is None:
            raise bad
        return _EPOCH + timedelta(milliseconds=ms)
    y, mo, d = (int(g[a] or g[b]) for a, b in (("y", "cy"), ("mo", "cm"), ("d", "cd")))
    hour, minute, second = (int(g[k] or 0) for k in ("h", "mi", "s"))
    micro = int((g["f"] or "").ljust(6, "0")[:6])
    ampm = (g["ap"] or g["ap2"] or "").lower()
    if ampm in _AM and hour > 12:
        raise bad
    if ampm in _PM and hour < 12:
        hour += 12
    elif ampm in _AM and hour == 12:
        hour = 0
    if not _valid_date(y, mo, d) or hour > 23 or minute > 59 or second > 59:
        raise bad
    naive = datetime(y, mo, d, hour, minute, second, micro)
    if g["tz"] is None:
        return naive
    offset = _offset_minutes(g["tz"])
    if offset is None:
        raise bad
    return (naive - timedelta(minutes=offset)).replace(tzinfo=UTC)


def parse_datetime(text: Any, tz: ZoneInfo) -> datetime | None:
    """Parse a date or date-time into an aware UTC :class:`~datetime.datetime`.

    Parameters
    ----------
    text
        A string in one of the module's formats, an Excel serial (``int``/``float``), a
        :class:`~datetime.datetime` (naive ones are in ``tz``) or a :class:`~datetime.date`
        (midnight in ``tz``). Empty values give ``None``.
    tz
        The zone of values that carry no offset.

    Returns
    -------
    datetime or None
        The instant, with ``tzinfo=UTC``.

    Raises
    ------
    ValueError
        With a reason such as ``not a date or time: 'tomorrow'``.
    """
    if text is None:
        return None
    wall = _wall_clock(text)
    if wall is None:
        return None
    if wall.tzinfo is not None:
        return wall.astimezone(UTC)
    instant = _localize(wall, tz)
    if instant is None:
        raise ValueError(f"time does not exist in {tz.key}: {quote(str(text))}")
    return instant


def parse_date(text: Any) -> date | None:
    """Parse a calendar date (a birthday): the formats of :func:`parse_datetime`.

    A time part is ignored (it must still be spelled in an accepted way), and so is an offset:
    the date is the one written. An Excel serial gives the day it falls on. No time-zone
    conversion happens.

    Raises
    ------
    ValueError
        With a reason such as ``not a date: '2024-02-30'``.
    """
    if text is None:
        return None
    bad = ValueError(f"{DATE_ERROR}: {quote(str(text))}")
    if isinstance(text, date):
        if not YEARS[0] <= text.year <= YEARS[1]:
            raise bad
        return text.date() if isinstance(text, datetime) else text
    if isinstance(text, bool):
        raise bad
    if isinstance(text, int | float | Decimal):
        days = float(text)
        if math.isnan(days):
            return None
        return _excel_date(days, bad)
    value = clean(text)
    if value is None:
        return None
    found = _DATETIME_RE.match(value)
    if found is None:
        raise bad
    g = found.groupdict()
    if g["xl"] is not None:
        return _excel_date(float(g["xl"]), bad)
    y, mo, d = (int(g[a] or g[b]) for a, b in (("y", "cy"), ("mo", "cm"), ("d", "cd")))
    if not _valid_date(y, mo, d):
        raise bad
    return date(y, mo, d)


def _excel_date(days: float, bad: ValueError) -> date:
    if not (math.isfinite(days) and EXCEL_SERIALS[0] <= days < EXCEL_SERIALS[1]):
        raise bad
    return _EPOCH.date() + timedelta(days=math.floor(days) + _EXCEL_EPOCH_DAYS)


# ---------------------------------------------------------------------------------------
# vectorized forms


def _components(text: pl.Series) -> pl.DataFrame:
    """Integer components of cleaned values (null where the pattern does not match)."""
    g = text.str.extract_groups(DATETIME_PATTERN).struct.unnest()
    num = {c: g[c].cast(pl.Int64) for c in g.columns if c not in ("ap", "ap2", "tz", "f", "xl")}
    return pl.DataFrame(
        {
            "y": pl.select(pl.coalesce(pl.lit(num["y"]), pl.lit(num["cy"]))).to_series(),
            "mo": pl.select(pl.coalesce(pl.lit(num["mo"]), pl.lit(num["cm"]))).to_series(),
            "d": pl.select(pl.coalesce(pl.lit(num["d"]), pl.lit(num["cd"]))).to_series(),
            "h": num["h"],
            "mi": num["mi"],
            "s": num["s"],
            "f": g["f"],
            "ap": pl.select(pl.coalesce(pl.lit(g["ap"]), pl.lit(g["ap2"]))).to_series(),
            "tz": g["tz"],
            "xl": g["xl"].cast(pl.Float64),
        }
    )


def _date_valid(y: pl.Expr, mo: pl.Expr, d: pl.Expr) -> pl.Expr:
    return (
        y.is_between(*YEARS)
        & mo.is_between(1, 12)
        & (d >= 1)
        & (d <= _days_in_month_expr(y, mo.clip(1, 12)))
    )


def _temporal_datetimes(s: pl.Series, tz: ZoneInfo) -> Normalized:
    """``pl.Date``/``pl.Datetime`` input as UTC datetimes (naive values are in ``tz``)."""
    zone = s.dtype.time_zone if isinstance(s.dtype, pl.Datetime) else None
    stamps = s.cast(pl.Datetime("us", zone))
    if zone is None:
        converted = stamps.dt.replace_time_zone(tz.key, ambiguous="earliest", non_existent="null")
    else:
        converted = stamps
    in_range = stamps.dt.year().is_between(*YEARS)
    values = pl.select(
        pl.when(pl.lit(in_range)).then(pl.lit(converted).dt.convert_time_zone("UTC"))
    ).to_series()
    reasons = pl.select(
        pl.when(pl.lit(s).is_null())
        .then(pl.lit(None, pl.Utf8))
        .when(~pl.lit(in_range))
        .then(pl.lit(DATETIME_ERROR))
        .when(pl.lit(values).is_null())
        .then(pl.lit(f"time does not exist in {tz.key}"))
    ).to_series()
    return finish(s, values, reasons)


def datetime_series(s: pl.Series, tz: ZoneInfo) -> Normalized:
    """The vectorized :func:`parse_datetime`: values are ``pl.Datetime("us", "UTC")``.

    Parameters
    ----------
    s
        Text (any format of this module), Excel serials (numbers), ``pl.Date`` or
        ``pl.Datetime`` (naive values are in ``tz``, aware ones are converted).
    tz
        The zone of values that carry no offset.
    """
    if s.dtype == pl.Date or isinstance(s.dtype, pl.Datetime):
        return _temporal_datetimes(s, tz)
    if s.dtype.is_numeric():
        floats = s.cast(pl.Float64)
        serials = pl.select(
            pl.when(pl.lit(floats).is_nan()).then(None).otherwise(pl.lit(floats))
        ).to_series()
        c = pl.DataFrame({"xl": serials}).with_columns(
            *(pl.lit(None, pl.Int64).alias(k) for k in ("y", "mo", "d", "h", "mi", "s")),
            pl.lit(None, pl.Utf8).alias("f"),
            pl.lit(None, pl.Utf8).alias("ap"),
            pl.lit(None, pl.Utf8).alias("tz"),
        )
        present = serials.is_not_null()
    else:
        text = clean_series(s)
        c = _components(text)
        present = text.is_not_null()
    y, mo, d, h, mi, sec = (pl.col(k) for k in ("y", "mo", "d", "h", "mi", "s"))
    ap = pl.col("ap").str.to_lowercase()
    am, pm = ap.is_in(list(_AM)).fill_null(False), ap.is_in(list(_PM)).fill_null(False)
    h = h.fill_null(0)
    hour = pl.when(pm & (h < 12)).then(h + 12).when(am & (h == 12)).then(0).otherwise(h)
    mi, sec = mi.fill_null(0), sec.fill_null(0)
    micro = pl.col("f").str.pad_end(6, "0").str.slice(0, 6).cast(pl.Int64).fill_null(0)
    tzs = pl.col("tz").str.replace(":", "", literal=True)
    is_utc = pl.col("tz").str.to_lowercase().is_in(list(_UTC_WORDS))
    off_h = tzs.str.slice(1, 2).cast(pl.Int64, strict=False)
    off_m = tzs.str.slice(3, 2).cast(pl.Int64, strict=False).fill_null(0)
    sign = pl.when(tzs.str.starts_with("-")).then(-1).otherwise(1)
    offset = pl.when(is_utc).then(0).otherwise(sign * (off_h * 60 + off_m))
    offset_ok = is_utc | ((off_h <= 14) & (off_m <= 59))
    xl = pl.col("xl")
    xl_ok = xl.is_between(EXCEL_SERIALS[0], EXCEL_SERIALS[1], closed="left")
    xl_ms = (pl.when(xl_ok).then(xl) * _DAY_MS).round(0, mode="half_away_from_zero")
    xl_us = xl_ms.cast(pl.Int64) * 1000 + _EXCEL_EPOCH_DAYS * _DAY_US
    ok_parts = (
        _date_valid(y, mo, d)
        & ~(am & (h > 12))
        & (hour <= 23)
        & (mi <= 59)
        & (sec <= 59)
        & (pl.col("tz").is_null() | offset_ok)
    )
    local_us = (
        _days_from_civil_expr(y, mo, d) * _DAY_US
        + hour * 3_600_000_000
        + mi * 60_000_000
        + sec * 1_000_000
        + micro
    )
    frame = c.select(
        pl.when(xl.is_not_null()).then(xl_us).when(ok_parts).then(local_us).alias("local"),
        offset.alias("offset"),
    )
    local = frame["local"].cast(pl.Datetime("us"))
    values = frame.select(
        pl.when(pl.col("offset").is_not_null())
        .then((pl.col("local") - pl.col("offset") * 60_000_000).cast(pl.Datetime("us", "UTC")))
        .otherwise(
            pl.lit(local)
            .dt.replace_time_zone(tz.key, ambiguous="earliest", non_existent="null")
            .dt.convert_time_zone("UTC")
        )
    ).to_series()
    reasons = pl.select(
        pl.when(~pl.lit(present))
        .then(pl.lit(None, pl.Utf8))
        .when(pl.lit(frame["local"]).is_null())
        .then(pl.lit(DATETIME_ERROR))
        .when(pl.lit(values).is_null())
        .then(pl.lit(f"time does not exist in {tz.key}"))
    ).to_series()
    return finish(s, values, reasons)


def date_series(s: pl.Series) -> Normalized:
    """The vectorized :func:`parse_date`: values are ``pl.Date``, no time-zone conversion."""
    if s.dtype == pl.Date or isinstance(s.dtype, pl.Datetime):
        days = s.cast(pl.Date) if s.dtype == pl.Date else s.dt.date()
        values = pl.select(
            pl.when(pl.lit(days).dt.year().is_between(*YEARS)).then(pl.lit(days))
        ).to_series()
        return finish(s, values, missing_reason(s.is_not_null(), values, DATE_ERROR))
    if s.dtype.is_numeric():
        xl = s.cast(pl.Float64)
        xl = pl.select(pl.when(pl.lit(xl).is_nan()).then(None).otherwise(pl.lit(xl))).to_series()
        c = pl.DataFrame({"xl": xl}).with_columns(
            *(pl.lit(None, pl.Int64).alias(k) for k in ("y", "mo", "d"))
        )
        present = xl.is_not_null()
    else:
        text = clean_series(s)
        c = _components(text)
        present = text.is_not_null()
    y, mo, d, xl_col = pl.col("y"), pl.col("mo"), pl.col("d"), pl.col("xl")
    xl_ok = xl_col.is_between(EXCEL_SERIALS[0], EXCEL_SERIALS[1], closed="left")
    day_number = (
        pl.when(xl_col.is_not_null())
        .then(pl.when(xl_ok).then(xl_col).floor().cast(pl.Int64) + _EXCEL_EPOCH_DAYS)
        .when(_date_valid(y, mo, d))
        .then(_days_from_civil_expr(y, mo, d))
    )
    values = c.select(day_number.cast(pl.Int32).cast(pl.Date)).to_series()
    reasons = pl.select(
        pl.when(pl.lit(present) & pl.lit(values).is_null()).then(pl.lit(DATE_ERROR))
    ).to_series()
    return finish(s, values, reasons)


__all__ = [
    "DATETIME_PATTERN",
    "date_series",
    "datetime_series",
    "parse_date",
    "parse_datetime",
]
