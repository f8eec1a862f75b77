"""The 设置 Admin page: users (create, disable and enable, role and team, password), API
tokens (the secret shown once), the business rules in force, and the audit log with its
filters, paging and CSV — over plain HTTP and in Chromium.

The tests write (accounts, tokens, audit entries), so they run on a copy of the web store
served by an application of its own: the session's shared server and store stay as the
other pages' tests expect them.
"""

from __future__ import annotations

import csv
import io
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from rapport.api.app import create_app
from rapport.config import Settings
from rapport.domain import AuditAction, Role
from rapport.store import schema, users
from rapport.store.db import create_engine, session_scope
from tests.helpers import audit_entries, live_server
from tests.web.conftest import (
    PASSWORD,
    ROLE_USERS,
    Watched,
    WebStore,
    csrf_of,
    http_login,
    shot,
    watched_page,
)

PAGES = ("/admin/users", "/admin/tokens", "/admin/rules", "/admin/audit")
STRONG = "copper lantern drifts north"
AUDIT_ID = re.compile(r'data-audit-id="(\d+)"')


@dataclass(frozen=True)
class Office:
    """The copied store, its server and the users' ids."""

    base: str
    engine: sa.Engine
    ids: dict[str, int]  # username -> user id

    def user(self, username: str) -> dict[str, Any] | None:
        with session_scope(self.engine) as session:
            found = users.repo.find(session=session, key=username)
        return found


@pytest.fixture(scope="module")
def office(web_store: WebStore, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Office]:
    root = tmp_path_factory.mktemp("admin-office")
    shutil.copy(web_store.pristine, root / "rapport.db")
    url = f"sqlite:///{root / 'rapport.db'}"
    engine = create_engine(url)
    with session_scope(engine) as session:
        ids = {u["username"]: u["id"] for u in users.list_users(session=session)}
    app = create_app(Settings(_env_file=None, database_url=url, data_dir=root / "data"))
    with live_server(app, lifespan="on") as base:
        yield Office(base=base, engine=engine, ids=ids)
    engine.dispose()


def _post(client: httpx.Client, url: str, data: dict[str, Any], page: str) -> httpx.Response:
    """A form post with the CSRF token of ``page``."""
    token = csrf_of(client.get(page).text)
    return client.post(url, data={**data, "csrf_token": token})


def _create(client: httpx.Client, username: str, password: str = STRONG, **extra: str) -> Any:
    data = {
        "username": username,
        "display_name": extra.pop("display_name", "赵磊"),
        "role": extra.pop("role", "sales"),
        "team": extra.pop("team", "east"),
        "email": "",
        "password": password,
        "password_again": extra.pop("password_again", password),
    }
    return _post(client, "/admin/users", data, "/admin/users")


def _english(client: httpx.Client) -> None:
    token = csrf_of(client.get("/admin/users").text)
    client.post("/lang", data={"lang": "en", "next": "/admin/users", "csrf_token": token})


# --- who may open it -------------------------------------------------------------------------


@pytest.mark.parametrize("role", sorted(ROLE_USERS))
def test_only_admins_open_the_page_others_are_refused(office: Office, role: str) -> None:
    client = http_login(office.base, ROLE_USERS[role])
    menu = client.get("/customers" if role != "service" else "/service").text
    for path in PAGES:
        answer = client.get(path)
        if role == "admin":
            assert answer.status_code == 200, path
        else:
            assert answer.status_code == 403, path
            assert "无权访问" in answer.text
    assert ('href="/admin"' in menu) == (role == "admin")
    if role != "admin":  # a post is refused too, and writes nothing
        token = csrf_of(menu)
        data = {"username": f"x.{role}", "role": "admin", "password": STRONG,
                "password_again": STRONG, "csrf_token": token}  # fmt: skip
        assert client.post("/admin/users", data=data).status_code == 403
        assert office.user(f"x.{role}") is None
        assert client.get("/admin/audit.csv").status_code == 403


# --- users -----------------------------------------------------------------------------------


def test_the_users_list_shows_every_account_with_its_role_and_last_log_in(office: Office) -> None:
    client = http_login(office.base, "admin")
    html = client.get("/admin/users").text
    rows = re.findall(r'<tr data-user-id="(\d+)" data-username="([^"]+)"', html)
    assert {name for _, name in rows} == set(office.ids)
    admin_row = html.split('data-username="admin"')[1].split("</tr>")[0]
    assert "管理员" in admin_row and "✓ 启用" in admin_row and "从未" not in admin_row
    assert "（您）" in admin_row or "(您)" in admin_row


def test_an_admin_creates_a_user_who_then_logs_in(office: Office) -> None:
    client = http_login(office.base, "admin")
    before = len(audit_entries(office.engine, AuditAction.CREATE, "users"))
    made = _create(client, "zhao.lei")
    assert made.status_code == 200 and "已创建账号 zhao.lei" in made.text
    row = office.user("zhao.lei")
    assert row is not None and row["role"] == Role.SALES and row["team"] == "east"
    assert row["password_hash"].startswith("$argon2id$") and STRONG not in str(row)
    entries = audit_entries(office.engine, AuditAction.CREATE, "users")[before:]
    assert [(e["entity_id"], e["actor"], e["detail"]) for e in entries] == [
        (str(row["id"]), "admin",
         {"via": "web", "fields": ["display_name", "password", "role", "team", "username"]})
    ]  # fmt: skip
    assert STRONG not in str(entries)
    newcomer = http_login(office.base, "zhao.lei", STRONG)
    assert newcomer.get("/customers").status_code == 200
    # taken: the store's refusal next to the field, nothing written
    again = _create(client, "zhao.lei")
    assert again.status_code == 422 and 'id="username-error"' in again.text


def test_a_weak_password_is_refused_in_chinese_and_nothing_is_written(office: Office) -> None:
    client = http_login(office.base, "admin")
    count = len(audit_entries(office.engine))
    weak = _create(client, "qian.feng", "12345678")
    assert weak.status_code == 422
    error = re.search(r'id="password-error">([^<]+)<', weak.text)
    assert error and "密码被拒绝" in error.group(1) and "太容易被猜到" in error.group(1)
    assert "未保存任何内容" in weak.text
    assert (
        'value="qian.feng"' in weak.text and "12345678" not in weak.text
    )  # typed, not the password
    near = _create(client, "qian.feng", "qian.feng2024")
    assert near.status_code == 422 and "与用户名太接近" in near.text
    differ = _create(client, "qian.feng", STRONG, password_again=STRONG + "x")
    assert differ.status_code == 422 and "两次输入的密码不一致" in differ.text
    assert office.user("qian.feng") is None
    assert len(audit_entries(office.engine)) == count + 0  # nothing audited either


def test_disabling_a_user_ends_their_session_at_once(office: Office) -> None:
    admin = http_login(office.base, "admin")
    assert _create(admin, "sun.mei", role="service", team="").status_code == 200
    target = office.user("sun.mei")
    assert target is not None and target["team"] is None
    agent = http_login(office.base, "sun.mei", STRONG)
    assert agent.get("/service").status_code == 200
    before = len(audit_entries(office.engine, AuditAction.UPDATE, "users"))
    off = _post(admin, f"/admin/users/{target['id']}/active", {"active": "0"}, "/admin/users")
    assert off.status_code == 200 and "已停用 sun.mei" in off.text
    out = agent.get("/service")
    assert out.status_code == 303 and out.headers["location"].startswith("/login?expired=1")
    page = admin.get("/admin/users").text.split('data-username="sun.mei"')[1].split("</tr>")[0]
    assert "✕ 已停用" in page and "启用</button>" in page
    back = _post(admin, f"/admin/users/{target['id']}/active", {"active": "1"}, "/admin/users")
    assert "已启用 sun.mei" in back.text
    assert http_login(office.base, "sun.mei", STRONG).get("/service").status_code == 200
    entries = audit_entries(office.engine, AuditAction.UPDATE, "users")[before:]
    assert [e["detail"] for e in entries] == [{"via": "web", "fields": ["is_active"]}] * 2


def test_an_admin_may_not_disable_or_demote_themselves(office: Office) -> None:
    admin = http_login(office.base, "admin")
    me = office.ids["admin"]
    off = _post(admin, f"/admin/users/{me}/active", {"active": "0"}, "/admin/users")
    assert off.status_code == 403 and "不能停用自己的账号" in off.text
    demote = _post(admin, f"/admin/users/{me}/role", {"role": "manager"}, "/admin/users")
    assert demote.status_code == 403 and f'id="user-{me}-error"' in demote.text
    row = office.user("admin")
    assert row is not None and row["is_active"] and row["role"] == Role.ADMIN
    # the team of their own account is theirs to change
    team = _post(
        admin, f"/admin/users/{me}/role", {"role": "admin", "team": "总部"}, "/admin/users"
    )
    assert team.status_code == 200 and office.user("admin")["team"] == "总部"  # type: ignore[index]


def test_role_and_team_change_audited_with_what_changed(office: Office) -> None:
    admin = http_login(office.base, "admin")
    assert _create(admin, "zhou.bo", role="sales", team="east").status_code == 200
    target = office.user("zhou.bo")
    assert target is not None
    url = f"/admin/users/{target['id']}/role"
    before = len(audit_entries(office.engine, AuditAction.UPDATE, "users"))
    done = _post(admin, url, {"role": "manager", "team": "east"}, "/admin/users")
    assert done.status_code == 200 and "已修改 zhou.bo 的角色和团队" in done.text
    same = _post(admin, url, {"role": "manager", "team": "east"}, "/admin/users")
    assert "zhou.bo 没有变化" in same.text
    bad = _post(admin, url, {"role": "boss", "team": ""}, "/admin/users")
    assert bad.status_code == 422
    row = office.user("zhou.bo")
    assert row is not None and (row["role"], row["team"]) == (Role.MANAGER, "east")
    entries = audit_entries(office.engine, AuditAction.UPDATE, "users")[before:]
    assert [e["detail"] for e in entries] == [{"via": "web", "fields": ["role"]}]
    # the next click of the user sees the new role: the manager's page opens
    manager = http_login(office.base, "zhou.bo", STRONG)
    assert manager.get("/overview").status_code == 200


def test_a_password_reset_applies_the_policy(office: Office) -> None:
    admin = http_login(office.base, "admin")
    assert _create(admin, "wu.jing").status_code == 200
    target = office.user("wu.jing")
    assert target is not None
    url = f"/admin/users/{target['id']}/password"
    before = len(audit_entries(office.engine, AuditAction.UPDATE, "users"))
    weak = _post(admin, url, {"password": "password1"}, "/admin/users")
    assert weak.status_code == 422 and "密码被拒绝" in weak.text
    fresh = "violet harbour seldom sings"
    done = _post(admin, url, {"password": fresh}, "/admin/users")
    assert done.status_code == 200 and "已设置 wu.jing 的新密码" in done.text
    http_login(office.base, "wu.jing", fresh)
    entries = audit_entries(office.engine, AuditAction.UPDATE, "users")[before:]
    assert [(e["entity_id"], e["detail"]) for e in entries] == [
        (str(target["id"]), {"via": "web", "fields": ["password"]})
    ]
    assert admin.post(url, data={"password": fresh}).status_code == 403  # no CSRF token
    missing = _post(admin, "/admin/users/999999/password", {"password": fresh}, "/admin/users")
    assert missing.status_code == 404


def test_writes_without_the_csrf_token_are_refused(office: Office) -> None:
    admin = http_login(office.base, "admin")
    other = http_login(office.base, "lin.hui")  # another session's token
    stolen = csrf_of(other.get("/customers").text)
    count = len(audit_entries(office.engine))
    data = {"username": "no.csrf", "role": "sales", "password": STRONG, "password_again": STRONG}
    assert admin.post("/admin/users", data=data).status_code == 403
    assert admin.post("/admin/users", data={**data, "csrf_token": stolen}).status_code == 403
    wang = office.ids["wang.fang"]
    assert admin.post(f"/admin/users/{wang}/active", data={"active": "0"}).status_code == 403
    token = {"user_id": str(wang), "name": "x", "scopes": "*"}
    assert admin.post("/admin/tokens", data=token).status_code == 403
    assert office.user("no.csrf") is None and office.user("wang.fang")["is_active"]  # type: ignore[index]
    assert len(audit_entries(office.engine)) == count


# --- API tokens ------------------------------------------------------------------------------


def test_a_token_secret_is_shown_once_and_never_again(office: Office) -> None:
    admin = http_login(office.base, "admin")
    before = len(audit_entries(office.engine, AuditAction.CREATE, "api_tokens"))
    data = {
        "user_id": str(office.ids["wang.fang"]),
        "name": "shop-sync",
        "scopes": ["customers:read", "orders:write"],
        "expires_days": "30",
    }
    made = _post(admin, "/admin/tokens", data, "/admin/tokens")
    assert made.status_code == 200
    secret = re.search(r'id="token-secret">(rpt_[A-Za-z0-9_-]{43})<', made.text)
    assert secret, made.text[:2000]
    notice = re.search(r'id="token-notice">([^<]+)<', made.text)
    assert notice and "上面的密钥只显示这一次" in notice.group(1)
    assert "customers:read, orders:write" in notice.group(1) and "过期" in notice.group(1)
    # the secret works as the API's bearer token, and is never shown again
    api = httpx.get(
        f"{office.base}/api/v1/auth/me", headers={"Authorization": f"Bearer {secret.group(1)}"}
    )
    assert api.status_code == 200 and api.json()["username"] == "wang.fang"
    listing = admin.get("/admin/tokens").text
    assert secret.group(1) not in listing and secret.group(1)[:12] in listing
    stored = office.engine.connect().execute(sa.select(schema.api_tokens)).mappings().all()
    assert all(secret.group(1) not in str(dict(r)) for r in stored)
    entries = audit_entries(office.engine, AuditAction.CREATE, "api_tokens")[before:]
    token_id = int(entries[0]["entity_id"])
    assert [e["detail"] for e in entries] == [
        {"via": "web", "fields": ["expires_at", "name", "scopes", "user_id"]}
    ]
    assert secret.group(1) not in str(entries)
    # revoked: the API refuses it; revoking twice writes nothing more
    revoked = _post(admin, f"/admin/tokens/{token_id}/revoke", {}, "/admin/tokens")
    assert revoked.status_code == 200 and f"已吊销令牌 {token_id}" in revoked.text
    api = httpx.get(
        f"{office.base}/api/v1/auth/me", headers={"Authorization": f"Bearer {secret.group(1)}"}
    )
    assert api.status_code == 401
    _post(admin, f"/admin/tokens/{token_id}/revoke", {}, "/admin/tokens")
    updates = audit_entries(office.engine, AuditAction.UPDATE, "api_tokens")
    assert [e["detail"] for e in updates if e["entity_id"] == str(token_id)] == [
        {"via": "web", "fields": ["revoked_at"]}
    ]


def test_a_token_without_a_scope_or_name_is_refused(office: Office) -> None:
    admin = http_login(office.base, "admin")
    count = len(audit_entries(office.engine))
    data = {"user_id": str(office.ids["li.na"]), "name": "no-scope", "expires_days": ""}
    refused = _post(admin, "/admin/tokens", data, "/admin/tokens")
    assert refused.status_code == 422 and "API 令牌至少需要一个权限范围" in refused.text
    assert "token-secret" not in refused.text
    nameless = _post(admin, "/admin/tokens", {**data, "name": "", "scopes": "*"}, "/admin/tokens")
    assert nameless.status_code == 422 and 'id="name-error"' in nameless.text
    days = _post(
        admin, "/admin/tokens", {**data, "scopes": "*", "expires_days": "0"}, "/admin/tokens"
    )
    assert days.status_code == 422 and 'id="expires_days-error"' in days.text
    assert len(audit_entries(office.engine)) == count


# --- the rules -------------------------------------------------------------------------------


def test_the_rules_in_force_read_as_sections(office: Office) -> None:
    admin = http_login(office.base, "admin")
    html = admin.get("/admin/rules").text
    assert "内置默认值" in html
    for heading in ("服务时限 SLA", "会员积分", "价值等级", "RFM 分群", "生命周期", "预测模型"):
        assert f">{heading}</h2>" in html, heading
    tiers = html.split('id="scores-tiers"')[1].split("</section>")[0]
    assert "钻石" in tiers and "黄金" in tiers and "前" in tiers
    sla = html.split('id="sla"')[1].split("</section>")[0]
    assert re.search(r"<td>紧急</td><td>2</td>", sla)
    loyalty = html.split('id="loyalty"')[1].split("</section>")[0]
    assert "白金会员" in loyalty and "50,000" in loyalty
    business = html.split('id="business"')[1].split("</section>")[0]
    assert "已付款、已发货、已完成" in business


# --- the audit log ---------------------------------------------------------------------------


def test_audit_filters_by_actor_action_customer_and_dates(office: Office) -> None:
    admin = http_login(office.base, "admin")
    assert _create(admin, "he.ping").status_code == 200
    person = http_login(office.base, "he.ping", STRONG)
    customer = (
        office.engine.connect()
        .execute(
            sa.select(schema.customers.c.id)
            .where(schema.customers.c.owner_id == office.ids["wang.fang"])
            .limit(1)
        )
        .scalar_one()
    )
    assert admin.get(f"/customers/{customer}").status_code == 200  # audited: read_pii of it
    assert person.get("/customers").status_code == 200

    def shown(query: str) -> list[dict[str, Any]]:
        html = admin.get(f"/admin/audit?{query}").text
        ids = [int(i) for i in AUDIT_ID.findall(html)]
        with office.engine.connect() as conn:
            a = schema.audit_log
            found = conn.execute(sa.select(a).where(a.c.id.in_(ids))).mappings().all()
        return [dict(r) for r in found]

    mine = shown("actor=he.ping")
    assert mine and {e["actor"] for e in mine} == {"he.ping"}
    logins = shown("actor=he.ping&action=login")
    assert [e["action"] for e in logins] == ["login"]
    about = shown(f"customer={customer}")
    assert about and all(
        e["entity_id"] == str(customer) or customer in (e["detail"] or {}).get("ids", [])
        for e in about
    )
    assert any(e["detail"].get("route") == "web.360" for e in about)
    assert shown("since=2000-01-01&until=2000-01-31") == []
    html = admin.get("/admin/audit?since=2000-01-01&until=2000-01-31").text
    assert "共 0 条记录" in html and "没有符合条件的记录" in html
    bad = admin.get("/admin/audit?customer=abc&since=2026-13-01")
    assert bad.status_code == 422 and "请输入客户 ID" in bad.text and "请输入日期" in bad.text
    backwards = admin.get("/admin/audit?since=2026-02-01&until=2026-01-01")
    assert "截止日期须不早于起始日期" in backwards.text


def test_audit_pages_by_keyset_and_exports_csv(office: Office) -> None:
    admin = http_login(office.base, "admin")

    def total() -> int:
        with office.engine.connect() as conn:
            return conn.execute(
                sa.select(sa.func.count()).select_from(schema.audit_log)
            ).scalar_one()

    while total() <= 60:  # two pages at least: each list view is a read_pii entry
        admin.get("/customers")
    first = admin.get("/admin/audit").text
    page1 = [int(i) for i in AUDIT_ID.findall(first)]
    assert len(page1) == 50 and page1 == sorted(page1, reverse=True)
    link = re.search(r'<a href="([^"]+)"[^>]*id="next-page"', first)
    assert link
    admin.get("/customers")  # a new entry does not shift the next page
    second = admin.get(link.group(1).replace("&amp;", "&")).text
    page2 = [int(i) for i in AUDIT_ID.findall(second)]
    assert page2 and max(page2) < min(page1) and 'id="first-page"' in second
    # HTMX gets the list alone
    part = admin.get("/admin/audit?action=login", headers={"HX-Request": "true"}).text
    assert "<html" not in part and 'id="audit-count"' in part
    # a cursor edited by hand: the first page
    assert AUDIT_ID.findall(admin.get("/admin/audit?cursor=zzz").text)[:1] != []
    exported = admin.get("/admin/audit.csv?action=login")
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text.lstrip("\ufeff"))))
    assert rows and {r["action"] for r in rows} == {"login"}
    assert [int(r["id"]) for r in rows] == sorted((int(r["id"]) for r in rows), reverse=True)


# --- languages ---------------------------------------------------------------------------------


def test_the_page_in_english(office: Office) -> None:
    admin = http_login(office.base, "admin")
    _english(admin)
    users_html = admin.get("/admin/users").text
    assert "New account" in users_html and "Administrator" in users_html
    weak = _create(admin, "en.weak", "12345678")
    assert "password refused: it is too easy to guess" in weak.text and "密码" not in weak.text
    rules = admin.get("/admin/rules").text
    assert "Value tiers" in rules and "Diamond" in rules and "Service levels (SLA)" in rules
    audit_html = admin.get("/admin/audit").text
    assert "Filter the audit log" in audit_html and "Export CSV" in audit_html
    tokens_html = admin.get("/admin/tokens").text
    assert "New token" in tokens_html


# --- in the browser --------------------------------------------------------------------------


@pytest.fixture
def office_page(chromium: Any, office: Office) -> Iterator[Watched]:
    with watched_page(chromium, office.base) as watched:
        yield watched


@pytest.mark.browser
def test_the_admin_page_in_the_browser_in_both_languages(office_page: Watched) -> None:
    from tests.web.test_browser import SHOWN_TEXT, untranslated

    page = office_page.page
    # straight to the page (the overview, the admin's landing page, computes its metrics
    # in the background: leaving it at once would cut that request)
    page.goto("/login?next=/admin")
    page.fill("#username", "admin")
    page.fill("#password", PASSWORD)
    page.click("#login-submit")
    page.wait_for_url("**/admin/users")
    assert page.get_attribute('header nav a[href="/admin"]', "aria-current") == "page"
    assert page.inner_text("h1") == "设置 · 员工账号"
    # a weak password: the form comes back with the reason next to the field
    page.fill("#new-username", "browser.user")
    page.fill("#new-password", "12345678")
    page.fill("#new-password-again", "12345678")
    page.click("#create-submit")
    page.wait_for_selector("#password-error")
    assert "密码被拒绝" in page.inner_text("#password-error")
    office_page.errors.clear()  # Chromium logs the 422 of the refused form itself
    assert not untranslated(page.evaluate(SHOWN_TEXT), "zh_CN")
    shot(page, "admin-users-zh_CN")
    page.fill("#new-password", STRONG)
    page.fill("#new-password-again", STRONG)
    page.click("#create-submit")
    page.wait_for_selector("#admin-message")
    assert page.locator('tr[data-username="browser.user"]').count() == 1
    # a token: the secret once
    page.click("#tab-tokens")
    page.fill("#token-name", "crm-sync")
    page.check("#scope-customers-read")
    page.click("#token-submit")
    page.wait_for_selector("#token-secret")
    assert page.inner_text("#token-secret").startswith("rpt_")
    assert not untranslated(page.evaluate(SHOWN_TEXT), "zh_CN")
    shot(page, "admin-tokens-zh_CN")
    page.click("#tab-rules")
    page.wait_for_url("**/admin/rules")
    page.wait_for_selector("#rules-source")
    page.wait_for_load_state("load")
    assert not untranslated(page.evaluate(SHOWN_TEXT), "zh_CN")
    shot(page, "admin-rules-zh_CN")
    page.click("#tab-audit")
    page.select_option("#action", "create")
    page.wait_for_url("**/admin/audit?*action=create*")
    page.wait_for_function(
        "() => [...document.querySelectorAll('tr[data-audit-id]')].every("
        "r => r.children[3].textContent.trim() === '创建')"
    )
    assert not untranslated(page.evaluate(SHOWN_TEXT), "zh_CN")
    shot(page, "admin-audit-zh_CN")
    # English
    page.click('button[data-lang="en"]')
    page.wait_for_selector("html[lang=en]")
    assert page.inner_text("h1") == "Admin · Audit log"
    assert not untranslated(page.evaluate(SHOWN_TEXT), "en")
    shot(page, "admin-audit-en")
    for section in ("users", "tokens", "rules"):
        page.goto(f"/admin/{section}")
        assert not untranslated(page.evaluate(SHOWN_TEXT), "en"), section
        shot(page, f"admin-{section}-en")
    # phone width
    page.set_viewport_size({"width": 390, "height": 800})
    page.goto("/admin/users")
    assert page.locator("#users-table").is_visible()
    shot(page, "admin-users-phone")
    page.goto("/admin/rules")
    shot(page, "admin-rules-phone")
    office_page.clean()
