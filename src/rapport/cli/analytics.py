"""``rapport export``: the store's canonical tables as Parquet, for the parquet and spark
engines (``RAPPORT_PARQUET_DIR``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from rapport.analytics.connect import export_parquet
from rapport.cli.common import console, store_engine
from rapport.config import get_settings


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
    store_engine().dispose()  # the schema must be current before anything is read
    with console.status(f"exporting to {to} …"):
        rows = export_parquet(settings, to, _table_names(tables))
    table = Table("table", "rows", title=f"Parquet in {to}")
    for name, count in rows.items():
        table.add_row(name, f"{count:,}")
    console.print(table)
    console.print(f"[green]✓[/] wrote {len(rows)} tables, {sum(rows.values()):,} rows to {to}")
    console.print(f"read them with RAPPORT_ENGINE=parquet RAPPORT_PARQUET_DIR={to}", style="dim")
