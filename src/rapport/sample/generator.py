"""The synthetic company: generate it in memory or stream it to files.

Customers are simulated in blocks of :data:`~rapport.sample.context.BLOCK`; each block has
its own random streams derived from the seed, so the data depends only on the arguments
(customers, months, seed, locale, end) — not on how it is chunked when written.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from rapport.errors import ValidationFailed
from rapport.sample import arrays as A
from rapport.sample.behaviour import simulate_events
from rapport.sample.campaigns import campaign_columns, delivery_columns, simulate_deliveries
from rapport.sample.company import (
    CSV_OPTIONS,
    SCHEMAS,
    FileFormat,
    SampleCompany,
    make_table,
    to_csv_table,
)
from rapport.sample.context import BLOCK, Context, build_context
from rapport.sample.interactions import simulate_interactions
from rapport.sample.leads import simulate_leads
from rapport.sample.loyalty import simulate_ledger
from rapport.sample.params import FIRST_RESPONSE_HOURS, RESOLUTION_HOURS, ModelParams
from rapport.sample.population import customer_columns, latent_columns, simulate_population
from rapport.sample.purchases import order_columns, simulate_order_times, simulate_orders
from rapport.sample.service import simulate_surveys, simulate_tickets

STATIC = ("users", "products", "campaigns")
PER_BLOCK = tuple(e for e in SCHEMAS if e not in STATIC)
COUNTERS = (
    "orders",
    "leads",
    "referrals",
    "loyalty_ledger",
    "tickets",
    "survey_responses",
    "events",
    "sessions",
    "interactions",
    "campaign_deliveries",
)


@dataclass
class Block:
    tables: dict[str, pa.Table]
    latent: pa.Table
    counters: dict[str, int] = field(default_factory=dict)


def static_tables(ctx: Context) -> dict[str, pa.Table]:
    staff = ctx.locale.data.STAFF
    domain = ctx.locale.data.STAFF_EMAIL_DOMAIN
    cat = ctx.catalogue
    return {
        "users": make_table(
            "users",
            {
                "username": [s[0] for s in staff],
                "display_name": [s[1] for s in staff],
                "email": [f"{s[0]}@{domain}" for s in staff],
                "role": [s[2] for s in staff],
                "team": [s[3] for s in staff],
            },
        ),
        "products": make_table(
            "products",
            {
                "sku": cat.sku,
                "name": cat.name,
                "category": cat.category,
                "price": A.money(cat.price_cents),
                "currency": [cat.currency] * cat.size,
            },
        ),
        "campaigns": make_table("campaigns", campaign_columns(ctx)),
    }


def simulate_block(ctx: Context, block: int, first: int, n: int, counters: dict[str, int]) -> Block:
    """Customers ``first .. first + n - 1`` and everything they do."""

    def rng(stream: int) -> np.random.Generator:
        return ctx.block_rng(block, stream)

    pop = simulate_population(ctx, rng(0), first, n)
    organic_cust, organic_x = simulate_order_times(ctx, rng(1), pop)
    deliveries = simulate_deliveries(ctx, rng(2), pop, organic_cust, organic_x)
    n_org = len(organic_cust)
    inc_cust = deliveries.customer[deliveries.incremental]
    deliveries.order[deliveries.incremental] = n_org + np.arange(len(inc_cust))
    orders = simulate_orders(
        ctx,
        rng(3),
        pop,
        np.concatenate([organic_cust, inc_cust]),
        np.concatenate([organic_x, deliveries.incremental_time]),
        counters["orders"],
    )
    order_ids = orders.external_id.take(pa.array(orders.from_combined))
    order_cols, item_cols = order_columns(ctx, pop, orders)
    customers = customer_columns(ctx, rng(4), pop)
    leads, referrals, refs = simulate_leads(
        ctx, rng(5), pop, customers, counters["leads"], counters["referrals"]
    )
    ledger = simulate_ledger(
        ctx, rng(6), pop, orders, refs, referrals["external_id"], counters["loyalty_ledger"]
    )
    ticket_cols, tickets = simulate_tickets(ctx, rng(7), pop, counters["tickets"])
    surveys = simulate_surveys(
        ctx, rng(8), pop, orders, tickets, deliveries, counters["survey_responses"]
    )
    events, sessions = simulate_events(
        ctx, rng(9), pop, orders, deliveries, counters["events"], counters["sessions"]
    )
    interactions = simulate_interactions(
        ctx, rng(10), pop, orders, tickets, counters["interactions"]
    )
    delivery_cols = delivery_columns(
        ctx, pop, deliveries, order_ids, counters["campaign_deliveries"]
    )
    tables = {
        "customers": make_table("customers", customers),
        "leads": make_table("leads", leads),
        "orders": make_table("orders", order_cols),
        "order_items": make_table("order_items", item_cols),
        "events": make_table("events", events),
        "interactions": make_table("interactions", interactions),
        "tickets": make_table("tickets", ticket_cols),
        "survey_responses": make_table("survey_responses", surveys),
        "referrals": make_table("referrals", referrals),
        "campaign_deliveries": make_table("campaign_deliveries", delivery_cols),
        "loyalty_ledger": make_table("loyalty_ledger", ledger),
    }
    new = dict(counters)
    for name in COUNTERS:
        if name == "sessions":
            new[name] = sessions
        else:
            new[name] = counters[name] + tables[name].num_rows
    return Block(tables, pa.table(latent_columns(ctx, pop)), new)


def _blocks(ctx: Context):
    counters = dict.fromkeys(COUNTERS, 0)
    for b, first in enumerate(range(0, ctx.customers, BLOCK)):
        block = simulate_block(ctx, b, first, min(BLOCK, ctx.customers - first), counters)
        counters = block.counters
        yield block


def describe(ctx: Context) -> dict[str, Any]:
    """The JSON-ready parameters of a generation."""
    return {
        "generator": "rapport.sample.generate",
        "customers": ctx.customers,
        "months": ctx.months,
        "seed": ctx.seed,
        "locale": ctx.locale.name,
        "start": ctx.window.start.isoformat(),
        "end": ctx.window.end.isoformat(),
        "timezone": ctx.window.tz,
        "currency": ctx.currency,
        "block_customers": BLOCK,
        "products": ctx.catalogue.size,
        "campaigns": ctx.schedule.size,
        "sla_first_response_hours": FIRST_RESPONSE_HOURS,
        "sla_resolution_hours": RESOLUTION_HOURS,
        "model": ctx.params.to_dict(),
    }


def generate(
    customers: int = 20000,
    months: int = 24,
    seed: int = 42,
    locale: str = "zh_CN",
    end: date | None = None,
    params: ModelParams | None = None,
) -> SampleCompany:
    """Generate a synthetic company in memory.

    Parameters
    ----------
    customers
        Number of customers (leads, orders, events... scale with it).
    months
        Length of the simulated history, ending just before ``end``.
    seed
        Seed of every random draw: equal arguments give identical tables.
    locale
        ``zh_CN`` (Chinese names, +86 mobiles, CNY, Asia/Shanghai, 618/Double 11/Chinese
        New Year) or ``en_US`` (USD, America/New_York, Black Friday).
    end
        Exclusive end date of the history, local midnight; default the first day of the
        current month.
    params
        Model parameters; default :class:`~rapport.sample.params.ModelParams`.

    Returns
    -------
    SampleCompany
        One table per entity of the import format; ``params`` holds the arguments, the
        model parameters and the ``latent`` table of per-customer truths.
    """
    ctx = build_context(customers, months, seed, locale, end, params)
    tables = static_tables(ctx)
    parts: dict[str, list[pa.Table]] = {e: [] for e in PER_BLOCK}
    latent = []
    for block in _blocks(ctx):
        for name, table in block.tables.items():
            parts[name].append(table)
        latent.append(block.latent)
    for name in PER_BLOCK:
        tables[name] = pa.concat_tables(parts[name])
    ordered = {name: tables[name] for name in SCHEMAS}
    info = describe(ctx)
    info["latent"] = pa.concat_tables(latent)
    return SampleCompany(ordered, info)


class _Sink:
    """Appends tables of one entity to a Parquet or CSV file."""

    def __init__(self, path: Path, schema: pa.Schema, fmt: FileFormat, tz: str) -> None:
        self.path, self.schema, self.fmt, self.tz = path, schema, fmt, tz
        self.writer: pq.ParquetWriter | pacsv.CSVWriter | None = None

    def write(self, table: pa.Table) -> None:
        if self.fmt == "csv":
            table = to_csv_table(table, self.tz)
            if self.writer is None:
                self.writer = pacsv.CSVWriter(self.path, table.schema, write_options=CSV_OPTIONS)
        elif self.writer is None:
            self.writer = pq.ParquetWriter(self.path, self.schema)
        self.writer.write_table(table)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def generate_to_dir(
    out_dir: str | Path,
    customers: int,
    months: int = 24,
    seed: int = 42,
    format: FileFormat = "parquet",
    chunk_customers: int = 50_000,
    locale: str = "zh_CN",
    end: date | None = None,
    params: ModelParams | None = None,
) -> dict[str, int]:
    """Generate a company straight to files, ``chunk_customers`` at a time.

    Writes the same data as :func:`generate` with the same arguments (one file per entity,
    ``latent.<format>`` and ``params.json``) while holding only one chunk in memory; each
    chunk becomes a Parquet row group.

    Returns
    -------
    dict
        Rows written per entity.
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
    if chunk_customers < 1:
        raise ValidationFailed(
            "{name} must be at least 1",
            field="chunk_customers",
            key="at_least_one",
            params={"name": "chunk_customers"},
        )
    ctx = build_context(customers, months, seed, locale, end, params)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tz = ctx.window.tz
    counts: dict[str, int] = {}
    for name, table in static_tables(ctx).items():
        _Sink(out / f"{name}.{format}", table.schema, format, tz).write(table)
        counts[name] = table.num_rows
    sinks = {e: _Sink(out / f"{e}.{format}", SCHEMAS[e], format, tz) for e in PER_BLOCK}
    latent_sink: _Sink | None = None
    pending: list[Block] = []
    per_chunk = max(1, -(-chunk_customers // BLOCK))

    def flush() -> None:
        nonlocal latent_sink
        if not pending:
            return
        for name in PER_BLOCK:
            table = pa.concat_tables([b.tables[name] for b in pending])
            sinks[name].write(table)
            counts[name] = counts.get(name, 0) + table.num_rows
        latent = pa.concat_tables([b.latent for b in pending])
        if latent_sink is None:
            latent_sink = _Sink(out / f"latent.{format}", latent.schema, format, tz)
        latent_sink.write(latent)
        pending.clear()

    try:
        for block in _blocks(ctx):
            pending.append(block)
            if len(pending) >= per_chunk:
                flush()
        flush()
    finally:
        for sink in sinks.values():
            sink.close()
        if latent_sink is not None:
            latent_sink.close()
    info = describe(ctx)
    info["rows"] = {name: counts[name] for name in SCHEMAS}
    (out / "params.json").write_text(json.dumps(info, ensure_ascii=False, indent=2), "utf-8")
    return info["rows"]
