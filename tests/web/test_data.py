"""The 数据 Data page: upload, preview (encoding, mapping, sample rows, problems), the import
job run as the API runs it, its report with rejects and their download, the job history, the
roles and the CSRF check, over plain HTTP and in Chromium.

The tests import rows, so they run on a copy of the web store served by an application of
its own: the session's shared server and store stay as the other pages' tests expect them.
"""

from __future__ import annotations

import csv
import io
import re
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from rapport.api.app import create_app
from rapport.config import Settings
from rapport.domain import AuditAction
from rapport.store import schema
from rapport.store.db import create_engine
from tests.helpers import audit_entries, live_server
from tests.web.conftest import (
    ROLE_USERS,
    Watched,
    WebStore,
    browser_login,
    csrf_of,
    http_login,
    shot,
    watched_page,
)

_c = schema.customers.c
STAGED = re.compile(r'name="staged" value="([0-9a-f]{32})"')


@dataclass(frozen=True)
class Site:
    base: str
    engine: sa.Engine
    root: Path

    def customers(self, prefix: str) -> dict[str, dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(_c.external_id, _c.name, _c.email).where(
                    _c.external_id.like(f"{prefix}%")
                )
            ).mappings()
            return {r["external_id"]: dict(r) for r in rows}


@pytest.fixture(scope="module")
def site(web_store: WebStore, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    root = tmp_path_factory.mktemp("data-page")
    shutil.copy(web_store.pristine, root / "rapport.db")
    url = f"sqlite:///{root / 'rapport.db'}"
    engine = create_engine(url)
    app = create_app(Settings(_env_file=None, database_url=url, data_dir=root / "data"))
    with live_server(app, lifespan="on") as base:
        yield Site(base=base, engine=engine, root=root)
    engine.dispose()


def gbk_csv(prefix: str, good: int, *, bad: bool = False) -> bytes:
    """Customers with Chinese headers, in GBK; with ``bad``, a row without its key (row 4,
    rejected) and a bad e-mail (row 3, dropped with a warning)."""
    lines = ["客户编号,姓名,手机,邮箱"]
    lines += [f"{prefix}{n:03d},测试客户{n},1391234{n:04d},t{n}@example.com" for n in range(good)]
    if bad:
        lines[2] = f"{prefix}001,测试客户1,13912340001,不是邮箱"
        lines.insert(3, ",没有编号,13912349999,x@example.com")
    return ("\n".join(lines) + "\n").encode("gbk")


def preview(client: httpx.Client, content: bytes, entity: str = "customers") -> httpx.Response:
    token = csrf_of(client.get("/data").text)
    return client.post(
        "/data/preview",
        data={"entity": entity, "csrf_token": token},
        files={"file": ("客户名单.csv", content, "text/csv")},
    )


def confirm(client: httpx.Client, html: str) -> str:
    """Confirm the previewed upload; the job's page."""
    staged = STAGED.search(html)
    assert staged, html[:2000]
    answer = client.post(
        "/data/imports", data={"staged": staged.group(1), "csrf_token": csrf_of(html)}
    )
    assert answer.status_code == 303, answer.text[:1000]
    location = answer.headers["location"]
    assert location == f"/data/jobs/{staged.group(1)}"
    return location


def finished(client: httpx.Client, url: str, seconds: float = 60) -> str:
    """The job's fragment once the job has ended (as the page's HTMX poll asks for it)."""
    deadline = time.monotonic() + seconds
    while True:
        html = client.get(url, headers={"HX-Request": "true"}).text
        state = re.search(r'data-state="(\w+)"', html)
        assert state, html[:1000]
        if state.group(1) in ("done", "failed"):
            return html
        assert 'hx-trigger="every 1s"' in html  # still polling while it runs
        assert time.monotonic() < deadline, "the import job did not end"
        time.sleep(0.3)


def test_admins_and_managers_open_the_page_others_are_refused(site: Site) -> None:
    for username in ("admin", "lin.hui"):
        page = http_login(site.base, username).get("/data")
        assert page.status_code == 200 and "数据导入" in page.text and "导入记录" in page.text
    for role, username in ROLE_USERS.items():
        if role in ("admin", "manager"):
            continue
        assert http_login(site.base, username).get("/data").status_code == 403, username


def test_only_admins_may_import_staff_users(site: Site) -> None:
    admin = http_login(site.base, "admin").get("/data").text
    manager = http_login(site.base, "lin.hui")
    assert 'value="users"' in admin and 'value="users"' not in manager.get("/data").text
    refused = preview(manager, b"username,role\nx,sales\n", entity="users")
    assert refused.status_code == 422 and "请选择可导入的数据类型" in refused.text


def test_a_gbk_file_is_previewed_confirmed_imported_and_listed(site: Site) -> None:
    client = http_login(site.base, "admin")
    before = (
        len(list((site.root / "data" / "imports").glob("*")))
        if (site.root / "data" / "imports").exists()
        else 0
    )
    shown = preview(client, gbk_csv("WD-A", 25))
    assert shown.status_code == 200, shown.text[:1000]
    html = shown.text
    assert "GBK" in html  # the detected encoding, by the name people know it
    mapping = re.search(r'<table id="preview-mapping">.*?</table>', html, re.S)
    assert mapping
    for column, field in (("客户编号", "external_id"), ("姓名", "name"), ("邮箱", "email")):
        assert re.search(f"<td[^>]*>{column}</td>\\s*<td><code>{field}</code>", mapping.group(0))
    sample = re.search(r'<table id="preview-rows">.*?</table>', html, re.S)
    assert sample and sample.group(0).count("<tr>") == 1 + 10  # header + 10 sample rows
    assert "WD-A000" in sample.group(0) and "WD-A010" not in sample.group(0)
    assert "样例行未发现问题" in html
    # nothing is written before the confirmation
    assert site.customers("WD-A") == {}
    staged_dirs = list((site.root / "data" / "imports").glob("*"))
    assert len(staged_dirs) == before + 1
    job = confirm(client, html)
    report = finished(client, job)
    assert 'data-state="done"' in report and 'value="1"' in report
    counts = dict(re.findall(r'class="count-(\w+)"><span>[^<]*</span> <strong>([\d,]+)<', report))
    assert counts == {
        "read": "25",
        "inserted": "25",
        "updated": "0",
        "unchanged": "0",
        "rejected": "0",
        "warnings": "0",
    }
    stored = site.customers("WD-A")
    assert len(stored) == 25 and stored["WD-A007"]["name"] == "测试客户7"
    # the job in the history, newest first, with who, file, entity, state and counts
    history = client.get("/data").text
    first = re.search(r"<tbody>\s*<tr data-job-id=\"(\w+)\">(.*?)</tr>", history, re.S)
    assert first and f"/data/jobs/{first.group(1)}" == job
    assert all(s in first.group(2) for s in ("admin", "客户名单.csv", "客户", "完成", ">25<"))
    # audited as the API audits a submitted job, with via web
    entry = [e for e in audit_entries(site.engine, AuditAction.IMPORT, "imports")][-1]
    assert entry["entity_id"] == first.group(1) and entry["detail"]["via"] == "web"
    # the job page reloaded stops polling
    page = client.get(job).text
    assert "every 1s" not in page and "导入报告" in page


def test_bad_rows_are_reported_with_row_and_column_and_the_rejects_download(
    site: Site,
) -> None:
    client = http_login(site.base, "lin.hui")
    shown = preview(client, gbk_csv("WD-B", 12, bad=True)).text
    problems = re.search(r'<table id="preview-problems">.*?</table>', shown, re.S)
    assert problems, shown[:3000]
    rows = re.findall(
        r'<tr class="problem-(\w+)">\s*<td class="num">(\d+)</td><td class="data">([^<]+)</td>'
        r"<td>([^<]+)</td>",
        problems.group(0),
    )
    assert ("warning", "3", "邮箱", "邮箱：不是电子邮件地址：&#39;不是邮箱&#39;") in rows or any(
        r[:3] == ("warning", "3", "邮箱") for r in rows
    )
    assert any(r[:3] == ("reject", "4", "客户编号") and "必填值缺失" in r[3] for r in rows)
    report = finished(client, confirm(client, shown))
    counts = dict(re.findall(r'class="count-(\w+)"><span>[^<]*</span> <strong>([\d,]+)<', report))
    assert counts["read"] == "13" and counts["rejected"] == "1" and counts["warnings"] == "1"
    rejects = re.search(r'<table id="job-rejects">.*?</table>', report, re.S)
    assert rejects
    assert re.search(
        r'<td class="num">4</td><td class="data">客户编号</td><td>[^<]*必填值缺失', rejects.group(0)
    )
    assert len(site.customers("WD-B")) == 12
    link = re.search(r'id="download-rejects" href="([^"]+)"', report)
    assert link
    before = len(audit_entries(site.engine, AuditAction.EXPORT, "imports"))
    download = client.get(link.group(1))
    assert download.status_code == 200 and download.headers["content-type"].startswith("text/csv")
    table = list(csv.DictReader(io.StringIO(download.content.decode("utf-8-sig"))))
    assert [(r["_row"], r["_column"], r["姓名"]) for r in table] == [("4", "客户编号", "没有编号")]
    entries = audit_entries(site.engine, AuditAction.EXPORT, "imports")[before:]
    assert [e["detail"]["route"] for e in entries] == ["rejects"]
    # another manager's job reads as missing to a manager; the admin sees it
    job_id = link.group(1).split("/")[3]
    other = http_login(site.base, "admin")
    assert other.get(f"/data/jobs/{job_id}").status_code == 200
    assert http_login(site.base, "gao.peng").get(f"/data/jobs/{job_id}").status_code == 403


def test_a_file_whose_columns_cannot_be_mapped_cannot_be_confirmed(site: Site) -> None:
    client = http_login(site.base, "admin")
    shown = preview(client, "编号,备注\n1,甲\n".encode("gbk"))
    assert shown.status_code == 200 and 'id="mapping-error"' in shown.text
    assert 'id="confirm"' not in shown.text and "无法按此文件导入" in shown.text
    unreadable = preview(client, b"")
    assert unreadable.status_code == 422 and 'id="data-error"' in unreadable.text


def test_writes_without_the_csrf_token_are_refused(site: Site) -> None:
    client = http_login(site.base, "admin")
    shown = preview(client, gbk_csv("WD-C", 3)).text
    staged = STAGED.search(shown)
    assert staged
    no_token = client.post(
        "/data/preview",
        data={"entity": "customers"},
        files={"file": ("c.csv", gbk_csv("WD-C", 3), "text/csv")},
    )
    refused = client.post("/data/imports", data={"staged": staged.group(1)})
    assert no_token.status_code == refused.status_code == 403
    assert site.customers("WD-C") == {}
    # another user may not confirm (nor discard) this upload
    other = http_login(site.base, "lin.hui")
    token = csrf_of(other.get("/data").text)
    stolen = other.post("/data/imports", data={"staged": staged.group(1), "csrf_token": token})
    assert stolen.status_code == 404
    discarded = client.post(
        "/data/discard", data={"staged": staged.group(1), "csrf_token": csrf_of(shown)}
    )
    assert discarded.status_code == 303
    assert not (site.root / "data" / "imports" / staged.group(1)).exists()


def test_the_page_in_english(site: Site) -> None:
    client = http_login(site.base, "admin")
    token = csrf_of(client.get("/data").text)
    client.post("/lang", data={"lang": "en", "next": "/data", "csrf_token": token})
    html = client.get("/data").text
    assert "Data import" in html and "Import history" in html and "rapport score" in html
    shown = preview(client, gbk_csv("WD-E", 2, bad=False)).text
    assert "Column mapping" in shown and "The first 2 rows" in shown
    # the page's own words are English; Chinese stays in the data only (headers, values)
    chrome = re.sub(r'<(td|p) class="data">[^<]*</\1>|<th scope="col">[^<]*</th>', "", shown)
    assert not re.search(r"[\u4e00-\u9fff]", chrome.split("<main", 1)[1]), chrome


# --- in the browser ------------------------------------------------------------------------


@pytest.fixture
def data_page(chromium: Any, site: Site) -> Iterator[Watched]:
    with watched_page(chromium, site.base, timeout_ms=30000) as watched:
        yield watched


@pytest.mark.browser
def test_upload_preview_progress_and_report_in_the_browser(
    data_page: Watched, tmp_path: Path
) -> None:
    page = data_page.page
    browser_login(page, "admin", next="/data")
    page.wait_for_selector("#upload-form")
    shot(page, "data-upload")
    path = tmp_path / "客户名单.csv"
    path.write_bytes(gbk_csv("WD-P", 40, bad=True))
    page.select_option("#entity", "customers")
    page.set_input_files("#file", str(path))
    page.click("#send")
    page.wait_for_selector("#preview-mapping")
    assert page.eval_on_selector("#upload-progress", "p => p.value") == 100
    assert "GBK" in page.inner_text("#preview-encoding")
    shot(page, "data-preview")
    page.click("#confirm")
    page.wait_for_selector("#job-progress")
    page.wait_for_selector('#job-status[data-state="done"]', timeout=60_000)
    assert page.eval_on_selector("#job-progress", "p => p.value") == 1
    assert "必填值缺失" in page.inner_text("#job-rejects")
    assert page.is_visible("#download-rejects")
    shot(page, "data-report")
    page.set_viewport_size({"width": 390, "height": 844})
    shot(page, "data-report-phone")
    data_page.clean()
