"""The monthly management report (:func:`rapport.reports.monthly.monthly_report`) as a file:
HTML, PDF or XLSX, in zh-CN or en.

The three formats show the same sections (:func:`sections`): each a title, notes, tables
of cells that keep the value beside its text (XLSX writes the value, numbers as numbers;
HTML and PDF the text, "—" for a figure not measured) and, for two of them, a chart.

* **HTML**: one self-contained page (Jinja template ``templates/monthly.html``, inline CSS,
  charts as PNG images inlined as ``data:`` URLs, no script), laid out for printing;
* **PDF**: A4 pages drawn with matplotlib's PDF backend (no other dependency), the charts
  as vectors; Chinese needs a CJK font (:func:`cjk_font`), refused with the package to
  install when the machine has none;
* **XLSX**: one sheet per section (openpyxl), text cells formula-safe
  (:func:`rapport.ingest.spreadsheet.neutralise`).
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import io
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import matplotlib
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from rapport.analytics.metrics import METRICS
from rapport.errors import ConfigError, ValidationFailed
from rapport.i18n.labels import t
from rapport.i18n.locale import is_chinese, pick
from rapport.i18n.monthly import text
from rapport.ingest.spreadsheet import neutralise
from rapport.reports import monthly
from rapport.reports.overview import HEADLINE

#: The formats, the first the default.
FORMATS = ("pdf", "html", "xlsx")
MEDIA_TYPES = {
    "pdf": "application/pdf",
    "html": "text/html; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
#: Fonts that show Chinese, the first found used (fonts-noto-cjk, Adobe's Source Han,
#: fonts-wqy-microhei / zenhei, the Windows and macOS fonts).
CJK_FONTS = (
    "Noto Sans CJK SC",
    "Source Han Sans SC",
    "Noto Sans SC",
    "WenQuanYi Micro Hei",
    "WenQuanYi Zen Hei",
    "Microsoft YaHei",
    "PingFang SC",
    "SimHei",
)
#: The service metrics, in their own section.
SERVICE = tuple(m for m in monthly.METRIC_IDS if m not in HEADLINE)
DASH = "—"
_TEMPLATES = Path(__file__).parent / "templates"


# --- cells and sections ------------------------------------------------------------------------


@dataclass(frozen=True)
class Cell:
    """A value and its text; ``format`` is the XLSX number format of a number."""

    value: Any
    text: str
    format: str | None = None


@dataclass
class Table:
    columns: list[str]
    rows: list[list[Cell]]
    #: Per column: whether it holds numbers (aligned right).
    numeric: list[bool]


@dataclass
class Section:
    key: str
    title: str
    notes: list[str] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    #: A chart of :data:`_CHARTS` drawn before the tables.
    chart: str | None = None


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and not math.isfinite(value))


def _num(value: Any, digits: int = 1, *, sign: bool = False, suffix: str = "") -> Cell:
    if _missing(value):
        return Cell(None, DASH)
    if isinstance(value, int) and not isinstance(value, bool):
        shown = f"{value:+,}" if sign else f"{value:,}"
        return Cell(value, shown + suffix, "#,##0")
    shown = f"{value:+,.{digits}f}" if sign else f"{value:,.{digits}f}"
    return Cell(float(value), shown + suffix, "#,##0." + "0" * digits if digits else "#,##0")


def _share(value: Any, *, sign: bool = False) -> Cell:
    """A fraction of 0–1 as a percentage."""
    if _missing(value):
        return Cell(None, DASH)
    shown = f"{value * 100:+.1f}%" if sign else f"{value * 100:.1f}%"
    return Cell(float(value), shown, "0.0%")


def _txt(value: Any) -> Cell:
    return Cell(value, DASH if _missing(value) or value == "" else str(value))


def _unit_cell(unit: str, value: Any, locale: str, *, sign: bool = False) -> Cell:
    """A metric value in its unit (docs/metrics.md): percent 0–100, hours, money, counts."""
    if unit == "count":
        return _num(None if _missing(value) else round(value), sign=sign)
    if unit == "percent":
        return _num(value, 1, sign=sign, suffix="" if sign else "%")
    if unit == "currency":
        return _num(value, 2, sign=sign)
    if unit == "hours":
        found = _num(value, 1, sign=sign)
        shown = found.text if found.value is None else text("hours", locale, value=found.text)
        return Cell(found.value, shown, found.format)
    return _num(value, 2 if unit in ("ratio", "per_month") else 1, sign=sign)


_SNAPSHOT_UNITS = {
    "customers": "count",
    "diamonds": "count",
    "at_risk": "count",
    "value_at_risk": "currency",
    "at_risk_value": "currency",
}


def _snapshot_cell(key: str, value: Any, locale: str, *, sign: bool = False) -> Cell:
    if key == "share":
        return _share(value, sign=sign)
    return _unit_cell(_SNAPSHOT_UNITS.get(key, "score"), value, locale, sign=sign)


def _whole(value: Any) -> Any:
    """A count held as a float (a numerator of people) as an integer."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _metric_label(metric: str, locale: str) -> str:
    found = METRICS[metric]
    return pick((found.label_zh, found.label_en), locale)


def _metrics_table(report: dict[str, Any], ids: tuple[str, ...], locale: str) -> Table:
    values = report["metrics"]["values"]
    rows = []
    for metric in ids:
        v, unit = values[metric], METRICS[metric].unit
        rows.append(
            [
                _txt(_metric_label(metric, locale)),
                _unit_cell(unit, v["value"], locale),
                _unit_cell(unit, v["previous"], locale),
                _unit_cell(unit, v["change"], locale, sign=True),
                _num(_whole(v["numerator"]), 2),
                _num(_whole(v["denominator"]), 2),
            ]
        )
    columns = ["metric", "month_value", "previous_value", "change", "numerator", "denominator"]
    return Table([text(c, locale) for c in columns], rows, [False, True, True, True, True, True])


def _group_table(rows: list[dict[str, Any]], by: str, locale: str) -> Table:
    body = []
    for g in rows:
        body.append(
            [
                _txt(g["label"] or text("none_group", locale)),
                _num(g["customers"]),
                _num(g["previous_customers"]),
                _num(g["customers_change"], sign=True),
                _num(g["customer_share"], suffix="%"),
                _num(g["revenue_share"], suffix="%"),
                _num(g["relationship_index"]),
                _num(g["relationship_index_change"], sign=True),
            ]
        )
    columns = [
        "customers",
        "previous_customers",
        "change",
        "customer_share",
        "revenue_share",
        "relationship_index",
        "relationship_index_change",
    ]
    return Table([t(by, locale), *(text(c, locale) for c in columns)], body, [False, *([True] * 7)])


def _change_label(item: dict[str, Any], locale: str) -> str:
    if item["kind"] == "metric":
        return _metric_label(item["key"], locale)
    if item["kind"] == "snapshot":
        return text(f"snap.{item['key']}", locale)
    return (
        f"{t(item['kind'], locale)}：{item['label']}"
        if is_chinese(locale)
        else (f"{t(item['kind'], locale)}: {item['label']}")
    )


def _change_cells(item: dict[str, Any], locale: str) -> list[Cell]:
    if item["kind"] == "metric":
        unit = METRICS[item["key"]].unit

        def cell(v: Any, sign: bool = False) -> Cell:
            return _unit_cell(unit, v, locale, sign=sign)
    elif item["kind"] == "snapshot":

        def cell(v: Any, sign: bool = False) -> Cell:
            return _snapshot_cell(item["key"], v, locale, sign=sign)
    else:

        def cell(v: Any, sign: bool = False) -> Cell:
            return _num(v, sign=sign)

    return [
        _txt(_change_label(item, locale)),
        cell(item["before"]),
        cell(item["after"]),
        cell(item["change"], True),
        _share(item["relative"], sign=True),
    ]


def _who(row: dict[str, Any]) -> str:
    number = row.get("external_id") or (f"#{row['customer_id']}" if row.get("customer_id") else "")
    return " ".join(p for p in (number, row.get("name") or "") if p) or DASH


def sections(report: dict[str, Any], locale: str, tz: str | ZoneInfo) -> list[Section]:
    """The report's sections in ``locale``: what changed, the headline metrics, the
    relationships and value at risk, the tiers, stages and segments, the diamonds, the
    movements, service and complaints, and the definitions."""
    day, before = report["snapshot"], report["previous_snapshot"]
    previous_text = str(before) if before else DASH
    out: list[Section] = []

    changes = Section("changes", text("changes", locale))
    changes.notes.append(text("changes_note", locale, min=monthly.MIN_GROUP))
    if report["changes"]:
        columns = ["item", "before", "after", "change", "relative"]
        changes.tables.append(
            Table(
                [text(c, locale) for c in columns],
                [_change_cells(i, locale) for i in report["changes"]],
                [False, True, True, True, True],
            )
        )
    else:
        changes.notes.append(text("changes_none", locale))
    out.append(changes)

    metrics = Section("metrics", text("metrics", locale))
    service = Section("service", text("service", locale))
    if report["metrics"] is None:
        metrics.notes.append(text("metrics_none", locale))
        service.notes.append(text("metrics_none", locale))
    else:
        current, previous = report["metrics"]["current"], report["metrics"]["previous"]
        last = dt.timedelta(microseconds=1)
        metrics.notes.append(
            text(
                "metrics_note",
                locale,
                start=f"{_local_day(current['start'], tz)}",
                end=f"{_local_day(current['end'] - last, tz)}",
                previous_start=f"{_local_day(previous['start'], tz)}",
                previous_end=f"{_local_day(previous['end'] - last, tz)}",
                tz=_zone(tz).key,
            )
        )
        metrics.tables.append(_metrics_table(report, HEADLINE, locale))
        service.tables.append(_metrics_table(report, SERVICE, locale))
    out.append(metrics)

    rel = Section("relationships", text("relationships", locale), chart="degrees")
    rel.notes.append(text("relationships_note", locale, day=day, previous=previous_text))
    rows = []
    for key in monthly.SNAPSHOT_KEYS:
        v = report["relationships"][key]
        rows.append(
            [
                _txt(text(f"snap.{key}", locale)),
                _snapshot_cell(key, v["value"], locale),
                _snapshot_cell(key, v["previous"], locale),
                _snapshot_cell(key, v["change"], locale, sign=True),
            ]
        )
    columns = ["item", "snapshot_value", "previous_snapshot_value", "change"]
    rel.tables.append(Table([text(c, locale) for c in columns], rows, [False, True, True, True]))
    out.append(rel)

    tiers = Section("value_tier", t("value_tier", locale), chart="tiers")
    tiers.tables.append(_group_table(report["groups"]["value_tier"], "value_tier", locale))
    out.append(tiers)

    whom = Section("for_whom", text("for_whom", locale))
    if before is None:
        whom.notes.append(text("no_previous", locale))
    whom.tables.append(_group_table(report["for_whom"], "rfm_segment", locale))
    out.append(whom)

    diamonds = Section("diamonds", text("diamonds", locale))
    if before is None:
        diamonds.notes.append(text("no_previous", locale))
    else:
        d = report["diamonds"]
        diamonds.notes.append(
            text("diamonds_note", locale, gained=d["gained"], lost=d["lost"], listed=monthly.LISTED)
        )
        columns = ["customer", "direction", "from", "to", "monetary", "churn_risk", "reasons"]
        body = [
            [
                _txt(_who(m)),
                _txt(text(f"direction.{m['direction']}", locale)),
                _txt(_group(m["from"], "value_tier", locale)),
                _txt(_group(m["to"], "value_tier", locale)),
                _num(m["monetary"], 2),
                _num(m["churn_risk"], 2),
                _txt("; ".join(str(r) for r in m["reasons"] or [])),
            ]
            for m in d["movers"]
        ]
        diamonds.tables.append(
            Table(
                [text(c, locale) for c in columns],
                body,
                [False, False, False, False, True, True, False],
            )
        )
    if report["masked"]:
        diamonds.notes.append(text("masked", locale))
    out.append(diamonds)

    stages = Section("lifecycle_stage", t("lifecycle_stage", locale))
    stages.tables.append(
        _group_table(report["groups"]["lifecycle_stage"], "lifecycle_stage", locale)
    )
    out.append(stages)

    for by in ("value_tier", "lifecycle_stage"):
        moved = Section(f"movements_{by}", text("movements", locale, what=t(by, locale)))
        if before is None:
            moved.notes.append(text("no_previous", locale))
        else:
            columns = ["from", "to", "customers"]
            moved.tables.append(
                Table(
                    [text(c, locale) for c in columns],
                    [
                        [
                            _txt(m["from_label"] or text("none_group", locale)),
                            _txt(m["to_label"] or text("none_group", locale)),
                            _num(m["customers"]),
                        ]
                        for m in report["movements"][by]
                    ],
                    [False, False, True],
                )
            )
        out.append(moved)

    out.append(service)
    out.append(
        Section("definitions", text("definitions", locale), [text("definitions_text", locale)])
    )
    return out


def _group(value: str | None, by: str, locale: str) -> str:
    from rapport.reports.snapshots import group_label

    return group_label(by, value, locale) or text("none_group", locale)


def _zone(tz: str | ZoneInfo) -> ZoneInfo:
    return tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz)


def _local_day(moment: dt.datetime, tz: str | ZoneInfo) -> str:
    return f"{moment.replace(tzinfo=dt.UTC).astimezone(_zone(tz)):%Y-%m-%d}"


def heading(report: dict[str, Any], locale: str) -> tuple[str, str, str]:
    """The report's title, the line under it (month and snapshots) and its scope line."""
    before = report["previous_snapshot"]
    sub = (
        text("subtitle", locale, month=report["month"], day=report["snapshot"], previous=before)
        if before
        else text("subtitle_alone", locale, month=report["month"], day=report["snapshot"])
    )
    scope = text("scope_some" if report.get("scoped") else "scope_all", locale)
    return f"{text('title', locale)} {report['month']}", sub, scope


# --- charts ------------------------------------------------------------------------------------


def cjk_font(required: bool = True) -> str | None:
    """The family name of the first installed font of :data:`CJK_FONTS`.

    Raises
    ------
    ConfigError
        When none is installed and ``required``: names the package to install.
    """
    from matplotlib import font_manager

    names = {f.name for f in font_manager.fontManager.ttflist}
    for name in CJK_FONTS:
        if name in names:
            return name
    if required:
        raise ConfigError(
            "no font that shows Chinese for the PDF",
            hint="install fonts-noto-cjk (or fonts-wqy-microhei), e.g. "
            "`apt-get install fonts-noto-cjk`",
            key="pdf_font_missing",
        )
    return None


_BEFORE, _AFTER = "#9db4d0", "#1f5fa8"


def _bars(
    ax: Axes, labels: list[str], before: list[Any], after: list[Any], legend: tuple[str, str]
) -> None:
    xs = range(len(labels))
    width = 0.38

    def heights(values: list[Any]) -> list[float]:
        return [0.0 if _missing(v) else float(v) for v in values]

    ax.bar([x - width / 2 for x in xs], heights(before), width, color=_BEFORE, label=legend[0])
    ax.bar([x + width / 2 for x in xs], heights(after), width, color=_AFTER, label=legend[1])
    ax.set_xticks(list(xs), labels, fontsize=8)
    ax.tick_params(axis="y", labelsize=8)
    ax.spines[["top", "right"]].set_visible(False)
    ax.legend(fontsize=8, frameon=False)


def _draw_degrees(ax: Axes, report: dict[str, Any], locale: str) -> None:
    keys = ("satisfaction", "loyalty", "engagement", "advocacy", "relationship_index")
    rel = report["relationships"]
    _bars(
        ax,
        [t(k, locale) for k in keys],
        [rel[f"avg_{k}"]["previous"] for k in keys],
        [rel[f"avg_{k}"]["value"] for k in keys],
        _legend(report, locale),
    )
    ax.set_ylim(0, 100)
    ax.set_title(text("chart.degrees", locale), fontsize=9)


def _draw_tiers(ax: Axes, report: dict[str, Any], locale: str) -> None:
    rows = report["groups"]["value_tier"]
    _bars(
        ax,
        [r["label"] or text("none_group", locale) for r in rows],
        [r["previous_customers"] for r in rows],
        [r["customers"] for r in rows],
        _legend(report, locale),
    )
    ax.set_title(text("chart.tiers", locale), fontsize=9)


def _legend(report: dict[str, Any], locale: str) -> tuple[str, str]:
    before = report["previous_snapshot"]
    return (str(before) if before else DASH, str(report["snapshot"]))


_CHARTS: dict[str, Callable[[Axes, dict[str, Any], str], None]] = {
    "degrees": _draw_degrees,
    "tiers": _draw_tiers,
}


def chart_png(kind: str, report: dict[str, Any], locale: str) -> bytes:
    """The chart ``kind`` as a PNG image."""
    font = cjk_font(required=False)
    with matplotlib.rc_context({"font.family": [font] if font else ["DejaVu Sans"]}):
        figure = Figure(figsize=(6.4, 2.6), dpi=110)
        _CHARTS[kind](figure.add_subplot(), report, locale)
        figure.tight_layout()
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png")
    return buffer.getvalue()


# --- HTML --------------------------------------------------------------------------------------


def render_html(report: dict[str, Any], locale: str, tz: str | ZoneInfo) -> str:
    """The report as one self-contained HTML page."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(_TEMPLATES),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    charts = {
        kind: "data:image/png;base64," + base64.b64encode(chart_png(kind, report, locale)).decode()
        for kind in _CHARTS
    }
    title, sub, scope = heading(report, locale)
    return env.get_template("monthly.html").render(
        lang="zh-CN" if is_chinese(locale) else "en",
        title=title,
        subtitle=sub,
        scope=scope,
        generated=text("generated", locale, moment=_now_text(tz)),
        sections=sections(report, locale, tz),
        charts=charts,
        chart_titles={k: text(f"chart.{k}", locale) for k in _CHARTS},
    )


def _now_text(tz: str | ZoneInfo) -> str:
    return f"{dt.datetime.now(_zone(tz)):%Y-%m-%d %H:%M}"


# --- PDF ---------------------------------------------------------------------------------------

_W, _H, _M = 8.27, 11.69, 0.6  # A4 in inches, the margin
#: Lines a table cell of the PDF wraps onto at most.
WRAPPED_LINES = 3


def _text_width(value: str, size: float) -> float:
    """The width of ``value`` at ``size`` points, in inches (wide for CJK characters)."""
    return sum(1.0 if ord(c) >= 0x2E80 else 0.56 for c in value) * size / 72


def _fit(value: str, size: float, width: float) -> str:
    if _text_width(value, size) <= width:
        return value
    while value and _text_width(value + "…", size) > width:
        value = value[:-1]
    return value + "…"


def _wrap(value: str, size: float, width: float) -> list[str]:
    lines, line = [], ""
    for char in value:
        if _text_width(line + char, size) > width:
            cut = line.rfind(" ")
            if cut > len(line) // 2:
                lines.append(line[:cut])
                line = line[cut + 1 :]
            else:
                lines.append(line)
                line = ""
        line += char
    return [*lines, line] if line else lines


class _Pages:
    """A4 pages laid out top-down: text, tables and charts, a new page when one is full."""

    def __init__(self, pdf: Any, footer: str, locale: str) -> None:
        self.pdf, self.footer, self.locale = pdf, footer, locale
        self.count = 0
        self.figure: Figure | None = None
        self.y = 0.0

    def _new(self) -> Figure:
        self.figure = Figure(figsize=(_W, _H))
        self.count += 1
        self.y = _H - _M
        return self.figure

    def page(self) -> Figure:
        return self.figure if self.figure is not None else self._new()

    def finish(self) -> None:
        if self.figure is None:
            return
        self.figure.text(_M / _W, 0.35 / _H, self.footer, fontsize=7, color="#666666", va="bottom")
        self.figure.text(
            1 - _M / _W,
            0.35 / _H,
            text("page", self.locale, page=self.count),
            fontsize=7,
            color="#666666",
            ha="right",
            va="bottom",
        )
        self.pdf.savefig(self.figure)
        self.figure = None

    def need(self, height: float) -> Figure:
        figure = self.page()
        if self.y - height < _M + 0.3:
            self.finish()
            figure = self._new()
        return figure

    def line(
        self, value: str, size: float = 9, *, bold: bool = False, color: str = "#222222"
    ) -> None:
        for part in _wrap(value, size, _W - 2 * _M) or [""]:
            step = size * 1.45 / 72
            figure = self.need(step)
            figure.text(
                _M / _W,
                self.y / _H,
                part,
                fontsize=size,
                fontweight="bold" if bold else "normal",
                color=color,
                va="top",
            )
            self.y -= step

    def gap(self, height: float) -> None:
        self.y -= height

    def chart(self, draw: Callable[[Axes], None], height: float = 2.5) -> None:
        figure = self.need(height)
        bottom = self.y - height
        ax = figure.add_axes(
            (
                (_M + 0.45) / _W,
                (bottom + 0.35) / _H,
                (_W - 2 * _M - 0.6) / _W,
                (height - 0.6) / _H,
            )
        )
        draw(ax)
        self.y = bottom - 0.1

    def table(self, table: Table, size: float = 7.5) -> None:
        usable = _W - 2 * _M
        lengths = [
            max([_text_width(c, size)] + [_text_width(r[i].text, size) for r in table.rows])
            for i, c in enumerate(table.columns)
        ]
        widths = [min(length + 0.15, usable * 0.45) for length in lengths]
        scale = usable / sum(widths) if sum(widths) > usable else 1.0
        widths = [w * scale for w in widths]
        # What is left of the line goes to the widest column cut short (the reasons).
        cut = [i for i, length in enumerate(lengths) if length + 0.15 > widths[i]]
        if cut and sum(widths) < usable:
            widest = max(cut, key=lambda i: lengths[i])
            widths[widest] += usable - sum(widths)
        step = size * 1.7 / 72

        line = size * 1.25 / 72

        def row(cells: list[str], bold: bool, shade: bool) -> None:
            # Text wraps onto at most WRAPPED_LINES lines of its column, then is cut short.
            parts = []
            for i, value in enumerate(cells):
                room = widths[i] - 0.08
                lines = [value] if table.numeric[i] else (_wrap(value, size, room) or [""])
                if len(lines) > WRAPPED_LINES:
                    lines = [*lines[: WRAPPED_LINES - 1], " ".join(lines[WRAPPED_LINES - 1 :])]
                parts.append([_fit(part, size, room) for part in lines])
            height = step + line * (max(len(p) for p in parts) - 1)
            figure = self.need(height)
            if shade:
                figure.patches.append(
                    matplotlib.patches.Rectangle(
                        (_M / _W, (self.y - height) / _H),
                        sum(widths) / _W,
                        height / _H,
                        transform=figure.transFigure,
                        color="#eef2f7",
                        zorder=0,
                    )
                )
            x = _M
            for i, lines in enumerate(parts):
                right = table.numeric[i]
                for n, part in enumerate(lines):
                    figure.text(
                        (x + widths[i] - 0.05 if right else x + 0.03) / _W,
                        (self.y - step / 2 - n * line) / _H,
                        part,
                        fontsize=size,
                        fontweight="bold" if bold else "normal",
                        ha="right" if right else "left",
                        va="center",
                    )
                x += widths[i]
            self.y -= height

        row(table.columns, True, True)
        for cells in table.rows:
            row([c.text for c in cells], False, False)
        self.gap(0.12)


def _has_cjk(parts: list[Section]) -> bool:
    """Whether any text of ``parts`` is Chinese (a customer's name in an English report)."""
    texts = [
        value
        for section in parts
        for table in section.tables
        for value in [*table.columns, *(c.text for row in table.rows for c in row)]
    ]
    texts += [n for section in parts for n in (section.title, *section.notes)]
    return any(ord(c) >= 0x2E80 for value in texts for c in value)


def _draw_on(
    draw: Callable[[Axes, dict[str, Any], str], None],
    ax: Axes,
    *,
    report: dict[str, Any],
    locale: str,
) -> None:
    draw(ax, report, locale)


def render_pdf(report: dict[str, Any], locale: str, tz: str | ZoneInfo) -> bytes:
    """The report as A4 PDF pages.

    Raises
    ------
    ConfigError
        When the report is in Chinese, or names a customer in Chinese, and no CJK font is
        installed (:func:`cjk_font`).
    """
    import matplotlib.patches
    from matplotlib.backends.backend_pdf import PdfPages

    title, sub, scope = heading(report, locale)
    parts = sections(report, locale, tz)
    font = cjk_font(required=is_chinese(locale) or _has_cjk(parts)) or "DejaVu Sans"
    buffer = io.BytesIO()
    with (
        matplotlib.rc_context({"font.family": [font], "pdf.fonttype": 3}),
        PdfPages(buffer, metadata={"Title": title}) as pdf,
    ):
        pages = _Pages(pdf, f"{title} · {text('generated', locale, moment=_now_text(tz))}", locale)
        pages.line(title, 17, bold=True, color="#123a6b")
        pages.line(sub, 9, color="#444444")
        pages.line(scope, 9, color="#444444")
        pages.gap(0.15)
        for section in parts:
            pages.need(0.9)
            pages.line(section.title, 12, bold=True, color="#123a6b")
            for note in section.notes:
                pages.line(note, 8, color="#555555")
            pages.gap(0.05)
            if section.chart is not None:
                draw = _CHARTS[section.chart]
                pages.chart(functools.partial(_draw_on, draw, report=report, locale=locale))
            for table in section.tables:
                pages.table(table)
            pages.gap(0.12)
        pages.finish()
    return buffer.getvalue()


# --- XLSX --------------------------------------------------------------------------------------


def _sheet_name(title: str, used: set[str]) -> str:
    name = "".join(c for c in title if c not in "[]:*?/\\")[:31] or "Sheet"
    base, n = name, 2
    while name in used:
        name = f"{base[: 31 - len(str(n)) - 1]} {n}"
        n += 1
    used.add(name)
    return name


def render_xlsx(report: dict[str, Any], locale: str, tz: str | ZoneInfo) -> bytes:
    """The report as a workbook: one sheet per section, numbers as number cells."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    book.remove(book.active)
    used: set[str] = set()
    title, sub, scope = heading(report, locale)
    for section in sections(report, locale, tz):
        sheet = book.create_sheet(_sheet_name(section.title, used))
        sheet.append([neutralise(section.title)])
        sheet.cell(row=1, column=1).font = Font(bold=True, size=13)
        sheet.append([neutralise(sub)])
        sheet.append([neutralise(scope)])
        for note in section.notes:
            sheet.append([neutralise(note)])
        for table in section.tables:
            sheet.append([])
            sheet.append([neutralise(c) for c in table.columns])
            for cell in sheet[sheet.max_row]:
                cell.font = Font(bold=True)
            for cells in table.rows:
                sheet.append(
                    [
                        c.value
                        if isinstance(c.value, int | float) and not isinstance(c.value, bool)
                        else neutralise(c.text)
                        for c in cells
                    ]
                )
                for cell, source in zip(sheet[sheet.max_row], cells, strict=True):
                    if source.format and isinstance(cell.value, int | float):
                        cell.number_format = source.format
        for column in ("A", "B", "C", "D", "E", "F", "G", "H"):
            sheet.column_dimensions[column].width = 22 if column == "A" else 15
    book.properties.title = title
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


# --- any format --------------------------------------------------------------------------------


def render(report: dict[str, Any], fmt: str, *, locale: str, tz: str | ZoneInfo) -> bytes:
    """The report in ``fmt`` (one of :data:`FORMATS`) as bytes.

    Raises
    ------
    ValidationFailed
        When ``fmt`` is not one of :data:`FORMATS`.
    ConfigError
        A PDF in Chinese on a machine without a CJK font.
    """
    check_format(fmt)
    if fmt == "html":
        return render_html(report, locale, tz).encode("utf-8")
    if fmt == "pdf":
        return render_pdf(report, locale, tz)
    return render_xlsx(report, locale, tz)


def check_format(fmt: str) -> str:
    """``fmt`` when it is one of :data:`FORMATS`; the command line and the API check the
    format with it before the report's figures are computed.

    Raises
    ------
    ValidationFailed
        When ``fmt`` is not one of :data:`FORMATS` (the error lists them).
    """
    if fmt not in FORMATS:
        raise ValidationFailed(
            "report format {value!r}",
            field="format",
            value=fmt,
            hint="use one of: {choices}",
            key="report_format_unknown",
            params={"value": fmt, "choices": ", ".join(FORMATS)},
        )
    return fmt


def file_name(report: dict[str, Any], fmt: str) -> str:
    """The file name a download of the report gets."""
    return f"rapport-monthly-{report['month']}.{fmt}"
