"""How the overview (:mod:`rapport.web.views.overview`) shows its figures: the metric cards
with their change and sparkline, the trends, the snapshot's headline cards, the tiers'
pyramid, the stages and the degrees over the snapshots — table rows and ECharts options in
the reader's language."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from babel.dates import format_skeleton

from rapport.analytics.metrics import METRICS
from rapport.domain import LifecycleStage, ValueTier
from rapport.i18n.locale import pick
from rapport.reports import overview as figures
from rapport.web.i18n import Formatter

#: Metrics whose rise is a change for the worse.
LOWER_IS_BETTER = frozenset({"churn_rate"})
DEGREES = ("satisfaction", "loyalty", "engagement", "advocacy", "relationship_index")


def as_json(option: dict[str, Any]) -> str:
    return json.dumps(option, ensure_ascii=False)


def _round(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)


def metric_label(metric_id: str, fmt: Formatter) -> str:
    metric = METRICS[metric_id]
    return pick((metric.label_zh, metric.label_en), fmt.locale)


def metric_text(unit: str, value: float | None, fmt: Formatter) -> str:
    """A metric's value in its unit (``percent`` values are 0–100)."""
    if value is None:
        return fmt.DASH
    if unit == "percent":
        return fmt.percent(value / 100, 1)
    if unit == "currency":
        return fmt.money(value)
    if unit == "count":
        return fmt.number(value)
    return fmt.number(value, 1)


def change_text(unit: str, delta: float, fmt: Formatter) -> str:
    """A change in a metric's unit, signed (percent: in percentage points)."""
    sign = "+" if delta > 0 else "−" if delta < 0 else "±"
    size = abs(delta)
    if unit == "percent":
        return fmt.t("overview.points", value=sign + fmt.number(size, 1))
    if unit == "currency":
        return sign + fmt.money(size)
    if unit == "count":
        return sign + fmt.number(size)
    return sign + fmt.number(size, 1)


def _direction(delta: float | None, lower_is_better: bool) -> dict[str, Any]:
    """How a change reads: its arrow and words (never the colour alone) and whether it is
    for the better."""
    if delta is None:
        return {"arrow": "", "words": "", "tone": "none"}
    if delta == 0:
        return {"arrow": "→", "words": "overview.same", "tone": "same"}
    better = (delta < 0) if lower_is_better else (delta > 0)
    return {
        "arrow": "▲" if delta > 0 else "▼",
        "words": "overview.up" if delta > 0 else "overview.down",
        "tone": "better" if better else "worse",
    }


def metric_cards(result: dict[str, Any], fmt: Formatter) -> list[dict[str, Any]]:
    cards = []
    for metric_id in figures.HEADLINE:
        unit = METRICS[metric_id].unit
        now = result["headline"][metric_id]["value"]
        before = result["headline"][metric_id]["previous"]
        delta = figures.change(now, before)
        label = metric_label(metric_id, fmt)
        series = [_round(v, 2) for v in result["series"][metric_id]]
        cards.append(
            {
                "id": metric_id,
                "label": label,
                "value": metric_text(unit, now, fmt),
                "measured": now is not None,
                "previous": metric_text(unit, before, fmt),
                "change": None if delta is None else change_text(unit, delta, fmt),
                "direction": _direction(delta, metric_id in LOWER_IS_BETTER),
                "definition": fmt.t(f"overview.def.{metric_id}"),
                "sparkline": as_json(_sparkline(series, label, result, fmt)),
                "sparkline_label": fmt.t("overview.sparkline", metric=label),
            }
        )
    return cards


def _month_names(result: dict[str, Any], fmt: Formatter) -> list[str]:
    """The months of the series in the user's language (``2026年11月``, ``Nov 2026``)."""
    return [
        format_skeleton(
            "yMMM", m["start"].replace(tzinfo=dt.UTC).astimezone(fmt.zone), locale=fmt.babel
        )
        for m in result["months"]
    ]


def _sparkline(
    series: list[float | None], label: str, result: dict[str, Any], fmt: Formatter
) -> dict[str, Any]:
    return {
        "animation": False,
        "grid": {"left": 2, "right": 2, "top": 4, "bottom": 4},
        "tooltip": {"trigger": "axis"},
        "xAxis": {"type": "category", "show": False, "data": _month_names(result, fmt)},
        "yAxis": {"type": "value", "show": False, "scale": True},
        "series": [
            {
                "type": "line",
                "name": label,
                "data": series,
                "symbol": "none",
                "connectNulls": False,
                "lineStyle": {"width": 2},
                "areaStyle": {"opacity": 0.12},
            }
        ],
    }


def trend_rows(result: dict[str, Any], fmt: Formatter) -> dict[str, Any]:
    """The trend metrics as a table: the months, then per metric its label and values."""
    return {
        "months": _month_names(result, fmt),
        "metrics": [
            {
                "id": m,
                "label": metric_label(m, fmt),
                "definition": fmt.t(f"overview.def.{m}"),
                "values": [metric_text(METRICS[m].unit, v, fmt) for v in result["series"][m]],
            }
            for m in figures.TRENDS
        ],
    }


def trends_chart(result: dict[str, Any], fmt: Formatter) -> dict[str, Any]:
    return {
        "animation": False,
        "tooltip": {"trigger": "axis"},
        "legend": {"bottom": 0, "type": "scroll"},
        "grid": {"left": 44, "right": 16, "top": 16, "bottom": 56},
        "xAxis": {"type": "category", "data": _month_names(result, fmt)},
        "yAxis": {"type": "value"},
        "series": [
            {
                "type": "line",
                "name": metric_label(m, fmt),
                "data": [_round(v) for v in result["series"][m]],
                "symbol": ("circle", "rect", "triangle", "diamond")[i],
                "symbolSize": 7,
            }
            for i, m in enumerate(figures.TRENDS)
        ],
    }


# --- the snapshot parts ------------------------------------------------------------------------


def snapshot_headline(
    history: list[dict[str, Any]], previous: dt.date | None, fmt: Formatter
) -> list[dict[str, Any]]:
    """The latest snapshot's figures with their change since the previous snapshot."""
    now = history[-1] if history else {}
    before = history[-2] if len(history) > 1 and history[-2]["as_of"] == previous else None

    def card(
        key: str, label: str, field: str, shown: Any, lower_is_better: bool = False
    ) -> dict[str, Any]:
        value = now.get(field)
        earlier = None if before is None else before.get(field)
        if field == "value_at_risk":  # not measured where no customer has both inputs
            value = value if now.get("valued") else None
            earlier = earlier if before and before.get("valued") else None
        if field.startswith("avg_"):
            value, earlier = _round(value), _round(earlier)
        delta = figures.change(value, earlier)
        return {
            "id": key,
            "label": label,
            "value": shown(value),
            "measured": value is not None,
            "change": None if delta is None else _signed(delta, shown),
            "direction": _direction(delta, lower_is_better),
            "definition": fmt.t(f"overview.def.{key}"),
        }

    return [
        card("scored", fmt.t("overview.scored"), "customers", fmt.number),
        card(
            "relationship_index",
            fmt.t("degree.relationship_index"),
            "avg_relationship_index",
            lambda v: fmt.number(v, 1),
        ),
        card("diamonds", fmt.t("overview.diamonds"), "diamonds", fmt.number),
        card("var", fmt.t("value_at_risk"), "value_at_risk", fmt.money, lower_is_better=True),
    ]


def _signed(delta: float, shown: Any) -> str:
    sign = "+" if delta > 0 else "−" if delta < 0 else "±"
    return sign + shown(abs(delta))


def tier_label(value: str | None, fmt: Formatter) -> str:
    if value is None:
        return fmt.t("overview.not_scored")
    return fmt.enum(ValueTier(value))


def _group_label(by: str, value: str | None, fmt: Formatter) -> str:
    if value is None:
        return fmt.t("overview.no_tier" if by == "value_tier" else "overview.no_stage")
    return fmt.enum(ValueTier(value) if by == "value_tier" else LifecycleStage(value))


def group_row(group: dict[str, Any], by: str, fmt: Formatter) -> dict[str, Any]:
    return {
        "group": group["group"],
        "label": _group_label(by, group["group"], fmt),
        "customers": fmt.number(group["customers"]),
        "customer_share": fmt.percent(group["customer_share"] / 100, 1),
        "revenue": fmt.money(group["revenue"]),
        "revenue_share": fmt.percent(
            None if group["revenue_share"] is None else group["revenue_share"] / 100, 1
        ),
        "relationship_index": fmt.number(group["avg_relationship_index"], 1),
    }


def degrees_chart(history: list[dict[str, Any]], fmt: Formatter) -> dict[str, Any]:
    return {
        "animation": False,
        "tooltip": {"trigger": "axis"},
        "legend": {"bottom": 0, "type": "scroll"},
        "grid": {"left": 40, "right": 16, "top": 16, "bottom": 56},
        "xAxis": {"type": "category", "data": [fmt.date(h["as_of"]) for h in history]},
        "yAxis": {"type": "value", "min": 0, "max": 100},
        "series": [
            {
                "type": "line",
                "name": fmt.t(f"degree.{k}"),
                "data": [_round(h[f"avg_{k}"]) for h in history],
                "symbol": ("circle", "rect", "triangle", "diamond", "pin")[i],
                "symbolSize": 8,
                "lineStyle": {"width": 3 if k == "relationship_index" else 1.5},
            }
            for i, k in enumerate(DEGREES)
        ],
    }


def pyramid(tiers: list[dict[str, Any]], fmt: Formatter) -> dict[str, Any]:
    """Two bar charts back to back, diamond at the top: the tiers' share of the customers
    (left) and of the revenue (right)."""
    rows = list(reversed(tiers))  # ECharts draws the first category at the bottom
    names = [_group_label("value_tier", g["group"], fmt) for g in rows]
    customers = fmt.t("customer_share")
    revenue = fmt.t("revenue_share")
    axis = {"type": "category", "data": names, "axisTick": {"show": False}}
    return {
        "animation": False,
        "tooltip": {"trigger": "item", "formatter": "{b}<br/>{a}: {c}%"},
        "title": [
            {"text": customers, "left": "22%", "top": 0, "textStyle": {"fontSize": 12}},
            {"text": revenue, "left": "66%", "top": 0, "textStyle": {"fontSize": 12}},
        ],
        "grid": [
            {"left": "4%", "width": "38%", "top": 28, "bottom": 8, "containLabel": True},
            {"left": "58%", "width": "38%", "top": 28, "bottom": 8, "containLabel": True},
        ],
        "xAxis": [
            {"type": "value", "gridIndex": 0, "inverse": True, "show": False},
            {"type": "value", "gridIndex": 1, "show": False},
        ],
        "yAxis": [
            {**axis, "gridIndex": 0, "position": "right", "axisLabel": {"show": False}},
            {**axis, "gridIndex": 1, "position": "left"},
        ],
        "series": [
            {
                "type": "bar",
                "name": customers,
                "xAxisIndex": 0,
                "yAxisIndex": 0,
                "data": [_round(g["customer_share"]) for g in rows],
                "label": {"show": True, "position": "left", "formatter": "{c}%"},
                "barWidth": "60%",
            },
            {
                "type": "bar",
                "name": revenue,
                "xAxisIndex": 1,
                "yAxisIndex": 1,
                "data": [_round(g["revenue_share"]) for g in rows],
                "label": {"show": True, "position": "right", "formatter": "{c}%"},
                "barWidth": "60%",
            },
        ],
    }


def stages_chart(stages: list[dict[str, Any]], fmt: Formatter) -> dict[str, Any]:
    return {
        "animation": False,
        "tooltip": {"trigger": "axis", "axisPointer": {"type": "shadow"}},
        "grid": {"left": 8, "right": 48, "top": 8, "bottom": 8, "containLabel": True},
        "xAxis": {"type": "value", "show": False},
        "yAxis": {
            "type": "category",
            "inverse": True,
            "data": [_group_label("lifecycle_stage", g["group"], fmt) for g in stages],
        },
        "series": [
            {
                "type": "bar",
                "name": fmt.t("customers"),
                "data": [g["customers"] for g in stages],
                "label": {"show": True, "position": "right"},
            }
        ],
    }
