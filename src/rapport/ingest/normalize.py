"""Value normalizers of the importer: one import point for every kind of value.

Each normalizer has a scalar form (one value from the API; it raises :class:`ValueError`
whose text is the reason) and a vectorized form over a whole Polars column that returns a
:class:`~rapport.ingest.text.Normalized` (values plus one error text per bad row). The two
forms agree value for value. The vectorized forms are Polars expressions only, except for
phone numbers, which ``phonenumbers`` parses once per *distinct* value.

Where things live: the shared clean-up (half-width, strip, empty markers) in
:mod:`rapport.ingest.text`, money and numbers in :mod:`rapport.ingest.numbers`, dates and
times in :mod:`rapport.ingest.dates`; all are re-exported here. This module holds yes/no,
enumerations, e-mail addresses and phone numbers.

Decisions:

- **Yes/no**: ``是 对 有 真 √ ✓ ✔ true t yes y 1 on`` and ``否 错 无 假 × ✗ ✘ false f no n 0
  off`` (any letter case, full-width tolerated). In a yes/no column ``无`` means *no* — it
  pairs with ``有`` — instead of being an empty marker as everywhere else.
- **Enumerations** accept every spelling of :func:`rapport.i18n.enums.enum_lookup`.
- **E-mail** addresses are lowercased as a whole (mailboxes are case-insensitive in practice,
  and lowercase addresses can serve as keys); ``。`` and full-width ``＠``/``．`` become
  ASCII. Only ASCII addresses are accepted.
- **Phones** become E.164 (``+8613812345678``); an extension (``ext. 12``, ``x12``, ``#12``,
  ``转12``) is dropped. Digits that already
  start with the region's country code (``8613812345678``) are read as international.
  Numbers stored as numbers by Excel (``13812345678.0``) are read as their digits.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Any

import phonenumbers
import polars as pl

from rapport.i18n.enums import KEY_SEPARATORS, LABELS, enum_lookup, enum_name, lookup_key
from rapport.ingest.dates import date_series, datetime_series, parse_date, parse_datetime
from rapport.ingest.numbers import (
    float_series,
    int_series,
    money_series,
    parse_float,
    parse_int,
    parse_money,
)
from rapport.ingest.text import (
    EMPTY_MARKERS,
    Normalized,
    as_text,
    clean,
    clean_series,
    finish,
    halfwidth_series,
    missing_reason,
    quote,
    quote_expr,
    to_halfwidth,
)

# ---------------------------------------------------------------------------------------
# yes / no

TRUE_WORDS = ("是", "对", "有", "真", "√", "✓", "✔", "true", "t", "yes", "y", "1", "on")
FALSE_WORDS = ("否", "错", "无", "假", "×", "✗", "✘", "false", "f", "no", "n", "0", "off")
_BOOLS = {word: True for word in TRUE_WORDS} | {word: False for word in FALSE_WORDS}
_BOOL_EMPTY = EMPTY_MARKERS - set(_BOOLS)
BOOL_ERROR = "not yes or no"


def parse_bool(text: Any) -> bool | None:
    """Parse yes/no (``是``/``否``, ``true``/``false``, ``√``/``×`` …); ``None`` when empty.

    Raises
    ------
    ValueError
        ``not yes or no: 'maybe'``.
    """
    if isinstance(text, bool) or text is None:
        return text
    if isinstance(text, float) and text.is_integer():
        text = int(text)
    cleaned = clean(text, _BOOL_EMPTY)
    if cleaned is None:
        return None
    try:
        return _BOOLS[cleaned.lower()]
    except KeyError:
        raise ValueError(f"{BOOL_ERROR}: {quote(str(text))}") from None


def bool_series(s: pl.Series) -> Normalized:
    """The vectorized :func:`parse_bool`: values are ``pl.Boolean``."""
    if s.dtype == pl.Boolean:
        return finish(s, s, pl.Series([None] * len(s), dtype=pl.Utf8))
    text = clean_series(as_text(s), _BOOL_EMPTY)
    values = text.str.to_lowercase().replace_strict(_BOOLS, default=None, return_dtype=pl.Boolean)
    return finish(s, values, missing_reason(text.is_not_null(), values, BOOL_ERROR))


# ---------------------------------------------------------------------------------------
# enumerations

_SHOWN_MEMBERS = 8


def _enum_error(enum: type[StrEnum]) -> str:
    members = [m.value for m in enum][:_SHOWN_MEMBERS]
    more = ", …" if len(enum) > _SHOWN_MEMBERS else ""
    zh = [LABELS[enum][v][0] for v in members] if enum in LABELS else []
    shown = ", ".join(members) + more
    if zh:
        shown += f" (or {', '.join(zh)}{more})"
    return f"unknown value {{}} for {enum_name(enum)}; use one of: {shown}"


def parse_enum(text: Any, enum: type[StrEnum]) -> str | None:
    """The member value named by any accepted spelling (value, zh/en label, synonym).

    Parameters
    ----------
    text
        ``"已完成"``, ``"交易成功"``, ``"Completed"``, ``"ＣＯＭＰＬＥＴＥＤ"`` …
    enum
        An enumeration of :mod:`rapport.domain`.

    Returns
    -------
    str or None
        The member value (``"completed"``), ``None`` when empty.

    Raises
    ------
    ValueError
        ``unknown value '已发货' for order status; use one of: completed, …``.
    """
    cleaned = clean(text)
    if cleaned is None:
        return None
    try:
        return enum_lookup(enum)[lookup_key(cleaned)]
    except KeyError:
        raise ValueError(_enum_error(enum).format(quote(str(text)))) from None


def enum_series(s: pl.Series, enum: type[StrEnum]) -> Normalized:
    """The vectorized :func:`parse_enum`: values are ``pl.Utf8`` member values."""
    text = clean_series(s)
    keys = text.str.to_lowercase().str.replace_all(KEY_SEPARATORS, "_")
    values = keys.replace_strict(enum_lookup(enum), default=None, return_dtype=pl.Utf8)
    before, after = _enum_error(enum).split("{}")
    raw = as_text(s)
    frame = pl.DataFrame({"v": values, "t": text, "raw": raw})
    errors = frame.select(
        pl.when(pl.col("t").is_not_null() & pl.col("v").is_null()).then(
            pl.concat_str([pl.lit(before), quote_expr(pl.col("raw")), pl.lit(after)])
        )
    ).to_series()
    return Normalized(values=values.rename(s.name), errors=errors.cast(pl.Utf8).rename(s.name))


# ---------------------------------------------------------------------------------------
# e-mail and phone

_LOCAL = r"[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
EMAIL_PATTERN = rf"^{_LOCAL}@(?:{_LABEL}\.)+[a-z]{{2,63}}$"
_EMAIL_RE = re.compile(EMAIL_PATTERN)
_EMAIL_MAX = 254
EMAIL_ERROR = "not an e-mail address"


def normalize_email(text: Any) -> str | None:
    """Clean and validate an e-mail address: half-width, stripped, lowercased.

    Raises
    ------
    ValueError
        ``not an e-mail address: 'bob@'``.
    """
    cleaned = clean(text)
    if cleaned is None:
        return None
    address = cleaned.replace("。", ".").lower()
    if len(address) > _EMAIL_MAX or _EMAIL_RE.match(address) is None:
        raise ValueError(f"{EMAIL_ERROR}: {quote(str(text))}")
    return address


def email_series(s: pl.Series) -> Normalized:
    """The vectorized :func:`normalize_email`: values are ``pl.Utf8``."""
    text = clean_series(s)
    address = text.str.replace_all("。", ".", literal=True).str.to_lowercase()
    ok = address.str.contains(EMAIL_PATTERN) & (address.str.len_chars() <= _EMAIL_MAX)
    values = pl.select(pl.when(pl.lit(ok)).then(pl.lit(address))).to_series()
    return finish(s, values, missing_reason(text.is_not_null(), values, EMAIL_ERROR))


PHONE_ERROR = "not a phone number"
_PHONE_DIGITS = re.compile(r"[0-9]+")


def normalize_phone(text: Any, region: str = "CN") -> str | None:
    """Normalize a phone number to E.164 (``"+8613812345678"``).

    Parameters
    ----------
    text
        ``"138 1234 5678"``, ``"+86 138-1234-5678"``, ``"0086 13812345678"``,
        ``"8613812345678"``, ``"010-12345678"``, full-width digits …
    region
        The ISO 3166 region of numbers written without a country code.

    Raises
    ------
    ValueError
        ``not a phone number: '12345'``.
    """
    if isinstance(text, float) and text.is_integer():
        text = int(text)
    cleaned = clean(text)
    if cleaned is None:
        return None
    cleaned = cleaned.replace("转", " ext. ")
    candidates = [cleaned]
    code = str(phonenumbers.country_code_for_region(region))
    digits = "".join(_PHONE_DIGITS.findall(cleaned))
    if not cleaned.startswith("+") and digits.startswith(code) and code != "0":
        candidates.append("+" + digits)
    for candidate in candidates:
        try:
            number = phonenumbers.parse(candidate, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(number):
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    raise ValueError(f"{PHONE_ERROR}: {quote(str(text))}")


def phone_series(s: pl.Series, region: str = "CN") -> Normalized:
    """The vectorized :func:`normalize_phone`, parsing each distinct value once."""
    text = clean_series(as_text(s))
    numbers: dict[str, str] = {}
    for value in text.drop_nulls().unique().to_list():
        try:
            number = normalize_phone(value, region)
        except ValueError:
            continue
        if number is not None:
            numbers[value] = number
    values = text.replace_strict(numbers, default=None, return_dtype=pl.Utf8)
    return finish(s, values, missing_reason(text.is_not_null(), values, PHONE_ERROR), as_text(s))


__all__ = [
    "EMPTY_MARKERS",
    "Normalized",
    "bool_series",
    "date_series",
    "datetime_series",
    "email_series",
    "enum_series",
    "float_series",
    "halfwidth_series",
    "int_series",
    "money_series",
    "normalize_email",
    "normalize_phone",
    "parse_bool",
    "parse_date",
    "parse_datetime",
    "parse_enum",
    "parse_float",
    "parse_int",
    "parse_money",
    "phone_series",
    "to_halfwidth",
]
