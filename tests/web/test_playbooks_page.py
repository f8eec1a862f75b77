"""行动手册 Playbooks: every playbook (stored and of the rules) with whether it runs, the
latest daily run's figures and the measured effect, as the product functions give them;
for admins, managers and analysts. Plain HTTP, and in Chromium in zh-CN and en."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from html import unescape

import pytest
import sqlalchemy as sa

from rapport.actions.playbook_registry import overview
from rapport.actions.playbooks import configured_playbooks
from rapport.config import load_rules
from rapport.domain import PlaybookSource
from rapport.store import playbooks, schema
from rapport.store.db import session_scope
from rapport.store.repository import utcnow
from tests.web.conftest import ROLE_USERS, SHOTS, Watched, WebStore, browser_login, http_login

_c = schema.customers.c
ROW = re.compile(r'<tr id="playbook-([\w]+)"')


def text_of(html: str) -> str:
    return unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)))


@pytest.fixture(scope="module")
def measured(web_store: WebStore) -> str:
    """A stored playbook with 40 treated customers (20 reached the outcome, 100 each) and 40
    held out (10 reached it), all measured, and a daily run's figures for it."""
    code = f"web_{uuid.uuid4().hex[:6]}"
    base = configured_playbooks(load_rules())[0][0].definition
    definition = {**base, "code": code, "name_zh": "测试手册", "name_en": "Test playbook"}
    customers = [r["id"] for r in web_store.rows(sa.select(_c.id).order_by(_c.id).limit(80))]
    now = utcnow()
    engine = web_store.engine()
    with session_scope(engine, writing=True) as session:
        row, _ = playbooks.save(
            session=session,
            code=code,
            definition=definition,
            source=PlaybookSource.API,
            enabled=True,
            actor="test",
            at=now,
        )
        rows = []
        for i, customer_id in enumerate(customers):
            treated = i < 40
            success = (i < 20) if treated else (i < 50)
            rows.append(
                {
                    "playbook_id": row["id"],
                    "version": row["version"],
                    "customer_id": customer_id,
                    "occasion": "2026-11-01",
                    "arm": "treated" if treated else "holdout",
                    "run_date": dt.date(2026, 11, 1),
                    "enrolled_at": now,
                    "outcome_success": success,
                    "outcome_value": 100 if success else 0,
                    "cost": 1 if treated else 0,
                    "measured_at": now,
                }
            )
        session.execute(sa.insert(schema.playbook_enrolments), rows)
        figures = {"code": code, "triggered": 91, "eligible": 84, "treated": 76, "held_out": 8}
        session.execute(
            sa.insert(schema.pipeline_runs).values(
                run_date=dt.date(2026, 11, 1),
                step="playbooks",
                status="done",
                started_at=now,
                finished_at=now,
                heartbeat_at=now,
                summary={"playbooks": [{**figures, "tasks": 76, "messages": 0}]},
            )
        )
    engine.dispose()
    return code


@pytest.mark.parametrize("role", sorted(ROLE_USERS))
def test_who_may_open_it(server: str, role: str) -> None:
    client = http_login(server, ROLE_USERS[role])
    answer = client.get("/playbooks")
    menu = client.get("/customers").text
    if role in ("admin", "manager", "analyst"):
        assert answer.status_code == 200 and 'href="/playbooks"' in menu
    else:
        assert answer.status_code == 403 and 'href="/playbooks"' not in menu


def test_every_playbook_with_its_run_and_measured_effect(
    server: str, web_store: WebStore, measured: str
) -> None:
    html = http_login(server, "gao.peng").get("/playbooks").text
    engine = web_store.engine()
    with session_scope(engine) as session:
        expected = [r["code"] for r in overview(session=session, rules=load_rules())]
    engine.dispose()
    assert ROW.findall(html) == expected
    row = re.search(rf'<tr id="playbook-{measured}".*?</tr>', html, re.S)
    assert row is not None
    shown = text_of(row.group(0))
    # 20 of 40 treated against 10 of 40 held out: 50 % and 25 %, +25 points
    assert "50.0%" in shown and "25.0%" in shown and "+25.0%" in shown
    assert "n = 40" in shown and "执行 40 / 留出 40" in shown
    # the day's figures of the latest daily run
    assert "91 84 76 8 76 0" in shown
    assert "最近一次每日运行:2026年11月1日" in text_of(html)
    assert "有提升" in shown  # the whole interval above 0
    # a playbook of the rules not measured says so
    assert "尚未衡量" in text_of(html)


def test_the_page_in_english(server: str, measured: str) -> None:
    client = http_login(server, "admin")
    from tests.web.conftest import csrf_of

    token = csrf_of(client.get("/playbooks").text)
    client.post("/lang", data={"lang": "en", "csrf_token": token, "next": "/"})
    html = client.get("/playbooks").text
    main = html[html.index("<main") :]
    text = re.sub(r'<[^>]*class="[^"]*data[^"]*"[^>]*>[^<]*<', "<", main)
    assert not re.findall(r"[\u3400-\u9fff]", text_of(text)), text_of(text)
    assert "Measured effect" in html and "Test playbook" in html and "lifts" in html


@pytest.mark.browser
def test_the_playbooks_in_the_browser(
    browser_page: Watched, web_store: WebStore, measured: str
) -> None:
    from tests.web.test_browser import SHOWN_TEXT, untranslated

    page = browser_page.page
    browser_login(page, "lin.hui", next="/playbooks")
    page.wait_for_url("**/playbooks")
    assert "测试手册" in page.inner_text(f"#playbook-{measured}")
    assert not untranslated(page.evaluate(SHOWN_TEXT), "zh_CN")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "playbooks-zh_CN.png"), full_page=True)
    page.click('button[data-lang="en"]')
    page.wait_for_load_state()
    assert "Test playbook" in page.inner_text(f"#playbook-{measured}")
    assert not untranslated(page.evaluate(SHOWN_TEXT), "en")
    page.screenshot(path=str(SHOTS / "playbooks-en.png"), full_page=True)
    browser_page.clean()
