"""Scoring jobs over the API: ``POST /jobs/scoring`` runs the scoring pipeline in the
background and ``GET /jobs/scoring/{id}`` follows it — on a real app and a store of its own
(SQLite, PostgreSQL); a second run is refused while one is unfinished; the import routes
never show a scoring job, nor the scoring routes an import."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from rapport import imports
from rapport.store import import_jobs, schema
from rapport.store.db import session_scope
from rapport.store.repository import utcnow

from .test_imports import CUSTOMERS, Real, csv_bytes, real  # noqa: F401 (its fixture)

URL = "/api/v1/jobs/scoring"
POLL_SECONDS = 240
AS_OF = dt.date(2026, 6, 30)


def orders_csv() -> bytes:
    rows = [["订单号", "客户编号", "下单时间", "实付金额"]]
    for n, customer in enumerate(("C001", "C002", "C003")):
        for k in range(n + 1):
            rows.append([f"O{n}{k}", customer, f"2026-0{3 + k}-1{n} 10:00", str(100 * (n + k + 1))])
    return csv_bytes(rows, encoding="gbk")


@pytest.fixture
def app(real: Real) -> Real:  # noqa: F811
    """The import tests' app on a store of its own (its worker runs the scoring jobs too)."""
    return real


def wait(app: Real, job_id: str, who: str = "admin") -> dict[str, Any]:
    deadline = time.monotonic() + POLL_SECONDS
    while True:
        answer = app.client.get(f"{URL}/{job_id}", headers=app.headers(who))
        assert answer.status_code == 200, answer.text
        job = answer.json()
        if job["status"] in ("done", "failed"):
            return job
        assert time.monotonic() < deadline, f"job still {job['status']}: {job}"
        time.sleep(0.2)


def unfinished_job(app: Real, *, heartbeat: dt.datetime | None = None) -> str:
    """A scoring job recorded as running (by another process), its heartbeat as given."""
    with session_scope(app.engine) as session:
        row = import_jobs.create(
            session=session,
            values={
                "entity": imports.SCORING,
                "file": AS_OF.isoformat(),
                "directory": str(app.settings.data_dir),
                "size": 0,
                "strict": False,
                "submitted_by": "admin",
                "submitted_by_id": app.people["admin"]["id"],
                "submitted_at": utcnow(),
                "status": "running",
            },
        )
        if heartbeat is not None:
            import_jobs.update(session=session, id=row["id"], values={"heartbeat_at": heartbeat})
    return row["id"]


def test_a_scoring_job_scores_the_store_and_is_audited(app: Real) -> None:
    assert app.run("customers", "c.csv", csv_bytes(CUSTOMERS, "gbk"))["status"] == "done"
    assert app.run("orders", "o.csv", orders_csv())["status"] == "done"
    answer = app.client.post(URL, params={"as_of": str(AS_OF)}, headers=app.headers("manager"))
    assert answer.status_code == 202, answer.text
    body = answer.json()
    assert body["status"] == "queued" and answer.headers["location"] == body["poll"]
    assert body["poll"] == f"{URL}/{body['id']}"

    job = wait(app, body["id"], "manager")
    assert job["status"] == "done", job
    assert job["as_of"] == str(AS_OF) and job["submitted_by"] == "manager"
    assert job["step"] is None and job["error"] is None
    report = job["report"]
    assert report["as_of"] == str(AS_OF) and report["rows"] == 3
    assert {"compute", "metrics", "write"} <= set(report["seconds"])
    # every timed step is one the job's page names (a step it cannot name fails the page)
    assert set(report["seconds"]) <= set(imports.SCORING_STEPS)
    s = schema.customer_scores.c
    with app.engine.connect() as conn:
        scored = conn.execute(sa.select(sa.func.count()).where(s.as_of == AS_OF)).scalar()
        audit = conn.execute(
            sa.select(schema.audit_log.c.action, schema.audit_log.c.detail).where(
                schema.audit_log.c.entity == imports.SCORING,
                schema.audit_log.c.entity_id == body["id"],
            )
        ).all()
    assert scored == 3
    actions = sorted(getattr(a.action, "value", a.action) for a in audit)
    assert actions == ["create", "update"]
    assert any(a.detail.get("rows") == 3 for a in audit)

    # the import routes list and find the imports only; the scoring route the scoring jobs
    listed = app.client.get("/api/v1/imports", headers=app.headers("admin")).json()
    assert listed["count"] == 2 and body["id"] not in {j["id"] for j in listed["data"]}
    as_import = app.client.get(f"/api/v1/imports/{body['id']}", headers=app.headers("admin"))
    assert as_import.status_code == 404
    an_import = listed["data"][0]["id"]
    as_scoring = app.client.get(f"{URL}/{an_import}", headers=app.headers("admin"))
    assert as_scoring.status_code == 404
    # another manager's job reads as missing; an admin sees it
    other = app.client.get(f"{URL}/{body['id']}", headers=app.headers("manager2"))
    assert other.status_code == 404
    assert other.json()["error"] == {
        "code": "not_found",
        "message": f"no scoring job with id {body['id']}",
        "field": "path.job_id",
        "value": None,
        "hint": None,
    }
    assert app.client.get(f"{URL}/{body['id']}", headers=app.headers("admin")).status_code == 200


def test_a_second_run_is_refused_while_one_is_unfinished(
    app: Real, monkeypatch: pytest.MonkeyPatch
) -> None:
    queued: list[Any] = []
    monkeypatch.setattr(imports.WORKER, "submit", queued.append)
    running = unfinished_job(app)
    refused = app.client.post(URL, headers=app.headers("admin"))
    assert refused.status_code == 409, refused.text
    error = refused.json()["error"]
    assert running in error["message"] and error["field"] == "scoring"
    assert not queued
    # a job whose process is gone (stale heartbeat) does not block a new one
    stale_id = unfinished_job(app, heartbeat=utcnow() - import_jobs.STALE_AFTER * 2)
    with session_scope(app.engine) as session:
        import_jobs.update(session=session, id=running, values={"status": "done"})
    accepted = app.client.post(URL, headers=app.headers("admin"))
    assert accepted.status_code == 202, accepted.text
    assert [task.job_id for task in queued] == [accepted.json()["id"]]
    stale = app.client.get(f"{URL}/{stale_id}", headers=app.headers("admin")).json()
    assert stale["status"] == "failed" and stale["error"]["code"] == "interrupted"


@pytest.mark.parametrize("who", ["sales", "service", "analyst"])
def test_other_roles_are_refused(app: Real, who: str) -> None:
    assert app.client.post(URL, headers=app.headers(who)).status_code == 403
    assert app.client.get(f"{URL}/{'0' * 32}", headers=app.headers(who)).status_code == 403


def test_the_step_of_a_running_job_is_read_from_its_folder(tmp_path: Path) -> None:
    row = {"entity": imports.SCORING, "status": "running", "directory": str(tmp_path)}
    assert imports.scoring_step(row) is None  # before the first step
    (tmp_path / imports.PROGRESS_FILE).write_text('{"step": "compute"}', "utf-8")
    assert imports.scoring_step(row) == ("compute", imports.SCORING_STEPS.index("compute") + 1)
    assert imports.scoring_step({**row, "status": "done"}) is None
    (tmp_path / imports.PROGRESS_FILE).write_text('{"step": "elsewhere"}', "utf-8")
    assert imports.scoring_step(row) is None


def test_every_step_has_a_label_in_both_languages() -> None:
    from rapport.web import i18n

    for step in imports.SCORING_STEPS:
        key = "data.step." + step.replace(" ", "_")
        assert all(i18n.text(key, locale) for locale in i18n.LOCALES), step
