"""Import one file into the store: read in batches, map, validate, upsert, report.

Each batch is one transaction: after a crash (even ``kill -9``) the store holds whole
batches only, and running the same import again completes it — rows already written are
found by their key and reported unchanged. Every input row ends up inserted, updated,
unchanged or rejected, and the report adds up.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import hashlib
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from queue import Empty, Queue
from typing import Any, TypeVar

import numpy as np
import polars as pl
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from rapport.config import Rules, Settings, get_settings, load_rules, read_toml
from rapport.errors import ConfigError, ValidationFailed
from rapport.ingest.columns import normalize_header, synonyms
from rapport.ingest.defaults import applicable
from rapport.ingest.entities import EntitySpec, entity
from rapport.ingest.readers import Source, open_source
from rapport.ingest.report import REJECT_COLUMNS, ImportReport, RejectWriter, WarningWriter
from rapport.ingest.scope import UNLIMITED, ImportScope
from rapport.ingest.validate import IDX, ROW, SOFT, Context, check_batch
from rapport.store.bulk import BulkWriter
from rapport.store.db import begin_writer, lock_for_upsert, session_scope, sqlite_foreign_keys

T = TypeVar("T")
DEFAULT_BATCH_ROWS = 100_000
KEY = "__key"

ProgressCallback = Callable[[int, int, int], None]  # rows read, bytes read, bytes total


@dataclass(frozen=True)
class Mapping:
    """A user's mapping file.

    ``[columns]`` maps file headers to import fields (``"-"`` ignores a column);
    ``[values]`` gives a field one value for every row when the file has no column for it
    (``currency = "USD"``, ``channel = "天猫"``), read like a cell of the file.
    """

    columns: dict[str, str]
    values: dict[str, str] = dataclasses.field(default_factory=dict)

    @classmethod
    def load(cls, path: str | Path) -> Mapping:
        path = Path(path)
        missing = ConfigError(
            "mapping file {path} does not exist",
            hint="check the path given to --mapping",
            key="mapping_missing",
            params={"path": str(path)},
        )
        data = read_toml(path, missing=missing)
        unknown = set(data) - {"columns", "values"}
        if unknown:
            raise ConfigError(
                "{path}: unknown sections {sections}; use [columns], [values]",
                key="mapping_sections",
                params={"path": str(path), "sections": sorted(unknown)},
            )
        columns = data.get("columns", {})
        if not all(isinstance(v, str) for v in columns.values()):
            raise ConfigError(
                "{path}: [columns] values must be import field names",
                hint='write each line as "file column" = "field"',
                key="mapping_columns",
                params={"path": str(path)},
            )
        values = data.get("values", {})
        bad = [k for k, v in values.items() if not isinstance(v, str | int | float | bool)]
        if bad:
            raise ConfigError(
                "{path}: [values] {field} must be a single value (text or number)",
                key="mapping_value",
                params={"path": str(path), "field": bad[0]},
            )
        as_text = {
            k: ("true" if v else "false") if isinstance(v, bool) else str(v)
            for k, v in values.items()
        }
        return cls(columns=dict(columns), values=as_text)


#: Prefix of the columns that carry a mapping file's ``[values]`` through a batch.
CONSTANT = "[values] "


def map_columns(
    spec: EntitySpec, columns: list[str], mapping: Mapping | None
) -> tuple[dict[str, str], list[str]]:
    """File column → import field, and the file columns that map to nothing.

    Raises
    ------
    ValidationFailed
        When a required field has no column, or two columns map to one field.
    """
    fields = [f.name for f in spec.fields]
    known = synonyms(spec.name, fields)
    explicit = mapping.columns if mapping else {}
    for column, field in explicit.items():
        if field not in fields and field != "-":
            raise ValidationFailed(
                "mapping: {column!r} → {target!r}: {noun} has no field {target!r}",
                field=column,
                hint="fields of {noun}: {fields}; '-' ignores a column",
                key="mapping_no_field",
                params={
                    "column": column,
                    "target": field,
                    "noun": spec.name,
                    "fields": ", ".join(fields),
                },
            )
    constants = mapping.values if mapping else {}
    for field in constants:
        if field not in fields:
            raise ValidationFailed(
                "mapping: [values] {target!r}: {noun} has no field {target!r}",
                field=field,
                hint="fields of {noun}: {fields}",
                key="mapping_value_no_field",
                params={"target": field, "noun": spec.name, "fields": ", ".join(fields)},
            )
    out: dict[str, str] = {}
    unknown: list[str] = []
    for column in columns:
        if column in REJECT_COLUMNS:
            continue
        target = explicit.get(column) or known.get(normalize_header(column))
        if target == "-":
            continue
        if target is None:
            unknown.append(column)
            continue
        if target in out.values():
            other = next(c for c, f in out.items() if f == target)
            raise ValidationFailed(
                "columns {other!r} and {column!r} both map to {noun}.{target}",
                field=column,
                hint="map one of them elsewhere (or to '-') in a --mapping file",
                key="mapping_two_columns",
                params={"other": other, "column": column, "noun": spec.name, "target": target},
            )
        out[column] = target
    for field, _value in constants.items():
        if field in out.values():
            column = next(c for c, f in out.items() if f == field)
            raise ValidationFailed(
                "mapping: [values] {target!r}: the file has a column for it ({column!r})",
                field=field,
                hint="remove it from [values], or map {column!r} to '-' to use the value",
                key="mapping_value_and_column",
                params={"target": field, "column": column},
            )
        out[CONSTANT + field] = field
    given = set(out.values())
    supplied = given | set(applicable(spec.name, given))
    missing = [
        f.name
        for f in spec.fields
        if f.required and f.name not in supplied and not (spec.derive_key and f.name in spec.key)
    ]
    if missing:
        raise ValidationFailed(
            "{noun}: no column for required field(s) {fields}",
            field=missing[0],
            hint=(
                "rename a column, map one with --mapping ([columns]), or give every row one "
                "value with [values] (file columns: {columns})"
            ),
            key="import_required_column",
            params={
                "noun": spec.name,
                "fields": ", ".join(missing),
                "columns": ", ".join(columns),
            },
        )
    return out, unknown


def derive_keys(spec: EntitySpec, values: pl.DataFrame) -> pl.DataFrame:
    """Fill a missing ``external_id`` from a hash of the row's identity fields."""
    key = spec.key[0]
    if key not in values.columns:
        values = values.with_columns(pl.lit(None, dtype=pl.Utf8).alias(key))
    identity = [f for f in spec.identity if f in values.columns]
    if values[key].null_count() == 0:
        return values
    text = values.select(
        pl.concat_str([pl.col(f).cast(pl.Utf8).fill_null("") for f in identity], separator="\x1f")
    ).to_series()
    digests = [
        None if t is None else "h:" + hashlib.blake2b(t.encode(), digest_size=12).hexdigest()
        for t in text.to_list()
    ]
    return values.with_columns(pl.col(key).fill_null(pl.Series(digests, dtype=pl.Utf8)))


@dataclass
class _Prepared:
    values: pl.DataFrame
    rejects: list[pl.DataFrame]
    label: dict[str, str]
    warnings: pl.DataFrame  # IDX, ROW, _column, _value, _reason of the kept rows


def _prefetch(items: Iterator[T], depth: int = 1) -> Iterator[T]:
    """Run ``items`` in a background thread, ``depth`` items ahead of the consumer.

    Reading and validating batch n+1 (Polars and Arrow release the GIL) overlaps with
    writing batch n; memory stays bounded by ``depth`` + 2 batches.
    """
    done = object()
    queue: Queue[object] = Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in items:
                if stop.is_set():
                    return
                queue.put(item)
            queue.put(done)
        except BaseException as exc:  # handed to the consumer, raised there
            queue.put(_Failure(exc))

    thread = threading.Thread(target=produce, name="rapport-import-reader", daemon=True)
    thread.start()
    try:
        while True:
            item = queue.get()
            if item is done:
                return
            if isinstance(item, _Failure):
                raise item.error
            yield item  # type: ignore[misc]
    finally:
        stop.set()
        while thread.is_alive():
            with contextlib.suppress(Empty):
                queue.get(timeout=0.05)
        thread.join()


@dataclass
class _Failure:
    error: BaseException


def _in_sorted(values: np.ndarray, sorted_array: np.ndarray) -> np.ndarray:
    """Membership of ``values`` in an ascending array, by binary search."""
    if len(sorted_array) == 0:
        return np.zeros(len(values), dtype=bool)
    at = np.searchsorted(sorted_array, values)
    return sorted_array[np.minimum(at, len(sorted_array) - 1)] == values


class Run:
    """The state of one import across its batches."""

    def __init__(
        self,
        spec: EntitySpec,
        engine: Engine,
        rules: Rules,
        settings: Settings,
        dry_run: bool,
        *,
        strict: bool = True,
        constants: dict[str, str] | None = None,
        scope: ImportScope = UNLIMITED,
    ) -> None:
        self.spec = spec
        self.scope = scope
        self.engine = engine
        self.rules = rules
        self.ctx = Context(
            tz=settings.tz,
            phone_region=rules.business.default_phone_region,
            rules=rules,
            strict=strict,
            today=dt.datetime.now(settings.tz).date(),
        )
        self.dry_run = dry_run
        self.constants = constants or {}
        # 64-bit hashes of the keys written so far: 8 bytes a row to find a key repeated
        # across batches (a hash collision, ~n²/2⁶⁵, would reject a row as a duplicate:
        # reported, never lost)
        self.seen = np.empty(0, dtype=np.uint64)

    def reject(
        self, values: pl.DataFrame, bad: pl.Series, column: str, reason: pl.Series
    ) -> pl.DataFrame:
        return pl.DataFrame(
            {
                IDX: values[IDX].filter(bad),
                ROW: values[ROW].filter(bad),
                "_column": pl.Series([column] * int(bad.sum()), dtype=pl.Utf8),
                "_reason": reason.filter(bad).cast(pl.Utf8),
            }
        )

    def prepare(
        self,
        source_batch_rows: pl.Series,
        raw: pl.DataFrame,
        mapping: dict[str, str],
        unknown: list[str],
    ) -> _Prepared:
        """Everything that needs no database: normalise, validate, key, de-duplicate."""
        spec = self.spec
        if self.constants:
            raw = raw.with_columns(
                pl.lit(value, dtype=pl.Utf8).alias(CONSTANT + field)
                for field, value in self.constants.items()
            )
        checked = check_batch(
            spec, raw, source_batch_rows, mapping=mapping, unknown=unknown, ctx=self.ctx
        )
        rejects = [checked.rejects.select(IDX, ROW, "_column", "_reason")]
        values = checked.values
        if spec.derive_key:
            values = derive_keys(spec, values)
        label = {f: c for c, f in mapping.items()}

        # duplicates inside the file, by key
        values = values.with_columns(
            pl.concat_str([pl.col(k).cast(pl.Utf8) for k in spec.key], separator="\x1f").alias(KEY)
        )
        first_row = values.group_by(KEY).agg(pl.col(ROW).min().alias("__first"))
        values = values.join(first_row, on=KEY, how="left", maintain_order="left")
        dup_here = values[ROW] != values["__first"]
        hashes = values[KEY].hash(seed=0).to_numpy()
        dup_before = pl.Series(_in_sorted(hashes, self.seen))
        key_label = ", ".join(label.get(k, k) for k in spec.key)
        reason = pl.select(
            pl.when(dup_before)
            .then(pl.lit(f"duplicate {key_label}: it appears in an earlier row"))
            .otherwise(
                pl.lit("duplicate " + key_label + ": same as row ")
                + values["__first"].cast(pl.Utf8)
            )
        ).to_series()
        bad = dup_here | dup_before
        if bad.any():
            rejects.append(self.reject(values, bad, key_label, reason))
            values = values.filter(~bad)
        # two sorted runs: timsort merges them in linear time
        self.seen = np.sort(
            np.concatenate([self.seen, np.sort(hashes[~bad.to_numpy()])]), kind="stable"
        )
        return _Prepared(values=values, rejects=rejects, label=label, warnings=checked.warnings)

    def write(self, prepared: _Prepared) -> tuple[pl.DataFrame, dict[str, int]]:
        """Resolve references and upsert one prepared batch in one transaction.

        The transaction begins as a writer and waits its turn (SQLite: ``BEGIN IMMEDIATE``
        within the busy timeout; PostgreSQL: the target table is locked against other
        writers), so that the keys it looks up cannot be written by another import or an
        API request before its own insert: other writers wait for the batch, never fail.
        """
        counts = {"inserted": 0, "updated": 0, "unchanged": 0}
        rejects = list(prepared.rejects)
        with self.engine.connect() as conn:
            sqlite = conn.dialect.name == "sqlite"
            if sqlite:
                # references are checked by resolve inside this transaction; the per-row
                # foreign-key checks of SQLite would only repeat them, slowly (the pragma
                # works outside a transaction only)
                sqlite_foreign_keys(conn, on=False)
            try:
                # a dry run writes nothing (its key tables are temporary): no lock to wait for
                transaction = conn.begin() if self.dry_run else begin_writer(conn)
                with transaction:
                    if not self.dry_run:
                        lock_for_upsert(conn, self.spec.table)
                    writer = BulkWriter(conn)
                    values, ref_rejects = self.resolve(writer, prepared.values, prepared.label)
                    rejects.extend(ref_rejects)
                    values, taken = self._outside_scope(writer, values, prepared.label)
                    rejects.extend(taken)
                    if values.height:
                        counts = self._upsert(writer, values)
                    if self.dry_run:
                        transaction.rollback()
            finally:
                if sqlite:
                    sqlite_foreign_keys(conn, on=True)
        return pl.concat(rejects).sort(ROW), counts

    def resolve(
        self, writer: BulkWriter, values: pl.DataFrame, label: dict[str, str]
    ) -> tuple[pl.DataFrame, list[pl.DataFrame]]:
        """The batch with each reference's business key resolved to the row's id (in the
        scope), and the rejects of the rows naming an unknown (or hidden) record."""
        rejects = []
        for field in self.spec.fields:
            ref = field.reference
            if ref is None or field.name not in values.columns:
                continue
            found = writer.resolve_ids(
                ref.table,
                ref.key,
                values[field.name],
                where=self.scope.reference(ref.table, field.name),
            )
            ids = values.select(pl.col(field.name).alias("k")).join(
                found, on="k", how="left", maintain_order="left"
            )["id"]
            bad = values[field.name].is_not_null() & ids.is_null()
            if bad.any():
                reason = f"no {ref.table.name} row with {ref.key} '" + values[field.name] + "'"
                rejects.append(self.reject(values, bad, label.get(field.name, field.name), reason))
            values = values.with_columns(ids.alias(field.column)).filter(~bad)
        return values, rejects

    def _outside_scope(
        self, writer: BulkWriter, values: pl.DataFrame, label: dict[str, str]
    ) -> tuple[pl.DataFrame, list[pl.DataFrame]]:
        """Rows whose key names a stored record outside the scope are rejected: an import
        never changes (or takes over) what its uploader may not see."""
        spec = self.spec
        own = self.scope.rows(spec.table)
        if own is None or len(spec.key) != 1 or values.height == 0:
            return values, []
        key = spec.key[0]
        column = spec.by_name[key].column
        rows = writer.lookup(spec.table, [column], values.select(pl.col(key)), where=~own)
        if not rows:
            return values, []
        taken = pl.Series([r[0] for r in rows], dtype=pl.Utf8)
        bad = values[key].is_in(taken.implode())
        name = label.get(key, key)
        reason = name + " '" + values[key] + "' is used by a record outside your scope"
        return values.filter(~bad), [self.reject(values, bad, name, reason)]

    def table_frame(self, values: pl.DataFrame, *, soft: bool = False) -> pl.DataFrame:
        """The batch by table column (references already resolved to ids).

        With ``soft``, also the ``SOFT + column`` masks of the values that did not come
        from the file (see :func:`rapport.ingest.validate.check_batch`).
        """
        spec = self.spec
        present = [f for f in spec.fields if f.name in values.columns]
        exprs = [pl.col(f.column if f.reference else f.name).alias(f.column) for f in present]
        extra = spec.extra_column
        if extra and extra in values.columns and extra not in {f.name for f in present}:
            exprs.append(pl.col(extra))
        if soft:
            exprs += [
                pl.col(SOFT + f.name).alias(SOFT + f.column)
                for f in present
                if SOFT + f.name in values.columns
            ]
        frame = values.select(exprs)
        return self._ticket_due_times(frame) if spec.name == "tickets" else frame

    def _upsert(self, writer: BulkWriter, values: pl.DataFrame) -> dict[str, int]:
        spec = self.spec
        table = spec.table
        frame = self.table_frame(values, soft=True)
        soft = [c for c in frame.columns if c.startswith(SOFT)]
        key_columns = list(spec.key_columns)
        compare = [c for c in frame.columns if c not in key_columns and c not in soft]
        rows = writer.lookup(table, key_columns, frame.select(key_columns), ["id", *compare])
        old = _existing_frame(rows, key_columns, compare, frame.schema)
        joined = frame.join(old, on=key_columns, how="left")
        is_new = joined["id"].is_null()
        # a value the file did not give (a default, a dropped bad value) never overwrites
        # a stored one: the update keeps what is there
        joined = joined.with_columns(
            pl.when(pl.col(mask) & pl.col("id").is_not_null())
            .then(pl.col(f"{mask.removeprefix(SOFT)}__old"))
            .otherwise(pl.col(mask.removeprefix(SOFT)))
            .alias(mask.removeprefix(SOFT))
            for mask in soft
        ).drop(soft)
        frame = frame.drop(soft)
        # created_at is never updated (below), so it must not make a row count as changed:
        # else a file whose created_at differs from the stored one "updates" it on every run
        differs = [pl.col(c).ne_missing(pl.col(f"{c}__old")) for c in compare if c != "created_at"]
        changed_any = pl.any_horizontal(differs) if differs else pl.lit(False)
        changed = joined.select(changed_any.alias("c")).to_series() & ~is_new
        stamp = pl.lit(dt.datetime.now(dt.UTC), dtype=pl.Datetime("us", "UTC"))
        inserts = joined.filter(is_new).select(frame.columns)
        if "created_at" in table.c:
            created = pl.col("created_at").fill_null(stamp) if "created_at" in inserts else stamp
            inserts = inserts.with_columns(created.alias("created_at"), stamp.alias("updated_at"))
        updates = joined.filter(changed).select("id", *[c for c in compare if c != "created_at"])
        if "updated_at" in table.c:
            updates = updates.with_columns(stamp.alias("updated_at"))
        if not self.dry_run:
            writer.insert(table, inserts)
            writer.update(table, updates)
        unchanged = int((~is_new & ~changed).sum())
        return {"inserted": inserts.height, "updated": updates.height, "unchanged": unchanged}

    def _ticket_due_times(self, frame: pl.DataFrame) -> pl.DataFrame:
        sla = self.rules.sla
        for column, targets in (
            ("first_response_due_at", sla.first_response_hours),
            ("resolution_due_at", sla.resolution_hours),
        ):
            hours = {p.value: float(h) for p, h in targets.items()}
            due = pl.col("opened_at") + pl.duration(
                seconds=pl.col("priority").replace_strict(hours, return_dtype=pl.Float64) * 3600
            )
            if column in frame.columns:
                frame = frame.with_columns(pl.col(column).fill_null(due))
            else:
                frame = frame.with_columns(due.alias(column))
        return frame


def _existing_frame(
    rows: list[sa.Row], keys: list[str], compare: list[str], schema: pl.Schema
) -> pl.DataFrame:
    """Stored rows (keys, id, then ``<column>__old``) with the batch's dtypes, for comparison.

    JSON documents are compared in one canonical text form (sorted keys).
    """
    names = [*keys, "id", *compare]
    data: dict[str, list] = {n: [] for n in names}
    for row in rows:
        for name, value in zip(names, row, strict=True):
            if isinstance(value, dict | list):
                value = json.dumps(value, ensure_ascii=False, sort_keys=True)
            data[name].append(value)
    series = []
    for name in names:
        dtype = pl.Int64 if name == "id" else schema[name]
        label = name if name in keys or name == "id" else f"{name}__old"
        if isinstance(dtype, pl.Decimal):
            series.append(pl.Series(label, data[name], dtype=pl.Float64).cast(dtype))
        else:
            series.append(pl.Series(label, data[name], dtype=dtype, strict=False))
    return pl.DataFrame(series)


def import_file(
    entity_name: str,
    path: str | Path,
    *,
    engine: Engine,
    mapping: Mapping | None = None,
    sheet: str | None = None,
    dry_run: bool = False,
    batch_rows: int = DEFAULT_BATCH_ROWS,
    reject_path: str | Path | None = None,
    settings: Settings | None = None,
    rules: Rules | None = None,
    progress: ProgressCallback | None = None,
    strict: bool = False,
    warning_path: str | Path | None = None,
    scope: ImportScope = UNLIMITED,
    earn: bool = True,
) -> ImportReport:
    """Import ``path`` as ``entity_name`` into the store behind ``engine``.

    Orders (or, when ``[loyalty.multipliers] category`` is set, the order lines that
    multiplier needs) earn their loyalty points once imported (:func:`post_points`), unless
    ``earn`` is false (a loader that posts them itself at the end).

    A bad descriptive value (an e-mail, phone, birthday …) is dropped from its row with a
    warning in ``<file>.warnings.csv``; with ``strict`` it rejects the row instead.
    ``scope`` limits the rows the import may touch (:class:`ImportScope`; the API's
    import jobs run with the uploader's).

    Returns
    -------
    ImportReport
        Counts that add up (read = inserted + updated + unchanged + rejected) and the path
        of the reject file when rows were rejected.

    Raises
    ------
    UnreadableFile
        When the file cannot be read at all (encoding, not a spreadsheet, no header…).
    ValidationFailed
        When the columns cannot be mapped (a required field has no column).
    """
    settings = settings or get_settings()
    rules = rules or load_rules(settings)
    spec = entity(entity_name)
    source: Source = open_source(path, sheet=sheet)
    columns, unknown = map_columns(spec, source.columns, mapping)
    constants = mapping.values if mapping else {}
    given = set(columns.values())
    filled = {
        name: default.says
        for name, default in applicable(spec.name, given).items()
        if name not in given
    }
    report = ImportReport(
        entity=spec.name,
        file=str(source.path),
        format=source.format,
        encoding=source.encoding,
        dry_run=dry_run,
        mapping={c: f for c, f in columns.items() if not c.startswith(CONSTANT)},
        unknown_columns=unknown,
        defaults=filled
        | {f: f"{v!r} ([values] of the mapping file)" for f, v in constants.items()},
    )
    rejects = RejectWriter(source, Path(reject_path) if reject_path else None)
    warnings = WarningWriter(source, Path(warning_path) if warning_path else None)
    run = Run(
        spec, engine, rules, settings, dry_run, strict=strict, constants=constants, scope=scope
    )
    started = time.perf_counter()
    started_at = dt.datetime.now(dt.UTC)
    reported_problems = 0
    prepared = (
        (batch, run.prepare(batch.rows, batch.frame, columns, unknown))
        for batch in source.batches(batch_rows)
    )
    for batch, ready in _prefetch(prepared):
        bad, counts = run.write(ready)
        rejects.add(batch.frame.gather(bad[IDX]), bad)
        warnings.add(ready.warnings.filter(~pl.col(IDX).is_in(bad[IDX].implode())))
        report.read += batch.frame.height
        report.batches += 1
        report.rejected += bad.height
        report.inserted += counts["inserted"]
        report.updated += counts["updated"]
        report.unchanged += counts["unchanged"]
        new_problems = source.problems[reported_problems:]
        rejects.add_problems(new_problems)
        report.read += len(new_problems)
        report.rejected += len(new_problems)
        reported_problems = len(source.problems)
        if progress is not None:
            progress(report.read, source.bytes_read, source.size_bytes)
    new_problems = source.problems[reported_problems:]
    rejects.add_problems(new_problems)
    report.read += len(new_problems)
    report.rejected += len(new_problems)
    report.seconds = time.perf_counter() - started
    report.reject_file = rejects.close()
    report.reject_reasons = dict(sorted(rejects.reasons.items(), key=lambda kv: -kv[1]))
    report.warnings = warnings.count
    report.warning_file = warnings.close()
    report.warning_reasons = dict(sorted(warnings.reasons.items(), key=lambda kv: -kv[1]))
    if earn and not dry_run and report.inserted + report.updated:
        report.loyalty = post_points(spec.name, engine=engine, rules=rules, since=started_at)
    assert report.adds_up, report
    return report


def post_points(
    entity_name: str, *, engine: Engine, rules: Rules, since: dt.datetime
) -> dict[str, Any] | None:
    """The loyalty points of orders an import brought (docs/loyalty.md): after orders, the
    customers with orders changed since ``since``; after order lines (which a category
    multiplier needs, so orders then wait for them), the customers with orders that have not
    earned yet. ``None`` when the entity earns nothing."""
    from rapport.store.loyalty_earning import post_orders

    if not rules.loyalty.earn_from_orders:
        return None
    by_category = bool(rules.loyalty.multipliers.category)
    if entity_name == "orders" and not by_category:
        unposted, changed_since = False, since
    elif entity_name == "order_items" and by_category:
        unposted, changed_since = True, None
    else:
        return None
    run = post_orders(
        lambda: session_scope(engine, writing=True),
        rules=rules,
        now=dt.datetime.now(dt.UTC),
        since=changed_since,
        unposted=unposted,
    )
    return run.as_dict()
