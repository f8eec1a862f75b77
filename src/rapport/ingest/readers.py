"""Readers of import files: CSV/TSV (encoding detected), XLSX, Parquet and JSON Lines.

A reader yields :class:`Batch` es of raw values with the spreadsheet row number of each
row (the header is row 1), so every problem can be reported where the user sees it. Memory
is bounded by the batch size, whatever the file size (XLSX sheets excepted: a sheet is at
most 1,048,576 rows and is read by calamine as a whole).
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Literal

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from rapport.errors import RapportError

Format = Literal["csv", "xlsx", "parquet", "jsonl"]
SAMPLE_BYTES = 1 << 20


class UnreadableFile(RapportError):
    """The file cannot be read at all (encoding, not a spreadsheet, no header …)."""

    exit_code = 10


@dataclass
class RowProblem:
    """A row the reader itself could not turn into values (e.g. wrong number of fields)."""

    row: int
    reason: str
    text: str


@dataclass
class Batch:
    rows: pl.Series  # spreadsheet row numbers (header = 1), Int64
    frame: pl.DataFrame  # raw values, columns as in the file


class _Counting(io.RawIOBase):
    """A binary stream that counts the bytes read through it, and can hold readers back.

    pyarrow's streaming CSV reader reads ahead from a background thread without limit;
    with :meth:`limit` the stream lets it get only ``ahead`` bytes past the point the
    consumer has reached (:meth:`advance`), so memory stays bounded by the batch size.
    """

    def __init__(self, raw: BinaryIO, ahead: int | None = None) -> None:
        self.raw = raw
        self.count = 0
        self.consumed = 0
        self.ahead = ahead
        self.allowed = ahead if ahead is not None else None
        self._gate = threading.Condition()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        with self._gate:
            # the timeout only guards against a reader that needs more than `ahead` bytes
            # to make progress: it then reads on, unbounded but never stuck
            while self.allowed is not None and self.count >= self.allowed:
                if not self._gate.wait(timeout=2.0):
                    break
        n = self.raw.readinto(buffer)  # type: ignore[attr-defined]
        with self._gate:
            self.count += n or 0
        return n

    def advance(self, consumed: int) -> None:
        """The consumer has taken about ``consumed`` bytes: allow ``ahead`` bytes past that."""
        with self._gate:
            self.consumed += consumed
            if self.ahead is not None:
                self.allowed = self.consumed + self.ahead
            self._gate.notify_all()

    def close(self) -> None:
        with self._gate:
            self.allowed = None
            self._gate.notify_all()
        self.raw.close()
        super().close()


@dataclass
class Source:
    """An opened import file."""

    path: Path
    format: Format
    columns: list[str]
    encoding: str | None = None
    delimiter: str | None = None
    sheets: list[str] = field(default_factory=list)
    size_bytes: int = 0
    problems: list[RowProblem] = field(default_factory=list)
    _stream: _Counting | None = None

    @property
    def bytes_read(self) -> int:
        return self._stream.count if self._stream is not None else 0

    def batches(self, size: int = 100_000) -> Iterator[Batch]:
        reader = {
            "csv": _csv_batches,
            "xlsx": _xlsx_batches,
            "parquet": _parquet_batches,
            "jsonl": _jsonl_batches,
        }[self.format]
        yield from reader(self, size)


# --- detection ---------------------------------------------------------------------------


def detect_format(path: Path) -> Format:
    """The file's format, from its first bytes (then its suffix)."""
    with path.open("rb") as fh:
        head = fh.read(8)
    if head.startswith(b"PAR1"):
        return "parquet"
    if head.startswith(b"PK\x03\x04"):
        return "xlsx"
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise UnreadableFile(
            f"{path}: this is an old Excel .xls file",
            hint="save it as .xlsx or CSV in Excel and import that",
        )
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson", ".json"):
        return "jsonl"
    if suffix in (".xlsx", ".xlsm"):
        raise UnreadableFile(
            f"{path}: not a spreadsheet (no XLSX content)",
            hint="check the file, or rename it to .csv if it is text",
        )
    if suffix == ".parquet":
        raise UnreadableFile(f"{path}: not a Parquet file (no PAR1 magic)")
    return "csv"


def detect_encoding(sample: bytes, path: Path) -> str:
    """UTF-8 (with or without BOM), UTF-16 (BOM), GB18030 (covers GBK/GB2312) or a guess."""
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    for encoding in ("utf-8", "gb18030"):
        try:
            codecs.getincrementaldecoder(encoding)().decode(sample, final=False)
            return encoding
        except UnicodeDecodeError:
            continue
    from charset_normalizer import from_bytes

    best = from_bytes(sample).best()
    if best is None:
        raise UnreadableFile(
            f"{path}: cannot tell the text encoding",
            hint="save the file as UTF-8 (Excel: CSV UTF-8) and import again",
        )
    return best.encoding


def _sniff_delimiter(first_line: str, path: Path) -> str:
    if path.suffix.lower() in (".tsv", ".tab"):
        return "\t"
    counts = {d: first_line.count(d) for d in (",", "\t", ";", "|")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] > 0 else ","


def _check_header(columns: list[str], path: Path) -> list[str]:
    cleaned = [str(c).strip() if c is not None else "" for c in columns]
    if not any(cleaned):
        raise UnreadableFile(f"{path}: no header row", hint="the first row must name the columns")
    blanks = [i + 1 for i, c in enumerate(cleaned) if not c]
    if blanks:
        raise UnreadableFile(
            f"{path}: header has empty column names at positions {blanks}",
            hint="name every column in the first row",
        )
    seen: set[str] = set()
    for c in cleaned:
        if c in seen:
            raise UnreadableFile(f"{path}: column {c!r} appears twice in the header")
        seen.add(c)
    return cleaned


def open_source(path: str | Path, *, sheet: str | None = None) -> Source:
    """Open ``path`` for import; :class:`UnreadableFile` says why when it cannot be read."""
    path = Path(path)
    if not path.is_file():
        raise UnreadableFile(f"{path}: no such file")
    size = path.stat().st_size
    if size == 0:
        raise UnreadableFile(f"{path}: the file is empty")
    fmt = detect_format(path)
    if fmt == "csv":
        return _open_csv(path, size)
    if fmt == "xlsx":
        return _open_xlsx(path, size, sheet)
    if fmt == "parquet":
        try:
            schema = pq.read_schema(path)
        except (pa.ArrowInvalid, OSError) as exc:
            raise UnreadableFile(f"{path}: not a readable Parquet file: {exc}") from exc
        return Source(path, "parquet", _check_header(schema.names, path), size_bytes=size)
    return _open_jsonl(path, size)


# --- CSV ---------------------------------------------------------------------------------


def _open_csv(path: Path, size: int) -> Source:
    with path.open("rb") as fh:
        sample = fh.read(SAMPLE_BYTES)
    encoding = detect_encoding(sample, path)
    text = codecs.getincrementaldecoder(encoding)(errors="replace").decode(sample, final=False)
    first_line = text.lstrip("\ufeff").splitlines()[0] if text.strip() else ""
    if not first_line.strip():
        raise UnreadableFile(f"{path}: no header row", hint="the first row must name the columns")
    delimiter = _sniff_delimiter(first_line, path)
    header = next(csv.reader([first_line], delimiter=delimiter))
    return Source(
        path,
        "csv",
        _check_header(header, path),
        encoding=encoding,
        delimiter=delimiter,
        size_bytes=size,
    )


def _csv_batches(source: Source, size: int) -> Iterator[Batch]:
    columns = source.columns
    skipped: list[int] = []

    def on_invalid(row: pacsv.InvalidRow) -> str:
        # pyarrow numbers records from 1 with the header as record 1: the spreadsheet row.
        number = int(row.number or 0)
        skipped.append(number)
        source.problems.append(
            RowProblem(
                row=number,
                reason=f"row has {row.actual_columns} fields, the header has "
                f"{row.expected_columns}",
                text=row.text,
            )
        )
        return "skip"

    block = 8 << 20
    stream = _Counting(source.path.open("rb"), ahead=3 * block)
    source._stream = stream
    reader = pacsv.open_csv(
        io.BufferedReader(stream, buffer_size=1 << 20),
        read_options=pacsv.ReadOptions(
            encoding=source.encoding or "utf-8",
            column_names=columns,
            skip_rows=1,
            block_size=block,
            use_threads=False,
        ),
        parse_options=pacsv.ParseOptions(
            delimiter=source.delimiter or ",",
            newlines_in_values=True,
            invalid_row_handler=on_invalid,
        ),
        convert_options=pacsv.ConvertOptions(
            column_types={c: pa.string() for c in columns},
            strings_can_be_null=True,
            null_values=[""],
            quoted_strings_can_be_null=False,
        ),
    )
    next_row = 2

    def numbered(frame: pl.DataFrame) -> Batch:
        nonlocal next_row
        later = np.array([s for s in skipped if s >= next_row], dtype=np.int64)
        candidates = np.arange(next_row, next_row + frame.height + len(later), dtype=np.int64)
        rows = candidates[~np.isin(candidates, later)][: frame.height]
        next_row = int(rows[-1]) + 1 if len(rows) else next_row
        return Batch(rows=pl.Series("row", rows), frame=frame)

    buffer: list[pl.DataFrame] = []
    buffered = 0
    try:
        for record_batch in reader:
            stream.advance(block)  # pyarrow yields one record batch per block
            frame = pl.from_arrow(record_batch)
            assert isinstance(frame, pl.DataFrame)
            buffer.append(frame)
            buffered += frame.height
            while buffered >= size:
                whole = pl.concat(buffer)
                yield numbered(whole.head(size))
                rest = whole.slice(size)
                buffer, buffered = [rest], rest.height
        if buffered:
            yield numbered(pl.concat(buffer))
    except pa.ArrowInvalid as exc:
        raise UnreadableFile(f"{source.path}: cannot parse as CSV: {exc}") from exc
    except UnicodeDecodeError as exc:
        raise UnreadableFile(
            f"{source.path}: bytes at offset {exc.start} are not {source.encoding}",
            hint="save the file as UTF-8 (Excel: CSV UTF-8) and import again",
        ) from exc
    finally:
        stream.close()


def _numbered(frame: pl.DataFrame, first_row: int) -> Batch:
    rows = pl.int_range(first_row, first_row + frame.height, eager=True, dtype=pl.Int64)
    return Batch(rows=rows.alias("row"), frame=frame)


# --- XLSX --------------------------------------------------------------------------------


def _cell(value: object) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    return str(value)


def _workbook(path: Path):
    from python_calamine import CalamineWorkbook

    try:
        return CalamineWorkbook.from_path(str(path))
    except Exception as exc:  # calamine raises several error types for broken files
        raise UnreadableFile(f"{path}: not a readable spreadsheet: {exc}") from exc


def _open_xlsx(path: Path, size: int, sheet: str | None) -> Source:
    workbook = _workbook(path)
    names = list(workbook.sheet_names)
    if sheet is not None and sheet not in names:
        raise UnreadableFile(f"{path}: no sheet named {sheet!r}", hint=f"sheets: {names}")
    sheets = [sheet] if sheet is not None else names
    header: list[str] | None = None
    for name in sheets:
        rows = workbook.get_sheet_by_name(name).iter_rows()
        first = next(iter(rows), None)
        if first is None:
            continue
        cols = _check_header([_cell(v) or "" for v in first], path)
        if header is None:
            header = cols
        elif cols != header:
            raise UnreadableFile(
                f"{path}: sheet {name!r} has other columns than the first sheet",
                hint="import one sheet at a time with --sheet",
            )
    if header is None:
        raise UnreadableFile(f"{path}: every sheet is empty")
    return Source(path, "xlsx", header, sheets=sheets, size_bytes=size)


def _xlsx_batches(source: Source, size: int) -> Iterator[Batch]:
    workbook = _workbook(source.path)
    width = len(source.columns)
    for name in source.sheets:
        rows = iter(workbook.get_sheet_by_name(name).iter_rows())
        if next(rows, None) is None:
            continue
        buffer: list[list[str | None]] = []
        first_row = 2
        for number, values in enumerate(rows, start=2):
            cells = [_cell(v) for v in values[:width]]
            cells += [None] * (width - len(cells))
            if all(c is None for c in cells):
                first_row = number + 1 if not buffer else first_row
                continue
            buffer.append(cells)
            if len(buffer) >= size:
                yield _xlsx_batch(source.columns, buffer, first_row)
                buffer, first_row = [], number + 1
        if buffer:
            yield _xlsx_batch(source.columns, buffer, first_row)


def _xlsx_batch(columns: list[str], rows: list[list[str | None]], first_row: int) -> Batch:
    frame = pl.DataFrame(rows, schema=dict.fromkeys(columns, pl.Utf8), orient="row")
    return _numbered(frame, first_row)


# --- Parquet and JSON Lines --------------------------------------------------------------


def _parquet_batches(source: Source, size: int) -> Iterator[Batch]:
    parquet = pq.ParquetFile(source.path)
    next_row = 2
    for record_batch in parquet.iter_batches(batch_size=size):
        frame = pl.from_arrow(record_batch)
        assert isinstance(frame, pl.DataFrame)
        yield _numbered(frame, next_row)
        next_row += frame.height


def _open_jsonl(path: Path, size: int) -> Source:
    columns: list[str] = []
    with path.open("r", encoding="utf-8-sig", errors="replace") as fh:
        for _, line in zip(range(1000), fh, strict=False):
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(record, dict):
                columns += [k for k in record if k not in columns]
    if not columns:
        raise UnreadableFile(
            f"{path}: no JSON objects in the first 1,000 lines",
            hint="each line must be one JSON object",
        )
    return Source(path, "jsonl", columns, encoding="utf-8", size_bytes=size)


def _json_cell(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _jsonl_batches(source: Source, size: int) -> Iterator[Batch]:
    stream = _Counting(source.path.open("rb"))
    source._stream = stream
    text = io.TextIOWrapper(io.BufferedReader(stream), encoding="utf-8-sig", errors="strict")
    rows: list[list[str | None]] = []
    numbers: list[int] = []
    known = set(source.columns)
    try:
        for number, line in enumerate(text, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                if not isinstance(record, dict):
                    raise ValueError("not a JSON object")
            except ValueError as exc:
                source.problems.append(RowProblem(number, f"invalid JSON: {exc}", line.rstrip()))
                continue
            unknown = [k for k in record if k not in known]
            if unknown:
                source.problems.append(
                    RowProblem(
                        number, f"fields {unknown} not in the first lines' columns", line.rstrip()
                    )
                )
                continue
            rows.append([_json_cell(record.get(c)) for c in source.columns])
            numbers.append(number)
            if len(rows) >= size:
                yield _json_batch(source.columns, rows, numbers)
                rows, numbers = [], []
    except UnicodeDecodeError as exc:
        raise UnreadableFile(f"{source.path}: not UTF-8 text (JSON Lines must be UTF-8)") from exc
    finally:
        stream.close()
    if rows:
        yield _json_batch(source.columns, rows, numbers)


def _json_batch(columns: list[str], rows: list[list[str | None]], numbers: list[int]) -> Batch:
    frame = pl.DataFrame(rows, schema=dict.fromkeys(columns, pl.Utf8), orient="row")
    return Batch(rows=pl.Series("row", numbers, dtype=pl.Int64), frame=frame)
