"""The 360 card's next best action: the fragment the card loads, the playbooks
:func:`rapport.actions.next_best.next_best_in_session` ranks for the customer, in the page's
language, through the user's scope. Plain HTTP, and in Chromium."""

from __future__ import annotations

import re
from html import unescape

import pytest
import sqlalchemy as sa

from rapport.actions.next_best import next_best_in_session
from rapport.actions.playbook_registry import sync_playbooks
from rapport.config import load_rules
from rapport.reports.worklist import local_today
from rapport.store import schema
from rapport.store.db import session_scope
from rapport.store.repository import utcnow
from tests.web.conftest import SHOTS, Watched, WebStore, browser_login, csrf_of, http_login

_c = schema.customers.c


def text_of(html: str) -> str:
    return unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)))


@pytest.fixture(scope="module")
def synced(web_store: WebStore) -> None:
    """The built-in playbooks stored (enabled), as the first daily run stores them."""
    engine = web_store.engine()
    with session_scope(engine, writing=True) as session:
        sync_playbooks(session=session, rules=load_rules(), at=utcnow())
    engine.dispose()


def expected(store: WebStore, customer_id: int, locale: str) -> list[str]:
    engine = store.engine()
    settings = store.settings.model_copy(update={"locale": locale})
    with session_scope(engine) as session:
        found = next_best_in_session(
            session=session,
            settings=settings,
            customer_id=customer_id,
            day=local_today(settings.tz),
            limit=3,
        )
    engine.dispose()
    return [a.name for a in found]


def test_the_fragment_ranks_what_next_best_gives(
    server: str, web_store: WebStore, synced: None
) -> None:
    owned = web_store.rows(
        sa.select(_c.id).where(_c.owner_id == web_store.ids["sales"]).order_by(_c.id)
    )
    client = http_login(server, "wang.fang")
    seen_any = False
    for row in owned[:8]:
        names = expected(web_store, row["id"], "zh_CN")
        answer = client.get(f"/customers/{row['id']}/next-best", headers={"HX-Request": "true"})
        assert answer.status_code == 200 and "<html" not in answer.text
        shown = re.findall(r"<li><strong>([^<]*)</strong>", answer.text)
        assert [unescape(s) for s in shown] == names
        if names:
            seen_any = True
            assert "预期增量价值" in text_of(answer.text)
        else:
            assert "眼下没有该客户符合条件的行动手册" in text_of(answer.text)
    assert seen_any, "some customer of the sample is eligible for a built-in playbook"
    # the card asks for it once loaded
    card = client.get(f"/customers/{owned[0]['id']}").text
    assert f'hx-get="/customers/{owned[0]["id"]}/next-best"' in card


def test_in_english_and_within_the_scope(server: str, web_store: WebStore, synced: None) -> None:
    theirs = web_store.scalar(
        sa.select(_c.id).where(_c.owner_id == web_store.ids["other_sales"]).limit(1)
    )
    mine = web_store.rows(
        sa.select(_c.id).where(_c.owner_id == web_store.ids["sales"]).order_by(_c.id)
    )
    client = http_login(server, "wang.fang")
    assert client.get(f"/customers/{theirs}/next-best").status_code == 404
    assert client.get("/customers/abc/next-best").status_code == 404
    # a number beyond any customer's (and the store's integers) is not found, as on the card
    assert client.get(f"/customers/{'9' * 20}/next-best").status_code == 404
    token = csrf_of(client.get("/worklist").text)
    client.post("/lang", data={"lang": "en", "csrf_token": token, "next": "/"})
    for row in mine[:8]:
        names = expected(web_store, row["id"], "en")
        if names:
            answer = client.get(f"/customers/{row['id']}/next-best").text
            assert [
                unescape(s) for s in re.findall(r"<li><strong>([^<]*)</strong>", answer)
            ] == names
            assert not re.findall(r"[\u3400-\u9fff]", text_of(answer))
            break


@pytest.mark.browser
def test_the_card_shows_the_next_best_action(
    browser_page: Watched, web_store: WebStore, synced: None
) -> None:
    from tests.web.test_browser import SHOWN_TEXT, untranslated

    owned = web_store.rows(
        sa.select(_c.id).where(_c.owner_id == web_store.ids["sales"]).order_by(_c.id)
    )
    customer_id = next(r["id"] for r in owned if expected(web_store, r["id"], "zh_CN"))
    page = browser_page.page
    browser_login(page, "wang.fang", next=f"/customers/{customer_id}")
    page.wait_for_selector("#next-best li")
    assert "预期增量价值" in page.inner_text("#next-best-panel")
    assert not untranslated(page.evaluate(SHOWN_TEXT), "zh_CN")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.locator("#next-best-panel").screenshot(path=str(SHOTS / "card-next-best-zh_CN.png"))
    page.click('button[data-lang="en"]')
    page.wait_for_selector("#next-best li")
    assert "expected incremental value" in page.inner_text("#next-best-panel")
    assert not untranslated(page.evaluate(SHOWN_TEXT), "en")
    page.locator("#next-best-panel").screenshot(path=str(SHOTS / "card-next-best-en.png"))
    browser_page.clean()
