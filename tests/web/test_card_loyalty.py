"""The 360 card's loyalty panel: balance, pending, next expiry and vouchers, a reward redeemed
for the customer and a voucher marked used — through the store functions the API uses, with
the API's roles, scope and audit entries, CSRF-protected, the store's refusals shown in the
page's language. Plain HTTP, and in Chromium: redeem, see the balance drop and the voucher
appear, mark it used, in zh-CN and en."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from html import unescape

import httpx
import pytest
import sqlalchemy as sa

from rapport.domain import LoyaltyReason
from rapport.store import loyalty, loyalty_rewards, schema
from rapport.store.db import session_scope
from rapport.store.repository import utcnow
from rapport.web import i18n
from tests.helpers import audit_entries
from tests.web.conftest import SHOTS, Watched, WebStore, browser_login, csrf_of, http_login

_c = schema.customers.c
_v = schema.loyalty_vouchers.c
_r = schema.loyalty_rewards.c


@dataclass(frozen=True)
class Catalogue:
    """Rewards of this test run (codes unique to it), by what they are for."""

    cheap: str  # 300 points, unlimited
    last: str  # 200 points, one left
    gone: str  # 100 points, out of stock
    dear: str  # more points than anyone here has
    old: str  # no longer offered


@pytest.fixture(scope="module")
def catalogue(web_store: WebStore) -> Catalogue:
    tag = uuid.uuid4().hex[:6].upper()
    codes = Catalogue(*(f"{name}-{tag}" for name in ("CUP", "PEN", "BAG", "TRIP", "OLD")))
    rows = [
        (codes.cheap, "马克杯", "Mug", "gift", 300, None, True),
        (codes.last, "满减券", "Coupon", "coupon", 200, 1, True),
        (codes.gone, "帆布袋", "Tote bag", "gift", 100, 0, True),
        (codes.dear, "旅行套餐", "Trip", "gift", 9_000_000, None, True),
        (codes.old, "旧礼品", "Old gift", "gift", 50, None, False),
    ]
    engine = web_store.engine()
    with session_scope(engine, writing=True) as session:
        for code, zh, en, kind, points, stock, active in rows:
            loyalty_rewards.save(
                session=session,
                values={
                    "code": code,
                    "name_zh": zh,
                    "name_en": en,
                    "kind": kind,
                    "points": points,
                    "stock": stock,
                    "active": active,
                },
            )
    engine.dispose()
    return codes


def owned(store: WebStore, who: str) -> list[int]:
    rows = store.rows(sa.select(_c.id).where(_c.owner_id == store.ids[who]).order_by(_c.id))
    return [r["id"] for r in rows]


def give_points(store: WebStore, customer_id: int, points: int) -> None:
    engine = store.engine()
    with session_scope(engine, writing=True) as session:
        loyalty.append(
            session=session,
            values={
                "customer_id": customer_id,
                "points": points,
                "reason": LoyaltyReason.BONUS,
                "reference": f"test:{uuid.uuid4().hex[:8]}",
                "occurred_at": utcnow(),
            },
        )
    engine.dispose()


def balance(store: WebStore, customer_id: int) -> int:
    engine = store.engine()
    with session_scope(engine) as session:
        found = loyalty.balance(session=session, customer_id=customer_id)
    engine.dispose()
    return found


def vouchers_of(store: WebStore, customer_id: int) -> list[dict]:
    return store.rows(
        sa.select(_v.code, _v.used_at, _r.code.label("reward"))
        .join(schema.loyalty_rewards, _r.id == _v.reward_id)
        .where(_v.customer_id == customer_id)
        .order_by(_v.id)
    )


@pytest.fixture
def member(web_store: WebStore, catalogue: Catalogue) -> Iterator[int]:
    """A customer of the sales user ``wang.fang`` with 1,000 points more."""
    customer_id = owned(web_store, "sales")[3]
    give_points(web_store, customer_id, 1000)
    yield customer_id


def post(
    client: httpx.Client, customer_id: int, what: str, data: dict[str, str], *, htmx: bool = False
) -> httpx.Response:
    token = csrf_of(client.get(f"/customers/{customer_id}").text)
    path = f"/customers/{customer_id}/loyalty/{what}"
    if htmx:
        return client.post(path, data=data, headers={"HX-Request": "true", "X-CSRF-Token": token})
    return client.post(path, data={**data, "csrf_token": token})


def panel(html: str) -> str:
    found = re.search(
        r'<section class="panel" aria-labelledby="loyalty-h".*?</section>', html, re.S
    )
    assert found is not None, html[:500]
    return found.group(0)


def error_of(html: str) -> str:
    """The panel's problem, as text."""
    found = re.search(r'id="loyalty-error">(.*?)</p>', html, re.S)
    assert found is not None, html[:800]
    return unescape(re.sub(r"<[^>]+>", "", found.group(1)))


def options(html: str) -> list[str]:
    select = re.search(r'<select id="redeem-reward".*?</select>', html, re.S)
    return re.findall(r'<option value="([^"]+)"', select.group(0)) if select else []


def to_english(client: httpx.Client, customer_id: int) -> None:
    token = csrf_of(client.get(f"/customers/{customer_id}").text)
    client.post("/lang", data={"lang": "en", "csrf_token": token, "next": "/"})


# --- HTTP ----------------------------------------------------------------------------------


def test_redeeming_spends_the_price_issues_a_voucher_and_is_audited_as_the_api_does(
    server: str, web_store: WebStore, catalogue: Catalogue, member: int
) -> None:
    before = balance(web_store, member)
    had = len(vouchers_of(web_store, member))
    client = http_login(server, "wang.fang")
    answer = post(client, member, "redeem", {"reward": catalogue.cheap})
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/customers/{member}#loyalty-panel"
    assert balance(web_store, member) == before - 300
    found = vouchers_of(web_store, member)
    assert len(found) == had + 1 and found[-1]["reward"] == catalogue.cheap
    code = found[-1]["code"]
    entry = audit_entries(web_store.engine(), "create", "loyalty_vouchers")[-1]
    assert entry["actor_user_id"] == web_store.ids["sales"]
    assert entry["detail"] == {
        "via": "web",
        "customer_id": member,
        "reward": catalogue.cheap,
        "points": 300,
    }
    card = panel(client.get(f"/customers/{member}").text)
    assert f'id="loyalty-balance">{before - 300:,}<' in card
    assert code in card and "马克杯" in card and "未使用" in card
    assert f"已发放 {had + 1} 张" in card


def test_htmx_gets_the_panel_with_the_new_balance_and_voucher(
    server: str, web_store: WebStore, catalogue: Catalogue, member: int
) -> None:
    before = balance(web_store, member)
    client = http_login(server, "wang.fang")
    answer = post(client, member, "redeem", {"reward": catalogue.cheap}, htmx=True)
    assert answer.status_code == 200
    code = vouchers_of(web_store, member)[-1]["code"]
    assert answer.text.lstrip().startswith("<section") or "loyalty-panel" in answer.text[:600]
    assert f"已兑换,兑换券 {code}" in answer.text
    assert f'id="loyalty-balance">{before - 300:,}<' in answer.text
    assert "<html" not in answer.text


def test_the_form_offers_the_active_rewards_in_stock_the_points_pay_for(
    server: str, web_store: WebStore, catalogue: Catalogue, member: int
) -> None:
    html = http_login(server, "wang.fang").get(f"/customers/{member}").text
    offered = options(html)
    assert catalogue.cheap in offered
    assert catalogue.gone not in offered  # out of stock
    assert catalogue.dear not in offered  # more than the balance
    assert catalogue.old not in offered  # no longer offered


def test_what_the_store_refuses_is_shown_in_the_language_and_nothing_is_written(
    server: str, web_store: WebStore, catalogue: Catalogue, member: int
) -> None:
    before = balance(web_store, member)
    had = len(vouchers_of(web_store, member))
    client = http_login(server, "wang.fang")
    for code, words in (
        (catalogue.dear, "不能使用 9000000 积分"),
        (catalogue.gone, f"奖励 '{catalogue.gone}' 已无库存"),
        (catalogue.old, f"奖励 '{catalogue.old}' 已不再提供"),
        ("NO-SUCH", "没有代码为 'NO-SUCH' 的奖励"),
    ):
        answer = post(client, member, "redeem", {"reward": code}, htmx=True)
        assert answer.status_code == 200
        assert words in error_of(answer.text)
    # a plain post: the whole card again with the problem, 422
    reads = len(audit_entries(web_store.engine(), "read_pii", "customers"))
    answer = post(client, member, "redeem", {"reward": catalogue.gone})
    assert answer.status_code == 422 and "已无库存" in error_of(panel(answer.text))
    # the whole card, unmasked: audited as its page's read (after the card's GET)
    got, read = audit_entries(web_store.engine(), "read_pii", "customers")[reads:]
    for entry in (got, read):
        assert entry["detail"]["route"] == "web.360" and str(entry["entity_id"]) == str(member)
    answer = post(client, member, "redeem", {"reward": ""}, htmx=True)
    assert "请选择一个奖励" in error_of(answer.text)
    assert balance(web_store, member) == before
    assert len(vouchers_of(web_store, member)) == had
    to_english(client, member)
    answer = post(client, member, "redeem", {"reward": catalogue.gone}, htmx=True)
    assert f"reward '{catalogue.gone}' is out of stock" in error_of(answer.text)
    answer = post(client, member, "redeem", {"reward": catalogue.dear}, htmx=True)
    assert "cannot spend 9000000" in error_of(answer.text)


def test_the_last_one_in_stock_goes_once(
    server: str, web_store: WebStore, catalogue: Catalogue
) -> None:
    first, second = owned(web_store, "sales")[4:6]
    for customer_id in (first, second):
        give_points(web_store, customer_id, 500)
    client = http_login(server, "wang.fang")
    assert post(client, first, "redeem", {"reward": catalogue.last}).status_code == 303
    answer = post(client, second, "redeem", {"reward": catalogue.last}, htmx=True)
    assert "已无库存" in error_of(answer.text)
    assert catalogue.last not in options(client.get(f"/customers/{second}").text)
    stock = web_store.scalar(sa.select(_r.stock).where(_r.code == catalogue.last))
    assert stock == 0


def test_a_voucher_is_marked_used_once_audited(
    server: str, web_store: WebStore, catalogue: Catalogue, member: int
) -> None:
    client = http_login(server, "wang.fang")
    post(client, member, "redeem", {"reward": catalogue.cheap})
    code = vouchers_of(web_store, member)[-1]["code"]
    answer = post(client, member, "use", {"code": code}, htmx=True)
    assert f"兑换券 {code} 已标记为已使用" in answer.text
    used = next(v for v in vouchers_of(web_store, member) if v["code"] == code)
    assert used["used_at"] is not None
    entry = audit_entries(web_store.engine(), "update", "loyalty_vouchers")[-1]
    assert entry["detail"] == {"via": "web", "used": True}
    assert entry["actor_user_id"] == web_store.ids["sales"]
    entries = len(audit_entries(web_store.engine(), "update", "loyalty_vouchers"))
    again = post(client, member, "use", {"code": code}, htmx=True)
    assert f"兑换券 '{code}' 已于" in error_of(again.text)
    assert len(audit_entries(web_store.engine(), "update", "loyalty_vouchers")) == entries


def test_a_voucher_of_another_customer_is_not_found_on_this_card(
    server: str, web_store: WebStore, catalogue: Catalogue, member: int
) -> None:
    other = owned(web_store, "sales")[6]
    give_points(web_store, other, 500)
    client = http_login(server, "wang.fang")
    post(client, other, "redeem", {"reward": catalogue.cheap})
    code = vouchers_of(web_store, other)[-1]["code"]
    answer = post(client, member, "use", {"code": code}, htmx=True)
    assert f"没有代码为 '{code}' 的兑换券" in error_of(answer.text)
    assert vouchers_of(web_store, other)[-1]["used_at"] is None


def test_the_writes_follow_the_apis_roles_and_the_scope(
    server: str, web_store: WebStore, catalogue: Catalogue, member: int
) -> None:
    before = balance(web_store, member)
    # the analyst and the service agent may not redeem; the analyst may not mark used
    for username, what, data in (
        ("gao.peng", "redeem", {"reward": catalogue.cheap}),
        ("zhou.xiuying", "redeem", {"reward": catalogue.cheap}),
        ("gao.peng", "use", {"code": "RV-XXXX"}),
    ):
        client = http_login(server, username)
        token = csrf_of(client.get("/customers").text)
        answer = client.post(
            f"/customers/{member}/loyalty/{what}", data={**data, "csrf_token": token}
        )
        assert answer.status_code == 403, (username, what)
    # another sales user's customer is not found, and nothing is spent
    client = http_login(server, "li.na")
    token = csrf_of(client.get("/customers").text)
    answer = client.post(
        f"/customers/{member}/loyalty/redeem",
        data={"reward": catalogue.cheap, "csrf_token": token},
    )
    assert answer.status_code == 404
    # without the CSRF token
    client = http_login(server, "wang.fang")
    answer = client.post(f"/customers/{member}/loyalty/redeem", data={"reward": catalogue.cheap})
    assert answer.status_code == 403
    assert balance(web_store, member) == before
    # the forms: not for the analyst (codes masked)
    analyst = http_login(server, "gao.peng").get(f"/customers/{member}").text
    assert 'id="redeem-form"' not in analyst and 'class="use-voucher"' not in analyst
    for code in (v["code"] for v in vouchers_of(web_store, member)):
        assert code not in analyst
    admin = http_login(server, "admin").get(f"/customers/{member}").text
    assert 'id="redeem-form"' in admin


def test_the_panel_is_in_one_language_at_a_time(
    server: str, web_store: WebStore, catalogue: Catalogue, member: int
) -> None:
    client = http_login(server, "wang.fang")
    post(client, member, "redeem", {"reward": catalogue.cheap})
    zh = panel(client.get(f"/customers/{member}").text)
    assert "兑换奖励" in zh and "兑换券" in zh and "马克杯" in zh
    to_english(client, member)
    en = panel(client.get(f"/customers/{member}").text)
    text = re.sub(r'<[^>]*class="data"[^>]*>[^<]*<', "<", en)
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", text))
    assert not re.findall(r"[\u3400-\u9fff]", text), text
    for key in ("card_loyalty.redeem_label", "card_loyalty.vouchers", "card_loyalty.redeem"):
        assert i18n.text(key, "en") in en
    assert "Mug (Gift)" in en


# --- in Chromium ---------------------------------------------------------------------------


@pytest.mark.browser
def test_redeem_a_reward_and_see_the_balance_drop_and_the_voucher_appear(
    browser_page: Watched, web_store: WebStore, catalogue: Catalogue, member: int
) -> None:
    from tests.web.test_browser import SHOWN_TEXT, untranslated

    page = browser_page.page
    browser_login(page, "wang.fang", next=f"/customers/{member}")
    page.wait_for_url(f"**/customers/{member}")
    page.evaluate("() => { window.notReloaded = true; }")
    before = balance(web_store, member)
    assert page.inner_text("#loyalty-balance") == f"{before:,}"
    page.select_option("#redeem-reward", catalogue.cheap)
    page.click("#redeem-submit")
    page.wait_for_selector("#loyalty-saved")
    assert page.inner_text("#loyalty-balance") == f"{before - 300:,}"
    code = vouchers_of(web_store, member)[-1]["code"]
    row = page.locator("#vouchers tbody tr", has_text=code)
    assert "马克杯" in row.inner_text() and "未使用" in row.inner_text()
    assert page.evaluate("() => window.notReloaded === true")  # swapped, not reloaded
    assert not untranslated(page.evaluate(SHOWN_TEXT), "zh_CN")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.locator("#loyalty-panel").screenshot(path=str(SHOTS / "card-loyalty-zh_CN.png"))
    row.locator("button").click()
    page.wait_for_selector("#voucher-used")
    assert "已于" in page.locator("#vouchers tbody tr", has_text=code).inner_text()
    page.click('button[data-lang="en"]')
    page.wait_for_load_state()
    page.wait_for_selector("#redeem-form")
    assert page.inner_text("#loyalty-h") == "Loyalty points"
    page.select_option("#redeem-reward", catalogue.cheap)
    page.click("#redeem-submit")
    page.wait_for_selector("#loyalty-saved")
    assert page.inner_text("#loyalty-balance") == f"{before - 600:,}"
    newest = vouchers_of(web_store, member)[-1]["code"]
    assert "Not used" in page.locator("#vouchers tbody tr", has_text=newest).inner_text()
    assert not untranslated(page.evaluate(SHOWN_TEXT), "en")
    page.locator("#loyalty-panel").screenshot(path=str(SHOTS / "card-loyalty-en.png"))
    browser_page.clean()
