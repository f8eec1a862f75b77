"""``rapport metrics``: the metrics of docs/metrics.md over a period, a series, or per group.

The figures are :func:`rapport.analyses.metric_values` (those of ``GET /metrics``); a
grouping (``--by``) is :mod:`rapport.reports.groups`'. This module parses the options and
renders.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import sys
from typing import Annotated, Any

import pyarrow as pa
import pyarrow.csv as pacsv
import typer
from rich.table import Table

from rapport.cli.common import console
from rapport.cli.options import AnalysisAsOfOption, EngineOption, LastOption, PeriodOption
from rapport.cli.output import OutputFormat
from rapport.config import Settings, get_settings, load_rules
from rapport.errors import ValidationFailed
from rapport.i18n.labels import t
from rapport.i18n.locale import pick
from rapport.ingest.spreadsheet import neutralise_arrow

#: Headline metrics shown when ``--metrics`` is not given (and by ``rapport demo``).
HEADLINE = (
    "customers_start",
    "customers_end",
    "customers_new",
    "retention_rate",
    "churn_rate",
    "customer_growth_rate",
    "repurchase_rate",
    "purchase_frequency",
    "average_order_value",
    "clv_simple",
    "conversion_rate",
    "nps",
    "csat",
    "complaint_rate",
    "interaction_frequency",
    "email_open_rate",
    "email_click_rate",
    "referral_rate",
    "first_response_time",
    "resolution_time",
    "sla_attainment",
)


def parse_as_of(text: str | None, settings: Settings) -> dt.datetime:
    """``--as-of``: a local date (its end, i.e. the next local midnight) or now; naive UTC."""
    if text is None:
        return dt.datetime.now(dt.UTC).replace(tzinfo=None)
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        raise ValidationFailed(
            "{option} {text!r}: expected a date like 2024-12-31",
            field="as_of",
            key="date_expected",
            params={"option": "--as-of", "text": text},
        ) from None
    local = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=settings.tz)
    return local.astimezone(dt.UTC).replace(tzinfo=None)


def format_value(value: float | None, unit: str, locale: str) -> str:
    """A number for people: per unit, thousands separators, a dash for null."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if unit == "count":
        return f"{value:,.0f}"
    if unit == "percent":
        return f"{value:,.2f}%"
    if unit == "currency":
        return f"{value:,.2f}"
    if unit == "hours":
        return f"{value:,.1f} {t('unit.hours', locale)}"
    return f"{value:,.2f}"


def compute(
    metric_ids: list[str],
    *,
    period_text: str,
    as_of: dt.datetime,
    granularity: str | None = None,
    by: str | None = None,
    engine: str | None = None,
    settings: Settings | None = None,
) -> tuple[pa.Table, Any]:
    """Run the metrics; returns the result table and the period."""
    from rapport.analyses import metric_values
    from rapport.analytics.periods import Period
    from rapport.reports.groups import check_grouping

    settings = settings or get_settings()
    if by is not None:
        check_grouping(by)
    period = Period.parse(period_text, as_of=as_of, tz=settings.tz)
    _, result = metric_values(
        settings,
        load_rules(settings),
        metric_ids,
        period,
        as_of=as_of,
        granularity=granularity,
        by=by,
        engine=engine,
    )
    return result, period


def metrics_table(result: pa.Table, locale: str, title: str, tz: Any = dt.UTC) -> Table:
    from rapport.analytics.metrics import METRICS

    table = Table(title=title)
    columns = result.column_names
    if "bucket_start" in columns:
        table.add_column(t("metrics.bucket", locale))
    if "segment" in columns:
        table.add_column(t("metrics.group", locale))
    table.add_column(t("metrics.metric", locale))
    table.add_column(t("value", locale), justify="right")
    table.add_column(t("metrics.numerator", locale), justify="right")
    table.add_column(t("metrics.denominator", locale), justify="right")
    for row in result.to_pylist():
        metric = METRICS[row["metric"]]
        label = pick((metric.label_zh, metric.label_en), locale)
        lead = []
        if "bucket_start" in row:
            start = row["bucket_start"].replace(tzinfo=dt.UTC).astimezone(tz)
            lead.append(str(start.date()))
        if "segment" in row:
            lead.append("—" if row["segment"] is None else str(row["segment"]))
        table.add_row(
            *lead,
            f"{label} ({metric.id})",
            format_value(row["value"], metric.unit, locale),
            _plain(row["numerator"]),
            _plain(row["denominator"]),
        )
    return table


def _plain(value: float | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return f"{value:,.2f}".rstrip("0").rstrip(".") if value % 1 else f"{value:,.0f}"


def metrics_command(
    period: PeriodOption = None,
    last: LastOption = None,
    as_of: AnalysisAsOfOption = None,
    granularity: Annotated[
        str | None, typer.Option(help="day, week, month, quarter or year: a series.")
    ] = None,
    by: Annotated[
        str | None, typer.Option(help="Per group: a customer attribute, age_band or a score.")
    ] = None,
    metrics: Annotated[
        str | None, typer.Option("--metrics", help="Comma-separated ids (default: headline).")
    ] = None,
    output: Annotated[OutputFormat, typer.Option("--format")] = OutputFormat.table,
    engine: EngineOption = None,
) -> None:
    """Metrics of docs/metrics.md with their inputs (numerator, denominator), traceable to the
    definition id."""
    from rapport.analytics.metrics import METRICS

    settings = get_settings()
    if period and last:
        raise ValidationFailed(
            "give --period or --last, not both", field="period", key="period_or_last"
        )
    ids = [m.strip() for m in metrics.split(",")] if metrics else list(HEADLINE)
    unknown = [m for m in ids if m not in METRICS]
    if unknown:
        raise ValidationFailed(
            "unknown metric(s) {metrics}",
            field="metrics",
            hint="ids: {ids}",
            key="metrics_unknown",
            params={"metrics": ", ".join(unknown), "ids": ", ".join(METRICS)},
        )
    moment = parse_as_of(as_of, settings)
    result, window = compute(
        ids,
        period_text=period or last or "12m",
        as_of=moment,
        granularity=granularity,
        by=by,
        engine=engine,
        settings=settings,
    )
    if output == OutputFormat.json:
        rows = []
        for row in result.to_pylist():
            metric = METRICS[row["metric"]]
            rows.append(
                {
                    **{
                        k: (v.isoformat() if isinstance(v, dt.datetime) else v)
                        for k, v in row.items()
                    },
                    "unit": metric.unit,
                    "formula": metric.formula,
                }
            )
        payload = {
            "period": {
                "start": window.start.isoformat(),
                "end": window.end.isoformat(),
                "timezone": "UTC",
            },
            "metrics": rows,
        }
        typer.echo(json.dumps(payload, ensure_ascii=False, indent=2))
    elif output == OutputFormat.csv:
        buffer = pa.BufferOutputStream()
        pacsv.write_csv(neutralise_arrow(result), buffer)  # a segment may be "=…"
        sys.stdout.write(buffer.getvalue().to_pybytes().decode("utf-8"))
    else:
        tz = settings.tz
        start = window.start.replace(tzinfo=dt.UTC).astimezone(tz)
        end = window.end.replace(tzinfo=dt.UTC).astimezone(tz)
        title = f"{start:%Y-%m-%d %H:%M} … {end:%Y-%m-%d %H:%M} ({settings.timezone})"
        console.print(metrics_table(result, settings.locale, title, tz))
