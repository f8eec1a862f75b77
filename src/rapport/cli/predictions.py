"""``rapport clv`` and ``rapport at-risk``: the predictive columns of a snapshot, for staff.

Both read the stored snapshot (``rapport score`` fills it), never recompute: ``clv`` lists
the customers with the highest predicted CLV, with its 95 % interval and P(alive);
``at-risk`` lists the churn warnings 流失预警 — customers the churn classifier rates at or
above ``--min-risk``, ordered by value at risk (churn risk × predicted CLV) — with the
reasons that raise their risk most.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from rapport.cli.options import LimitOption
from rapport.cli.options import SnapshotAsOfOption as AsOfOption
from rapport.cli.output import Column, FormatOption, OutputFormat, emit
from rapport.cli.scores import parse_date, store_session
from rapport.config import get_settings, load_rules
from rapport.domain import LifecycleStage, ValueTier
from rapport.i18n.enums import label
from rapport.i18n.labels import t
from rapport.reports.snapshots import CustomerList

#: Narrowest the reasons column of ``at-risk`` wraps to (one reason on two lines at most).
REASONS_WIDTH = 24


def _read(report: Any, as_of: str | None, **options: Any) -> CustomerList:
    """Run the list ``report`` of :mod:`rapport.reports.snapshots` on the snapshot of
    ``--as-of`` (a date without a snapshot is refused with the dates that have one; no
    snapshot at all is :class:`~rapport.errors.NotFound`), for every customer. The rows
    name the customer ``id``, as the other lists of the command line do."""
    from rapport.store.scores import require_snapshot

    with store_session() as session:
        day = require_snapshot(session=session, as_of=parse_date(as_of), field="--as-of")
        found = report(session, day=day, **options)
    for row in found.rows:
        row["id"] = row.pop("customer_id")
    return found


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
    from rapport.reports.snapshots import top_clv

    found = _read(top_clv, as_of, limit=limit)
    day, rows = found.as_of, found.rows
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
    from rapport.reports.snapshots import churn_warnings

    found = _read(churn_warnings, as_of, limit=limit, min_risk=min_risk)
    day, rows = found.as_of, found.rows
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
