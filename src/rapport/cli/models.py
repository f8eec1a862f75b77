"""``rapport models fit|show|backtest``: the predictive models from the command line."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from rapport.cli.common import console, store_engine
from rapport.cli.scores import AsOfOption, EngineOption, parse_date
from rapport.config import get_settings, load_rules
from rapport.models.units import parse_duration

models_app = typer.Typer(
    help="Predictive models: CLV (BG/NBD, Pareto/NBD, Gamma-Gamma), churn, demand.",
    no_args_is_help=True,
)
JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]


def _moment(as_of: str | None) -> tuple[dt.date, dt.datetime]:
    from rapport.scoring import snapshot_moment, today

    settings = get_settings()
    day = parse_date(as_of) or today(settings.tz)
    return day, snapshot_moment(day, settings.tz)


def _params_table(title: str, model: Any) -> Table:
    table = Table(title=title)
    for name in ("parameter", "estimate", "std. error", "95 % interval"):
        table.add_column(name, justify="right" if name != "parameter" else "left")
    errors = model.standard_errors()
    intervals = model.confidence_intervals(0.95)
    for name, value in model.params_.items():
        low, high = intervals[name]
        table.add_row(name, f"{value:.4f}", f"{errors[name]:.4f}", f"{low:.4f} – {high:.4f}")
    report = model.fit_report_
    table.caption = (
        f"log-likelihood {model.log_likelihood_:.2f} · {model.n_customers_:,.0f} customers · "
        f"{'converged' if report.converged else 'NOT converged'} ({report.method}, "
        f"{report.iterations} iterations, {report.seconds:.2f} s)"
    )
    return table


def fit_command(
    as_of: AsOfOption = None,
    engine: EngineOption = None,
    as_json: JsonOption = False,
) -> None:
    """Fit the purchase, spend, churn and demand models as of the end of a local day
    (default: today) and save them as new versions in the model registry."""
    from rapport.models.pipeline import fit_models

    settings = get_settings()
    rules = load_rules(settings)
    day, moment = _moment(as_of)
    store_engine().dispose()
    with console.status("fitting …") as status:
        fitted = fit_models(
            settings,
            rules,
            moment,
            engine=engine,
            demand=True,
            on_step=lambda s: status.update(f"{s} …"),
        )
    if as_json:
        out = {
            "as_of": day.isoformat(),
            "data": fitted.summary.describe(),
            "models": {k: r.to_dict() for k, r in fitted.records.items()},
            "notes": fitted.notes,
            "seconds": fitted.seconds,
        }
        console.print_json(json.dumps(out, default=str))
        return
    s = fitted.summary
    console.print(
        f"as of {day} ({rules.models.time_unit}): {len(s):,} buyers, "
        f"{int(s.repeat_buyers.sum()):,} repeat buyers, {int(s.frequency.sum()):,} repeat "
        "purchases"
    )
    for model in (fitted.purchase, fitted.spend):
        if model is not None:
            console.print(_params_table(model.label, model))
    if fitted.churn is not None:
        rows = fitted.churn.training_.get("rows")
        console.print(f"churn model: trained on {rows:,} customers" if rows else "churn model")
    for kind, record in fitted.records.items():
        console.print(f"saved {kind} {record.version} → {record.path}")
    for note in fitted.notes:
        console.print(f"[yellow]![/] {note}")


def show_command(
    kind: Annotated[str | None, typer.Argument(help="bgnbd, paretonbd, gammagamma, churn…")] = None,
    version: Annotated[str | None, typer.Option(help="A saved version (default latest).")] = None,
    as_json: JsonOption = False,
) -> None:
    """Show the saved models: parameters with their intervals, data, configuration."""
    import rapport.models.clv  # noqa: F401 — registers the model kinds from_dict builds
    from rapport.models.base import Model
    from rapport.models.registry import registry

    reg = registry(get_settings())
    records = {kind: reg.load(kind, version)} if kind else reg.latest()
    if as_json:
        console.print_json(json.dumps({k: r.to_dict() for k, r in records.items()}))
        return
    if not records:
        console.print("no saved models — fit them with `rapport models fit`")
        return
    for name, record in records.items():
        console.print(f"[bold]{name}[/] {record.version} ({record.created_at})")
        data = record.data
        if "fingerprint" in data:
            console.print(
                f"  data: {data.get('customers', 0):,} customers to {data.get('calibration_end')}"
                f" in {data.get('time_unit')}, {data['fingerprint'][:19]}…"
            )
        if name in ("mbgnbd", "bgnbd", "paretonbd", "gammagamma"):
            console.print(_params_table(name, Model.from_dict(record.model)))


def backtest_command(
    as_of: AsOfOption = None,
    holdout: Annotated[
        str, typer.Option(help="Holdout length before --as-of, e.g. 26w, 180d, 6m.")
    ] = "26w",
    engine: EngineOption = None,
    report: Annotated[
        Path | None, typer.Option(help="Write the HTML backtest report here.")
    ] = Path("rapport-backtest.html"),
    only: Annotated[
        str | None, typer.Option(help="Some of: purchase,spend,churn,demand (default all).")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Backtest the models: calibrate before the holdout, compare with what happened."""
    from rapport.models.evaluation import PARTS, run_backtests

    settings = get_settings()
    rules = load_rules(settings)
    _, moment = _moment(as_of)
    span = parse_duration(holdout)
    store_engine().dispose()
    with console.status("backtesting …") as status:
        result = run_backtests(
            settings,
            rules,
            moment,
            holdout=span,
            engine=engine,
            report=report,
            on_step=lambda s: status.update(f"{s} …"),
            parts=tuple(p.strip() for p in only.split(",")) if only else PARTS,
        )
    if as_json:
        console.print_json(json.dumps(result.to_dict(), default=str))
        return
    for table in result.tables():
        console.print(table)
    for note in result.notes:
        console.print(f"[yellow]![/] {note}")
    if result.report_path:
        console.print(f"report: {result.report_path}")


models_app.command("fit")(fit_command)
models_app.command("show")(show_command)
models_app.command("backtest")(backtest_command)
