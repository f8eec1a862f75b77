"""`rapport tasks` and `rapport alerts`: listed as table, JSON and CSV, done, skipped only
with a reason, added by hand for a user, expired; the alert run raising once, alerts
acknowledged and resolved, each write audited under --by."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from typing import Any

import pytest
from typer.testing import CliRunner

from rapport.cli.main import app
from rapport.config import get_settings
from rapport.domain import AlertKind, AlertSeverity, Role
from rapport.store import alerts, customers, session_scope, tasks, users
from rapport.store.db import create_engine, upgrade
from tests.helpers import audit_entries

runner = CliRunner()
NOW = dt.datetime.now(dt.UTC)


@pytest.fixture
def store() -> dict[str, Any]:
    """A customer, a staff user, two open tasks (one long past due) and an alert."""
    engine = create_engine(get_settings().database_url)
    try:
        upgrade(engine)
        with session_scope(engine) as s:
            staff = users.create_user(session=s, username="li.na", role=Role.SALES, team="east")
            c = customers.repo.create(
                session=s, values={"external_id": "C-1", "name": "张伟", "owner_id": staff["id"]}
            )
            due = NOW + dt.timedelta(days=1)
            soon = tasks.add_task(
                session=s,
                task=tasks.NewTask(c["id"], "回访", due, assignee_id=staff["id"]),
                at=NOW,
            )
            old = tasks.add_task(
                session=s,
                task=tasks.NewTask(c["id"], "生日礼物", NOW - dt.timedelta(days=30), team="east"),
                at=NOW - dt.timedelta(days=31),
            )
            alert_id, _ = alerts.raise_alert(
                session=s,
                kind=AlertKind.NPS_DETRACTOR,
                dedup_key="nps_detractor:1",
                severity=AlertSeverity.WARNING,
                customer_id=c["id"],
                details={"score": 3},
                at=NOW,
            )
        return {"customer": c["id"], "user": staff, "soon": soon, "old": old, "alert": alert_id}
    finally:
        engine.dispose()


def _invoke(*args: str) -> Any:
    result = runner.invoke(app, list(args))
    return result


def test_list_in_three_formats(store: dict[str, Any]) -> None:
    table = _invoke("tasks", "list")
    assert table.exit_code == 0, table.output
    assert "回访" in table.output and "生日礼物" in table.output
    doc = json.loads(_invoke("tasks", "list", "--format", "json").output)
    assert [t["id"] for t in doc["tasks"]] == [store["old"], store["soon"]]  # soonest due first
    assert doc["count"] == 2
    rows = list(csv.DictReader(io.StringIO(_invoke("tasks", "list", "--format", "csv").output)))
    assert {r["title"] for r in rows} == {"回访", "生日礼物"}
    mine = json.loads(_invoke("tasks", "list", "--assignee", "li.na", "--format", "json").output)
    assert [t["id"] for t in mine["tasks"]] == [store["soon"]]


def test_done_skip_add_and_expire(store: dict[str, Any]) -> None:
    done = _invoke("tasks", "done", str(store["soon"]), "--result", "reached", "--by", "li.na")
    assert done.exit_code == 0, done.output
    no_reason = _invoke("tasks", "skip", str(store["old"]), "--reason", " ")
    assert no_reason.exit_code != 0
    added = _invoke(
        "tasks",
        "add",
        str(store["customer"]),
        "--title",
        "送礼",
        "--due",
        "2030-01-01",
        "--assignee",
        "li.na",
        "--format",
        "json",
    )
    assert added.exit_code == 0, added.output
    new = json.loads(added.output)["tasks"][0]
    assert (new["assignee_id"], new["status"]) == (store["user"]["id"], "open")
    expired = _invoke("tasks", "expire", "--format", "json")
    assert json.loads(expired.output)["rows"][0]["expired"] == 1  # the old one, not 2030's
    doc = json.loads(_invoke("tasks", "list", "--status", "expired", "--format", "json").output)
    assert [t["id"] for t in doc["tasks"]] == [store["old"]]
    engine = create_engine(get_settings().database_url)
    try:
        entries = audit_entries(engine, entity="tasks")
    finally:
        engine.dispose()
    assert [(e["actor"], e["action"]) for e in entries] == [("li.na", "update"), ("cli", "create")]


def test_pages_follow_the_cursor_and_a_change_prints_the_row(store: dict[str, Any]) -> None:
    first = json.loads(_invoke("tasks", "list", "--limit", "1", "--format", "json").output)
    assert first["count"] == 2 and len(first["tasks"]) == 1 and first["next_cursor"]
    after = ("--after", first["next_cursor"])
    second = json.loads(_invoke("tasks", "list", "--limit", "1", *after, "--format", "json").output)
    assert [t["id"] for t in first["tasks"] + second["tasks"]] == [store["old"], store["soon"]]
    assert second["next_cursor"] is None
    why = "客户出差"
    skipped = _invoke(
        "tasks", "skip", str(store["old"]), "--reason", why, "--by", "li.na", "--format", "json"
    )
    assert skipped.exit_code == 0, skipped.output
    task = json.loads(skipped.output)["tasks"][0]
    assert (task["id"], task["status"], task["skip_reason"]) == (store["old"], "skipped", why)
    acked = _invoke("alerts", "ack", str(store["alert"]), "--format", "json")
    assert acked.exit_code == 0, acked.output
    assert json.loads(acked.output)["alerts"][0]["status"] == "acknowledged"
    assert _invoke("tasks", "done", str(store["soon"]), "--by", "nobody").exit_code != 0
    engine = create_engine(get_settings().database_url)
    try:
        entries = audit_entries(engine, entity="tasks")
    finally:
        engine.dispose()
    assert [(e["actor"], e["action"]) for e in entries] == [("li.na", "update")]


def test_alerts_ack_resolve_and_run(store: dict[str, Any]) -> None:
    listed = json.loads(_invoke("alerts", "list", "--format", "json").output)
    assert [a["id"] for a in listed["alerts"]] == [store["alert"]]
    assert _invoke("alerts", "ack", str(store["alert"]), "--by", "li.na").exit_code == 0
    assert _invoke("alerts", "resolve", str(store["alert"])).exit_code == 0
    again = _invoke("alerts", "resolve", str(store["alert"]))
    assert again.exit_code != 0
    unresolved = json.loads(
        _invoke("alerts", "list", "--status", "unresolved", "--format", "json").output
    )
    assert unresolved["alerts"] == []
    first = _invoke("alerts", "run", "--format", "json")
    assert first.exit_code == 0, first.output
    second = json.loads(_invoke("alerts", "run", "--format", "json").output)["runs"][0]
    assert second["raised"] == 0 and second["messages"] == 0
    assert "two_snapshots" in second["not_judged"]
    bad = _invoke("alerts", "run", "--day", "tomorrow")
    assert bad.exit_code != 0


def test_done_refuses_a_result_that_is_no_call_result(store: dict[str, Any]) -> None:
    refused = _invoke("tasks", "done", str(store["soon"]), "--result", "spoke", "--by", "li.na")
    assert refused.exit_code == 2  # a usage error: the value is checked before anything runs
    assert all(code in refused.output for code in ("reached", "no_answer", "callback"))
    engine = create_engine(get_settings().database_url)
    try:
        with session_scope(engine) as s:
            assert tasks.get(session=s, task_id=store["soon"])["status"] == "open"
    finally:
        engine.dispose()
    declined = _invoke("tasks", "done", str(store["soon"]), "--result", "declined", "--by", "li.na")
    assert declined.exit_code == 0, declined.output
