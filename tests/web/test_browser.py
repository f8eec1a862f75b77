"""The workspace in a real Chromium: log-in, search in Chinese, a filter, the second page,
the 360 card with its charts and timeline, both languages with nothing untranslated,
row-level scope and masking. Screenshots go to /tmp/web-shots/."""

from __future__ import annotations

import re
from typing import Any

import pytest
import sqlalchemy as sa

from rapport.store import schema
from rapport.web import i18n
from tests.web.conftest import Watched, WebStore, browser_login, shot

pytestmark = pytest.mark.browser

_c = schema.customers.c
_s = schema.customer_scores.c
CJK = re.compile(r"[\u3400-\u9fff]")
CODE = re.compile(r"\b[a-z]+_[a-z_]+\b")  # snake_case: a stored code shown as it is
#: The visible text of a page without the customers' own data (names, addresses, tags …:
#: marked class="data") and without the language switch's own name 中文.
SHOWN_TEXT = """() => {
  const body = document.body.cloneNode(true);
  body.querySelectorAll('.data, [data-lang="zh_CN"], script').forEach(e => e.remove());
  return body.textContent;
}"""


#: Whether the first row of the list is none of the ids given (the list has been swapped).
FIRST_ROW_NOT_IN = (
    "ids => !ids.includes(Number("
    "document.querySelector('tr[data-customer-id]').dataset.customerId))"
)


def row_ids(page: Any) -> list[int]:
    return [
        int(i)
        for i in page.eval_on_selector_all(
            "tr[data-customer-id]", "rs => rs.map(r => r.dataset.customerId)"
        )
    ]


def card_customer(store: WebStore) -> int:
    """A customer in both snapshots, with predictions and orders (a timeline)."""
    o = schema.orders.c
    both = sa.select(_s.customer_id).group_by(_s.customer_id).having(sa.func.count() == 2)
    rows = store.rows(
        sa.select(_s.customer_id)
        .where(_s.predicted_clv.is_not(None), _s.churn_risk.is_not(None))
        .where(_s.customer_id.in_(both), _s.customer_id.in_(sa.select(o.customer_id)))
        .order_by(_s.as_of.desc(), _s.predicted_clv.desc())
        .limit(1)
    )
    return rows[0]["customer_id"]


def untranslated(text: str, locale: str) -> list[str]:
    """What of ``text`` is not in ``locale``: raw codes, Chinese on an English page, the
    workspace's English texts on a Chinese page."""
    found = CODE.findall(text)
    if locale == "en":
        found += CJK.findall(text)
    else:
        found += [
            en
            for zh, en in i18n.MESSAGES.values()
            if zh != en and " " in en and len(en) > 8 and en in text
        ]
    return found


def test_log_in_with_a_wrong_then_the_right_password(browser_page: Watched) -> None:
    page = browser_page.page
    browser_login(page, "admin", "wrong password")
    assert page.inner_text("#login-error") == "用户名或密码错误"
    browser_page.errors.clear()  # Chromium logs the 401 of the refused log-in itself
    browser_login(page, "admin", next="/customers")
    page.wait_for_url("**/customers")
    assert page.inner_text("h1") == "客户"
    page.click("#logout")
    page.wait_for_url("**/login?bye=1")
    page.goto("/customers")
    page.wait_for_url("**/login?next=/customers")
    browser_page.clean()


def test_search_in_chinese_a_filter_and_the_second_page(
    browser_page: Watched, web_store: WebStore
) -> None:
    page = browser_page.page
    browser_login(page, "admin", next="/customers")
    page.wait_for_url("**/customers")
    first = row_ids(page)
    assert len(first) == 25
    name = web_store.scalar(sa.select(_c.name).where(_c.id == first[3]))
    surname = name[0]
    assert CJK.match(surname)
    page.fill("#q", surname)
    page.press("#q", "Enter")
    page.wait_for_url(re.compile(r"q=%E"))  # HTMX pushed the search into the URL
    page.wait_for_function(
        "n => document.querySelectorAll('tr[data-customer-id]').length < n", arg=25
    )
    found = row_ids(page)
    names = web_store.rows(sa.select(_c.name).where(_c.id.in_(found)))
    assert first[3] in found and all(surname in r["name"] for r in names)
    # a filter: lifecycle stage, chosen from the list, applies at once
    page.goto("/customers")
    page.select_option("#stage", "active")
    page.wait_for_url("**/customers?*stage=active*")
    page.wait_for_selector("#customer-table")
    stages = web_store.rows(
        sa.select(_s.lifecycle_stage)
        .where(_s.customer_id.in_(row_ids(page)))
        .where(_s.as_of == sa.select(sa.func.max(_s.as_of)).scalar_subquery())
    )
    assert stages and {str(r["lifecycle_stage"]) for r in stages} == {"active"}
    # paging: the second page of the whole list, without a reload, bookmarkable
    page.goto("/customers?sort=predicted_clv")
    one = row_ids(page)
    page.evaluate("window.__same_document = true")
    page.click("#next-page")
    page.wait_for_url("**after=*")
    page.wait_for_function(
        FIRST_ROW_NOT_IN,
        arg=one,
    )
    two = row_ids(page)
    assert len(two) == 25 and not set(one) & set(two)
    assert page.evaluate("window.__same_document") is True  # HTMX swapped, no reload
    page.reload()
    assert row_ids(page) == two  # the URL holds the page
    browser_page.clean()


def test_the_card_and_the_list_in_both_languages(
    browser_page: Watched, web_store: WebStore
) -> None:
    page = browser_page.page
    customer = card_customer(web_store)
    browser_login(page, "admin", next="/customers")
    page.wait_for_url("**/customers")
    for locale, heading in (("zh_CN", "客户"), ("en", "Customers")):
        page.goto("/customers")
        page.click(f'button[data-lang="{locale}"]')
        page.wait_for_load_state()
        assert page.inner_text("main h1") == heading
        assert page.get_attribute("html", "lang") == i18n.HTML_LANG[locale]
        assert page.get_attribute(f'button[data-lang="{locale}"]', "aria-pressed") == "true"
        assert not untranslated(page.evaluate(SHOWN_TEXT), locale), locale
        shot(page, f"customers-{locale}")
        page.goto(f"/customers/{customer}")
        page.wait_for_function(
            "() => window.echarts && echarts.getInstanceByDom(document.getElementById('radar'))"
            " && echarts.getInstanceByDom(document.getElementById('trend'))"
        )
        assert page.locator("#radar canvas").count() == 1
        assert page.locator("#trend canvas").count() == 1
        trend = page.evaluate(
            "() => echarts.getInstanceByDom(document.getElementById('trend')).getOption()"
            ".series[0].data"
        )
        assert len(trend) == 2 and all(v is not None for v in trend)
        radar = page.evaluate(
            "() => echarts.getInstanceByDom(document.getElementById('radar')).getOption()"
            ".radar[0].indicator.map(i => i.name)"
        )
        assert radar == [
            i18n.text(f"degree.{k}", locale)
            for k in ("satisfaction", "loyalty", "engagement", "advocacy")
        ]
        assert page.locator("#timeline tbody tr").count() > 0
        assert page.locator("#churn-reasons li").count() > 0
        assert not untranslated(page.evaluate(SHOWN_TEXT), locale), locale
        shot(page, f"card-{locale}")
    browser_page.clean()


def test_a_sales_user_gets_the_not_found_page_for_another_owners_customer(
    browser_page: Watched, web_store: WebStore
) -> None:
    theirs = web_store.scalar(
        sa.select(sa.func.min(_c.id)).where(_c.owner_id == web_store.ids["other_sales"])
    )
    mine = {
        r["id"]
        for r in web_store.rows(sa.select(_c.id).where(_c.owner_id == web_store.ids["sales"]))
    }
    page = browser_page.page
    browser_login(page, "wang.fang")
    page.wait_for_url("**/worklist")  # a sales user's landing page
    page.goto("/customers")
    assert set(row_ids(page)) <= mine
    answer = page.goto(f"/customers/{theirs}")
    assert answer is not None and answer.status == 404
    assert page.inner_text("main h1") == "未找到"
    browser_page.errors.clear()  # Chromium logs the 404 of the page itself
    browser_page.clean()


def test_an_analyst_sees_masked_names(browser_page: Watched, web_store: WebStore) -> None:
    page = browser_page.page
    browser_login(page, "gao.peng", next="/customers")
    page.wait_for_url("**/customers")
    shown = page.eval_on_selector_all("a.customer-link", "as => as.map(a => a.textContent)")
    assert len(shown) == 25 and all(s.endswith("*") and len(s) == 2 for s in shown)
    numbers = page.eval_on_selector_all(
        "tr[data-customer-id] td:nth-child(3)", "tds => tds.map(td => td.textContent)"
    )
    real = {r["external_id"] for r in web_store.rows(sa.select(_c.external_id))}
    assert numbers and all("*" in n and n not in real for n in numbers)
    assert page.is_disabled("#q")
    browser_page.clean()
