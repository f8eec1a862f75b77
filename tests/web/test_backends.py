"""The workspace on both store backends, in Chromium: every page of every role renders with
no console error, no failed request and no request leaving 127.0.0.1; a sales user sees
only their own customers (list, search, another owner's card); an analyst sees nothing
unmasked. Each test runs against ``rapport serve`` over the SQLite web store and over the
same store on PostgreSQL (the ``[postgres]`` leg)."""

from __future__ import annotations

import re
from typing import Any

import pytest
import sqlalchemy as sa

from rapport.domain import Role
from rapport.store import schema
from rapport.web import nav
from tests.web.conftest import ROLE_USERS, WebStore, browser_login, http_login, watched_page

pytestmark = pytest.mark.browser

_c = schema.customers.c


def settle(page: Any) -> None:
    """Wait until the page and the fragments it loads are in (leaving a page while a
    fragment loads cuts its request short, which counts as a failed request)."""
    page.wait_for_load_state("networkidle")
    page.wait_for_function("() => !document.querySelector('.htmx-request')")


def row_ids(page: Any) -> list[int]:
    return [
        int(i)
        for i in page.eval_on_selector_all(
            "tr[data-customer-id]", "rs => rs.map(r => r.dataset.customerId)"
        )
    ]


@pytest.mark.parametrize("role", sorted(ROLE_USERS))
def test_every_page_of_the_role_renders_cleanly(
    chromium: Any, served: tuple[WebStore, str], role: str
) -> None:
    _store, base = served
    pages = [entry.path for entry in nav.visible(Role(role))]
    assert pages
    with watched_page(chromium, base, timeout_ms=60_000) as watched:
        page = watched.page
        browser_login(page, ROLE_USERS[role])
        page.wait_for_url(lambda url: "/login" not in url)
        settle(page)
        for path in pages:
            answer = page.goto(path)
            assert answer is not None and answer.status == 200, path
            settle(page)
            assert page.inner_text("main h1").strip(), path
        watched.clean()


def test_a_sales_user_sees_only_their_customers(
    chromium: Any, served: tuple[WebStore, str]
) -> None:
    store, base = served
    mine = {r["id"] for r in store.rows(sa.select(_c.id).where(_c.owner_id == store.ids["sales"]))}
    other = store.rows(
        sa.select(_c.id, _c.name)
        .where(_c.owner_id == store.ids["other_sales"], _c.name.is_not(None))
        .order_by(_c.id)
        .limit(1)
    )[0]
    assert mine and other["id"] not in mine
    with watched_page(chromium, base) as watched:
        page = watched.page
        browser_login(page, "wang.fang")
        page.wait_for_url("**/worklist")
        settle(page)
        page.goto("/customers")
        listed = row_ids(page)
        assert listed and set(listed) <= mine
        # a search for another owner's customer by name finds none of theirs
        page.goto("/customers?q=" + other["name"])
        assert other["id"] not in row_ids(page) and set(row_ids(page)) <= mine
        answer = page.goto(f"/customers/{other['id']}")
        assert answer is not None and answer.status == 404
        assert page.inner_text("main h1") == "未找到"
        watched.errors.clear()  # Chromium logs the 404 of the page itself
        watched.clean()


def test_an_analyst_sees_nothing_unmasked(chromium: Any, served: tuple[WebStore, str]) -> None:
    store, base = served
    people = store.rows(sa.select(_c.id, _c.name, _c.phone, _c.email, _c.external_id))
    secrets = {
        value
        for row in people
        for key, value in row.items()
        if key != "id" and value and len(str(value)) >= 2
    }
    with watched_page(chromium, base) as watched:
        page = watched.page
        browser_login(page, ROLE_USERS["analyst"], next="/customers")
        page.wait_for_url("**/customers")
        shown = page.eval_on_selector_all("a.customer-link", "as => as.map(a => a.textContent)")
        assert len(shown) == 25 and all(s.endswith("*") for s in shown)
        first = row_ids(page)[0]
        for path in ("/customers", f"/customers/{first}", "/diamonds", "/overview"):
            page.goto(path)
            settle(page)
            text = page.inner_text("body")
            leaked = sorted(s for s in secrets if str(s) in text)
            assert not leaked, (path, leaked[:5])
        assert page.is_visible("body")
        watched.clean()


def test_the_search_box_is_closed_to_the_analyst(served: tuple[WebStore, str]) -> None:
    """Over HTTP: a text search by an analyst is not run (digits would reveal the mask)."""
    store, base = served
    client = http_login(base, ROLE_USERS["analyst"])
    phone = store.scalar(sa.select(_c.phone).where(_c.phone.is_not(None)).limit(1))
    html = client.get("/customers", params={"q": phone}).text
    assert phone not in html
    assert re.search(r'id="q"[^>]*disabled', html)
