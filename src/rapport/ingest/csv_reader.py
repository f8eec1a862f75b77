"""CSV/TSV import files: any encoding made UTF-8 for pyarrow's streaming reader.

The file is decoded as it is read (bytes that are not text in its encoding become
:data:`~rapport.ingest.readers.INVALID`, so only their row is rejected), parsed by pyarrow
in blocks, numbered as a spreadsheet numbers its rows (blank lines count), and screened for
values no store keeps. A row longer than a block makes the reader start again with a larger
block; the last row is checked for a cut-off end of the file.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.csv as pacsv

from rapport.ingest.readers import (
    CUT_NOTE,
    SAMPLE_BYTES,
    Batch,
    CountingStream,
    RowProblem,
    Source,
    UnreadableFile,
    check_header,
    detect_encoding,
    screen_rows,
    set_aside,
    shown,
    sniff_delimiter,
)

#: pyarrow's first block size: a record (row) must fit in one block, so the reader starts
#: again with a block four times larger when one does not, up to :data:`MAX_BLOCK_BYTES`.
BLOCK_BYTES = 8 << 20
MAX_BLOCK_BYTES = 512 << 20
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


class _Utf8Feed(io.RawIOBase):
    """The file as valid UTF-8 for pyarrow, whatever its encoding.

    Bytes that are not valid in the file's encoding (a broken or cut-off multi-byte
    character) become :data:`INVALID`, so the row that holds them is found and rejected
    instead of the whole file being refused. The feed also counts the quote characters (an
    odd count at the end means a quoted value was never closed) and remembers the last
    byte (did the file stop in the middle of a line?).
    """

    chunk_bytes = 1 << 20

    def __init__(self, raw: io.RawIOBase, encoding: str) -> None:
        self.raw = raw
        self.decoder = codecs.getincrementaldecoder(encoding)(errors="rapport.invalid")
        self.pending = memoryview(b"")
        self.eof = False
        self.quotes = 0
        self.last = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        while not self.pending and not self.eof:
            raw = self.raw.read(self.chunk_bytes) or b""  # None: only a non-blocking stream's
            self.eof = not raw
            chunk = self.decoder.decode(raw, final=self.eof).encode("utf-8")
            self.quotes += chunk.count(b'"')
            self.last = chunk[-1:] or self.last
            self.pending = memoryview(chunk)
        n = min(len(buffer), len(self.pending))
        buffer[:n] = self.pending[:n]
        self.pending = self.pending[n:]
        return n

    @property
    def ends_in_line_break(self) -> bool:
        return self.last in (b"\n", b"\r")

    def close(self) -> None:
        self.raw.close()
        super().close()


def open_csv(path: Path, size: int) -> Source:
    """Open a CSV/TSV file: its encoding, delimiter and header, from its first 1 MB."""
    with path.open("rb") as fh:
        sample = fh.read(SAMPLE_BYTES)
    encoding = detect_encoding(sample, path)
    text = codecs.getincrementaldecoder(encoding)(errors="replace").decode(sample, final=False)
    lines = _LINE_BREAK.split(text.lstrip("\ufeff"), maxsplit=1)
    first_line = lines[0]
    if len(lines) == 1 and len(sample) < size:
        raise UnreadableFile(
            "{path}: no line break in the first {megabytes} MB",
            hint="the first line must be the header; is this a CSV file?",
            key="file_no_line_break",
            params={"path": path, "megabytes": SAMPLE_BYTES >> 20},
        )
    if not first_line.strip():
        raise UnreadableFile(
            "{path}: no header row",
            hint="the first row must name the columns",
            key="file_no_header",
            params={"path": path},
        )
    delimiter = sniff_delimiter(first_line, path)
    header = next(csv.reader([first_line], delimiter=delimiter), [])
    # a header without a line break after it (and nothing else) is a file of no rows:
    # pyarrow cannot skip a header line that never ends
    header_only = len(sample) == size and (len(lines) == 1 or not lines[1].strip("\r\n"))
    return Source(
        path,
        "csv",
        check_header(header, path),
        encoding=encoding,
        delimiter=delimiter,
        size_bytes=size,
        header_only=header_only,
    )


class _BlockTooSmall(Exception):
    """A record of the file does not fit in pyarrow's block: read again with a larger one."""


def csv_batches(source: Source, size: int) -> Iterator[Batch]:
    """The rows of a CSV source in batches of ``size``; bad rows go to its problems."""
    if source.header_only:
        return
    state = _CsvState()
    block = BLOCK_BYTES
    while True:
        try:
            yield from _csv_pass(source, size, block, state)
            return
        except _BlockTooSmall:
            block *= 4
            if block > MAX_BLOCK_BYTES:
                raise UnreadableFile(
                    "{path}: a row is longer than {megabytes} MB",
                    hint="split the very long values (or the rows) and import again",
                    key="file_row_too_long",
                    params={"path": source.path, "megabytes": MAX_BLOCK_BYTES >> 20},
                ) from None


@dataclass
class _CsvState:
    """What earlier passes over a CSV file handed on (a pass ends when a row does not fit)."""

    taken: int = 0  # well-formed records already taken (into a batch or the problems)
    invalid: set[int] = field(default_factory=set)  # rows of a wrong width already reported
    buffer: list[tuple[pl.Series, pl.DataFrame]] = field(default_factory=list)
    last_row: int = 0  # the spreadsheet row of the last record seen


def _csv_pass(source: Source, size: int, block: int, state: _CsvState) -> Iterator[Batch]:
    """One pass over a CSV file with pyarrow blocks of ``block`` bytes."""
    columns = source.columns
    skipped: list[int] = []

    def on_invalid(row: pacsv.InvalidRow) -> str:
        # pyarrow numbers records from 1 with the header as record 1: the spreadsheet row.
        number = int(row.number or 0)
        skipped.append(number)
        if not row.text.strip():  # a blank line: a row number, no row
            return "skip"
        if number not in state.invalid:
            state.invalid.add(number)
            reason = f"row has {row.actual_columns} fields, the header has {row.expected_columns}"
            source.problems.append(RowProblem(row=number, reason=reason, text=shown(row.text)))
        return "skip"

    stream = CountingStream(source.path.open("rb"), ahead=3 * block)
    source._stream = stream
    feed = _Utf8Feed(stream, source.encoding or "utf-8")
    next_row = 2
    seen = 0  # well-formed records of this pass

    def numbered(height: int) -> pl.Series:
        nonlocal next_row
        later = np.array([s for s in skipped if s >= next_row], dtype=np.int64)
        candidates = np.arange(next_row, next_row + height + len(later), dtype=np.int64)
        rows = candidates[~np.isin(candidates, later)][:height]
        next_row = int(rows[-1]) + 1 if len(rows) else next_row
        state.last_row = max(state.last_row, next_row - 1)
        return pl.Series("row", rows)

    def flush(final: bool) -> Iterator[Batch]:
        # the last row is held back until the end of the file: the end may have cut it off
        buffered = sum(len(r) for r, _ in state.buffer)
        while buffered > size or (final and buffered):
            rows = pl.concat([r for r, _ in state.buffer])
            frame = pl.concat([f for _, f in state.buffer])
            take = min(size, rows.len())
            state.buffer = [(rows.slice(take), frame.slice(take))] if take < rows.len() else []
            buffered -= take
            yield Batch(rows=rows.head(take), frame=frame.head(take))

    try:
        reader = pacsv.open_csv(
            io.BufferedReader(feed, buffer_size=1 << 20),
            read_options=pacsv.ReadOptions(
                encoding="utf8",
                column_names=columns,
                skip_rows=1,
                block_size=block,
                use_threads=False,
            ),
            parse_options=pacsv.ParseOptions(
                delimiter=source.delimiter or ",",
                newlines_in_values=True,
                # blank lines are rows of a spreadsheet: counted, then skipped
                ignore_empty_lines=False,
                invalid_row_handler=on_invalid,
            ),
            convert_options=pacsv.ConvertOptions(
                column_types={c: pa.string() for c in columns},
                strings_can_be_null=True,
                null_values=[""],
                quoted_strings_can_be_null=False,
            ),
        )
        while True:
            try:
                record_batch = reader.read_next_batch()
            except StopIteration:
                break
            stream.advance(block)  # pyarrow yields one record batch per block
            rows = numbered(record_batch.num_rows)
            skip = max(0, min(record_batch.num_rows, state.taken - seen))
            seen += record_batch.num_rows
            if skip == record_batch.num_rows:
                continue
            rows, record_batch = rows.slice(skip), record_batch.slice(skip)
            state.taken += record_batch.num_rows
            frame = pl.from_arrow(record_batch)
            assert isinstance(frame, pl.DataFrame)
            state.buffer.append(screen_rows(source, rows, frame))
            yield from flush(final=False)
        state.last_row = max(state.last_row, *skipped, 0)
        _check_last_row(source, feed, state)
        yield from flush(final=True)
    except pa.ArrowInvalid as exc:
        if "straddl" in str(exc):  # "straddling object straddles two block boundaries"
            raise _BlockTooSmall from exc
        raise UnreadableFile(
            "{path}: cannot parse as CSV: {reason}",
            key="file_not_csv",
            params={"path": source.path, "reason": exc},
        ) from exc
    except pa.ArrowException as exc:
        raise UnreadableFile(
            "{path}: cannot parse as CSV: {reason}",
            key="file_not_csv",
            params={"path": source.path, "reason": exc},
        ) from exc
    finally:
        stream.close()


def _check_last_row(source: Source, feed: _Utf8Feed, state: _CsvState) -> None:
    """Reject a last row that the end of the file cut off, saying so.

    A quoted value still open at the end of the file (an odd number of quote characters)
    swallowed the rest of the file: its row is rejected when the value runs over lines or
    the file stops in the middle of a line. A last row rejected for another reason (too few
    fields, a broken multi-byte character) says that the file seems cut off.
    """
    cut = not feed.ends_in_line_break
    held = [i for i, (r, _) in enumerate(state.buffer) if r.len()]
    if feed.quotes % 2 and held:
        rows, frame = state.buffer[held[-1]]
        if int(rows[-1]) == state.last_row:
            values = frame.row(frame.height - 1)
            runs_over = any(v is not None and ("\n" in v or "\r" in v) for v in values)
            if runs_over or cut:
                reason = "a quoted value is not closed before the end of the file" + (
                    CUT_NOTE if cut else " (an unbalanced quote)"
                )
                bad = pl.Series([None] * (frame.height - 1) + [reason], dtype=pl.Utf8)
                state.buffer[held[-1]] = set_aside(source, rows, frame, bad)
                return
    if cut:
        for problem in source.problems:
            if problem.row == state.last_row and not problem.reason.endswith(CUT_NOTE):
                problem.reason += CUT_NOTE
