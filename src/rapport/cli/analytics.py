"""``rapport export``: the store's canonical tables as Parquet, for the parquet and spark
engines (``RAPPORT_PARQUET_DIR``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from rapport.analytics.connect import export_parquet
from rapport.cli.common import console, store_engine
from rapport.config import get_settings
from rapport.i18n.labels import t


def _table_names(tables: str | None) -> list[str] | None:
    if tables is None:
        return None
    return [name.strip() for name in tables.split(",") if name.strip()]


def export_command(
    to: Annotated[
        Path,
        typer.Option(
            "--to", help="Directory to write <table>.parquet files into.", show_default=False
        ),
    ],
    tables: Annotated[
        str | None,
        typer.Option(
            "--tables",
            help="Comma-separated tables to export, e.g. orders,customers (default: all).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Write the store's canonical tables as Parquet (naive UTC times, float money)."""
    settings = get_settings()
    locale = settings.locale
    store_engine().dispose()  # the schema must be current before anything is read
    with console.status(t("export.exporting", locale).format(to=to)):
        rows = export_parquet(settings, to, _table_names(tables))
    table = Table(
        t("table", locale), t("rows", locale), title=t("export.title", locale).format(to=to)
    )
    for name, count in rows.items():
        table.add_row(name, f"{count:,}")
    console.print(table)
    done = t("export.done", locale).format(tables=len(rows), rows=sum(rows.values()), to=to)
    console.print(f"[green]✓[/] {escape(done)}", highlight=False)
    console.print(escape(t("export.read_them", locale).format(to=to)), style="dim", highlight=False)
