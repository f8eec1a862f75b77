"""告警 Alerts and the top bar's badge: the alerts each role sees (the store's scoped
listing), filtered by status and kind, acknowledged and resolved through
:mod:`rapport.actions.alerts` (role, scope, audit), CSRF-protected; the badge's count of open
alerts in scope; analysts refused. Plain HTTP, and in Chromium: the badge, acknowledge and
resolve without a reload, in zh-CN and en."""

from __future__ import annotations

import re
import uuid
from html import unescape

import httpx
import pytest
import sqlalchemy as sa

from rapport.actions.alerts import alert_page
from rapport.domain import AlertKind, AlertSeverity, AlertStatus
from rapport.store import alerts, schema
from rapport.store.alerts import AlertFilter
from rapport.store.db import session_scope
from rapport.store.paging import PageRequest
from rapport.store.repository import utcnow
from tests.helpers import audit_entries
from tests.web.conftest import (
    ROLE_USERS,
    SHOTS,
    Watched,
    WebStore,
    browser_login,
    csrf_of,
    http_login,
)

_c = schema.customers.c
_a = schema.alerts.c
ALERT_ROW = re.compile(r'<tr id="alert-(\d+)"')


def owned(store: WebStore, who: str) -> list[int]:
    rows = store.rows(sa.select(_c.id).where(_c.owner_id == store.ids[who]).order_by(_c.id))
    return [r["id"] for r in rows]


def raise_one(
    store: WebStore,
    customer_id: int | None,
    kind: AlertKind = AlertKind.CHURN_RISK,
    severity: AlertSeverity = AlertSeverity.WARNING,
) -> int:
    engine = store.engine()
    with session_scope(engine, writing=True) as session:
        alert_id, _ = alerts.raise_alert(
            session=session,
            kind=kind,
            dedup_key=f"test:{uuid.uuid4().hex}",
            severity=severity,
            customer_id=customer_id,
            details={"churn_risk": 0.71, "previous": 0.42},
            at=utcnow(),
        )
    engine.dispose()
    return alert_id


def status_of(store: WebStore, alert_id: int) -> str:
    return store.scalar(sa.select(_a.status).where(_a.id == alert_id))


def shown_ids(html: str) -> list[int]:
    return [int(i) for i in ALERT_ROW.findall(html)]


def text_of(html: str) -> str:
    return unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)))


def post(client: httpx.Client, alert_id: int, what: str, *, htmx: bool = True) -> httpx.Response:
    token = csrf_of(client.get("/alerts").text)
    path = f"/alerts/{alert_id}/{what}"
    if htmx:
        return client.post(path, headers={"HX-Request": "true", "X-CSRF-Token": token})
    return client.post(path, data={"csrf_token": token})


@pytest.fixture(scope="module")
def seeded(web_store: WebStore) -> dict[str, int]:
    return {
        "mine": raise_one(web_store, owned(web_store, "sales")[0], severity=AlertSeverity.CRITICAL),
        "theirs": raise_one(web_store, owned(web_store, "other_sales")[0]),
        "company": raise_one(web_store, None, kind=AlertKind.METRIC_OUT_OF_BAND),
    }


def expected(store: WebStore, key: str, status: str = "unresolved") -> tuple[list[int], int]:
    engine = store.engine()
    with session_scope(engine) as session:
        page = alert_page(
            session=session,
            principal=store.principal(key),
            page=PageRequest(limit=25),
            filters=AlertFilter(status=status),  # type: ignore[arg-type]
        )
    engine.dispose()
    return [r["id"] for r in page.data], page.count


@pytest.mark.parametrize("role", sorted(ROLE_USERS))
def test_who_may_open_the_page(server: str, role: str) -> None:
    client = http_login(server, ROLE_USERS[role])
    answer = client.get("/alerts")
    badge = client.get("/alerts/badge", headers={"HX-Request": "true"})
    menu = client.get("/customers").text
    if role == "analyst":
        assert answer.status_code == 403 and badge.status_code == 403
        assert 'href="/alerts"' not in menu
    else:
        assert answer.status_code == 200 and badge.status_code == 200
        assert 'href="/alerts"' in menu and 'hx-get="/alerts/badge"' in menu


@pytest.mark.parametrize("key", ["sales", "admin", "manager"])
def test_each_role_sees_the_alerts_of_its_scope(
    server: str, web_store: WebStore, seeded: dict[str, int], key: str
) -> None:
    username = {"sales": "wang.fang", "admin": "admin", "manager": "lin.hui"}[key]
    html = http_login(server, username).get("/alerts").text
    ids, count = expected(web_store, key)
    assert shown_ids(html) == ids
    assert f"共 {count:,} 条" in html
    if key == "sales":
        assert seeded["mine"] in ids and seeded["theirs"] not in ids
        assert seeded["company"] not in ids
    if key == "admin":
        assert {seeded["mine"], seeded["theirs"], seeded["company"]} <= set(ids)


def test_the_badge_counts_the_open_alerts_in_scope(
    server: str, web_store: WebStore, seeded: dict[str, int]
) -> None:
    client = http_login(server, "wang.fang")
    _, count = expected(web_store, "sales", "open")
    assert count >= 1
    badge = client.get("/alerts/badge", headers={"HX-Request": "true"}).text
    assert f"{count} 条未处理告警" in badge
    fresh = raise_one(web_store, owned(web_store, "sales")[1])
    badge = client.get("/alerts/badge", headers={"HX-Request": "true"}).text
    assert f"{count + 1} 条未处理告警" in badge
    post(client, fresh, "acknowledge")
    badge = client.get("/alerts/badge", headers={"HX-Request": "true"}).text
    assert f"{count} 条未处理告警" in badge


def test_acknowledge_then_resolve_audited(server: str, web_store: WebStore) -> None:
    alert_id = raise_one(web_store, owned(web_store, "sales")[2])
    client = http_login(server, "wang.fang")
    answer = post(client, alert_id, "acknowledge")
    assert answer.status_code == 200 and "<html" not in answer.text
    assert status_of(web_store, alert_id) == "acknowledged"
    assert "已确认" in text_of(answer.text) and 'class="ack"' not in answer.text
    entry = audit_entries(web_store.engine(), "update", "alerts")[-1]
    assert entry["entity_id"] == str(alert_id) and entry["actor_user_id"] == web_store.ids["sales"]
    assert entry["detail"]["via"] == "web" and entry["detail"]["to"] == "acknowledged"
    answer = post(client, alert_id, "resolve", htmx=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/alerts"
    assert status_of(web_store, alert_id) == "resolved"
    assert audit_entries(web_store.engine(), "update", "alerts")[-1]["detail"]["to"] == "resolved"
    # resolved already: said in the row, in the language
    again = post(client, alert_id, "resolve")
    error = re.search(r'role="alert"[^>]*>(.*?)</p>', again.text, re.S)
    assert error is not None and str(alert_id) in text_of(error.group(1))
    resolved = client.get("/alerts", params={"status": "resolved"}).text
    assert alert_id in shown_ids(resolved)
    assert alert_id not in shown_ids(client.get("/alerts").text)


def test_the_kind_filter(server: str, web_store: WebStore, seeded: dict[str, int]) -> None:
    html = http_login(server, "admin").get("/alerts", params={"kind": "metric_out_of_band"}).text
    ids = shown_ids(html)
    assert seeded["company"] in ids and seeded["mine"] not in ids
    assert "全公司" in html


def test_scope_roles_and_csrf_on_the_writes(
    server: str, web_store: WebStore, seeded: dict[str, int]
) -> None:
    client = http_login(server, "wang.fang")
    assert post(client, seeded["theirs"], "acknowledge").status_code == 404
    assert post(client, seeded["company"], "resolve").status_code == 404
    assert client.post(f"/alerts/{seeded['mine']}/resolve").status_code == 403  # no token
    analyst = http_login(server, "gao.peng")
    token = csrf_of(analyst.get("/customers").text)
    answer = analyst.post(f"/alerts/{seeded['mine']}/acknowledge", data={"csrf_token": token})
    assert answer.status_code == 403
    for key in ("theirs", "company", "mine"):
        assert status_of(web_store, seeded[key]) == AlertStatus.OPEN.value


def test_the_page_in_english(server: str, seeded: dict[str, int]) -> None:
    client = http_login(server, "admin")
    token = csrf_of(client.get("/alerts").text)
    client.post("/lang", data={"lang": "en", "csrf_token": token, "next": "/"})
    html = client.get("/alerts").text
    main = html[html.index("<main") :]
    text = re.sub(r'<[^>]*class="[^"]*data[^"]*"[^>]*>[^<]*<', "<", main)
    assert not re.findall(r"[\u3400-\u9fff]", text_of(text)), text_of(text)
    assert "Company-wide" in html and "Acknowledge" in html
    assert "open alerts" in client.get("/alerts/badge", headers={"HX-Request": "true"}).text


# --- in Chromium ---------------------------------------------------------------------------


@pytest.mark.browser
def test_the_badge_and_working_an_alert(browser_page: Watched, web_store: WebStore) -> None:
    from tests.web.test_browser import SHOWN_TEXT, untranslated

    first = raise_one(web_store, owned(web_store, "sales")[3], severity=AlertSeverity.CRITICAL)
    second = raise_one(web_store, owned(web_store, "sales")[4])
    page = browser_page.page
    browser_login(page, "wang.fang")
    page.wait_for_url("**/worklist")
    page.wait_for_selector("#alerts-badge.count-badge")
    _, count = expected(web_store, "sales", "open")
    assert page.inner_text("#alerts-badge span[aria-hidden]") == str(count)
    page.click('nav a[href="/alerts"]')
    page.wait_for_url("**/alerts")
    page.evaluate("() => { window.notReloaded = true; }")
    page.locator(f"#alert-{first} button.ack").click()
    page.wait_for_selector(f"#alert-{first}.status-acknowledged")
    assert "已确认" in page.inner_text(f"#alert-{first}")
    # the badge counts again: one open alert fewer
    page.wait_for_function(
        "n => document.querySelector('#alerts-badge span[aria-hidden]')"
        " && document.querySelector('#alerts-badge span[aria-hidden]').textContent == String(n)",
        arg=count - 1,
    )
    page.locator(f"#alert-{first} button.resolve").click()
    page.wait_for_selector(f"#alert-{first}.status-resolved")
    assert page.evaluate("() => window.notReloaded === true")
    assert status_of(web_store, first) == "resolved"
    assert not untranslated(page.evaluate(SHOWN_TEXT), "zh_CN")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "alerts-zh_CN.png"), full_page=True)
    page.click('button[data-lang="en"]')
    page.wait_for_load_state()
    page.wait_for_selector(f"#alert-{second}")
    assert "Open" in page.inner_text(f"#alert-{second}")
    assert not untranslated(page.evaluate(SHOWN_TEXT), "en")
    page.screenshot(path=str(SHOTS / "alerts-en.png"), full_page=True)
    browser_page.clean()
