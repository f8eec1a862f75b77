"""A table as a file people open in a spreadsheet: CSV (UTF-8 with a byte-order mark, so
that Excel and WPS read Chinese) and XLSX, from rows and localized column headings.

The caller gives the rows (mappings, the same rows its screen shows: scope and masking
already applied, enumeration codes already turned into labels of the reader's language)
and the columns (key, heading, kind). This module only writes them:

* text cells pass through :func:`rapport.ingest.spreadsheet.neutralise` in both formats
  (OWASP "CSV Injection": a cell beginning with ``=`` ``+`` ``-`` ``@``, tab or carriage
  return gets a leading ``'``), so a customer named ``=HYPERLINK(...)`` is text, never a
  formula; numbers, dates and booleans cannot hold a formula and stay what they are — in
  XLSX numbers are number cells (money with two decimals, shares as percentages);
* date-times are written in the business time zone, without an offset (spreadsheets have
  none); lists are joined with ``; ``, mappings written as JSON;
* at most ``limit`` rows (:data:`ROW_LIMIT` unless the caller says less): when the rows
  hold more, the file ends with one more row whose first cell is the caller's ``notice``
  (a localized "only the first N rows"), so a cut file says so where it is read.

The CSV is produced line by line (:func:`csv_chunks`), so a long list streams; the XLSX is
written by openpyxl's write-only workbook into a temporary file that spills to disk past
a few megabytes (:func:`xlsx_file`).
"""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import io
import json
import math
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import IO, Any, Literal
from urllib.parse import quote
from zoneinfo import ZoneInfo

from rapport.ingest.spreadsheet import neutralise

#: The most rows one exported file holds (the rest is reported by the notice row).
ROW_LIMIT = 100_000
#: Rows of CSV sent per chunk of a streamed answer.
CHUNK_ROWS = 500
#: The formats a table is written in, with their media types.
MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
#: Past this size the XLSX being written moves from memory to a temporary file.
SPOOL_BYTES = 8 * 1024 * 1024

Kind = Literal["text", "integer", "number", "money", "percent", "date", "datetime"]
#: XLSX number formats per kind of column (text and integers keep the default).
_NUMBER_FORMATS: dict[str, str] = {
    "number": "#,##0.0##",
    "money": "#,##0.00",
    "percent": "0.0%",
    "date": "yyyy-mm-dd",
    "datetime": "yyyy-mm-dd hh:mm",
}


@dataclass(frozen=True)
class TableColumn:
    """One column of an exported table: ``key`` in the rows (or ``value`` computing the
    cell from the row), the ``heading`` in the reader's language, and its ``kind``."""

    key: str
    heading: str
    kind: Kind = "text"
    value: Callable[[Mapping[str, Any]], Any] | None = None

    def raw(self, row: Mapping[str, Any]) -> Any:
        return self.value(row) if self.value is not None else row.get(self.key)


def cell(value: Any, zone: ZoneInfo) -> Any:
    """``value`` as a spreadsheet cell: ``None`` (empty) for missing values and NaN,
    decimals as floats, enumeration members as their value, aware date-times in ``zone``
    without an offset, lists joined by ``; ``, mappings as JSON, text neutralised."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, bool | int | float | dt.date) and not isinstance(value, dt.datetime):
        return value
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            return value.astimezone(zone).replace(tzinfo=None)
        return value.replace(tzinfo=dt.UTC).astimezone(zone).replace(tzinfo=None)
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, StrEnum):
        return neutralise(value.value)
    if isinstance(value, list | tuple):
        return neutralise("; ".join(str(v) for v in value if v is not None))
    if isinstance(value, Mapping):
        return neutralise(json.dumps(value, ensure_ascii=False, default=str))
    return neutralise(str(value))


def _cells(columns: Sequence[TableColumn], row: Mapping[str, Any], zone: ZoneInfo) -> list[Any]:
    return [cell(c.raw(row), zone) for c in columns]


def _limited(rows: Iterable[Mapping[str, Any]], limit: int) -> Iterator[tuple[bool, Any]]:
    """``(False, row)`` for the first ``limit`` rows, then ``(True, None)`` once if more."""
    for n, row in enumerate(rows):
        if n >= limit:
            yield True, None
            return
        yield False, row


def _csv_text(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    return "" if value is None else value


def csv_chunks(
    columns: Sequence[TableColumn],
    rows: Iterable[Mapping[str, Any]],
    *,
    zone: ZoneInfo,
    notice: str,
    limit: int = ROW_LIMIT,
) -> Iterator[str]:
    """The CSV file of ``rows``, in chunks: the byte-order mark and the headings, then
    :data:`CHUNK_ROWS` rows at a time; past ``limit`` rows, the ``notice`` row."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    out.write("\ufeff")
    writer.writerow([neutralise(c.heading) for c in columns])
    pending = 0
    for cut, row in _limited(rows, limit):
        if cut:
            writer.writerow([neutralise(notice)])
        else:
            writer.writerow([_csv_text(v) for v in _cells(columns, row, zone)])
        pending += 1
        if pending >= CHUNK_ROWS:
            yield out.getvalue()
            out.seek(0)
            out.truncate()
            pending = 0
    yield out.getvalue()


def xlsx_file(
    columns: Sequence[TableColumn],
    rows: Iterable[Mapping[str, Any]],
    *,
    zone: ZoneInfo,
    notice: str,
    sheet: str,
    limit: int = ROW_LIMIT,
) -> IO[bytes]:
    """The XLSX workbook of ``rows`` (one sheet named ``sheet``, headings bold and frozen),
    rewound, in a temporary file the caller closes; past ``limit`` rows, the ``notice``
    row."""
    from openpyxl import Workbook
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, WriteOnlyCell
    from openpyxl.styles import Font

    book = Workbook(write_only=True)
    ws = book.create_sheet(title=_sheet_title(sheet))
    ws.freeze_panes = "A2"
    bold = Font(bold=True)

    def text_cell(text: str, font: Font | None = None) -> WriteOnlyCell:
        """A cell of text already neutralised; characters XML cannot hold dropped."""
        found = WriteOnlyCell(ws, value=ILLEGAL_CHARACTERS_RE.sub("", text))
        found.data_type = "s"
        if font is not None:
            found.font = font
        return found

    ws.append([text_cell(neutralise(c.heading), bold) for c in columns])
    formats = [_NUMBER_FORMATS.get(c.kind) for c in columns]
    for cut, row in _limited(rows, limit):
        if cut:
            ws.append([text_cell(neutralise(notice), bold)])
            break
        line: list[Any] = []
        for value, number_format in zip(_cells(columns, row, zone), formats, strict=True):
            if isinstance(value, str):
                # neutralised, so never read as a formula (openpyxl takes "=…" for one)
                line.append(ILLEGAL_CHARACTERS_RE.sub("", value))
            elif number_format and value is not None and not isinstance(value, bool):
                found = WriteOnlyCell(ws, value=value)
                found.number_format = number_format
                line.append(found)
            else:
                line.append(value)
        ws.append(line)
    out = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115 (the caller closes it)
    book.save(out)
    out.seek(0)
    return out


def _sheet_title(name: str) -> str:
    """A valid sheet title: at most 31 characters, none of ``[]:*?/\\``."""
    cleaned = "".join(" " if ch in "[]:*?/\\" else ch for ch in name).strip(" '")
    return cleaned[:31] or "Sheet1"


def file_name(page: str, day: dt.date, fmt: str) -> str:
    """``rapport-<page>-<YYYY-MM-DD>.<fmt>``, the page's name as the reader knows it."""
    return f"rapport-{page}-{day.isoformat()}.{fmt}"


def content_disposition(filename: str) -> str:
    """An ``attachment`` header for ``filename``: an ASCII fallback (other characters as
    ``_``) and the exact name as RFC 5987 ``filename*`` (UTF-8, percent-encoded), which
    browsers prefer — so a Chinese page name survives."""
    fallback = "".join(
        ch if ch.isascii() and ch.isprintable() and ch not in '"\\;' else "_" for ch in filename
    )
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


__all__ = [
    "CHUNK_ROWS",
    "MEDIA_TYPES",
    "ROW_LIMIT",
    "TableColumn",
    "cell",
    "content_disposition",
    "csv_chunks",
    "file_name",
    "xlsx_file",
]
