"""The workspace works offline (local URLs only, vendored assets with their licences, in the
wheel's package data) and speaks zh-CN and en completely."""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

import rapport
from rapport.analytics.timeline import SOURCES
from rapport.domain import LifecycleStage, ValueTier
from rapport.web import card, i18n, render
from rapport.web.customer_list import SORTS
from rapport.web.i18n import Formatter, from_accept_language, negotiate
from tests.web.conftest import csrf_of, http_login

ROOT = Path(__file__).resolve().parents[2]
URL = re.compile(r"""(?:src|href|action|hx-get|hx-post)\s*=\s*["']([^"']+)["']""")
CJK = re.compile(r"[\u3400-\u9fff]")
VENDORED = {
    "htmx/htmx.min.js": "2.0.11",
    "echarts/echarts.min.js": "6.1.0",
}


@pytest.mark.parametrize("user", ["admin", None])
def test_pages_refer_only_to_this_server(server: str, user: str | None) -> None:
    client = http_login(server, user) if user else httpx.Client(base_url=server)
    paths = ["/login"] if user is None else ["/customers", "/customers/1", "/customers/999999"]
    for path in paths:
        html = client.get(path).text
        urls = URL.findall(html)
        assert urls, path
        for url in urls:
            assert url.startswith(("/", "#", "data:")) and not url.startswith("//"), (path, url)
        assert not re.search(r"https?://|//[a-z0-9.-]+\.[a-z]{2,}/", html, re.IGNORECASE), path


def test_vendored_assets_are_served_with_their_licences(server: str) -> None:
    static = render.STATIC_DIR
    readme = (static / "README.md").read_text("utf-8")
    for path, version in VENDORED.items():
        assert version in readme, path
        answer = httpx.get(f"{server}/static/{path}")
        assert answer.status_code == 200 and "javascript" in answer.headers["content-type"]
        assert answer.content == (static / path).read_bytes()
        assert (static / path).parent.joinpath("LICENSE").is_file()
    assert (static / "echarts" / "NOTICE").is_file()
    assert "Apache ECharts" in (static / "echarts" / "NOTICE").read_text("utf-8")


def test_templates_and_assets_are_package_data() -> None:
    """Every file of web/templates and web/static is matched by a package-data glob."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
    globs = project["tool"]["setuptools"]["package-data"]["rapport"]
    package = Path(rapport.__file__).parent
    packaged = {p for g in globs for p in package.glob(g) if p.is_file()}
    files = [
        p
        for d in (render.TEMPLATES_DIR, render.STATIC_DIR)
        for p in d.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    ]
    assert len(files) >= 10
    for path in files:
        assert path in packaged, path.relative_to(package)


def test_every_text_is_in_both_languages() -> None:
    for key, (zh, en) in i18n.MESSAGES.items():
        assert zh.strip() and en.strip(), key
        assert not CJK.search(en) or key.startswith("lang."), key
        assert set(re.findall(r"{\w+}", zh)) == set(re.findall(r"{\w+}", en)), key
    with pytest.raises(KeyError):
        i18n.text("no.such.key", "en")


def test_every_key_the_templates_use_is_in_the_catalogue() -> None:
    used: set[str] = set()
    for template in render.TEMPLATES_DIR.glob("*.html"):
        text = template.read_text("utf-8")
        used |= set(re.findall(r"""\bt\(\s*["']([\w.]+)["']\s*[,)]""", text))
    for prefix, values in {
        "sort.": SORTS,
        "source.": SOURCES,
        "degree.": (*card.DEGREES, "relationship_index"),
        "lang.": i18n.LOCALES,
    }.items():
        used |= {prefix + v for v in values}
    assert len(used) > 60
    for key in sorted(used):
        for locale in i18n.LOCALES:
            assert i18n.text(key, locale), (key, locale)


def test_the_language_comes_from_the_choice_then_accept_language() -> None:
    assert negotiate(None, None) == "zh_CN"
    assert negotiate(None, "en-GB,en;q=0.9,zh;q=0.8") == "en"
    assert negotiate(None, "fr-FR,zh-CN;q=0.5,en;q=0.4") == "zh_CN"
    assert negotiate(None, "de, fr") == "zh_CN"
    assert negotiate("en", "zh-CN") == "en"
    assert from_accept_language("zh-Hans-CN;q=0.1, en;q=0") == "zh_CN"


def test_numbers_money_dates_and_enums_are_formatted_per_locale() -> None:
    zh = Formatter("zh_CN", "Asia/Shanghai", "CNY")
    en = Formatter("en", "Asia/Shanghai", "CNY")
    assert zh.number(1234567.891, 1) == "1,234,567.9"
    assert zh.money(Decimal("1234.5")) == "¥1,234.50"
    assert en.money(1234.5) == "CN¥1,234.50"
    assert zh.percent(0.256) == "26%" and en.percent(0.256) == "26%"
    assert zh.date(dt.date(2026, 11, 30)) == "2026年11月30日"
    assert en.date(dt.date(2026, 11, 30)) == "Nov 30, 2026"
    moment = dt.datetime(2026, 11, 30, 20, 5, tzinfo=dt.UTC)  # 04:05 the next day in Shanghai
    assert zh.date(moment) == "2026年12月1日"
    assert "4:05" in en.datetime(moment)
    assert zh.enum(ValueTier.DIAMOND) == "钻石" and en.enum(ValueTier.DIAMOND) == "Diamond"
    assert en.value("customer_scores", "lifecycle_stage", LifecycleStage.AT_RISK) == "At risk"
    assert en.number(None) == zh.money(None) == "—"


def test_accept_language_until_the_user_chooses_and_the_choice_stays(server: str) -> None:
    client = httpx.Client(base_url=server, headers={"Accept-Language": "en-US,en;q=0.9"})
    page = client.get("/login")
    assert '<html lang="en">' in page.text and "Log in" in page.text
    assert '<html lang="zh-CN">' in httpx.get(f"{server}/login").text  # no preference: zh-CN
    chosen = client.post(
        "/lang", data={"lang": "zh_CN", "next": "/login", "csrf_token": csrf_of(page.text)}
    )
    assert chosen.status_code == 303 and chosen.headers["location"] == "/login"
    again = client.get("/login")  # the browser still asks for English; the choice wins
    assert '<html lang="zh-CN">' in again.text and "用户名" in again.text
