"""``rapport clv`` and ``rapport at-risk``: the predictive columns of a snapshot, for staff.

Both read the stored snapshot (``rapport score`` fills it), never recompute: ``clv`` lists
the customers with the highest predicted CLV, with its 95 % interval and P(alive);
``at-risk`` lists the churn warnings 流失预警 — customers the churn classifier rates at or
above ``--min-risk``, ordered by value at risk (churn risk × predicted CLV) — with the
reasons that raise their risk most.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated, Any

import sqlalchemy as sa
import typer
from rich.table import Table

from rapport.cli.common import console, store_engine
from rapport.cli.scores import OutputFormat, parse_date
from rapport.config import get_settings, load_rules
from rapport.domain import LifecycleStage, ValueTier
from rapport.i18n.enums import label
from rapport.i18n.labels import t
from rapport.store import schema

#: Candidates fetched before the reasons are read (value at risk is ordered in SQL).
CANDIDATES = 500

LimitOption = Annotated[int, typer.Option(min=1, max=1000, help="Rows to show.")]
AsOfOption = Annotated[
    str | None, typer.Option("--as-of", help="Snapshot date (default: the latest).")
]
FormatOption = Annotated[OutputFormat, typer.Option("--format")]


def _snapshot_day(conn: sa.Connection, as_of: str | None) -> dt.date | None:
    day = parse_date(as_of)
    if day is not None:
        return day
    s = schema.customer_scores
    return conn.execute(sa.select(sa.func.max(s.c.as_of))).scalar()


def _components(value: Any) -> dict[str, Any]:
    if isinstance(value, str):
        return json.loads(value)
    return value or {}


def top_clv(*, as_of: str | None = None, limit: int = 10) -> tuple[dt.date | None, list[dict]]:
    """The customers with the highest predicted CLV in a snapshot."""
    s, c = schema.customer_scores, schema.customers
    engine = store_engine()
    try:
        with engine.connect() as conn:
            day = _snapshot_day(conn, as_of)
            stmt = (
                sa.select(
                    c.c.id,
                    c.c.external_id,
                    c.c.name,
                    s.c.value_tier,
                    s.c.lifecycle_stage,
                    s.c.p_alive,
                    s.c.expected_purchases_90d,
                    s.c.predicted_clv,
                    s.c.components,
                )
                .join(c, c.c.id == s.c.customer_id)
                .where(s.c.as_of == day, s.c.predicted_clv.is_not(None))
                .order_by(s.c.predicted_clv.desc(), c.c.id)
                .limit(limit)
            )
            rows = [dict(r) for r in conn.execute(stmt).mappings()]
    finally:
        engine.dispose()
    for row in rows:
        prediction = _components(row.pop("components")).get("prediction") or {}
        row["clv_low"], row["clv_high"] = prediction.get("clv_low"), prediction.get("clv_high")
        row["predicted_clv"] = float(row["predicted_clv"])
    return day, rows


def churn_warnings(
    *, as_of: str | None = None, limit: int = 10, min_risk: float = 0.5
) -> tuple[dt.date | None, list[dict]]:
    """The classifier's churn warnings of a snapshot, by value at risk, with reasons."""
    s, c = schema.customer_scores, schema.customers
    value_at_risk = (s.c.churn_risk * s.c.predicted_clv).label("value_at_risk")
    engine = store_engine()
    try:
        with engine.connect() as conn:
            day = _snapshot_day(conn, as_of)
            stmt = (
                sa.select(
                    c.c.id,
                    c.c.external_id,
                    c.c.name,
                    s.c.value_tier,
                    s.c.lifecycle_stage,
                    s.c.churn_risk,
                    s.c.predicted_clv,
                    value_at_risk,
                    s.c.components,
                )
                .join(c, c.c.id == s.c.customer_id)
                .where(
                    s.c.as_of == day,
                    s.c.churn_risk >= min_risk,
                    s.c.predicted_clv.is_not(None),
                    c.c.deleted_at.is_(None),
                )
                .order_by(value_at_risk.desc(), c.c.id)
                .limit(CANDIDATES)
            )
            rows = []
            for row in conn.execute(stmt).mappings():
                churn = _components(row["components"]).get("churn") or {}
                if churn.get("source") != "classifier":
                    continue
                item = {k: v for k, v in row.items() if k != "components"}
                item["predicted_clv"] = float(item["predicted_clv"])
                item["value_at_risk"] = float(item["value_at_risk"])
                item["reasons"] = [
                    r for r in churn.get("reasons") or [] if r.get("direction") == "raises"
                ]
                rows.append(item)
                if len(rows) >= limit:
                    break
    finally:
        engine.dispose()
    return day, rows


def _who(row: dict[str, Any]) -> str:
    return f"{row['name'] or '—'} #{row['id']}"


def _tier(row: dict[str, Any], locale: str) -> str:
    return label(ValueTier(row["value_tier"]), locale) if row["value_tier"] else "—"


def _money(value: float | None) -> str:
    return "—" if value is None else f"{value:,.0f}"


def _reason_text(reasons: list[dict], locale: str) -> str:
    parts = []
    for r in reasons:
        value = r.get("value")
        shown = "—" if value is None else f"{value:,.3g}"
        parts.append(f"{t('feature.' + r['feature'], locale)} {shown}")
    return "\n".join(parts) or "—"


def clv_command(
    as_of: AsOfOption = None, limit: LimitOption = 10, fmt: FormatOption = OutputFormat.table
) -> None:
    """The customers with the highest predicted CLV (from the latest snapshot)."""
    settings = get_settings()
    locale = settings.locale
    day, rows = top_clv(as_of=as_of, limit=limit)
    if fmt != OutputFormat.table:
        console.print_json(json.dumps({"as_of": str(day), "customers": rows}, default=str))
        return
    months = load_rules(settings).models.clv_horizon_months
    table = Table(title=f"{t('clv_title', locale).format(months=months)} — {day}")
    for key in ("customers", "value_tier", "lifecycle_stage", "predicted_clv", "clv_interval"):
        table.add_column(t(key, locale), justify="right" if "clv" in key else "left")
    table.add_column(t("p_alive", locale), justify="right")
    for r in rows:
        table.add_row(
            _who(r),
            _tier(r, locale),
            label(LifecycleStage(r["lifecycle_stage"]), locale) if r["lifecycle_stage"] else "—",
            _money(r["predicted_clv"]),
            f"{_money(r['clv_low'])} – {_money(r['clv_high'])}",
            "—" if r["p_alive"] is None else f"{r['p_alive']:.2f}",
        )
    console.print(table)


def at_risk_command(
    as_of: AsOfOption = None,
    limit: LimitOption = 10,
    min_risk: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Lowest churn risk listed.")
    ] = 0.5,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """The churn warnings 流失预警: who to call first (by value at risk), and why."""
    settings = get_settings()
    locale = settings.locale
    day, rows = churn_warnings(as_of=as_of, limit=limit, min_risk=min_risk)
    if fmt != OutputFormat.table:
        console.print_json(json.dumps({"as_of": str(day), "customers": rows}, default=str))
        return
    table = Table(title=f"{t('churn_title', locale)} — {day}")
    for key in ("customers", "value_tier", "churn_risk", "predicted_clv", "value_at_risk"):
        table.add_column(
            t(key, locale), justify="left" if key in ("customers", "value_tier") else "right"
        )
    table.add_column(t("churn_reasons", locale), min_width=24)
    for r in rows:
        table.add_row(
            _who(r),
            _tier(r, locale),
            f"{r['churn_risk']:.0%}",
            _money(r["predicted_clv"]),
            _money(r["value_at_risk"]),
            _reason_text(r["reasons"], locale),
        )
    console.print(table)
