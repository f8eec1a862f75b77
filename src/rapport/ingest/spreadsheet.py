"""Cells a spreadsheet may open: formula injection neutralised on the way out, and the
neutralisation undone on the way back in.

A spreadsheet (Excel, WPS, LibreOffice, Google Sheets) evaluates a cell whose text begins
with ``=``, ``+``, ``-`` or ``@`` as a formula, and a leading tab or carriage return can
smuggle one past a naive check; a customer name such as ``=HYPERLINK(...)`` or
``=cmd|' /C calc'!A0`` in an export then runs in the reader's spreadsheet. Following
OWASP ("CSV Injection"), every CSV/XLSX file Rapport writes for people to open passes its
text cells through :func:`neutralise`, and every import undoes it with
:func:`unneutralise`.

The rule
--------
*Trigger characters*: ``=`` ``+`` ``-`` ``@``, tab (``\\t``) and carriage return (``\\r``).

:func:`neutralise` puts one single quote ``'`` in front of a text cell when

* the cell, after any run of leading single quotes, begins with a trigger character, and
* the cell is not a *plain number*: an optional sign, digits (optionally grouped in
  thousands by commas: ``1,234,567``), an optional decimal point with digits, an optional
  exponent (``e``/``E``, optional sign, digits) — nothing else, no spaces. So
  ``+8613800000000``, ``-12.50``, ``-1,234.56``, ``-.5`` and ``-1.5e-05`` stay as they are
  (a spreadsheet reads them as numbers, never as formulas), while ``+86 138 0000 0000``,
  ``-1-2``, ``=1+1`` and ``@SUM(1)`` are quoted.

Every other cell is left alone — in particular ISO dates and times with offsets
(``2024-03-05T14:30:00+08:00`` begins with a digit), e-mail addresses, Chinese text, and
values of non-text columns (numbers, dates, booleans cannot hold a formula).

:func:`unneutralise` removes the first character of a text cell that begins with one or
more single quotes followed by a trigger character (``'=1+1`` → ``=1+1``,
``''=1+1`` → ``'=1+1``); every other cell is left alone.

The two are exact inverses: ``unneutralise(neutralise(s)) == s`` for every text ``s`` (a
text that itself begins with quotes before a trigger gets one quote more, which the import
takes off again). So a reject file fixed and imported again, or an export imported into
another store, gives back the original values. A side effect for files made elsewhere: a
cell typed as ``'=x`` or ``'+86 138…`` (the quote a spreadsheet user types to enter text)
is imported as ``=x`` / ``+86 138…``, which is what that user meant.

Parquet and JSON Lines files are not opened by spreadsheets and are written raw; their
text still goes through :func:`unneutralise` on import like any other file's.
"""

from __future__ import annotations

import re
from typing import Any

import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

#: The characters that make a spreadsheet read a cell as a formula (OWASP).
TRIGGERS = "=+-@\t\r"

_TRIGGER = r"[=+\-@\t\r]"
_DIGITS = r"[0-9]"  # ASCII only, the same in Python, Rust (Polars) and RE2 (Arrow)
_PLAIN_NUMBER = (
    rf"[+-]?(?:(?:{_DIGITS}{{1,3}}(?:,{_DIGITS}{{3}})+|{_DIGITS}+)(?:\.{_DIGITS}*)?"
    rf"|\.{_DIGITS}+)(?:[eE][+-]?{_DIGITS}+)?"
)
#: A cell that gets a quote on the way out unless it is a plain number.
NEEDS_QUOTE = rf"^'*{_TRIGGER}"
#: A cell that loses its first character (a quote) on the way in.
QUOTED = rf"^'+{_TRIGGER}"
#: A cell left alone even though it begins with a sign.
PLAIN_NUMBER = rf"^(?:{_PLAIN_NUMBER})$"

_needs_quote = re.compile(rf"'*{_TRIGGER}")
_quoted = re.compile(rf"'+{_TRIGGER}")
_plain_number = re.compile(_PLAIN_NUMBER)


def neutralise(text: str) -> str:
    """``text`` as a spreadsheet cell: with a leading ``'`` when it could run as a formula.

    >>> neutralise("=HYPERLINK(\\"http://x\\")"), neutralise("-12.50"), neutralise("张伟")
    ('\\'=HYPERLINK("http://x")', '-12.50', '张伟')
    """
    if _needs_quote.match(text) and not _plain_number.fullmatch(text):
        return "'" + text
    return text


def unneutralise(text: str) -> str:
    """The value a neutralised cell stands for (the exact inverse of :func:`neutralise`).

    >>> unneutralise("'=1+1"), unneutralise("'张伟"), unneutralise("''@x")
    ('=1+1', "'张伟", "'@x")
    """
    return text[1:] if _quoted.match(text) else text


def neutralise_cell(value: Any) -> Any:
    """:func:`neutralise` for a text value; any other value (number, date, ``None``) as is."""
    return neutralise(value) if isinstance(value, str) else value


def neutralise_expr(expr: pl.Expr) -> pl.Expr:
    """:func:`neutralise` as a Polars expression over a Utf8 column (keeps its name)."""
    keep = ~expr.str.contains(NEEDS_QUOTE) | expr.str.contains(PLAIN_NUMBER)
    return pl.when(keep).then(expr).otherwise(pl.lit("'") + expr)


def unneutralise_expr(expr: pl.Expr) -> pl.Expr:
    """:func:`unneutralise` as a Polars expression over a Utf8 column (keeps its name)."""
    return pl.when(expr.str.contains(QUOTED)).then(expr.str.slice(1)).otherwise(expr)


def _text_columns(frame: pl.DataFrame) -> list[str]:
    return [name for name, dtype in frame.schema.items() if dtype == pl.Utf8]


def unneutralise_frame(frame: pl.DataFrame) -> pl.DataFrame:
    """Every Utf8 column of ``frame`` through :func:`unneutralise`; other columns as they are."""
    columns = _text_columns(frame)
    if not columns:
        return frame
    return frame.with_columns(unneutralise_expr(pl.col(c)).alias(c) for c in columns)


def neutralise_frame(frame: pl.DataFrame, *, as_read: bool = False) -> pl.DataFrame:
    """``frame`` ready for a CSV/XLSX file: every Utf8 cell and every column name through
    :func:`neutralise`; other columns as they are.

    Parameters
    ----------
    as_read
        The cells are raw values of an import file (a reject or warning file repeats
        them): take each cell as the import reads it (:func:`unneutralise`) before
        neutralising, so a cell that came in already quoted is written as it came instead
        of gaining a second quote. Column names are treated the same way.
    """

    def cell_name(name: str) -> str:
        return neutralise(unneutralise(name) if as_read else name)

    columns = set(_text_columns(frame))
    exprs = []
    for name in frame.columns:
        col = pl.col(name)
        if name in columns:
            col = neutralise_expr(unneutralise_expr(col) if as_read else col)
        exprs.append(col.alias(cell_name(name)))
    return frame.select(exprs)


def neutralise_arrow(table: pa.Table) -> pa.Table:
    """Every string column of an Arrow table through :func:`neutralise`; other columns,
    the schema and the column names as they are."""
    arrays = []
    for field, column in zip(table.schema, table.columns, strict=True):
        if pa.types.is_string(field.type) or pa.types.is_large_string(field.type):
            quote = pc.and_kleene(
                pc.match_substring_regex(column, NEEDS_QUOTE),
                pc.invert(pc.match_substring_regex(column, PLAIN_NUMBER)),
            )
            quoted = pc.binary_join_element_wise(
                pa.scalar("'", field.type), column, pa.scalar("", field.type)
            )
            column = pc.if_else(quote, quoted, column)
        arrays.append(column)
    return pa.Table.from_arrays(arrays, schema=table.schema)


__all__ = [
    "NEEDS_QUOTE",
    "PLAIN_NUMBER",
    "QUOTED",
    "TRIGGERS",
    "neutralise",
    "neutralise_arrow",
    "neutralise_cell",
    "neutralise_expr",
    "neutralise_frame",
    "unneutralise",
    "unneutralise_expr",
    "unneutralise_frame",
]
