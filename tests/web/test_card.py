"""The 360 card completed: why the customer is in their value tier and what the next tier
lacks, the loyalty balance, and the everyday writes — log an interaction, open a ticket,
add or remove a tag, add a note — through the API's store functions and roles, audited,
CSRF-protected, with each field's problem in the user's language. Plain HTTP, and the
journey in Chromium: open a customer, log a call, see it on the timeline without a reload."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
import sqlalchemy as sa

from rapport.config import load_rules
from rapport.domain import TicketKind, TicketStatus
from rapport.i18n.enums import label
from rapport.reports.tiers import next_tier, tier_reasons
from rapport.store import loyalty, loyalty_expiry, schema
from rapport.store.db import session_scope
from rapport.web import i18n
from tests.helpers import audit_entries
from tests.web.conftest import SHOTS, Watched, WebStore, browser_login, csrf_of, http_login

_c = schema.customers.c
_s = schema.customer_scores.c
_i = schema.interactions.c
_t = schema.tickets.c
_l = schema.loyalty_ledger.c


# --- helpers -------------------------------------------------------------------------------


def owned(store: WebStore, who: str) -> list[int]:
    rows = store.rows(sa.select(_c.id).where(_c.owner_id == store.ids[who]).order_by(_c.id))
    return [r["id"] for r in rows]


def serviced(store: WebStore) -> list[int]:
    """Customers in the service user's scope (a ticket assigned to them)."""
    rows = store.rows(
        sa.select(_t.customer_id)
        .where(_t.assignee_id == store.ids["service"])
        .distinct()
        .order_by(_t.customer_id)
    )
    return [r["customer_id"] for r in rows]


def form_post(
    client: httpx.Client, path: str, data: dict[str, str], *, htmx: bool = False
) -> httpx.Response:
    """A POST of a card form with the session's CSRF token: as a plain form, or as HTMX
    sends it (the token in the header)."""
    card = path.rsplit("/", 2)[0] if path.endswith("/remove") else path.rsplit("/", 1)[0]
    token = csrf_of(client.get(card).text)
    if htmx:
        headers = {"HX-Request": "true", "X-CSRF-Token": token}
        return client.post(path, data=data, headers=headers)
    return client.post(path, data={**data, "csrf_token": token})


def count(store: WebStore, table: sa.Table, *where: Any) -> int:
    return store.scalar(sa.select(sa.func.count()).select_from(table).where(*where))


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:6]}"


def shown(html: str) -> str:
    """The text of a page without tags, scripts and attribute values."""
    html = re.sub(r"<script.*?</script>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


# --- tier reasons and loyalty --------------------------------------------------------------


def test_the_card_says_why_the_tier_and_what_the_next_one_lacks(
    server: str, web_store: WebStore
) -> None:
    rules = load_rules()
    rows = web_store.rows(
        sa.select(schema.customer_scores)
        .where(_s.as_of == sa.select(sa.func.max(_s.as_of)).scalar_subquery())
        .where(_s.value_tier.in_(["silver", "bronze"]))
        .order_by(_s.customer_id)
        .limit(1)
    )
    assert rows, "the sample has a silver or bronze customer"
    row = rows[0]
    met, lacking = tier_reasons(row, rules, "zh_CN")
    following = next_tier(row)
    assert following is not None and lacking  # below the top: something lacks
    client = http_login(server, "admin")
    page = client.get(f"/customers/{row['customer_id']}").text
    lacking_list = re.search(r'<ul class="checks" id="tier-lacking".*?</ul>', page, re.S)
    assert lacking_list is not None
    for line in lacking:
        assert line in lacking_list.group(0)
    assert f"升到{label(following, 'zh_CN')}还差" in page
    for line in met:
        assert line in page
    client.post("/lang", data={"lang": "en", "csrf_token": csrf_of(page), "next": "/"})
    english = client.get(f"/customers/{row['customer_id']}").text
    for line in tier_reasons(row, rules, "en")[1]:
        assert line in english
    assert f"Missing for {label(following, 'en')}" in english


def test_the_loyalty_balance_is_the_sum_of_the_ledger_with_the_latest_entries(
    server: str, web_store: WebStore
) -> None:
    top = web_store.rows(
        sa.select(_l.customer_id, sa.func.count().label("n"))
        .group_by(_l.customer_id)
        .order_by(sa.func.count().desc(), _l.customer_id)
        .limit(1)
    )
    assert top and top[0]["n"] > 5, "the sample has a customer with a ledger"
    customer_id = top[0]["customer_id"]
    engine = web_store.engine()
    with session_scope(engine) as session:
        balance = loyalty.balance(session=session, customer_id=customer_id)
        latest = loyalty.latest_entries(session=session, customer_id=customer_id, limit=5)
    engine.dispose()
    total = web_store.scalar(sa.select(sa.func.sum(_l.points)).where(_l.customer_id == customer_id))
    assert balance == total
    page = http_login(server, "admin").get(f"/customers/{customer_id}").text
    assert f'id="loyalty-balance">{balance:,}<' in page
    table = re.search(r'<table class="compact" id="loyalty-entries">.*?</table>', page, re.S)
    assert table is not None
    assert table.group(0).count("<tr>") == 1 + len(latest)  # the head and 5 entries
    references = [e["reference"] for e in latest if e["reference"]]
    for reference in references:
        assert reference in table.group(0)
    # the analyst sees the balance, references masked
    masked = http_login(server, "gao.peng").get(f"/customers/{customer_id}").text
    assert f'id="loyalty-balance">{balance:,}<' in masked
    for reference in references:
        assert reference not in masked
    # what expires next: the oldest lot with points left (first in, first out)
    engine = web_store.engine()
    with session_scope(engine) as session:
        expiring = loyalty_expiry.customer_expiring(
            session,
            customer_id=customer_id,
            expire_days=load_rules().loyalty.points_expire_days,
            after=dt.datetime.now(dt.UTC),
        )
    engine.dispose()
    shown = re.search(r'id="loyalty-next-expiry">([^<]*)<', page)
    if not expiring:
        assert shown is None
    else:
        assert shown is not None and f"{expiring[0][1]:,} 分于 " in shown.group(1)
        local = expiring[0][0].astimezone(ZoneInfo("Asia/Shanghai"))
        assert f"{local.year}年{local.month}月{local.day}日" in shown.group(1)


# --- log an interaction --------------------------------------------------------------------


def test_a_sales_user_logs_a_call_on_their_customer_audited_as_the_api_does(
    server: str, web_store: WebStore
) -> None:
    customer_id = owned(web_store, "sales")[-1]
    subject = unique("电话回访:确认新品需求 ")
    client = http_login(server, "wang.fang")
    before = count(web_store, schema.interactions)
    answer = form_post(
        client,
        f"/customers/{customer_id}/interactions",
        {"channel": "phone", "direction": "outbound", "subject": subject, "duration": "2.5"},
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/customers/{customer_id}#timeline-panel"
    rows = web_store.rows(sa.select(schema.interactions).where(_i.subject == subject))
    assert len(rows) == 1 and count(web_store, schema.interactions) == before + 1
    row = rows[0]
    assert row["customer_id"] == customer_id
    assert row["staff_id"] == web_store.ids["sales"]
    assert (row["channel"], row["direction"], row["duration_seconds"]) == (
        "phone",
        "outbound",
        150,
    )
    entry = [e for e in audit_entries(web_store.engine(), "create", "interactions")][-1]
    assert entry["entity_id"] == str(row["id"])
    assert entry["actor"] == "wang.fang"
    assert entry["detail"] == {
        "via": "web",
        "fields": ["channel", "customer_id", "direction", "duration_seconds", "subject"],
    }
    card = client.get(f"/customers/{customer_id}").text
    timeline = re.search(r'id="timeline-panel".*?</section>', card, re.S)
    assert timeline is not None and subject in timeline.group(0)


def test_htmx_gets_the_new_timeline_and_fresh_forms(server: str, web_store: WebStore) -> None:
    customer_id = owned(web_store, "sales")[-2]
    subject = unique("微信沟通 ")
    client = http_login(server, "wang.fang")
    answer = form_post(
        client,
        f"/customers/{customer_id}/interactions",
        {"channel": "chat", "subject": subject},
        htmx=True,
    )
    assert answer.status_code == 200
    html = answer.text
    assert html.lstrip().startswith('<section class="panel wide" aria-labelledby="timeline-h"')
    assert subject in html and "<html" not in html
    assert 'id="writes" hx-swap-oob="true"' in html and 'id="interaction-saved"' in html
    assert f'value="{subject}"' not in html  # the form comes back empty
    row = web_store.rows(sa.select(schema.interactions).where(_i.subject == subject))[0]
    assert row["direction"] == "unknown"  # the API's default


def test_invalid_input_writes_nothing_and_names_each_field_in_the_language(
    server: str, web_store: WebStore
) -> None:
    customer_id = owned(web_store, "sales")[-1]
    client = http_login(server, "wang.fang")
    before = count(web_store, schema.interactions)
    bad = {"channel": "", "subject": "长" * 300, "duration": "-3", "occurred_at": "明天"}
    reads = len(audit_entries(web_store.engine(), "read_pii", "customers"))
    answer = form_post(client, f"/customers/{customer_id}/interactions", bad)
    assert answer.status_code == 422
    # the whole card again, unmasked: audited as its page's read (after the card's GET)
    got, read = audit_entries(web_store.engine(), "read_pii", "customers")[reads:]
    for entry in (got, read):
        assert entry["detail"]["route"] == "web.360"
        assert str(entry["entity_id"]) == str(customer_id)
    page = answer.text
    assert "未保存:请修改标出的字段" in page
    for field, text in (
        ("channel", "必填"),
        ("subject", "最多 255 个字符"),
        ("duration", "请填写 0 到 1,440 之间的分钟数"),
        ("occurred_at", "请填写有效的日期和时间"),
    ):
        assert re.search(rf'id="interaction-{field}-error">.*?{re.escape(text)}', page), field
    assert "长" * 300 in page  # what was typed stays in the form
    # HTMX: the forms alone, swapped in place of the old ones
    htmx = form_post(client, f"/customers/{customer_id}/interactions", bad, htmx=True)
    assert htmx.status_code == 200
    assert htmx.headers["HX-Retarget"] == "#writes" and htmx.headers["HX-Reswap"] == "outerHTML"
    assert 'id="interaction-channel-error"' in htmx.text
    # a value only the store knows to refuse: its keyed message, in Chinese
    store_refused = form_post(client, f"/customers/{customer_id}/interactions", {"channel": "fax"})
    assert store_refused.status_code == 422
    message = re.search(r'id="interaction-channel-error">(.*?)</p>', store_refused.text, re.S)
    assert message is not None and "未知" in message.group(1)
    assert count(web_store, schema.interactions) == before
    # in English
    client.post("/lang", data={"lang": "en", "csrf_token": csrf_of(page), "next": "/"})
    english = form_post(client, f"/customers/{customer_id}/interactions", bad).text
    assert "Nothing was saved: correct the marked fields" in english
    assert "At most 255 characters" in english and "Required" in english
    assert count(web_store, schema.interactions) == before


# --- roles and scope -----------------------------------------------------------------------


def test_writes_follow_the_apis_roles_and_the_scope(server: str, web_store: WebStore) -> None:
    theirs = owned(web_store, "other_sales")[0]
    before = {
        t.name: count(web_store, t) for t in (schema.interactions, schema.tickets, schema.customers)
    }
    audits = len(audit_entries(web_store.engine()))
    sales = http_login(server, "wang.fang")
    mine = owned(web_store, "sales")[0]
    token = csrf_of(sales.get(f"/customers/{mine}").text)
    for path, data in (
        ("interactions", {"channel": "phone"}),
        ("tickets", {"kind": "inquiry"}),
        ("tags", {"tag": "x"}),
        ("notes", {"note": "x"}),
    ):
        # another owner's customer: the not-found page, as for a missing one
        answer = sales.post(f"/customers/{theirs}/{path}", data={**data, "csrf_token": token})
        assert answer.status_code == 404 and "未找到" in answer.text, path
        assert (
            sales.post(f"/customers/99999/{path}", data={**data, "csrf_token": token}).status_code
            == 404
        )
    analyst = http_login(server, "gao.peng")
    token = csrf_of(analyst.get(f"/customers/{mine}").text)
    for path in ("interactions", "tickets", "tags", "tags/remove", "notes"):
        answer = analyst.post(f"/customers/{mine}/{path}", data={"csrf_token": token})
        assert answer.status_code == 403 and "无权访问" in answer.text, path
    card = analyst.get(f"/customers/{mine}").text
    assert 'id="writes"' not in card and 'id="notes-panel"' not in card
    service = http_login(server, "zhou.xiuying")
    theirs_too = serviced(web_store)[0]
    token = csrf_of(service.get(f"/customers/{theirs_too}").text)
    for path in ("tags", "tags/remove", "notes"):  # customers: admin, manager, sales
        answer = service.post(f"/customers/{theirs_too}/{path}", data={"csrf_token": token})
        assert answer.status_code == 403, path
    card = service.get(f"/customers/{theirs_too}").text
    assert 'id="interaction-form"' in card and 'id="ticket-form"' in card
    assert 'id="tag-form"' not in card and 'id="note-form"' not in card
    after = {
        t.name: count(web_store, t) for t in (schema.interactions, schema.tickets, schema.customers)
    }
    assert after == before
    written = [e for e in audit_entries(web_store.engine())[audits:] if e["action"] != "read_pii"]
    assert [e for e in written if e["action"] != "login"] == []


def test_a_service_user_opens_a_ticket_assigned_to_them(server: str, web_store: WebStore) -> None:
    customer_id = serviced(web_store)[0]
    subject = unique("退货咨询 ")
    client = http_login(server, "zhou.xiuying")
    answer = form_post(
        client,
        f"/customers/{customer_id}/tickets",
        {"kind": "inquiry", "priority": "high", "subject": subject, "description": "客户来电"},
        htmx=True,
    )
    assert answer.status_code == 200 and 'id="ticket-saved"' in answer.text
    ticket = web_store.rows(sa.select(schema.tickets).where(_t.subject == subject))[0]
    assert ticket["assignee_id"] == web_store.ids["service"]
    assert (ticket["kind"], ticket["priority"], ticket["status"]) == ("inquiry", "high", "open")
    assert ticket["external_id"].startswith("T-")
    # the due times of the SLA rules, as the API's tickets get them
    hours = load_rules().sla.resolution_hours["high"]
    assert (ticket["resolution_due_at"] - ticket["opened_at"]).total_seconds() == hours * 3600
    history = web_store.rows(
        sa.select(schema.ticket_status_history).where(
            schema.ticket_status_history.c.ticket_id == ticket["id"]
        )
    )
    assert [(h["to_status"], h["changed_by"]) for h in history] == [
        ("open", web_store.ids["service"])
    ]
    entry = audit_entries(web_store.engine(), "create", "tickets")[-1]
    assert entry["entity_id"] == str(ticket["id"])
    assert entry["detail"] == {
        "via": "web",
        "fields": ["customer_id", "description", "kind", "priority", "subject"],
    }
    # on top of the timeline: a ticket, its category and status
    newest = re.search(r"<tbody>\s*<tr class=\"src-(\w+)\">(.*?)</tr>", answer.text, re.S)
    assert newest is not None and newest.group(1) == "tickets"
    assert label(TicketKind.INQUIRY, "zh_CN") in newest.group(2)
    assert label(TicketStatus.OPEN, "zh_CN") in newest.group(2)


def test_a_form_post_without_the_csrf_token_is_refused(server: str, web_store: WebStore) -> None:
    customer_id = owned(web_store, "sales")[-1]
    client = http_login(server, "wang.fang")
    before = count(web_store, schema.interactions)
    answer = client.post(f"/customers/{customer_id}/interactions", data={"channel": "phone"})
    assert answer.status_code == 403
    other = http_login(server, "wang.fang")  # another session's token
    token = csrf_of(other.get("/customers").text)
    answer = client.post(
        f"/customers/{customer_id}/interactions", data={"channel": "phone", "csrf_token": token}
    )
    assert answer.status_code == 403
    assert count(web_store, schema.interactions) == before


# --- tags and notes ------------------------------------------------------------------------


def test_tags_are_added_once_trimmed_and_removed(server: str, web_store: WebStore) -> None:
    customer_id = owned(web_store, "sales")[-3]
    tag = unique("重点 客户")
    client = http_login(server, "wang.fang")
    original = web_store.scalar(sa.select(_c.tags).where(_c.id == customer_id)) or []
    audits = len(audit_entries(web_store.engine(), "update", "customers"))
    answer = form_post(client, f"/customers/{customer_id}/tags", {"tag": f"  {tag}  "}, htmx=True)
    assert answer.status_code == 200
    assert answer.text.lstrip().startswith('<section class="panel" aria-labelledby="notes-h"')
    assert 'id="profile-tags" hx-swap-oob="true"' in answer.text and tag in answer.text
    tags = web_store.scalar(sa.select(_c.tags).where(_c.id == customer_id))
    assert tags == [*original, tag]
    form_post(client, f"/customers/{customer_id}/tags", {"tag": tag})  # again: no change
    assert web_store.scalar(sa.select(_c.tags).where(_c.id == customer_id)) == tags
    updates = audit_entries(web_store.engine(), "update", "customers")[audits:]
    assert len(updates) == 1
    assert updates[0]["entity_id"] == str(customer_id)
    assert updates[0]["detail"] == {"via": "web", "fields": ["tags"]}
    # too long: the field's problem, nothing written
    refused = form_post(client, f"/customers/{customer_id}/tags", {"tag": "标" * 65}, htmx=True)
    assert "标签最多 64 个字符" in refused.text and 'aria-invalid="true"' in refused.text
    removed = form_post(client, f"/customers/{customer_id}/tags/remove", {"tag": tag})
    assert removed.status_code == 303
    assert web_store.scalar(sa.select(_c.tags).where(_c.id == customer_id)) == original
    assert len(audit_entries(web_store.engine(), "update", "customers")[audits:]) == 2


def test_a_note_is_kept_with_the_customer_and_hidden_from_analysts(
    server: str, web_store: WebStore
) -> None:
    customer_id = owned(web_store, "sales")[-3]
    text = unique("客户偏好周末送货,") + "\n下次推荐新品"
    client = http_login(server, "wang.fang")
    extra_before = web_store.scalar(sa.select(_c.extra).where(_c.id == customer_id))
    answer = form_post(client, f"/customers/{customer_id}/notes", {"note": text}, htmx=True)
    assert answer.status_code == 200 and 'id="notes-saved"' in answer.text
    # the new note is on the timeline too (swapped out of band)
    assert 'id="timeline-panel" hx-swap-oob="true"' in answer.text
    assert answer.text.count(text.split("\n")[0]) == 2
    n = schema.customer_notes.c
    written = web_store.scalar(
        sa.select(sa.func.max(n.id)).where(n.customer_id == customer_id, n.body == text)
    )
    assert web_store.scalar(sa.select(n.author_id).where(n.id == written)) == web_store.ids["sales"]
    assert web_store.scalar(sa.select(_c.extra).where(_c.id == customer_id)) == extra_before
    entry = audit_entries(web_store.engine(), "create", "customer_notes")[-1]
    assert entry["entity_id"] == str(written)
    assert entry["detail"] == {"via": "web", "fields": ["body"]}
    card = client.get(f"/customers/{customer_id}").text
    assert text in card and 'class="src-notes"' in card
    analyst = http_login(server, "gao.peng").get(f"/customers/{customer_id}").text
    assert text.split("\n")[0] not in analyst and 'class="src-notes"' in analyst
    count = (
        sa.select(sa.func.count())
        .select_from(schema.customer_notes)
        .where(n.customer_id == customer_id)
    )
    notes_before = web_store.scalar(count)
    empty = form_post(client, f"/customers/{customer_id}/notes", {"note": "   "})
    assert empty.status_code == 422 and 'id="note-note-error"' in empty.text
    assert web_store.scalar(count) == notes_before


def test_the_card_and_its_forms_are_in_one_language_at_a_time(
    server: str, web_store: WebStore
) -> None:
    customer_id = owned(web_store, "sales")[0]
    client = http_login(server, "admin")
    zh = client.get(f"/customers/{customer_id}").text
    assert "记录互动" in zh and "新建工单" in zh and "会员积分" in zh
    client.post("/lang", data={"lang": "en", "csrf_token": csrf_of(zh), "next": "/"})
    en = client.get(f"/customers/{customer_id}").text
    main = en[en.index("<main") :]  # the title names the customer
    text = shown(re.sub(r'<[^>]*class="data"[^>]*>[^<]*<', "<", main))
    assert not re.findall(r"[\u3400-\u9fff]", text.replace("中文", ""))
    for key in ("card.log_interaction", "card.open_ticket", "card.loyalty", "card.notes"):
        assert i18n.text(key, "en") in en


# --- the journey, in Chromium --------------------------------------------------------------

#: The card's elements whose right edge passes the window's (not those inside a scrolling box).
WIDER_THAN_THE_SCREEN = """() => {
  const limit = document.documentElement.clientWidth + 1;
  const out = [];
  document.querySelectorAll('main *').forEach(e => {
    if (e.closest('.table-wrap')) { return; }
    const right = e.getBoundingClientRect().right;
    if (right > limit) { out.push(e.tagName + '#' + e.id + '.' + e.className + ' ' + right); }
  });
  return out.slice(0, 8);
}"""


@pytest.mark.browser
def test_open_a_customer_log_a_call_and_see_it_on_the_timeline(
    browser_page: Watched, web_store: WebStore
) -> None:
    from tests.web.test_browser import SHOWN_TEXT, untranslated

    page = browser_page.page
    customer_id = owned(web_store, "sales")[1]
    browser_login(page, "wang.fang")
    page.wait_for_url(lambda url: "/login" not in url)  # the role's own landing page
    page.goto("/customers")
    page.click(f'tr[data-customer-id="{customer_id}"] a')
    page.wait_for_url(f"**/customers/{customer_id}")
    page.evaluate("() => { window.notReloaded = true; }")
    subject = unique("电话回访 ")
    page.select_option("#interaction-channel", "phone")
    page.select_option("#interaction-direction", "outbound")
    page.fill("#interaction-subject", subject)
    page.fill("#interaction-duration", "4")
    page.keyboard.press("Tab")
    page.click("#interaction-submit")
    page.wait_for_selector("#interaction-saved")
    first = page.locator("#timeline tbody tr").first
    assert subject in first.inner_text() and "电话" in first.inner_text()
    assert page.evaluate("() => window.notReloaded === true")  # swapped, not reloaded
    assert page.input_value("#interaction-subject") == ""
    # an invalid one shows the field's problem and keeps what was typed
    page.fill("#interaction-subject", "长" * 300)
    page.evaluate(
        "() => document.getElementById('interaction-subject').removeAttribute('maxlength')"
    )
    page.fill("#interaction-subject", "长" * 300)
    page.click("#interaction-submit")
    page.wait_for_selector("#interaction-channel-error")
    assert page.get_attribute("#interaction-subject", "aria-invalid") == "true"
    assert "最多 255 个字符" in page.inner_text("#interaction-subject-error")
    assert count(web_store, schema.interactions, _i.subject == "长" * 300) == 0
    # a tag, by keyboard
    tag = unique("回访")
    page.fill("#tag-input", tag)
    page.keyboard.press("Enter")
    page.wait_for_selector(f'#tags li:has-text("{tag}")')
    assert tag in page.inner_text("#profile-tags")
    assert not untranslated(page.evaluate(SHOWN_TEXT), "zh_CN")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "card-writes-zh_CN.png"), full_page=True)
    page.click(f'#tags li:has-text("{tag}") button.remove')
    page.wait_for_selector(f'#tags li:has-text("{tag}")', state="detached")
    page.click('button[data-lang="en"]')
    page.wait_for_load_state()
    assert page.inner_text("#interaction-h") == "Log an interaction"
    assert not untranslated(page.evaluate(SHOWN_TEXT), "en")
    page.screenshot(path=str(SHOTS / "card-writes-en.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    # no sideways scrolling of the card at phone width (the message names what sticks out)
    wide = page.evaluate(WIDER_THAN_THE_SCREEN)
    assert not wide, wide
    page.screenshot(path=str(SHOTS / "card-writes-phone-en.png"), full_page=True)
    browser_page.clean()
