"""``rapport report``: the monthly management report 月度客户关系报告 as a PDF, HTML or XLSX
file.

The figures are :func:`rapport.reports.monthly.monthly_report` (with
:func:`~rapport.reports.monthly.month_metrics` on the analytics engine), the file
:func:`rapport.reports.monthly_render.render`; this command parses the options, calls them
and writes the file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from rapport.cli.common import console
from rapport.cli.options import EngineOption
from rapport.cli.scores import store_session
from rapport.config import get_settings, load_rules
from rapport.i18n.locale import pick, requested_locale


def report_command(
    month: Annotated[str, typer.Option(help="The month, e.g. 2026-11.")],
    fmt: Annotated[str, typer.Option("--format", help="pdf, html or xlsx.")] = "pdf",
    out: Annotated[
        Path | None,
        typer.Option("--out", help="File to write (default: rapport-monthly-MONTH.FORMAT)."),
    ] = None,
    lang: Annotated[
        str | None, typer.Option("--lang", help="zh_CN or en (default: RAPPORT_LOCALE).")
    ] = None,
    engine: EngineOption = None,
) -> None:
    """The monthly management report: what changed in the month, for whom,
    against the month before, as a PDF, HTML or XLSX file.

    The month needs a score snapshot dated in it (the latest is used); it is compared with
    the latest snapshot before the month. The metrics cover the calendar month and the
    month before it.
    """
    from rapport.reports import monthly
    from rapport.reports.monthly_render import check_format, file_name, render

    settings = get_settings()
    check_format(fmt)
    locale = settings.locale if lang is None else requested_locale(lang, option="--lang")
    rules = load_rules(settings)
    with store_session() as session:
        # Refuse a month without a snapshot before the engine runs.
        from rapport.store.scores import snapshot_dates

        monthly.report_snapshots(snapshot_dates(session=session), month)
    metrics = monthly.month_metrics(settings, rules, month, engine=engine)
    with store_session() as session:
        report = monthly.monthly_report(
            session, month=month, rules=rules, locale=locale, metrics=metrics
        )
    data = render(report, fmt, locale=locale, tz=settings.tz)
    target = out if out is not None else Path(file_name(report, fmt))
    target.write_bytes(data)
    console.print(
        pick(("已写入 {path}（{size:,} 字节）", "Wrote {path} ({size:,} bytes)"), locale).format(
            path=target, size=len(data)
        ),
        highlight=False,
    )
