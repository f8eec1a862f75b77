"""``rapport worker``: the daily pipeline at its hour, and the outbox all the time.

Without ``--once`` the worker runs until stopped (Ctrl+C, SIGTERM): every ``[messages]
poll_seconds`` it sends the due messages, and when a day's run is due it runs the pipeline
(:mod:`rapport.actions.scheduler`). With ``--once`` it runs the days due now (or ``--day``)
and one pass of messages, then exits: 0 when every step ran, 1 when one failed, 6 when
another process holds the pipeline's lease (``--wait`` waits for it).
"""

from __future__ import annotations

import json
import signal
import threading
from enum import StrEnum
from typing import Annotated, Any

import typer

from rapport.cli.output import Column
from rapport.errors import Conflict


class OutputFormat(StrEnum):
    """How a run is shown: a table per day for people, or one JSON document."""

    table = "table"
    json = "json"


def _print_run(run: Any, locale: str, output: OutputFormat) -> None:
    from rapport.cli.common import console, err_console
    from rapport.cli.output import render_table
    from rapport.i18n.worker import text

    if output == OutputFormat.json:
        doc = {
            "ran": run.ran,
            "days": [
                {
                    "day": d.day.isoformat(),
                    "steps": d.steps,
                    "summaries": d.summaries,
                    "error": d.error,
                }
                for d in run.days
            ],
            "skipped": [d.isoformat() for d in run.skipped],
            "failed": run.failed,
            "lost_lease": run.lost_lease,
        }
        typer.echo(json.dumps(doc, ensure_ascii=False, indent=2, default=str))
    else:
        for day in run.days:
            rows = [
                {
                    "step": name,
                    "outcome": text(f"step_{outcome}", locale),
                    "summary": json.dumps(day.summaries.get(name, {}), ensure_ascii=False),
                }
                for name, outcome in day.steps.items()
            ]
            columns = [
                Column("step", text("step", locale)),
                Column("outcome", text("outcome", locale)),
                Column("summary", text("summary", locale), keep=1, min_width=20),
            ]
            title = text("day_title", locale, day=day.day.isoformat())
            console.print(render_table(rows, columns, title=title, locale=locale))
        if run.ran and not run.days:
            console.print(text("nothing_to_run", locale), highlight=False)
    if run.skipped:
        first, last = run.skipped[0].isoformat(), run.skipped[-1].isoformat()
        note = text("skipped", locale, count=len(run.skipped), first=first, last=last)
        err_console.print(f"[yellow]{note}[/]", highlight=False)
    if run.failed:
        error = run.days[-1].error if run.days else ""
        err_console.print(f"[red]{text('failed', locale, step=run.failed, error=error)}[/]")
    if run.lost_lease:
        err_console.print(f"[red]{text('lost_lease', locale)}[/]")


def _busy(run: Any) -> Conflict:
    held = run.held_by
    holder = held.holder if held else "?"
    until = held.expires_at.isoformat() if held else "?"
    return Conflict(
        "another process ({holder}) is running the daily pipeline, its lease until {until}",
        table="store_locks",
        hint="wait for it to finish, or pass --wait SECONDS",
        key="pipeline_busy",
        params={"holder": holder, "until": until},
    )


def worker_command(
    once: Annotated[
        bool, typer.Option("--once", help="Run what is due now (and send messages), then exit.")
    ] = False,
    day: Annotated[
        str | None,
        typer.Option("--day", help="Run the pipeline of this local day, e.g. 2026-03-02."),
    ] = None,
    catch_up_days: Annotated[
        int | None,
        typer.Option(
            "--catch-up-days",
            min=1,
            max=366,
            help="Catch up at most this many missed days (default: schedule.catch_up_days).",
        ),
    ] = None,
    wait: Annotated[
        float,
        typer.Option("--wait", min=0, help="Seconds to wait when another process runs it."),
    ] = 0.0,
    output: Annotated[
        OutputFormat, typer.Option("--format", help="table (for people) or json (for scripts).")
    ] = OutputFormat.table,
) -> None:
    """The daily pipeline at its configured hour, and the outbox's messages.

    The steps (score, playbooks, alerts, tasks expiry, messages) run once per local day at
    the rules' schedule.daily_at; missed days are caught up in order; one process runs
    them at a time.
    """
    from rapport.actions.delivery import deliver
    from rapport.actions.scheduler import run_pipeline
    from rapport.cli.common import store_engine
    from rapport.cli.scores import parse_date
    from rapport.config import get_settings

    settings = get_settings()
    locale = settings.locale
    store_engine().dispose()  # the store exists and is current
    the_day = parse_date(day, "--day")
    if once or the_day is not None:
        run = run_pipeline(settings, day=the_day, catch_up_days=catch_up_days, wait_seconds=wait)
        if not run.ran:
            raise _busy(run)
        _print_run(run, locale, output)
        if run.ok:
            deliver(settings)
        if not run.ok:
            raise typer.Exit(1)
        return
    _loop(settings, catch_up_days, output)


def reporter(settings: Any, output: OutputFormat = OutputFormat.table) -> Any:
    """What the worker's loop says as it goes (stderr; a run's table or JSON on stdout)."""
    from rich.markup import escape

    from rapport.cli.common import err_console
    from rapport.i18n.errors import error_text
    from rapport.i18n.worker import text

    locale = settings.locale

    def report(kind: str, what: Any) -> None:
        if kind == "pipeline":
            if what.ran:
                _print_run(what, locale, output)
            else:
                busy = error_text(_busy(what), locale)
                err_console.print(f"[yellow]{escape(busy)}[/]", highlight=False)
        elif kind == "messages":
            counts = {k: what.as_dict()[k] for k in ("sent", "retried", "dead")}
            err_console.print(text("messages_sent", locale, **counts), highlight=False)
        else:
            failed = text("pass_failed", locale, error=what)
            err_console.print(f"[red]{escape(failed)}[/]", highlight=False)

    return report


def started_line(settings: Any) -> str:
    """The line the worker starts with: when it runs the pipeline, how often it sends."""
    from rapport.config import load_rules
    from rapport.i18n.worker import text

    rules = load_rules(settings)
    return text(
        "started",
        settings.locale,
        daily_at=rules.schedule.daily_at,
        tz=settings.timezone,
        poll=rules.messages.poll_seconds,
    )


def _loop(settings: Any, catch_up_days: int | None, output: OutputFormat) -> None:
    from rapport.actions.worker import work
    from rapport.cli.common import err_console
    from rapport.i18n.worker import text

    stop = threading.Event()

    def on_signal(signum: int, frame: Any) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    err_console.print(started_line(settings), highlight=False)
    work(settings, stop=stop, report=reporter(settings, output), catch_up_days=catch_up_days)
    err_console.print(text("stopped", settings.locale), highlight=False)
