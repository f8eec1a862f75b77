"""``rapport playbooks``: the action loop's playbooks, their daily run and measured effect.

``list`` shows every playbook (built-in, of the rules file, of the API) with whether it
runs, its trigger, actions and enrolments; ``show CODE`` its definition and versions;
``run [--day D] [--dry-run]`` evaluates every enabled playbook for a day
(:func:`rapport.actions.engine.run_day`: enrols with holdouts and acts; a rerun of the same
day does nothing more) and then measures the outcomes whose window ended
(:func:`rapport.actions.outcomes.measure_outcomes`); ``--dry-run`` writes nothing and prints
the same figures. ``effect [CODE]`` is the measured effect, treated against held out
(:mod:`rapport.actions.effect_report`).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated, Any

import typer

from rapport.cli.output import Column, FormatOption, OutputFormat, emit

playbooks_app = typer.Typer(
    help="Playbooks: trigger → audience → eligibility → actions → outcome, run every day, "
    "their effect measured against a holdout.",
    no_args_is_help=True,
)

DayOption = Annotated[
    dt.datetime | None,
    typer.Option("--day", formats=["%Y-%m-%d"], help="The business day (local; default today)."),
]


def _locale() -> str:
    from rapport.config import get_settings

    return get_settings().locale


@playbooks_app.command("list")
def list_command(output: FormatOption = OutputFormat.table) -> None:
    """Every playbook, by priority: whether it runs, its trigger, actions and enrolments."""
    from rapport.actions.playbook_registry import overview
    from rapport.cli.common import store_engine
    from rapport.config import load_rules
    from rapport.i18n.playbooks import text
    from rapport.store.db import session_scope

    locale = _locale()
    engine = store_engine()
    try:
        with session_scope(engine) as session:
            rows = overview(session=session, rules=load_rules())
    finally:
        engine.dispose()
    for row in rows:
        row["name"] = row["name_zh"] if locale.startswith("zh") else row["name_en"]
    columns = [
        Column("code", text("playbooks.code", locale)),
        Column("name", text("playbooks.name", locale), keep=5),
        Column("enabled", text("playbooks.enabled", locale)),
        Column("source", text("playbooks.source", locale), keep=2),
        Column("version", text("playbooks.version", locale), numeric=True, keep=1),
        Column("trigger", text("playbooks.trigger", locale), keep=4),
        Column("actions", text("playbooks.actions", locale), keep=3),
        Column("outcome", text("playbooks.outcome", locale), keep=2),
        Column("enrolled", text("playbooks.enrolled", locale), numeric=True),
    ]
    emit(
        rows, columns, output, title=text("playbooks.title", locale), locale=locale, key="playbooks"
    )


@playbooks_app.command("show")
def show_command(
    code: Annotated[str, typer.Argument(help="The playbook's code (rapport playbooks list).")],
    output: FormatOption = OutputFormat.table,
) -> None:
    """A playbook's definition (JSON) and its versions."""
    from rapport.actions.playbook_registry import detail
    from rapport.cli.common import console, store_engine
    from rapport.cli.output import plain
    from rapport.config import load_rules
    from rapport.store.db import session_scope

    engine = store_engine()
    try:
        with session_scope(engine) as session:
            found = detail(session=session, rules=load_rules(), code=code)
    finally:
        engine.dispose()
    if output != OutputFormat.table:
        typer.echo(json.dumps(found, ensure_ascii=False, indent=2, default=plain))
        return
    head = {k: found[k] for k in ("code", "enabled", "source", "version")}
    console.print(json.dumps(head, ensure_ascii=False))
    console.print_json(json.dumps(found["definition"], ensure_ascii=False, default=str))
    for version in found["versions"]:
        console.print(
            f"v{version['version']}  {plain(version['created_at'])}  {version['created_by']}"
        )


def _run_columns(locale: str) -> list[Column]:
    from rapport.i18n.playbooks import text

    keys = [
        ("triggered", 0),
        ("in_audience", 3),
        ("already_enrolled", 2),
        ("skipped_consent", 4),
        ("skipped_no_address", 1),
        ("skipped_cooldown", 3),
        ("skipped_cap", 3),
        ("eligible", 0),
        ("treated", 0),
        ("held_out", 0),
        ("control", 1),
        ("tasks", 2),
        ("messages", 2),
        ("rewards", 1),
        ("alerts", 1),
        ("tags", 1),
    ]
    return [Column("code", "code")] + [
        Column(key, text(f"run.{key}", locale), numeric=True, keep=keep) for key, keep in keys
    ]


@playbooks_app.command("run")
def run_command(
    day: DayOption = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Write nothing; print what the run would do.")
    ] = False,
    output: FormatOption = OutputFormat.table,
) -> None:
    """Run every enabled playbook for a day, then measure the outcomes whose window ended."""
    from rapport.actions.engine import run_day
    from rapport.actions.outcomes import measure_outcomes
    from rapport.cli.common import console, store_engine
    from rapport.config import get_settings
    from rapport.i18n.playbooks import text

    store_engine().dispose()  # a missing or outdated store: the usual error and exit code
    settings = get_settings()
    locale = settings.locale
    the_day = day.date() if day else None
    result = run_day(settings, the_day, dry_run=dry_run)
    measured = 0 if dry_run else measure_outcomes(settings, result.day)
    rows: list[dict[str, Any]] = []
    for figures in result.to_dict()["playbooks"]:
        skipped = figures.pop("skipped")
        rows.append(figures | {f"skipped_{k}": v for k, v in skipped.items()})
    title = text(
        "run.title",
        locale,
        day=result.day.isoformat(),
        dry=text("run.dry", locale) if dry_run else "",
    )
    caption = text(
        "run.snapshots",
        locale,
        previous=result.previous_snapshot or "—",
        latest=result.latest_snapshot or "—",
        customers=result.customers,
        seconds=result.seconds,
    )
    meta = {k: v for k, v in result.to_dict().items() if k != "playbooks"} | {"measured": measured}
    emit(
        rows,
        _run_columns(locale),
        output,
        title=title,
        caption=caption,
        locale=locale,
        key="playbooks",
        meta=meta,
    )
    if output == OutputFormat.table and not dry_run:
        console.print(text("run.measured", locale, count=measured))


@playbooks_app.command("effect")
def effect_command(
    code: Annotated[str | None, typer.Argument(help="One playbook (default: all).")] = None,
    start: Annotated[
        dt.datetime | None,
        typer.Option("--start", formats=["%Y-%m-%d"], help="First run day counted."),
    ] = None,
    end: Annotated[
        dt.datetime | None,
        typer.Option("--end", formats=["%Y-%m-%d"], help="Last run day counted."),
    ] = None,
    output: FormatOption = OutputFormat.table,
) -> None:
    """The measured effect of each playbook: treated against held out, with 95 % intervals."""
    from rapport.actions.effect_report import effect_report
    from rapport.cli.common import store_engine
    from rapport.config import get_settings
    from rapport.i18n.playbooks import text

    store_engine().dispose()
    settings = get_settings()
    locale = settings.locale
    reports = effect_report(settings, code, start=start and start.date(), end=end and end.date())
    rows = []
    for report in reports:
        effect = report.effect.to_dict()
        interval = effect["rate_difference_interval"]
        rows.append(
            {
                "code": report.code,
                "treated": effect["treated"]["customers"],
                "holdout": effect["holdout"]["customers"],
                "treated_rate": effect["treated"]["rate"],
                "holdout_rate": effect["holdout"]["rate"],
                "uplift": effect["rate_difference"],
                "uplift_low": interval and interval["low"],
                "uplift_high": interval and interval["high"],
                "incremental_revenue": effect["incremental_revenue"],
                "cost": effect["cost"],
                "net_return": effect["net_return"],
            }
        )

    def pct(value: Any) -> str:
        return "—" if value is None else f"{value:.1%}"

    def uplift(row: dict[str, Any]) -> str:
        if row["uplift"] is None:
            return "—"
        if row["uplift_low"] is None:
            return f"{row['uplift']:+.1%}"
        return f"{row['uplift']:+.1%} [{row['uplift_low']:+.1%}, {row['uplift_high']:+.1%}]"

    for row in rows:
        row["uplift_text"] = uplift(row)
    columns = [
        Column("code", "code"),
        Column("treated", text("effect.treated", locale), numeric=True),
        Column("holdout", text("effect.holdout", locale), numeric=True),
        Column("treated_rate", text("effect.treated_rate", locale), text=pct, keep=2),
        Column("holdout_rate", text("effect.holdout_rate", locale), text=pct, keep=2),
        Column("uplift_text", text("effect.uplift", locale)),
        Column(
            "incremental_revenue", text("effect.incremental_revenue", locale), numeric=True, keep=3
        ),
        Column("cost", text("effect.cost", locale), numeric=True, keep=1),
        Column("net_return", text("effect.net_return", locale), numeric=True, keep=3),
    ]
    if output == OutputFormat.json:
        typer.echo(
            json.dumps({"playbooks": [r.to_dict() for r in reports]}, ensure_ascii=False, indent=2)
        )
        return
    emit(rows, columns, output, title=text("effect.title", locale), locale=locale, key="playbooks")
