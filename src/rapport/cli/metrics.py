"""``rapport metrics``: the metrics of METRICS.md over a period, a series, or per segment."""

from __future__ import annotations

import datetime as dt
import json
import math
import sys
from typing import Annotated, Any

import ibis
import pyarrow as pa
import pyarrow.csv as pacsv
import typer
from rich.table import Table

from rapport.cli.common import console
from rapport.cli.output import OutputFormat
from rapport.config import Settings, get_settings, load_rules
from rapport.errors import ValidationFailed
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

#: Computed segments ``--by`` reads from the latest score snapshot (``rapport score``).
BY_SCORES = ("rfm_segment", "value_tier", "lifecycle_stage")

#: Customer attributes ``--by`` accepts directly.
BY_ATTRIBUTES = (
    "city",
    "province",
    "country",
    "gender",
    "source_channel",
    "income_band",
    "occupation",
    "district",
)


def parse_as_of(text: str | None, settings: Settings) -> dt.datetime:
    """``--as-of``: a local date (its end, i.e. the next local midnight) or now; naive UTC."""
    if text is None:
        return dt.datetime.now(dt.UTC).replace(tzinfo=None)
    try:
        day = dt.date.fromisoformat(text)
    except ValueError:
        raise ValidationFailed(
            f"--as-of {text!r}: expected a date like 2024-12-31", field="as_of"
        ) from None
    local = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=settings.tz)
    return local.astimezone(dt.UTC).replace(tzinfo=None)


def segment_table(src: Any, by: str) -> ibis.Table:
    """``customer_id, segment`` for a customer attribute (``--by``)."""
    customers = src.customers
    if by in BY_SCORES:
        scores = src.customer_scores
        latest = scores.filter(scores.as_of == scores.as_of.max())
        return latest.select(customer_id=latest.customer_id, segment=latest[by].cast("string"))
    if by == "age_band":
        age = (ibis.now().year() - customers.birthday.year()).cast("int64")
        band = (age // 10 * 10).cast("string") + "s"
        return customers.select(customer_id=customers.id, segment=band)
    if by not in BY_ATTRIBUTES:
        raise ValidationFailed(
            f"--by {by!r}: not a segment",
            field="by",
            hint=f"use one of: {', '.join((*BY_ATTRIBUTES, 'age_band', *BY_SCORES))}",
        )
    return customers.select(customer_id=customers.id, segment=customers[by].cast("string"))


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
        return f"{value:,.1f} {'小时' if locale.startswith('zh') else 'h'}"
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
    from rapport.analytics.connect import connect
    from rapport.analytics.metrics import evaluate, series
    from rapport.analytics.periods import Period
    from rapport.analytics.sources import Sources

    settings = settings or get_settings()
    rules = load_rules(settings)
    period = Period.parse(period_text, as_of=as_of, tz=settings.tz)
    with connect(settings, engine=engine) as eng:
        src = Sources(eng, rules=rules)
        segments = segment_table(src, by) if by else None
        if granularity:
            result = series(
                metric_ids,
                src,
                period,
                granularity,
                rules=rules,
                by=segments,
                con=eng.con,
                tz=settings.tz,
            )
        else:
            result = evaluate(metric_ids, src, period, rules=rules, by=segments, con=eng.con)
    return result, period


def metrics_table(result: pa.Table, locale: str, title: str, tz: Any = dt.UTC) -> Table:
    from rapport.analytics.metrics import METRICS

    zh = locale.startswith("zh")
    table = Table(title=title)
    columns = result.column_names
    for name in ("bucket_start", "segment"):
        if name in columns:
            table.add_column(
                {
                    "bucket_start": "期间" if zh else "bucket",
                    "segment": "分组" if zh else "segment",
                }[name]
            )
    table.add_column("指标" if zh else "metric")
    table.add_column("数值" if zh else "value", justify="right")
    table.add_column("分子" if zh else "numerator", justify="right")
    table.add_column("分母" if zh else "denominator", justify="right")
    for row in result.to_pylist():
        metric = METRICS[row["metric"]]
        label = metric.label_zh if zh else metric.label_en
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
    period: Annotated[
        str | None, typer.Option("--period", help="2024-01..2024-12, 2024Q1, 2024-03 …")
    ] = None,
    last: Annotated[
        str | None, typer.Option("--last", help="90d, 12w, 6m, 1y before --as-of")
    ] = None,
    as_of: Annotated[str | None, typer.Option("--as-of", help="Local date; default now.")] = None,
    granularity: Annotated[
        str | None, typer.Option(help="day, week, month, quarter or year: a series.")
    ] = None,
    by: Annotated[str | None, typer.Option(help="Segment by a customer attribute.")] = None,
    metrics: Annotated[
        str | None, typer.Option("--metrics", help="Comma-separated ids (default: headline).")
    ] = None,
    output: Annotated[OutputFormat, typer.Option("--format")] = OutputFormat.table,
    engine: Annotated[
        str | None, typer.Option(help="duckdb, postgres, parquet or spark (default: settings).")
    ] = None,
) -> None:
    """Metrics of METRICS.md with their inputs (numerator, denominator), traceable to the
    definition id."""
    from rapport.analytics.metrics import METRICS

    settings = get_settings()
    if period and last:
        raise ValidationFailed("give --period or --last, not both", field="period")
    ids = [m.strip() for m in metrics.split(",")] if metrics else list(HEADLINE)
    unknown = [m for m in ids if m not in METRICS]
    if unknown:
        raise ValidationFailed(
            f"unknown metric(s) {', '.join(unknown)}",
            field="metrics",
            hint=f"ids: {', '.join(METRICS)}",
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
