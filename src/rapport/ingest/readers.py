"""Readers of import files: CSV/TSV (encoding detected), XLSX, Parquet and JSON Lines.

CSV/TSV files are read by :mod:`rapport.ingest.csv_reader`, the others here. A reader
yields :class:`Batch` es of raw values with the spreadsheet row number of each row (the
header is row 1), so every problem can be reported where the user sees it. Memory is
bounded by the batch size, whatever the file size (XLSX sheets excepted: a sheet is at most
1,048,576 rows and is read by calamine as a whole). Rows whose values no store keeps (NUL
characters, bytes that are not text) and rows that could not be split into values become
the source's :class:`RowProblem` s: rejected with their reason, never the whole file.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import json
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Literal

import polars as pl
import pyarrow as pa
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


class CountingStream(io.RawIOBase):
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
    header_only: bool = False
    problems: list[RowProblem] = field(default_factory=list)
    _stream: CountingStream | None = None

    @property
    def bytes_read(self) -> int:
        return self._stream.count if self._stream is not None else 0

    def batches(self, size: int = 100_000) -> Iterator[Batch]:
        from rapport.ingest.csv_reader import csv_batches  # (it imports this module)

        reader = {
            "csv": csv_batches,
            "xlsx": _xlsx_batches,
            "parquet": _parquet_batches,
            "jsonl": _jsonl_batches,
        }[self.format]
        batches = reader(self, size)
        # CSV screens its rows itself (before it looks at the end of the file)
        yield from batches if self.format == "csv" else _screened(self, batches)


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
            "{path}: this is an old Excel .xls file",
            hint="save it as .xlsx or CSV in Excel and import that",
            key="file_xls",
            params={"path": path},
        )
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson", ".json"):
        return "jsonl"
    if suffix in (".xlsx", ".xlsm"):
        raise UnreadableFile(
            "{path}: not a spreadsheet (no XLSX content)",
            hint="check the file, or rename it to .csv if it is text",
            key="file_not_xlsx",
            params={"path": path},
        )
    if suffix == ".parquet":
        raise UnreadableFile(
            "{path}: not a Parquet file (no PAR1 magic)",
            key="file_not_parquet",
            params={"path": path},
        )
    return "csv"


def _utf16_without_bom(sample: bytes) -> str | None:
    """``utf-16-le``/``-be`` when the zero bytes of ``sample`` sit on one side of its pairs.

    Text in UTF-16 has a zero byte in every ASCII character (delimiters, line breaks,
    digits); text in UTF-8 or GB18030 has none, binary data has them on both sides.
    """
    head = sample[:65536]
    pairs = len(head) // 2
    if pairs < 2:
        return None
    even, odd = head[0 : 2 * pairs : 2].count(0), head[1 : 2 * pairs : 2].count(0)
    for zeros, other, encoding in ((odd, even, "utf-16-le"), (even, odd, "utf-16-be")):
        if zeros >= max(2, pairs // 5) and other <= zeros // 20:
            try:
                codecs.getincrementaldecoder(encoding)().decode(head[: 2 * pairs], final=False)
            except UnicodeDecodeError:
                return None
            return encoding
    return None


def detect_encoding(sample: bytes, path: Path) -> str:
    """UTF-8 (with or without BOM), UTF-16 (with or without BOM), UTF-32 (BOM), GB18030
    (covers GBK and GB2312) or a guess."""
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        return "utf-32"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if b"\x00" in sample[:65536]:
        utf16 = _utf16_without_bom(sample)
        if utf16 is not None:
            return utf16
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
            "{path}: cannot tell the text encoding",
            hint="save the file as UTF-8 (Excel: CSV UTF-8) and import again",
            key="file_encoding_unknown",
            params={"path": path},
        )
    return best.encoding


def sniff_delimiter(first_line: str, path: Path) -> str:
    if path.suffix.lower() in (".tsv", ".tab"):
        return "\t"
    counts = {d: first_line.count(d) for d in (",", "\t", ";", "|")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] > 0 else ","


def check_header(columns: list[str], path: Path) -> list[str]:
    cleaned = [str(c).strip() if c is not None else "" for c in columns]
    if not any(cleaned):
        raise UnreadableFile(
            "{path}: no header row",
            hint="the first row must name the columns",
            key="file_no_header",
            params={"path": path},
        )
    if any("\x00" in c for c in cleaned):
        raise UnreadableFile(
            "{path}: the header holds NUL characters",
            hint="is it a UTF-16 or UTF-32 file without a BOM? save it as UTF-8 and import again",
            key="file_header_nul",
            params={"path": path},
        )
    blanks = [i + 1 for i, c in enumerate(cleaned) if not c]
    if blanks:
        raise UnreadableFile(
            "{path}: header has empty column names at positions {positions}",
            hint="name every column in the first row",
            key="file_header_blank",
            params={"path": path, "positions": blanks},
        )
    seen: set[str] = set()
    for c in cleaned:
        if c in seen:
            raise UnreadableFile(
                "{path}: column {column!r} appears twice in the header",
                key="file_header_twice",
                params={"path": path, "column": c},
            )
        seen.add(c)
    return cleaned


def open_source(path: str | Path, *, sheet: str | None = None) -> Source:
    """Open ``path`` for import; :class:`UnreadableFile` says why when it cannot be read."""
    path = Path(path)
    if not path.is_file():
        raise UnreadableFile("{path}: no such file", key="file_missing", params={"path": path})
    size = path.stat().st_size
    if size == 0:
        raise UnreadableFile("{path}: the file is empty", key="file_empty", params={"path": path})
    fmt = detect_format(path)
    if fmt == "csv":
        from rapport.ingest.csv_reader import open_csv  # (it imports this module)

        return open_csv(path, size)
    if fmt == "xlsx":
        return _open_xlsx(path, size, sheet)
    if fmt == "parquet":
        try:
            schema = pq.read_schema(path)
        except (pa.ArrowInvalid, OSError) as exc:
            raise UnreadableFile(
                "{path}: not a readable Parquet file: {reason}",
                key="file_parquet_unreadable",
                params={"path": path, "reason": exc},
            ) from exc
        return Source(path, "parquet", check_header(schema.names, path), size_bytes=size)
    return _open_jsonl(path, size)


#: What an undecodable byte becomes: a noncharacter, "for internal use" by Unicode's words.
INVALID = "\uffff"
#: Said of a last row that the end of the file cut off.
CUT_NOTE = " (the file seems cut off here)"


def _mark_invalid(exc: UnicodeError) -> tuple[str, int]:
    """Decoding error handler: each byte that is not text becomes :data:`INVALID`."""
    if not isinstance(exc, UnicodeDecodeError):
        raise exc
    return INVALID * (exc.end - exc.start), exc.end


codecs.register_error("rapport.invalid", _mark_invalid)


# --- rows no store keeps -----------------------------------------------------------------


def _unstorable(frame: pl.DataFrame, encoding: str) -> pl.Series | None:
    """Per row, why its values cannot be stored, or null (None: every row is fine).

    NUL characters are refused the way the API refuses them (PostgreSQL cannot store them
    in text; SQLite would, and key lookups would then miss); bytes that were not text in
    the file's encoding are refused rather than guessed.
    """
    text = [c for c, dtype in frame.schema.items() if dtype == pl.Utf8]
    if not text or frame.height == 0:
        return None
    checks = []
    for c in text:
        checks.append(
            pl.when(pl.col(c).str.contains(INVALID, literal=True)).then(
                pl.lit(f"bytes that are not {encoding} text in column {c!r}")
            )
        )
        checks.append(
            pl.when(pl.col(c).str.contains("\x00", literal=True)).then(
                pl.lit(f"NUL character in column {c!r}: text must not contain NUL characters")
            )
        )
    found = frame.select(pl.coalesce(checks).alias("reason")).to_series()
    return None if found.null_count() == frame.height else found


def screen_rows(
    source: Source, rows: pl.Series, frame: pl.DataFrame
) -> tuple[pl.Series, pl.DataFrame]:
    """The batch without the rows no store keeps (those become the source's problems) and
    without the rows that hold no value at all (blank lines, rows of empty cells)."""
    if frame.width and frame.height:
        blank = frame.select(pl.all_horizontal(pl.all().is_null()).alias("b")).to_series()
        if blank.any():
            rows, frame = rows.filter(~blank), frame.filter(~blank)
    reasons = _unstorable(frame, source.encoding or "UTF-8")
    return (rows, frame) if reasons is None else set_aside(source, rows, frame, reasons)


def _screened(source: Source, batches: Iterator[Batch]) -> Iterator[Batch]:
    for batch in batches:
        rows, frame = screen_rows(source, batch.rows, batch.frame)
        if frame.height:
            yield Batch(rows=rows, frame=frame)


def set_aside(
    source: Source, rows: pl.Series, frame: pl.DataFrame, reasons: pl.Series
) -> tuple[pl.Series, pl.DataFrame]:
    """Move the rows with a reason out of the batch into the source's problems."""
    bad = reasons.is_not_null()
    if not bad.any():
        return rows, frame
    for row, reason, values in zip(
        rows.filter(bad).to_list(),
        reasons.filter(bad).to_list(),
        frame.filter(bad).iter_rows(),
        strict=True,
    ):
        text = _row_text(source, frame.columns, values)
        source.problems.append(RowProblem(row=int(row), reason=reason, text=text))
    return rows.filter(~bad), frame.filter(~bad)


def shown(text: str) -> str:
    """Text for a reject file: NUL as ␀ and undecodable bytes as �, which every file takes."""
    return text.replace("\x00", "\u2400").replace(INVALID, "\ufffd")


def _row_text(source: Source, columns: list[str], values: tuple) -> str:
    """A rejected row as one line of the file's format."""
    if source.format == "jsonl":
        return shown(json.dumps(dict(zip(columns, values, strict=True)), ensure_ascii=False))
    out = io.StringIO()
    writer = csv.writer(out, delimiter=source.delimiter or ",", lineterminator="")
    writer.writerow(["" if v is None else str(v) for v in values])
    return shown(out.getvalue())


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
        raise UnreadableFile(
            "{path}: not a readable spreadsheet: {reason}",
            key="file_not_spreadsheet",
            params={"path": path, "reason": exc},
        ) from exc


def _sheet_rows(workbook, name: str, path: Path) -> Iterator[list]:
    """The rows of one sheet; a sheet calamine cannot read makes the file unreadable."""
    try:
        yield from workbook.get_sheet_by_name(name).iter_rows()
    except Exception as exc:  # calamine raises several error types for broken files
        raise UnreadableFile(
            "{path}: sheet {sheet!r} is not readable: {reason}",
            key="file_sheet_unreadable",
            params={"path": path, "sheet": name, "reason": exc},
        ) from exc


def _open_xlsx(path: Path, size: int, sheet: str | None) -> Source:
    workbook = _workbook(path)
    names = list(workbook.sheet_names)
    if sheet is not None and sheet not in names:
        raise UnreadableFile(
            "{path}: no sheet named {sheet!r}",
            hint="sheets: {sheets}",
            key="file_no_sheet",
            params={"path": path, "sheet": sheet, "sheets": names},
        )
    sheets = [sheet] if sheet is not None else names
    header: list[str] | None = None
    for name in sheets:
        first = next(_sheet_rows(workbook, name, path), None)
        if first is None:
            continue
        cols = check_header([_cell(v) or "" for v in first], path)
        if header is None:
            header = cols
        elif cols != header:
            raise UnreadableFile(
                "{path}: sheet {sheet!r} has other columns than the first sheet",
                hint="import one sheet at a time with --sheet",
                key="file_sheet_columns",
                params={"path": path, "sheet": name},
            )
    if header is None:
        raise UnreadableFile(
            "{path}: every sheet is empty", key="file_sheets_empty", params={"path": path}
        )
    return Source(path, "xlsx", header, sheets=sheets, size_bytes=size)


def _xlsx_batches(source: Source, size: int) -> Iterator[Batch]:
    workbook = _workbook(source.path)
    width = len(source.columns)
    for name in source.sheets:
        rows = _sheet_rows(workbook, name, source.path)
        if next(rows, None) is None:
            continue
        buffer: list[list[str | None]] = []
        numbers: list[int] = []
        for number, values in enumerate(rows, start=2):
            cells = [_cell(v) for v in values[:width]]
            cells += [None] * (width - len(cells))
            if all(c is None for c in cells):
                continue
            buffer.append(cells)
            numbers.append(number)
            if len(buffer) >= size:
                yield _rows_batch(source.columns, buffer, numbers)
                buffer, numbers = [], []
        if buffer:
            yield _rows_batch(source.columns, buffer, numbers)


# --- Parquet and JSON Lines --------------------------------------------------------------


def _parquet_batches(source: Source, size: int) -> Iterator[Batch]:
    parquet = pq.ParquetFile(source.path)
    next_row = 2
    try:
        for record_batch in parquet.iter_batches(batch_size=size):
            rows = pl.int_range(
                next_row, next_row + record_batch.num_rows, eager=True, dtype=pl.Int64
            ).alias("row")
            next_row += record_batch.num_rows
            yield Batch(rows=rows, frame=_parquet_frame(record_batch))
    except (pa.ArrowException, OSError) as exc:
        raise UnreadableFile(
            "{path}: not a readable Parquet file: {reason}",
            key="file_parquet_unreadable",
            params={"path": source.path, "reason": exc},
        ) from exc


def _parquet_frame(record_batch: pa.RecordBatch) -> pl.DataFrame:
    """Values as the validator takes them: bytes as UTF-8 text, nested values as JSON."""
    columns: dict[str, pa.Array] = {}
    for name, array in zip(record_batch.schema.names, record_batch.columns, strict=True):
        kind = array.type
        if pa.types.is_dictionary(kind):
            array, kind = array.dictionary_decode(), kind.value_type
        if pa.types.is_nested(kind):
            texts = [
                None if v is None else json.dumps(v, ensure_ascii=False, default=str)
                for v in array.to_pylist()
            ]
            columns[name] = pa.array(texts, pa.string())
        elif (
            pa.types.is_binary(kind)
            or pa.types.is_large_binary(kind)
            or pa.types.is_fixed_size_binary(kind)
        ):
            texts = [
                None if v is None else v.decode("utf-8", "rapport.invalid")
                for v in array.to_pylist()
            ]
            columns[name] = pa.array(texts, pa.string())
        else:
            columns[name] = array
    frame = pl.from_arrow(pa.table(columns)) if columns else pl.DataFrame()
    assert isinstance(frame, pl.DataFrame)
    return frame


def _usable(record: object) -> bool:
    """A JSON object whose text every store can keep (no unpaired surrogates)."""
    if not isinstance(record, dict):
        return False
    try:
        json.dumps(record, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _open_jsonl(path: Path, size: int) -> Source:
    columns: list[str] = []
    with path.open("r", encoding="utf-8-sig", errors="replace") as fh:
        for _, line in zip(range(1000), fh, strict=False):
            try:
                record = json.loads(line)
            except (json.JSONDecodeError, RecursionError):
                continue
            if isinstance(record, dict):
                columns += [
                    k for k in record if k not in columns and "\x00" not in k and _usable({k: None})
                ]
    if not columns:
        raise UnreadableFile(
            "{path}: no JSON objects in the first 1,000 lines",
            hint="each line must be one JSON object",
            key="file_no_json",
            params={"path": path},
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


_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def _jsonl_record(raw: bytes) -> tuple[dict | None, str, str | None]:
    """One line: the object, the line as text, and why it cannot be imported (or None)."""
    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        text = raw.decode("utf-8", "replace")
        return None, text, f"bytes that are not UTF-8 text at character {exc.start}"
    try:
        record = json.loads(line)
    except (ValueError, RecursionError) as exc:
        return None, line, f"invalid JSON: {exc}"
    if not isinstance(record, dict):
        return None, line, "invalid JSON: not a JSON object"
    if _SURROGATE_ESCAPE.search(line) and not _usable(record):
        return None, line, "an unpaired surrogate (\\ud800-\\udfff): text must be valid Unicode"
    return record, line, None


def _jsonl_batches(source: Source, size: int) -> Iterator[Batch]:
    stream = CountingStream(source.path.open("rb"))
    source._stream = stream
    rows: list[list[str | None]] = []
    numbers: list[int] = []
    known = set(source.columns)
    number = 0
    cut = False
    try:
        for chunk in io.BufferedReader(stream):
            if number == 0 and chunk.startswith(codecs.BOM_UTF8):
                chunk = chunk[len(codecs.BOM_UTF8) :]
            cut = not chunk.endswith((b"\n", b"\r"))
            # lines end with LF; CR and CR LF line ends are split too
            for raw in chunk.splitlines() or [b""]:
                number += 1
                if not raw.strip():
                    continue
                record, line, problem = _jsonl_record(raw)
                if problem is None and record is not None:
                    unknown = [k for k in record if k not in known]
                    if unknown:
                        problem = f"fields {unknown} not in the first lines' columns"
                if problem is not None or record is None:
                    source.problems.append(RowProblem(number, problem or "", line.rstrip()))
                    continue
                rows.append([_json_cell(record.get(c)) for c in source.columns])
                numbers.append(number)
                if len(rows) >= size:
                    yield _rows_batch(source.columns, rows, numbers)
                    rows, numbers = [], []
    finally:
        stream.close()
    if cut and source.problems and source.problems[-1].row == number:
        source.problems[-1].reason += CUT_NOTE
    if rows:
        yield _rows_batch(source.columns, rows, numbers)


def _rows_batch(columns: list[str], rows: list[list[str | None]], numbers: list[int]) -> Batch:
    frame = pl.DataFrame(rows, schema=dict.fromkeys(columns, pl.Utf8), orient="row")
    return Batch(rows=pl.Series("row", numbers, dtype=pl.Int64), frame=frame)
