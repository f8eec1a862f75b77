"""Text clean-up shared by every normalizer, and the result type of the vectorized forms.

Every value goes through the same first steps, in the scalar and in the vectorized form:

1. full-width ASCII (U+FF01–U+FF5E) becomes ASCII and the ideographic space U+3000 a space
   (``１２８０`` → ``1280``, ``ｍａｉｌ＠ｘ．ｃｎ`` → ``mail@x.cn``);
2. white space (the Unicode ``White_Space`` characters) is stripped from both ends;
3. an *empty marker* — nothing, or one of :data:`EMPTY_MARKERS` in any letter case — becomes
   null **without** an error: whether a field is required is decided by the validator, not
   by the normalizer.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import polars as pl

from rapport.i18n.enums import HALFWIDTH_TABLE, WHITESPACE

#: Spellings of "no value" in exports (compared after clean-up and lowercasing). ``无`` is one,
#: except in yes/no columns, where it means *no* (see :mod:`rapport.ingest.normalize`).
EMPTY_MARKERS: frozenset[str] = frozenset(
    {"", "-", "--", "—", "——", "–", "n/a", "#n/a", "na", "null", "none", "nan", "无"}
)

#: Longest part of an input quoted in an error message.
QUOTE_LIMIT = 60

_FULLWIDTH = [chr(cp) for cp in HALFWIDTH_TABLE]
_HALFWIDTH = [chr(cp) for cp in HALFWIDTH_TABLE.values()]


@dataclass(frozen=True)
class Normalized:
    """The result of a vectorized normalizer.

    Attributes
    ----------
    values
        The normalized values, null where the input was empty or invalid.
    errors
        ``pl.Utf8``: null where the value is fine (or empty), otherwise a short reason that
        quotes the bad input, e.g. ``not an amount: 'abc'``.
    """

    values: pl.Series
    errors: pl.Series

    @property
    def error_count(self) -> int:
        """How many inputs were invalid."""
        return len(self.errors) - self.errors.null_count()


def to_halfwidth(text: str) -> str:
    """Map full-width ASCII to ASCII and U+3000 to a space, then strip white space.

    Parameters
    ----------
    text
        Any string.

    Returns
    -------
    str
        ``"１２３，４５６"`` becomes ``"123,456"``.
    """
    return text.translate(HALFWIDTH_TABLE).strip(WHITESPACE)


def halfwidth_series(s: pl.Series) -> pl.Series:
    """The vectorized :func:`to_halfwidth` of a string column (other types are cast to text)."""
    text = s if s.dtype == pl.Utf8 else s.cast(pl.Utf8)
    return text.str.replace_many(_FULLWIDTH, _HALFWIDTH).str.strip_chars(WHITESPACE)


def quote(text: str) -> str:
    """``'text'`` for an error message, shortened to :data:`QUOTE_LIMIT` characters."""
    short = text[:QUOTE_LIMIT] + ("…" if len(text) > QUOTE_LIMIT else "")
    return f"'{short}'"


def quote_expr(raw: pl.Expr) -> pl.Expr:
    """The vectorized :func:`quote`."""
    ellipsis = pl.when(raw.str.len_chars() > QUOTE_LIMIT).then(pl.lit("…")).otherwise(pl.lit(""))
    return pl.concat_str([pl.lit("'"), raw.str.slice(0, QUOTE_LIMIT), ellipsis, pl.lit("'")])


def clean(value: Any, empty: Iterable[str] = EMPTY_MARKERS) -> str | None:
    """Half-width, stripped text of a scalar, or ``None`` when it is empty.

    Parameters
    ----------
    value
        A string (anything else is converted with :class:`str`); ``None`` is empty.
    empty
        The empty markers (lowercase).
    """
    if value is None:
        return None
    text = to_halfwidth(value if isinstance(value, str) else str(value))
    return None if text.lower() in empty else text


def clean_series(s: pl.Series, empty: Iterable[str] = EMPTY_MARKERS) -> pl.Series:
    """The vectorized :func:`clean`: a ``pl.Utf8`` series, null where the input is empty."""
    text = halfwidth_series(s)
    markers = pl.Series(sorted(empty), dtype=pl.Utf8)
    return (
        pl.select(
            pl.when(pl.lit(text).str.to_lowercase().is_in(markers.implode()))
            .then(pl.lit(None, pl.Utf8))
            .otherwise(pl.lit(text))
        )
        .to_series()
        .rename(s.name)
    )


def as_text(s: pl.Series) -> pl.Series:
    """A column as text; whole floats lose their ``.0`` (phones stored as numbers by Excel)."""
    if s.dtype == pl.Utf8:
        return s
    if s.dtype.is_float():
        whole = s.is_finite() & (s == s.floor()) & (s.abs() < 2.0**63)
        as_int = s.cast(pl.Int64, strict=False).cast(pl.Utf8)
        return pl.select(
            pl.when(pl.lit(whole)).then(pl.lit(as_int)).otherwise(pl.lit(s.cast(pl.Utf8)))
        ).to_series()
    return s.cast(pl.Utf8)


def finish(
    s: pl.Series, values: pl.Series, reasons: pl.Series, raw: pl.Series | None = None
) -> Normalized:
    """Build a :class:`Normalized` from values and per-row reasons (null reason = fine).

    The error text is ``"{reason}: '{input}'"``; ``values`` are nulled where there is an error.
    """
    source = as_text(s) if raw is None else raw
    frame = pl.DataFrame({"v": values, "r": reasons, "raw": source})
    out = frame.select(
        pl.when(pl.col("r").is_null()).then(pl.col("v")).alias("v"),
        pl.concat_str([pl.col("r"), pl.lit(": "), quote_expr(pl.col("raw"))]).alias("e"),
    )
    return Normalized(values=out["v"].rename(s.name), errors=out["e"].cast(pl.Utf8).rename(s.name))


def missing_reason(present: pl.Series, values: pl.Series, reason: str) -> pl.Series:
    """``reason`` where a value was given but none came out."""
    return pl.select(
        pl.when(pl.lit(present) & pl.lit(values).is_null()).then(pl.lit(reason))
    ).to_series()


__all__ = [
    "EMPTY_MARKERS",
    "Normalized",
    "as_text",
    "clean",
    "clean_series",
    "finish",
    "halfwidth_series",
    "missing_reason",
    "quote",
    "quote_expr",
    "to_halfwidth",
]
