"""钻石客户 Diamonds over plain HTTP and in Chromium: who may open it, the list at risk first
as the report gives it with the checks that make each diamond, the at-risk mark in words,
who entered and left since the previous snapshot, a sales user's own diamonds, an analyst's
masked names, the audit, both languages."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from rapport.access import CustomerScope
from rapport.config import load_rules
from rapport.domain import AuditAction, ValueTier
from rapport.reports import snapshots
from rapport.reports.movers import previous_snapshot, tier_mover_counts, tier_movers
from rapport.reports.prepared import latest_snapshot
from rapport.store import schema
from rapport.web.views import diamonds as page
from tests.web.conftest import (
    PASSWORD,
    ROLE_USERS,
    SHOTS,
    Watched,
    WebStore,
    http_login,
)
from tests.web.test_browser import SHOWN_TEXT, untranslated

_c = schema.customers.c
_u = schema.users.c
ROW = re.compile(r'<tr data-customer-id="(\d+)"([^>]*)>(.*?)</tr>', re.S)


def rows_of(html: str, table: str) -> list[tuple[int, str, str]]:
    """``(customer id, attributes, cells)`` of each row of the table ``table``."""
    found = re.search(rf'<table[^>]*id="{table}".*?</table>', html, re.S)
    if found is None:
        return []
    return [(int(m.group(1)), m.group(2), m.group(3)) for m in ROW.finditer(found.group(0))]


def ids_of(html: str, table: str) -> list[int]:
    return [cid for cid, _, _ in rows_of(html, table)]


@pytest.fixture
def session(web_store: WebStore) -> Iterator[Session]:
    engine = web_store.engine()
    with Session(engine) as s:
        yield s
    engine.dispose()


def reports_for(session: Session, web_store: WebStore, key: str, locale: str = "zh_CN") -> Any:
    """The diamond list, the movers and their counts for ``key``, from the reports."""
    scope = CustomerScope(web_store.principal(key))
    rules = load_rules(web_store.settings)
    day = latest_snapshot(session)
    before = previous_snapshot(session, day)
    assert before is not None, "the web store has two snapshots"
    listed = snapshots.diamonds(
        session,
        day=day,
        rules=rules,
        locale=locale,
        limit=page.PAGE_ROWS,
        scope=scope,
        order="churn_risk",
    )
    movers = tier_movers(
        session,
        tier=ValueTier.DIAMOND,
        before=before,
        after=day,
        rules=rules,
        locale=locale,
        scope=scope,
        limit=page.MOVER_ROWS,
    )
    counts = tier_mover_counts(
        session, tier=ValueTier.DIAMOND, before=before, after=day, scope=scope
    )
    return listed, movers, counts


@pytest.mark.parametrize("role", sorted(ROLE_USERS))
def test_every_role_but_service_opens_it(server: str, role: str) -> None:
    client = http_login(server, ROLE_USERS[role])
    answer = client.get("/diamonds")
    if role == "service":
        assert answer.status_code == 403 and "无权访问" in answer.text
        assert 'href="/diamonds"' not in answer.text  # nor is it in their menu
    else:
        assert answer.status_code == 200 and "<h1>钻石客户</h1>" in answer.text
        assert 'href="/diamonds" aria-current="page"' in answer.text


def test_the_list_at_risk_first_and_the_movers_as_the_reports_give_them(
    server: str, web_store: WebStore, session: Session
) -> None:
    listed, movers, counts = reports_for(session, web_store, "admin")
    assert listed.rows and movers, "the web store has diamonds and movements"
    html = http_login(server, "admin").get("/diamonds").text
    assert ids_of(html, "diamond-table") == [r["customer_id"] for r in listed.rows]
    assert ids_of(html, "movers-table") == [r["customer_id"] for r in movers]
    assert f"共 {listed.total} 位钻石客户" in html
    assert f"新晋 {counts['in']} 位,离开 {counts['out']} 位" in html
    rules = load_rules(web_store.settings)
    level, ceiling = page.at_risk_level(rules)
    assert ceiling == 0.5 and level == 0.25  # the default rules: half of the 50 % ceiling
    by_id = {r["customer_id"]: r for r in listed.rows}
    for cid, attributes, cells in rows_of(html, "diamond-table"):
        row = by_id[cid]
        risky = row["churn_risk"] is not None and row["churn_risk"] >= level
        assert ("⚠ 需关注" in cells) is risky and ('class="at-risk"' in attributes) is risky
        for reason in row["reasons"]:  # why diamond: each check with its value
            assert reason.replace(">", "&gt;").replace("<", "&lt;") in cells
        assert f'href="/customers/{cid}"' in cells
    for cid, attributes, cells in rows_of(html, "movers-table"):
        mover = next(m for m in movers if m["customer_id"] == cid)
        assert ("↓ 离开" in cells) is (mover["direction"] == "out")
        assert f"move-{mover['direction']}" in attributes


def test_a_sales_user_sees_their_own_diamonds(
    server: str, web_store: WebStore, session: Session
) -> None:
    mine = {
        r["id"]
        for r in web_store.rows(sa.select(_c.id).where(_c.owner_id == web_store.ids["sales"]))
    }
    listed, movers, counts = reports_for(session, web_store, "sales")
    html = http_login(server, "wang.fang").get("/diamonds").text
    assert ids_of(html, "diamond-table") == [r["customer_id"] for r in listed.rows]
    assert ids_of(html, "movers-table") == [r["customer_id"] for r in movers]
    assert set(ids_of(html, "diamond-table")) | set(ids_of(html, "movers-table")) <= mine
    assert f"共 {listed.total} 位钻石客户" in html
    assert f"新晋 {counts['in']} 位,离开 {counts['out']} 位" in html


def test_an_analyst_sees_no_name_and_no_customer_number(
    server: str, web_store: WebStore, session: Session
) -> None:
    listed, movers, _ = reports_for(session, web_store, "admin")
    ids = [r["customer_id"] for r in listed.rows] + [m["customer_id"] for m in movers]
    real = web_store.rows(sa.select(_c.id, _c.name, _c.external_id).where(_c.id.in_(ids)))
    html = http_login(server, "gao.peng").get("/diamonds").text
    assert "个人信息已脱敏" in html
    assert set(ids_of(html, "diamond-table")) | set(ids_of(html, "movers-table")) == set(ids)
    for r in real:
        assert f">{r['name']}<" not in html and r["external_id"] not in html
    names = re.findall(r'class="customer-link data">([^<]*)<', html)
    assert names and all(n.endswith("*") and len(n) == 2 for n in names)
    a = schema.audit_log.c
    read = web_store.scalar(
        sa.select(sa.func.count()).where(a.action == AuditAction.READ_PII, a.actor == "gao.peng")
    )
    assert read == 0  # nothing unmasked was read


def test_what_an_admin_sees_is_audited(server: str, web_store: WebStore) -> None:
    html = http_login(server, "admin").get("/diamonds").text
    shown = set(ids_of(html, "diamond-table")) | set(ids_of(html, "movers-table"))
    a = schema.audit_log.c
    entry = web_store.rows(
        sa.select(a.detail, a.entity_id)
        .where(a.action == AuditAction.READ_PII, a.actor == "admin")
        .order_by(a.id.desc())
        .limit(1)
    )[0]
    detail: Any = entry["detail"]
    assert detail["route"] == "web.diamonds" and detail["via"] == "web"
    assert set(detail.get("ids") or [entry["entity_id"]]) == shown


def test_more_rows_by_the_address_and_htmx_gets_the_list_alone(
    server: str, web_store: WebStore, session: Session
) -> None:
    client = http_login(server, "admin")
    assert page._limit("abc") == page._limit(None) == page._limit("3") == page.PAGE_ROWS
    assert page._limit("100") == 100 and page._limit("1234567") == page.PAGE_ROWS
    assert page._limit(str(page.MAX_ROWS + 1)) == page._limit("99999") == page.MAX_ROWS
    partial = client.get(
        "/diamonds",
        params={"limit": "100"},
        headers={"HX-Request": "true", "HX-Target": "diamond-list"},
    )
    assert partial.status_code == 200 and "<html" not in partial.text
    assert 'id="movers-table"' not in partial.text
    listed, _, _ = reports_for(session, web_store, "admin")
    assert ids_of(partial.text, "diamond-table")[: len(listed.rows)] == [
        r["customer_id"] for r in listed.rows
    ]
    assert client.get("/diamonds", params={"limit": "lots"}).status_code == 200


def test_the_page_in_english(server: str) -> None:
    client = http_login(server, "admin")
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/diamonds").text)
    assert token is not None
    client.post("/lang", data={"lang": "en", "next": "/diamonds", "csrf_token": token.group(1)})
    html = client.get("/diamonds").text
    assert "<h1>Diamond customers</h1>" in html and "Diamonds, the most at risk first" in html
    assert "In and out of diamond" in html and "Loyalty: " in html  # the checks in English


@pytest.mark.browser
def test_the_diamonds_in_chromium_in_both_languages(
    browser_page: Watched, web_store: WebStore
) -> None:
    pw = browser_page.page
    pw.goto("/login?next=/diamonds")  # straight to the page, not through the landing page
    pw.fill("#username", "admin")
    pw.fill("#password", PASSWORD)
    pw.click("#login-submit")
    pw.wait_for_url("**/diamonds")
    for locale, heading in (("zh_CN", "钻石客户"), ("en", "Diamond customers")):
        pw.click(f'button[data-lang="{locale}"]')
        pw.wait_for_load_state()
        assert pw.inner_text("main h1") == heading
        assert pw.locator("#diamond-table tbody tr").count() > 0
        assert pw.locator("#movers-table tbody tr").count() > 0
        assert not untranslated(pw.evaluate(SHOWN_TEXT), locale), locale
        SHOTS.mkdir(parents=True, exist_ok=True)
        pw.screenshot(path=str(SHOTS / f"diamonds-{locale}.png"), full_page=True)
    # a diamond's name opens its 360 card
    first = pw.get_attribute("#diamond-table a.customer-link", "href")
    pw.click("#diamond-table a.customer-link")
    pw.wait_for_url(f"**{first}")
    pw.wait_for_selector("#next-best")  # the card's last fragment, before leaving the card
    pw.set_viewport_size({"width": 390, "height": 844})
    pw.goto("/diamonds")
    overflow = pw.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 1, overflow
    pw.screenshot(path=str(SHOTS / "diamonds-phone.png"), full_page=True)
    browser_page.clean()
