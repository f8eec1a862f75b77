"""``rapport loyalty report``: does the loyalty programme work?

Calls :func:`rapport.reports.loyalty.programme_figures` (the analytics engine) and
:func:`~rapport.reports.loyalty.loyalty_report` (with the store's vouchers) — the figures of
``GET /loyalty/report`` — and prints them: for people three tables (members against
matched non-members, the programme's health, the tiers month by month); ``--format json``
the whole report as one document; ``--format csv`` one line per figure (``section``,
``figure``, ``value``), ready for a pivot table.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from typing import Annotated, Any

import typer

from rapport.cli.options import AnalysisAsOfOption, EngineOption
from rapport.cli.output import Column, FormatOption, OutputFormat, emit, plain, write_csv

WindowOption = Annotated[
    int | None,
    typer.Option(
        "--window-months",
        min=1,
        max=60,
        help="Months after joining compared, and of the flows (default [loyalty.evaluation]).",
    ),
]

HEALTH_STOCKS = ("members", "active_customers", "active_members", "participation", "balance")
HEALTH_FLOWS = (
    "earned",
    "redeemed",
    "expired",
    "adjusted",
    "redemption_rate",
    "breakage_rate",
    "vouchers_issued",
    "vouchers_used",
)
PERCENT = {"participation", "redemption_rate", "breakage_rate"}


def _utc(value: dt.datetime) -> dt.datetime:
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value


def _number(value: Any, unit: str) -> str:
    if value is None:
        return "—"
    if unit == "percent":
        return f"{value:,.1f}%"
    if unit == "count" and isinstance(value, int):
        return f"{value:,}"
    return f"{value:,.2f}"


def _signed(value: Any, unit: str) -> str:
    text = _number(value, unit)
    return f"+{text}" if value is not None and value > 0 else text


def report_command(
    as_of: AnalysisAsOfOption = None,
    window_months: WindowOption = None,
    engine: EngineOption = None,
    output: FormatOption = OutputFormat.table,
) -> None:
    """Does the programme work? Members against comparable non-members (matched on their
    behaviour before joining) on retention, purchases, order value and customer value, with
    95 % intervals; participation, redemption, breakage, liability; tiers month by month."""
    from rapport.cli.metrics import parse_as_of
    from rapport.cli.scores import store_session
    from rapport.config import get_settings, load_rules
    from rapport.reports.loyalty import loyalty_report, programme_figures

    settings = get_settings()
    rules = load_rules(settings)
    moment = parse_as_of(as_of, settings)
    months = window_months or rules.loyalty.evaluation.window_months
    figures = programme_figures(settings, rules, moment, months, engine)
    with store_session() as session:
        report = loyalty_report(
            session, figures, settings=settings, rules=rules, as_of=moment, window_months=months
        )
    if output == OutputFormat.json:
        typer.echo(json.dumps(_json(_document(report)), ensure_ascii=False, indent=2))
    elif output == OutputFormat.csv:
        write_csv(_long_rows(report), ["section", "figure", "value"])
    else:
        _print_tables(report, settings)


def _json(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json(v) for v in value]
    return plain(value)


def _document(report: Any) -> dict[str, Any]:
    doc = dataclasses.asdict(report)
    for key in ("as_of", "window_start"):
        doc[key] = _utc(doc[key])
    for key in ("joined_from", "joined_until"):
        if doc["matching"][key] is not None:
            doc["matching"][key] = _utc(doc["matching"][key])
    for month in doc["tiers"]:
        month["end"] = _utc(month["end"])
    return doc


def _long_rows(report: Any) -> list[dict[str, Any]]:
    """One row per figure: ``section``, ``figure`` (dotted), ``value``."""
    rows: list[dict[str, Any]] = []
    for key, value in dataclasses.asdict(report.matching).items():
        if key != "spend_edges":
            rows.append({"section": "matching", "figure": key, "value": value})
    for o in report.outcomes:
        for key in ("members", "non_members", "difference", "low", "high", "relative"):
            rows.append({"section": "outcome", "figure": f"{o.id}.{key}", "value": getattr(o, key)})
    h = report.health
    for key in (*HEALTH_STOCKS, "point_value", "liability"):
        rows.append({"section": "health", "figure": key, "value": getattr(h, key)})
    for span in ("window", "to_date"):
        for key in HEALTH_FLOWS:
            value = getattr(getattr(h, span), key)
            rows.append({"section": "health", "figure": f"{span}.{key}", "value": value})
    for m in report.tiers:
        for code, count in m.tiers.items():
            rows.append({"section": "tiers", "figure": f"{m.month}.{code}", "value": count})
        for key in ("upgrades", "downgrades", "joined"):
            rows.append(
                {"section": "tiers", "figure": f"{m.month}.{key}", "value": getattr(m, key)}
            )
    for row in rows:
        if isinstance(row["value"], dt.datetime):
            row["value"] = _utc(row["value"])
    return rows


def _print_tables(report: Any, settings: Any) -> None:
    from rich.markup import escape

    from rapport.cli.common import console
    from rapport.i18n.loyalty_report import text
    from rapport.store.loyalty import TIER_NAMES

    locale = settings.locale

    def day(value: dt.datetime) -> str:
        return _utc(value).astimezone(settings.tz).date().isoformat()

    last_day = day(report.as_of - dt.timedelta(microseconds=1))
    console.print(escape(text("title", locale, as_of=last_day)), style="bold")
    m = report.matching
    rows = [
        {
            "outcome": text(f"outcome.{o.id}", locale),
            "members": _number(o.members, o.unit),
            "non_members": _number(o.non_members, o.unit),
            "difference": _signed(o.difference, o.unit),
            "interval": (
                "—" if o.low is None else f"{_number(o.low, o.unit)} … {_number(o.high, o.unit)}"
            ),
            "relative": "—" if o.relative is None else f"{o.relative:+,.1f}%",
        }
        for o in report.outcomes
    ]
    if m.members_matched:
        caption = text(
            "matching",
            locale,
            matched=m.members_matched,
            members=m.members,
            joined_from=day(m.joined_from),
            joined_until=day(m.joined_until - dt.timedelta(microseconds=1)),
            controls=m.non_member_observations,
            strata=m.strata,
            baseline=m.baseline_months,
        )
    else:
        caption = text("no_comparison", locale, window=m.window_months)
    columns = [
        Column(key, text(key, locale), numeric=key != "outcome", text=str, min_width=12)
        for key in ("outcome", "members", "non_members", "difference", "interval", "relative")
    ]
    emit(
        rows,
        columns,
        OutputFormat.table,
        title=text("comparison", locale, window=m.window_months),
        caption=escape(f"{caption}\n{text('definitions', locale)}"),
        locale=locale,
    )
    h = report.health
    health = [
        {
            "figure": text(f"health.{key}", locale),
            "window": "",
            "to_date": _number(getattr(h, key), "percent" if key in PERCENT else "count"),
        }
        for key in HEALTH_STOCKS
    ]
    health.append(
        {
            "figure": text("health.liability", locale),
            "window": "",
            "to_date": _number(h.liability, "currency"),
        }
    )
    for key in HEALTH_FLOWS:
        unit = "percent" if key in PERCENT else "count"
        health.append(
            {
                "figure": text(f"health.{key}", locale),
                "window": _number(getattr(h.window, key), unit),
                "to_date": _number(getattr(h.to_date, key), unit),
            }
        )
    emit(
        health,
        [
            Column("figure", text("figure", locale)),
            Column("window", text("window", locale, window=m.window_months), True, str),
            Column("to_date", text("to_date", locale), True, str),
        ],
        OutputFormat.table,
        title=text("health", locale),
        caption=escape(text("health_note", locale, point_value=h.point_value)),
        locale=locale,
    )
    zh = locale.startswith("zh")
    tiers = [
        {
            "month": t.month,
            **t.tiers,
            "upgrades": t.upgrades,
            "downgrades": t.downgrades,
            "joined": t.joined,
        }
        for t in report.tiers
    ]
    tier_columns = [
        Column(code, TIER_NAMES.get(code, (code, code))[0 if zh else 1], numeric=True)
        for code in report.tier_codes
    ]
    emit(
        tiers,
        [
            Column("month", text("month", locale)),
            *tier_columns,
            *(
                Column(k, text(k, locale), numeric=True)
                for k in ("upgrades", "downgrades", "joined")
            ),
        ],
        OutputFormat.table,
        title=text("tiers", locale),
        locale=locale,
    )
