"""The backtest report: one self-contained HTML file of charts and tables (回测报告).

:func:`render_backtest_report` turns plain data — lists of row dicts and dicts of figures,
as the backtests' ``to_dict()`` give them — into a single HTML file: CSS inline, every
chart a base64 PNG drawn by matplotlib's Agg renderer (object API: no pyplot state, no
global backend switch), no script and no external URL, so it opens offline and can be
mailed as it is. Each section is optional; a missing one says so instead of vanishing.

Chart text is ASCII in DejaVu Sans (which every matplotlib ships); Chinese appears only in
the HTML, where the browser has the fonts. A category whose name is not ASCII is drawn as
``C1``, ``C2`` … with the names given beside the chart.

Numbers in tables: integers as they are, other numbers with three decimals (``1.234``) or,
from 1000 on, one (``12345.7``); percentages (WAPE, MAPE) with one decimal; missing values
as ``—``.
"""

from __future__ import annotations

import base64
import html
import io
import math
import numbers
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import matplotlib

if TYPE_CHECKING:
    from matplotlib.typing import RcKeyType
from matplotlib.figure import Figure

Rows = Sequence[Mapping[str, Any]]
STYLE: dict[RcKeyType, Any] = {
    "font.family": "DejaVu Sans",
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "svg.fonttype": "none",
}
ACTUAL, MODEL, BASELINE = "#1f4e79", "#d9822b", "#8c8c8c"
CSS = """
body{font-family:-apple-system,"Segoe UI","PingFang SC","Microsoft YaHei","Noto Sans CJK SC",
sans-serif;margin:2rem auto;max-width:980px;color:#222;line-height:1.45;padding:0 1rem}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{font-size:1.25rem;margin-top:2.2rem;
border-bottom:1px solid #ddd;padding-bottom:.2rem}h3{font-size:1rem}
table{border-collapse:collapse;margin:.6rem 0;font-size:.85rem}
th,td{border:1px solid #ddd;padding:.25rem .55rem;text-align:right}
th{background:#f4f6f8}td:first-child,th:first-child{text-align:left}
img{max-width:100%;height:auto;display:block;margin:.6rem 0}
.note{color:#666;font-style:italic}.how{color:#444;font-size:.9rem}
details summary{cursor:pointer;color:#1f4e79}
"""


# --- formatting ---------------------------------------------------------------------------------


def _fmt(value: Any, digits: int | None = None) -> str:
    """A table cell: ``—`` for missing, integers as they are, floats rounded."""
    if value is None or (isinstance(value, numbers.Real) and math.isnan(value)):
        return "—"
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return html.escape(str(value))
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if digits is None:
        digits = 1 if abs(float(value)) >= 1000 else 3
    return f"{value:.{digits}f}"


def _get(row: Mapping[str, Any], *names: str, default: Any = None) -> Any:
    """The first of ``names`` that ``row`` has."""
    return next((row[n] for n in names if n in row), default)


def _table(
    header: Sequence[str], rows: Iterable[Sequence[Any]], digits: dict[int, int] | None = None
) -> str:
    """An HTML table; ``digits`` maps a column index to its decimals."""
    digits = digits or {}
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{_fmt(v, digits.get(i))}</td>" for i, v in enumerate(r)) + "</tr>"
        for r in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _image(fig: Figure, alt: str) -> str:
    """``fig`` as an inline PNG ``<img>``."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight", metadata={"Software": None})
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def _figure(width: float = 7.0, height: float = 3.6) -> Figure:
    return Figure(figsize=(width, height), layout="constrained")


def _ascii(label: Any, index: int) -> str:
    text = str(label)
    return text if text.isascii() else f"C{index + 1}"


def _num(value: Any) -> float:
    return math.nan if value is None else float(value)


def _section(key: str, title: str, how: str, body: str | None) -> str:
    inner = (
        body if body is not None else '<p class="note">Not provided in this run. 本次未提供。</p>'
    )
    heading = f"<h2>{html.escape(title)}</h2>"
    return f'<section id="{key}">{heading}<p class="how">{how}</p>{inner}</section>'


# --- sections -----------------------------------------------------------------------------------


def _frequency(rows: Rows) -> str:
    labels = [str(_get(r, "bin", "frequency", default=i)) for i, r in enumerate(rows)]
    actual = [_num(_get(r, "actual")) for r in rows]
    predicted = [_num(_get(r, "predicted", "expected")) for r in rows]
    fig = _figure()
    ax = fig.subplots()
    ax.plot(labels, actual, "o-", color=ACTUAL, label="Actual")
    ax.plot(labels, predicted, "s--", color=MODEL, label="Model")
    ax.set(xlabel="Repeat purchases in calibration", ylabel="Mean purchases in holdout")
    ax.legend(frameon=False)
    table = _table(
        ["Bin 频次", "Customers 客户数", "Actual 实际", "Predicted 预测"],
        (
            [lab, r.get("customers"), r.get("actual"), _get(r, "predicted", "expected")]
            for lab, r in zip(labels, rows, strict=True)
        ),
    )
    return _image(fig, "Conditional expectations by calibration frequency") + table


def _cumulative(data: Rows | Mapping[str, Any]) -> str:
    rows = data.get("rows", []) if isinstance(data, Mapping) else data
    end = data.get("calibration_end") if isinstance(data, Mapping) else None
    xs = [_get(r, "period", "date", "day", "week", default=i) for i, r in enumerate(rows)]
    if end is None:  # the last row flagged as calibration
        flagged = [x for x, r in zip(xs, rows, strict=True) if r.get("calibration")]
        end = flagged[-1] if flagged else None
    numeric = all(isinstance(x, int | float) for x in xs)
    positions = xs if numeric else list(range(len(xs)))
    fig = _figure()
    ax = fig.subplots()
    ax.plot(positions, [_num(r.get("actual")) for r in rows], "-", color=ACTUAL, label="Actual")
    ax.plot(
        positions,
        [_num(_get(r, "predicted", "expected")) for r in rows],
        "--",
        color=MODEL,
        label="Model",
    )
    if end is not None and end in xs:
        ax.axvline(
            positions[xs.index(end)], color="#555", linestyle=":", label="End of calibration"
        )
    if not numeric:
        step = max(1, len(xs) // 8)
        ax.set_xticks(positions[::step], [str(x)[:10] for x in xs[::step]], rotation=30, ha="right")
    ax.set(ylabel="Cumulative repeat purchases")
    ax.legend(frameon=False)
    table = _table(
        ["Period 期间", "Actual 实际", "Predicted 预测"],
        (
            [x, r.get("actual"), _get(r, "predicted", "expected")]
            for x, r in zip(xs, rows, strict=True)
        ),
    )
    note = f"<p>End of calibration 校准期结束: {_fmt(end)}</p>" if end is not None else ""
    return (
        _image(fig, "Cumulative repeat purchases")
        + note
        + f"<details><summary>Table 表</summary>{table}</details>"
    )


def _reliability(rows: Rows) -> str:
    predicted = [_num(_get(r, "mean_predicted", "predicted")) for r in rows]
    observed = [_num(_get(r, "observed_rate", "observed")) for r in rows]
    customers = [_num(r.get("customers", 1)) for r in rows]
    fig = _figure(4.6, 4.2)
    ax = fig.subplots()
    ax.plot([0, 1], [0, 1], ":", color=BASELINE, label="Perfect calibration")
    biggest = max((c for c in customers if not math.isnan(c)), default=1) or 1
    ax.scatter(
        predicted,
        observed,
        s=[20 + 180 * c / biggest for c in customers],
        color=MODEL,
        zorder=3,
        label="Model (area ~ customers)",
    )
    ax.plot(predicted, observed, "-", color=MODEL, alpha=0.5)
    ax.set(
        xlim=(0, 1), ylim=(0, 1), xlabel="Mean predicted churn risk", ylabel="Observed churn rate"
    )
    ax.legend(frameon=False, loc="upper left")
    labels = [_get(r, "bin", default=None) for r in rows]
    labels = [
        lab if lab is not None else f"{_fmt(_get(r, 'bin_start'), 1)}–{_fmt(_get(r, 'bin_end'), 1)}"
        for lab, r in zip(labels, rows, strict=True)
    ]
    table = _table(
        ["Bin 区间", "Mean predicted 平均预测", "Observed 实际比例", "Customers 客户数"],
        (
            [
                lab,
                _get(r, "mean_predicted", "predicted"),
                _get(r, "observed_rate", "observed"),
                r.get("customers"),
            ]
            for lab, r in zip(labels, rows, strict=True)
        ),
    )
    return _image(fig, "Reliability diagram") + table


def _churn_metrics(metrics: Mapping[str, Any]) -> str:
    measures = ("roc_auc", "pr_auc", "brier")
    scores = [("model", metrics)] if any(k in metrics for k in measures) else []
    scores += [(k, v) for k, v in metrics.items() if isinstance(v, Mapping) and "roc_auc" in v]
    out = _table(
        ["Method 方法", "ROC-AUC", "PR-AUC", "Brier"],
        ([name, *(s.get(m) for m in measures)] for name, s in scores),
    )
    figures = [
        (k, v) for k, v in metrics.items() if k not in measures and isinstance(v, int | float | str)
    ]
    if figures:
        out += _table(["Figure 指标", "Value 值"], figures)
    lift = metrics.get("lift") or []
    if lift:
        groups = [str(_get(r, "decile", "group", default=i + 1)) for i, r in enumerate(lift)]
        fig = _figure(6.0, 3.2)
        ax = fig.subplots()
        ax.bar(groups, [_num(r.get("lift")) for r in lift], color=MODEL)
        ax.axhline(1.0, color=BASELINE, linestyle=":")
        ax.set(xlabel="Decile of predicted risk (1 = riskiest)", ylabel="Lift")
        keys = [
            k
            for k in ("customers", "mean_predicted", "observed_rate", "lift", "cumulative_capture")
            if k in lift[0]
        ]
        out += _image(fig, "Lift by decile") + _table(
            ["Decile 十分位", *keys],
            ([g, *(r.get(k) for k in keys)] for g, r in zip(groups, lift, strict=True)),
        )
    return out


def _demand(demand: Mapping[str, Any]) -> str:
    rows = list(demand.get("rows", []))
    periods = sorted({str(r["period"]) for r in rows})
    categories = sorted({str(r["category"]) for r in rows})
    sums = {p: [0.0, 0.0, 0.0] for p in periods}
    for r in rows:
        for i, key in enumerate(("actual", "forecast", "baseline")):
            sums[str(r["period"])][i] += _num(r.get(key))
    ticks = [p[:10] for p in periods]
    fig = _figure()
    ax = fig.subplots()
    for i, (name, color, style) in enumerate(
        (("Actual", ACTUAL, "o-"), ("Model", MODEL, "s--"), ("Seasonal naive", BASELINE, "^:"))
    ):
        ax.plot(ticks, [sums[p][i] for p in periods], style, color=color, label=name)
    ax.set(ylabel=f"Total {demand.get('value', 'demand')}")
    ax.tick_params(axis="x", labelrotation=30)
    ax.legend(frameon=False)
    out = _image(fig, "Total demand in the holdout")
    errors = demand.get("errors") or []
    if errors:
        out += _table(
            ["Scope 范围", "Method 方法", "WAPE %", "MAPE %", "Periods for MAPE 期数"],
            (
                [
                    e.get("scope"),
                    e.get("method"),
                    e.get("wape"),
                    e.get("mape"),
                    e.get("mape_periods"),
                ]
                for e in errors
            ),
            digits={2: 1, 3: 1},
        )
    if categories:
        cols = min(3, len(categories))
        fig = _figure(7.0, 2.2 * math.ceil(len(categories) / cols))
        axes = fig.subplots(math.ceil(len(categories) / cols), cols, squeeze=False)
        for i, name in enumerate(categories):
            ax = axes[i // cols][i % cols]
            mine = sorted(
                (r for r in rows if str(r["category"]) == name), key=lambda r: str(r["period"])
            )
            x = range(1, len(mine) + 1)
            ax.plot(x, [_num(r.get("actual")) for r in mine], "-", color=ACTUAL)
            ax.plot(x, [_num(r.get("forecast")) for r in mine], "--", color=MODEL)
            ax.plot(x, [_num(r.get("baseline")) for r in mine], ":", color=BASELINE)
            ax.set_title(_ascii(name, i), fontsize=9)
            lines = ax.get_lines()
        for j in range(len(categories), len(axes) * cols):
            axes[j // cols][j % cols].set_visible(False)
        fig.legend(lines, ["Actual", "Model", "Seasonal naive"], loc="outside lower center",
                   ncols=3, frameon=False)  # fmt: skip
        legend = ", ".join(
            f"C{i + 1} = {html.escape(c)}" for i, c in enumerate(categories) if not c.isascii()
        )
        out += '<h3>By category 分品类</h3><p class="how">x: holdout period 1, 2, …</p>'
        out += _image(fig, "Demand by category")
        out += f"<p>{legend}</p>" if legend else ""
    table = _table(
        ["Category 品类", "Period 期间", "Actual 实际", "Model 模型", "Seasonal naive 季节朴素"],
        (
            [
                r.get("category"),
                str(r.get("period"))[:10],
                r.get("actual"),
                r.get("forecast"),
                r.get("baseline"),
            ]
            for r in rows
        ),
    )
    return out + f"<details><summary>All rows 全部数据</summary>{table}</details>"


# --- the report ---------------------------------------------------------------------------------

HOW = {
    "frequency": "Customers grouped by their repeat purchases in the calibration period; per "
    "group, the mean purchases they made in the holdout against the model's conditional "
    "expectation (Fader, Hardie &amp; Lee 2005, fig. 4). The two lines should lie on each other.",
    "cumulative": "Repeat purchases of the cohort summed over time, actual against the model's "
    "expectation. Left of the dotted line the model saw the data; right of it, the holdout "
    "tests it.",
    "churn_calibration": "Customers grouped by predicted churn risk: mean prediction against "
    "the share who did churn. Points on the diagonal are well calibrated; above it the risk "
    "is under-stated.",
    "churn_metrics": "ROC-AUC: how well the risk ranks churners first (0.5 = chance). PR-AUC: "
    "precision over recall, compared with the base rate. Lift: churn rate of each tenth of the "
    "customers, riskiest first, over the overall rate.",
    "demand": "The last periods were hidden, forecast from the earlier ones and compared. WAPE = "
    "Σ|actual − forecast| / Σ actual; MAPE averages |error| / actual over the periods whose "
    "actual is not zero. The seasonal-naive baseline repeats the value of a season (52 weeks, "
    "12 months) earlier; a useful model has the lower error.",
}
TITLES = {
    "frequency": "购买频次校准 Calibration vs holdout by frequency",
    "cumulative": "累计复购 Cumulative repeat purchases",
    "churn_calibration": "流失概率校准 Churn reliability diagram",
    "churn_metrics": "流失模型区分度 Churn discrimination and lift",
    "demand": "需求预测回测 Demand forecast backtest",
}


def render_backtest_report(
    path: str | Path,
    *,
    title: str,
    meta: Mapping[str, Any],
    frequency_bins: Rows | None = None,
    cumulative: Rows | Mapping[str, Any] | None = None,
    churn_calibration: Rows | None = None,
    churn_metrics: Mapping[str, Any] | None = None,
    demand: Mapping[str, Any] | None = None,
) -> Path:
    """Write the backtest report to ``path`` (one HTML file) and return its path.

    Parameters
    ----------
    path
        The file to write (its directory must exist).
    title
        The report's title (may be Chinese).
    meta
        Shown first as a table: data, periods, models, parameters …
    frequency_bins
        Rows ``bin`` ("0".."7+"), ``customers``, ``actual`` (mean holdout purchases),
        ``predicted`` (conditional expectation).
    cumulative
        Rows ``period`` (or ``date``/``day``: an index or a date), ``actual``, ``predicted``
        and optionally ``calibration`` (true in the calibration period); or a dict
        ``{"rows": [...], "calibration_end": <period>}``. A dotted line marks the end of
        calibration.
    churn_calibration
        Rows ``bin`` (or ``bin_start``/``bin_end``), ``mean_predicted``,
        ``observed_rate``, ``customers``. Default: ``churn_metrics["calibration"]``.
    churn_metrics
        ``roc_auc``, ``pr_auc``, ``brier`` of the model at the top level, or dicts of them
        per method (``{"model": {...}, "baseline": {...}}``); other numbers (``base_rate``
        …) are listed; ``lift`` rows (``decile``, ``lift``, …) give a bar chart.
    demand
        :meth:`rapport.models.demand.DemandBacktest.to_dict`: ``rows`` (``category``,
        ``period``, ``actual``, ``forecast``, ``baseline``) and ``errors`` (``scope``,
        ``method``, ``wape``, ``mape``, ``mape_periods``).

    Returns
    -------
    pathlib.Path
    """
    if churn_calibration is None and churn_metrics is not None:
        churn_calibration = churn_metrics.get("calibration") or None
    given: dict[str, tuple[Any, Callable[[Any], str]]] = {
        "frequency": (frequency_bins, _frequency),
        "cumulative": (cumulative, _cumulative),
        "churn_calibration": (churn_calibration, _reliability),
        "churn_metrics": (churn_metrics, _churn_metrics),
        "demand": (demand, _demand),
    }
    with matplotlib.rc_context(STYLE):
        sections = [
            _section(key, TITLES[key], HOW[key], draw(data) if data else None)
            for key, (data, draw) in given.items()
        ]
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    document = (
        f'<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{CSS}</style></head><body>"
        f"<h1>{html.escape(title)}</h1>"
        f'<p class="how">Rapport backtest report · 回测报告 · {stamp}</p>'
        + _table(["Item 项目", "Value 值"], meta.items())
        + "".join(sections)
        + "</body></html>"
    )
    out = Path(path)
    out.write_text(document, encoding="utf-8")
    return out
