"""Import jobs: upload a file, poll the job, read the report and the rejects — on a real
app and a store of its own (SQLite, PostgreSQL), since the worker thread imports through
its own engine on the store URL and commits."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from rapport import imports as rapport_imports
from rapport.api.app import create_app
from rapport.api.routes import imports
from rapport.config import Settings
from rapport.domain import Role
from rapport.store import import_jobs as store_jobs
from rapport.store import schema, tokens, users
from rapport.store.db import session_scope

from .conftest import SECRET, bearer

URL = "/api/v1/imports"
POLL_SECONDS = 60

CUSTOMERS = [
    ["客户编号", "姓名", "手机号", "邮箱", "城市", "性别", "会员等级"],
    ["C001", "张伟", "138 1234 5678", "ZHANG.WEI@Example.COM", "深圳", "男", "金卡"],
    ["C002", "李娜", "+86 139-0000-1111", "lina@example.cn", "广州", "女", "银卡"],
    ["C003", "王芳", "13700001111", "", "北京", "女", ""],
]
BAD_ROWS = [
    ["客户编号", "姓名", "邮箱", "性别"],
    ["C101", "赵敏", "zhao@example.com", "女"],
    ["C102", "钱多", "not-an-e-mail", "男"],  # bad e-mail
    ["", "孙丽", "sun@example.com", "女"],  # no key
    ["C104", "周杰", "zhou@example.com", "外星"],  # bad gender
]


def csv_bytes(rows: list[list[str]], encoding: str = "utf-8") -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue().encode(encoding)


@dataclass
class Real:
    client: TestClient
    engine: Engine
    settings: Settings
    people: dict[str, dict[str, Any]]

    def headers(self, who: str) -> dict[str, str]:
        return bearer(self.people[who], self.settings)

    def upload(
        self,
        entity: str,
        name: str,
        content: bytes,
        who: str = "admin",
        **form: Any,
    ) -> Any:
        return self.client.post(
            f"{URL}/{entity}",
            files={"file": (name, content, "application/octet-stream")},
            data=form,
            headers=self.headers(who),
        )

    def wait(self, job_id: str, who: str = "admin") -> dict[str, Any]:
        deadline = time.monotonic() + POLL_SECONDS
        while True:
            answer = self.client.get(f"{URL}/{job_id}", headers=self.headers(who))
            assert answer.status_code == 200, answer.text
            job = answer.json()
            if job["status"] in ("done", "failed"):
                return job
            assert time.monotonic() < deadline, f"job still {job['status']}: {job}"
            time.sleep(0.05)

    def run(self, entity: str, name: str, content: bytes, who: str = "admin", **form: Any):
        answer = self.upload(entity, name, content, who, **form)
        assert answer.status_code == 202, answer.text
        return self.wait(answer.json()["id"], who)


@pytest.fixture
def real(fresh_engine: Engine, empty_url: str, tmp_path: Path) -> Iterator[Real]:
    """An app on a migrated store of its own, its settings naming that store."""
    settings = Settings(
        _env_file=None,
        database_url=empty_url,
        data_dir=tmp_path / "data",
        secret_key=SECRET,
        max_page_size=100,
    )
    people = {}
    with session_scope(fresh_engine) as session:
        for name, role in [
            ("admin", Role.ADMIN),
            ("manager", Role.MANAGER),
            ("manager2", Role.MANAGER),
            ("sales", Role.SALES),
            ("service", Role.SERVICE),
            ("analyst", Role.ANALYST),
        ]:
            people[name] = users.create_user(session=session, username=name, role=role)
    app = create_app(settings, engine=fresh_engine)
    with TestClient(app) as client:
        yield Real(client, fresh_engine, settings, people)


def _customers(engine: Engine) -> dict[str, Any]:
    with engine.connect() as conn:
        return {r.external_id: r for r in conn.execute(sa.select(schema.customers))}


def _audit(engine: Engine) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(sa.select(schema.audit_log).order_by(schema.audit_log.c.id)))


def test_gbk_customers_upload_is_imported_and_reported(real: Real) -> None:
    content = csv_bytes(CUSTOMERS, encoding="gbk")
    answer = real.upload("customers", "客户.csv", content)
    assert answer.status_code == 202, answer.text
    body = answer.json()
    assert body["status"] == "queued"
    assert body["poll"] == f"{URL}/{body['id']}"
    assert answer.headers["location"] == body["poll"]
    stored = real.settings.data_dir / "imports" / body["id"]
    assert (stored / "客户.csv").read_bytes() == content

    job = real.wait(body["id"])
    assert job["status"] == "done", job
    assert job["entity"] == "customers" and job["file"] == "客户.csv"
    assert job["size"] == len(content) and job["submitted_by"] == "admin"
    assert job["started_at"] and job["finished_at"] and job["error"] is None
    report = job["report"]
    assert report["encoding"] == "gb18030" and report["format"] == "csv"
    assert (report["read"], report["inserted"], report["updated"]) == (3, 3, 0)
    assert (report["unchanged"], report["rejected"]) == (0, 0)
    assert report["rejects_file"] is None and report["unknown_columns"] == ["会员等级"]
    with real.engine.connect() as conn:
        row = conn.execute(
            sa.select(schema.import_jobs).where(schema.import_jobs.c.id == body["id"])
        ).one()
    assert row.status == "done" and row.rows_inserted == 3 and row.report["format"] == "csv"
    assert row.directory == str(stored.resolve())

    rows = _customers(real.engine)
    assert set(rows) == {"C001", "C002", "C003"}
    assert rows["C001"].name == "张伟" and rows["C002"].phone == "+8613900001111"
    assert rows["C001"].extra == {"会员等级": "金卡"}

    # the same file again: every row found and unchanged
    again = real.run("customers", "客户.csv", content)
    assert (again["report"]["inserted"], again["report"]["unchanged"]) == (0, 3)

    listed = real.client.get(URL, headers=real.headers("admin")).json()
    assert listed["count"] == 2 and [j["id"] for j in listed["data"]] == [again["id"], job["id"]]

    entries = [(e.action, e.entity, e.entity_id) for e in _audit(real.engine)]
    assert ("import", "imports", job["id"]) in entries
    done = [e for e in _audit(real.engine) if e.entity == "customers"]
    assert done and done[0].actor == "admin" and done[0].detail["inserted"] == 3


def test_bad_rows_are_counted_and_the_rejects_downloaded(real: Real) -> None:
    job = real.run("customers", "bad.csv", csv_bytes(BAD_ROWS), who="manager")
    assert job["status"] == "done", job
    report = job["report"]
    # a bad e-mail and a bad gender are dropped with warnings; the row without a key is
    # rejected
    assert (report["read"], report["inserted"], report["rejected"]) == (4, 3, 1)
    assert (report["warnings"], report["warnings_file"]) == (2, "bad.warnings.csv")
    assert sum(report["reject_reasons"].values()) == 1
    assert report["rejects_file"] == "bad.rejects.csv"
    assert set(_customers(real.engine)) == {"C101", "C102", "C104"}
    warned = real.client.get(f"{URL}/{job['id']}/warnings", headers=real.headers("manager"))
    assert warned.status_code == 200, warned.text
    lines = list(csv.DictReader(io.StringIO(warned.content.decode("utf-8-sig"))))
    assert [(w["_row"], w["_column"], w["_value"]) for w in lines] == [
        ("3", "邮箱", "not-an-e-mail"),
        ("5", "性别", "外星"),
    ]

    answer = real.client.get(f"{URL}/{job['id']}/rejects", headers=real.headers("manager"))
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/csv")
    assert "bad.rejects.csv" in answer.headers["content-disposition"]
    rejects = list(csv.DictReader(io.StringIO(answer.content.decode("utf-8-sig"))))
    assert sorted(r["客户编号"] for r in rejects) == [""]
    assert all(r["_reason"] for r in rejects)
    exports = [e for e in _audit(real.engine) if e.action == "export"]
    assert exports and exports[0].entity_id == job["id"]

    # strict: the job fails when a row is rejected, and keeps its report
    strict = real.run("customers", "bad.csv", csv_bytes(BAD_ROWS), strict="true")
    assert strict["status"] == "failed" and strict["error"]["code"] == "rows_rejected"
    assert strict["report"]["rejected"] == 3 and strict["report"]["unchanged"] == 1


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.csv", b"", "empty.csv: the file is empty"),
        ("sheet.xlsx", "客户编号\nC1\n".encode(), "sheet.xlsx: not a spreadsheet"),
        ("old.xls", b"\xd0\xcf\x11\xe0" + b"\0" * 64, "old Excel .xls file"),
        ("pic.parquet", b"GIF89a" * 10, "not a Parquet file"),
        ("cols.csv", csv_bytes([["姓名"], ["张伟"]]), "no column for required field"),
    ],
)
def test_an_unreadable_file_fails_the_job_with_the_message(
    real: Real, name: str, content: bytes, message: str
) -> None:
    job = real.run("customers", name, content)
    assert job["status"] == "failed" and job["finished_at"], job
    assert message in job["error"]["message"]
    assert str(real.settings.data_dir) not in json.dumps(job["error"])
    assert job["report"] is None
    answer = real.client.get(f"{URL}/{job['id']}/rejects", headers=real.headers("admin"))
    assert answer.status_code == 404


def test_a_crash_of_the_importer_fails_the_job(real: Real, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*_args: Any, **_kwargs: Any) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(rapport_imports, "import_file", broken)
    job = real.run("customers", "c.csv", csv_bytes(CUSTOMERS))
    assert job["status"] == "failed" and job["error"]["code"] == "internal_error"
    assert "boom" not in job["error"]["message"]


def _set_job(engine: Engine, job_id: str, **values: Any) -> None:
    jobs = schema.import_jobs
    with engine.begin() as conn:
        conn.execute(sa.update(jobs).where(jobs.c.id == job_id).values(**values))


def test_a_job_whose_heartbeat_stopped_is_failed_when_read(real: Real) -> None:
    answer = real.upload("customers", "c.csv", csv_bytes(CUSTOMERS))
    job = real.wait(answer.json()["id"])
    now = dt.datetime.now(dt.UTC)
    # a job still running, held by a process that stopped: its last heartbeat is old
    stale = now - store_jobs.STALE_AFTER - dt.timedelta(seconds=5)
    _set_job(real.engine, job["id"], status="running", finished_at=None, heartbeat_at=stale)
    settled = real.client.get(f"{URL}/{job['id']}", headers=real.headers("admin")).json()
    assert settled["status"] == "failed" and settled["error"]["code"] == "interrupted"
    assert "no sign of life" in settled["error"]["message"]
    assert settled["error"]["hint"].startswith("upload the file again")
    # recorded in the store, so every process (and the list) reads it failed
    with real.engine.connect() as conn:
        row = conn.execute(
            sa.select(schema.import_jobs).where(schema.import_jobs.c.id == job["id"])
        ).one()
    assert row.status == "failed" and row.finished_at is not None
    listed = real.client.get(URL, headers=real.headers("admin")).json()
    assert listed["data"][0]["status"] == "failed"

    # a heartbeat within the limit: the job is still running
    _set_job(
        real.engine, job["id"], status="running", finished_at=None, error=None, heartbeat_at=now
    )
    fresh = real.client.get(f"{URL}/{job['id']}", headers=real.headers("admin")).json()
    assert fresh["status"] == "running" and fresh["error"] is None


@pytest.mark.slow  # a real server or worker, waiting on real time
def test_the_worker_refreshes_the_heartbeat_of_the_jobs_it_holds(
    real: Real, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_jobs, "HEARTBEAT", dt.timedelta(seconds=0.05))
    started = threading.Event()
    release = threading.Event()

    def slow(*_args: Any, **_kwargs: Any) -> None:
        started.set()
        assert release.wait(POLL_SECONDS)
        raise RuntimeError("stopped by the test")

    monkeypatch.setattr(rapport_imports, "import_file", slow)
    answer = real.upload("customers", "c.csv", csv_bytes(CUSTOMERS))
    job_id = answer.json()["id"]
    assert started.wait(POLL_SECONDS)
    old = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
    _set_job(real.engine, job_id, heartbeat_at=old)
    deadline = time.monotonic() + POLL_SECONDS
    jobs = schema.import_jobs
    while True:
        with real.engine.connect() as conn:
            beat = conn.execute(sa.select(jobs.c.heartbeat_at).where(jobs.c.id == job_id))
            if beat.scalar_one() > old:
                break
        assert time.monotonic() < deadline, "no heartbeat"
        time.sleep(0.05)
    running = real.client.get(f"{URL}/{job_id}", headers=real.headers("admin")).json()
    assert running["status"] == "running"
    release.set()
    assert real.wait(job_id)["status"] == "failed"


def test_a_job_imports_into_the_store_the_server_serves(real: Real, tmp_path: Path) -> None:
    # an app given its engine apart from its settings (whose URL names another file): the
    # job's worker writes to the served store, not to the file the settings name
    elsewhere = real.settings.model_copy(
        update={"database_url": f"sqlite:///{tmp_path / 'elsewhere.db'}"}
    )
    app = create_app(elsewhere, engine=real.engine)
    with TestClient(app) as client:
        served = Real(client, real.engine, real.settings, real.people)
        job = served.run("customers", "good.csv", csv_bytes(CUSTOMERS))
    assert job["status"] == "done", job
    assert set(_customers(real.engine)) == {"C001", "C002", "C003"}
    assert not (tmp_path / "elsewhere.db").exists()


def test_two_apps_on_the_same_store_see_the_same_jobs(real: Real, tmp_path: Path) -> None:
    # another server process: its own app and data folder, the same store
    other_settings = real.settings.model_copy(update={"data_dir": tmp_path / "other"})
    other_app = create_app(other_settings, engine=real.engine)
    job = real.run("customers", "bad.csv", csv_bytes(BAD_ROWS))
    with TestClient(other_app) as other:
        seen = other.get(f"{URL}/{job['id']}", headers=real.headers("admin"))
        assert seen.status_code == 200 and seen.json() == job
        listed = other.get(URL, headers=real.headers("admin")).json()
        assert [j["id"] for j in listed["data"]] == [job["id"]] and listed["count"] == 1
        rejects = other.get(f"{URL}/{job['id']}/rejects", headers=real.headers("admin"))
        assert rejects.status_code == 200 and "孙丽" in rejects.text
        queued = other.post(
            f"{URL}/customers",
            files={"file": ("c.csv", csv_bytes(CUSTOMERS), "text/csv")},
            headers=real.headers("admin"),
        )
        assert queued.status_code == 202
    done = real.wait(queued.json()["id"])
    assert done["status"] == "done" and done["report"]["inserted"] == 3


@pytest.mark.parametrize("who", ["sales", "service", "analyst"])
def test_other_roles_are_refused(real: Real, who: str) -> None:
    job = real.run("customers", "c.csv", csv_bytes(CUSTOMERS))
    assert real.upload("customers", "c.csv", b"x", who).status_code == 403
    for path in (URL, f"{URL}/{job['id']}", f"{URL}/{job['id']}/rejects"):
        assert real.client.get(path, headers=real.headers(who)).status_code == 403


def test_managers_see_their_own_jobs_and_may_not_import_users(real: Real) -> None:
    mine = real.run("customers", "c.csv", csv_bytes(CUSTOMERS), who="manager")
    theirs = real.run("customers", "c.csv", csv_bytes(CUSTOMERS), who="manager2")
    assert mine["status"] == theirs["status"] == "done"
    listed = real.client.get(URL, headers=real.headers("manager")).json()
    assert [j["id"] for j in listed["data"]] == [mine["id"]] and listed["count"] == 1
    other = real.client.get(f"{URL}/{theirs['id']}", headers=real.headers("manager"))
    missing = real.client.get(f"{URL}/{'0' * 32}", headers=real.headers("manager"))
    assert other.status_code == missing.status_code == 404
    assert other.json()["error"] == {
        "code": "not_found",
        "message": f"no import job with id {theirs['id']}",
        "field": "path.job_id",
        "value": None,
        "hint": None,
    }
    everyone = real.client.get(URL, headers=real.headers("admin")).json()
    assert everyone["count"] == 2

    users_csv = csv_bytes([["username", "role"], ["mallory", "admin"]])
    assert real.upload("users", "u.csv", users_csv, "manager").status_code == 403


def test_api_tokens_need_the_imports_scopes(real: Real) -> None:
    with session_scope(real.engine) as session:
        reader, _ = tokens.issue(
            session=session,
            user_id=real.people["admin"]["id"],
            name="r",
            scopes=["imports:read"],
        )
        writer, _ = tokens.issue(
            session=session,
            user_id=real.people["admin"]["id"],
            name="w",
            scopes=["imports:write", "imports:read"],
        )
    files = {"file": ("c.csv", csv_bytes(CUSTOMERS), "text/csv")}
    refused = real.client.post(
        f"{URL}/customers", files=files, headers={"Authorization": f"Bearer {reader}"}
    )
    assert refused.status_code == 403 and refused.json()["error"]["field"] == "scopes"
    accepted = real.client.post(
        f"{URL}/customers", files=files, headers={"Authorization": f"Bearer {writer}"}
    )
    assert accepted.status_code == 202
    assert real.wait(accepted.json()["id"])["submitted_by"] == "admin (token w)"


def test_unknown_entity_is_422_naming_the_valid_ones(real: Real) -> None:
    answer = real.upload("clients", "c.csv", csv_bytes(CUSTOMERS))
    assert answer.status_code == 422
    error = answer.json()["error"]
    assert error["field"] == "path.entity" and error["value"] == "clients"
    assert "customers" in error["message"] and "orders" in error["message"]


def test_unknown_job_is_404(real: Real) -> None:
    for job_id in ("0" * 32, "not-a-job", "..", "%2E%2E%2Fjob"):
        answer = real.client.get(f"{URL}/{job_id}", headers=real.headers("admin"))
        assert answer.status_code == 404, (job_id, answer.text)
        rejects = real.client.get(f"{URL}/{job_id}/rejects", headers=real.headers("admin"))
        assert rejects.status_code == 404


@pytest.mark.parametrize(
    "name", ["../evil.csv", "..\\evil.csv", "/etc/passwd", ".hidden.csv", "job.json", ".."]
)
def test_file_names_that_leave_the_job_folder_are_refused(real: Real, name: str) -> None:
    answer = real.upload("customers", name, csv_bytes(CUSTOMERS))
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["field"] == "body.file"
    assert not (real.settings.data_dir / "imports").exists() or not any(
        (real.settings.data_dir / "imports").iterdir()
    )


def test_odd_characters_in_a_file_name_are_replaced() -> None:
    assert imports.safe_file_name("客户 (1).csv") == "客户 (1).csv"
    assert imports.safe_file_name('a<b>:"c|?*\x07.csv') == "a_b___c____.csv"
    long = imports.safe_file_name("x" * 500 + ".csv")
    assert len(long) == rapport_imports.MAX_NAME_CHARS and long.endswith(".csv")


def test_a_body_over_the_limit_is_413(fresh_engine: Engine, empty_url: str, tmp_path: Path) -> None:
    settings = Settings(
        _env_file=None,
        database_url=empty_url,
        data_dir=tmp_path / "data",
        secret_key=SECRET,
        max_body_bytes=1000,
    )
    with session_scope(fresh_engine) as session:
        admin = users.create_user(session=session, username="admin", role=Role.ADMIN)
    with TestClient(create_app(settings, engine=fresh_engine)) as client:
        answer = client.post(
            f"{URL}/customers",
            files={"file": ("big.csv", b"x" * 5000, "text/csv")},
            headers=bearer(admin, settings),
        )
    assert answer.status_code == 413
    assert answer.json()["error"]["code"] == "content_too_large"


def test_a_job_runs_with_its_uploader_s_scope(real: Real) -> None:
    owned = [["客户编号", "姓名", "负责人"], ["C001", "张伟", "sales"], ["C002", "李娜", ""]]
    assert real.run("customers", "a.csv", csv_bytes(owned))["status"] == "done"
    # a manager without a team: their own customers and the unowned pool
    attempt = [
        ["客户编号", "姓名", "负责人"],
        ["C001", "改名", "manager"],  # another user's customer: refused, not taken over
        ["C002", "李娜娜", ""],  # unowned: in scope, updated
        ["C003", "新客", "sales"],  # given to a user the manager may not assign: refused
        ["C004", "新客二", "manager"],  # their own: inserted
    ]
    job = real.run("customers", "m.csv", csv_bytes(attempt), who="manager")
    report = job["report"]
    assert (report["inserted"], report["updated"], report["rejected"]) == (1, 1, 2), report
    got = _customers(real.engine)
    assert got["C001"].name == "张伟" and got["C001"].owner_id == real.people["sales"]["id"]
    assert got["C002"].name == "李娜娜" and "C003" not in got and "C004" in got
    orders = [
        ["订单号", "客户编号", "下单时间", "实付金额"],
        ["O1", "C001", "2024-03-01", "5.00"],
        ["O2", "C004", "2024-03-01", "5.00"],
    ]
    job = real.run("orders", "o.csv", csv_bytes(orders), who="manager")
    assert (job["report"]["inserted"], job["report"]["rejected"]) == (1, 1)
    assert job["report"]["defaults"] == {
        "status": "completed (a list of sales)",
        "currency": "the business currency",
    }
