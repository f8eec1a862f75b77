"""总览 Overview (``/overview``): the landing page of admins, managers and analysts, refused
to sales and service; its figures are the reports' within the user's scope, names masked
for the analyst and unmasked lists audited; the company metrics load as a fragment from
the analytics workers and are kept; both languages; and a real browser draws every chart
without an error (screenshots in /tmp/web-shots/)."""

from __future__ import annotations

import html
import re
import time
from typing import Any

import pytest

from rapport.access import CustomerScope
from rapport.analytics.metrics import METRICS
from rapport.analytics.periods import day_end
from rapport.config import load_rules
from rapport.domain import AuditAction, ValueTier
from rapport.reports import movers, snapshots
from rapport.reports import overview as figures
from rapport.store import schema
from rapport.store.db import create_engine, session_scope
from rapport.web import i18n
from tests.helpers import audit_entries
from tests.web.conftest import ROLE_USERS, Watched, WebStore, browser_login, http_login, shot

_c = schema.customers.c
CJK = re.compile(r"[\u3400-\u9fff]")
#: Seconds a request of the metrics fragment may take: the first asks a worker process to
#: start and run the engine (tens of seconds on a loaded machine).
ENGINE_SECONDS = 300
FRAGMENTS = ("/overview/relationships", "/overview/groups", "/overview/diamonds")


def pii_reads(store: WebStore) -> list[dict[str, Any]]:
    engine = store.engine()
    try:
        return audit_entries(engine, action=AuditAction.READ_PII.value)
    finally:
        engine.dispose()


def visible_text(page: str) -> str:
    """The text of a page or fragment as shown: no tags, scripts, chart options, or the
    customers' own data (``class="data"``)."""
    page = re.sub(r"<script.*?</script>", " ", page, flags=re.S)
    page = re.sub(r'<a [^>]*class="data"[^>]*>.*?</a>', " ", page, flags=re.S)
    page = re.sub(r"<[^>]+>", " ", page)
    return html.unescape(page)


def numbers_in(fragment: str, table: str) -> list[list[str]]:
    """The cells of the table ``table`` of a fragment, row by row."""
    body = re.search(rf'<table[^>]*id="{table}".*?<tbody>(.*?)</tbody>', fragment, re.S)
    assert body, table
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", body.group(1), re.S)
    return [
        [visible_text(c).strip() for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", r, re.S)]
        for r in rows
    ]


@pytest.mark.parametrize("role", ["admin", "manager", "analyst"])
def test_the_landing_page_of_admins_managers_and_analysts(server: str, role: str) -> None:
    client = http_login(server, ROLE_USERS[role])
    home = client.get("/")
    assert home.status_code == 303 and home.headers["location"] == "/overview"
    page = client.get("/overview")
    assert page.status_code == 200
    assert "<h1>总览</h1>" in page.text
    for path in (*FRAGMENTS, "/overview/metrics"):
        assert f'hx-get="{path}' in page.text, path  # loaded after the page
    for path in FRAGMENTS:
        assert client.get(path).status_code == 200, path


@pytest.mark.parametrize("role", ["sales", "service"])
def test_sales_and_service_are_refused(server: str, role: str) -> None:
    client = http_login(server, ROLE_USERS[role])
    for path in ("/overview", *FRAGMENTS, "/overview/metrics"):
        answer = client.get(path)
        assert answer.status_code == 403, path
        assert "无权访问" in answer.text
    menu = client.get("/customers").text
    assert 'href="/overview"' not in menu


def test_the_figures_are_the_reports_within_the_managers_scope(
    server: str, web_store: WebStore
) -> None:
    """The tiers, stages and the snapshot's figures shown to a manager are the reports run
    with the manager's scope: fewer customers than the admin sees."""
    rules = load_rules()
    engine = create_engine(web_store.url)
    manager = CustomerScope(web_store.principal("manager"))
    with session_scope(engine) as session:
        latest, previous = figures.snapshot_days(session)
        assert latest is not None and previous is not None
        tiers = snapshots.group_summary(
            session, by="value_tier", day=latest, rules=rules, scope=manager
        )
        stages = snapshots.group_summary(
            session, by="lifecycle_stage", day=latest, rules=rules, scope=manager
        )
        history = figures.snapshot_history(session, scope=manager)
        every = figures.snapshot_history(session)
    engine.dispose()
    assert history[-1]["customers"] < every[-1]["customers"]
    client = http_login(server, ROLE_USERS["manager"])
    page = client.get("/overview").text
    assert "您团队的客户和无负责人的客户" in page
    groups = client.get("/overview/groups").text
    shown = numbers_in(groups, "tiers-table")
    assert [int(r[1].replace(",", "")) for r in shown] == [g["customers"] for g in tiers]
    shown = numbers_in(groups, "stages-table")
    assert [int(r[1].replace(",", "")) for r in shown] == [g["customers"] for g in stages]
    relationships = client.get("/overview/relationships").text
    scored = re.search(r'id="card-scored".*?<p class="figure">([\d,]+)', relationships, re.S)
    assert scored and int(scored.group(1).replace(",", "")) == history[-1]["customers"]
    change = history[-1]["customers"] - history[-2]["customers"]
    assert f"{'+' if change > 0 else '−'}{abs(change):,}" in relationships
    index = re.search(
        r'id="card-relationship_index".*?<p class="figure">([\d.]+)', relationships, re.S
    )
    assert index and float(index.group(1)) == round(history[-1]["avg_relationship_index"], 1)
    var = re.search(r'id="var-total">¥([\d,.]+)', relationships)
    assert var and float(var.group(1).replace(",", "")) == pytest.approx(
        history[-1]["value_at_risk"], abs=0.01
    )
    assert len(numbers_in(relationships, "degrees-table")) == 2  # both snapshots


def test_the_analyst_sees_the_diamonds_masked_and_is_not_audited(
    server: str, web_store: WebStore
) -> None:
    rules = load_rules()
    engine = create_engine(web_store.url)
    with session_scope(engine) as session:
        latest, previous = figures.snapshot_days(session)
        assert latest is not None and previous is not None
        top = snapshots.diamonds(session, day=latest, rules=rules, locale="zh_CN", limit=5)
        moves = movers.tier_movers(
            session,
            tier=ValueTier.DIAMOND,
            before=previous,
            after=latest,
            rules=rules,
            locale="zh_CN",
            limit=1000,
        )
    engine.dispose()
    # the page lists the first five of each direction
    listed = [r for r in moves if r["direction"] == "out"][:5]
    listed += [r for r in moves if r["direction"] == "in"][:5]
    named = {r["customer_id"]: r["name"] for r in top.rows + listed}
    assert top.rows and named
    before = len(pii_reads(web_store))
    analyst = http_login(server, ROLE_USERS["analyst"]).get("/overview/diamonds").text
    assert "个人信息已脱敏" in http_login(server, ROLE_USERS["analyst"]).get("/overview").text
    for customer, name in named.items():
        assert f'href="/customers/{customer}"' in analyst
        assert name not in analyst and f"{name[0]}*" in analyst
    assert len(pii_reads(web_store)) == before
    # the admin sees the names, and the read is audited with the customers shown
    admin = http_login(server, ROLE_USERS["admin"]).get("/overview/diamonds").text
    assert all(name in admin for name in named.values())
    entries = pii_reads(web_store)
    assert len(entries) == before + 1
    detail = entries[-1]["detail"]
    assert detail["route"] == "web.overview" and set(named) <= set(detail["ids"])


def test_the_metrics_fragment_is_the_metric_overview_and_is_kept(
    server: str, web_store: WebStore
) -> None:
    """The fragment shows each headline metric with its previous value, its change and
    sparkline, the four trends per month; the second ask is answered from the process."""
    client = http_login(server, ROLE_USERS["analyst"])
    start = time.monotonic()
    first = client.get("/overview/metrics", params={"period": "90d"}, timeout=ENGINE_SECONDS)
    first_took = time.monotonic() - start
    assert first.status_code == 200, first.text[:2000]
    start = time.monotonic()
    again = client.get("/overview/metrics", params={"period": "90d"})
    again_took = time.monotonic() - start
    assert again.text == first.text  # the same computed-at time: kept, not recomputed
    assert again_took < max(first_took / 3, 0.5)
    engine = create_engine(web_store.url)
    with session_scope(engine) as session:
        latest, _ = figures.snapshot_days(session)
    engine.dispose()
    assert latest is not None
    settings = web_store.settings
    expected = figures.metric_overview(
        settings, load_rules(), as_of=day_end(latest, settings.tz), period="90d"
    )
    text = first.text
    for metric in figures.HEADLINE:
        card = re.search(rf'id="metric-{metric}"(.*?)</div>\s*</div>', text, re.S)
        assert card, metric
        value = expected["headline"][metric]["value"]
        assert METRICS[metric].label_zh in card.group(1)
        assert 'data-chart="' in card.group(1)  # the sparkline
        assert ("—" in card.group(1)) == (value is None), metric
        assert f'data-measured="{"no" if value is None else "yes"}"' in text
    nps = expected["headline"]["nps"]["value"]
    if nps is not None:
        shown = re.search(r'id="metric-nps".*?<p class="figure">([^<]+)', text, re.S)
        assert shown and shown.group(1) == f"{nps:.1f}"
    trends = numbers_in(text, "trends-table")
    assert len(trends) == figures.SERIES_MONTHS and all(len(r) == 5 for r in trends)
    # another period is another computation; its choice goes into the address bar
    chosen = client.get(
        "/overview/metrics",
        params={"period": "30d"},
        headers={"HX-Trigger": "metrics-form"},
        timeout=ENGINE_SECONDS,
    )
    assert chosen.status_code == 200 and chosen.headers["HX-Push-Url"] == "/overview?period=30d"
    assert "近30天" in chosen.text
    # an unknown period is the default, never an error
    assert "近90天" in client.get("/overview/metrics", params={"period": "7y"}).text  # kept


def test_both_languages_and_nothing_untranslated(server: str) -> None:
    client = http_login(server, ROLE_USERS["admin"])
    client.headers["Accept-Language"] = "en"
    english = client.get("/overview").text
    assert "<h1>Overview</h1>" in english
    for path in (*FRAGMENTS, "/overview/metrics"):
        shown = visible_text(client.get(path, timeout=ENGINE_SECONDS).text)
        assert not CJK.findall(shown), (path, CJK.findall(shown)[:10])
        assert not re.findall(r"\b[a-z]+_[a-z_]+\b", shown), path
    chinese = http_login(server, ROLE_USERS["admin"])
    for path in ("/overview", *FRAGMENTS, "/overview/metrics"):
        shown = visible_text(chinese.get(path, timeout=ENGINE_SECONDS).text)
        english_texts = [
            en
            for zh, en in i18n.MESSAGES.values()
            if zh != en and " " in en and len(en) > 8 and en in shown
        ]
        assert not english_texts, (path, english_texts)
        assert not re.findall(r"\b[a-z]+_[a-z_]+\b", shown), path


# --- in a real browser ---------------------------------------------------------------------

CHARTS = (
    "degrees-chart",
    "tiers-chart",
    "stages-chart",
    "trends-chart",
)
ALL_DRAWN = """ids => window.echarts && ids.every(id => {
  const node = document.getElementById(id);
  return node && echarts.getInstanceByDom(node);
})"""


@pytest.mark.browser
def test_the_overview_in_a_browser_in_both_languages(browser_page: Watched) -> None:
    from tests.web.test_browser import SHOWN_TEXT, untranslated

    page = browser_page.page
    browser_login(page, "lin.hui")
    page.wait_for_url("**/overview")
    # every fragment in before leaving the page (a request cut short counts as failed)
    page.wait_for_function(ALL_DRAWN, arg=list(CHARTS), timeout=120_000)
    for locale, heading in (("zh_CN", "总览"), ("en", "Overview")):
        page.click(f'button[data-lang="{locale}"]')
        page.wait_for_url("**/overview")
        page.wait_for_function(ALL_DRAWN, arg=list(CHARTS), timeout=120_000)
        assert page.inner_text("main h1") == heading
        assert page.locator("#metric-cards .card").count() == len(figures.HEADLINE)
        assert page.locator("#metric-cards .spark canvas").count() == len(figures.HEADLINE)
        assert page.locator("#snapshot-cards .card").count() == 4
        assert page.locator("#tiers-table tbody tr").count() >= 4
        # a definition opens by keyboard and says what the figure is
        summary = page.locator("#metric-retention_rate details.def summary")
        summary.focus()
        page.keyboard.press("Enter")
        note = page.locator("#metric-retention_rate details.def p")
        assert note.is_visible()
        assert ("留存" if locale == "zh_CN" else "Retention") in note.inner_text()
        page.keyboard.press("Enter")
        assert not untranslated(page.evaluate(SHOWN_TEXT), locale), locale
        shot(page, f"overview-{locale}")
    # the period applies without a reload and stays in the address
    page.evaluate("window.__same_document = true")
    page.select_option("#period", "30d")
    page.wait_for_url("**/overview?period=30d", timeout=120_000)
    page.wait_for_function(ALL_DRAWN, arg=["trends-chart"], timeout=120_000)
    assert page.evaluate("window.__same_document") is True
    # phone width: one column, nothing wider than the screen
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/overview")
    page.wait_for_function(ALL_DRAWN, arg=list(CHARTS), timeout=120_000)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shot(page, "overview-en-phone")
    browser_page.clean()
