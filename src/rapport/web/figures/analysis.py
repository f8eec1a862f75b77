"""How the analysis page (:mod:`rapport.web.views.analysis`) shows its figures: the
explorer's rows and chart, the cohort heatmap, the RFM grid, the groups, the movements'
Sankey, the correlations, the CLV distribution, the chain and the clusters — table rows and
ECharts options in the reader's language."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from rapport.analytics.metrics import METRICS
from rapport.i18n.locale import pick
from rapport.reports import analysis as distributions
from rapport.reports import snapshots
from rapport.reports.groups import BY_ATTRIBUTES
from rapport.web.figures.overview import metric_text
from rapport.web.i18n import Formatter


def as_json(option: dict[str, Any]) -> str:
    return json.dumps(option, ensure_ascii=False)


def metric_label(metric_id: str, fmt: Formatter) -> str:
    metric = METRICS[metric_id]
    return pick((metric.label_zh, metric.label_en), fmt.locale)


def segment_label(by: str, value: Any, fmt: Formatter) -> str:
    """A group of the explorer in the page's language: scores and coded profile fields
    through the catalogues, free text (a city) as stored, no value as *none*."""
    if value is None or value == "":
        return fmt.t("analysis.no_group")
    if by in snapshots.GROUPINGS:
        return snapshots.group_label(by, str(value), fmt.locale) or str(value)
    if by in BY_ATTRIBUTES:
        return fmt.value("customers", by, value)
    return str(value)


def _number(value: Any, unit: str, fmt: Formatter) -> str:
    if value is None:
        return fmt.DASH
    if unit == "currency":
        return fmt.money(value)
    return fmt.number(value, 0 if float(value).is_integer() else 2)


def _bucket(row: dict[str, Any], granularity: str, fmt: Formatter) -> str:
    start = row.get("bucket_start")
    if start is None:
        return ""
    local = start.replace(tzinfo=dt.UTC).astimezone(fmt.zone)
    return fmt.date(local)


def metric_row(row: dict[str, Any], q: dict[str, str], unit: str, fmt: Formatter) -> dict[str, Any]:
    numerator_unit = "currency" if unit == "currency" else "count"
    return {
        "segment": segment_label(q["by"], row.get("segment"), fmt) if q["by"] else None,
        "bucket": _bucket(row, q["granularity"], fmt) if q["granularity"] else None,
        "numerator": _number(row["numerator"], numerator_unit, fmt),
        "denominator": _number(row["denominator"], "count", fmt),
        "value": metric_text(unit, row["value"], fmt),
        "raw": row["value"],
    }


def _plain(value: Any) -> float | None:
    return None if value is None else round(float(value), 2)


def metric_chart(
    rows: list[dict[str, Any]], q: dict[str, str], unit: str, fmt: Formatter
) -> dict[str, Any]:
    """Bars per segment (or one bar) for the whole period; a line per segment over the
    buckets with a granularity."""
    base: dict[str, Any] = {
        "animation": False,
        "tooltip": {"trigger": "axis"},
        "grid": {"left": 8, "right": 16, "top": 16, "bottom": 8, "containLabel": True},
        "yAxis": {"type": "value"},
    }
    if not q["granularity"]:
        names = [
            segment_label(q["by"], r.get("segment"), fmt)
            if q["by"]
            else metric_label(q["metric"], fmt)
            for r in rows
        ]
        return {
            **base,
            "xAxis": {
                "type": "category",
                "data": names,
                "axisLabel": {"interval": 0, "rotate": 30 if len(names) > 6 else 0},
            },
            "series": [
                {
                    "type": "bar",
                    "name": metric_label(q["metric"], fmt),
                    "data": [_plain(r["value"]) for r in rows],
                    "label": {"show": len(rows) <= 12, "position": "top"},
                }
            ],
        }
    starts = sorted({r["bucket_start"] for r in rows})
    labels = [_bucket({"bucket_start": s}, q["granularity"], fmt) for s in starts]
    series: dict[Any, dict[Any, Any]] = {}
    for r in rows:
        series.setdefault(r.get("segment") if q["by"] else None, {})[r["bucket_start"]] = r["value"]
    shapes = ("circle", "rect", "triangle", "diamond", "pin", "arrow", "roundRect")
    return {
        **base,
        "legend": {"bottom": 0, "type": "scroll"},
        "grid": {**base["grid"], "bottom": 40},
        "xAxis": {"type": "category", "data": labels},
        "series": [
            {
                "type": "line",
                "name": segment_label(q["by"], seg, fmt)
                if q["by"]
                else metric_label(q["metric"], fmt),
                "data": [_plain(values.get(s)) for s in starts],
                "symbol": shapes[i % len(shapes)],
                "symbolSize": 7,
            }
            for i, (seg, values) in enumerate(series.items())
        ],
    }


def cohort_cell(row: dict[str, Any] | None, fmt: Formatter) -> dict[str, Any]:
    if row is None:
        return {"share": "", "active": "", "level": None}
    share = row["share"]
    return {
        "share": fmt.DASH if share is None else fmt.percent(share / 100, 1),
        "active": fmt.number(row["active"]),
        "level": None if share is None else min(4, int(share // 20)),
    }


def cohort_chart(
    rows: list[dict[str, Any]], cohorts: list[str], offsets: list[int], fmt: Formatter
) -> dict[str, Any]:
    later = [r["share"] for r in rows if r["month_offset"] > 0 and r["share"] is not None]
    return {
        "animation": False,
        "tooltip": {"position": "top"},
        "grid": {"left": 8, "right": 16, "top": 8, "bottom": 84, "containLabel": True},
        "xAxis": {
            "type": "category",
            "name": fmt.t("analysis.month_offset"),
            "nameLocation": "middle",
            "nameGap": 28,
            "data": [str(o) for o in offsets],
            "splitArea": {"show": True},
        },
        "yAxis": {
            "type": "category",
            "inverse": True,
            "data": cohorts,
            "splitArea": {"show": True},
        },
        "visualMap": _colour_scale(0, max([round(v) for v in later] or [100])),
        "series": [
            {
                "type": "heatmap",
                "name": fmt.t("analysis.retention_share"),
                "data": [
                    [
                        offsets.index(r["month_offset"]),
                        cohorts.index(r["cohort"]),
                        _plain(r["share"]),
                    ]
                    for r in rows
                    if r["month_offset"] > 0 and r["share"] is not None
                ],
                "label": {"show": True, "fontSize": 10},
            }
        ],
    }


def grid_table(grid: list[dict[str, Any]], fmt: Formatter) -> dict[str, Any]:
    """The RFM grid as a table: R from 5 down, F from 1 up, each cell the customers and
    their revenue."""
    cells = {(g["r_score"], g["f_score"]): g for g in grid}
    r_scores = sorted({g["r_score"] for g in grid} | {1, 2, 3, 4, 5}, reverse=True)
    f_scores = sorted({g["f_score"] for g in grid} | {1, 2, 3, 4, 5})
    return {
        "f_scores": f_scores,
        "rows": [
            {
                "r": r,
                "cells": [
                    {
                        "customers": fmt.number(cells[(r, f)]["customers"])
                        if (r, f) in cells
                        else "0",
                        "revenue": fmt.money(cells[(r, f)]["revenue"])
                        if (r, f) in cells
                        else fmt.money(0),
                    }
                    for f in f_scores
                ],
            }
            for r in r_scores
        ],
    }


def grid_chart(grid: list[dict[str, Any]], fmt: Formatter) -> dict[str, Any]:
    return {
        "animation": False,
        "tooltip": {"position": "top"},
        "grid": {"left": 8, "right": 16, "top": 8, "bottom": 84, "containLabel": True},
        "xAxis": {
            "type": "category",
            "name": fmt.t("analysis.f_score"),
            "nameLocation": "middle",
            "nameGap": 28,
            "data": ["1", "2", "3", "4", "5"],
        },
        "yAxis": {
            "type": "category",
            "name": fmt.t("analysis.r_score"),
            "data": ["1", "2", "3", "4", "5"],
        },
        "visualMap": _colour_scale(0, max([g["customers"] for g in grid] or [1])),
        "series": [
            {
                "type": "heatmap",
                "name": fmt.t("customers"),
                "data": [[g["f_score"] - 1, g["r_score"] - 1, g["customers"]] for g in grid],
                "label": {"show": True},
            }
        ],
    }


def _group_name(by: str, value: str | None, fmt: Formatter) -> str:
    if value is None:
        return fmt.t("analysis.no_group")
    return snapshots.group_label(by, value, fmt.locale) or value


def group_row(by: str, g: dict[str, Any], fmt: Formatter) -> dict[str, Any]:
    return {
        "group": g["group"],
        "label": _group_name(by, g["group"], fmt),
        "customers": fmt.number(g["customers"]),
        "customer_share": fmt.percent(g["customer_share"] / 100, 1),
        "revenue": fmt.money(g["revenue"]),
        "revenue_share": fmt.percent(
            None if g["revenue_share"] is None else g["revenue_share"] / 100, 1
        ),
        "relationship_index": fmt.number(g["avg_relationship_index"], 1),
    }


def group_chart(by: str, rows: list[dict[str, Any]], fmt: Formatter) -> dict[str, Any]:
    return {
        "animation": False,
        "tooltip": {"trigger": "axis", "axisPointer": {"type": "shadow"}},
        "legend": {"bottom": 0},
        "grid": {"left": 8, "right": 40, "top": 8, "bottom": 32, "containLabel": True},
        "xAxis": {"type": "value", "max": 100, "axisLabel": {"formatter": "{value}%"}},
        "yAxis": {
            "type": "category",
            "inverse": True,
            "data": [_group_name(by, g["group"], fmt) for g in rows],
        },
        "series": [
            {
                "type": "bar",
                "name": fmt.t("customer_share"),
                "data": [_plain(g["customer_share"]) for g in rows],
            },
            {
                "type": "bar",
                "name": fmt.t("revenue_share"),
                "data": [_plain(g["revenue_share"]) for g in rows],
                "itemStyle": {
                    "decal": {"symbol": "rect", "dashArrayX": [1, 0], "dashArrayY": [2, 3]}
                },
            },
        ],
    }


def move_row(by: str, m: dict[str, Any], fmt: Formatter) -> dict[str, Any]:
    return {
        "from": _group_name(by, m["from"], fmt),
        "to": _group_name(by, m["to"], fmt),
        "customers": fmt.number(m["customers"]),
    }


def sankey(by: str, moves: list[dict[str, Any]], fmt: Formatter) -> dict[str, Any]:
    """The movements as a Sankey: the previous snapshot's groups on the left, the latest's
    on the right (each side its own nodes, so a flow never loops)."""
    before = fmt.t("analysis.before")
    after = fmt.t("analysis.after")

    def node(side: str, value: str | None) -> str:
        return f"{side} · {_group_name(by, value, fmt)}"

    names = list(
        dict.fromkeys(
            [node(before, m["from"]) for m in moves] + [node(after, m["to"]) for m in moves]
        )
    )
    return {
        "animation": False,
        "tooltip": {"trigger": "item"},
        "series": [
            {
                "type": "sankey",
                "left": 8,
                "right": 120,
                "top": 8,
                "bottom": 8,
                "nodeGap": 10,
                "emphasis": {"focus": "adjacency"},
                "lineStyle": {"color": "gradient", "opacity": 0.4},
                "data": [{"name": n} for n in names],
                "links": [
                    {
                        "source": node(before, m["from"]),
                        "target": node(after, m["to"]),
                        "value": m["customers"],
                    }
                    for m in moves
                ],
            }
        ],
    }


def correlation_table(pairs: list[dict[str, Any]], fmt: Formatter) -> dict[str, Any]:
    """The correlations as a square table (each pair shown both ways)."""
    names = distributions.CORRELATED
    r = {(p["x"], p["y"]): p["r"] for p in pairs} | {(p["y"], p["x"]): p["r"] for p in pairs}
    return {
        "names": [fmt.t(f"degree.{n}") for n in names],
        "rows": [
            {
                "name": fmt.t(f"degree.{a}"),
                "cells": [
                    fmt.DASH if r[(a, b)] is None else fmt.number(r[(a, b)], 2) for b in names
                ],
            }
            for a in names
        ],
    }


def correlation_chart(pairs: list[dict[str, Any]], fmt: Formatter) -> dict[str, Any]:
    names = distributions.CORRELATED
    labels = [fmt.t(f"degree.{n}") for n in names]
    cells = []
    for p in pairs:
        if p["r"] is None:
            continue
        i, j = names.index(p["x"]), names.index(p["y"])
        cells.append([i, j, round(p["r"], 2)])
        if i != j:
            cells.append([j, i, round(p["r"], 2)])
    return {
        "animation": False,
        "tooltip": {"position": "top"},
        "grid": {"left": 8, "right": 16, "top": 8, "bottom": 64, "containLabel": True},
        "xAxis": {"type": "category", "data": labels, "axisLabel": {"interval": 0, "rotate": 20}},
        "yAxis": {"type": "category", "data": labels, "inverse": True},
        "visualMap": diverging_scale(-1, 1),
        "series": [
            {
                "type": "heatmap",
                "name": fmt.t("analysis.correlation"),
                "data": cells,
                "label": {"show": True},
            }
        ],
    }


def clv_row(b: dict[str, Any], fmt: Formatter) -> dict[str, Any]:
    return {
        "range": f"{fmt.money(b['low'])} – {fmt.money(b['high'])}",
        "customers": fmt.number(b["customers"]),
        "clv": fmt.money(b["clv"]),
    }


def clv_chart(bins: list[dict[str, Any]], fmt: Formatter) -> dict[str, Any]:
    return {
        "animation": False,
        "tooltip": {"trigger": "axis"},
        "grid": {"left": 8, "right": 16, "top": 16, "bottom": 8, "containLabel": True},
        "xAxis": {
            "type": "category",
            "data": [fmt.number(b["low"]) for b in bins],
            "name": fmt.t("predicted_clv"),
            "axisLabel": {"rotate": 30},
        },
        "yAxis": {"type": "value", "name": fmt.t("customers")},
        "series": [
            {
                "type": "bar",
                "name": fmt.t("customers"),
                "data": [b["customers"] for b in bins],
                "barCategoryGap": "4%",
                "label": {"show": True, "position": "top"},
            }
        ],
    }


def link_row(link: dict[str, Any], fmt: Formatter) -> dict[str, Any]:
    lift = link["lift"]
    return {
        "source": fmt.t(f"degree.{link['source']}"),
        "target": fmt.t(f"degree.{link['target']}"),
        "high_source": fmt.number(link["high_source"]),
        "share": fmt.percent(link["share"], 1),
        "base_rate": fmt.percent(link["base_rate"], 1),
        "lift": fmt.DASH if lift is None else fmt.number(lift, 2) + "×",
        "holds": lift is not None and lift > 1,
        "customers": fmt.number(link["customers"]),
    }


def _colour_scale(low: float, high: float) -> dict[str, Any]:
    """The ECharts ``visualMap`` of a heatmap: ``low`` to ``high``, a horizontal scale
    centred under the chart."""
    return {
        "min": low,
        "max": high,
        "calculable": True,
        "orient": "horizontal",
        "left": "center",
        "bottom": 0,
        "itemHeight": 120,
    }


def diverging_scale(low: float, high: float) -> dict[str, Any]:
    """:func:`_colour_scale` from orange through white to blue, for values around 0."""
    return {**_colour_scale(low, high), "inRange": {"color": ["#c2410c", "#f8fafc", "#1d4ed8"]}}
