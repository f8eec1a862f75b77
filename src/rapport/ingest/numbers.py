"""Money, whole numbers and decimal numbers of import files.

Decisions:

- **Money** becomes ``pl.Decimal(14, 2)`` (the store's ``NUMERIC(14,2)``), rounded to cents
  half away from zero. Accepted: an optional sign, a currency sign or code before
  (``¥ ￥ $ RMB CNY USD``) or after (``元 块 圆 人民币 RMB CNY USD``), ``(12.00)`` as a
  negative, and the units ``万``/``w`` (×10 000), ``千``/``k`` (×1 000), ``百万`` and ``亿``.
  No currency is converted: the sign is only decoration. Thousands separators must sit in
  their places (``1,280`` — ``12,34,5`` is rejected). Digits past the sixth decimal are
  rounded half to even before a unit applies. Amounts of 10¹² or more are out of range.
  Numeric columns are rounded to cents the same way.
- **Whole numbers** accept ``12.0`` but not ``12.5``; both number kinds accept thousands
  separators; decimal numbers also accept an exponent, treat NaN as empty and reject
  infinities.
"""

from __future__ import annotations

import math
import re
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal
from typing import Any

import polars as pl

from rapport.ingest.text import Normalized, clean, clean_series, finish, missing_reason, quote

# ---------------------------------------------------------------------------------------
# money

_GROUPED = r"[0-9]{1,3}(?:,[0-9]{3})+"
MONEY_PATTERN = (
    r"(?i)^(?P<po>\()?[ ]*(?P<s1>[-+−])?[ ]*(?P<cur>¥|￥|rmb|cny|usd|us\$|\$)?[ ]*"
    r"(?P<s2>[-+−])?[ ]*"
    rf"(?P<num>(?:{_GROUPED}|[0-9]+)(?:\.[0-9]*)?|\.[0-9]+)[ ]*"
    r"(?P<mult>百万|万|千|亿|w|k)?[ ]*(?P<unit>元|块|圆|rmb|cny|usd|人民币)?[ ]*(?P<pc>\))?$"
)
_MONEY_RE = re.compile(MONEY_PATTERN)
_MULTIPLIERS = {"": 1, "百万": 10**6, "万": 10**4, "w": 10**4, "千": 10**3, "k": 10**3, "亿": 10**8}
MONEY_LIMIT = Decimal(10) ** 12
_MAX_INT_DIGITS = 15  # more integer digits than this cannot fit after any multiplier
_MICRO = Decimal("0.000001")
_CENT = Decimal("0.01")
MONEY_DTYPE = pl.Decimal(14, 2)
MONEY_ERROR = "not an amount"
MONEY_RANGE_ERROR = "amount out of range"


def _cents_of_float(x: float) -> int:
    whole = math.trunc(x * 100)
    if abs(x * 100 - whole) >= 0.5:
        whole += 1 if x > 0 else -1
    return whole


def parse_money(text: Any) -> Decimal | None:
    """Parse an amount of money into a cent-exact :class:`~decimal.Decimal`.

    Parameters
    ----------
    text
        ``"¥1,280.00元"``, ``"￥１，２８０"``, ``"RMB 1280"``, ``"(12.00)"``, ``"1.2万"`` …, or a
        number. Empty values give ``None``.

    Returns
    -------
    Decimal or None
        The amount with two decimal places.

    Raises
    ------
    ValueError
        ``not an amount: 'abc'`` or ``amount out of range: '…'``.
    """
    if text is None:
        return None
    if isinstance(text, bool):
        raise ValueError(f"{MONEY_ERROR}: {quote(str(text))}")
    if isinstance(text, float):
        if math.isnan(text):
            return None
        if not math.isfinite(text) or abs(text) >= 1e12:
            raise ValueError(f"{MONEY_RANGE_ERROR}: {quote(str(text))}")
        amount = Decimal(_cents_of_float(text)).scaleb(-2)
    elif isinstance(text, int | Decimal):
        exact = Decimal(text)
        if not exact.is_finite() or abs(exact) >= MONEY_LIMIT:
            raise ValueError(f"{MONEY_RANGE_ERROR}: {quote(str(text))}")
        amount = _to_cents(exact)
    else:
        value = clean(text)
        if value is None:
            return None
        amount = _money_from_text(value, str(text))
    if abs(amount) >= MONEY_LIMIT:
        raise ValueError(f"{MONEY_RANGE_ERROR}: {quote(str(text))}")
    return amount + Decimal("0.00")  # normalizes -0.00 to 0.00


def _money_from_text(value: str, raw: str) -> Decimal:
    found = _MONEY_RE.match(value)
    if found is None or _money_shape_bad(found):
        raise ValueError(f"{MONEY_ERROR}: {quote(raw)}")
    number = found["num"].replace(",", "")
    if len(number.split(".")[0].lstrip("0")) > _MAX_INT_DIGITS:
        raise ValueError(f"{MONEY_RANGE_ERROR}: {quote(raw)}")
    amount = _to_cents(Decimal(number), _MULTIPLIERS[(found["mult"] or "").lower()])
    negative = bool(found["po"]) or (found["s1"] or found["s2"] or "+") in "-−"
    return -amount if negative else amount


def _to_cents(exact: Decimal, multiplier: int = 1) -> Decimal:
    """Round to micro-units (half to even), apply the unit, round to cents (half away)."""
    scaled = exact.quantize(_MICRO, rounding=ROUND_HALF_EVEN) * multiplier
    return scaled.quantize(_CENT, rounding=ROUND_HALF_UP)


def _money_shape_bad(found: re.Match[str]) -> bool:
    """Unbalanced parentheses, or two signs, or a sign inside parentheses."""
    signs = (found["s1"] is not None) + (found["s2"] is not None)
    parens = found["po"] is not None
    return parens != (found["pc"] is not None) or signs > 1 or (parens and signs > 0)


def money_series(s: pl.Series) -> Normalized:
    """The vectorized :func:`parse_money`: values are ``pl.Decimal(14, 2)``."""
    if s.dtype.is_float():
        x = s.cast(pl.Float64)
        in_range = pl.col("x").is_finite() & (pl.col("x").abs() < 1e12)
        frame = pl.DataFrame({"x": x}).select(
            (pl.when(in_range).then(pl.col("x")) * 100)
            .round(0, mode="half_away_from_zero")
            .cast(pl.Int64)
            .alias("cents"),
            (pl.col("x").is_not_null() & ~pl.col("x").is_nan()).alias("present"),
        )
        values = _decimal_from_cents(frame["cents"])
        return finish(s, values, missing_reason(frame["present"], values, MONEY_RANGE_ERROR))
    if s.dtype.is_integer() or s.dtype == pl.Decimal:
        values = s.cast(pl.Decimal(38, 6)).round(2, mode="half_away_from_zero")
        values = values.cast(MONEY_DTYPE, strict=False)
        present = s.is_not_null()
        return finish(s, values, missing_reason(present, values, MONEY_RANGE_ERROR))
    text = clean_series(s)
    g = text.str.extract_groups(MONEY_PATTERN).struct.unnest()
    frame = g.with_columns(
        pl.col("num").str.replace_all(",", "", literal=True).alias("num"),
        pl.lit(text).is_not_null().alias("present"),
    ).with_columns(
        (
            pl.col("num").is_not_null()
            & (pl.col("po").is_null() == pl.col("pc").is_null())
            & ~(pl.col("s1").is_not_null() & pl.col("s2").is_not_null())
            & ~(pl.col("po").is_not_null() & pl.coalesce("s1", "s2").is_not_null())
        ).alias("shape_ok"),
        (
            pl.col("num").str.split(".").list.first().str.strip_chars_start("0").str.len_chars()
            <= _MAX_INT_DIGITS
        ).alias("size_ok"),
    )
    multiplier = (
        pl.col("mult")
        .str.to_lowercase()
        .replace_strict(_MULTIPLIERS, default=1, return_dtype=pl.Int64)
        .fill_null(1)
    )
    negative = pl.col("po").is_not_null() | pl.coalesce("s1", "s2").is_in(["-", "−"])
    checked = pl.when(pl.col("shape_ok") & pl.col("size_ok")).then(pl.col("num"))
    amount = (
        (checked.cast(pl.Decimal(38, 6), strict=False) * multiplier)
        .round(2, mode="half_away_from_zero")
        .cast(MONEY_DTYPE, strict=False)
    )
    out = frame.select(
        pl.when(negative).then(-amount).otherwise(amount).alias("v"),
        pl.when(~pl.col("present"))
        .then(None)
        .when(~pl.col("shape_ok"))
        .then(pl.lit(MONEY_ERROR))
        .when(~pl.col("size_ok") | amount.is_null())
        .then(pl.lit(MONEY_RANGE_ERROR))
        .alias("r"),
    )
    return finish(s, out["v"], out["r"])


def _decimal_from_cents(cents: pl.Series) -> pl.Series:
    return (cents.cast(pl.Decimal(38, 0)) * pl.Series([Decimal("0.01")])).cast(
        MONEY_DTYPE, strict=False
    )


# ---------------------------------------------------------------------------------------
# whole and decimal numbers

_INT_PATTERN = rf"^(?P<sign>[-+−])?[ ]*(?P<num>{_GROUPED}|[0-9]+)(?:\.0*)?$"
_INT_RE = re.compile(_INT_PATTERN)
_FLOAT_PATTERN = (
    rf"(?i)^(?P<sign>[-+−])?[ ]*(?P<num>(?:(?:{_GROUPED}|[0-9]+)(?:\.[0-9]*)?|\.[0-9]+)"
    r"(?:e[-+]?[0-9]+)?)$"
)
_FLOAT_RE = re.compile(_FLOAT_PATTERN)
INT_ERROR = "not a whole number"
FLOAT_ERROR = "not a number"
_INT64 = (-(2**63), 2**63 - 1)


def parse_int(text: Any) -> int | None:
    """Parse a whole number (``"1,280"``, ``"１２"``, ``"12.0"``); ``None`` when empty.

    Raises
    ------
    ValueError
        ``not a whole number: '12.5'`` (also for values outside 64-bit integers).
    """
    if text is None or (isinstance(text, float) and math.isnan(text)):
        return None
    if isinstance(text, int) and not isinstance(text, bool):
        value = text
    elif isinstance(text, float) and text.is_integer():
        value = int(text)
    else:
        cleaned = clean(text)
        if cleaned is None:
            return None
        found = _INT_RE.match(cleaned)
        if found is None:
            raise ValueError(f"{INT_ERROR}: {quote(str(text))}")
        value = int(found["num"].replace(",", ""))
        value = -value if found["sign"] in ("-", "−") else value
    if not _INT64[0] <= value <= _INT64[1]:
        raise ValueError(f"{INT_ERROR}: {quote(str(text))}")
    return value


def int_series(s: pl.Series) -> Normalized:
    """The vectorized :func:`parse_int`: values are ``pl.Int64``."""
    if s.dtype.is_integer():
        values = s.cast(pl.Int64, strict=False)
        return finish(s, values, missing_reason(s.is_not_null(), values, INT_ERROR))
    if s.dtype.is_float():
        ok = s.is_finite() & (s == s.floor())
        present = s.is_not_null() & ~s.is_nan()
        values = pl.select(
            pl.when(pl.lit(ok)).then(pl.lit(s).cast(pl.Int64, strict=False))
        ).to_series()
        return finish(s, values, missing_reason(present, values, INT_ERROR))
    text = clean_series(s)
    g = text.str.extract_groups(_INT_PATTERN).struct.unnest()
    signed = g.select(
        pl.concat_str(
            [
                pl.when(pl.col("sign").is_in(["-", "−"])).then(pl.lit("-")).otherwise(pl.lit("")),
                pl.col("num").str.replace_all(",", "", literal=True),
            ]
        )
    ).to_series()
    values = signed.cast(pl.Int64, strict=False)
    return finish(s, values, missing_reason(text.is_not_null(), values, INT_ERROR))


def parse_float(text: Any) -> float | None:
    """Parse a decimal number (``"1,234.5"``, ``"-1.5e3"``); ``None`` when empty or NaN.

    Raises
    ------
    ValueError
        ``not a number: 'abc'`` (also for infinities).
    """
    if text is None:
        return None
    if isinstance(text, int | float | Decimal) and not isinstance(text, bool):
        value = float(text)
    else:
        cleaned = clean(text)
        if cleaned is None:
            return None
        found = _FLOAT_RE.match(cleaned)
        if found is None:
            raise ValueError(f"{FLOAT_ERROR}: {quote(str(text))}")
        value = float(found["num"].replace(",", ""))
        value = -value if found["sign"] in ("-", "−") else value
    if math.isnan(value):
        return None
    if not math.isfinite(value):
        raise ValueError(f"{FLOAT_ERROR}: {quote(str(text))}")
    return value


def float_series(s: pl.Series) -> Normalized:
    """The vectorized :func:`parse_float`: values are ``pl.Float64``."""
    if s.dtype.is_numeric():
        x = s.cast(pl.Float64)
        present = x.is_not_null() & ~x.is_nan()
    else:
        text = clean_series(s)
        g = text.str.extract_groups(_FLOAT_PATTERN).struct.unnest()
        number = g["num"].str.replace_all(",", "", literal=True).cast(pl.Float64, strict=False)
        sign = pl.when(pl.lit(g["sign"]).is_in(["-", "−"])).then(-1.0).otherwise(1.0)
        x = pl.select(pl.lit(number) * sign).to_series()
        present = text.is_not_null()
    values = pl.select(pl.when(pl.lit(x).is_finite()).then(pl.lit(x))).to_series()
    return finish(s, values, missing_reason(present, values, FLOAT_ERROR))


__all__ = [
    "MONEY_DTYPE",
    "float_series",
    "int_series",
    "money_series",
    "parse_float",
    "parse_int",
    "parse_money",
]
