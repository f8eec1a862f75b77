"""``rapport sample`` (a synthetic company or the CDNOW data) and ``rapport demo``."""

from __future__ import annotations

import datetime as dt
import time
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.panel import Panel
from rich.table import Table

from rapport.cli.common import console, err_console, store_engine
from rapport.config import Settings, get_settings, load_rules
from rapport.i18n.labels import t
from rapport.i18n.locale import is_chinese
from rapport.ingest.report import ImportReport
from rapport.sample.company import SampleCompany, write
from rapport.store import loyalty, session_scope
from rapport.store.db import upgrade
from rapport.store.summary import StoreSummary, summarize


class Locale(StrEnum):
    """The sample company's country (names, places, phones, holidays), as Faker names it;
    not the interface language (``RAPPORT_LOCALE``), which the demo follows."""

    zh_CN = "zh_CN"
    en_US = "en_US"


#: Diamond customers the demo lists (of all of them, whose number it says).
DEMO_DIAMONDS = 5


class Dataset(StrEnum):
    synthetic = "synthetic"
    cdnow = "cdnow"
    cdnow_master = "cdnow-master"


class FileFormat(StrEnum):
    csv = "csv"
    parquet = "parquet"


def _generate(customers: int, months: int, seed: int, locale: Locale, ui: str) -> SampleCompany:
    from rapport.sample.generator import generate

    with console.status(t("demo.generating", ui).format(customers=customers, months=months)):
        started = time.perf_counter()
        company = generate(customers=customers, months=months, seed=seed, locale=locale.value)
    total = sum(company.row_counts().values())
    seconds = time.perf_counter() - started
    console.print(t("demo.generated", ui).format(rows=total, seconds=seconds))
    return company


def _load(company: SampleCompany, ui: str | None = None) -> list[ImportReport]:
    """Load ``company`` into the configured store (created if needed), reporting progress in
    ``ui`` (default: the configured locale)."""
    from rapport.sample.load import load_company

    ui = ui or get_settings().locale

    engine = store_engine(require_current=False, create=True)
    upgrade(engine)
    with session_scope(engine) as session:
        loyalty.sync_tiers(session=session, rules=load_rules().loyalty)
    with console.status(t("demo.importing", ui)) as status:

        def on_entity(entity: str, rows: int) -> None:
            status.update(t("demo.importing_entity", ui).format(entity=t(entity, ui), rows=rows))

        return load_company(company, engine=engine, on_entity=on_entity)


def imports_table(reports: list[ImportReport], locale: str) -> Table:
    table = Table(title=t("import", locale))
    table.add_column(t("entity", locale))
    for key in ("read", "inserted", "updated", "unchanged", "rejected", "rows_per_second"):
        table.add_column(t(key, locale), justify="right")
    for r in reports:
        table.add_row(
            t(r.entity, locale),
            f"{r.read:,}",
            f"{r.inserted:,}",
            f"{r.updated:,}",
            f"{r.unchanged:,}",
            f"[red]{r.rejected:,}[/]" if r.rejected else "0",
            f"{r.rows_per_second:,.0f}",
        )
    return table


def summary_panel(summary: StoreSummary, locale: str) -> Panel:
    tz = get_settings().tz
    figures = Table(show_header=False, box=None, pad_edge=False)
    figures.add_column(style="bold")
    figures.add_column(justify="right")
    if summary.first_order_at and summary.last_order_at:
        first = summary.first_order_at.astimezone(tz).date()
        last = summary.last_order_at.astimezone(tz).date()
        figures.add_row(t("period", locale), f"{first} … {last}")
    currency = "/".join(summary.currencies)
    rows = [
        ("customers", f"{summary.rows['customers']:,}"),
        ("buyers", f"{summary.buyers:,}"),
        ("repeat_buyers", f"{summary.repeat_buyers:,}"),
        ("purchases", f"{summary.purchases:,}"),
        ("revenue", f"{summary.revenue:,.2f} {currency}"),
        ("complaints", f"{summary.complaints:,}"),
        ("open_tickets", f"{summary.open_tickets:,}"),
        ("loyalty_points", f"{summary.loyalty_points:,}"),
    ]
    for key, value in rows:
        figures.add_row(t(key, locale), value)
    return Panel(figures, title=t("company", locale), expand=False)


def _headline(company: SampleCompany, settings: Settings) -> Table:
    """The headline metrics over the last 12 months of the sample's history."""
    from rapport.cli.metrics import HEADLINE, compute, metrics_table

    end = dt.date.fromisoformat(str(company.params["end"]))
    as_of = (
        dt.datetime.combine(end, dt.time(), tzinfo=settings.tz)
        .astimezone(dt.UTC)
        .replace(tzinfo=None)
    )
    with console.status(t("demo.computing", settings.locale)):
        result, _ = compute(list(HEADLINE), period_text="12m", as_of=as_of, settings=settings)
    last = end - dt.timedelta(days=1)
    title = t("demo.last_12_months", settings.locale).format(last=last)
    return metrics_table(result, settings.locale, title, settings.tz)


def _scores(company: SampleCompany, settings: Settings) -> None:
    """Score every customer as of the sample's last day; show degrees, tiers, segments and
    the top diamonds."""
    import sqlalchemy as sa

    from rapport.cli.output import OutputFormat
    from rapport.cli.predictions import at_risk_command, clv_command
    from rapport.cli.scores import (
        diamonds_command,
        score_command,
        segments_command,
        tiers_command,
    )
    from rapport.store.schema import customer_scores

    day = str(dt.date.fromisoformat(str(company.params["end"])) - dt.timedelta(days=1))
    score_command(as_of=day, engine=None)
    engine = store_engine()
    try:
        with engine.connect() as conn:
            degrees = ("satisfaction", "loyalty", "engagement", "advocacy", "relationship_index")
            c = customer_scores.c
            averages = conn.execute(
                sa.select(*[sa.func.avg(c[d]) for d in degrees]).where(
                    c.as_of == dt.date.fromisoformat(day)
                )
            ).one()
    finally:
        engine.dispose()
    locale = settings.locale
    table = Table(title=t("four_degrees", locale))
    for d in degrees:
        table.add_column(t(d, locale), justify="right")
    table.add_row(*("—" if v is None else f"{v:.1f}" for v in averages))
    console.print(table)
    tiers_command(as_of=day, fmt=OutputFormat.table)
    segments_command(as_of=day, fmt=OutputFormat.table)
    # the title says how many diamond customers there are and how many are listed
    diamonds_command(as_of=day, limit=DEMO_DIAMONDS)
    clv_command(as_of=day, limit=5)
    at_risk_command(as_of=day, limit=10)


def sample_command(
    customers: Annotated[int, typer.Option(min=1, help="Number of customers.")] = 20_000,
    months: Annotated[int, typer.Option(min=1, max=120, help="Months of history.")] = 24,
    seed: Annotated[int, typer.Option(help="Seed: equal options give equal data.")] = 42,
    locale: Annotated[Locale, typer.Option(help="Names, places, phones, calendar.")] = Locale.zh_CN,
    out: Annotated[
        Path | None, typer.Option(help="Write files to this directory instead of the store.")
    ] = None,
    file_format: Annotated[
        FileFormat, typer.Option("--format", help="File format with --out: csv or parquet.")
    ] = FileFormat.csv,
    dataset: Annotated[
        Dataset, typer.Option(help="synthetic, or the real CDNOW cohort / master.")
    ] = Dataset.synthetic,
    chunk_customers: Annotated[
        int, typer.Option(help="With --out: customers per chunk (bounded memory).")
    ] = 50_000,
) -> None:
    """A sample company: synthetic (documented latent model) or the real CDNOW data."""
    ui = get_settings().locale
    if dataset != Dataset.synthetic:
        from rapport.sample.cdnow import load_cdnow

        company = load_cdnow("master" if dataset == Dataset.cdnow_master else "sample")
        counts = company.row_counts()
        console.print(
            t("sample.cdnow", ui).format(customers=counts["customers"], orders=counts["orders"])
        )
    elif out is not None:
        from rapport.sample.generator import generate_to_dir

        with console.status(t("sample.writing", ui).format(customers=customers, out=out)):
            started = time.perf_counter()
            rows = generate_to_dir(
                out,
                customers=customers,
                months=months,
                seed=seed,
                format=file_format.value,
                chunk_customers=chunk_customers,
                locale=locale.value,
            )
        seconds = time.perf_counter() - started
        console.print(
            t("sample.wrote_rows", ui).format(rows=sum(rows.values()), out=out, seconds=seconds),
            highlight=False,
        )
        return
    else:
        company = _generate(customers, months, seed, locale, ui)
    if out is not None:
        write(company, out, format=file_format.value)
        console.print(t("sample.wrote", ui).format(out=out), highlight=False)
        return
    reports = _load(company, ui)
    console.print(imports_table(reports, ui))


def demo_command(
    customers: Annotated[int, typer.Option(min=100, help="Number of customers.")] = 20_000,
    months: Annotated[int, typer.Option(min=1, max=120, help="Months of history.")] = 24,
    seed: Annotated[int, typer.Option(help="Seed: equal options give equal data.")] = 42,
) -> None:
    """The main job on embedded defaults: create the store, build the sample company,
    import it and show what Rapport knows about it."""
    settings = get_settings()
    ui = settings.locale
    console.rule(t("demo.title", ui))
    console.print(t("demo.store", ui).format(url=settings.safe_database_url()), highlight=False)
    started = time.perf_counter()
    locale = Locale.zh_CN if is_chinese(ui) else Locale.en_US
    company = _generate(customers, months, seed, locale, ui)
    reports = _load(company, ui)
    console.print(imports_table(reports, ui))
    rejected = sum(r.rejected for r in reports)
    if rejected:
        err_console.print(f"[red]{t('demo.rejected', ui).format(rows=rejected)}[/]")
    with session_scope(store_engine()) as session:
        purchase_statuses = load_rules(settings).business.purchase_statuses
        summary = summarize(session=session, purchase_statuses=purchase_statuses)
    console.print(summary_panel(summary, ui))
    console.print(_headline(company, settings))
    _scores(company, settings)
    seconds = time.perf_counter() - started
    console.print(t("demo.done", ui).format(seconds=seconds), highlight=False)
