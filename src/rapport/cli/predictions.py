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

from rapport.cli.common import store_engine
from rapport.cli.output import Column, FormatOption, OutputFormat, emit
from rapport.cli.scores import parse_date
from rapport.config import get_settings, load_rules
from rapport.domain import LifecycleStage, ValueTier
from rapport.i18n.enums import label
from rapport.i18n.labels import t
from rapport.store import schema

#: Narrowest the reasons column of ``at-risk`` wraps to (one reason on two lines at most).
REASONS_WIDTH = 24
#: Candidates fetched before the reasons are read (value at risk is ordered in SQL).
CANDIDATES = 500

LimitOption = Annotated[int, typer.Option(min=1, max=1000, help="Rows to show.")]
AsOfOption = Annotated[
    str | None, typer.Option("--as-of", help="Snapshot date (default: the latest).")
]


def _snapshot_day(conn: sa.Connection, as_of: str | None) -> dt.date:
    """``--as-of`` or the latest snapshot date; a date without a snapshot is refused with
    the dates that have one, no snapshot at all is :class:`~rapport.errors.NotFound`."""
    from rapport.store.scores import check_snapshot_date

    s = schema.customer_scores
    dates = list(conn.execute(sa.select(s.c.as_of).distinct().order_by(s.c.as_of)).scalars())
    return check_snapshot_date(dates, parse_date(as_of), field="--as-of")


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


def reason_text(reason: dict[str, Any], locale: str) -> str:
    """One churn reason for people: the feature, its value and the way it moves the risk
    (↑ raises, ↓ lowers), e.g. ``距上次购买天数 120: ↑ 提高风险``."""
    shown = _reason_value(reason.get("value"))
    raises = reason.get("direction") == "raises"
    way = f"{'↑' if raises else '↓'} {t('raises_risk' if raises else 'lowers_risk', locale)}"
    return f"{t('feature.' + reason['feature'], locale)} {shown}: {way}"


def _reason_value(value: float | None) -> str:
    """Three significant digits, never in exponent notation (1,050 rather than 1.05e+03)."""
    if value is None:
        return "—"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def _reasons(reasons: list[dict] | None, locale: str) -> str:
    return "\n".join(reason_text(r, locale) for r in reasons or ()) or "—"


def _who_columns(locale: str) -> list[Column]:
    return [
        Column("id", t("customer_id", locale), numeric=True, text=lambda v: f"#{v}"),
        Column("name", t("name", locale)),
        Column("external_id", t("external_id", locale), keep=1),
        Column(
            "value_tier",
            t("value_tier", locale),
            text=lambda v: label(ValueTier(v), locale) if v else "—",
            keep=3,
        ),
    ]


def _probability(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


def clv_command(
    as_of: AsOfOption = None, limit: LimitOption = 10, fmt: FormatOption = OutputFormat.table
) -> None:
    """The customers with the highest predicted CLV (from the latest snapshot)."""
    settings = get_settings()
    locale = settings.locale
    day, rows = top_clv(as_of=as_of, limit=limit)
    months = load_rules(settings).models.clv_horizon_months
    # At 80 columns: who, the CLV with its interval and P(alive) always show; the customer
    # number goes first, then the expected purchases, the stage and the tier.
    columns = [
        *_who_columns(locale),
        Column(
            "lifecycle_stage",
            t("lifecycle_stage", locale),
            text=lambda v: label(LifecycleStage(v), locale) if v else "—",
            keep=2,
        ),
        Column("predicted_clv", t("predicted_clv", locale), numeric=True),
        Column("clv_low", t("clv_low", locale), numeric=True),
        Column("clv_high", t("clv_high", locale), numeric=True),
        Column("p_alive", t("p_alive", locale), numeric=True, text=_probability),
        Column(
            "expected_purchases_90d",
            t("expected_purchases_90d", locale),
            numeric=True,
            text=_probability,
            keep=1,
        ),
    ]
    emit(
        rows,
        columns,
        fmt,
        title=f"{t('clv_title', locale).format(months=months)} — {day}",
        key="customers",
        meta={"as_of": day},
        locale=locale,
    )


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
    # At 80 columns: who, the risk, the value at risk and the reasons always show; the
    # customer number goes first, then the predicted CLV and the tier.
    columns = [
        *_who_columns(locale),
        Column(
            "churn_risk",
            t("churn_risk", locale),
            numeric=True,
            text=lambda v: "—" if v is None else f"{v:.0%}",
        ),
        Column("predicted_clv", t("predicted_clv", locale), numeric=True, keep=2),
        Column("value_at_risk", t("value_at_risk", locale), numeric=True),
        Column(
            "reasons",
            t("churn_reasons", locale),
            text=lambda v: _reasons(v, locale),
            min_width=REASONS_WIDTH,
        ),
    ]
    emit(
        rows,
        columns,
        fmt,
        title=f"{t('churn_title', locale)} — {day}",
        key="customers",
        meta={"as_of": day},
        locale=locale,
    )
