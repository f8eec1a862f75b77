"""The monthly report's button on the overview (``/overview/report``): a form listing the
months with a snapshot, a download in the user's language within the user's scope (the
same figures as rapport.reports.monthly), audited unless masked, refused to sales."""

from __future__ import annotations

import re

from rapport.access import CustomerScope
from rapport.config import load_rules
from rapport.domain import AuditAction
from rapport.reports import monthly
from rapport.store.db import create_engine, session_scope
from rapport.store.scores import snapshot_dates
from tests.helpers import audit_entries
from tests.web.conftest import ROLE_USERS, WebStore, http_login

#: Seconds a download may take: its metrics start a worker process and run the engine.
ENGINE_SECONDS = 300


def months_and_report(store: WebStore, who: str, locale: str) -> tuple[list[str], dict]:
    engine = create_engine(store.url)
    try:
        with session_scope(engine) as session:
            dates = snapshot_dates(session=session)
            month = f"{dates[-1]:%Y-%m}"
            found = monthly.monthly_report(
                session,
                month=month,
                rules=load_rules(),
                locale=locale,
                metrics=None,
                scope=CustomerScope(store.principal(who)),
            )
    finally:
        engine.dispose()
    return sorted({f"{d:%Y-%m}" for d in dates}, reverse=True), found


def report_reads(store: WebStore) -> list[dict]:
    engine = store.engine()
    try:
        entries = audit_entries(engine, action=AuditAction.READ_PII.value)
    finally:
        engine.dispose()
    return [e for e in entries if (e["detail"] or {}).get("route") == "web.overview.report"]


def test_the_button_downloads_the_managers_report(server: str, web_store: WebStore) -> None:
    months, found = months_and_report(web_store, "manager", "zh_CN")
    client = http_login(server, ROLE_USERS["manager"])
    page = client.get("/overview").text
    form = re.search(r'<form id="report-form".*?</form>', page, re.S)
    assert form and 'action="/overview/report"' in form.group(0)
    assert re.findall(r'<option value="(\d{4}-\d\d)">', form.group(0)) == months
    assert '<label for="report-month">' in form.group(0)
    before = len(report_reads(web_store))
    answer = client.get(
        "/overview/report", params={"month": months[0], "format": "html"}, timeout=ENGINE_SECONDS
    )
    assert answer.status_code == 200, answer.text[:500]
    assert answer.headers["content-type"].startswith("text/html")
    assert f'filename="rapport-monthly-{months[0]}.html"' in answer.headers["content-disposition"]
    assert f"月度客户关系报告 {months[0]}" in answer.text
    assert "范围：您可查看的客户" in answer.text  # the manager's team, not every customer
    scored = found["relationships"]["customers"]["value"]
    assert f'<td class="num">{scored:,}</td>' in answer.text
    named = [m["customer_id"] for m in found["diamonds"]["movers"]]
    reads = report_reads(web_store)
    assert len(reads) == before + (1 if named else 0)


def test_the_analysts_xlsx_and_a_month_without_snapshot(server: str, web_store: WebStore) -> None:
    months, _ = months_and_report(web_store, "analyst", "zh_CN")
    client = http_login(server, ROLE_USERS["analyst"])
    before = len(report_reads(web_store))
    answer = client.get(
        "/overview/report", params={"month": months[0], "format": "xlsx"}, timeout=ENGINE_SECONDS
    )
    assert answer.status_code == 200
    assert answer.content[:2] == b"PK"  # a zip: the workbook
    assert len(report_reads(web_store)) == before  # masked: no personal data read
    missing = client.get("/overview/report", params={"month": "1999-01", "format": "pdf"})
    assert missing.status_code == 422
    assert "1999-01 没有评分快照" in missing.text and ", ".join(sorted(months)) in missing.text


def test_sales_are_refused(server: str) -> None:
    client = http_login(server, ROLE_USERS["sales"])
    answer = client.get("/overview/report", params={"month": "2024-12", "format": "pdf"})
    assert answer.status_code == 403
