"""Downloads of the lists staff work through and of the card's loyalty tables: the open
tasks (worklist and *My tasks*), the alerts, one ticket's history, the 360 card's loyalty
ledger and vouchers, the Data page's job history and the Admin page's business rules.

Each file's rows are what the page's own function returns for the same user (every row,
not the page on screen), the headings follow the language, free text written like a
formula is text, the roles the page refuses are refused the file, a sales user gets only
their own, an analyst's file is masked as the card and not audited, and a file naming
customers or tickets unmasked is audited as the export it is.

It reuses the web store copy and the logged-in clients of ``test_exports``.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from rapport.access import CustomerScope
from rapport.actions.alerts import alert_page
from rapport.actions.tasks import task_page
from rapport.config import load_rules
from rapport.domain import (
    AlertKind,
    AlertSeverity,
    AuditAction,
    ImportJobStatus,
    LoyaltyReason,
    TaskStatus,
)
from rapport.ingest.spreadsheet import neutralise
from rapport.masking import mask_identifier
from rapport.reports import service_queue
from rapport.store import alerts, import_jobs, loyalty, loyalty_rewards, schema, tasks
from rapport.store.alerts import AlertFilter
from rapport.store.db import create_engine, session_scope
from rapport.store.paging import PageRequest
from rapport.store.repository import utcnow
from rapport.store.tasks import TaskFilter
from rapport.web.i18n import Formatter, text
from rapport.web.views import card_loyalty
from rapport.web.views.admin_rules import rule_sections
from tests.helpers import audit_entries
from tests.web import test_exports as shared
from tests.web.conftest import csrf_of, http_login
from tests.web.test_exports import Site, both, column, zh

# the web store copy and the logged-in clients of test_exports, as this module's fixtures
site = shared.site
clients = shared.clients

FORMULA = "=1+2"
_c = schema.customers.c
_h = schema.ticket_status_history.c


def _exports(site: Site, route: str) -> list[dict[str, Any]]:
    entries = audit_entries(create_engine(site.url), AuditAction.EXPORT)
    return [e for e in entries if e["detail"]["route"] == f"web.export.{route}"]


@pytest.fixture(scope="module")
def english(site: Site) -> Iterator[httpx.Client]:
    """The admin, reading in English."""
    client = http_login(site.base, "admin")
    token = csrf_of(client.get("/customers").text)
    client.post("/lang", data={"lang": "en", "next": "/customers", "csrf_token": token})
    yield client
    client.close()


@pytest.fixture(scope="module")
def seeded(site: Site) -> dict[str, Any]:
    """In the copy: two open tasks of the sales user (one titled like a formula, one for
    another customer of theirs), a churn alert of their formula customer and a company-wide
    one, a formula note on the formula ticket's history, 8 vouchers redeemed (with the
    ledger's entries) for the formula customer, and a manager's and an admin's import job."""
    engine = create_engine(site.url)
    ids = site.store.ids
    now = utcnow()
    found: dict[str, Any] = {}
    with session_scope(engine) as session:
        mine = session.execute(
            sa.select(_c.id).where(_c.owner_id == ids["sales"]).order_by(_c.id)
        ).scalars()
        other = next(i for i in mine if i != site.formula_id)
        theirs = session.execute(
            sa.select(_c.id).where(_c.owner_id == ids["other_sales"]).order_by(_c.id).limit(1)
        ).scalar_one()
        found["tasks"] = [
            tasks.add_task(
                session=session,
                task=tasks.NewTask(
                    customer_id=customer,
                    title=title,
                    due_at=now + dt.timedelta(hours=hours),
                    assignee_id=ids[who],
                ),
                at=now,
            )
            for customer, title, hours, who in (
                (site.formula_id, FORMULA, -5, "sales"),
                (other, "回访", 24, "sales"),
                (theirs, "回访", 30, "other_sales"),
            )
        ]
        found["alerts"] = [
            alerts.raise_alert(
                session=session,
                kind=kind,
                dedup_key=f"test:{uuid.uuid4().hex}",
                severity=AlertSeverity.WARNING,
                customer_id=customer,
                details={"note": FORMULA},
                at=now,
            )[0]
            for customer, kind in (
                (site.formula_id, AlertKind.CHURN_RISK),
                (None, AlertKind.METRIC_OUT_OF_BAND),
            )
        ]
        session.execute(
            sa.insert(schema.ticket_status_history).values(
                ticket_id=site.ticket_id,
                from_status=None,
                to_status="open",
                changed_at=now,
                note=FORMULA,
            )
        )
    code = f"CUP-{uuid.uuid4().hex[:6].upper()}"
    with session_scope(engine, writing=True) as session:
        loyalty.lock_customer(session=session, customer_id=site.formula_id)
        loyalty_rewards.save(
            session=session,
            values={
                "code": code,
                "name_zh": "马克杯",
                "name_en": "Mug",
                "kind": "gift",
                "points": 10,
                "stock": None,
                "active": True,
            },
        )
        loyalty.append(
            session=session,
            values={
                "customer_id": site.formula_id,
                "points": 1000,
                "reason": LoyaltyReason.BONUS,
                "reference": FORMULA,
                "occurred_at": now - dt.timedelta(days=1),
            },
        )
    for _ in range(8):  # each in a writer's transaction of its own, as the API's
        with session_scope(engine, writing=True) as session:
            loyalty_rewards.redeem(session=session, customer_id=site.formula_id, code=code, at=now)
    with session_scope(engine, writing=True) as session:
        for key, name in (("manager", "m.csv"), ("admin", "a.csv")):
            import_jobs.create(
                session=session,
                values={
                    "id": uuid.uuid4().hex,
                    "entity": "customers",
                    "file": name,
                    "directory": name,
                    "size": 10,
                    "strict": False,
                    "submitted_by": key,
                    "submitted_by_id": ids[key],
                    "submitted_at": now,
                    "status": "done",
                    "rows_read": 3,
                    "rows_inserted": 2,
                    "rows_updated": 1,
                    "rows_rejected": 0,
                },
            )
    engine.dispose()
    return found


# --- the tasks ------------------------------------------------------------------------------


def _open_tasks(site: Site, key: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    page = PageRequest(limit=100)
    with site.session() as session:
        while True:
            found = task_page(
                session=session,
                principal=site.principal(key),
                page=page,
                filters=TaskFilter(status=TaskStatus.OPEN),
            )
            rows += found.data
            if found.next_key is None:
                return rows
            page = PageRequest(limit=100, after=found.next_key)


def test_the_tasks_export_is_every_open_task_the_user_sees(
    site: Site, clients: dict[str, httpx.Client], english: httpx.Client, seeded: dict[str, Any]
) -> None:
    before = len(_exports(site, "tasks"))
    for key in ("sales", "admin"):
        expected = _open_tasks(site, key)
        assert expected
        for rows in both(clients[key], "tasks"):
            assert [int(i) for i in column(rows, zh("exports.task_id"))] == [
                t["id"] for t in expected
            ]
            titles = column(rows, zh("tasks_web.task"))
            assert titles == [
                "'" + t["title"] if t["title"] == FORMULA else t["title"] for t in expected
            ]
            assert (zh("tasks_web.assignee") in rows[0]) is (key != "sales")
            names = [neutralise(t["customer_name"]) for t in expected]
            assert column(rows, zh("worklist.customer")) == names
    sales_ids = {t["id"] for t in _open_tasks(site, "sales")}
    assert set(seeded["tasks"][:2]) <= sales_ids and seeded["tasks"][2] not in sales_ids
    assert seeded["tasks"][2] in {t["id"] for t in _open_tasks(site, "admin")}
    picked = both(clients["admin"], "tasks", f"owner={site.store.ids['other_sales']}")[0]
    assert [int(i) for i in column(picked, zh("exports.task_id"))] == [seeded["tasks"][2]]
    overdue = column(both(clients["sales"], "tasks")[0], zh("exports.overdue_by"))
    assert any(overdue) and not all(overdue)
    entries = _exports(site, "tasks")
    assert len(entries) == before + 8  # four files, then two of an owner picked, two more
    assert entries[-1]["entity"] == "customers"
    assert site.formula_id in entries[-1]["detail"]["ids"]
    assert both(english, "tasks")[1][0][:2] == [
        text("exports.task_id", "en"),
        text("tasks_web.due", "en"),
    ]
    worklist = clients["sales"].get("/worklist").text
    assert 'href="/exports/tasks.xlsx"' in worklist
    assert clients["service"].get("/exports/tasks.csv").status_code == 200
    assert clients["analyst"].get("/exports/tasks.csv").status_code == 403


# --- the alerts -----------------------------------------------------------------------------


def test_the_alerts_export_is_every_alert_of_the_filter_in_scope(
    site: Site, clients: dict[str, httpx.Client], english: httpx.Client, seeded: dict[str, Any]
) -> None:
    mine, company = seeded["alerts"]
    before = len(_exports(site, "alerts"))
    for key in ("sales", "manager"):
        with site.session() as session:
            expected = alert_page(
                session=session,
                principal=site.principal(key),
                page=PageRequest(limit=1000),
                filters=AlertFilter(status="unresolved"),
            ).data
        for rows in both(clients[key], "alerts"):
            ids = [int(i) for i in column(rows, zh("exports.alert_id"))]
            assert ids == [a["id"] for a in expected]
            assert (mine in ids) is (key == "sales") and (company in ids) is (key == "manager")
            evidence = column(rows, zh("alerts_web.evidence"))
            assert f"note: {FORMULA}" in evidence  # not at the start: no formula
    manager = both(clients["manager"], "alerts")[0]
    names = column(manager, zh("alerts_web.customer"))
    assert zh("alerts_web.company") in names
    entries = _exports(site, "alerts")
    # the sales user's two files; the manager's name no customer (a company-wide alert)
    assert len(entries) == before + 2
    assert entries[-1]["detail"]["ids"] == [site.formula_id]
    in_english = both(english, "alerts")[0]
    assert in_english[0][1] == text("alerts_web.severity", "en")
    assert text("alerts_web.company", "en") in column(in_english, text("alerts_web.customer", "en"))
    resolved = both(clients["sales"], "alerts", "status=resolved")[0]
    assert mine not in [int(i) for i in column(resolved, zh("exports.alert_id"))]
    page = clients["sales"].get("/alerts", params={"kind": "churn_risk"}).text
    assert 'href="/exports/alerts.csv?kind=churn_risk"' in page
    assert clients["analyst"].get("/exports/alerts.csv").status_code == 403


# --- a ticket's history ---------------------------------------------------------------------


def test_a_tickets_history_export_is_its_pages_history_audited(
    site: Site, clients: dict[str, httpx.Client], english: httpx.Client, seeded: dict[str, Any]
) -> None:
    with site.session() as session:
        ticket = service_queue.ticket_view(
            session=session,
            scope=CustomerScope(site.principal("admin")),
            ticket_id=site.ticket_id,
            now=utcnow(),
        )
    before = len(_exports(site, "ticket-history"))
    query = f"ticket={site.ticket_id}"
    for rows in both(clients["admin"], "ticket-history", query):
        assert rows[0] == [
            zh(k)
            for k in (
                "ticket.history_when",
                "ticket.history_change",
                "ticket.history_by",
                "ticket.history_note",
            )
        ]
        notes = column(rows, zh("ticket.history_note"))
        assert len(notes) == len(ticket["history"])
        assert "'" + FORMULA in notes and FORMULA not in notes
    english_rows = both(english, "ticket-history", query)[1]
    assert english_rows[0][0] == text("ticket.history_when", "en")
    entries = _exports(site, "ticket-history")
    assert len(entries) == before + 4  # the admin's two files, in Chinese and in English
    assert entries[-1]["entity"] == "tickets"
    assert entries[-1]["detail"]["ids"] == [site.ticket_id]
    page = clients["admin"].get(f"/service/tickets/{site.ticket_id}").text
    assert f'href="/exports/ticket-history.csv?ticket={site.ticket_id}"' in page
    assert clients["sales"].get(f"/exports/ticket-history.csv?{query}").status_code == 403
    assert clients["admin"].get("/exports/ticket-history.csv?ticket=x").status_code == 404


# --- the card's loyalty ledger and vouchers -------------------------------------------------


def test_the_loyalty_ledger_and_vouchers_are_every_entry_of_the_card(
    site: Site, clients: dict[str, httpx.Client], english: httpx.Client, seeded: dict[str, Any]
) -> None:
    with site.session() as session:
        ledger = card_loyalty.ledger_rows(
            session, customer_id=site.formula_id, limit=1000, masked=False
        )
    assert len(ledger) > card_loyalty.LEDGER_ENTRIES
    query = f"customer={site.formula_id}"
    before = len(_exports(site, "loyalty-ledger"))
    for rows in both(clients["sales"], "loyalty-ledger", query):
        assert [int(p) for p in column(rows, zh("card.loyalty_points"))] == [
            e["points"] for e in ledger
        ]
        references = column(rows, zh("card.loyalty_reference"))
        assert "'" + FORMULA in references and FORMULA not in references
    entries = _exports(site, "loyalty-ledger")
    assert len(entries) == before + 2
    ledger_en = both(english, "loyalty-ledger", query)[0]
    assert ledger_en[0][0] == text("card.time", "en")
    assert Formatter("en", "UTC", "CNY").enum(LoyaltyReason.BONUS) in column(
        ledger_en, text("card.loyalty_reason", "en")
    )
    assert entries[-1]["detail"]["ids"] == [site.formula_id]
    vouchers = both(clients["sales"], "vouchers", query)
    with site.session() as session:
        codes = [
            v["code"]
            for v in loyalty_rewards.customer_vouchers(
                session=session, customer_id=site.formula_id, limit=1000
            )
        ]
    assert len(codes) >= 8
    for rows in vouchers:
        assert column(rows, zh("card_loyalty.code")) == codes
        assert set(column(rows, zh("card_loyalty.state"))) == {zh("card_loyalty.not_used")}
    assert (
        english.get(f"/exports/vouchers.csv?{query}")
        .text.splitlines()[0]
        .lstrip("\ufeff")
        .startswith(text("card_loyalty.code", "en"))
    )
    before = len(audit_entries(create_engine(site.url), AuditAction.EXPORT))
    masked = both(clients["analyst"], "vouchers", query)[0]
    assert column(masked, zh("card_loyalty.code")) == [mask_identifier(c) for c in codes]
    ledger_masked = both(clients["analyst"], "loyalty-ledger", query)[0]
    assert "'" + FORMULA not in column(ledger_masked, zh("card.loyalty_reference"))
    assert len(audit_entries(create_engine(site.url), AuditAction.EXPORT)) == before
    card = clients["sales"].get(f"/customers/{site.formula_id}").text
    assert f'href="/exports/vouchers.xlsx?{query}"' in card
    assert f'href="/exports/loyalty-ledger.csv?{query}"' in card
    with site.session() as session:
        other = session.execute(
            sa.select(_c.id).where(_c.owner_id != site.store.ids["sales"]).limit(1)
        ).scalar_one()
    assert clients["sales"].get(f"/exports/vouchers.csv?customer={other}").status_code == 404
    assert clients["sales"].get(f"/exports/loyalty-ledger.csv?customer={other}").status_code == 404


# --- the Data page's job history and the Admin page's rules ---------------------------------


def test_the_job_history_export_is_the_users_jobs(
    site: Site, clients: dict[str, httpx.Client], english: httpx.Client, seeded: dict[str, Any]
) -> None:
    for key, files in (("manager", {"m.csv"}), ("admin", {"m.csv", "a.csv"})):
        with site.session() as session:
            expected, count = import_jobs.recent(
                session=session,
                submitted_by_id=None if key == "admin" else site.store.ids[key],
                limit=1000,
            )
        for rows in both(clients[key], "import-jobs"):
            shown = column(rows, zh("data.file"))
            assert shown == [j["file"] for j in expected] and len(shown) == count
            assert files <= set(shown)
            assert ("a.csv" in shown) is (key == "admin")
            states = column(rows, zh("data.state"))
            assert states[shown.index("m.csv")] == Formatter("zh_CN", "UTC", "CNY").enum(
                ImportJobStatus.DONE
            )
    assert both(english, "import-jobs")[1][0][0] == text("data.when", "en")
    page = clients["manager"].get("/data").text
    assert 'href="/exports/import-jobs.csv"' in page
    for role in ("sales", "service", "analyst"):
        assert clients[role].get("/exports/import-jobs.csv").status_code == 403


def test_the_rules_export_is_every_value_of_the_rules_page(
    site: Site, clients: dict[str, httpx.Client], english: httpx.Client
) -> None:
    rules = load_rules(site.store.settings)
    fmt = Formatter("zh_CN", site.store.settings.timezone, rules.business.currency)
    sections = rule_sections(rules, fmt)
    cells = sum(len(s.values) for s in sections) + sum(
        len(r) for s in sections for t in s.tables for r in t.rows
    )
    for rows in both(clients["admin"], "rules"):
        assert rows[0] == [
            zh(k)
            for k in (
                "exports.rules_section",
                "exports.rules_list",
                "exports.rules_row",
                "exports.rules_rule",
                "rules_page.value",
            )
        ]
        assert len(rows) - 1 == cells
        assert zh(sections[0].key) == rows[1][0]
        assert not any("<span" in str(v) for v in column(rows, zh("rules_page.value")))
    assert both(english, "rules")[0][0][0] == text("exports.rules_section", "en")
    page = clients["admin"].get("/admin/rules").text
    assert 'href="/exports/rules.xlsx"' in page
    assert clients["manager"].get("/exports/rules.csv").status_code == 403


def test_an_uploads_preview_rows_download_as_the_preview_shows_them(
    site: Site, clients: dict[str, httpx.Client]
) -> None:
    manager = clients["manager"]
    token = csrf_of(manager.get("/data").text)
    content = f"客户编号,姓名\nPV001,{FORMULA}\nPV002,预览客户\n".encode("gbk")
    page = manager.post(
        "/data/preview",
        data={"entity": "customers", "csrf_token": token},
        files={"file": ("预览.csv", content, "text/csv")},
    ).text
    staged = re.search(r'name="staged" value="([0-9a-f]{32})"', page)
    assert staged, page[:2000]
    query = f"staged={staged.group(1)}"
    assert f'href="/exports/import-preview.csv?{query}"' in page
    for rows in both(manager, "import-preview", query):
        assert rows[0] == [zh("data.row"), "客户编号", "姓名"]
        assert [r[1:] for r in rows[1:]] == [["PV001", "'" + FORMULA], ["PV002", "预览客户"]]
        assert [int(r[0]) for r in rows[1:]] == [2, 3]
    assert clients["admin"].get(f"/exports/import-preview.csv?{query}").status_code == 404
    assert clients["sales"].get(f"/exports/import-preview.csv?{query}").status_code == 403
    assert manager.get("/exports/import-preview.xlsx?staged=nothing").status_code == 404


def test_the_cards_scores_are_every_snapshot_of_the_customer(
    site: Site, clients: dict[str, httpx.Client], english: httpx.Client
) -> None:
    from rapport import customer360

    with site.session() as session:
        history = customer360.score_history(
            session=session, customer_id=site.formula_id, limit=1000
        )
    assert len(history) >= 2
    query = f"customer={site.formula_id}"
    before = len(_exports(site, "card-scores"))
    for rows in both(clients["sales"], "card-scores", query):
        assert rows[0] == [
            zh("exports.snapshot_of"),
            *(zh(f"degree.{d}") for d in ("satisfaction", "loyalty", "engagement", "advocacy")),
            zh("degree.relationship_index"),
        ]
        assert [str(v)[:10] for v in column(rows, zh("exports.snapshot_of"))] == [
            str(h["as_of"])[:10] for h in history
        ]
        index = [float(v) for v in column(rows, zh("degree.relationship_index"))]
        assert index == pytest.approx([h["relationship_index"] for h in history])
    entries = _exports(site, "card-scores")
    assert len(entries) == before + 2
    assert entries[-1]["detail"]["ids"] == [site.formula_id]
    assert both(english, "card-scores", query)[0][0][0] == text("exports.snapshot_of", "en")
    before = len(audit_entries(create_engine(site.url), AuditAction.EXPORT))
    assert len(both(clients["analyst"], "card-scores", query)[1]) == len(history) + 1
    assert len(audit_entries(create_engine(site.url), AuditAction.EXPORT)) == before
    card = clients["sales"].get(f"/customers/{site.formula_id}").text
    assert f'href="/exports/card-scores.csv?{query}"' in card
    with site.session() as session:
        other = session.execute(
            sa.select(_c.id).where(_c.owner_id != site.store.ids["sales"]).limit(1)
        ).scalar_one()
    assert clients["sales"].get(f"/exports/card-scores.csv?customer={other}").status_code == 404
