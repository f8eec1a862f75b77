"""How every list or report command prints: ``--format table|json|csv``.

A command builds its rows (plain values: numbers stay numbers, dates ISO strings) and a list
of :class:`Column`; :func:`emit` prints them

- as a table for people: numbers are never cut (their columns do not wrap and are as wide as
  their widest cell), text wraps; when the terminal (80 columns when piped) cannot hold every
  column, the optional ones go first, lowest ``keep`` first, and the caption names them;
- as JSON for scripts: ``{**meta, key: rows}`` with every column of every row;
- as CSV for spreadsheets: one header line of column keys, raw values, cells that a
  spreadsheet would read as a formula neutralised.
"""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import json
import math
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from rapport.i18n.labels import t


class OutputFormat(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


FormatOption = Annotated[
    OutputFormat,
    typer.Option("--format", help="table (for people), json or csv (for scripts)."),
]


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def plain(value: Any) -> Any:
    """A value as JSON/CSV carry it: dates ISO, decimals float, NaN null."""
    if _missing(value):
        return None
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, StrEnum):
        return value.value
    return value


@dataclass(frozen=True)
class Column:
    """One column: ``key`` in the rows (and the JSON/CSV name), ``header`` for people."""

    key: str
    header: str
    numeric: bool = False
    #: Formats a cell for the table; default: thousands separators for numbers, dash for null.
    text: Callable[[Any], str] | None = None
    #: 0 = always shown; otherwise the column may be hidden when the table does not fit,
    #: lower values first.
    keep: int = 0
    #: Narrowest a text column may wrap to (default: about its header), for text such as
    #: reasons that reads badly a few characters wide.
    min_width: int = 0

    def cell(self, row: Mapping[str, Any]) -> str:
        value = row.get(self.key)
        if self.text is not None:
            return self.text(value)
        if _missing(value):
            return "—"
        if isinstance(value, bool):
            return "✓" if value else "✗"
        if isinstance(value, int):
            return f"{value:,}"
        if isinstance(value, float | decimal.Decimal):
            return f"{float(value):,.2f}"
        return str(plain(value))


def _width(text: str, console: Console) -> int:
    from rich.cells import cell_len

    return max((cell_len(line) for line in text.split("\n")), default=0)


#: Narrowest a wrapping text column is allowed to become.
_MIN_TEXT = 8


def _fit(
    columns: Sequence[Column], cells: list[list[str]], width: int, console: Console
) -> list[int]:
    """The indexes of the columns that fit in ``width``: numbers at full width, text at
    least ``_MIN_TEXT`` wide (or its widest cell if narrower); optional columns dropped in
    ``keep`` order until the rest fit."""

    def need(i: int) -> int:
        col = columns[i]
        widest = max(
            [_width(col.header, console) if col.numeric else 0]
            + [_width(r[i], console) for r in cells]
        )
        if col.numeric:
            return widest
        least = max(_MIN_TEXT, min(_width(col.header, console), 12), col.min_width)
        return min(max(widest, 1), least)

    shown = list(range(len(columns)))
    droppable = sorted((i for i, c in enumerate(columns) if c.keep), key=lambda i: columns[i].keep)

    def total(idx: list[int]) -> int:
        # rich's default box: one border each side plus one padding each side per column.
        return sum(need(i) for i in idx) + 3 * len(idx) + 1

    while total(shown) > width and droppable:
        shown.remove(droppable.pop(0))
    return shown


def render_table(
    rows: Sequence[Mapping[str, Any]],
    columns: Sequence[Column],
    *,
    title: str | None = None,
    caption: str | None = None,
    locale: str = "zh_CN",
    console: Console | None = None,
) -> Table:
    """The rich table of ``rows``; columns that do not fit the console are left out and
    named in the caption."""
    from rapport.cli.common import console as default_console

    console = console or default_console
    cells = [[c.cell(r) for c in columns] for r in rows]
    shown = _fit(columns, cells, console.width, console)
    hidden = [columns[i].header for i in range(len(columns)) if i not in shown]
    notes = [caption] if caption else []
    if hidden:
        notes.append(
            t("hidden_columns", locale).format(
                columns="、".join(hidden) if locale.startswith("zh") else ", ".join(hidden)
            )
        )
    table = Table(title=title, caption="\n".join(notes) or None, caption_justify="left")
    for i in shown:
        col = columns[i]
        if col.numeric:
            widest = max([_width(col.header, console)] + [_width(r[i], console) for r in cells])
            table.add_column(col.header, justify="right", no_wrap=True, min_width=widest)
        else:
            least = min(col.min_width, max((_width(r[i], console) for r in cells), default=0))
            table.add_column(col.header, overflow="fold", min_width=least or None)
    for row in cells:
        table.add_row(*(row[i] for i in shown))
    return table


def emit(
    rows: Sequence[Mapping[str, Any]],
    columns: Sequence[Column],
    fmt: OutputFormat,
    *,
    title: str | None = None,
    caption: str | None = None,
    key: str = "rows",
    meta: Mapping[str, Any] | None = None,
    locale: str = "zh_CN",
) -> None:
    """Print ``rows`` in the chosen format (see the module docstring)."""
    if fmt == OutputFormat.json:
        payload = {k: plain(v) for k, v in (meta or {}).items()}
        payload[key] = [{k: _json_value(v) for k, v in r.items()} for r in rows]
        typer.echo(json.dumps(payload, ensure_ascii=False, indent=2, default=str))
    elif fmt == OutputFormat.csv:
        write_csv(rows, [c.key for c in columns])
    else:
        from rapport.cli.common import console

        console.print(render_table(rows, columns, title=title, caption=caption, locale=locale))


def _json_value(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _json_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_value(v) for v in value]
    return plain(value)


def write_csv(rows: Sequence[Mapping[str, Any]], keys: Sequence[str], out: Any = None) -> None:
    """CSV of ``rows`` (only ``keys``): nested values as JSON, formula-like text neutralised."""
    from rapport.ingest.spreadsheet import neutralise

    out = out or sys.stdout
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(keys)
    for row in rows:
        line = []
        for k in keys:
            value = _json_value(row.get(k))
            if value is None:
                line.append("")
            elif isinstance(value, dict | list):
                line.append(json.dumps(value, ensure_ascii=False))
            elif isinstance(value, str):
                line.append(neutralise(value))
            else:
                line.append(value)
        writer.writerow(line)
