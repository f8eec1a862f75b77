"""我的工作台 My worklist over plain HTTP and in Chromium: who may open it (sales land on
it), a sales user's own customers only, a manager or admin picking an owner, the four
lists as the reports give them, N of "not contacted for N days" with a refused value, the
HTMX page of one list, the audit of what was shown, both languages."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from rapport.access import CustomerScope
from rapport.config import Settings, load_rules
from rapport.domain import AuditAction, Role
from rapport.reports import snapshots
from rapport.reports import worklist as reports
from rapport.reports.prepared import latest_snapshot
from rapport.store import schema
from rapport.web import nav
from rapport.web.views import worklist as page
from tests.web.conftest import (
    ROLE_USERS,
    SHOTS,
    Watched,
    WebStore,
    browser_login,
    http_login,
)
from tests.web.test_browser import SHOWN_TEXT, untranslated

_c = schema.customers.c
_u = schema.users.c
TABLE_ROW = re.compile(r'<table[^>]*id="([\w-]+)-table".*?</table>', re.S)
ROW_ID = re.compile(r'data-customer-id="(\d+)"')


def tables(html: str) -> dict[str, list[int]]:
    """The customer ids of each table of the page, by the table's id."""
    found: dict[str, list[int]] = {}
    for match in TABLE_ROW.finditer(html):
        found[match.group(1)] = [int(i) for i in ROW_ID.findall(match.group(0))]
    return found


@pytest.fixture
def session(web_store: WebStore) -> Iterator[Session]:
    engine = web_store.engine()
    with Session(engine) as s:
        yield s
    engine.dispose()


def expected(
    session: Session, settings: Settings, scope: CustomerScope, days: int = 30
) -> dict[str, list[int]]:
    """What each list of the page holds for ``scope``, from the reports themselves."""
    tz = settings.tz
    today = reports.local_today(tz)
    as_of = latest_snapshot(session)
    rules = load_rules(settings)
    return {
        "at-risk": [
            r["customer_id"]
            for r in snapshots.churn_warnings(
                session, day=as_of, limit=page.TOP_ROWS, min_risk=page.MIN_RISK, scope=scope
            ).rows
        ],
        "diamonds": [
            r["customer_id"]
            for r in snapshots.diamonds(
                session,
                day=as_of,
                rules=rules,
                locale="zh_CN",
                limit=page.TOP_ROWS,
                scope=scope,
                order="churn_risk",
            ).rows
        ],
        "birthdays": [
            r["customer_id"]
            for r in reports.birthdays(
                session,
                start=reports.week_of(today),
                as_of=as_of,
                scope=scope,
                limit=page.PAGE_ROWS,
            ).rows
        ],
        "quiet": [
            r["customer_id"]
            for r in reports.not_contacted(
                session,
                today=today,
                days=days,
                tz=tz,
                as_of=as_of,
                scope=scope,
                limit=page.PAGE_ROWS,
            ).rows
        ],
    }


def owned_by(web_store: WebStore, key: str) -> set[int]:
    rows = web_store.rows(sa.select(_c.id).where(_c.owner_id == web_store.ids[key]))
    return {r["id"] for r in rows}


def shown(tables_found: dict[str, list[int]]) -> dict[str, list[int]]:
    """The four lists, an empty list for a section without a table."""
    return {k: tables_found.get(k, []) for k in ("at-risk", "diamonds", "birthdays", "quiet")}


@pytest.mark.parametrize("role", sorted(ROLE_USERS))
def test_sales_managers_and_admins_open_it_others_are_refused(server: str, role: str) -> None:
    client = http_login(server, ROLE_USERS[role])
    answer = client.get("/worklist")
    if role in ("sales", "manager", "admin"):
        assert answer.status_code == 200 and "<h1>我的工作台</h1>" in answer.text
        assert 'href="/worklist" aria-current="page"' in answer.text
    else:
        assert answer.status_code == 403 and "无权访问" in answer.text
    assert nav.home(Role.SALES) == "/worklist"


def test_a_sales_user_sees_their_own_lists_as_the_reports_give_them(
    server: str, web_store: WebStore, session: Session
) -> None:
    client = http_login(server, "wang.fang")
    landing = client.get("/")
    assert landing.status_code == 303 and landing.headers["location"] == "/worklist"
    html = client.get("/worklist").text
    found = shown(tables(html))
    mine = owned_by(web_store, "sales")
    want = expected(session, web_store.settings, CustomerScope(web_store.principal("sales")))
    assert found == want
    assert found["quiet"] and found["birthdays"] is not None
    every = {cid for ids in found.values() for cid in ids}
    assert every and every <= mine
    for cid in every:  # each row links to the 360 card
        assert f'href="/customers/{cid}"' in html
    assert 'id="owner"' not in html  # a sales user picks no owner


def test_an_admin_picks_one_owner_a_manager_only_within_their_scope(
    server: str, web_store: WebStore, session: Session
) -> None:
    sales_id = web_store.ids["sales"]
    admin = http_login(server, "admin")
    everyone = admin.get("/worklist").text
    assert f'<option class="data" value="{sales_id}"' in everyone
    picked = admin.get("/worklist", params={"owner": sales_id}).text
    assert f'value="{sales_id}" selected' in picked
    found = shown(tables(picked))
    narrowed = reports.owned_by(CustomerScope(web_store.principal("admin")), sales_id)
    assert found == expected(session, web_store.settings, narrowed)
    assert {c for ids in found.values() for c in ids} <= owned_by(web_store, "sales")
    # the manager's scope is their team and the unowned: another team's owner is no choice
    manager = http_login(server, "lin.hui")
    scope = CustomerScope(web_store.principal("manager"))
    asked = shown(tables(manager.get("/worklist", params={"owner": sales_id}).text))
    assert asked == expected(session, web_store.settings, scope)
    assert not {c for ids in asked.values() for c in ids} & owned_by(web_store, "sales")


def test_days_without_contact_come_from_the_address_and_a_bad_value_is_said(
    server: str, web_store: WebStore, session: Session
) -> None:
    client = http_login(server, "wang.fang")
    scope = CustomerScope(web_store.principal("sales"))
    week = client.get("/worklist", params={"days": "7"}).text
    assert "7 天以上未联系" in week and 'value="7"' in week
    assert shown(tables(week))["quiet"] == expected(session, web_store.settings, scope, 7)["quiet"]
    for bad in ("abc", "0", "-3", "99999", "1.5"):
        refused = client.get("/worklist", params={"days": bad})
        assert refused.status_code == 200, bad
        assert (
            'role="alert"' in refused.text
            and "未联系天数须为 1 至 3,660 之间的整数" in refused.text
        )
        assert 'aria-invalid="true"' in refused.text
        assert "30 天以上未联系" in refused.text  # shown with the default


def test_the_next_page_of_one_list_comes_alone_with_htmx(
    server: str, web_store: WebStore, session: Session
) -> None:
    client = http_login(server, "admin")
    full = client.get("/worklist").text
    url = re.search(r'href="(/worklist\?[^"]*quiet_after=[^"]+)"', full)
    assert url is not None, "the admin's customers not contacted fill more than a page"
    target = url.group(1).replace("&amp;", "&")
    partial = client.get(target, headers={"HX-Request": "true", "HX-Target": "quiet"})
    assert partial.status_code == 200 and "<html" not in partial.text
    second = tables(partial.text)["quiet"]
    scope = CustomerScope(web_store.principal("admin"))
    today = reports.local_today(web_store.settings.tz)
    as_of = latest_snapshot(session)
    first = reports.not_contacted(
        session,
        today=today,
        days=30,
        tz=web_store.settings.tz,
        as_of=as_of,
        scope=scope,
        limit=page.PAGE_ROWS,
    )
    assert second == [
        r["customer_id"]
        for r in reports.not_contacted(
            session,
            today=today,
            days=30,
            tz=web_store.settings.tz,
            as_of=as_of,
            scope=scope,
            limit=page.PAGE_ROWS,
            after=first.next_cursor,
        ).rows
    ]
    assert not set(second) & set(tables(full)["quiet"])
    assert 'id="quiet-first"' in partial.text
    # without HTMX the same address is the whole page, that list on its second page
    whole = client.get(target).text
    assert "<html" in whole and tables(whole)["quiet"] == second
    # a cursor edited by hand starts the list again, it is no error
    edited = client.get("/worklist", params={"quiet_after": "bm90IGEgY3Vyc29y"})
    assert edited.status_code == 200
    assert tables(edited.text)["quiet"] == tables(full)["quiet"]


def test_what_the_page_shows_is_audited(server: str, web_store: WebStore) -> None:
    client = http_login(server, "wang.fang")
    html = client.get("/worklist").text
    ids = {c for c in (int(i) for i in ROW_ID.findall(html))}
    a = schema.audit_log.c
    entries = web_store.rows(
        sa.select(a.detail, a.entity_id)
        .where(a.action == AuditAction.READ_PII, a.actor == "wang.fang")
        .order_by(a.id.desc())
        .limit(1)
    )
    detail: Any = entries[0]["detail"]
    assert detail["route"] == "web.worklist" and detail["via"] == "web"
    assert set(detail.get("ids") or [entries[0]["entity_id"]]) == ids


def test_the_page_in_english(server: str) -> None:
    client = http_login(server, "wang.fang")
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/worklist").text)
    assert token is not None
    client.post("/lang", data={"lang": "en", "next": "/worklist", "csrf_token": token.group(1)})
    html = client.get("/worklist").text
    assert "<h1>My worklist</h1>" in html and "Birthdays this week" in html
    assert "Not contacted for 30 days or more" in html and "At risk, by value at risk" in html


# --- in the browser --------------------------------------------------------------------------


@pytest.mark.browser
def test_the_worklist_in_chromium_in_both_languages(
    browser_page: Watched, web_store: WebStore
) -> None:
    pw = browser_page.page
    browser_login(pw, "wang.fang")
    pw.wait_for_url("**/worklist")
    for locale, heading in (("zh_CN", "我的工作台"), ("en", "My worklist")):
        pw.click(f'button[data-lang="{locale}"]')
        pw.wait_for_load_state()
        assert pw.inner_text("main h1") == heading
        assert not untranslated(pw.evaluate(SHOWN_TEXT), locale), locale
        assert pw.locator("#quiet-table tbody tr").count() > 0
        SHOTS.mkdir(parents=True, exist_ok=True)
        pw.screenshot(path=str(SHOTS / f"worklist-{locale}.png"), full_page=True)
    # the days field by keyboard; the list follows
    pw.fill("#days", "60")
    pw.press("#days", "Enter")
    pw.wait_for_url("**/worklist?days=60")
    assert "60" in pw.inner_text("#quiet-h")
    # the next page of the customers not contacted swaps that list alone
    before = pw.eval_on_selector_all(
        "#quiet-table tr[data-customer-id]", "rs => rs.map(r => r.dataset.customerId)"
    )
    heading = pw.inner_text("main h1")
    if pw.locator("#quiet-next").count():
        pw.click("#quiet-next")
        pw.wait_for_selector("#quiet-first")
        after = pw.eval_on_selector_all(
            "#quiet-table tr[data-customer-id]", "rs => rs.map(r => r.dataset.customerId)"
        )
        assert after and not set(after) & set(before)
        assert pw.inner_text("main h1") == heading
    # at phone width the panels stack and nothing is wider than the screen
    pw.set_viewport_size({"width": 390, "height": 844})
    pw.goto("/worklist")
    overflow = pw.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 1, overflow
    pw.screenshot(path=str(SHOTS / "worklist-phone.png"), full_page=True)
    browser_page.clean()


def test_each_at_risk_and_diamond_row_shows_its_next_best_action(
    server: str, web_store: WebStore
) -> None:
    from html import unescape

    from rapport.actions.next_best import next_best_for
    from rapport.actions.playbook_registry import sync_playbooks
    from rapport.store.db import session_scope
    from rapport.store.repository import utcnow

    engine = web_store.engine()
    with session_scope(engine, writing=True) as s:
        sync_playbooks(session=s, rules=load_rules(), at=utcnow())
    html = http_login(server, "wang.fang").get("/worklist").text
    found = tables(html)
    listed = found.get("at-risk", []) + found.get("diamonds", [])
    assert listed
    with session_scope(engine) as s:
        best = next_best_for(
            session=s,
            settings=web_store.settings.model_copy(update={"locale": "zh_CN"}),
            customer_ids=listed,
            day=reports.local_today(web_store.settings.tz),
            limit=1,
        )
    engine.dispose()
    cells = [
        unescape(re.sub(r"<[^>]+>", "", cell)).strip()
        for name in ("at-risk", "diamonds")
        for table in re.findall(rf'<table[^>]*id="{name}-table".*?</table>', html, re.S)
        for cell in re.findall(r'<td class="wrap next-best-cell">(.*?)</td>', table, re.S)
    ]
    want = [best[cid][0].name if best.get(cid) else "—" for cid in listed]
    assert cells == want
    assert any(cell != "—" for cell in cells)  # the playbooks have something to offer
