"""Entry point of the ``rapport`` command: one Typer app, one sub-app per noun.

Domain errors end the command with one line on stderr and the error's exit code; a
traceback is shown only with ``--debug`` (or ``RAPPORT_DEBUG=1``).
"""

from __future__ import annotations

import sys
from typing import Annotated, Literal

import typer

import rapport
from rapport.cli.lazy import LazyCommand, LazyGroup
from rapport.errors import RapportError

# Every command that lives in its own module, in the order of `rapport --help`, with the
# first paragraph of its help on one line. The module is imported only when the command runs
# (or its own --help is asked for): importing them all took seconds (SQLAlchemy, Ibis,
# DuckDB, Polars…) before `rapport --version` could answer. A new command is one entry here;
# tests/cli/test_startup.py checks the help line against the command's own help.
COMMANDS: dict[str, LazyCommand] = {
    "serve": LazyCommand(
        "rapport.cli.serve:serve_command",
        "Run the REST API (OpenAPI and interactive docs at /docs).",
    ),
    "import": LazyCommand(
        "rapport.cli.imports:import_command",
        "Import FILE as ENTITY: validated, idempotent, every row accounted for.",
    ),
    "sample": LazyCommand(
        "rapport.cli.sample:sample_command",
        "A sample company: synthetic (documented latent model) or the real CDNOW data.",
    ),
    "demo": LazyCommand(
        "rapport.cli.sample:demo_command",
        "The main job on embedded defaults: create the store, build the sample company, "
        "import it and show what Rapport knows about it.",
    ),
    "export": LazyCommand(
        "rapport.cli.analytics:export_command",
        "Write the store's canonical tables as Parquet (naive UTC times, float money).",
    ),
    "metrics": LazyCommand(
        "rapport.cli.metrics:metrics_command",
        "Metrics of docs/metrics.md with their inputs (numerator, denominator), traceable to the "
        "definition id.",
    ),
    "cohorts": LazyCommand(
        "rapport.cli.analyses:cohorts_command",
        "Cohort retention: buyers by month of first purchase and the share buying again in "
        "each month after (同期群留存).",
    ),
    "funnel": LazyCommand(
        "rapport.cli.analyses:funnel_command",
        "Conversion funnel of the leads created in the period: converted, first purchase, "
        "repeat purchase (转化漏斗).",
    ),
    "score": LazyCommand(
        "rapport.cli.scores:score_command",
        "Compute every customer's scores as of the end of a local day (default: the last day "
        "with data, or today) and store them as that date's snapshot (replacing it; other "
        "dates are kept).",
    ),
    "customer": LazyCommand(
        "rapport.cli.customer:customer_command",
        "The customer 360 card: profile, timeline, four degrees with their components, RFM, "
        "value tier with the reason, lifecycle stage, changes since the previous snapshot.",
    ),
    "segments": LazyCommand(
        "rapport.cli.scores:segments_command",
        "RFM segments of a snapshot: sizes, revenue share, average degrees.",
    ),
    "tiers": LazyCommand(
        "rapport.cli.scores:tiers_command",
        "Value tiers of a snapshot: sizes, revenue share, average degrees.",
    ),
    "stages": LazyCommand(
        "rapport.cli.scores:stages_command",
        "Lifecycle stages of a snapshot: sizes, revenue share, average degrees.",
    ),
    "diamonds": LazyCommand(
        "rapport.cli.scores:diamonds_command",
        "The diamond customers (钻石客户) of a snapshot, highest window revenue first, with "
        "the checks that make them diamond.",
    ),
    "clusters": LazyCommand(
        "rapport.cli.clusters:clusters_command",
        "Behavioural clusters of a snapshot (k-means on standardized behaviour, k by the best "
        "silhouette over 2..8): size, share and distinguishing features of each cluster, and "
        "its customers by age band, gender, city and income band.",
    ),
    "relations": LazyCommand(
        "rapport.cli.relations:relations_command",
        "How the four degrees relate in a snapshot: their correlation matrix and, along "
        "satisfaction → loyalty → engagement → advocacy, the share of each degree's high "
        "scorers that are high on the next, beside the base rate.",
    ),
    "movements": LazyCommand(
        "rapport.cli.scores:movements_command",
        "Who moved between tiers, stages or segments from one snapshot to another (default: "
        "the two latest).",
    ),
    "models": LazyCommand(
        "rapport.cli.models:models_app",
        "Predictive models: CLV (BG/NBD, Pareto/NBD, Gamma-Gamma), churn, demand.",
    ),
    "demand": LazyCommand(
        "rapport.cli.analyses:demand_command",
        "Demand forecast per product category: orders in the next weeks, from the model "
        "`rapport models fit` saves (需求预测).",
    ),
    "clv": LazyCommand(
        "rapport.cli.predictions:clv_command",
        "The customers with the highest predicted CLV (from the latest snapshot).",
    ),
    "at-risk": LazyCommand(
        "rapport.cli.predictions:at_risk_command",
        "The churn warnings 流失预警: who to call first (by value at risk), and why.",
    ),
    "report": LazyCommand(
        "rapport.cli.report:report_command",
        "The monthly management report: what changed in the month, for whom, against the "
        "month before, as a PDF, HTML or XLSX file.",
    ),
    "loyalty": LazyCommand(
        "rapport.cli.loyalty:loyalty_app",
        "The loyalty programme's points: earned from orders by rule, bonuses, and their expiry.",
    ),
    "outbox": LazyCommand(
        "rapport.cli.outbox:outbox_app",
        "The outbox: messages waiting to leave, sent, retried or dead.",
    ),
    "worker": LazyCommand(
        "rapport.cli.worker:worker_command",
        "The daily pipeline at its configured hour, and the outbox's messages.",
    ),
    "playbooks": LazyCommand(
        "rapport.cli.playbooks:playbooks_app",
        "Playbooks: trigger → audience → eligibility → actions → outcome, run every day, "
        "their effect measured against a holdout.",
    ),
    "users": LazyCommand(
        "rapport.cli.users:users_app",
        "Staff accounts (roles, passwords) and API tokens for integrations.",
    ),
    "audit": LazyCommand(
        "rapport.cli.audit:audit_command",
        "The audit log, newest first: who did what to which record, when and from where.",
    ),
    "tasks": LazyCommand(
        "rapport.cli.tasks:tasks_app",
        "Tasks for staff: calls, visits, gifts — listed, done, skipped, added, expired.",
    ),
    "alerts": LazyCommand(
        "rapport.cli.alerts:alerts_app",
        "Alerts for staff: raised each day, acknowledged, resolved.",
    ),
}


class RapportGroup(LazyGroup):
    """The ``rapport`` group: :data:`COMMANDS` imported on use, then ``init``, ``status``…"""

    lazy_commands = COMMANDS


app = typer.Typer(
    name="rapport",
    help="Rapport (客情): customer relationship intelligence.",
    cls=RapportGroup,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
config_app = typer.Typer(help="Show the effective configuration.", no_args_is_help=True)
app.add_typer(config_app, name="config")

EXIT_INTERNAL = 70


def _version(value: bool) -> None:
    if value:
        typer.echo(f"rapport {rapport.__version__}")
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
    from rapport.cli.common import console, store_engine
    from rapport.config import get_settings, load_rules
    from rapport.i18n.labels import t
    from rapport.store import loyalty, session_scope
    from rapport.store.customers import search_index_missing
    from rapport.store.db import current_revision, upgrade

    settings = get_settings()
    engine = store_engine(require_current=False, create=True)
    before = current_revision(engine)
    upgrade(engine)
    with session_scope(engine) as session:
        loyalty.sync_tiers(session=session, rules=load_rules(settings).loyalty)
    after = current_revision(engine)
    locale = settings.locale
    if before is None:
        what = t("init.created", locale)
    elif before == after:
        what = t("init.current", locale)
    else:
        what = t("init.migrated", locale).format(before=before)
    text = t("init.done", locale).format(url=settings.safe_database_url(), version=after, what=what)
    console.print(f"[green]✓[/] {text}", highlight=False)
    if search_index_missing(engine):
        console.print(f"[yellow]![/] {t('init.no_trigram', locale)}", highlight=False)


@app.command()
def status(
    fmt: Annotated[
        Literal["table", "json", "csv"],
        typer.Option("--format", help="table (for people), json or csv (for scripts)."),
    ] = "table",
    as_json: Annotated[bool, typer.Option("--json", help="Same as --format json.")] = False,
) -> None:
    """Row counts per table and the schema version (exit code 4 when there is no store)."""
    import json

    import sqlalchemy as sa

    from rapport.cli.common import console, store_engine
    from rapport.cli.output import Column, render_table, write_csv
    from rapport.config import get_settings
    from rapport.i18n.labels import t
    from rapport.store.db import ensure_initialised, head_revision
    from rapport.store.schema import TABLES

    settings = get_settings()
    locale = settings.locale
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
    if as_json or fmt == "json":
        payload = {
            "database": settings.safe_database_url(),
            "backend": engine.dialect.name,
            "schema_version": version,
            "schema_head": head,
            "tables": counts,
        }
        typer.echo(json.dumps(payload, ensure_ascii=False, indent=2))
        return
    rows = [{"table": name, "rows": count} for name, count in counts.items()]
    if fmt == "csv":
        write_csv(rows, ["table", "rows"])
        return
    behind = t("status.behind", locale).format(version=version, head=head)
    state = f"{version}" if version == head else f"[yellow]{behind}[/]"
    console.print(
        f"{t('database', locale)}: {settings.safe_database_url()}  ({engine.dialect.name})",
        highlight=False,
    )
    console.print(f"{t('schema_version', locale)}: {state}", highlight=False)
    columns = [
        Column("table", t("table", locale)),
        Column("rows", t("rows", locale), numeric=True),
    ]
    console.print(render_table(rows, columns, title=t("status_title", locale), locale=locale))


@config_app.command("show")
def config_show(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of TOML.")] = False,
) -> None:
    """Print the effective settings and business rules (secrets masked)."""
    import json

    import tomli_w

    from rapport.config import get_settings, load_rules, rules_file

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


def _debug_requested() -> bool:
    """``--debug`` on the command line or ``RAPPORT_DEBUG`` in the settings."""
    if "--debug" in sys.argv[1:]:
        return True
    from rapport.config import get_settings

    try:
        return get_settings().debug
    except RapportError:  # invalid settings: the error being reported says so
        return False


def run() -> None:
    """Console-script entry point: runs the app and maps errors to exit codes.

    Nothing heavy is imported here before a command needs it (``--version`` and ``--help``
    answer at once); the settings are read for ``RAPPORT_DEBUG`` only when a command fails.
    """
    try:
        app()
    except Exception as exc:  # the last line of defence: one line, no traceback
        if _debug_requested():
            raise
        from rich.markup import escape

        from rapport.cli.common import err_console
        from rapport.i18n.errors import error_text
        from rapport.i18n.labels import t
        from rapport.i18n.locale import configured_locale

        locale = configured_locale()
        colon = "：" if locale == "zh_CN" else ": "
        error = f"[red]{t('cli.error', locale)}{colon}[/]"
        if isinstance(exc, RapportError):
            where = f" [{exc.location}]" if exc.location else ""
            text = f"{error_text(exc, locale)}{where}"
            err_console.print(f"{error}{escape(text)}", highlight=False)
            sys.exit(exc.exit_code)
        sa_exc = sys.modules.get("sqlalchemy.exc")  # only raised once SQLAlchemy is loaded
        if sa_exc is not None and isinstance(exc, sa_exc.OperationalError):
            reason = str(exc.orig).splitlines()[0]
            text = t("cli.database_unavailable", locale).format(reason=reason)
            err_console.print(f"{error}{escape(text)}", highlight=False)
            sys.exit(4)
        what = f"{type(exc).__name__}: {exc}{t('cli.debug_hint', locale)}"
        internal = f"[red]{t('cli.internal_error', locale)}{colon}[/]"
        err_console.print(f"{internal}{escape(what)}", highlight=False)
        sys.exit(EXIT_INTERNAL)


if __name__ == "__main__":
    run()
