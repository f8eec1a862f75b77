"""The import file format (one Arrow schema per entity) and the sample-company container.

The column names and types below are the contract with the importer. In Parquet, times are
``timestamp[us, tz=UTC]``, money ``decimal128(14, 2)`` and dates ``date32``; in CSV, times
are ISO 8601 strings with the company's UTC offset, money has two decimals, booleans are
``true``/``false`` and JSON fields are JSON text.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from rapport.errors import ValidationFailed
from rapport.ingest.spreadsheet import neutralise_arrow
from rapport.sample.arrays import MONEY, TIMESTAMP

FileFormat = Literal["csv", "parquet"]

_S, _T, _M, _B, _D = pa.string(), TIMESTAMP, MONEY, pa.bool_(), pa.date32()
_I32, _I64, _F = pa.int32(), pa.int64(), pa.float64()


def _schema(*cols: tuple[str, pa.DataType]) -> pa.Schema:
    return pa.schema([pa.field(name, type_) for name, type_ in cols])


#: Entities in load order (referenced entities first) and their columns.
SCHEMAS: dict[str, pa.Schema] = {
    "users": _schema(
        ("username", _S), ("display_name", _S), ("email", _S), ("role", _S), ("team", _S)
    ),
    "customers": _schema(
        ("external_id", _S), ("name", _S), ("email", _S), ("phone", _S), ("wechat_id", _S),
        ("country", _S), ("province", _S), ("city", _S), ("district", _S), ("street", _S),
        ("postal_code", _S), ("birthday", _D), ("gender", _S), ("occupation", _S),
        ("income_band", _S), ("source_channel", _S), ("owner_username", _S),
        ("marketing_consent", _B), ("marketing_opt_out", _B), ("loyalty_joined_at", _T),
        ("tags", _S), ("created_at", _T),
    ),
    "leads": _schema(
        ("external_id", _S), ("name", _S), ("email", _S), ("phone", _S), ("company", _S),
        ("source", _S), ("status", _S), ("owner_username", _S),
        ("converted_customer_external_id", _S), ("converted_at", _T), ("created_at", _T),
    ),
    "products": _schema(
        ("sku", _S), ("name", _S), ("category", _S), ("price", _M), ("currency", _S)
    ),
    "campaigns": _schema(
        ("external_id", _S), ("name", _S), ("channel", _S), ("objective", _S),
        ("started_at", _T), ("ended_at", _T), ("budget", _M), ("holdout_share", _F),
    ),
    "orders": _schema(
        ("external_id", _S), ("customer_external_id", _S), ("status", _S), ("ordered_at", _T),
        ("gross_amount", _M), ("discount_amount", _M), ("refunded_amount", _M),
        ("net_amount", _M), ("currency", _S), ("channel", _S), ("store", _S),
    ),
    "order_items": _schema(
        ("order_external_id", _S), ("line_no", _I32), ("product_sku", _S), ("quantity", _I32),
        ("unit_price", _M), ("net_amount", _M),
    ),
    "events": _schema(
        ("external_id", _S), ("customer_external_id", _S), ("kind", _S), ("occurred_at", _T),
        ("session_id", _S), ("channel", _S), ("product_sku", _S),
        ("campaign_external_id", _S), ("dwell_seconds", _F), ("properties", _S),
    ),
    "interactions": _schema(
        ("external_id", _S), ("customer_external_id", _S), ("channel", _S), ("direction", _S),
        ("staff_username", _S), ("occurred_at", _T), ("duration_seconds", _I32),
        ("subject", _S), ("summary", _S),
    ),
    "tickets": _schema(
        ("external_id", _S), ("customer_external_id", _S), ("kind", _S), ("channel", _S),
        ("priority", _S), ("status", _S), ("subject", _S), ("description", _S),
        ("assignee_username", _S), ("opened_at", _T), ("first_response_at", _T),
        ("resolved_at", _T), ("closed_at", _T), ("satisfaction_rating", _I32),
    ),
    "survey_responses": _schema(
        ("external_id", _S), ("customer_external_id", _S), ("kind", _S), ("score", _F),
        ("scale_min", _F), ("scale_max", _F), ("comment", _S), ("channel", _S),
        ("responded_at", _T), ("ticket_external_id", _S), ("campaign_external_id", _S),
    ),
    "referrals": _schema(
        ("external_id", _S), ("referrer_external_id", _S), ("referred_lead_external_id", _S),
        ("referred_customer_external_id", _S), ("referred_at", _T), ("channel", _S),
        ("converted", _B), ("converted_at", _T),
    ),
    "campaign_deliveries": _schema(
        ("external_id", _S), ("campaign_external_id", _S), ("customer_external_id", _S),
        ("holdout", _B), ("sent_at", _T), ("delivered_at", _T), ("opened_at", _T),
        ("clicked_at", _T), ("converted_at", _T), ("order_external_id", _S),
    ),
    "loyalty_ledger": _schema(
        ("external_id", _S), ("customer_external_id", _S), ("points", _I64), ("reason", _S),
        ("reference", _S), ("occurred_at", _T),
    ),
}  # fmt: skip

ENTITIES: tuple[str, ...] = tuple(SCHEMAS)


def make_table(entity: str, columns: Mapping[str, Any]) -> pa.Table:
    """A table of ``entity`` with exactly the contract's columns, types and order."""
    schema = SCHEMAS[entity]
    missing = set(schema.names) - set(columns)
    extra = set(columns) - set(schema.names)
    if missing or extra:
        raise ValidationFailed(
            "columns of {entity} do not match the import format",
            table=entity,
            value={"missing": sorted(missing), "extra": sorted(extra)},
            key="sample_columns",
            params={"entity": entity},
        )
    arrays = []
    for f in schema:
        col = columns[f.name]
        arr = col if isinstance(col, pa.Array | pa.ChunkedArray) else pa.array(col)
        arrays.append(arr.cast(f.type) if arr.type != f.type else arr)
    return pa.Table.from_arrays(arrays, schema=schema)


def empty_table(entity: str) -> pa.Table:
    return SCHEMAS[entity].empty_table()


@dataclass
class SampleCompany:
    """A generated (or loaded) company: one Arrow table per entity plus its parameters.

    ``params`` holds the generating arguments and model parameters (JSON-ready scalars,
    lists and dicts) and, as Arrow tables, per-customer truths such as ``latent``.
    """

    tables: dict[str, pa.Table]
    params: dict[str, Any] = field(default_factory=dict)

    def __getitem__(self, entity: str) -> pa.Table:
        return self.tables[entity]

    def __getattr__(self, name: str) -> pa.Table:
        tables = self.__dict__.get("tables", {})
        if name in tables:
            return tables[name]
        raise AttributeError(name)

    @property
    def latent(self) -> pa.Table | None:
        return self.params.get("latent")

    @property
    def timezone(self) -> str:
        return str(self.params.get("timezone", "UTC"))

    def row_counts(self) -> dict[str, int]:
        return {name: t.num_rows for name, t in self.tables.items()}


def scalar_params(params: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in params.items() if not isinstance(v, pa.Table)}


def to_csv_table(table: pa.Table, timezone: str) -> pa.Table:
    """Times as ISO 8601 text with the offset of ``timezone``, text neutralised against
    formula injection (:func:`~rapport.ingest.spreadsheet.neutralise`); other types as
    they are."""
    cols = []
    for f, col in zip(table.schema, table.columns, strict=True):
        if pa.types.is_timestamp(f.type):
            local = col.cast(pa.timestamp("s", tz=timezone))
            col = pc.strftime(local, format="%Y-%m-%dT%H:%M:%S%Ez")
        cols.append(col)
    return neutralise_arrow(pa.Table.from_arrays(cols, names=table.column_names))


try:  # plain header names (pyarrow >= 17); older pyarrow quotes them, which readers accept
    CSV_OPTIONS = pacsv.WriteOptions(quoting_style="needed", quoting_header="none")
except TypeError:  # pragma: no cover
    CSV_OPTIONS = pacsv.WriteOptions(quoting_style="needed")


def write_table(table: pa.Table, path: Path, fmt: FileFormat, timezone: str) -> None:
    if fmt == "csv":
        pacsv.write_csv(to_csv_table(table, timezone), path, write_options=CSV_OPTIONS)
    else:
        pq.write_table(table, path)


def write(company: SampleCompany, out_dir: str | Path, format: FileFormat = "csv") -> Path:
    """Write one ``<entity>.<format>`` per table, ``params.json`` and each table-valued
    parameter (``latent.<format>``) into ``out_dir``.

    Returns
    -------
    Path
        The output directory.
    """
    if format not in ("csv", "parquet"):
        raise ValidationFailed(
            "unknown format {format!r}",
            field="format",
            hint="use one of: {choices}",
            key="sample_format_unknown",
            params={"format": format, "choices": "csv, parquet"},
            hint_key="option_value_unknown.hint",
        )
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tz = company.timezone
    for name, table in company.tables.items():
        write_table(table, out / f"{name}.{format}", format, tz)
    for name, value in company.params.items():
        if isinstance(value, pa.Table):
            write_table(value, out / f"{name}.{format}", format, tz)
    (out / "params.json").write_text(
        json.dumps(scalar_params(company.params), ensure_ascii=False, indent=2, default=str),
        encoding="utf-8",
    )
    return out
