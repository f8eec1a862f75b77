"""分析 Analysis (``/analysis``): for admins, managers and analysts, refused to sales and
service; the explorer's figures are rapport.analyses' for the same question, the cohort
table is the cohort rows', the RFM grid, the groups and the movements are the reports'
within the user's scope; both languages with nothing untranslated; and a real browser
draws every chart without an error (screenshots in /tmp/web-shots/analysis-*.png)."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from rapport.access import CustomerScope
from rapport.analyses import cohort_rows, metric_values
from rapport.analytics.metrics import METRICS
from rapport.analytics.periods import Period, day_end
from rapport.config import load_rules
from rapport.reports import analysis as distributions
from rapport.reports import snapshots
from rapport.reports.overview import snapshot_days
from rapport.store.db import create_engine, session_scope
from rapport.web.figures.analysis import segment_label
from rapport.web.figures.overview import metric_text
from rapport.web.i18n import Formatter
from tests.web.conftest import ROLE_USERS, Watched, WebStore, browser_login, http_login, shot
from tests.web.test_overview import CJK, numbers_in, visible_text

#: Seconds an engine fragment may take (the first asks a worker process to start).
ENGINE_SECONDS = 300
FRAGMENTS = ("/analysis/snapshot", "/analysis/accuracy")
ENGINE_FRAGMENTS = (
    "/analysis/metrics",
    "/analysis/cohorts",
    "/analysis/chain",
    "/analysis/clusters",
)


def snapshot_dates(store: WebStore) -> tuple[dt.date, dt.date]:
    engine = create_engine(store.url)
    try:
        with session_scope(engine) as session:
            latest, previous = snapshot_days(session)
    finally:
        engine.dispose()
    assert latest is not None and previous is not None
    return latest, previous


def fmt_zh(store: WebStore) -> Formatter:
    return Formatter("zh_CN", store.settings.timezone, load_rules().business.currency)


@pytest.mark.parametrize("role", ["admin", "manager", "analyst"])
def test_admins_managers_and_analysts_open_it(server: str, role: str) -> None:
    client = http_login(server, ROLE_USERS[role])
    page = client.get("/analysis")
    assert page.status_code == 200
    assert "<h1>分析</h1>" in page.text
    assert 'href="/analysis"' in page.text  # in the menu
    for path in (*FRAGMENTS, *ENGINE_FRAGMENTS):
        assert f'hx-get="{path}' in page.text, path  # loaded after the page
    assert client.get("/analysis/snapshot").status_code == 200


@pytest.mark.parametrize("role", ["sales", "service"])
def test_sales_and_service_are_refused(server: str, role: str) -> None:
    client = http_login(server, ROLE_USERS[role])
    for path in ("/analysis", *FRAGMENTS, *ENGINE_FRAGMENTS):
        answer = client.get(path)
        assert answer.status_code == 403, path
        assert "无权访问" in answer.text
    assert 'href="/analysis"' not in client.get("/customers").text


def test_the_explorer_shows_rapport_analyses_figures(server: str, web_store: WebStore) -> None:
    """A metric per month and value tier: every row the page shows is the row
    rapport.analyses.metric_values gives for the same question (numerator, denominator,
    value), with the metric's definition; the question goes into the address."""
    question = {
        "metric": "repurchase_rate",
        "period": "12m",
        "granularity": "quarter",
        "by": "value_tier",
    }
    client = http_login(server, ROLE_USERS["analyst"])
    answer = client.get(
        "/analysis/metrics",
        params=question,
        headers={"HX-Trigger": "explorer-form"},
        timeout=ENGINE_SECONDS,
    )
    assert answer.status_code == 200, answer.text[:2000]
    assert answer.headers["HX-Push-Url"] == (
        "/analysis?metric=repurchase_rate&period=12m&granularity=quarter&by=value_tier"
    )
    latest, _ = snapshot_dates(web_store)
    settings = web_store.settings
    as_of = day_end(latest, settings.tz)
    period = Period.parse("12m", as_of=as_of, tz=settings.tz)
    _, table = metric_values(
        settings,
        load_rules(),
        ["repurchase_rate"],
        period,
        as_of=as_of,
        granularity="quarter",
        by="value_tier",
    )
    fmt = fmt_zh(web_store)
    expected = [
        [
            segment_label("value_tier", r["segment"], fmt),
            fmt.date(r["bucket_start"]),
            fmt.number(r["numerator"]) if r["numerator"] is not None else fmt.DASH,
            fmt.number(r["denominator"]) if r["denominator"] is not None else fmt.DASH,
            metric_text("percent", r["value"], fmt),
        ]
        for r in table.to_pylist()
    ]
    assert len(expected) >= 4
    assert numbers_in(answer.text, "metric-table") == expected
    assert METRICS["repurchase_rate"].label_zh in answer.text
    assert "购买两次及以上" in answer.text  # the definition
    assert 'data-chart="' in answer.text
    # the whole period, no group: one row, the same figures
    single = client.get(
        "/analysis/metrics",
        params={"metric": "customers_new", "period": "90d"},
        timeout=ENGINE_SECONDS,
    )
    period = Period.parse("90d", as_of=as_of, tz=settings.tz)
    _, table = metric_values(settings, load_rules(), ["customers_new"], period, as_of=as_of)
    row = table.to_pylist()[0]
    assert numbers_in(single.text, "metric-table") == [
        [
            fmt.number(row["numerator"]),
            fmt.number(row["denominator"]),
            metric_text("count", row["value"], fmt),
        ]
    ]
    # an unknown choice is the default, never an error
    fallback = client.get(
        "/analysis/metrics", params={"metric": "nope", "period": "7y"}, timeout=ENGINE_SECONDS
    )
    assert fallback.status_code == 200 and 'data-metric="retention_rate"' in fallback.text


def test_the_cohort_table_is_the_cohort_rows(server: str, web_store: WebStore) -> None:
    client = http_login(server, ROLE_USERS["manager"])
    answer = client.get("/analysis/cohorts", timeout=ENGINE_SECONDS)
    assert answer.status_code == 200, answer.text[:2000]
    latest, _ = snapshot_dates(web_store)
    settings = web_store.settings
    period = Period.parse("12m", as_of=day_end(latest, settings.tz), tz=settings.tz)
    _, rows = cohort_rows(settings, load_rules(), period)
    fmt = fmt_zh(web_store)
    cohorts = list(dict.fromkeys(r["cohort"] for r in rows))
    offsets = sorted({r["month_offset"] for r in rows if r["month_offset"] > 0})
    cells = {(r["cohort"], r["month_offset"]): r for r in rows}
    expected = []
    for c in cohorts:
        line = [c, fmt.number(cells[(c, 0)]["customers"])]
        for o in offsets:
            cell = cells.get((c, o))
            line.append("" if cell is None else fmt.percent(cell["share"] / 100, 1))
        expected.append(line)
    assert len(expected) >= 6
    assert numbers_in(answer.text, "cohorts-table") == expected
    assert '"type": "heatmap"' in answer.text.replace("&#34;", '"')


def test_the_snapshot_tables_are_the_reports_within_the_managers_scope(
    server: str, web_store: WebStore
) -> None:
    client = http_login(server, ROLE_USERS["manager"])
    answer = client.get("/analysis/snapshot")
    assert answer.status_code == 200
    latest, previous = snapshot_dates(web_store)
    engine = create_engine(web_store.url)
    with session_scope(engine) as session:
        scope = CustomerScope(web_store.principal("manager"))
        everyone = distributions.rfm_grid(session, day=latest)
        grid = distributions.rfm_grid(session, day=latest, scope=scope)
        tiers = snapshots.group_summary(
            session, by="value_tier", day=latest, rules=load_rules(), scope=scope
        )
        moves = snapshots.movements(
            session, by="value_tier", before=previous, after=latest, scope=scope
        )
        clv = distributions.clv_distribution(session, day=latest, scope=scope)
        correlations = distributions.degree_correlations(session, day=latest, scope=scope)
    engine.dispose()
    assert sum(g["customers"] for g in grid) < sum(g["customers"] for g in everyone)
    fmt = fmt_zh(web_store)
    cells = {(g["r_score"], g["f_score"]): g for g in grid}
    shown = numbers_in(answer.text, "rfm-table")
    assert [row[0] for row in shown] == ["R5", "R4", "R3", "R2", "R1"]
    for row, r in zip(shown, (5, 4, 3, 2, 1), strict=True):
        for f, text in zip((1, 2, 3, 4, 5), row[1:], strict=True):
            cell = cells.get((r, f), {"customers": 0, "revenue": 0.0})
            assert text.split() == [fmt.number(cell["customers"]), fmt.money(cell["revenue"])]
    assert [r[:3] for r in numbers_in(answer.text, "group-value_tier-table")] == [
        [
            snapshots.group_label("value_tier", g["group"], "zh_CN") or "(无)",
            fmt.number(g["customers"]),
            fmt.percent(g["customer_share"] / 100, 1),
        ]
        for g in tiers
    ]
    assert moves, "the two snapshots differ"
    assert numbers_in(answer.text, "moves-table") == [
        [
            snapshots.group_label("value_tier", m["from"], "zh_CN") or "(无)",
            snapshots.group_label("value_tier", m["to"], "zh_CN") or "(无)",
            fmt.number(m["customers"]),
        ]
        for m in moves
    ]
    assert '"type": "sankey"' in answer.text.replace("&#34;", '"')
    assert [r[1] for r in numbers_in(answer.text, "clv-table")] == [
        fmt.number(b["customers"]) for b in clv
    ]
    r = {(p["x"], p["y"]): p["r"] for p in correlations}
    r |= {(y, x): v for (x, y), v in r.items()}
    names = distributions.CORRELATED
    assert [row[1:] for row in numbers_in(answer.text, "corr-table")] == [
        [fmt.DASH if r[(a, b)] is None else fmt.number(r[(a, b)], 2) for b in names] for a in names
    ]
    # the movements of another grouping
    stages = client.get("/analysis/snapshot", params={"move_by": "lifecycle_stage"})
    assert 'value="lifecycle_stage" selected' in stages.text


def test_the_chain_is_the_degree_chain_within_the_managers_scope(
    server: str, web_store: WebStore
) -> None:
    latest, _ = snapshot_dates(web_store)
    engine = create_engine(web_store.url)
    with session_scope(engine) as session:
        scope = CustomerScope(web_store.principal("manager"))
        chain = distributions.degree_chain(session, day=latest, scope=scope)
        everyone = distributions.degree_chain(session, day=latest)
    engine.dispose()
    assert chain is not None and everyone is not None
    assert [x.high_source for x in chain.links] != [x.high_source for x in everyone.links]
    fmt = fmt_zh(web_store)
    client = http_login(server, ROLE_USERS["manager"])
    answer = client.get("/analysis/chain", timeout=ENGINE_SECONDS)
    assert answer.status_code == 200, answer.text[:2000]
    assert [row[:6] for row in numbers_in(answer.text, "chain-table")] == [
        [
            fmt.t(f"degree.{x.source}"),
            fmt.t(f"degree.{x.target}"),
            fmt.number(x.high_source),
            fmt.percent(x.share, 1),
            fmt.percent(x.base_rate, 1),
            fmt.DASH if x.lift is None else fmt.number(x.lift, 2) + "×",
        ]
        for x in chain.links
    ]
    diagram = visible_text(answer.text.split('id="chain-diagram"')[1].split("</ol>")[0])
    for degree in ("满意度", "忠诚度", "参与度", "推荐度"):
        assert degree in diagram


def test_the_clusters_are_rapport_clusters(server: str, web_store: WebStore) -> None:
    """The clusters the page shows are cluster_summary's of the latest snapshot (what
    ``rapport clusters`` computes): size, share, description, the criterion and its value,
    and each demographic per cluster."""
    from rapport.models.clusters import cluster_summary, demography_grid, description

    latest, _ = snapshot_dates(web_store)
    found = cluster_summary(web_store.settings, as_of=latest)
    assert found is not None
    client = http_login(server, ROLE_USERS["analyst"])
    answer = client.get("/analysis/clusters", timeout=ENGINE_SECONDS)
    assert answer.status_code == 200, answer.text[:2000]
    fmt = fmt_zh(web_store)
    assert numbers_in(answer.text, "clusters-table") == [
        [
            f"第 {c['id'] + 1} 类",
            fmt.number(c["size"]),
            fmt.percent(c["share"], 1),
            description([(n, v) for n, v in c["distinguishing"]], "zh_CN"),
        ]
        for c in found["clusters"]
    ]
    criterion = visible_text(answer.text.split('id="clusters-criterion"')[1].split("</p>")[0])
    assert f"k = {found['k']}" in criterion and "轮廓系数" in criterion
    assert fmt.number(found["score"], 3) in criterion
    assert fmt.number(found["sample"]) in criterion
    values, grid = demography_grid(found["demographics"]["gender"], found["k"], name="gender")
    assert numbers_in(answer.text, "clusters-gender") == [
        [f"第 {c + 1} 类", *(fmt.percent(v, 0) for v in grid[c])] for c in range(found["k"])
    ]
    assert len(values) >= 2
    assert '"type": "heatmap"' in answer.text.replace("&#34;", '"')


def test_model_accuracy_says_how_to_backtest(server: str, web_store: WebStore) -> None:
    """The section lists the registry's latest fits (saved_models of the server's data
    directory; none unless a test fitted and saved them), and says how to produce a
    backtest, without computing one."""
    latest, _ = snapshot_dates(web_store)
    client = http_login(server, ROLE_USERS["admin"])
    answer = client.get("/analysis/accuracy")
    assert answer.status_code == 200
    assert f"rapport models backtest --as-of {latest.isoformat()}" in answer.text
    saved = distributions.saved_models(web_store.settings)
    if not saved:
        assert 'id="accuracy-none"' in answer.text and "rapport models fit" in answer.text
        assert 'id="accuracy-table"' not in answer.text
        return
    fmt = fmt_zh(web_store)
    assert [[r[0], r[3]] for r in numbers_in(answer.text, "accuracy-table")] == [
        [fmt.t(f"analysis.model.{m['kind']}"), fmt.number(m["customers"])] for m in saved
    ]


def test_no_customer_is_named_for_the_analyst(server: str, web_store: WebStore) -> None:
    client = http_login(server, ROLE_USERS["analyst"])
    for path in ("/analysis/snapshot", "/analysis/chain", "/analysis/clusters"):
        text = client.get(path, timeout=ENGINE_SECONDS).text
        assert "/customers/" not in text, path  # aggregates only: no customer linked or named


def main(page: str) -> str:
    """The page's own part (not the frame's language switch and user name)."""
    found = re.search(r"<main.*?</main>", page, re.S)
    return found.group(0) if found else page


def test_both_languages_and_nothing_untranslated(server: str) -> None:
    import rapport.web.i18n as i18n

    client = http_login(server, ROLE_USERS["admin"])
    client.headers["Accept-Language"] = "en"
    english = client.get("/analysis").text
    assert "<h1>Analysis</h1>" in english
    params = {
        "metric": "churn_rate",
        "period": "12m",
        "granularity": "month",
        "by": "lifecycle_stage",
    }
    for path in ("/analysis", *FRAGMENTS, *ENGINE_FRAGMENTS):
        page = main(client.get(path, params=params, timeout=ENGINE_SECONDS).text)
        page = re.sub(r'<table[^>]*id="clusters-city".*?</table>', "", page, flags=re.S)
        shown = visible_text(page)  # (the cities are data, as stored)
        assert not CJK.findall(shown), (path, CJK.findall(shown)[:10])
        assert not re.findall(r"\b[a-z]+_[a-z_]+\b", shown), path
    chinese = http_login(server, ROLE_USERS["admin"])
    for path in ("/analysis", *FRAGMENTS, *ENGINE_FRAGMENTS):
        shown = visible_text(chinese.get(path, params=params, timeout=ENGINE_SECONDS).text)
        english_texts = [
            en
            for zh, en in i18n.MESSAGES.values()
            if zh != en and " " in en and len(en) > 8 and en in shown
        ]
        assert not english_texts, (path, english_texts)
        assert not re.findall(r"\b[a-z]+_[a-z_]+\b", shown), path
        assert not re.findall(r"\b[A-Z][a-z]+ [a-z]+\b", shown), path


# --- in a real browser ---------------------------------------------------------------------

#: True once every part the page loads after it arrives (its ``hx-trigger="load"``
#: fragments: the chain, the clusters, the accuracy, beside the charts' own) has replaced
#: its "loading" placeholder.
PARTS_IN = "() => document.querySelectorAll('main .loading').length === 0"

CHARTS = (
    "metric-chart",
    "cohorts-chart",
    "rfm-chart",
    "clv-chart",
    "moves-chart",
    "group-value_tier-chart",
    "corr-chart",
    "clusters-chart",
)
ALL_DRAWN = """ids => window.echarts && ids.every(id => {
  const node = document.getElementById(id);
  return node && echarts.getInstanceByDom(node);
})"""


@pytest.mark.browser
def test_the_analysis_page_in_a_browser(browser_page: Watched) -> None:
    from tests.web.test_browser import SHOWN_TEXT, untranslated

    page = browser_page.page
    browser_login(page, "gao.peng", next="/analysis")
    page.wait_for_url("**/analysis")
    page.wait_for_function(ALL_DRAWN, arg=list(CHARTS), timeout=240_000)
    for locale, heading in (("zh_CN", "分析"), ("en", "Analysis")):
        if locale != "zh_CN":
            page.click(f'button[data-lang="{locale}"]')
            page.wait_for_url("**/analysis")
            page.wait_for_function(ALL_DRAWN, arg=list(CHARTS), timeout=240_000)
        page.wait_for_function(PARTS_IN, timeout=240_000)
        assert page.inner_text("main h1") == heading
        assert page.locator("#rfm-table tbody tr").count() == 5
        assert page.locator("#cohorts-table tbody tr").count() >= 6
        assert page.locator("#chain-diagram li").count() == 7  # four degrees, three links
        assert page.locator("#clusters-table tbody tr").count() >= 2
        assert page.locator("#accuracy-backtest code").count() == 1
        assert not untranslated(page.evaluate(SHOWN_TEXT), locale), locale
        shot(page, f"analysis-{locale}")
        for part in ("chain", "clusters", "accuracy"):
            page.locator(f"section:has(#{part})").screenshot(
                path=f"/tmp/web-shots/analysis-{part}-{locale}.png"
            )
    # a new question by keyboard-reachable fields, without a reload, kept in the address
    page.evaluate("window.__same_document = true")
    page.select_option("#granularity", "month")
    page.wait_for_url("**/analysis?*granularity=month*", timeout=240_000)
    page.wait_for_function(ALL_DRAWN, arg=["metric-chart"], timeout=240_000)
    assert page.locator("#metric-table tbody tr").count() >= 3  # the months of 90 days
    assert page.evaluate("window.__same_document") is True
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/analysis")
    page.wait_for_function(ALL_DRAWN, arg=list(CHARTS), timeout=240_000)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shot(page, "analysis-en-phone")
    browser_page.clean()
