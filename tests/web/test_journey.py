"""A manager's journey in Chromium, from a shop's export to a call on a diamond customer's
timeline: log in, upload a GBK export of orders with Chinese headers, read the import
report, run scoring, open a customer the new orders made a diamond, log a call and see it
on the timeline. And, over HTTP, the Data page's scoring job while it runs: its step, the
refusal of a second run, the roles and the CSRF check.

It writes, so it runs on a copy of the web store as built, served by a ``rapport serve`` of
its own.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from rapport import imports, scoring
from rapport.store import import_jobs, schema
from rapport.store.db import create_engine, session_scope
from rapport.store.repository import utcnow
from tests.web.conftest import (
    STAFF,
    Watched,
    WebStore,
    browser_login,
    csrf_of,
    http_login,
    serve,
    shot,
    watched_page,
)

_c = schema.customers.c
_s = schema.customer_scores.c
_i = schema.interactions.c
#: Orders of the export, per customer.
ORDERS_EACH = 3


def scalar(engine: sa.Engine, stmt: Any) -> Any:
    with engine.connect() as conn:
        return conn.execute(stmt).scalar()


@pytest.fixture
def site(web_store: WebStore, tmp_path: Path) -> Iterator[tuple[str, sa.Engine]]:
    shutil.copy(web_store.pristine, tmp_path / "rapport.db")
    url = f"sqlite:///{tmp_path / 'rapport.db'}"
    engine = create_engine(url)
    try:
        with serve(url, tmp_path) as base:
            yield base, engine
    finally:
        engine.dispose()


@pytest.fixture
def journey_page(chromium: Any, site: tuple[str, sa.Engine]) -> Iterator[Watched]:
    with watched_page(chromium, site[0], timeout_ms=30_000) as watched:
        yield watched


def gbk_orders(customers: list[str], day: dt.date) -> bytes:
    """An export of orders as a Chinese shop system writes it: GBK, Chinese headers,
    dates with slashes, amounts with a currency sign."""
    lines = ["订单号,客户编号,下单时间,实付金额"]
    for n, customer in enumerate(customers):
        for k in range(ORDERS_EACH):
            when = day - dt.timedelta(days=3 + 7 * k)
            lines.append(f"JR-{n:02d}{k},{customer},{when:%Y/%m/%d} 10:3{k},￥{1288 + 100 * k}.00")
    return ("\r\n".join(lines) + "\r\n").encode("gbk")


@pytest.mark.browser
def test_a_manager_imports_orders_scores_and_calls_a_diamond_customer(
    journey_page: Watched, site: tuple[str, sa.Engine], web_store: WebStore, tmp_path: Path
) -> None:
    _base, engine = site
    page = journey_page.page
    today = scoring.today(web_store.settings.tz)  # the day scoring scores by default
    # the buyers: customers the manager may import for (unowned: the team has no sales
    # users) who are happy, involved and not at risk in the latest snapshot — recent orders
    # put them in the top revenue and make them diamonds
    latest = sa.select(sa.func.max(_s.as_of)).scalar_subquery()
    candidates = (
        sa.select(_c.id, _c.external_id)
        .join(schema.customer_scores, _s.customer_id == _c.id)
        .where(_c.owner_id.is_(None), _s.as_of == latest)
        .where(_s.satisfaction >= 60, _s.engagement >= 20, _s.churn_risk < 0.5)
        .order_by(_s.monetary.desc())
        .limit(3)
    )
    buyers = {r["id"]: r["external_id"] for r in web_store.rows(candidates)}
    customers = list(buyers.values())
    export = tmp_path / "订单导出.csv"
    export.write_bytes(gbk_orders(customers, today))
    orders_before = scalar(engine, sa.select(sa.func.count()).select_from(schema.orders))

    # log in: a manager lands on the overview
    browser_login(page, STAFF["manager"])
    page.wait_for_url("**/overview")
    page.wait_for_load_state("networkidle")

    # upload the export and read the preview
    page.click('nav a[href="/data"]')
    page.wait_for_selector("#upload-form")
    page.select_option("#entity", "orders")
    page.set_input_files("#file", str(export))
    page.click("#send")
    page.wait_for_selector("#preview-mapping")
    assert "GBK" in page.inner_text("#preview-encoding")
    mapping = page.inner_text("#preview-mapping")
    for header in ("订单号", "客户编号", "下单时间", "实付金额"):
        assert header in mapping
    assert "未识别" not in mapping
    shot(page, "journey-preview")

    # import, and read the report
    page.click("#confirm")
    page.wait_for_selector('#job-status[data-state="done"]', timeout=60_000)
    counts = page.inner_text("#job-counts")
    uploaded = len(customers) * ORDERS_EACH
    assert re.search(rf"新增\s*{uploaded}\b", counts), counts
    assert re.search(r"拒绝\s*0\b", counts), counts
    orders_after = scalar(engine, sa.select(sa.func.count()).select_from(schema.orders))
    assert orders_after == orders_before + uploaded
    shot(page, "journey-report")

    # run scoring from the Data page, watch it to the end
    page.click('a[href="/data"]')
    page.wait_for_selector("#run-scoring")
    page.click("#run-scoring")
    page.wait_for_selector("#job-progress")
    page.wait_for_selector('#job-status[data-state="done"]', timeout=240_000)
    customers_count = scalar(engine, sa.select(sa.func.count()).select_from(schema.customers))
    scored = page.inner_text("#job-counts .count-scored strong")
    assert int(scored.replace(",", "")) == customers_count
    snapshot = sa.select(sa.func.count()).select_from(schema.customer_scores)
    assert scalar(engine, snapshot.where(_s.as_of == today)) == customers_count
    shot(page, "journey-scoring")
    # the scoring job is in the job history beside the import
    page.goto("/data")
    history = page.inner_text("#job-history")
    assert "评分" in history and "订单导出.csv" in history

    # open a diamond customer from the new snapshot
    page.go_back()  # to the scoring job's report, which links to the diamonds
    page.click("#scoring-next a")
    page.wait_for_url("**/diamonds")
    page.wait_for_selector("#diamond-table")
    listed = [
        int(i)
        for i in page.eval_on_selector_all(
            "#diamond-table tr[data-customer-id]", "rs => rs.map(r => r.dataset.customerId)"
        )
    ]
    new_diamonds = [i for i in listed if i in buyers]
    assert new_diamonds, (listed, buyers)
    customer_id = new_diamonds[0]
    tier = scalar(
        engine, sa.select(_s.value_tier).where(_s.customer_id == customer_id, _s.as_of == today)
    )
    assert getattr(tier, "value", tier) == "diamond"
    page.click(f'#diamond-table tr[data-customer-id="{customer_id}"] a.customer-link')
    page.wait_for_url(f"**/customers/{customer_id}")

    # log a call and see it on the timeline
    subject = f"钻石客户回访 {today:%m%d}"
    page.select_option("#interaction-channel", "phone")
    page.select_option("#interaction-direction", "outbound")
    page.fill("#interaction-subject", subject)
    page.fill("#interaction-duration", "6")
    page.click("#interaction-submit")
    page.wait_for_selector("#interaction-saved")
    first = page.locator("#timeline tbody tr").first
    assert subject in first.inner_text() and "电话" in first.inner_text()
    stored = scalar(
        engine,
        sa.select(sa.func.count()).where(_i.customer_id == customer_id, _i.subject == subject),
    )
    assert stored == 1
    shot(page, "journey-timeline")
    journey_page.clean()


def test_a_running_scoring_job_shows_its_step_and_blocks_a_second_run(
    site: tuple[str, sa.Engine], web_store: WebStore, tmp_path: Path
) -> None:
    base, engine = site
    folder = tmp_path / "scoring-job"
    folder.mkdir()
    (folder / imports.PROGRESS_FILE).write_text('{"step": "compute"}', "utf-8")
    with session_scope(engine, writing=True) as session:
        job = import_jobs.create(
            session=session,
            values={
                "entity": imports.SCORING,
                "file": "2026-11-30",
                "directory": str(folder),
                "size": 0,
                "strict": False,
                "submitted_by": STAFF["manager"],
                "submitted_by_id": web_store.ids["manager"],
                "submitted_at": utcnow(),
                "status": "running",
                "started_at": utcnow(),
            },
        )
    manager = http_login(base, STAFF["manager"])
    page = manager.get(f"/data/jobs/{job['id']}", headers={"HX-Request": "true"}).text
    step = imports.SCORING_STEPS.index("compute") + 1
    assert f'max="{len(imports.SCORING_STEPS)}" value="{step - 1}"' in page
    assert f"第 {step}/{len(imports.SCORING_STEPS)} 步,计算评分" in page
    assert 'hx-trigger="every 1s"' in page and "2026-11-30" in page
    # the history lists it as scoring; a second run is refused while it runs
    home = manager.get("/data").text
    assert f'data-job-id="{job["id"]}"' in home and "评分" in home
    refused = manager.post("/data/scoring", data={"csrf_token": csrf_of(home)})
    assert refused.status_code == 409 and "已有评分任务在排队或运行" in refused.text
    assert manager.post("/data/scoring", data={"csrf_token": "forged"}).status_code == 403
    count = sa.select(sa.func.count()).where(schema.import_jobs.c.entity == imports.SCORING)
    assert scalar(engine, count) == 1
    # the page in English
    manager.post("/lang", data={"lang": "en", "next": "/data", "csrf_token": csrf_of(home)})
    english = manager.get(f"/data/jobs/{job['id']}").text
    assert "<h1>Scoring job</h1>" in english
    assert f"Scoring: step {step} of {len(imports.SCORING_STEPS)}, computing the scores" in english
    # other roles have no Data page, nor its button
    sales = http_login(base, STAFF["sales"])
    token = csrf_of(sales.get("/customers").text)
    assert sales.post("/data/scoring", data={"csrf_token": token}).status_code == 403
    assert scalar(engine, count) == 1
