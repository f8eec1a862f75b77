"""``rapport import ENTITY FILE``: load a file into the store, with a report that adds up."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
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
from rapport.config import get_settings
from rapport.i18n.labels import t
from rapport.ingest.entities import ENTITIES
from rapport.ingest.importer import Mapping, import_file
from rapport.ingest.report import ImportReport

EXIT_REJECTED = 2


def print_report(report: ImportReport, locale: str | None = None) -> None:
    """The import report for people, in ``locale`` (default: the configured one)."""
    from rapport.i18n.reasons import localize_reason

    locale = locale or get_settings().locale
    name = Path(report.file).name
    title = t("import.title", locale).format(entity=t(report.entity, locale), file=name)
    table = Table(title=title, show_header=False)
    table.add_column(style="bold")
    table.add_column(justify="right")
    for key in ("read", "inserted", "updated", "unchanged", "rejected", "warnings"):
        table.add_row(
            t("import.warnings" if key == "warnings" else key, locale), f"{getattr(report, key):,}"
        )
    table.add_row(t("rows_per_second", locale), f"{report.rows_per_second:,.0f}")
    console.print(table)
    details = t("import.format", locale).format(format=report.format)
    if report.encoding:
        details += t("import.encoding", locale).format(encoding=report.encoding)
    console.print(
        details + (t("import.dry_run", locale) if report.dry_run else ""), highlight=False
    )
    sep = "、" if locale.startswith("zh") else ", "
    if report.unknown_columns:
        columns = sep.join(report.unknown_columns)
        console.print(
            escape(t("import.unknown_columns", locale).format(columns=columns)), highlight=False
        )
    for field, value in report.defaults.items():
        text = t("import.default", locale).format(field=field, value=value)
        console.print(escape(text), highlight=False)
    if report.reject_file:
        console.print(
            f"[yellow]{escape(t('import.rejects_file', locale).format(path=report.reject_file))}[/]"
        )
        for reason, count in list(report.reject_reasons.items())[:10]:
            console.print(
                f"  {count:>8,}  {escape(localize_reason(reason, locale))}", highlight=False
            )
    if report.warning_file:
        text = t("import.warnings_file", locale).format(path=report.warning_file)
        console.print(f"[yellow]{escape(text)}[/]")
        for reason, count in list(report.warning_reasons.items())[:10]:
            console.print(
                f"  {count:>8,}  {escape(localize_reason(reason, locale))}", highlight=False
            )


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
    locale = get_settings().locale
    mapping_obj = Mapping.load(mapping) if mapping else None
    show_progress = not as_json and err_console.is_terminal
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        DownloadColumn(),
        TextColumn(
            f"{{task.fields[rows]:,}} {t('rows', locale)} · "
            f"{{task.fields[rate]:,.0f}} {t('rows_per_second', locale)}"
        ),
        TimeElapsedColumn(),
        console=err_console,
        disable=not show_progress,
        transient=True,
    ) as progress:
        task = progress.add_task(
            f"{t('import', locale)} {t(entity, locale)}",
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
