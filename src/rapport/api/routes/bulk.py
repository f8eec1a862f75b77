"""Bulk ingestion: ``POST /events/bulk``, ``/orders/bulk``, ``/interactions/bulk``.

A body is a JSON array of items (``Content-Type: application/json``) or NDJSON, one item
per line (``application/x-ndjson``); at most :data:`MAX_ITEMS` items. Items use the import
format of the entity (docs/import.md: ``occurred_at``, ``kind``, ``product_sku`` …), and
name their customer by ``customer_id`` or ``customer_external_id``.

Every item ends up ``created``, ``duplicate`` or ``error`` — the answer (200) lists each
with its index, and the counts add up. Items are checked together, with the importer's own
vectorized normalization and validation (:func:`rapport.ingest.validate.check_batch`), all
customers of the batch are resolved in one query, and the new rows are written by the
store's bulk writer (:class:`~rapport.store.bulk.BulkWriter`, the importer's), in the
request's one transaction.

* A customer outside the caller's scope is reported exactly like an unknown one.
* An item whose key (``external_id``) is already stored, or repeats an earlier item of the
  batch, is a ``duplicate`` (nothing is changed; use the resource's PATCH to change it).
  Events and interactions without an ``external_id`` get the importer's derived key (a
  hash of their identity fields), so a retried batch — or the same event in a file import —
  creates nothing twice.

=====================  =========================  ===================
route                  roles                      API token scope
=====================  =========================  ===================
POST /events/bulk      admin, manager, sales      events:write
POST /orders/bulk      admin, manager, sales      orders:write
POST /interactions/…   admin, manager, sales      interactions:write
=====================  =========================  ===================
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

import polars as pl
import sqlalchemy as sa
from fastapi import APIRouter, Depends, Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from rapport.api.audit import Auditor, AuditorDep
from rapport.api.deps import (
    CustomerScope,
    CustomerScopeDep,
    RulesDep,
    SessionDep,
    SettingsDep,
    require_role,
    require_scope,
)
from rapport.api.errors import COMMON_RESPONSES, ApiError, ErrorBody
from rapport.api.schemas.bulk import BulkResult, ItemError, ItemResult
from rapport.config import Rules, Settings
from rapport.domain import AuditAction, Role
from rapport.ingest.entities import EntitySpec, entity
from rapport.ingest.importer import Run, derive_keys
from rapport.ingest.validate import ROW, Context, check_batch
from rapport.store import loyalty_earning, schema
from rapport.store.bulk import BulkWriter
from rapport.store.db import engine_of, lock_for_upsert
from rapport.store.repository import utcnow
from rapport.store.rules import column_rules

router = APIRouter(tags=["bulk"])

#: Most items one request may carry (more: 413; send several requests).
MAX_ITEMS = 10_000
JSON = "application/json"
NDJSON = "application/x-ndjson"
#: Entities of the bulk routes, by the path's resource.
RESOURCES = {"events": "events", "orders": "orders", "interactions": "interactions"}
CUSTOMER_ID = "customer_id"
CUSTOMER_KEY = "customer_external_id"

_c = schema.customers.c

_BODY_SCHEMA = {
    "type": "array",
    "maxItems": MAX_ITEMS,
    "items": {"type": "object", "additionalProperties": True},
}
_OPENAPI = {
    "requestBody": {
        "required": True,
        "content": {
            JSON: {"schema": _BODY_SCHEMA},
            NDJSON: {"schema": {"type": "string", "description": "one JSON object per line"}},
        },
    }
}
_RESPONSES: dict[int | str, dict[str, Any]] = {
    **COMMON_RESPONSES,
    415: {"model": ErrorBody, "description": "Neither JSON nor NDJSON"},
}


@dataclass
class _Batch:
    """The items of one request and what became of each."""

    spec: EntitySpec
    items: dict[int, dict[str, Any]] = field(default_factory=dict)  # index → item
    lines: dict[int, int] = field(default_factory=dict)  # index → NDJSON line
    results: dict[int, ItemResult] = field(default_factory=dict)
    count: int = 0

    def fail(self, index: int, where: str, message: str) -> None:
        path = f"items[{index}].{where}" if where else f"items[{index}]"
        self.items.pop(index, None)
        self.results[index] = ItemResult(
            index=index,
            line=self.lines.get(index),
            status="error",
            error=ItemError(field=path, message=message),
        )

    def done(self, index: int, status: str, row_id: int | None, key: str | None) -> None:
        self.results[index] = ItemResult(
            index=index,
            line=self.lines.get(index),
            status=status,  # type: ignore[arg-type]
            id=row_id,
            external_id=key,
        )


# --- reading the body ----------------------------------------------------------------------


def _too_many(count: int) -> ApiError:
    return ApiError(
        413,
        "too_many_items",
        f"body: {count} items; at most {MAX_ITEMS} per request",
        field="body",
        value=count,
        hint=f"split the batch into requests of at most {MAX_ITEMS} items",
    )


def _bad_body(message: str, hint: str | None = None) -> ApiError:
    return ApiError(422, "validation_failed", f"body: {message}", field="body", hint=hint)


def _parse(raw: bytes, content_type: str, batch: _Batch) -> None:
    media = content_type.split(";")[0].strip().lower()
    if media in (NDJSON, "application/jsonl", "application/jsonlines"):
        _parse_ndjson(raw, batch)
    elif media == JSON or media.endswith("+json"):
        _parse_array(raw, batch)
    else:
        raise ApiError(
            415,
            "unsupported_media_type",
            f"Content-Type {media or '(none)'} is not accepted here",
            field="header.Content-Type",
            hint=f"send a JSON array as {JSON} or one object per line as {NDJSON}",
        )


def _parse_array(raw: bytes, batch: _Batch) -> None:
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise _bad_body(f"not valid JSON ({exc})", "send a JSON array of objects") from exc
    except RecursionError as exc:  # JsonBodyGuard refuses such bodies first
        raise _bad_body("nested too deeply", "send a JSON array of flat objects") from exc
    if not isinstance(data, list):
        raise _bad_body("must be a JSON array of items", f"or send NDJSON as {NDJSON}")
    if len(data) > MAX_ITEMS:
        raise _too_many(len(data))
    batch.count = len(data)
    for index, item in enumerate(data):
        batch.items[index] = item


def _parse_ndjson(raw: bytes, batch: _Batch) -> None:
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _bad_body(f"not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    # NDJSON lines end at "\n" only (a "\r" before it is JSON whitespace): str.splitlines
    # would also cut at U+2028, U+0085 … that JSON strings may hold as they are.
    lines = [(n, line) for n, line in enumerate(text.split("\n"), start=1) if line.strip()]
    if len(lines) > MAX_ITEMS:
        raise _too_many(len(lines))
    batch.count = len(lines)
    for index, (number, line) in enumerate(lines):
        batch.lines[index] = number
        try:
            batch.items[index] = json.loads(line)
        except ValueError as exc:
            batch.fail(index, "", f"line {number}: not valid JSON ({exc})")
        except RecursionError:  # JsonBodyGuard refuses such bodies first
            batch.fail(index, "", f"line {number}: nested too deeply")


# --- checking items ------------------------------------------------------------------------

_SCALAR_KINDS = {"text", "money", "datetime", "date", "int", "float", "bool", "enum", "phone",
                 "email"}  # fmt: skip


def _as_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


def _shape(batch: _Batch) -> None:
    """Each item an object with known fields, scalar values and one customer reference."""
    spec = batch.spec
    known = set(spec.by_name) | {CUSTOMER_ID}
    extra = spec.extra_column if spec.extra_column not in spec.by_name else None
    if extra:
        known.add(extra)
    for index, item in list(batch.items.items()):
        if not isinstance(item, dict):
            batch.fail(index, "", "must be a JSON object")
            continue
        unknown = sorted(set(item) - known)
        if unknown:
            batch.fail(index, unknown[0], f"unknown field of {spec.name}")
            continue
        problem = _field_problem(spec, item, extra)
        if problem:
            batch.fail(index, *problem)
            continue
        has_id = item.get(CUSTOMER_ID) is not None
        has_key = item.get(CUSTOMER_KEY) is not None
        if has_id == has_key:
            batch.fail(
                index,
                CUSTOMER_ID,
                f"give exactly one of {CUSTOMER_ID} and {CUSTOMER_KEY}",
            )


def _field_problem(spec: EntitySpec, item: dict[str, Any], extra: str | None) -> tuple | None:
    for name, value in item.items():
        if value is None:
            continue
        if name == CUSTOMER_ID:
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value < 2**31:
                return name, "must be a customer id (a positive integer)"
        elif name == extra:
            if not isinstance(value, dict):
                return name, "must be a JSON object"
        elif spec.by_name[name].kind in _SCALAR_KINDS and isinstance(value, dict | list):
            return name, "must be a single value, not an object or a list"
        elif name == CUSTOMER_KEY and not isinstance(value, str):
            return name, "must be a string"
    return None


def _customers(session: Session, scope: CustomerScope, batch: _Batch) -> dict[int, str]:
    """Item index → the external id of its customer, for the items whose customer exists
    and is in scope (one query); the others fail, identically for both reasons."""
    by_id = {i: it[CUSTOMER_ID] for i, it in batch.items.items() if it.get(CUSTOMER_ID)}
    by_key = {i: it[CUSTOMER_KEY] for i, it in batch.items.items() if it.get(CUSTOMER_KEY)}
    found_ids: dict[int, str] = {}
    found_keys: set[str] = set()
    if by_id or by_key:
        wanted = sa.or_(
            _c.id.in_(sorted(set(by_id.values()))),
            _c.external_id.in_(sorted(set(by_key.values()))),
        )
        stmt = sa.select(_c.id, _c.external_id).where(wanted, _c.deleted_at.is_(None))
        for row in session.execute(scope.where(stmt)):
            found_ids[row.id] = row.external_id
            found_keys.add(row.external_id)
    out: dict[int, str] = {}
    for index, customer_id in by_id.items():
        if customer_id in found_ids:
            out[index] = found_ids[customer_id]
        else:
            batch.fail(index, CUSTOMER_ID, f"no customer with id {customer_id}")
    for index, key in by_key.items():
        if key in found_keys:
            out[index] = key
        else:
            batch.fail(index, CUSTOMER_KEY, f"no customer with external_id {key!r}")
    return out


def _frame(batch: _Batch, customer_keys: dict[int, str]) -> tuple[pl.DataFrame, pl.Series]:
    """The items still standing as text columns of the import format, and their indices."""
    spec = batch.spec
    order = sorted(batch.items)
    columns: dict[str, pl.Series] = {}
    values: list[str | None]
    for f in spec.fields:
        if f.name == CUSTOMER_KEY:
            values = [customer_keys[i] for i in order]
        else:
            values = [_as_text(batch.items[i].get(f.name)) for i in order]
        name = str(f.name)  # plain text: polars does not take str subclasses
        columns[name] = pl.Series(name, values, dtype=pl.Utf8)
    return pl.DataFrame(columns, height=len(order)), pl.Series(ROW, order, dtype=pl.Int64)


def _note_rejects(batch: _Batch, rejects: pl.DataFrame) -> None:
    for index, column, reason in rejects.select(ROW, "_column", "_reason").iter_rows():
        first = column.split(", ")[0]
        batch.fail(index, first, reason)


# --- the work ------------------------------------------------------------------------------


def ingest(
    *,
    session: Session,
    scope: CustomerScope,
    spec: EntitySpec,
    batch: _Batch,
    settings: Settings,
    rules: Rules,
) -> None:
    """Check, de-duplicate and write the batch's items (fills ``batch.results``)."""
    _shape(batch)
    customer_keys = _customers(session, scope, batch)
    if not batch.items:
        return
    ctx = Context(tz=settings.tz, phone_region=rules.business.default_phone_region, rules=rules)
    frame, rows = _frame(batch, customer_keys)
    mapping = {str(f.name): str(f.name) for f in spec.fields}
    checked = check_batch(spec, frame, rows, mapping=mapping, unknown=[], ctx=ctx)
    _note_rejects(batch, checked.rejects)
    values = checked.values
    extra = spec.extra_column if spec.extra_column not in spec.by_name else None
    if extra:
        docs = [batch.items[i].get(extra) for i in values[ROW].to_list()]
        texts = [json.dumps(d, ensure_ascii=False, sort_keys=True) if d else None for d in docs]
        values = values.with_columns(pl.Series(extra, texts, dtype=pl.Utf8))
    if spec.derive_key:
        values = derive_keys(spec, values)
    key = spec.key[0]
    first = values[key].is_first_distinct()
    repeated = values.filter(~first)
    values = values.filter(first)

    run = Run(spec, engine_of(session), rules, settings, dry_run=False)
    writer = BulkWriter(session.connection())
    values, ref_rejects = run.resolve(writer, values, {})
    for reject in ref_rejects:
        _note_rejects(batch, reject)
    # no other writer (an import batch, another request) adds rows of the table between
    # the lookup of the keys and the insert; it waits its turn, as this request does
    lock_for_upsert(session.connection(), spec.table)
    for attempt in range(2):
        try:
            with session.begin_nested():
                _insert(writer, run, spec, values, batch)
            break
        except sa.exc.IntegrityError as exc:
            if attempt:  # raced twice by identical batches: let the client retry
                raise ApiError(
                    409,
                    "conflict",
                    "another request is writing the same items",
                    hint="retry the request: items already stored are reported duplicate",
                    headers={"Retry-After": "1"},
                ) from exc
    if spec.name == "orders":  # their points, as an order the API creates one by one
        buyers = sorted({int(c) for c in values[CUSTOMER_ID].to_list() if c is not None})
        loyalty_earning.post_customers(session, buyers, rules=rules, now=utcnow())
    keys = dict(zip(values[key].to_list(), values[ROW].to_list(), strict=True))
    for index, item_key in repeated.select(ROW, key).iter_rows():
        original = batch.results.get(keys.get(item_key, -1))
        row_id = original.id if original and original.status != "error" else None
        batch.done(index, "duplicate", row_id, item_key)


def _insert(
    writer: BulkWriter, run: Run, spec: EntitySpec, values: pl.DataFrame, batch: _Batch
) -> None:
    table = spec.table
    key = spec.key[0]
    existing = {
        row[0]: row[1] for row in writer.lookup(table, [key], values.select(pl.col(key)), ["id"])
    }
    is_new = ~values[key].is_in(pl.Series(list(existing), dtype=pl.Utf8).implode())
    fresh = values.filter(is_new)
    frame = run.table_frame(fresh)
    by_column = column_rules(table)
    for name in frame.columns:  # an absent value takes the column's default, as in SQL
        rule = by_column[name]
        if rule.server_default is not None and rule.required:
            default = pl.lit(rule.server_default).cast(frame.schema[name])
            frame = frame.with_columns(pl.col(name).fill_null(default))
    if "created_at" in table.c:
        stamp = pl.lit(dt.datetime.now(dt.UTC), dtype=pl.Datetime("us", "UTC"))
        frame = frame.with_columns(stamp.alias("created_at"), stamp.alias("updated_at"))
    writer.insert(table, frame)
    created = {
        row[0]: row[1] for row in writer.lookup(table, [key], fresh.select(pl.col(key)), ["id"])
    }
    for index, item_key in values.select(ROW, key).iter_rows():
        if item_key in existing:
            batch.done(index, "duplicate", existing[item_key], item_key)
        else:
            batch.done(index, "created", created.get(item_key), item_key)


def _summary(batch: _Batch) -> BulkResult:
    results = [batch.results[i] for i in range(batch.count)]
    counts = {"created": 0, "duplicate": 0, "error": 0}
    for result in results:
        counts[result.status] += 1
    return BulkResult(
        created=counts["created"],
        duplicates=counts["duplicate"],
        failed=counts["error"],
        results=results,
    )


async def _bulk(
    resource: str,
    request: Request,
    session: Session,
    scope: CustomerScope,
    auditor: Auditor,
    settings: Settings,
    rules: Rules,
) -> BulkResult:
    spec = entity(RESOURCES[resource])
    batch = _Batch(spec=spec)
    _parse(await request.body(), request.headers.get("content-type", ""), batch)

    def work() -> BulkResult:
        ingest(session=session, scope=scope, spec=spec, batch=batch, settings=settings, rules=rules)
        result = _summary(batch)
        detail = {"route": "bulk", "created": result.created, "duplicates": result.duplicates,
                  "failed": result.failed}  # fmt: skip
        auditor.record(AuditAction.CREATE, spec.table.name, None, detail)
        return result

    return await run_in_threadpool(work)


def _route(resource: str) -> Any:
    async def bulk(
        request: Request,
        session: SessionDep,
        scope: CustomerScopeDep,
        auditor: AuditorDep,
        settings: SettingsDep,
        rules: RulesDep,
    ) -> BulkResult:
        return await _bulk(resource, request, session, scope, auditor, settings, rules)

    bulk.__name__ = f"bulk_{resource}"
    bulk.__doc__ = (
        f"Create many {resource} at once from a JSON array or NDJSON (at most {MAX_ITEMS} "
        "items); every item is reported created, duplicate or error, by index."
    )
    return bulk


_MAY_WRITE = Depends(require_role(Role.ADMIN, Role.MANAGER, Role.SALES))
for _resource in RESOURCES:
    router.add_api_route(
        f"/{_resource}/bulk",
        _route(_resource),
        methods=["POST"],
        response_model=BulkResult,
        dependencies=[Depends(require_scope(f"{_resource}:write")), _MAY_WRITE],
        responses=_RESPONSES,
        openapi_extra=_OPENAPI,
        name=f"bulk_{_resource}",
    )
