"""The tasks of 我的工作台 My worklist: a sales user's open tasks soonest due first (the
store's scoped listing, not another's), overdue marked in words, paged; *Done* with the
call's result and *Skip* with a reason through :mod:`rapport.actions.tasks` (role, scope,
audit), CSRF-protected, refusals in the page's language. Plain HTTP, and in Chromium: mark
a task done without a reload, in zh-CN and en."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from html import unescape

import httpx
import pytest
import sqlalchemy as sa

from rapport.actions.tasks import task_page
from rapport.domain import CallResult, TaskStatus, TicketPriority
from rapport.i18n.enums import label
from rapport.store import schema, tasks
from rapport.store.db import session_scope
from rapport.store.paging import PageRequest
from rapport.store.repository import utcnow
from rapport.store.tasks import TaskFilter
from tests.helpers import audit_entries
from tests.web.conftest import SHOTS, Watched, WebStore, browser_login, csrf_of, http_login

_c = schema.customers.c
_t = schema.tasks.c
TASK_ROW = re.compile(r'<tr id="task-(\d+)"')


def owned(store: WebStore, who: str) -> list[int]:
    rows = store.rows(sa.select(_c.id).where(_c.owner_id == store.ids[who]).order_by(_c.id))
    return [r["id"] for r in rows]


def add(store: WebStore, who: str, customer_id: int, due_in_hours: float, **extra: object) -> int:
    """An open task for the customer, given to the staff user ``who``; its id."""
    engine = store.engine()
    with session_scope(engine, writing=True) as session:
        task_id = tasks.add_task(
            session=session,
            task=tasks.NewTask(
                customer_id=customer_id,
                title=str(extra.pop("title", f"回访 {uuid.uuid4().hex[:6]}")),
                due_at=utcnow() + dt.timedelta(hours=due_in_hours),
                assignee_id=store.ids[who],
                **extra,  # type: ignore[arg-type]
            ),
            at=utcnow(),
        )
    engine.dispose()
    return task_id


def task(store: WebStore, task_id: int) -> dict:
    return store.rows(sa.select(schema.tasks).where(_t.id == task_id))[0]


def post(
    client: httpx.Client, task_id: int, what: str, data: dict[str, str], *, htmx: bool = True
) -> httpx.Response:
    token = csrf_of(client.get("/customers").text)
    path = f"/worklist/tasks/{task_id}/{what}"
    if htmx:
        return client.post(path, data=data, headers={"HX-Request": "true", "X-CSRF-Token": token})
    return client.post(path, data={**data, "csrf_token": token})


def text_of(html: str) -> str:
    return unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)))


def section(html: str) -> str:
    found = re.search(r'<div id="tasks".*?</nav>', html, re.S)
    assert found is not None, html[:500]
    return found.group(0)


@pytest.fixture(scope="module")
def seeded(web_store: WebStore) -> dict[str, int]:
    """For wang.fang: an overdue task with a script, one due tomorrow; for li.na one task
    (wang.fang must not see it)."""
    mine = owned(web_store, "sales")
    theirs = owned(web_store, "other_sales")
    return {
        "late": add(
            web_store,
            "sales",
            mine[0],
            -50,
            title="生日问候 LATE",
            script="您好,祝您生日快乐!",
            priority=TicketPriority.HIGH,
        ),
        "soon": add(web_store, "sales", mine[1], 20, title="回访 SOON"),
        "theirs": add(web_store, "other_sales", theirs[0], -10, title="别人的 THEIRS"),
    }


# --- HTTP ----------------------------------------------------------------------------------


def test_a_sales_user_sees_their_open_tasks_soonest_due_first(
    server: str, web_store: WebStore, seeded: dict[str, int]
) -> None:
    html = http_login(server, "wang.fang").get("/worklist").text
    shown = [int(i) for i in TASK_ROW.findall(html)]
    engine = web_store.engine()
    with session_scope(engine) as session:
        page = task_page(
            session=session,
            principal=web_store.principal("sales"),
            page=PageRequest(limit=20),
            filters=TaskFilter(status=TaskStatus.OPEN),
        )
    engine.dispose()
    assert shown == [r["id"] for r in page.data]
    assert seeded["late"] in shown and seeded["soon"] in shown
    assert seeded["theirs"] not in shown
    late = re.search(rf'<tr id="task-{seeded["late"]}".*?</tr>', html, re.S)
    assert late is not None and 'class="overdue"' in late.group(0)
    assert re.search(r"已逾期 2天2小时", text_of(late.group(0))), text_of(late.group(0))
    assert "您好,祝您生日快乐!" in late.group(0) and "高" in text_of(late.group(0))
    soon = re.search(rf'<tr id="task-{seeded["soon"]}".*?</tr>', html, re.S)
    assert soon is not None and "已逾期" not in soon.group(0)
    assert f"共 {page.count} 个未完成任务" in html


def test_done_with_the_calls_result_is_written_and_audited(
    server: str, web_store: WebStore
) -> None:
    task_id = add(web_store, "sales", owned(web_store, "sales")[2], 5)
    client = http_login(server, "wang.fang")
    answer = post(client, task_id, "done", {"result": "reached", "note": "约了下周到店"})
    assert answer.status_code == 200 and "<html" not in answer.text
    assert "已完成: 已联系上" in text_of(answer.text)
    row = task(web_store, task_id)
    assert row["status"] == "done" and row["result"] == "reached"
    assert row["note"] == "约了下周到店" and row["completed_by"] == web_store.ids["sales"]
    entry = audit_entries(web_store.engine(), "update", "tasks")[-1]
    assert entry["entity_id"] == str(task_id) and entry["actor_user_id"] == web_store.ids["sales"]
    assert entry["detail"]["via"] == "web" and entry["detail"]["to"] == "done"
    assert entry["detail"]["result"] == "reached"
    assert task_id not in [int(i) for i in TASK_ROW.findall(client.get("/worklist").text)]
    # again: no longer open, said in the row, nothing more audited
    entries = len(audit_entries(web_store.engine(), "update", "tasks"))
    again = post(client, task_id, "done", {"result": "reached"})
    assert 'role="alert"' in again.text and str(task_id) in again.text
    assert len(audit_entries(web_store.engine(), "update", "tasks")) == entries


def test_the_done_form_offers_the_call_results_and_refuses_others(
    server: str, web_store: WebStore
) -> None:
    task_id = add(web_store, "sales", owned(web_store, "sales")[2], 5)
    client = http_login(server, "wang.fang")
    row = re.search(rf'<tr id="task-{task_id}".*?</tr>', client.get("/worklist").text, re.S)
    assert row is not None
    offered = re.findall(r'<option value="(\w+)"', row.group(0))
    assert offered[-len(CallResult) :] == [r.value for r in CallResult]
    assert all(label(r, "zh_CN") in row.group(0) for r in CallResult)
    refused = post(client, task_id, "done", {"result": "spoke"})
    assert 'role="alert"' in refused.text and "不是通话结果" in text_of(refused.text)
    assert task(web_store, task_id)["status"] == "open"
    answer = post(client, task_id, "done", {"result": "callback"})
    assert f"已完成: {label(CallResult.CALLBACK, 'zh_CN')}" in text_of(answer.text)
    assert task(web_store, task_id)["result"] == "callback"


def test_skip_needs_a_reason(server: str, web_store: WebStore) -> None:
    task_id = add(web_store, "sales", owned(web_store, "sales")[2], 5)
    client = http_login(server, "wang.fang")
    refused = post(client, task_id, "skip", {"reason": "  "})
    assert "必填" in text_of(refused.text) and task(web_store, task_id)["status"] == "open"
    plain = post(client, task_id, "skip", {"reason": ""}, htmx=False)
    assert plain.status_code == 422 and "必填" in text_of(plain.text)
    answer = post(client, task_id, "skip", {"reason": "客户要求不要来电"})
    assert "已跳过" in text_of(answer.text)
    row = task(web_store, task_id)
    assert row["status"] == "skipped" and row["skip_reason"] == "客户要求不要来电"
    entry = audit_entries(web_store.engine(), "update", "tasks")[-1]
    assert entry["entity_id"] == str(task_id) and entry["detail"]["to"] == "skipped"


def test_a_plain_post_goes_back_to_the_worklist(server: str, web_store: WebStore) -> None:
    task_id = add(web_store, "sales", owned(web_store, "sales")[2], 5)
    answer = post(http_login(server, "wang.fang"), task_id, "done", {"result": ""}, htmx=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/worklist#tasks"
    assert task(web_store, task_id)["status"] == "done"


def test_roles_scope_and_csrf(server: str, web_store: WebStore, seeded: dict[str, int]) -> None:
    # analysts do not work tasks; a service agent may, but not a sales user's task
    for username, status in (("gao.peng", 403), ("zhou.xiuying", 404)):
        client = http_login(server, username)
        token = csrf_of(client.get("/customers").text)
        for what in ("done", "skip"):
            answer = client.post(
                f"/worklist/tasks/{seeded['soon']}/{what}",
                data={"reason": "x", "csrf_token": token},
            )
            assert answer.status_code == status, (username, what)
    analyst = http_login(server, "gao.peng")
    assert analyst.get("/worklist/tasks", headers={"HX-Request": "true"}).status_code == 403
    client = http_login(server, "wang.fang")
    answer = post(client, seeded["theirs"], "done", {"result": "reached"})
    assert answer.status_code == 404
    assert post(client, 999_999_999, "done", {}).status_code == 404
    answer = client.post(f"/worklist/tasks/{seeded['soon']}/done", data={"result": "reached"})
    assert answer.status_code == 403
    assert task(web_store, seeded["theirs"])["status"] == "open"
    assert task(web_store, seeded["soon"])["status"] == "open"
    # an admin sees both, with the assignee
    html = http_login(server, "admin").get("/worklist").text
    assert '<th scope="col">负责人</th>' in section(html)


def test_the_tasks_page_by_keyset(server: str, web_store: WebStore) -> None:
    theirs = owned(web_store, "other_sales")
    made = [add(web_store, "other_sales", theirs[i % len(theirs)], 100 + i) for i in range(22)]
    client = http_login(server, "li.na")
    first = section(client.get("/worklist").text)
    shown = [int(i) for i in TASK_ROW.findall(first)]
    assert len(shown) == 20
    nexts = re.findall(r'href="([^"]+)" hx-get="[^"]+" hx-target="#tasks" id="tasks-next"', first)
    assert nexts
    second = client.get(unescape(nexts[0]), headers={"HX-Request": "true"})
    assert second.status_code == 200 and "<html" not in second.text
    rest = [int(i) for i in TASK_ROW.findall(second.text)]
    assert rest and not set(rest) & set(shown)
    assert set(made) <= set(shown) | set(rest) | set(
        int(i) for i in TASK_ROW.findall(client.get("/worklist").text)
    )
    assert 'id="tasks-first"' in second.text
    # a cursor edited by hand is the first page
    edited = client.get("/worklist/tasks?tasks_after=bm9wZQ", headers={"HX-Request": "true"})
    assert [int(i) for i in TASK_ROW.findall(edited.text)] == shown


def test_the_section_in_english(server: str, web_store: WebStore, seeded: dict[str, int]) -> None:
    client = http_login(server, "wang.fang")
    token = csrf_of(client.get("/worklist").text)
    client.post("/lang", data={"lang": "en", "csrf_token": token, "next": "/"})
    html = section(client.get("/worklist").text)
    text = re.sub(r'<[^>]*class="[^"]*data[^"]*"[^>]*>[^<]*<', "<", html)
    assert not re.findall(r"[\u3400-\u9fff]", text_of(text)), text_of(text)
    assert "Overdue by 2 d 2 h" in text_of(html)
    answer = post(client, seeded["soon"], "skip", {"reason": ""})
    assert "Required" in text_of(answer.text)


def test_a_service_agent_works_their_tasks_on_their_own_page(
    server: str, web_store: WebStore
) -> None:
    customer = owned(web_store, "sales")[5]
    task_id = add(web_store, "service", customer, -1, title="工单回访 SERVICE")
    agent = http_login(server, "zhou.xiuying")
    html = agent.get("/tasks").text
    assert task_id in [int(i) for i in TASK_ROW.findall(html)]
    assert "已逾期" in text_of(re.search(rf'<tr id="task-{task_id}".*?</tr>', html, re.S).group(0))
    answer = post(agent, task_id, "done", {"result": "reached"}, htmx=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/tasks#tasks"
    assert task(web_store, task_id)["status"] == "done"
    entry = audit_entries(web_store.engine(), "update", "tasks")[-1]
    assert entry["entity_id"] == str(task_id)
    assert entry["actor_user_id"] == web_store.ids["service"]
    # the page is the service agents'; the others have the worklist
    for username in ("wang.fang", "admin", "gao.peng"):
        assert http_login(server, username).get("/tasks").status_code == 403
    assert 'href="/tasks"' in agent.get("/service").text


# --- in Chromium ---------------------------------------------------------------------------


@pytest.mark.browser
def test_mark_a_task_done_on_the_worklist(browser_page: Watched, web_store: WebStore) -> None:
    from tests.web.test_browser import SHOWN_TEXT, untranslated

    customer = owned(web_store, "sales")[2]
    task_id = add(
        web_store, "sales", customer, -3, title="电话回访 BROWSER", script="先问候,再介绍新品"
    )
    other = add(web_store, "sales", customer, -2, title="Follow-up EN")
    page = browser_page.page
    browser_login(page, "wang.fang")
    page.wait_for_url("**/worklist")
    page.evaluate("() => { window.notReloaded = true; }")
    row = page.locator(f"#task-{task_id}")
    assert "已逾期" in row.inner_text()
    row.locator("details.task-forms summary").click()
    row.locator("select[name=result]").select_option("no_answer")
    row.locator(".task-done-submit").click()
    page.wait_for_selector(f"#task-{task_id}.task-finished")
    assert "已完成: 无人接听" in page.inner_text(f"#task-{task_id}")
    assert page.evaluate("() => window.notReloaded === true")
    assert task(web_store, task_id)["result"] == "no_answer"
    assert not untranslated(page.evaluate(SHOWN_TEXT), "zh_CN")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.locator("#tasks-panel").screenshot(path=str(SHOTS / "worklist-tasks-zh_CN.png"))
    page.click('button[data-lang="en"]')
    page.wait_for_load_state()
    row = page.locator(f"#task-{other}")
    row.locator("details.task-forms summary").click()
    row.locator("input[name=reason]").fill("Asked not to be called")
    assert "Overdue by" in row.inner_text()
    page.locator("#tasks-panel").screenshot(path=str(SHOTS / "worklist-tasks-en.png"))
    row.locator(".task-skip-submit").click()
    page.wait_for_selector(f"#task-{other}.task-finished")
    assert "Skipped" in page.inner_text(f"#task-{other}")
    assert not untranslated(page.evaluate(SHOWN_TEXT), "en")
    browser_page.clean()


@pytest.mark.browser
def test_a_service_agent_skips_a_task_on_their_page(
    browser_page: Watched, web_store: WebStore
) -> None:
    from tests.web.test_browser import SHOWN_TEXT, untranslated

    task_id = add(web_store, "service", owned(web_store, "sales")[6], 3, title="安装回访 AGENT")
    page = browser_page.page
    browser_login(page, "zhou.xiuying", next="/tasks")
    page.wait_for_url("**/tasks")
    row = page.locator(f"#task-{task_id}")
    row.locator("details.task-forms summary").click()
    row.locator("input[name=reason]").fill("客户已在电话中确认")
    assert not untranslated(page.evaluate(SHOWN_TEXT), "zh_CN")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "tasks-zh_CN.png"), full_page=True)
    row.locator(".task-skip-submit").click()
    page.wait_for_selector(f"#task-{task_id}.task-finished")
    assert "已跳过" in page.inner_text(f"#task-{task_id}")
    assert task(web_store, task_id)["skip_reason"] == "客户已在电话中确认"
    page.click('button[data-lang="en"]')
    page.wait_for_load_state()
    assert page.inner_text("h1") == "My tasks"
    assert not untranslated(page.evaluate(SHOWN_TEXT), "en")
    page.screenshot(path=str(SHOTS / "tasks-en.png"), full_page=True)
    browser_page.clean()
