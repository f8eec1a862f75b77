"""Downloads of the workspace's tables (``/exports/<table>.csv|xlsx``): for the customers
list, the diamonds and the service queue, the CSV parses and the XLSX opens, the rows are
those of the page's product function for the same user and query (the whole list, not the
page on screen), a sales user gets only their customers, an analyst's file is masked as the
screen, a customer named like a formula is text in both formats, the headings follow the
language, a list longer than the limit says it was cut, and downloads are audited. In
Chromium: an export link and a chart's "save as image" each give a download.

The tests write a formula into a customer's name and a ticket's subject, so they run on a
copy of the web store served by an application of their own.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import httpx
import pytest
import sqlalchemy as sa
from openpyxl import load_workbook
from sqlalchemy.orm import Session

from rapport.access import CustomerScope, Principal
from rapport.api.app import create_app
from rapport.config import Settings, load_rules
from rapport.domain import AuditAction, ValueTier
from rapport.ingest.spreadsheet import neutralise
from rapport.masking import mask_customer
from rapport.reports import analysis as distributions
from rapport.reports import overview as overview_figures
from rapport.reports import service_queue, snapshots
from rapport.reports import worklist as work
from rapport.reports.movers import previous_snapshot, tier_movers
from rapport.reports.prepared import latest_snapshot
from rapport.reports.service_queue import OPEN_STATUSES, QueueQuery
from rapport.store import schema
from rapport.store.db import create_engine
from rapport.store.repository import utcnow
from rapport.web.customer_list import CustomerQuery, list_customers
from rapport.web.i18n import text
from rapport.web.views import exports
from tests.helpers import audit_entries, live_server
from tests.web.conftest import Watched, WebStore, browser_login, http_login, watched_page

_c = schema.customers.c
_t = schema.tickets.c
FORMULA_NAME = '=HYPERLINK("http://evil.example/","点这里")'
FORMULA_SUBJECT = "@SUM(1+1)\tcmd"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass(frozen=True)
class Site:
    base: str
    url: str
    store: WebStore
    formula_id: int  # the customer named FORMULA_NAME, a diamond made the sales user's
    ticket_id: int  # the open ticket whose subject is FORMULA_SUBJECT

    def session(self) -> Session:
        return Session(create_engine(self.url))

    def principal(self, key: str) -> Principal:
        return self.store.principal(key)


@pytest.fixture(scope="module")
def site(web_store: WebStore, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    root = tmp_path_factory.mktemp("exports")
    shutil.copy(web_store.pristine, root / "rapport.db")
    url = f"sqlite:///{root / 'rapport.db'}"
    engine = create_engine(url)
    sales = web_store.ids["sales"]
    s = schema.customer_scores.c
    with engine.begin() as conn:
        as_of = conn.execute(sa.select(sa.func.max(s.as_of))).scalar_one()
        target = conn.execute(
            sa.select(s.customer_id)
            .where(s.as_of == as_of, s.value_tier == ValueTier.DIAMOND)
            .order_by(s.customer_id)
            .limit(1)
        ).scalar_one()
        conn.execute(
            sa.update(schema.customers)
            .where(_c.id == target)
            .values(name=FORMULA_NAME, owner_id=sales)
        )
        ticket = conn.execute(
            sa.select(_t.id).where(_t.status.in_(OPEN_STATUSES)).order_by(_t.id).limit(1)
        ).scalar_one()
        conn.execute(
            sa.update(schema.tickets).where(_t.id == ticket).values(subject=FORMULA_SUBJECT)
        )
    engine.dispose()
    app = create_app(Settings(_env_file=None, database_url=url, data_dir=root / "data"))
    with live_server(app, lifespan="on") as base:
        yield Site(base=base, url=url, store=web_store, formula_id=target, ticket_id=ticket)


@pytest.fixture(scope="module")
def clients(site: Site) -> Iterator[dict[str, httpx.Client]]:
    found = {
        key: http_login(site.base, username)
        for key, username in {
            "admin": "admin",
            "manager": "lin.hui",
            "sales": "wang.fang",
            "service": "zhou.xiuying",
            "analyst": "gao.peng",
        }.items()
    }
    yield found
    for client in found.values():
        client.close()


def parse_csv(answer: httpx.Response) -> list[list[str]]:
    assert answer.status_code == 200, answer.text[:300]
    assert answer.headers["content-type"].startswith("text/csv")
    assert answer.content.startswith(b"\xef\xbb\xbf"), "no byte-order mark"
    return list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig"))))


def parse_xlsx(answer: httpx.Response) -> list[list[Any]]:
    assert answer.status_code == 200, answer.text[:300]
    assert answer.headers["content-type"] == XLSX
    book = load_workbook(io.BytesIO(answer.content))
    return [list(r) for r in book.active.iter_rows(values_only=True)]


def both(client: httpx.Client, table: str, query: str = "") -> tuple[list[list[Any]], ...]:
    """The CSV's rows and the XLSX's rows of ``table`` for the same query."""
    suffix = f"?{query}" if query else ""
    return (
        parse_csv(client.get(f"/exports/{table}.csv{suffix}")),
        parse_xlsx(client.get(f"/exports/{table}.xlsx{suffix}")),
    )


# --- what the pages' product functions return -----------------------------------------------


def customers_of(site: Site, key: str, query: CustomerQuery | None = None) -> list[dict]:
    """Every customer the customers page lists for ``key`` (page after page), as shown."""
    scope = CustomerScope(site.principal(key))
    query = replace(query or CustomerQuery(), limit=100)
    rows: list[dict[str, Any]] = []
    with site.session() as session:
        while True:
            page = list_customers(session=session, scope=scope, query=query)
            rows += [mask_customer(r) if scope.masked else r for r in page.rows]
            if page.next_cursor is None:
                return rows
            query = replace(query, after=page.next_cursor)


def diamonds_of(site: Site, key: str) -> list[dict[str, Any]]:
    rules = load_rules(site.store.settings)
    with site.session() as session:
        day = latest_snapshot(session)
        return snapshots.diamonds(
            session,
            day=day,
            rules=rules,
            locale="zh_CN",
            limit=100_000,
            scope=CustomerScope(site.principal(key)),
            order="churn_risk",
        ).rows


def queue_of(site: Site, key: str) -> list[dict[str, Any]]:
    user = site.principal(key)
    query = QueueQuery(assignee="all", limit=500)
    rows: list[dict[str, Any]] = []
    with site.session() as session:
        while True:
            page = service_queue.ticket_queue(
                session=session, scope=CustomerScope(user), query=query, now=utcnow()
            )
            rows += page.rows
            if page.next_cursor is None:
                return rows
            query = replace(query, after=page.next_cursor)


def column(rows: list[list[Any]], heading: str) -> list[Any]:
    index = rows[0].index(heading)
    return [r[index] for r in rows[1:]]


def zh(key: str) -> str:
    return text(key, "zh_CN")


# --- the customers list --------------------------------------------------------------------


def test_the_customer_export_is_the_whole_list_the_page_shows(
    site: Site, clients: dict[str, httpx.Client]
) -> None:
    expected = customers_of(site, "admin")
    assert len(expected) > 25, "the export must hold more than the page on screen"
    csv_rows, xlsx_rows = both(clients["admin"], "customers")
    for rows in (csv_rows, xlsx_rows):
        assert rows[0][:3] == [zh("column.id"), zh("column.name"), zh("column.external_id")]
        assert [int(v) for v in column(rows, zh("column.id"))] == [r["id"] for r in expected]
    names = [r["name"] or None for r in expected]
    assert column(xlsx_rows, zh("column.name")) == [
        "'" + n if n == FORMULA_NAME else n for n in names
    ]
    # the page's first rows are the file's first rows
    page = clients["admin"].get("/customers").text
    first = [int(v) for v in column(csv_rows, zh("column.id"))[:25]]
    assert all(f'data-customer-id="{i}"' in page for i in first)
    # numbers are numbers in the workbook, text labels as on screen
    clv = [v for v in column(xlsx_rows, zh("column.predicted_clv")) if v is not None]
    assert clv and all(isinstance(v, float) for v in clv)
    tiers = {v for v in column(xlsx_rows, zh("column.value_tier")) if v}
    assert tiers and not tiers & {t.value for t in ValueTier}, tiers


def test_the_customer_export_keeps_the_filters_and_the_sort(
    site: Site, clients: dict[str, httpx.Client]
) -> None:
    query = CustomerQuery(tier=ValueTier.GOLD, sort="churn_risk")
    expected = [r["id"] for r in customers_of(site, "admin", query)]
    assert expected
    csv_rows, xlsx_rows = both(clients["admin"], "customers", "tier=gold&sort=churn_risk&after=x")
    assert [int(v) for v in column(csv_rows, zh("column.id"))] == expected
    assert column(xlsx_rows, zh("column.id")) == expected
    page = clients["admin"].get("/customers?tier=gold&sort=churn_risk").text
    assert "/exports/customers.csv?tier=gold&amp;sort=churn_risk" in page


def test_a_sales_user_exports_only_their_customers(
    site: Site, clients: dict[str, httpx.Client]
) -> None:
    sales = site.store.ids["sales"]
    with site.session() as session:
        own = session.execute(
            sa.select(_c.id).where(_c.owner_id == sales, _c.deleted_at.is_(None)).order_by(_c.id)
        ).scalars()
        own_ids = list(own)
    rows = parse_csv(clients["sales"].get("/exports/customers.csv"))
    assert [int(v) for v in column(rows, zh("column.id"))] == own_ids
    assert [r["id"] for r in customers_of(site, "sales")] == own_ids


def test_a_managers_export_is_their_teams_and_the_unowned_customers_in_id_order(
    site: Site, clients: dict[str, httpx.Client]
) -> None:
    # the manager's list merges the owner ranges of their scope; the download reads its
    # pages the same way, so both are exactly the scope's customers by id
    manager = site.principal("manager")
    u = schema.users.c
    with site.session() as session:
        team = (
            [manager.user_id]
            if manager.team is None
            else session.execute(sa.select(u.id).where(u.team == manager.team)).scalars().all()
        )
        in_scope = session.execute(
            sa.select(_c.id)
            .where(
                sa.or_(_c.owner_id.is_(None), _c.owner_id.in_(team)),
                _c.deleted_at.is_(None),
            )
            .order_by(_c.id)
        ).scalars()
        expected = list(in_scope)
        assert len(CustomerScope(manager).owner_ranges(session) or []) >= 2
    csv_rows, xlsx_rows = both(clients["manager"], "customers")
    assert [int(v) for v in column(csv_rows, zh("column.id"))] == expected
    assert column(xlsx_rows, zh("column.id")) == expected
    assert [r["id"] for r in customers_of(site, "manager")] == expected


def test_an_analysts_export_is_masked_as_the_screen_and_not_audited(
    site: Site, clients: dict[str, httpx.Client]
) -> None:
    expected = customers_of(site, "analyst")
    before = len(audit_entries(create_engine(site.url), AuditAction.EXPORT))
    csv_rows, xlsx_rows = both(clients["analyst"], "customers")
    for rows in (csv_rows, xlsx_rows):
        names = [v or None for v in column(rows, zh("column.name"))]
        assert names == [r["name"] and neutralise(r["name"]) for r in expected]
        numbers = [v or None for v in column(rows, zh("column.external_id"))]
        assert numbers == [r["external_id"] and neutralise(r["external_id"]) for r in expected]
    with site.session() as session:
        stored = session.execute(sa.select(_c.name).where(_c.id == expected[0]["id"])).scalar()
    assert stored and stored not in column(csv_rows, zh("column.name"))
    assert len(audit_entries(create_engine(site.url), AuditAction.EXPORT)) == before


def test_a_formula_in_a_name_is_text_in_both_formats(
    site: Site, clients: dict[str, httpx.Client]
) -> None:
    csv_rows, _ = both(clients["admin"], "customers")
    answer = clients["admin"].get("/exports/customers.xlsx")
    sheet = load_workbook(io.BytesIO(answer.content)).active
    ids = column(csv_rows, zh("column.id"))
    at = ids.index(str(site.formula_id))
    assert csv_rows[at + 1][1] == "'" + FORMULA_NAME
    cell = sheet.cell(row=at + 2, column=2)
    assert cell.value == "'" + FORMULA_NAME
    assert cell.data_type == "s", "a formula cell in the workbook"
    # no cell of either file is a formula
    assert not any(c.data_type == "f" for row in sheet.iter_rows() for c in row)


def test_headings_and_labels_follow_the_language(
    site: Site, clients: dict[str, httpx.Client]
) -> None:
    client = http_login(site.base, "admin")
    try:
        client.post(
            "/lang",
            data={"lang": "en", "next": "/customers", "csrf_token": _csrf(client)},
        )
        csv_rows, xlsx_rows = both(client, "customers")
        name = client.get("/exports/customers.csv").headers["content-disposition"]
    finally:
        client.close()
    english = [text(k, "en") for k in ("column.id", "column.name", "column.value_tier")]
    for rows in (csv_rows, xlsx_rows):
        assert [rows[0][0], rows[0][1], rows[0][5]] == english
    labels = {v for v in column(csv_rows, text("column.value_tier", "en")) if v}
    chinese = {v for v in column(parse_csv(clients["admin"].get("/exports/customers.csv")),
                                 zh("column.value_tier")) if v}  # fmt: skip
    assert labels and all(v.isascii() for v in labels) and not labels & chinese
    assert "Customers" in name
    header = clients["admin"].get("/exports/customers.csv").headers["content-disposition"]
    today = dt.datetime.now(site.store.settings.tz).date().isoformat()
    assert header.startswith(f'attachment; filename="rapport-__-{today}.csv"'), header
    assert unquote(header.split("filename*=UTF-8''", 1)[1]) == f"rapport-客户-{today}.csv"


def _csrf(client: httpx.Client) -> str:
    from tests.web.conftest import csrf_of

    return csrf_of(client.get("/customers").text)


def test_a_list_longer_than_the_limit_ends_with_the_notice_and_the_audit_says_so(
    site: Site, clients: dict[str, httpx.Client], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(exports, "ROW_LIMIT", 30)
    expected = [r["id"] for r in customers_of(site, "admin")][:30]
    csv_rows, xlsx_rows = both(clients["admin"], "customers")
    notice = zh("exports.cut").format(count="30")
    for rows in (csv_rows, xlsx_rows):
        assert len(rows) == 1 + 30 + 1
        assert [int(r[0]) for r in rows[1:31]] == expected
        assert rows[-1][0] == notice
    entry = audit_entries(create_engine(site.url), AuditAction.EXPORT, "customers")[-1]
    assert entry["detail"]["cut"] is True
    assert entry["detail"]["count"] == 30
    assert entry["detail"]["ids"] == expected


def test_an_unmasked_export_is_audited_with_the_ids_sent(
    site: Site, clients: dict[str, httpx.Client]
) -> None:
    engine = create_engine(site.url)
    before = len(audit_entries(engine, AuditAction.EXPORT))
    rows = parse_csv(clients["sales"].get("/exports/customers.csv"))
    entries = audit_entries(engine, AuditAction.EXPORT)
    assert len(entries) == before + 1
    entry = entries[-1]
    ids = [int(v) for v in column(rows, zh("column.id"))]
    assert entry["entity"] == "customers"
    assert entry["actor_user_id"] == site.store.ids["sales"]
    assert entry["detail"] == {
        "via": "web",
        "route": "web.export.customers",
        "format": "csv",
        "count": len(ids),
        "ids": ids[:500],
    }


# --- the diamonds --------------------------------------------------------------------------


def test_the_diamond_export_is_every_diamond_by_churn_risk(
    site: Site, clients: dict[str, httpx.Client]
) -> None:
    for key in ("admin", "sales", "analyst"):
        expected = diamonds_of(site, key)
        assert expected, key
        csv_rows, xlsx_rows = both(clients[key], "diamonds")
        for rows in (csv_rows, xlsx_rows):
            ids = [int(v) for v in column(rows, zh("column.id"))]
            assert ids == [r["customer_id"] for r in expected], key
            names = [v or None for v in column(rows, zh("diamonds.customer"))]
            shown = [r["name"] and neutralise(r["name"]) for r in expected]
            assert names == shown, key
        reasons = column(csv_rows, zh("diamonds.why"))
        assert reasons[0] == "; ".join(expected[0]["reasons"])
    analyst = column(parse_csv(clients["analyst"].get("/exports/diamonds.csv")), zh("column.id"))
    assert str(site.formula_id) in analyst
    masked = parse_csv(clients["analyst"].get("/exports/diamonds.csv"))
    at = column(masked, zh("column.id")).index(str(site.formula_id))
    assert column(masked, zh("diamonds.customer"))[at] != "'" + FORMULA_NAME


def test_roles_the_page_refuses_are_refused_the_download(
    clients: dict[str, httpx.Client],
) -> None:
    assert clients["service"].get("/exports/diamonds.csv").status_code == 403
    assert clients["sales"].get("/exports/service.xlsx").status_code == 403
    assert clients["analyst"].get("/exports/service.csv").status_code == 403
    assert clients["admin"].get("/exports/nothing.csv").status_code == 404
    assert clients["admin"].get("/exports/customers.pdf").status_code == 404
    anonymous = httpx.get(str(clients["admin"].base_url) + "/exports/customers.csv")
    assert anonymous.status_code == 303 and "/login" in anonymous.headers["location"]


# --- the service queue ---------------------------------------------------------------------


def test_the_queue_export_is_the_queue_with_a_formula_subject_neutralised(
    site: Site, clients: dict[str, httpx.Client]
) -> None:
    expected = queue_of(site, "admin")
    assert expected
    csv_rows, xlsx_rows = both(clients["admin"], "service", "assignee=all")
    for rows in (csv_rows, xlsx_rows):
        ids = [int(v) for v in column(rows, zh("service.col_ticket"))]
        assert ids == [r["id"] for r in expected]
        at = ids.index(site.ticket_id)
        assert column(rows, zh("service.col_subject"))[at] == "'" + FORMULA_SUBJECT
    entry = audit_entries(create_engine(site.url), AuditAction.EXPORT, "tickets")[-1]
    assert entry["detail"]["route"] == "web.export.service"
    assert entry["detail"]["count"] == len(expected)


# --- in Chromium ---------------------------------------------------------------------------


@pytest.fixture
def page(chromium: Any, site: Site) -> Iterator[Watched]:
    with watched_page(chromium, site.base) as watched:
        yield watched


@pytest.mark.browser
def test_an_export_link_and_a_charts_save_as_image_download(page: Watched, site: Site) -> None:
    browser_login(page.page, "admin", next="/customers?tier=gold")
    page.page.wait_for_selector("a.export-link[data-format='xlsx']")
    with page.page.expect_download() as info:
        page.page.click("a.export-link[data-format='xlsx']")
    download = info.value
    assert download.suggested_filename.startswith("rapport-客户-")
    assert download.suggested_filename.endswith(".xlsx")
    rows = [
        list(r)
        for r in load_workbook(io.BytesIO(Path(download.path()).read_bytes())).active.iter_rows(
            values_only=True
        )
    ]
    expected = [r["id"] for r in customers_of(site, "admin", CustomerQuery(tier=ValueTier.GOLD))]
    assert [r[0] for r in rows[1:]] == expected
    # the card's radar: the save button in the chart's top right corner (web.js puts the
    # toolbox 4 px from the right and pads it by 6 px; the icon is 14 px)
    page.page.goto(f"{site.base}/customers/{expected[0]}")
    chart = page.page.locator("#radar")
    chart.wait_for()
    page.page.wait_for_function("document.querySelector('#radar canvas') !== null")
    title = page.page.evaluate(
        "echarts.getInstanceByDom(document.querySelector('#radar'))"
        ".getOption().toolbox[0].feature.saveAsImage.title"
    )
    assert title == zh("exports.save_image")
    box = chart.bounding_box()
    assert box is not None
    with page.page.expect_download() as image:
        page.page.mouse.click(box["x"] + box["width"] - 4 - 6 - 7, box["y"] + 6 + 7)
    saved = image.value
    assert saved.suggested_filename == "rapport-" + zh("card.degrees_radar") + ".png"
    assert Path(saved.path()).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    page.clean()


# --- the worklist's lists ------------------------------------------------------------------


def worklist_of(site: Site, key: str, part: str, days: int = 30) -> list[dict[str, Any]]:
    """Every row of the worklist's ``part`` for ``key``, page after page, as the page reads
    them (the business day of today, the latest snapshot)."""
    settings = site.store.settings
    today = work.local_today(settings.tz)
    scope = CustomerScope(site.principal(key))
    rows: list[dict[str, Any]] = []
    after = None
    with site.session() as session:
        as_of = latest_snapshot(session)
        while True:
            if part == "birthdays":
                page = work.birthdays(
                    session, start=work.week_of(today), as_of=as_of, scope=scope, limit=7,
                    after=after,
                )  # fmt: skip
            else:
                page = work.not_contacted(
                    session, today=today, days=days, tz=settings.tz, as_of=as_of, scope=scope,
                    limit=7, after=after,
                )  # fmt: skip
            rows += page.rows
            if page.next_cursor is None:
                return rows
            after = page.next_cursor


@pytest.mark.parametrize("key", ["sales", "admin"])
def test_the_worklists_lists_export_every_row_of_the_users_scope(
    site: Site, clients: dict[str, httpx.Client], key: str
) -> None:
    quiet = worklist_of(site, key, "quiet", days=7)
    assert len(quiet) > 20 or key == "sales", "more than the page on screen"
    page = clients[key].get("/worklist?days=7").text
    assert "/exports/not-contacted.xlsx?days=7" in page
    csv_rows, xlsx_rows = both(clients[key], "not-contacted", "days=7")
    for rows in (csv_rows, xlsx_rows):
        assert [int(v) for v in column(rows, zh("column.id"))] == [r["customer_id"] for r in quiet]
        # the owner column when the page has one (a user who may pick an owner)
        assert (zh("column.owner") in rows[0]) is (key == "admin")
    days = column(xlsx_rows, zh("worklist.days_since"))
    assert days == [r["days_since"] for r in quiet]
    birthdays = worklist_of(site, key, "birthdays")
    rows = parse_csv(clients[key].get("/exports/birthdays.csv"))
    assert [int(v) for v in column(rows, zh("column.id"))] == [r["customer_id"] for r in birthdays]
    assert column(rows, zh("worklist.birthday_on")) == [r["on"].isoformat() for r in birthdays]
    if key == "sales":
        sales = site.store.ids["sales"]
        with site.session() as session:
            owners = set(
                session.execute(
                    sa.select(_c.owner_id).where(_c.id.in_([r["customer_id"] for r in quiet]))
                ).scalars()
            )
        assert owners == {sales}


# --- the analysis page's tables ------------------------------------------------------------


def test_the_analysis_tables_are_the_reports_within_the_users_scope(
    site: Site, clients: dict[str, httpx.Client]
) -> None:
    rules = load_rules(site.store.settings)
    scope = CustomerScope(site.principal("manager"))
    with site.session() as session:
        latest = latest_snapshot(session)
        previous = previous_snapshot(session, latest)
        tiers = snapshots.group_summary(session, by="value_tier", day=latest, rules=rules,
                                        scope=scope)  # fmt: skip
        moves = snapshots.movements(
            session, by="lifecycle_stage", before=previous, after=latest, scope=scope
        )
        grid = distributions.rfm_grid(session, day=latest, scope=scope)
        bins = distributions.clv_distribution(session, day=latest, scope=scope)
    client = clients["manager"]
    fragment = client.get("/analysis/snapshot?move_by=lifecycle_stage").text
    assert "/exports/groups.csv?by=value_tier" in fragment
    assert "/exports/movements.xlsx?move_by=lifecycle_stage" in fragment
    csv_rows, xlsx_rows = both(client, "groups", "by=value_tier")
    assert csv_rows[0][0] == zh("value_tier")
    assert column(xlsx_rows, zh("customers")) == [g["customers"] for g in tiers]
    shares = column(xlsx_rows, zh("customer_share"))
    assert shares == pytest.approx([g["customer_share"] / 100 for g in tiers])
    labels = column(csv_rows, zh("value_tier"))
    assert labels and not set(labels) & {t.value for t in ValueTier}
    moved = parse_xlsx(client.get("/exports/movements.xlsx?move_by=lifecycle_stage"))
    assert column(moved, zh("customers")) == [m["customers"] for m in moves]
    cells = parse_xlsx(client.get("/exports/rfm-grid.xlsx"))
    assert [r[:3] for r in cells[1:]] == [
        [g["r_score"], g["f_score"], g["customers"]] for g in grid
    ]
    clv = parse_csv(client.get("/exports/clv.csv"))
    assert [int(v) for v in column(clv, zh("customers"))] == [b["customers"] for b in bins]
    # figures about groups name nobody: not audited
    before = len(audit_entries(create_engine(site.url), AuditAction.EXPORT))
    parse_csv(client.get("/exports/groups.csv"))
    assert len(audit_entries(create_engine(site.url), AuditAction.EXPORT)) == before
    assert clients["sales"].get("/exports/groups.csv").status_code == 403


def test_the_overviews_degree_history_and_group_tables(
    site: Site, clients: dict[str, httpx.Client]
) -> None:
    scope = CustomerScope(site.principal("manager"))
    with site.session() as session:
        history = overview_figures.snapshot_history(session, scope=scope)
    client = clients["manager"]
    assert "/exports/groups.xlsx?by=lifecycle_stage" in client.get("/overview/groups").text
    assert "/exports/degrees-history.csv" in client.get("/overview/relationships").text
    rows = parse_xlsx(client.get("/exports/degrees-history.xlsx"))
    assert rows[0][:2] == [zh("overview.snapshot_date"), zh("degree.satisfaction")]
    assert [r[0].date() for r in rows[1:]] == [h["as_of"] for h in history]
    assert column(rows, zh("degree.relationship_index")) == pytest.approx(
        [h["avg_relationship_index"] for h in history]
    )


def test_the_admins_user_list_without_secrets(site: Site, clients: dict[str, httpx.Client]) -> None:
    u = schema.users.c
    with site.session() as session:
        stored = session.execute(sa.select(u.id, u.username, u.password_hash).order_by(u.id)).all()
    page = clients["admin"].get("/admin/users").text
    assert "/exports/users.xlsx" in page
    csv_rows, xlsx_rows = both(clients["admin"], "users")
    listed = [int(v) for v in column(csv_rows, zh("column.id"))]
    assert sorted(listed) == [r.id for r in stored]
    ids = column(xlsx_rows, zh("column.id"))
    names = dict(zip(ids, column(xlsx_rows, zh("users_page.col_username")), strict=True))
    assert names == {r.id: r.username for r in stored}
    text_of_file = clients["admin"].get("/exports/users.csv").text
    assert not any(r.password_hash and r.password_hash in text_of_file for r in stored)
    assert clients["manager"].get("/exports/users.csv").status_code == 403


def test_the_diamond_movers_export_is_every_mover(
    site: Site, clients: dict[str, httpx.Client]
) -> None:
    rules = load_rules(site.store.settings)
    with site.session() as session:
        latest = latest_snapshot(session)
        previous = previous_snapshot(session, latest)
        movers = tier_movers(
            session, tier=ValueTier.DIAMOND, before=previous, after=latest, rules=rules,
            locale="zh_CN", scope=CustomerScope(site.principal("admin")), limit=100_000,
        )  # fmt: skip
    assert movers
    assert "/exports/diamond-movers.csv" in clients["admin"].get("/diamonds").text
    csv_rows, xlsx_rows = both(clients["admin"], "diamond-movers")
    for rows in (csv_rows, xlsx_rows):
        ids = [int(v) for v in column(rows, zh("column.id"))]
        assert ids == [m["customer_id"] for m in movers]
        moves = column(rows, zh("diamonds.move"))
        assert moves == [
            zh("diamonds.left") if m["direction"] == "out" else zh("diamonds.entered")
            for m in movers
        ]


def test_the_correlations_export_is_the_reports_pairs(
    site: Site, clients: dict[str, httpx.Client]
) -> None:
    with site.session() as session:
        latest = latest_snapshot(session)
        pairs = distributions.degree_correlations(
            session, day=latest, scope=CustomerScope(site.principal("analyst"))
        )
    assert "/exports/correlations.csv" in clients["analyst"].get("/analysis/snapshot").text
    rows = parse_xlsx(clients["analyst"].get("/exports/correlations.xlsx"))
    assert column(rows, zh("exports.pearson_r")) == pytest.approx([p["r"] for p in pairs])
    firsts = column(rows, zh("exports.degree_x"))
    assert firsts == [zh(f"degree.{p['x']}") for p in pairs]


def test_the_worklists_customers_at_risk_every_warning_of_the_scope(
    site: Site, clients: dict[str, httpx.Client]
) -> None:
    with site.session() as session:
        warnings = snapshots.churn_warnings(
            session,
            day=latest_snapshot(session),
            limit=100_000,
            min_risk=0.5,
            scope=CustomerScope(site.principal("admin")),
        ).rows
    assert len(warnings) > 10, "more than the ten on the page"
    assert "/exports/at-risk.csv" in clients["admin"].get("/worklist").text
    rows = parse_xlsx(clients["admin"].get("/exports/at-risk.xlsx"))
    assert column(rows, zh("column.id")) == [w["customer_id"] for w in warnings]
    assert column(rows, zh("worklist.value_at_risk")) == pytest.approx(
        [float(w["value_at_risk"]) for w in warnings]
    )


# --- on each backend -------------------------------------------------------------------------


def test_an_analysts_customer_export_and_the_groups_on_each_backend(
    served: tuple[WebStore, str],
) -> None:
    """The shared store of each backend, read only: the downloads that write no audit entry
    (an analyst's masked list, a manager's figures about groups)."""
    store, base = served
    engine = store.engine()
    try:
        with Session(engine) as session:
            scope = CustomerScope(store.principal("analyst"))
            query = CustomerQuery(limit=500)
            expected: list[dict[str, Any]] = []
            while True:
                page = list_customers(session=session, scope=scope, query=query)
                expected += [mask_customer(r) for r in page.rows]
                if page.next_cursor is None:
                    break
                query = replace(query, after=page.next_cursor)
            rules = load_rules(store.settings)
            stages = snapshots.group_summary(
                session,
                by="lifecycle_stage",
                day=latest_snapshot(session),
                rules=rules,
                scope=CustomerScope(store.principal("manager")),
            )
    finally:
        engine.dispose()
    analyst = http_login(base, "gao.peng")
    manager = http_login(base, "lin.hui")
    try:
        rows = parse_xlsx(analyst.get("/exports/customers.xlsx"))
        assert column(rows, zh("column.id")) == [r["id"] for r in expected]
        assert column(rows, zh("column.name")) == [
            r["name"] and neutralise(r["name"]) for r in expected
        ]
        groups = parse_csv(manager.get("/exports/groups.csv?by=lifecycle_stage"))
        assert [int(v) for v in column(groups, zh("customers"))] == [g["customers"] for g in stages]
    finally:
        analyst.close()
        manager.close()
