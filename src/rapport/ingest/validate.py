"""Vectorized normalisation and validation of one batch of an import file.

Every field is normalised as a whole column (Polars), every problem becomes a
``(row, column, reason)`` triple, and a row with any problem is rejected as a whole — with
all its problems listed — while the rest of the batch goes on.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import polars as pl

from rapport.ingest import normalize as nz
from rapport.ingest.entities import EntitySpec, FieldSpec
from rapport.ingest.rules import ROW_RULES
from rapport.ingest.spreadsheet import unneutralise_frame

IDX = "__idx"
ROW = "__row"

_TAG_SPLIT = r"[,;|、，；\s]+"


@dataclass
class Checked:
    """A batch after validation: good rows by import field, and the problems of bad rows."""

    values: pl.DataFrame  # ROW + import fields (normalised) of the good rows
    rejects: pl.DataFrame  # IDX, ROW, _column, _reason — one row per rejected input row


@dataclass(frozen=True)
class Context:
    tz: ZoneInfo
    phone_region: str


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
        return json.dumps(json.loads(text), ensure_ascii=False, sort_keys=True)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not valid JSON ({exc.msg} at character {exc.pos})") from None


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


def _field_checks(spec: FieldSpec, values: pl.Series) -> pl.Series:
    """Reasons (or null) from required, length and range rules of one normalised column."""
    exprs: list[pl.Expr] = []
    v = pl.col("v")
    if spec.required:
        exprs.append(pl.when(v.is_null()).then(pl.lit("required value missing")))
    if spec.max_length is not None and values.dtype == pl.Utf8:
        exprs.append(
            pl.when(v.str.len_chars() > spec.max_length).then(
                pl.lit(f"longer than {spec.max_length} characters")
            )
        )
    if spec.low is not None and values.dtype.is_numeric():
        bad = v <= spec.low if spec.low_open else v < spec.low
        exprs.append(
            pl.when(bad).then(pl.lit(f"must be {'>' if spec.low_open else '>='} {spec.low:g}"))
        )
    if spec.high is not None and values.dtype.is_numeric():
        exprs.append(pl.when(v > spec.high).then(pl.lit(f"must be <= {spec.high:g}")))
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
    values: dict[str, pl.Series] = {}
    problems: list[pl.DataFrame] = []

    def note(errors: pl.Series, column: str) -> None:
        bad = errors.is_not_null()
        if bad.any():
            problems.append(
                pl.DataFrame(
                    {
                        IDX: idx.filter(bad),
                        "_column": pl.Series([column] * int(bad.sum()), dtype=pl.Utf8),
                        "_reason": errors.filter(bad).cast(pl.Utf8),
                    }
                )
            )

    by_field = {f: col for col, f in mapping.items()}
    for field in spec.fields:
        source_column = by_field.get(field.name)
        if source_column is None:
            continue
        result = normalize_field(field, frame[source_column], ctx)
        note(result.errors, source_column)
        checks = _field_checks(field, result.values)
        # rule problems only where the value itself parsed (else the parse error says it)
        note(pl.select(pl.when(result.errors.is_null()).then(checks)).to_series(), source_column)
        values[field.name] = result.values

    if spec.extra_column and unknown:
        extra = frame.select(unknown).cast(pl.Utf8)
        encoded = extra.select(
            pl.when(pl.any_horizontal(pl.all().is_not_null()))
            .then(pl.struct(pl.all()).struct.json_encode())
            .alias("x")
        ).to_series()
        current = values.get(spec.extra_column)
        if current is None:
            values[spec.extra_column] = _by_unique(
                encoded, lambda text: _merge_json(None, text)
            ).values
        else:
            merged = [
                _merge_json(a, b) for a, b in zip(current.to_list(), encoded.to_list(), strict=True)
            ]
            values[spec.extra_column] = pl.Series(merged, dtype=pl.Utf8)

    table = pl.DataFrame(values) if values else pl.DataFrame({"__empty": [None] * n})
    missing = [f for f in spec.fields if f.name not in table.columns]
    if missing:
        table = table.with_columns(pl.lit(None).alias(f.name) for f in missing)
    for rule in ROW_RULES.get(spec.name, ()):
        if not any(f in values for f in rule.fields):
            continue
        ok = table.select(rule.valid.fill_null(True).alias("ok")).to_series()
        label = by_field.get(rule.column, rule.column)
        note(pl.select(pl.when(~ok).then(pl.lit(rule.message))).to_series(), label)

    if problems:
        found = pl.concat(problems)
        rejects = (
            found.group_by(IDX, maintain_order=True)
            .agg(
                pl.col("_column").unique(maintain_order=True).str.join(", "),
                (pl.col("_column") + ": " + pl.col("_reason")).str.join("; ").alias("_reason"),
            )
            .sort(IDX)
        )
    else:
        rejects = pl.DataFrame(
            {IDX: [], "_column": [], "_reason": []},
            schema={IDX: pl.Int64, "_column": pl.Utf8, "_reason": pl.Utf8},
        )
    rejects = rejects.with_columns(rows.gather(rejects[IDX]).alias(ROW))
    good = ~idx.is_in(rejects[IDX].implode()) if rejects.height else None
    kept = table.with_columns(rows.alias(ROW), idx)
    if good is not None:
        kept = kept.filter(good)
    present = [f.name for f in spec.fields if f.name in values]
    extra_cols = (
        [spec.extra_column]
        if spec.extra_column in values and (spec.extra_column not in present)
        else []
    )
    return Checked(values=kept.select([IDX, ROW, *present, *extra_cols]), rejects=rejects)


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
