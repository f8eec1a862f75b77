"""What an import would read, before anything is written: the file's format, encoding and
delimiter, its header mapped to import fields, the first rows, and the problems found in
them.

The preview reads the file with the importer's own pieces — :func:`open_source`,
:func:`~rapport.ingest.importer.map_columns`, :func:`~rapport.ingest.validate.check_batch`
— on the first rows only, without a database: references to stored records (a customer
named by an order) and duplicates across the whole file are checked by the import itself.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from rapport.config import Rules, Settings, get_settings, load_rules
from rapport.errors import ValidationFailed
from rapport.ingest.defaults import applicable
from rapport.ingest.entities import entity
from rapport.ingest.importer import CONSTANT, Mapping, map_columns
from rapport.ingest.readers import open_source
from rapport.ingest.validate import ROW, Context, check_batch

#: How many rows a preview shows.
SAMPLE_ROWS = 10


@dataclass(frozen=True)
class SampleProblem:
    """A problem of a sample row: its spreadsheet row, the file column, the reason (the
    importer's English ``_reason``, localised by :func:`rapport.i18n.reasons.localize_reason`)."""

    row: int
    column: str
    reason: str
    rejects_row: bool  # False: the value is dropped with a warning, the row is kept


@dataclass
class Preview:
    """The preview of one file imported as ``entity``."""

    entity: str
    file: str
    format: str
    encoding: str | None
    delimiter: str | None
    columns: list[str]
    mapping: dict[str, str]  # file column → import field
    unknown_columns: list[str]  # kept in the record's ``extra`` document
    defaults: dict[str, str]  # import field → what fills it when the file has no column
    rows: list[list[str | None]]  # the first rows as read, in ``columns`` order
    row_numbers: list[int]
    problems: list[SampleProblem] = field(default_factory=list)
    #: Why the file cannot be imported as it is (columns that cannot be mapped), or None.
    mapping_error: ValidationFailed | None = None

    @property
    def importable(self) -> bool:
        return self.mapping_error is None


def preview_file(
    entity_name: str,
    path: str | Path,
    *,
    sheet: str | None = None,
    mapping: Mapping | None = None,
    rows: int = SAMPLE_ROWS,
    settings: Settings | None = None,
    rules: Rules | None = None,
    strict: bool = False,
) -> Preview:
    """The preview of importing ``path`` as ``entity_name`` (nothing is written).

    Raises
    ------
    UnreadableFile
        When the file cannot be read at all, as the import would.
    """
    settings = settings or get_settings()
    rules = rules or load_rules(settings)
    spec = entity(entity_name)
    source = open_source(path, sheet=sheet)
    columns = list(source.columns)
    mapping_error: ValidationFailed | None = None
    try:
        mapped, unknown = map_columns(spec, columns, mapping)
    except ValidationFailed as exc:
        mapping_error, mapped, unknown = exc, {}, []
    given = set(mapped.values())
    defaults = {
        name: default.says
        for name, default in applicable(spec.name, given).items()
        if name not in given
    }
    preview = Preview(
        entity=spec.name,
        file=source.path.name,
        format=source.format,
        encoding=source.encoding,
        delimiter=source.delimiter,
        columns=columns,
        mapping={c: f for c, f in mapped.items() if not c.startswith(CONSTANT)},
        unknown_columns=unknown,
        defaults=defaults,
        rows=[],
        row_numbers=[],
        mapping_error=mapping_error,
    )
    # a row the reader cannot split ends a batch early: read on to ``rows`` rows
    frames, numbered, read = [], [], 0
    for batch in source.batches(rows):
        frames.append(batch.frame)
        numbered.append(batch.rows)
        read += batch.frame.height
        if read >= rows:
            break
    last = int(numbered[-1][min(rows, read) - 1]) if read else rows + 1
    for problem in source.problems:
        if problem.row <= last:
            preview.problems.append(SampleProblem(problem.row, "*", problem.reason, True))
    if not read:
        return preview
    frame = pl.concat(frames, how="vertical_relaxed").head(rows)
    numbers = pl.concat(numbered).head(rows)
    preview.rows = [list(r) for r in frame.select(columns).iter_rows()]
    preview.row_numbers = [int(n) for n in numbers.to_list()]
    if mapping_error is not None:
        return preview
    ctx = Context(
        tz=settings.tz,
        phone_region=rules.business.default_phone_region,
        rules=rules,
        strict=strict,
        today=dt.datetime.now(settings.tz).date(),
    )
    checked = check_batch(spec, frame, numbers, mapping=mapped, unknown=unknown, ctx=ctx)
    for r in checked.rejects.iter_rows(named=True):
        preview.problems.append(SampleProblem(int(r[ROW]), r["_column"], r["_reason"], True))
    for r in checked.warnings.iter_rows(named=True):
        preview.problems.append(SampleProblem(int(r[ROW]), r["_column"], r["_reason"], False))
    preview.problems.sort(key=lambda p: p.row)
    return preview


__all__ = ["SAMPLE_ROWS", "Preview", "SampleProblem", "preview_file"]
