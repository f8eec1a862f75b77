"""``GET /api/v1/reports/monthly``: the monthly report as a file, by role and scope."""

from __future__ import annotations

import io

from openpyxl import load_workbook

from rapport.access import CustomerScope
from rapport.config import load_rules
from rapport.reports import monthly
from rapport.store.db import session_scope
from tests.helpers import audit_entries
from tests.reports.conftest import ReportStore

PATH = "/api/v1/reports/monthly"


def get(store: ReportStore, who: str, **params: str):  # type: ignore[no-untyped-def]
    return store.client.get(PATH, params=params, headers=store.headers(who))


def admin_report(store: ReportStore) -> dict:
    engine = store.engine()
    try:
        with session_scope(engine) as session:
            return monthly.monthly_report(
                session,
                month="2024-12",
                rules=load_rules(store.settings),
                locale="en",
                metrics=None,
                scope=CustomerScope(store.principal("admin")),
            )
    finally:
        engine.dispose()


def test_html_in_either_language_with_the_callers_figures(report_store: ReportStore) -> None:
    zh = get(report_store, "admin", month="2024-12", format="html", lang="zh_CN")
    assert zh.status_code == 200, zh.text
    assert zh.headers["content-type"].startswith("text/html")
    assert 'filename="rapport-monthly-2024-12.html"' in zh.headers["content-disposition"]
    assert "月度客户关系报告 2024-12" in zh.text and "<script" not in zh.text
    en = get(report_store, "admin", month="2024-12", format="html", lang="en")
    assert "Monthly customer relationship report 2024-12" in en.text
    found = admin_report(report_store)
    scored = found["relationships"]["customers"]
    assert f'<td class="num">{scored["value"]:,}</td>' in en.text
    assert f'<td class="num">{scored["previous"]:,}</td>' in en.text


def test_xlsx_for_an_analyst_masks_the_diamonds(report_store: ReportStore) -> None:
    answer = get(report_store, "analyst", month="2024-12", format="xlsx", lang="en")
    assert answer.status_code == 200, answer.text
    book = load_workbook(io.BytesIO(answer.content))
    assert len(book.sheetnames) >= 8
    sheet = book[next(n for n in book.sheetnames if n.startswith("Diamond customers"))]
    cells = [c for row in sheet.iter_rows(values_only=True) for c in row if c is not None]
    assert "Customer numbers and names are masked" in cells
    numbers = [c for c in cells if isinstance(c, int | float)]
    assert numbers, "revenue and churn risk are number cells"


def test_refusals(report_store: ReportStore) -> None:
    assert get(report_store, "sales", month="2024-12", format="html").status_code == 403
    missing = get(report_store, "admin", month="2024-11", format="html")
    assert missing.status_code == 404
    assert "2024-09, 2024-12" in missing.text
    assert get(report_store, "admin", month="2024-12", format="doc").status_code == 422
    assert get(report_store, "admin", month="2024-13", format="html").status_code == 422
    french = get(report_store, "admin", month="2024-12", format="html", lang="fr")
    assert french.status_code == 422 and "'fr'" in french.text


def _report_reads(store: ReportStore) -> list[dict]:
    engine = store.engine()
    try:
        entries = audit_entries(engine, action="read_pii", entity="customers")
    finally:
        engine.dispose()
    return [e for e in entries if (e["detail"] or {}).get("route") == "reports.monthly"]


def test_naming_the_diamonds_is_an_audited_read(report_store: ReportStore) -> None:
    before = len(_report_reads(report_store))
    assert get(report_store, "analyst", month="2024-12", format="html").status_code == 200
    assert len(_report_reads(report_store)) == before  # masked: nothing personal read
    assert get(report_store, "admin", month="2024-12", format="html").status_code == 200
    reads = _report_reads(report_store)
    assert len(reads) == before + 1
    named = [m["customer_id"] for m in admin_report(report_store)["diamonds"]["movers"]]
    assert reads[-1]["detail"]["count"] == len(named) > 0
    assert reads[-1]["detail"].get("ids", [reads[-1]["entity_id"]]) == named
