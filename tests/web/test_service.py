"""The 服务 Service page: the ticket queue (overdue first, filters, keyset paging, scope) and a
ticket's page (history, moves, assignment, CSRF, audit), over plain HTTP and in Chromium.

The tests write (moves, assignments), so they run on a copy of the web store with tickets
of their own, served by an application of its own: the session's shared server and store
stay as the other pages' tests expect them.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from rapport.access import CustomerScope, Principal
from rapport.api.app import create_app
from rapport.config import Settings, load_rules
from rapport.domain import AuditAction, Role, TicketKind, TicketPriority, TicketStatus
from rapport.store import schema, tickets, users
from rapport.store.db import create_engine, session_scope
from rapport.web import nav
from tests.helpers import audit_entries, live_server
from tests.web.conftest import (
    CHROMIUM,
    ROLE_USERS,
    Watched,
    WebStore,
    browser_login,
    csrf_of,
    http_login,
    shot,
    watched_page,
)

_t = schema.tickets.c
_c = schema.customers.c
ROW_ID = re.compile(r'data-ticket-id="(\d+)"')
OPEN = [
    s.value for s in (TicketStatus.OPEN, TicketStatus.IN_PROGRESS, TicketStatus.WAITING_CUSTOMER)
]
#: Extra unassigned tickets, so that the queue has more than one page.
BULK = 26


@dataclass(frozen=True)
class Desk:
    """The copied store, its server, the users' ids and the tickets made for the tests."""

    base: str
    engine: sa.Engine
    ids: dict[str, int]  # username -> user id
    t: dict[str, int]  # name -> ticket id
    customers: dict[str, int]  # name -> customer id

    def ticket(self, ticket_id: int) -> dict[str, Any]:
        with self.engine.connect() as conn:
            return dict(
                conn.execute(sa.select(schema.tickets).where(_t.id == ticket_id)).mappings().one()
            )

    def scope(self, username: str) -> CustomerScope:
        with session_scope(self.engine) as session:
            user = users.get_by_username(session=session, username=username)
        return CustomerScope(
            Principal(
                user_id=user["id"],
                username=username,
                role=Role(user["role"]),
                team=user["team"],
                via="test",
            )
        )


def _customer(conn: sa.Connection, condition: Any, busy: set[int]) -> int:
    """A customer matching ``condition`` without an open ticket yet."""
    open_owners = sa.select(_t.customer_id).where(_t.status.in_(OPEN))
    found = conn.execute(
        sa.select(_c.id)
        .where(
            condition, _c.deleted_at.is_(None), _c.id.not_in(open_owners), _c.id.not_in(busy or {0})
        )
        .order_by(_c.id)
        .limit(1)
    ).scalar_one()
    busy.add(found)
    return found


@pytest.fixture(scope="module")
def desk(web_store: WebStore, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:
    root = tmp_path_factory.mktemp("service-desk")
    shutil.copy(web_store.pristine, root / "rapport.db")
    url = f"sqlite:///{root / 'rapport.db'}"
    engine = create_engine(url)
    sla = load_rules().sla
    now = dt.datetime.now(dt.UTC)
    with session_scope(engine) as session:
        ids = {u["username"]: u["id"] for u in users.list_users(session=session)}
        conn = session.connection()
        busy: set[int] = set()
        customers = {
            "sales": _customer(conn, _c.owner_id == ids["wang.fang"], busy),
            "unowned": _customer(conn, _c.owner_id.is_(None), busy),
            # never a ticket of the agent's: outside their scope
            "other": _customer(
                conn,
                sa.and_(
                    _c.owner_id == ids["li.na"],
                    _c.id.not_in(
                        sa.select(_t.customer_id).where(_t.assignee_id == ids["zhou.xiuying"])
                    ),
                ),
                busy,
            ),
            "browser": _customer(conn, _c.owner_id == ids["wang.fang"], busy),
        }

        def make(
            customer: str,
            hours_ago: float,
            priority: str = "normal",
            assignee: str | None = None,
            kind: str = "complaint",
            subject: str = "快递破损",
        ) -> int:
            row = tickets.open_ticket(
                session=session,
                values={
                    "customer_id": customers[customer],
                    "kind": TicketKind(kind),
                    "priority": TicketPriority(priority),
                    "subject": subject,
                    "description": "客户来电反映包裹外箱破损。",
                    "opened_at": now - dt.timedelta(hours=hours_ago),
                    "assignee_id": ids[assignee] if assignee else None,
                    "external_id": f"WEB-SVC-{len(made)}",
                },
                sla=sla,
            )
            return row["id"]

        made: dict[str, int] = {}
        made["late"] = make("sales", 5, "urgent", "zhou.xiuying")  # 3 h past its 2 h target
        made["move_me"] = make("sales", 1, "high", "zhou.xiuying", kind="inquiry")
        made["fresh"] = make("sales", 0.2, "normal", "zhou.xiuying", subject="发票抬头")
        made["not_mine"] = make("sales", 2, "normal")
        made["other"] = make("other", 3, "normal", "wu.hao")
        made["assign_me"] = make("unowned", 1, "low")
        made["browser"] = make("browser", 30, "normal", "zhou.xiuying", subject="退货进度")
        for n in range(BULK):
            made[f"bulk{n}"] = make("unowned", 1 + n / 10, "low", kind="suggestion")
    app = create_app(Settings(_env_file=None, database_url=url, data_dir=root / "data"))
    with live_server(app, lifespan="on") as base:
        yield Desk(base=base, engine=engine, ids=ids, t=made, customers=customers)
    engine.dispose()


def ids_on(html: str) -> list[int]:
    return [int(i) for i in ROW_ID.findall(html)]


def walk(client: httpx.Client, url: str) -> list[int]:
    """Every ticket id of the queue at ``url``, following the next-page links."""
    seen: list[int] = []
    for _ in range(50):
        html = client.get(url).text
        seen += ids_on(html)
        link = re.search(r'<a href="([^"]+)"[^>]*id="next-page"', html)
        if link is None:
            return seen
        url = link.group(1).replace("&amp;", "&")
    raise AssertionError("the queue does not end")


def open_ids(desk: Desk, scope: CustomerScope | None = None) -> set[int]:
    with session_scope(desk.engine) as session:
        stmt = sa.select(_t.id).where(_t.status.in_(OPEN))
        if scope is not None:
            stmt = stmt.where(scope.visible(_t.customer_id))
        return set(session.execute(stmt).scalars())


# --- who may open the page ---------------------------------------------------------------


@pytest.mark.parametrize("role", sorted(ROLE_USERS))
def test_service_managers_and_admins_open_the_page_others_are_refused(
    desk: Desk, role: str
) -> None:
    client = http_login(desk.base, ROLE_USERS[role])
    queue = client.get("/service")
    ticket = client.get(f"/service/tickets/{desk.t['late']}")
    if role in ("service", "manager", "admin"):
        assert queue.status_code == 200 and "服务工单队列" in queue.text
        assert ticket.status_code in (200, 404)  # 404: outside the manager's scope
    else:
        assert queue.status_code == ticket.status_code == 403
        assert "无权访问" in queue.text
    menu = re.search(r"<nav[^>]*>(.*?)</nav>", queue.text, re.S)
    assert menu is not None
    assert ('href="/service"' in menu.group(1)) is (role in ("service", "manager", "admin"))


def test_the_service_agent_lands_on_the_queue(desk: Desk) -> None:
    assert nav.home(Role.SERVICE) == "/service"
    client = http_login(desk.base, "zhou.xiuying")
    assert client.get("/").headers["location"] == "/service"


# --- the queue ---------------------------------------------------------------------------


def test_the_agents_own_tickets_overdue_first_marked_in_words(desk: Desk) -> None:
    client = http_login(desk.base, "zhou.xiuying")
    html = client.get("/service").text  # an agent's queue opens on their own tickets
    mine = ids_on(html)
    t = desk.t
    assert mine == [t["browser"], t["late"], t["move_me"], t["fresh"]]
    rows = dict(re.findall(r'<tr data-ticket-id="(\d+)"(.*?)</tr>', html, re.S))
    for overdue in (t["browser"], t["late"]):
        row = rows[str(overdue)]
        assert 'class="overdue"' in row and "⚠" in row and "已超时" in row
    for fine in (t["move_me"], t["fresh"]):
        assert "已超时" not in rows[str(fine)] and "剩余" in rows[str(fine)]
    late = rows[str(t["late"])]
    assert "紧急" in late and "首次响应" in late and "已超时 3小时" in late
    assert "共 4 张未结工单,其中 2 张已超时" in html


def _numbered(text: str, number: int) -> str:
    """``text`` with ``number`` written as a whole number (not within a word or a longer
    number) replaced by ``N``."""
    return re.sub(rf"(?<![\w-]){number}(?![\w-])", "N", text)


def test_a_service_agent_sees_the_tickets_of_their_customers_only(desk: Desk) -> None:
    client = http_login(desk.base, "zhou.xiuying")
    seen = set(walk(client, "/service?assignee=all"))
    assert seen == open_ids(desk, desk.scope("zhou.xiuying"))
    assert desk.t["not_mine"] in seen and desk.t["other"] not in seen
    hidden = client.get(f"/service/tickets/{desk.t['other']}")
    missing = client.get("/service/tickets/99999999")
    assert hidden.status_code == missing.status_code == 404
    # the pages differ by the number asked for alone (as a whole number: the session's
    # random token in the page may hold the same digits)
    assert _numbered(hidden.text, desk.t["other"]) == _numbered(missing.text, 99999999)
    assert client.get("/service/tickets/abc").status_code == 404


def test_a_manager_pages_through_the_tickets_of_their_scope(desk: Desk) -> None:
    client = http_login(desk.base, "lin.hui")
    seen = walk(client, "/service")
    expected = open_ids(desk, desk.scope("lin.hui"))
    assert len(seen) == len(set(seen)) == len(expected) > 25  # more than one page, once each
    assert set(seen) == expected
    assert desk.t["assign_me"] in seen and desk.t["other"] not in seen
    # the order: overdue first, then the soonest due
    with session_scope(desk.engine) as session:
        due = {
            r.id: (r.resolution_due_at if r.first_response_at else r.first_response_due_at)
            for r in session.execute(sa.select(schema.tickets).where(_t.id.in_(seen)))
        }
    times = [due[i] for i in seen]
    assert times == sorted(times)


def test_an_admin_sees_every_open_ticket_once(desk: Desk) -> None:
    client = http_login(desk.base, "admin")
    seen = walk(client, "/service")
    assert len(seen) == len(set(seen))
    assert set(seen) == open_ids(desk)


def test_filters_stay_in_the_url_and_htmx_gets_only_the_queue(desk: Desk) -> None:
    client = http_login(desk.base, "admin")
    urgent = client.get("/service", params={"priority": "urgent"}).text
    assert ids_on(urgent) == [desk.t["late"]]
    suggestions = walk(client, "/service?kind=suggestion&assignee=unassigned")
    assert set(suggestions) == {desk.t[f"bulk{n}"] for n in range(BULK)}
    partial = client.get(
        "/service",
        params={"assignee": "unassigned", "kind": "suggestion"},
        headers={"HX-Request": "true"},
    )
    assert "<html" not in partial.text and 'id="queue-table"' in partial.text
    # the next page keeps the filters, and so does the refresh of the clocks
    refresh = re.search(
        r'<a href="([^"]+)" hx-get="[^"]+" hx-target="#queue" id="refresh"', partial.text
    )
    assert refresh is not None
    assert "assignee=unassigned" in refresh.group(1) and "kind=suggestion" in refresh.group(1)
    # nothing polls: a page left open lets the session expire when idle
    assert "every " not in partial.text
    # unknown values are ignored, never an error
    odd = client.get("/service", params={"priority": "x", "status": "closed", "after": "zz"})
    assert odd.status_code == 200
    in_progress = client.get("/service", params={"status": "in_progress"}).text
    assert all(desk.ticket(i)["status"] == TicketStatus.IN_PROGRESS for i in ids_on(in_progress))


def test_reads_of_the_queue_and_a_ticket_are_audited(desk: Desk) -> None:
    client = http_login(desk.base, "admin")
    before = len(audit_entries(desk.engine, AuditAction.READ_PII, "tickets"))
    listed = ids_on(client.get("/service").text)
    client.get(f"/service/tickets/{desk.t['late']}")
    entries = audit_entries(desk.engine, AuditAction.READ_PII, "tickets")[before:]
    assert [e["detail"]["route"] for e in entries] == ["web.queue", "web.ticket"]
    assert entries[0]["detail"] == {
        "via": "web",
        "route": "web.queue",
        "count": len(listed),
        "ids": listed,
    }
    assert entries[1]["detail"] == {"via": "web", "route": "web.ticket", "count": 1}
    assert str(entries[1]["entity_id"]) == str(desk.t["late"])
    assert {e["actor_user_id"] for e in entries} == {desk.ids["admin"]}


# --- a ticket's page and its actions ------------------------------------------------------


def test_the_ticket_page_shows_the_ticket_its_history_and_the_customer(desk: Desk) -> None:
    client = http_login(desk.base, "zhou.xiuying")
    html = client.get(f"/service/tickets/{desk.t['late']}").text
    assert f"工单 #{desk.t['late']}" in html and "快递破损" in html
    assert f'href="/customers/{desk.customers["sales"]}"' in html
    assert "客户来电反映包裹外箱破损。" in html and "已超时" in html
    history = re.search(r'<table class="compact" id="ticket-history">(.*?)</table>', html, re.S)
    assert history is not None and "创建为 待处理" in history.group(1)
    # the moves the workflow allows from open, and no assignment for an agent
    options = re.findall(r'<select id="move-to".*?</select>', html, re.S)[0]
    assert re.findall(r'value="(\w+)"', options) == [
        "in_progress",
        "waiting_customer",
        "resolved",
        "closed",
    ]
    assert 'id="assign-form"' not in html


def _post(client: httpx.Client, url: str, data: dict[str, str], *, htmx: bool) -> httpx.Response:
    token = csrf_of(client.get("/service").text)
    if htmx:
        return client.post(url, data=data, headers={"HX-Request": "true", "X-CSRF-Token": token})
    return client.post(url, data={**data, "csrf_token": token})


def test_an_agent_moves_their_ticket_audited_as_the_api_does(desk: Desk) -> None:
    client = http_login(desk.base, "zhou.xiuying")
    ticket_id = desk.t["move_me"]
    url = f"/service/tickets/{ticket_id}/transition"
    before = len(audit_entries(desk.engine, AuditAction.UPDATE, "tickets"))
    moved = _post(client, url, {"to": "in_progress", "note": "已致电客户,安排补发"}, htmx=True)
    assert moved.status_code == 200 and "<html" not in moved.text
    assert "状态已变更为 处理中" in moved.text and 'id="ticket-status">处理中' in moved.text
    row = desk.ticket(ticket_id)
    assert row["status"] == TicketStatus.IN_PROGRESS and row["first_response_at"] is not None
    with session_scope(desk.engine) as session:
        last = tickets.history(session=session, ticket_id=ticket_id)[-1]
    assert last["note"] == "已致电客户,安排补发" and last["changed_by"] == desk.ids["zhou.xiuying"]
    entries = audit_entries(desk.engine, AuditAction.UPDATE, "tickets")[before:]
    assert len(entries) == 1
    assert entries[0]["detail"] == {
        "via": "web",
        "fields": ["status"],
        "to": "in_progress",
        "route": "transition",
    }
    assert entries[0]["actor_user_id"] == desk.ids["zhou.xiuying"]
    # a move the workflow refuses: the ticket stays, the answer says why
    refused = _post(client, url, {"to": "open"}, htmx=True)
    assert refused.status_code == 200 and "无法变更" in refused.text and "处理中" in refused.text
    plain = _post(client, url, {"to": "open"}, htmx=False)
    assert plain.status_code == 409 and 'id="ticket-error"' in plain.text
    assert desk.ticket(ticket_id)["status"] == TicketStatus.IN_PROGRESS
    assert len(audit_entries(desk.engine, AuditAction.UPDATE, "tickets")) == before + 1
    # a plain form (no JavaScript) is redirected to the ticket after the move
    done = _post(client, url, {"to": "waiting_customer"}, htmx=False)
    assert done.status_code == 303 and done.headers["location"] == f"/service/tickets/{ticket_id}"
    assert desk.ticket(ticket_id)["status"] == TicketStatus.WAITING_CUSTOMER


def test_an_agent_may_not_move_a_ticket_assigned_to_nobody_or_another(desk: Desk) -> None:
    client = http_login(desk.base, "zhou.xiuying")
    ticket_id = desk.t["not_mine"]
    page = client.get(f"/service/tickets/{ticket_id}").text
    assert 'id="move-form"' not in page and "只能变更分配给您的工单" in page
    refused = _post(
        client, f"/service/tickets/{ticket_id}/transition", {"to": "resolved"}, htmx=False
    )
    assert refused.status_code == 403
    assert desk.ticket(ticket_id)["status"] == TicketStatus.OPEN
    outside = _post(
        client, f"/service/tickets/{desk.t['other']}/transition", {"to": "resolved"}, htmx=False
    )
    assert outside.status_code == 404
    assert desk.ticket(desk.t["other"])["status"] == TicketStatus.OPEN


def test_writes_without_the_csrf_token_are_refused(desk: Desk) -> None:
    client = http_login(desk.base, "admin")
    ticket_id = desk.t["fresh"]
    moved = client.post(f"/service/tickets/{ticket_id}/transition", data={"to": "resolved"})
    assigned = client.post(
        f"/service/tickets/{ticket_id}/assign", data={"assignee_id": str(desk.ids["admin"])}
    )
    assert moved.status_code == assigned.status_code == 403
    row = desk.ticket(ticket_id)
    assert row["status"] == TicketStatus.OPEN and row["assignee_id"] == desk.ids["zhou.xiuying"]


def test_a_manager_assigns_audited_as_the_api_does(desk: Desk) -> None:
    client = http_login(desk.base, "lin.hui")
    ticket_id = desk.t["assign_me"]
    page = client.get(f"/service/tickets/{ticket_id}").text
    choices = re.findall(r'<select id="assign-to".*?</select>', page, re.S)[0]
    offered = {int(i) for i in re.findall(r'value="(\d+)"', choices)}
    assert desk.ids["zhou.xiuying"] in offered and desk.ids["gao.peng"] not in offered
    url = f"/service/tickets/{ticket_id}/assign"
    before = len(audit_entries(desk.engine, AuditAction.UPDATE, "tickets"))
    done = _post(client, url, {"assignee_id": str(desk.ids["zhou.xiuying"])}, htmx=True)
    assert done.status_code == 200 and "已分配给 周秀英" in done.text
    assert desk.ticket(ticket_id)["assignee_id"] == desk.ids["zhou.xiuying"]
    again = _post(client, url, {"assignee_id": str(desk.ids["zhou.xiuying"])}, htmx=True)
    assert "处理人未变" in again.text
    entries = audit_entries(desk.engine, AuditAction.UPDATE, "tickets")[before:]
    assert [e["detail"] for e in entries] == [{"via": "web", "fields": ["assignee_id"]}]
    # an analyst is no assignee; the ticket stays with the agent
    refused = _post(client, url, {"assignee_id": str(desk.ids["gao.peng"])}, htmx=False)
    assert refused.status_code == 422 and "没有这个可分配的员工" in refused.text
    assert desk.ticket(ticket_id)["assignee_id"] == desk.ids["zhou.xiuying"]
    # a ticket outside the manager's scope is as missing
    outside = _post(
        client, f"/service/tickets/{desk.t['other']}/assign", {"assignee_id": ""}, htmx=False
    )
    assert outside.status_code == 404
    # an agent may not assign (as in the API)
    agent = http_login(desk.base, "zhou.xiuying")
    assert _post(agent, url, {"assignee_id": ""}, htmx=False).status_code == 403
    assert desk.ticket(ticket_id)["assignee_id"] == desk.ids["zhou.xiuying"]


def test_the_page_in_english(desk: Desk) -> None:
    client = http_login(desk.base, "zhou.xiuying")
    token = csrf_of(client.get("/service").text)
    client.post("/lang", data={"lang": "en", "next": "/service", "csrf_token": token})
    html = client.get("/service").text
    assert "Service ticket queue" in html and "Overdue by" in html and "First response" in html
    ticket = client.get(f"/service/tickets/{desk.t['late']}").text
    assert "Status history" in ticket and "Opened as Open" in ticket


# --- in the browser ------------------------------------------------------------------------


@pytest.fixture
def desk_page(chromium: Any, desk: Desk) -> Iterator[Watched]:
    with watched_page(chromium, desk.base) as watched:
        yield watched


@pytest.mark.browser
def test_the_queue_and_a_move_in_the_browser_in_both_languages(
    desk_page: Watched, desk: Desk
) -> None:
    from tests.web.test_browser import SHOWN_TEXT, untranslated

    assert Path(CHROMIUM).exists()
    page = desk_page.page
    browser_login(page, "zhou.xiuying")
    page.wait_for_url("**/service")
    assert page.inner_text("h1") == "服务工单队列"
    first = page.locator("tr[data-ticket-id]").first
    assert first.get_attribute("data-ticket-id") == str(desk.t["browser"])
    assert "已超时" in first.inner_text()
    assert not untranslated(page.evaluate(SHOWN_TEXT), "zh_CN")
    shot(page, "service-zh_CN")
    # a filter swaps the queue in place and keeps itself in the address
    page.select_option("#priority", "urgent")
    page.wait_for_url("**/service?*priority=urgent*")
    page.wait_for_function("() => document.querySelectorAll('tr[data-ticket-id]').length === 1")
    # the ticket's page: move it through HTMX, with a note
    page.goto(f"/service/tickets/{desk.t['browser']}")
    page.select_option("#move-to", "in_progress")
    page.fill("#move-note", "已联系物流")
    page.click("#move-submit")
    page.wait_for_selector("#ticket-message")
    assert page.inner_text("#ticket-status") == "处理中"
    assert "已联系物流" in page.inner_text("#ticket-history")
    assert not untranslated(page.evaluate(SHOWN_TEXT), "zh_CN")
    shot(page, "service-ticket-zh_CN")
    # English
    page.click('button[data-lang="en"]')
    page.wait_for_selector("html[lang=en]")
    assert page.inner_text("h1").startswith(f"Ticket #{desk.t['browser']}")
    assert not untranslated(page.evaluate(SHOWN_TEXT), "en")
    shot(page, "service-ticket-en")
    page.goto("/service")
    assert page.inner_text("h1") == "Service ticket queue"
    assert not untranslated(page.evaluate(SHOWN_TEXT), "en")
    shot(page, "service-en")
    # phone width: the page still works (the table scrolls in its frame)
    page.set_viewport_size({"width": 390, "height": 800})
    page.goto("/service")
    assert page.locator("#queue-table").is_visible()
    shot(page, "service-phone")
    desk_page.clean()


def test_a_priority_a_loyalty_tier_raised_is_said_in_the_users_language(desk: Desk) -> None:
    from decimal import Decimal

    from rapport.i18n.enums import label
    from rapport.store.loyalty import TIER_NAMES

    now = dt.datetime.now(dt.UTC)
    tiers = schema.loyalty_member_tiers
    with session_scope(desk.engine) as session:
        conn = session.connection()
        member = _customer(conn, _c.owner_id.is_(None), set(desk.customers.values()))
        conn.execute(sa.delete(tiers).where(tiers.c.customer_id == member))
        conn.execute(
            sa.insert(tiers).values(
                customer_id=member,
                tier="platinum",
                since=now.date(),
                review_on=now.date() + dt.timedelta(days=90),
                basis_value=Decimal("0"),
                evaluated_at=now,
            )
        )
        row = tickets.open_ticket(
            session=session,
            values={
                "customer_id": member,
                "kind": TicketKind.INQUIRY,
                "priority": TicketPriority.LOW,
                "opened_at": now - dt.timedelta(hours=1),
                "external_id": "WEB-SVC-TIER",
            },
        )
        # closed at once: the queues the other tests count stay as they were
        tickets.transition(
            session=session, ticket_id=row["id"], to_status=TicketStatus.CLOSED, at=now
        )
    assert row["priority"] == TicketPriority.URGENT
    client = http_login(desk.base, ROLE_USERS["admin"])
    html = client.get(f"/service/tickets/{row['id']}").text
    history = re.search(r'<table class="compact" id="ticket-history">(.*?)</table>', html, re.S)
    assert history is not None
    low, urgent = TicketPriority.LOW, TicketPriority.URGENT
    said = f"会员等级 {TIER_NAMES['platinum'][0]}：优先级由 {label(low)} 提升为 {label(urgent)}"
    assert said in history.group(1)
    token = csrf_of(client.get("/service").text)
    client.post("/lang", data={"lang": "en", "next": "/service", "csrf_token": token})
    english = client.get(f"/service/tickets/{row['id']}").text
    said = (
        f"Loyalty tier {TIER_NAMES['platinum'][1]}: priority raised from "
        f"{label(low, 'en')} to {label(urgent, 'en')}"
    )
    assert said in english
