"""``rapport import ENTITY FILE``: load a file into the store, with a report that adds up."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from rapport.cli.common import console, err_console, store_engine
from rapport.ingest.entities import ENTITIES
from rapport.ingest.importer import Mapping, import_file
from rapport.ingest.report import ImportReport

EXIT_REJECTED = 2


def print_report(report: ImportReport) -> None:
    table = Table(title=f"import {report.entity} ← {report.file}", show_header=False)
    table.add_column(style="bold")
    table.add_column(justify="right")
    for label in ("read", "inserted", "updated", "unchanged", "rejected", "warnings"):
        table.add_row(label, f"{getattr(report, label):,}")
    table.add_row("rows/s", f"{report.rows_per_second:,.0f}")
    console.print(table)
    details = f"format {report.format}"
    if report.encoding:
        details += f", encoding {report.encoding}"
    console.print(details + (" — dry run, nothing written" if report.dry_run else ""))
    if report.unknown_columns:
        console.print(
            "columns without a field (kept in extra where the entity has one): "
            + ", ".join(report.unknown_columns)
        )
    for field, value in report.defaults.items():
        console.print(f"{field}: not in the file, filled with {value}", highlight=False)
    if report.reject_file:
        console.print(f"[yellow]rejected rows written to {report.reject_file}[/]")
        for reason, count in list(report.reject_reasons.items())[:10]:
            console.print(f"  {count:>8,}  {reason}", highlight=False)
    if report.warning_file:
        console.print(
            f"[yellow]values dropped from kept rows (stored without them) listed in "
            f"{report.warning_file}[/]"
        )
        for reason, count in list(report.warning_reasons.items())[:10]:
            console.print(f"  {count:>8,}  {reason}", highlight=False)


def import_command(
    entity: Annotated[str, typer.Argument(help=f"One of: {', '.join(ENTITIES)}.")],
    file: Annotated[Path, typer.Argument(help="CSV/TSV, XLSX, Parquet or JSON Lines file.")],
    mapping: Annotated[
        Path | None,
        typer.Option(
            "--mapping",
            help="TOML file: [columns] header = field; [values] field = one value for all rows.",
        ),
    ] = None,
    sheet: Annotated[str | None, typer.Option("--sheet", help="XLSX sheet (default all).")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Check only; write nothing.")] = False,
    strict: Annotated[
        bool,
        typer.Option(
            "--strict",
            help="Reject rows with a bad optional value too (instead of dropping the value "
            "with a warning), and exit 2 if any row is rejected.",
        ),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    batch_rows: Annotated[int, typer.Option("--batch-rows", min=1)] = 100_000,
    rejects: Annotated[
        Path | None, typer.Option("--rejects", help="Where to write rejected rows.")
    ] = None,
) -> None:
    """Import FILE as ENTITY: validated, idempotent, every row accounted for."""
    engine = store_engine()
    mapping_obj = Mapping.load(mapping) if mapping else None
    show_progress = not as_json and err_console.is_terminal
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        DownloadColumn(),
        TextColumn("{task.fields[rows]:,} rows · {task.fields[rate]:,.0f} rows/s"),
        TimeElapsedColumn(),
        console=err_console,
        disable=not show_progress,
        transient=True,
    ) as progress:
        task = progress.add_task(
            f"import {entity}",
            total=file.stat().st_size if file.is_file() else None,
            rows=0,
            rate=0.0,
        )

        def on_progress(rows: int, done: int, total: int) -> None:
            elapsed = progress.tasks[task].elapsed or 1e-9
            progress.update(task, completed=done or None, rows=rows, rate=rows / elapsed)

        report = import_file(
            entity,
            file,
            engine=engine,
            mapping=mapping_obj,
            sheet=sheet,
            dry_run=dry_run,
            batch_rows=batch_rows,
            reject_path=rejects,
            progress=on_progress,
            strict=strict,
        )
    if as_json:
        console.print_json(json.dumps(report.to_dict(), ensure_ascii=False))
    else:
        print_report(report)
    if strict and report.rejected:
        raise typer.Exit(EXIT_REJECTED)
