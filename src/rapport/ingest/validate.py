"""Vectorized normalisation and validation of one batch of an import file.

Every field is normalised as a whole column (Polars), every problem becomes a
``(row, column, reason)`` triple, and a row with any problem is rejected as a whole — with
all its problems listed — while the rest of the batch goes on.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import polars as pl

from rapport.config import Rules, load_rules
from rapport.domain import BIRTHDAY_IN_FUTURE, BIRTHDAY_TOO_EARLY, EARLIEST_BIRTHDAY
from rapport.ingest import normalize as nz
from rapport.ingest.defaults import applicable
from rapport.ingest.entities import EntitySpec, FieldSpec
from rapport.ingest.rules import ROW_RULES
from rapport.ingest.spreadsheet import unneutralise_frame
from rapport.store.rules import Kind

IDX = "__idx"
ROW = "__row"

_TAG_SPLIT = r"[,;|、，；\s]+"


#: Prefix of the columns marking, per field, the rows whose value did not come from the
#: file (a default, or a bad value dropped): an update keeps the stored value there.
SOFT = "__soft_"
#: Kinds of descriptive values (contact and profile data, labels): a bad one is dropped
#: with a warning and the row is kept. Amounts, counts and times (what figures are made
#: of), keys and references reject the row instead.
WARNABLE_KINDS = frozenset({"text", "email", "phone", "date", "enum", "bool", "tags", "json"})
WARNING_SCHEMA = {"_column": pl.Utf8, "_value": pl.Utf8, "_reason": pl.Utf8}


@dataclass
class Checked:
    """A batch after validation: good rows by import field, and the problems of bad rows."""

    values: pl.DataFrame  # IDX, ROW + import fields (normalised) of the good rows + SOFT…
    rejects: pl.DataFrame  # IDX, ROW, _column, _reason — one row per rejected input row
    warnings: pl.DataFrame  # IDX, ROW, _column, _value, _reason — one per dropped value


@dataclass(frozen=True)
class Context:
    """What validation depends on besides the batch.

    ``strict`` rejects a row for a bad descriptive value instead of dropping the value with
    a warning; ``rules`` supply the defaults (the business currency …); ``today`` (in the
    business time zone) bounds birthdays.
    """

    tz: ZoneInfo
    phone_region: str
    rules: Rules = dataclasses.field(default_factory=load_rules)
    strict: bool = True
    today: dt.date = dataclasses.field(default_factory=dt.date.today)


def _text(s: pl.Series, *, halfwidth: bool) -> nz.Normalized:
    s = s.cast(pl.Utf8)
    s = nz.halfwidth_series(s) if halfwidth else s.str.strip_chars()
    s = pl.select(pl.when(s.str.len_chars() == 0).then(None).otherwise(s)).to_series()
    return nz.Normalized(values=s, errors=pl.Series([None] * len(s), dtype=pl.Utf8))


def _by_unique(s: pl.Series, convert: Callable[[str], str | None]) -> nz.Normalized:
    """Apply ``convert`` once per distinct value; a ``ValueError`` is that value's problem."""
    s = s.cast(pl.Utf8).str.strip_chars()
    canon: dict[str, str | None] = {}
    problems: dict[str, str] = {}
    for text in s.drop_nulls().unique().to_list():
        try:
            canon[text] = convert(text) if text else None
        except ValueError as exc:
            problems[text] = str(exc)
    values = s.replace_strict(canon, default=None, return_dtype=pl.Utf8)
    errors = s.replace_strict(problems, default=None, return_dtype=pl.Utf8)
    return nz.Normalized(values=values, errors=errors)


def _canonical_json(text: str) -> str:
    try:
        value = json.loads(text)
        _check_storable_json(value)
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not valid JSON ({exc.msg} at character {exc.pos})") from None
    except RecursionError:
        raise ValueError("not valid JSON (nested too deeply)") from None


def _check_storable_json(value: object) -> None:
    """Refuse, as the API does, JSON no store keeps: NUL, unpaired surrogates, NaN/Infinity."""
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, str):
            if "\x00" in node:
                raise ValueError("must not contain NUL characters")
            try:
                node.encode("utf-8")
            except UnicodeEncodeError:
                raise ValueError("must be valid Unicode text (no unpaired surrogates)") from None
        elif isinstance(node, float) and not math.isfinite(node):
            raise ValueError("numbers must be finite")
        elif isinstance(node, dict):
            stack.extend(node)
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)


def _tag_list(text: str) -> str | None:
    text = nz.to_halfwidth(text)
    if text.startswith("["):
        items = json.loads(_canonical_json(text))
        if not isinstance(items, list) or not all(isinstance(t, str) for t in items):
            raise ValueError("tags must be a list of texts")
    else:
        items = re.split(_TAG_SPLIT, text)
    unique = list(dict.fromkeys(t.strip() for t in items if t.strip()))
    return json.dumps(unique, ensure_ascii=False) if unique else None


def normalize_field(spec: FieldSpec, s: pl.Series, ctx: Context) -> nz.Normalized:
    """Normalise one column according to the field's kind."""
    kind = spec.kind
    if kind == "text":
        is_key = spec.reference is not None or spec.column in ("external_id", "sku", "username")
        return _text(s, halfwidth=is_key)
    if kind == "money":
        return nz.money_series(s)
    if kind == "datetime":
        return nz.datetime_series(s, ctx.tz)
    if kind == "date":
        return nz.date_series(s)
    if kind == "int":
        return nz.int_series(s)
    if kind == "float":
        return nz.float_series(s)
    if kind == "bool":
        return nz.bool_series(s)
    if kind == "enum":
        assert spec.enum is not None
        return nz.enum_series(s, spec.enum)
    if kind == "phone":
        return nz.phone_series(s, ctx.phone_region)
    if kind == "email":
        return nz.email_series(s)
    if kind == "tags":
        return _by_unique(s, _tag_list)
    return _by_unique(s, _canonical_json)


def _field_checks(spec: FieldSpec, values: pl.Series, ctx: Context) -> pl.Series:
    """Reasons (or null) from required, length and range rules of one normalised column."""
    exprs: list[pl.Expr] = []
    v = pl.col("v")
    rule = spec.rule
    if spec.required:
        exprs.append(pl.when(v.is_null()).then(pl.lit("required value missing")))
    if spec.max_length is not None and values.dtype == pl.Utf8:
        exprs.append(
            pl.when(v.str.len_chars() > spec.max_length).then(pl.lit(rule.length_problem()))
        )
    if spec.reference is None and values.dtype.is_numeric():
        if rule.kind is Kind.INTEGER:
            low, high = rule.integer_range
            exprs.append(pl.when((v < low) | (v > high)).then(pl.lit(rule.integer_problem())))
        bounds = rule.bounds
        if bounds is not None and bounds.low is not None:
            bad = v < bounds.low if bounds.low_inclusive else v <= bounds.low
            exprs.append(pl.when(bad).then(pl.lit(bounds.low_problem)))
        if bounds is not None and bounds.high is not None:
            exprs.append(pl.when(v > bounds.high).then(pl.lit(bounds.high_problem)))
    if spec.column == "birthday" and values.dtype == pl.Date:
        exprs.append(pl.when(v < EARLIEST_BIRTHDAY).then(pl.lit(BIRTHDAY_TOO_EARLY)))
        exprs.append(pl.when(v > ctx.today).then(pl.lit(BIRTHDAY_IN_FUTURE)))
    if not exprs:
        return pl.Series([None] * len(values), dtype=pl.Utf8)
    frame = pl.DataFrame({"v": values})
    return frame.select(pl.coalesce(exprs).alias("e")).to_series()


def check_batch(
    spec: EntitySpec,
    frame: pl.DataFrame,
    rows: pl.Series,
    *,
    mapping: dict[str, str],
    unknown: list[str],
    ctx: Context,
) -> Checked:
    """Normalise and validate one batch.

    Fields the file has no column for are absent (typed nulls, so that rules across fields
    still hold); :mod:`rapport.ingest.defaults` fills what the file leaves out or empty.
    A bad value of a descriptive optional field (:data:`WARNABLE_KINDS`) is dropped with a
    warning — unless ``ctx.strict`` — and every other problem rejects its row.

    Parameters
    ----------
    frame
        Raw values as read, columns named as in the file.
    rows
        Spreadsheet row number of each row.
    mapping
        File column → import field, for the columns that map to a field.
    unknown
        File columns that map to no field (kept in the entity's JSON ``extra`` column).
    """
    # a text cell quoted against formula injection ('=…, '+…) is read as the value it holds
    frame = unneutralise_frame(frame)
    n = frame.height
    idx = pl.Series(IDX, range(n), dtype=pl.Int64)
    problems: list[pl.DataFrame] = []
    warnings: list[pl.DataFrame] = []

    def note(
        errors: pl.Series, column: str, found: list[pl.DataFrame], raw: pl.Series | None = None
    ) -> None:
        bad = errors.is_not_null()
        if bad.any():
            found.append(
                pl.DataFrame(
                    {
                        IDX: idx.filter(bad),
                        "_column": pl.Series([str(column)] * int(bad.sum()), dtype=pl.Utf8),
                        "_value": (raw if raw is not None else pl.Series([None] * n))
                        .cast(pl.Utf8)
                        .filter(bad),
                        "_reason": errors.filter(bad).cast(pl.Utf8),
                    }
                )
            )

    by_field = {f: col for col, f in mapping.items()}
    values: dict[str, pl.Series] = {}
    errors: dict[str, pl.Series] = {}
    for field in spec.fields:
        source_column = by_field.get(field.name)
        raw = frame[source_column] if source_column else pl.Series([None] * n, dtype=pl.Utf8)
        result = normalize_field(field, raw, ctx)
        values[field.name] = result.values.rename(str(field.name))
        errors[field.name] = result.errors

    table = pl.DataFrame(list(values.values()), height=n)
    present = set(by_field)
    soft: dict[str, pl.Series] = {}  # field → rows whose value did not come from the file
    for name, default in applicable(spec.name, present).items():
        dtype = table.schema[name]
        fill = table[name].is_null() & errors[name].is_null()
        if not fill.any():
            continue
        filled = table.select(
            pl.when(pl.lit(fill)).then(default.expr(ctx.rules).cast(dtype)).otherwise(pl.col(name))
        ).to_series()
        table = table.with_columns(filled.alias(name))
        soft[name] = fill
        present.add(name)

    for field in spec.fields:
        # an empty cell of a column the store never leaves empty takes the store's default
        name = field.name
        if field.server_default is None or name not in present:
            continue
        fill = table[name].is_null() & errors[name].is_null()
        if fill.any():
            text = pl.Series([field.server_default] * n, dtype=pl.Utf8)
            stored = normalize_field(field, text, ctx).values
            table = table.with_columns(
                pl.when(pl.lit(fill)).then(pl.lit(stored)).otherwise(pl.col(name)).alias(name)
            )
            soft[name] = fill | soft[name] if name in soft else fill

    for field in spec.fields:
        name = field.name
        if name not in present and not field.required:
            continue
        checks = _field_checks(field, table[name], ctx)
        # rule problems only where the value itself parsed (else the parse error says it)
        found = pl.select(pl.coalesce(pl.lit(errors[name]), pl.lit(checks))).to_series()
        label = by_field.get(name, name)
        given = frame[by_field[name]] if name in by_field else None
        if _warnable(spec, field) and not ctx.strict:
            note(found, label, warnings, given)
            dropped = found.is_not_null()
            if dropped.any():
                table = table.with_columns(
                    pl.when(pl.lit(dropped)).then(None).otherwise(pl.col(name)).alias(name)
                )
                soft[name] = dropped | soft[name] if name in soft else dropped
        else:
            note(found, label, problems, given)

    if spec.extra_column and unknown:
        extra = frame.select(unknown).cast(pl.Utf8)
        encoded = extra.select(
            pl.when(pl.any_horizontal(pl.all().is_not_null()))
            .then(pl.struct(pl.all()).struct.json_encode())
            .alias("x")
        ).to_series()
        if spec.extra_column in present:
            current = table[spec.extra_column]
            merged = [
                _merge_json(a, b) for a, b in zip(current.to_list(), encoded.to_list(), strict=True)
            ]
            column = pl.Series(spec.extra_column, merged, dtype=pl.Utf8)
        else:
            column = _by_unique(encoded, lambda text: _merge_json(None, text)).values
        table = table.with_columns(column.alias(spec.extra_column))
        present.add(spec.extra_column)

    for rule in ROW_RULES.get(spec.name, ()):
        ok = table.select(rule.valid.fill_null(True).alias("ok")).to_series()
        label = by_field.get(rule.column, rule.column)
        note(pl.select(pl.when(~ok).then(pl.lit(rule.message))).to_series(), label, problems)

    rejects = _per_row(problems, warnings)
    rejected = rejects[IDX]
    warned = _warnings(warnings, rejected)
    rejects = rejects.with_columns(rows.gather(rejects[IDX]).alias(ROW))
    warned = warned.with_columns(rows.gather(warned[IDX]).alias(ROW))
    kept = table.with_columns(rows.alias(ROW), idx)
    kept = kept.with_columns(
        pl.lit(mask).alias(SOFT + name) for name, mask in soft.items() if name in present
    )
    if rejects.height:
        kept = kept.filter(~idx.is_in(rejected.implode()))
    columns = [f.name for f in spec.fields if f.name in present]
    if spec.extra_column in present and spec.extra_column not in columns:
        columns.append(spec.extra_column)
    soft_columns = [SOFT + name for name in soft if name in present]
    return Checked(
        values=kept.select([IDX, ROW, *columns, *soft_columns]),
        rejects=rejects,
        warnings=warned,
    )


def _warnable(spec: EntitySpec, field: FieldSpec) -> bool:
    """Whether a bad value of ``field`` is dropped with a warning instead of rejecting."""
    return (
        field.kind in WARNABLE_KINDS
        and not field.required
        and field.reference is None
        and field.name not in spec.key
        and field.name not in spec.identity
    )


def _per_row(problems: list[pl.DataFrame], warnings: list[pl.DataFrame]) -> pl.DataFrame:
    """The rejected rows (those with a problem), each with every problem and warning of
    the row in one line: IDX, _column, _reason."""
    if not problems:
        return pl.DataFrame(schema={IDX: pl.Int64, "_column": pl.Utf8, "_reason": pl.Utf8})
    found = pl.concat(problems + warnings)
    rejected = pl.concat(problems)[IDX].unique()
    return (
        found.filter(pl.col(IDX).is_in(rejected.implode()))
        .sort(IDX, maintain_order=True)
        .group_by(IDX, maintain_order=True)
        .agg(
            pl.col("_column").unique(maintain_order=True).str.join(", "),
            (pl.col("_column") + ": " + pl.col("_reason")).str.join("; ").alias("_reason"),
        )
        .sort(IDX)
    )


def _warnings(found: list[pl.DataFrame], rejected: pl.Series) -> pl.DataFrame:
    """The warnings of rows that are not rejected: IDX, _column, _value, _reason."""
    if not found:
        return pl.DataFrame(schema={IDX: pl.Int64, **WARNING_SCHEMA})
    out = pl.concat(found).select(IDX, "_column", "_value", "_reason")
    return out.filter(~pl.col(IDX).is_in(rejected.implode())).sort(IDX, maintain_order=True)


def _merge_json(own: str | None, unknown: str | None) -> str | None:
    if unknown is None:
        return own
    extra = {k: v for k, v in json.loads(unknown).items() if v is not None}
    if own is None:
        return json.dumps(extra, ensure_ascii=False, sort_keys=True) if extra else None
    base = json.loads(own)
    if isinstance(base, dict):
        base = {**extra, **base}
    return json.dumps(base, ensure_ascii=False, sort_keys=True)
