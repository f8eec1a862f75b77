"""``rapport models fit|show|backtest``: the predictive models from the command line."""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from rapport.cli.common import console, store_engine
from rapport.cli.options import EngineOption
from rapport.cli.options import SnapshotAsOfOption as AsOfOption
from rapport.cli.output import Column, OutputFormat, write_csv
from rapport.cli.scores import parse_date
from rapport.config import get_settings, load_rules
from rapport.i18n.labels import LABELS, t
from rapport.i18n.locale import is_chinese
from rapport.models.units import parse_duration

models_app = typer.Typer(
    help="Predictive models: CLV (BG/NBD, Pareto/NBD, Gamma-Gamma), churn, demand.",
    no_args_is_help=True,
)
JsonOption = Annotated[bool, typer.Option("--json", help="Same as --format json.")]
ReportFormatOption = Annotated[
    OutputFormat | None,
    typer.Option("--format", help="table (for people), json or csv (for scripts)."),
]
ShowFormatOption = Annotated[
    OutputFormat | None,
    typer.Option(
        "--format",
        help="table (for people), json (the saved documents) or csv (one row per parameter).",
    ),
]


def _moment(as_of: str | None) -> tuple[dt.date, dt.datetime]:
    from rapport.analytics.periods import day_end
    from rapport.scoring import today

    settings = get_settings()
    day = parse_date(as_of) or today(settings.tz)
    return day, day_end(day, settings.tz)


#: A note of the model pipeline or the backtest: which part was left out, and why.
_NOTE = re.compile(
    r"(?P<part>purchase|spend|churn|demand) model not (?P<what>fitted|tested): (?P<reason>.*)",
    re.DOTALL,
)


def localize_note(note: str, locale: str) -> str:
    """A note of :func:`fit_models` or :func:`run_backtests` in ``locale``: the part left
    out and the domain error that says why (:class:`~rapport.models.notes.Note`), or, for a
    note that is text alone, its reason as written."""
    from rapport.i18n.errors import error_text
    from rapport.models.notes import Note

    part: str
    what: str
    reason: str
    if isinstance(note, Note):
        part, what, reason = note.part, note.what, error_text(note.error, locale)
    elif found := _NOTE.fullmatch(note):
        part, what, reason = found["part"], found["what"], found["reason"]
    else:
        return note
    return t(f"models.not_{what}", locale).format(
        model=t(f"models.part.{part}", locale), reason=reason
    )


def step_text(step: str, locale: str) -> str:
    """A step of a fit or a backtest (``"churn model"``) for the spinner, in ``locale``."""
    key = "models.step." + step.replace(" ", "_")
    return f"{t(key, locale) if key in LABELS else step} …"


def kind_label(kind: str, locale: str) -> str:
    """A saved model kind for people: the published name of a CLV model (``MBG/NBD``), the
    locale's word for the churn and demand models."""
    import rapport.models.clv  # noqa: F401 — registers the CLV model kinds
    from rapport.models.base import Model

    if f"models.{kind}" in LABELS:
        return t(f"models.{kind}", locale)
    model = Model._registry.get(kind)
    return model.label if model is not None and model.label else kind


def _unit(text: Any, locale: str) -> str:
    """A time unit (``weeks``) or a span (``13 weeks``) in the locale's words."""
    words = str(text).split()
    if words and f"unit.{words[-1]}" in LABELS:
        words[-1] = t(f"unit.{words[-1]}", locale)
    return ("" if is_chinese(locale) else " ").join(words)


def _params_table(title: str, model: Any, locale: str) -> Table:
    table = Table(title=title)
    for key in ("models.parameter", "models.estimate", "models.std_error", "models.interval"):
        table.add_column(t(key, locale), justify="left" if key == "models.parameter" else "right")
    errors = model.standard_errors()
    intervals = model.confidence_intervals(0.95)
    for name, value in model.params_.items():
        low, high = intervals[name]
        table.add_row(name, f"{value:.4f}", f"{errors[name]:.4f}", f"{low:.4f} – {high:.4f}")
    report = model.fit_report_
    status = t("models.converged" if report.converged else "models.not_converged", locale)
    table.caption = t("models.fit_caption", locale).format(
        log_likelihood=model.log_likelihood_,
        customers=model.n_customers_,
        status=status,
        method=report.method,
        iterations=report.iterations,
        seconds=report.seconds,
    )
    return table


def fit_command(
    as_of: AsOfOption = None,
    engine: EngineOption = None,
    fmt: ReportFormatOption = None,
    as_json: JsonOption = False,
) -> None:
    """Fit the purchase, spend, churn and demand models as of the end of a local day
    (default: today) and save them as new versions in the model registry."""
    from rapport.models.pipeline import fit_models

    settings = get_settings()
    locale = settings.locale
    fmt = OutputFormat.json if as_json else fmt or OutputFormat.table
    rules = load_rules(settings)
    day, moment = _moment(as_of)
    store_engine().dispose()
    with console.status(t("models.fitting", locale)) as status:
        fitted = fit_models(
            settings,
            rules,
            moment,
            engine=engine,
            demand=True,
            on_step=lambda s: status.update(step_text(s, locale)),
        )
    if fmt == OutputFormat.csv:
        write_csv(_parameter_rows(fitted.records), [c.key for c in _show_columns(locale)])
        return
    if fmt == OutputFormat.json:
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
        t("models.fit_data", locale).format(
            day=day,
            unit=_unit(rules.models.time_unit, locale),
            buyers=len(s),
            repeat_buyers=int(s.repeat_buyers.sum()),
            repeat_purchases=int(s.frequency.sum()),
        )
    )
    for model in (fitted.purchase, fitted.spend):
        if model is not None:
            console.print(_params_table(model.label, model, locale))
    if fitted.churn is not None:
        rows = fitted.churn.training_.get("rows")
        text = t("models.churn_trained", locale).format(rows=rows) if rows else None
        console.print(text or t("models.churn", locale))
    for kind, record in fitted.records.items():
        text = t("models.saved", locale).format(
            kind=kind_label(kind, locale), version=record.version, path=record.path
        )
        console.print(text, highlight=False)
    for note in fitted.notes:
        console.print(f"[yellow]![/] {escape(localize_note(note, locale))}")


def show_command(
    kind: Annotated[str | None, typer.Argument(help="bgnbd, paretonbd, gammagamma, churn…")] = None,
    version: Annotated[str | None, typer.Option(help="A saved version (default latest).")] = None,
    fmt: ShowFormatOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Same as --format json.")] = False,
) -> None:
    """Show the saved models: parameters with their intervals, data, configuration."""
    import rapport.models.clv  # noqa: F401 — registers the model kinds from_dict builds
    from rapport.models.base import Model
    from rapport.models.registry import registry

    locale = get_settings().locale
    fmt = OutputFormat.json if as_json else fmt or OutputFormat.table
    reg = registry(get_settings())
    records = {kind: reg.load(kind, version)} if kind else reg.latest()
    if fmt == OutputFormat.json:
        typer.echo(json.dumps({k: r.to_dict() for k, r in records.items()}, indent=2))
        return
    if fmt == OutputFormat.csv:
        rows = _parameter_rows(records)
        write_csv(rows, [c.key for c in _show_columns(locale)])
        return
    if not records:
        console.print(t("models.none", locale))
        return
    for name, record in records.items():
        title = f"[bold]{escape(kind_label(name, locale))}[/] ({name}) {record.version}"
        console.print(f"{title} ({record.created_at})", highlight=False)
        data = record.data
        if "fingerprint" in data:
            line = t("models.data", locale).format(
                customers=data.get("customers", 0),
                end=data.get("calibration_end"),
                unit=_unit(data.get("time_unit"), locale),
                fingerprint=data["fingerprint"][:19],
            )
            console.print(f"  {line}", highlight=False)
        if name in PARAMETRIC:
            console.print(
                _params_table(kind_label(name, locale), Model.from_dict(record.model), locale)
            )


#: The saved model kinds with fitted parameters (shown with intervals).
PARAMETRIC = ("mbgnbd", "bgnbd", "paretonbd", "gammagamma")


def _show_columns(locale: str) -> list[Column]:
    """The columns of ``models show --format csv``: one row per parameter of each model
    (one row without a parameter for a model that has none, such as churn)."""
    return [
        Column("kind", t("models.kind", locale)),
        Column("version", t("models.version", locale)),
        Column("created_at", t("models.created_at", locale)),
        Column("customers", t("models.customers", locale), numeric=True),
        Column("calibration_end", t("models.calibration_end", locale)),
        Column("time_unit", t("models.time_unit", locale)),
        Column("parameter", t("models.parameter", locale)),
        Column("estimate", t("models.estimate", locale), numeric=True),
        Column("std_error", t("models.std_error", locale), numeric=True),
        Column("ci_low", t("models.ci_low", locale), numeric=True),
        Column("ci_high", t("models.ci_high", locale), numeric=True),
    ]


def _parameter_rows(records: dict[str, Any]) -> list[dict[str, Any]]:
    from rapport.models.base import Model

    rows = []
    for name, record in records.items():
        base = {
            "kind": name,
            "version": record.version,
            "created_at": record.created_at,
            "customers": record.data.get("customers"),
            "calibration_end": record.data.get("calibration_end"),
            "time_unit": record.data.get("time_unit"),
        }
        if name not in PARAMETRIC:
            rows.append(base)
            continue
        model = Model.from_dict(record.model)
        errors = model.standard_errors()
        intervals = model.confidence_intervals(0.95)
        for parameter, value in (model.params_ or {}).items():
            low, high = intervals[parameter]
            rows.append(
                {
                    **base,
                    "parameter": parameter,
                    "estimate": float(value),
                    "std_error": float(errors[parameter]),
                    "ci_low": float(low),
                    "ci_high": float(high),
                }
            )
    return rows


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
    fmt: ReportFormatOption = None,
    as_json: JsonOption = False,
) -> None:
    """Backtest the models: calibrate before the holdout, compare with what happened."""
    from rapport.models.evaluation import PARTS, run_backtests

    settings = get_settings()
    locale = settings.locale
    fmt = OutputFormat.json if as_json else fmt or OutputFormat.table
    rules = load_rules(settings)
    _, moment = _moment(as_of)
    span = parse_duration(holdout)
    store_engine().dispose()
    with console.status(t("models.backtesting", locale)) as status:
        result = run_backtests(
            settings,
            rules,
            moment,
            holdout=span,
            engine=engine,
            report=report,
            on_step=lambda s: status.update(step_text(s, locale)),
            parts=tuple(p.strip() for p in only.split(",")) if only else PARTS,
        )
    if fmt == OutputFormat.json:
        console.print_json(json.dumps(result.to_dict(), default=str))
        return
    if fmt == OutputFormat.csv:
        write_csv(backtest_rows(result.to_dict()), list(BACKTEST_COLUMNS))
        return
    for table in backtest_tables(result.to_dict(), locale):
        console.print(table)
    for note in result.notes:
        console.print(f"[yellow]![/] {escape(localize_note(note, locale))}")
    if result.report_path:
        console.print(t("models.report", locale).format(path=result.report_path), highlight=False)


#: The columns of ``models backtest --format csv``: one row per frequency bin (purchase),
#: per method (churn; demand over all categories and in total), one for spend.
BACKTEST_COLUMNS = (
    "part",
    "row",
    "customers",
    "actual",
    "predicted",
    "roc_auc",
    "pr_auc",
    "brier",
    "wape",
    "mape",
)


def backtest_rows(result: dict[str, Any]) -> list[dict[str, Any]]:
    """The figures of a backtest (:meth:`Evaluation.to_dict`) as rows for CSV."""
    rows: list[dict[str, Any]] = []
    if p := result.get("purchase"):
        for row in p["frequency_bins"]:
            rows.append({"part": "purchase", "row": row["bin"], **_pick(row, "customers")})
            rows[-1].update(actual=row["actual"], predicted=row["predicted"])
    if s := result.get("spend"):
        rows.append(
            {
                "part": "spend",
                "row": "mean",
                "customers": s["customers"],
                "actual": s["actual_mean"],
                "predicted": s["predicted_mean"],
            }
        )
    if c := result.get("churn"):
        for name in ("model", "baseline"):
            rows.append({"part": "churn", "row": name, **_pick(c[name], "roc_auc", "pr_auc")})
            rows[-1].update(brier=c[name]["brier"], customers=c["test_rows"])
    if d := result.get("demand"):
        for row in d["errors"]:
            if row["scope"] in ("(all)", "(total)"):
                name = f"{row['method']} {row['scope']}"
                rows.append({"part": "demand", "row": name, **_pick(row, "wape", "mape")})
    return rows


def _pick(row: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {k: row.get(k) for k in keys}


def _num(value: Any, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return f"{value:,.{digits}f}"


def backtest_tables(result: dict[str, Any], locale: str) -> list[Table]:
    """The console tables of a backtest (:meth:`Evaluation.to_dict`) in ``locale``."""
    out = []
    if p := result.get("purchase"):
        table = Table(
            title=t("models.purchase_title", locale).format(
                model=p["model"],
                holdout=_unit(p["holdout"], locale),
                start=p["calibration_end"][:10],
            )
        )
        for key in ("models.calibration_bin", "customers", "models.actual", "models.predicted"):
            table.add_column(t(key, locale), justify="right")
        for row in p["frequency_bins"]:
            table.add_row(
                row["bin"], f"{row['customers']:,}", _num(row["actual"]), _num(row["predicted"])
            )
        table.caption = t("models.purchase_caption", locale).format(
            actual=p["actual_holdout_purchases"],
            predicted=p["predicted_holdout_purchases"],
            error=p["holdout_error_percent"],
        )
        out.append(table)
    if s := result.get("spend"):
        table = Table(title=t("models.spend_title", locale).format(model="Gamma-Gamma"))
        for key in ("customers", "models.actual", "models.predicted", "models.error_percent"):
            table.add_column(t(key, locale), justify="right")
        table.add_row(
            f"{s['customers']:,}",
            _num(s["actual_mean"], 2),
            _num(s["predicted_mean"], 2),
            f"{s['error_percent']:+.1f}",
        )
        out.append(table)
    if c := result.get("churn"):
        table = Table(
            title=t("models.churn_title", locale).format(
                train=c["train_cutoff"][:10], test=c["test_cutoff"][:10]
            )
        )
        table.add_column(t("models.method", locale))
        for name in ("ROC-AUC", "PR-AUC", "Brier"):
            table.add_column(name, justify="right")
        for name in ("model", "baseline"):
            m = c[name]
            table.add_row(
                t(f"models.method.{name}", locale),
                _num(m["roc_auc"]),
                _num(m["pr_auc"]),
                _num(m["brier"]),
            )
        table.caption = t("models.churn_caption", locale).format(
            customers=c["test_rows"], base_rate=c["base_rate"], mean_predicted=c["mean_predicted"]
        )
        out.append(table)
    if d := result.get("demand"):
        table = Table(
            title=t("models.demand_title", locale).format(
                value=t(d["value"], locale), granularity=t(f"unit.{d['granularity']}", locale)
            )
        )
        table.add_column(t("models.method", locale))
        for name in ("WAPE %", "MAPE %"):
            table.add_column(name, justify="right")
        scopes = {"(all)": "models.scope.all", "(total)": "models.scope.total"}
        for row in d["errors"]:
            if row["scope"] in scopes:
                method = t(f"models.method.{row['method']}", locale)
                table.add_row(
                    f"{method} {t(scopes[row['scope']], locale)}",
                    _num(row["wape"], 1),
                    _num(row["mape"], 1),
                )
        out.append(table)
    return out


models_app.command("fit")(fit_command)
models_app.command("show")(show_command)
models_app.command("backtest")(backtest_command)
