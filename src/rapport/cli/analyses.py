"""``rapport cohorts``, ``rapport funnel`` and ``rapport demand``: the analyses for people
and scripts.

Each calls one function of :mod:`rapport.analyses` (the same as the API) and prints its rows
with ``--format table|json|csv`` (:mod:`rapport.cli.output`). Tables show local dates in
the business time zone; JSON and CSV carry UTC times (ISO 8601 with ``+00:00``) and the
raw figures.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import typer

from rapport.cli.options import AnalysisAsOfOption as AsOfOption
from rapport.cli.options import EngineOption, LastOption, PeriodOption
from rapport.cli.output import Column, FormatOption, OutputFormat, emit
from rapport.i18n.labels import t


def _utc(value: dt.datetime) -> dt.datetime:
    """A naive UTC time of the engines, made aware (JSON and CSV say it is UTC)."""
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value


def _local_day(value: dt.datetime, tz: Any) -> str:
    return _utc(value).astimezone(tz).date().isoformat()


def _percent(value: Any) -> str:
    return "—" if value is None else f"{value:,.1f}%"


def _window(period: str | None, last: str | None, as_of: str | None) -> tuple[Any, Any]:
    """The settings and the half-open period of ``--period``/``--last``/``--as-of``."""
    from rapport.analytics.periods import Period
    from rapport.cli.metrics import parse_as_of
    from rapport.config import get_settings
    from rapport.errors import ValidationFailed

    settings = get_settings()
    if period and last:
        raise ValidationFailed(
            "give --period or --last, not both", field="period", key="period_or_last"
        )
    moment = parse_as_of(as_of, settings)
    return settings, Period.parse(period or last or "12m", as_of=moment, tz=settings.tz)


def _title(key: str, window: Any, settings: Any) -> str:
    start = _utc(window.start).astimezone(settings.tz)
    end = _utc(window.end).astimezone(settings.tz)
    span = f"{start:%Y-%m-%d %H:%M} … {end:%Y-%m-%d %H:%M} ({settings.timezone})"
    return f"{t(key, settings.locale)} {span}"


def _period_meta(window: Any, engine: str) -> dict[str, Any]:
    return {"period_start": _utc(window.start), "period_end": _utc(window.end), "engine": engine}


def cohorts_command(
    period: PeriodOption = None,
    last: LastOption = None,
    as_of: AsOfOption = None,
    engine: EngineOption = None,
    output: FormatOption = OutputFormat.table,
) -> None:
    """Cohort retention: buyers by month of first purchase and the share buying again in
    each month after (同期群留存)."""
    from rapport.analyses import cohort_rows
    from rapport.config import load_rules

    settings, window = _window(period, last, as_of)
    kind, rows = cohort_rows(settings, load_rules(settings), window, engine=engine)
    locale = settings.locale
    if output != OutputFormat.table:
        columns = [
            Column("cohort", t("analysis.cohort", locale)),
            Column("cohort_start", t("analysis.cohort_start", locale)),
            Column("month_offset", t("analysis.month_offset", locale), numeric=True),
            Column("customers", t("analysis.cohort_size", locale), numeric=True),
            Column("active", t("analysis.active", locale), numeric=True),
            Column("share", t("analysis.retained", locale), numeric=True),
        ]
        out = [{**r, "cohort_start": _utc(r["cohort_start"])} for r in rows]
        emit(out, columns, output, key="cohorts", meta=_period_meta(window, kind), locale=locale)
        return
    # for people: one line per cohort, one column per month since its first purchase
    offsets = sorted({r["month_offset"] for r in rows})
    matrix: dict[str, dict[str, Any]] = {}
    for r in rows:
        line = matrix.setdefault(r["cohort"], {"cohort": r["cohort"], "customers": r["customers"]})
        line[f"m{r['month_offset']}"] = r["share"]
    columns = [
        Column("cohort", t("analysis.cohort", locale)),
        Column("customers", t("analysis.cohort_size", locale), numeric=True),
        *(
            Column(
                f"m{k}",
                t("analysis.month_n", locale).format(n=k),
                numeric=True,
                text=_percent,
                keep=len(offsets) - k if k else 0,
            )
            for k in offsets
        ),
    ]
    emit(
        list(matrix.values()),
        columns,
        output,
        title=_title("analysis.cohorts_title", window, settings),
        caption=t("analysis.cohorts_caption", locale),
        locale=locale,
    )


def funnel_command(
    period: PeriodOption = None,
    last: LastOption = None,
    as_of: AsOfOption = None,
    engine: EngineOption = None,
    output: FormatOption = OutputFormat.table,
) -> None:
    """Conversion funnel of the leads created in the period: converted, first purchase,
    repeat purchase (转化漏斗)."""
    from rapport.analyses import funnel_rows
    from rapport.config import load_rules

    settings, window = _window(period, last, as_of)
    kind, rows = funnel_rows(settings, load_rules(settings), window, engine=engine)
    locale = settings.locale
    for r in rows:
        r["label"] = t(f"funnel.{r['stage']}", locale)
    columns = [
        Column("stage", t("analysis.stage_id", locale), keep=1),
        Column("label", t("analysis.stage", locale)),
        Column("count", t("analysis.count", locale), numeric=True),
        Column("share_of_leads", t("analysis.share_of_leads", locale), numeric=True, text=_percent),
        Column(
            "share_of_previous",
            t("analysis.share_of_previous", locale),
            numeric=True,
            text=_percent,
        ),
    ]
    if output == OutputFormat.table:
        columns = [c for c in columns if c.key != "stage"]
    emit(
        rows,
        columns,
        output,
        title=_title("analysis.funnel_title", window, settings),
        key="stages",
        meta=_period_meta(window, kind),
        locale=locale,
    )


def demand_command(
    horizon: Annotated[
        int, typer.Option(min=1, max=52, help="Periods (weeks) to forecast after the data.")
    ] = 8,
    version: Annotated[
        str | None, typer.Option(help="A saved demand model version (default: the latest).")
    ] = None,
    output: FormatOption = OutputFormat.table,
) -> None:
    """Demand forecast per product category: orders in the next weeks, from the model
    `rapport models fit` saves (需求预测)."""
    from rapport.analyses import demand_forecast
    from rapport.config import get_settings

    settings = get_settings()
    locale, tz = settings.locale, settings.tz
    result = demand_forecast(settings, horizon=horizon, version=version)
    if output == OutputFormat.table:
        rows: list[dict[str, Any]] = [
            {**r, "period": _local_day(r["period_start"], tz)} for r in result.rows
        ]
        columns = [
            Column("category", t("analysis.category", locale)),
            Column("period", t("analysis.week_of", locale)),
            Column("forecast", t("analysis.forecast_orders", locale), numeric=True),
        ]
    else:
        rows = [
            {**r, "period_start": _utc(r["period_start"]), "period_end": _utc(r["period_end"])}
            for r in result.rows
        ]
        columns = [
            Column("category", t("analysis.category", locale)),
            Column("period_start", t("analysis.period_start", locale)),
            Column("period_end", t("analysis.period_end", locale)),
            Column("forecast", t("analysis.forecast_orders", locale), numeric=True),
        ]
    caption = t("analysis.demand_caption", locale).format(
        version=result.version,
        start=_local_day(result.history_start, tz),
        end=_local_day(result.history_end - dt.timedelta(days=1), tz),
    )
    meta = {
        **result.meta(),
        "history_start": _utc(result.history_start),
        "history_end": _utc(result.history_end),
    }
    emit(
        rows,
        columns,
        output,
        title=t("analysis.demand_title", locale),
        caption=caption,
        key="forecast",
        meta=meta,
        locale=locale,
    )
