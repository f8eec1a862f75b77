"""``rapport report``: the monthly report as HTML, PDF and XLSX, in both languages, on the
session's scored company (snapshots on 2024-09-30 and 2024-12-31)."""

from __future__ import annotations

import io
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner, Result

from rapport.cli.common import console
from rapport.cli.main import app
from rapport.config import get_settings, load_rules
from rapport.errors import ConfigError, NotFound, ValidationFailed
from rapport.reports import monthly, monthly_render
from rapport.store.db import create_engine, session_scope
from tests.conftest import ScoredStore

runner = CliRunner()


def invoke(*args: str) -> Result:
    get_settings.cache_clear()
    return runner.invoke(app, list(args))


@pytest.fixture
def shop(scored_store: ScoredStore, monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.copy(scored_store.path, get_settings().database_url.removeprefix("sqlite:///"))
    monkeypatch.setattr(console, "_width", 200)


def december(locale: str) -> dict:
    settings = get_settings()
    engine = create_engine(settings.database_url)
    with session_scope(engine) as session:
        found = monthly.monthly_report(
            session, month="2024-12", rules=load_rules(settings), locale=locale, metrics=None
        )
    engine.dispose()
    return found


class Page(HTMLParser):
    """The tags, section ids and cell texts of an HTML page (strict: fails on a bad end tag)."""

    def __init__(self) -> None:
        super().__init__()
        self.open: list[str] = []
        self.sections: list[str] = []
        self.cells: list[str] = []
        self.images: list[str] = []
        self.scripts = 0
        self._cell = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "section":
            self.sections.append(found["id"] or "")
        if tag == "img":
            self.images.append(found["src"] or "")
        if tag == "script":
            self.scripts += 1
        if tag not in ("meta", "img", "br"):
            self.open.append(tag)
        self._cell = tag == "td"

    def handle_endtag(self, tag: str) -> None:
        assert self.open and self.open[-1] == tag, f"</{tag}> closes <{self.open[-1:]}>"
        self.open.pop()
        self._cell = False

    def handle_data(self, data: str) -> None:
        if self._cell:
            self.cells.append(data)


def test_html_in_both_languages(shop: None, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    result = invoke("report", "--month", "2024-12", "--format", "html", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert str(out) in result.output
    page = Page()
    page.feed(out.read_text("utf-8"))
    assert page.open == []
    assert page.scripts == 0
    assert page.sections[:3] == ["changes", "metrics", "relationships"]
    assert len(page.images) == 2 and all(
        i.startswith("data:image/png;base64,") for i in page.images
    )
    text = out.read_text("utf-8")
    assert '<html lang="zh-CN">' in text and "月度客户关系报告 2024-12" in text
    figures = december("zh_CN")["relationships"]["customers"]
    assert f"{figures['value']:,}" in page.cells and f"{figures['previous']:,}" in page.cells
    english = tmp_path / "report-en.html"
    invoke(
        "report", "--month", "2024-12", "--format", "html", "--out", str(english), "--lang", "en"
    )
    assert "Monthly customer relationship report 2024-12" in english.read_text("utf-8")


def pages(data: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page\b(?!s)", data))


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
def test_pdf_has_pages(shop: None, tmp_path: Path, lang: str) -> None:
    out = tmp_path / f"report-{lang}.pdf"
    result = invoke(
        "report", "--month", "2024-12", "--format", "pdf", "--out", str(out), "--lang", lang
    )
    assert result.exit_code == 0, result.output
    data = out.read_bytes()
    assert data.startswith(b"%PDF-") and data.rstrip().endswith(b"%%EOF")
    assert pages(data) >= 2
    if lang == "zh_CN":
        assert b"NotoSansCJK" in data or b"WenQuanYi" in data


def test_chinese_pdf_without_a_cjk_font_names_the_package(
    shop: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(monthly_render, "CJK_FONTS", ("No Such Font",))
    out = tmp_path / "report.pdf"
    result = invoke("report", "--month", "2024-12", "--out", str(out), "--lang", "zh_CN")
    assert isinstance(result.exception, ConfigError), result.output
    assert result.exception.exit_code == 3 and result.exception.key == "pdf_font_missing"
    assert "fonts-noto-cjk" in str(result.exception) and not out.exists()
    # An English report naming customers in Chinese needs the font too; one without is
    # drawn in DejaVu Sans.
    english = invoke("report", "--month", "2024-12", "--out", str(out), "--lang", "en")
    assert isinstance(english.exception, ConfigError)
    plain = december("en")
    plain["diamonds"]["movers"] = []
    data = monthly_render.render(plain, "pdf", locale="en", tz=get_settings().tz)
    assert data.startswith(b"%PDF-") and b"DejaVuSans" in data


def test_xlsx_one_sheet_per_section_numbers_as_numbers(shop: None, tmp_path: Path) -> None:
    out = tmp_path / "report.xlsx"
    result = invoke(
        "report", "--month", "2024-12", "--format", "xlsx", "--out", str(out), "--lang", "en"
    )
    assert result.exit_code == 0, result.output
    book = load_workbook(io.BytesIO(out.read_bytes()))
    sections = monthly_render.sections(december("en"), "en", get_settings().tz)
    assert len(book.sheetnames) == len(sections)
    sheet = book[book.sheetnames[2]]
    rows = {r[0]: r[1:] for r in sheet.iter_rows(values_only=True) if r and r[0]}
    figures = december("en")["relationships"]
    assert rows["Scored customers"][:2] == (
        figures["customers"]["value"],
        figures["customers"]["previous"],
    )
    assert rows["Value at risk"][0] == pytest.approx(figures["value_at_risk"]["value"])
    assert rows["Value at risk"][1] == "—"  # the earlier snapshot has no predictions


def test_refusals(shop: None, tmp_path: Path) -> None:
    missing = invoke(
        "report", "--month", "2024-11", "--out", str(tmp_path / "x.pdf"), "--lang", "en"
    )
    assert isinstance(missing.exception, NotFound) and missing.exception.exit_code == 5
    assert missing.exception.params["months"] == "2024-09, 2024-12"
    assert not (tmp_path / "x.pdf").exists()
    bad_month = invoke("report", "--month", "2024-13")
    assert isinstance(bad_month.exception, ValidationFailed)
    assert bad_month.exception.key == "month_expected"
    bad_format = invoke("report", "--month", "2024-12", "--format", "doc")
    assert isinstance(bad_format.exception, ValidationFailed)
    assert bad_format.exception.key == "report_format_unknown"
    french = invoke("report", "--month", "2024-12", "--lang", "fr")
    assert isinstance(french.exception, ValidationFailed)
    assert (french.exception.key, french.exception.params["option"]) == (
        "option_value_unknown",
        "--lang",
    )
