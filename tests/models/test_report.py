"""The backtest report: one self-contained HTML file, every section optional."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import numpy as np
import pytest

from rapport.models.report import render_backtest_report

FREQUENCY = [
    {"bin": "0", "customers": 1411, "actual": 0.236, "predicted": 0.223},
    {"bin": "1", "customers": 439, "actual": 0.695, "predicted": 0.667},
    {"bin": "7+", "customers": 25, "actual": 5.56, "predicted": 6.081},
]
CUMULATIVE = [  # the purchase backtest's shape: day, date, actual, predicted, calibration
    {"day": 10, "date": "1997-01-07", "actual": 12.0, "predicted": 11.5, "calibration": True},
    {"day": 17, "date": "1997-01-14", "actual": 40.0, "predicted": 38.25, "calibration": True},
    {"day": 24, "date": "1997-01-21", "actual": 71.0, "predicted": 74.125, "calibration": False},
]
CALIBRATION = [
    {"bin_start": 0.0, "bin_end": 0.1, "customers": 800, "mean_predicted": 0.052,
     "observed_rate": 0.061},
    {"bin_start": 0.5, "bin_end": 0.6, "customers": 120, "mean_predicted": 0.547,
     "observed_rate": 0.583},
]  # fmt: skip
METRICS = {
    "model": {"roc_auc": 0.812, "pr_auc": 0.644, "brier": 0.137},
    "baseline": {"roc_auc": 0.731, "pr_auc": 0.512, "brier": 0.161},
    "base_rate": 0.318,
    "lift": [
        {"decile": 1, "customers": 300, "observed_rate": 0.797, "lift": 2.506},
        {"decile": 2, "customers": 300, "observed_rate": 0.603, "lift": 1.896},
    ],
}
DEMAND = {
    "value": "orders",
    "rows": [
        {"category": "护肤", "period": "2024-12-01T16:00:00", "actual": 120.0, "forecast": 111.5,
         "baseline": 90.0},
        {"category": "护肤", "period": "2024-12-08T16:00:00", "actual": 130.0, "forecast": 125.25,
         "baseline": 95.0},
        {"category": "food", "period": "2024-12-01T16:00:00", "actual": 40.0, "forecast": 42.0,
         "baseline": 31.0},
        {"category": "food", "period": "2024-12-08T16:00:00", "actual": 44.0, "forecast": 41.5,
         "baseline": 30.0},
    ],
    "errors": [
        {"scope": "(all)", "method": "model", "wape": 5.9, "mape": 5.4, "mape_periods": 4},
        {"scope": "(all)", "method": "seasonal_naive", "wape": 27.3, "mape": 26.6,
         "mape_periods": 4},
    ],
}  # fmt: skip
SECTIONS = ("frequency", "cumulative", "churn_calibration", "churn_metrics", "demand")


class Parsed(HTMLParser):
    """Tags, attributes and text of a document, with the sections they sit in."""

    def __init__(self) -> None:
        super().__init__()
        self.images: dict[str | None, int] = {}
        self.cells: list[str] = []
        self.links: list[str] = []
        self.section: str | None = None
        self.in_cell = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "section":
            self.section = attrs["id"]
        if tag in ("img", "svg"):
            self.images[self.section] = self.images.get(self.section, 0) + 1
        self.links += [v for k, v in attrs.items() if k in ("src", "href") and v]
        self.in_cell = tag in ("td", "th")

    def handle_endtag(self, tag):
        if tag == "section":
            self.section = None
        if tag in ("td", "th"):
            self.in_cell = False

    def handle_data(self, data):
        if self.in_cell:
            self.cells.append(data.strip())


def parse(path) -> tuple[Parsed, str]:
    text = path.read_text(encoding="utf-8")
    parser = Parsed()
    parser.feed(text)
    parser.close()
    return parser, text


def test_a_report_with_every_section(tmp_path):
    path = render_backtest_report(
        tmp_path / "report.html",
        title="回测报告 Backtest",
        meta={"data": "sample company 示例公司", "customers": 3000},
        frequency_bins=FREQUENCY,
        cumulative=CUMULATIVE,
        churn_calibration=CALIBRATION,
        churn_metrics=METRICS,
        demand=DEMAND,
    )
    assert path == tmp_path / "report.html"
    parsed, text = parse(path)
    # one chart per figure: demand has the total and the small multiples
    assert parsed.images == {
        "frequency": 1, "cumulative": 1, "churn_calibration": 1, "churn_metrics": 1, "demand": 2
    }  # fmt: skip
    assert all(link.startswith("data:image/png;base64,") for link in parsed.links)
    assert not re.search(r"(src|href)\s*=\s*[\"']?https?://", text)
    assert "<script" not in text
    cells = set(parsed.cells)
    assert {"sample company 示例公司", "3000"} <= cells  # meta
    assert {"7+", "1411", "0.236", "0.223", "5.560", "6.081"} <= cells  # frequency bins
    assert {"1997-01-21", "71.000", "74.125"} <= cells  # cumulative
    assert "End of calibration 校准期结束: 1997-01-14" in text
    assert {"0.0–0.1", "0.052", "0.061", "800", "0.547", "0.583"} <= cells  # reliability
    assert {"0.812", "0.644", "0.731", "0.512", "base_rate", "0.318", "2.506", "1.896"} <= cells
    assert {"护肤", "2024-12-08", "125.250", "95.000", "5.9", "27.3", "26.6"} <= cells  # demand
    assert "C2 = 护肤" in text  # the chart names it C2 (after "food"), the page says which


def test_a_report_without_sections_says_so(tmp_path):
    meta = {"customers": np.int64(3000), "share": np.float32(0.25), "missing": None}
    path = render_backtest_report(tmp_path / "empty.html", title="Backtest", meta=meta)
    parsed, text = parse(path)
    assert parsed.images == {} and parsed.links == []
    assert {"3000", "0.250", "—"} <= set(parsed.cells)  # numpy numbers format like Python's
    assert text.count("Not provided in this run") == len(SECTIONS)
    for key in SECTIONS:
        assert f'<section id="{key}">' in text


def test_churn_calibration_defaults_to_the_churn_reports_own(tmp_path):
    metrics = {"roc_auc": 0.8, "pr_auc": 0.6, "calibration": CALIBRATION}
    parsed, _ = parse(
        render_backtest_report(tmp_path / "r.html", title="t", meta={}, churn_metrics=metrics)
    )
    assert parsed.images == {"churn_calibration": 1}
    assert {"model", "0.800", "0.600", "0.583"} <= set(parsed.cells)


@pytest.mark.parametrize("cumulative", [{"rows": CUMULATIVE[:2], "calibration_end": 10}])
def test_cumulative_given_as_rows_and_an_end(tmp_path, cumulative):
    rows = [{"period": r["day"], **r} for r in cumulative["rows"]]
    text = render_backtest_report(
        tmp_path / "c.html", title="t", meta={}, cumulative={**cumulative, "rows": rows}
    ).read_text(encoding="utf-8")
    assert "End of calibration 校准期结束: 10" in text
