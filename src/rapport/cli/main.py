"""Entry point of the ``rapport`` command: one Typer app, one sub-app per noun.

Domain errors end the command with one line on stderr and the error's exit code; a
traceback is shown only with ``--debug`` (or ``RAPPORT_DEBUG=1``).
"""

from __future__ import annotations

import json
import sys
from typing import Annotated

import sqlalchemy as sa
import tomli_w
import typer
from rich.markup import escape
from rich.table import Table

from rapport import __version__
from rapport.cli.analytics import export_command
from rapport.cli.common import console, err_console, store_engine
from rapport.cli.imports import import_command
from rapport.cli.metrics import metrics_command
from rapport.cli.models import models_app
from rapport.cli.predictions import at_risk_command, clv_command
from rapport.cli.sample import demo_command, sample_command
from rapport.cli.scores import (
    clusters_command,
    customer_command,
    diamonds_command,
    movements_command,
    relations_command,
    score_command,
    segments_command,
    stages_command,
    tiers_command,
)
from rapport.cli.serve import serve_command
from rapport.cli.users import users_app
from rapport.config import get_settings, load_rules, rules_file
from rapport.errors import RapportError
from rapport.store import loyalty, session_scope
from rapport.store.db import current_revision, ensure_initialised, head_revision, upgrade
from rapport.store.schema import TABLES

app = typer.Typer(
    name="rapport",
    help="Rapport (客情): customer relationship intelligence.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
config_app = typer.Typer(help="Show the effective configuration.", no_args_is_help=True)
app.add_typer(config_app, name="config")
app.add_typer(users_app, name="users")
app.command("serve")(serve_command)
app.command("import")(import_command)
app.command("sample")(sample_command)
app.command("demo")(demo_command)
app.command("export")(export_command)
app.command("metrics")(metrics_command)
app.command("score")(score_command)
app.command("customer")(customer_command)
app.command("segments")(segments_command)
app.command("tiers")(tiers_command)
app.command("stages")(stages_command)
app.command("diamonds")(diamonds_command)
app.command("clusters")(clusters_command)
app.command("relations")(relations_command)
app.command("movements")(movements_command)
app.add_typer(models_app, name="models")
app.command("clv")(clv_command)
app.command("at-risk")(at_risk_command)

EXIT_INTERNAL = 70


def _version(value: bool) -> None:
    if value:
        console.print(f"rapport {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False,
) -> None:
    """Rapport (客情): customer relationship intelligence."""


@app.command()
def init() -> None:
    """Create the database, or migrate it to the current schema version."""
    settings = get_settings()
    engine = store_engine(require_current=False, create=True)
    before = current_revision(engine)
    upgrade(engine)
    with session_scope(engine) as session:
        loyalty.sync_tiers(session=session, rules=load_rules(settings).loyalty)
    after = current_revision(engine)
    if before is None:
        what = "created"
    elif before == after:
        what = "already current"
    else:
        what = f"migrated from {before}"
    console.print(
        f"[green]✓[/] database {settings.safe_database_url()} at schema version {after} ({what})"
    )


@app.command()
def status(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Row counts per table and the schema version (exit code 4 when there is no store)."""
    settings = get_settings()
    engine = store_engine(require_current=False)
    version = ensure_initialised(engine)
    counts: dict[str, int | None] = {}
    with engine.connect() as conn:
        existing = set(sa.inspect(conn).get_table_names())
        for table in sorted(TABLES, key=lambda t: t.name):
            counts[table.name] = (
                conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
                if table.name in existing
                else None
            )
    head = head_revision(engine)
    if as_json:
        payload = {
            "database": settings.safe_database_url(),
            "backend": engine.dialect.name,
            "schema_version": version,
            "schema_head": head,
            "tables": counts,
        }
        console.print_json(json.dumps(payload))
        return
    state = f"{version}" if version == head else f"[yellow]{version} (head is {head})[/]"
    console.print(f"database: {settings.safe_database_url()}  ({engine.dialect.name})")
    console.print(f"schema version: {state}")
    table = Table("table", "rows", title="Rows per table")
    for name, count in counts.items():
        table.add_row(name, "—" if count is None else f"{count:,}")
    console.print(table)


@config_app.command("show")
def config_show(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of TOML.")] = False,
) -> None:
    """Print the effective settings and business rules (secrets masked)."""
    settings = get_settings()
    rules = load_rules(settings)
    source = rules_file(settings)
    data = {
        "settings": {
            **settings.model_dump(mode="json", exclude={"secret_key", "database_url"}),
            "database_url": settings.safe_database_url(),
            "secret_key": "***",
            "rules_file": str(source) if source else "(packaged defaults)",
        },
        "rules": rules.model_dump(mode="json"),
    }
    data["settings"] = {k: v for k, v in data["settings"].items() if v is not None}
    # Plain text, never wrapped or styled: the output is meant to be redirected to a file.
    if as_json:
        typer.echo(json.dumps(data, ensure_ascii=False, indent=2))
    else:
        typer.echo(tomli_w.dumps(data), nl=False)


def run() -> None:
    """Console-script entry point: runs the app and maps errors to exit codes."""
    debug = "--debug" in sys.argv[1:]
    try:
        debug = debug or get_settings().debug
        app()
    except RapportError as exc:
        if debug:
            raise
        where = f" [{exc.location}]" if exc.location else ""
        err_console.print(f"[red]error:[/] {escape(f'{exc}{where}')}", highlight=False)
        sys.exit(exc.exit_code)
    except sa.exc.OperationalError as exc:
        if debug:
            raise
        reason = str(exc.orig).splitlines()[0]
        err_console.print(
            f"[red]error:[/] {escape(f'database unavailable: {reason}')}", highlight=False
        )
        sys.exit(4)
    except Exception as exc:  # the last line of defence: one line, no traceback
        if debug:
            raise
        what = f"{type(exc).__name__}: {exc} (run with --debug for details)"
        err_console.print(f"[red]internal error:[/] {escape(what)}", highlight=False)
        sys.exit(EXIT_INTERNAL)


if __name__ == "__main__":
    run()
