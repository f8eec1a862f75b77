"""The import report (it adds up) and the reject file (fix it, import it again as is)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow.parquet as pq

from rapport.ingest.readers import RowProblem, Source
from rapport.ingest.spreadsheet import neutralise_frame

#: Columns the reject file adds; the importer ignores them when the file comes back.
#: ``_reason`` states every problem of the row in English, as always; ``_code`` gives each
#: problem its stable code (:mod:`rapport.i18n.reasons`) and ``_message`` says it in the
#: configured locale.
REJECT_COLUMNS = ("_row", "_column", "_reason", "_raw", "_code", "_message")


@dataclass
class ImportReport:
    """What one import did. ``read == inserted + updated + unchanged + rejected`` always."""

    entity: str
    file: str
    format: str
    encoding: str | None = None
    dry_run: bool = False
    read: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    batches: int = 0
    seconds: float = 0.0
    mapping: dict[str, str] = field(default_factory=dict)
    unknown_columns: list[str] = field(default_factory=list)
    reject_file: str | None = None
    reject_reasons: dict[str, int] = field(default_factory=dict)
    #: values dropped from rows that were kept (a bad e-mail, phone, birthday …)
    warnings: int = 0
    warning_file: str | None = None
    warning_reasons: dict[str, int] = field(default_factory=dict)
    #: field the file has no column for → what the import fills in (a default of the
    #: entity, or the mapping file's [values] constant)
    defaults: dict[str, str] = field(default_factory=dict)
    #: the loyalty points the imported orders earned or gave back (docs/loyalty.md), or
    #: ``None`` when the import posts none
    loyalty: dict[str, Any] | None = None

    @property
    def adds_up(self) -> bool:
        return self.read == self.inserted + self.updated + self.unchanged + self.rejected

    @property
    def rows_per_second(self) -> float:
        return self.read / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["rows_per_second"] = round(self.rows_per_second, 1)
        out["adds_up"] = self.adds_up
        return out


def _reason_kind(reason: str) -> str:
    """A short class of a reason for the summary ("net_amount: must be >= 0")."""
    first = reason.split("; ")[0]
    column, _, problem = first.partition(": ")
    problem = problem.split(" '")[0].split(": ")[0]
    return f"{column}: {problem}" if problem else column


class RejectWriter:
    """Appends rejected rows to ``<file stem>.rejects.<ext>`` in the input's format."""

    def __init__(self, source: Source, path: Path | None = None, locale: str | None = None) -> None:
        self.source = source
        self.locale = locale or _locale()
        suffix = {"csv": source.path.suffix or ".csv", "xlsx": ".xlsx", "parquet": ".parquet",
                  "jsonl": source.path.suffix or ".jsonl"}[source.format]  # fmt: skip
        self.path = path or source.path.with_name(f"{source.path.stem}.rejects{suffix}")
        self.count = 0
        self.reasons: dict[str, int] = {}
        self._frames: list[pl.DataFrame] = []
        self._parquet: pq.ParquetWriter | None = None
        self._started = False
        self.data_columns = [c for c in source.columns if c not in REJECT_COLUMNS]

    def add(self, raw: pl.DataFrame, rejects: pl.DataFrame) -> None:
        """``raw``: the input rows as read; ``rejects``: their _row, _column, _reason."""
        if rejects.height == 0:
            return
        frame = raw.select(self.data_columns).with_columns(
            rejects["__row"].alias("_row"),
            rejects["_column"],
            rejects["_reason"],
            pl.lit(None, dtype=pl.Utf8).alias("_raw"),
            *_explained(rejects["_reason"], self.locale),
        )
        self._write(frame)
        for reason in rejects["_reason"].to_list():
            kind = _reason_kind(reason)
            self.reasons[kind] = self.reasons.get(kind, 0) + 1

    def add_problems(self, problems: list[RowProblem]) -> None:
        """Rows the reader could not split into columns: kept verbatim in ``_raw``."""
        if not problems:
            return
        reasons = pl.Series([p.reason for p in problems], dtype=pl.Utf8)
        frame = pl.DataFrame(
            {
                **{c: pl.Series([None] * len(problems), dtype=pl.Utf8) for c in self.data_columns},
                "_row": pl.Series([p.row for p in problems], dtype=pl.Int64),
                "_column": pl.Series(["*"] * len(problems), dtype=pl.Utf8),
                "_reason": reasons,
                "_raw": pl.Series([p.text for p in problems], dtype=pl.Utf8),
            }
        ).with_columns(*_explained(reasons, self.locale))
        self._write(frame)
        for p in problems:
            kind = _reason_kind(f"*: {p.reason}")
            self.reasons[kind] = self.reasons.get(kind, 0) + 1

    def _write(self, frame: pl.DataFrame) -> None:
        self.count += frame.height
        fmt = self.source.format
        if fmt not in ("parquet", "jsonl"):  # a spreadsheet may open it: no formula runs
            frame = neutralise_frame(frame.cast(pl.Utf8), as_read=True)
        if fmt == "csv":
            text = frame.cast(pl.Utf8).write_csv(
                separator=self.source.delimiter or ",", include_header=not self._started
            )
            mode, encoding = ("a", "utf-8") if self._started else ("w", "utf-8-sig")
            with self.path.open(mode, encoding=encoding, newline="") as fh:
                fh.write(text)
        elif fmt == "jsonl":
            mode = "a" if self._started else "w"
            with self.path.open(mode, encoding="utf-8") as fh:
                for record in frame.to_dicts():
                    fh.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")
        elif fmt == "parquet":
            table = frame.to_arrow()
            if self._parquet is None:
                self._parquet = pq.ParquetWriter(self.path, table.schema)
            self._parquet.write_table(table.cast(self._parquet.schema))
        else:
            self._frames.append(frame.cast(pl.Utf8))
        self._started = True

    def close(self) -> str | None:
        if self._parquet is not None:
            self._parquet.close()
        if self._frames:
            _write_xlsx(self.path, pl.concat(self._frames))
        return str(self.path) if self.count else None


class WarningWriter:
    """Writes the values dropped from kept rows to ``<file stem>.warnings.csv``.

    One line per dropped value: ``_row`` (spreadsheet row, header = 1), ``_column``,
    ``_value`` (as in the file), ``_reason`` (English), ``_code`` (stable) and ``_message``
    (in the configured locale); UTF-8 with BOM, so Excel opens it.
    """

    COLUMNS = ("_row", "_column", "_value", "_reason", "_code", "_message")

    def __init__(self, source: Source, path: Path | None = None, locale: str | None = None) -> None:
        self.path = path or source.path.with_name(f"{source.path.stem}.warnings.csv")
        self.locale = locale or _locale()
        self.count = 0
        self.reasons: dict[str, int] = {}

    def add(self, warnings: pl.DataFrame) -> None:
        """``warnings``: ``__row``, ``_column``, ``_value``, ``_reason`` of dropped values."""
        if warnings.height == 0:
            return
        frame = (
            warnings.select(pl.col("__row").alias("_row"), "_column", "_value", "_reason")
            .with_columns(*_explained(warnings["_reason"], self.locale))
            .cast(pl.Utf8)
        )
        frame = neutralise_frame(frame, as_read=True)
        first = self.count == 0
        mode, encoding = ("w", "utf-8-sig") if first else ("a", "utf-8")
        with self.path.open(mode, encoding=encoding, newline="") as fh:
            fh.write(frame.write_csv(include_header=first))
        self.count += frame.height
        for column, reason in warnings.select("_column", "_reason").iter_rows():
            kind = _reason_kind(f"{column}: {reason}")
            self.reasons[kind] = self.reasons.get(kind, 0) + 1

    def close(self) -> str | None:
        return str(self.path) if self.count else None


def _locale() -> str:
    from rapport.config import get_settings

    return get_settings().locale


def _explained(reasons: pl.Series, locale: str) -> list[pl.Series]:
    """``_code`` and ``_message`` of each ``_reason`` (each distinct text explained once)."""
    from rapport.i18n.reasons import localize_reason, reason_codes

    distinct = reasons.drop_nulls().unique().to_list()
    codes = {r: reason_codes(r) for r in distinct}
    messages = {r: localize_reason(r, locale) for r in distinct}
    return [
        reasons.replace_strict(codes, default=None, return_dtype=pl.Utf8).alias("_code"),
        reasons.replace_strict(messages, default=None, return_dtype=pl.Utf8).alias("_message"),
    ]


def _write_xlsx(path: Path, frame: pl.DataFrame) -> None:
    from openpyxl import Workbook
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    def cell(value: object) -> object:
        # control characters (read from _x001B_ escapes) written back the way Excel does
        if isinstance(value, str):
            return ILLEGAL_CHARACTERS_RE.sub(lambda m: f"_x{ord(m[0]):04X}_", value)
        return value

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("rejects")
    sheet.append(frame.columns)
    for row in frame.iter_rows():
        sheet.append([cell(v) for v in row])
    workbook.save(path)


__all__ = ["REJECT_COLUMNS", "ImportReport", "RejectWriter", "WarningWriter"]
