"""`rapport audit`: newest first, filters by user, customer, action, entity and local time,
paging with --before, --format table|json|csv."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import sys
from typing import Any

import pytest
from typer.testing import CliRunner

from rapport.cli.main import app, run
from rapport.config import get_settings
from rapport.domain import AuditAction
from rapport.store import audit, session_scope
from rapport.store.db import create_engine, upgrade

runner = CliRunner()
#: 2024-05-01 08:00 UTC = 16:00 in Shanghai.
T0 = dt.datetime(2024, 5, 1, 8, 0, tzinfo=dt.UTC)


@pytest.fixture
def log() -> dict[str, int]:
    """A store with six audit entries ten minutes apart; their ids by name."""
    engine = create_engine(get_settings().database_url)
    made = {}
    specs: list[tuple[str, str, AuditAction, str, str | None, dict[str, Any] | None]] = [
        ("create_7", "admin", AuditAction.CREATE, "customers", "7", {"fields": ["name"]}),
        ("list", "li.na", AuditAction.READ_PII, "customers", None, {"ids": [8, 7]}),
        ("order", "li.na (token shop)", AuditAction.CREATE, "orders", "9", None),
        ("points", "admin", AuditAction.CREATE, "loyalty_ledger", "4", {"customer_id": 8}),
        ("erase_8", "admin", AuditAction.ERASE, "customers", "8", {"rows": 3}),
        ("login", "=cmd", AuditAction.LOGIN, "users", "2", None),
    ]
    try:
        upgrade(engine)
        with session_scope(engine) as session:
            for i, (name, actor, action, entity, entity_id, detail) in enumerate(specs):
                row = audit.repo.create(
                    session=session,
                    values={
                        "occurred_at": T0 + dt.timedelta(minutes=10 * i),
                        "actor": actor,
                        "action": action,
                        "entity": entity,
                        "entity_id": entity_id,
                        "detail": detail,
                        "client_address": "10.0.0.7",
                    },
                )
                made[name] = row["id"]
    finally:
        engine.dispose()
    return made


def _json(*args: str) -> dict[str, Any]:
    result = runner.invoke(app, ["audit", *args, "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _names(payload: dict[str, Any], log: dict[str, int]) -> list[str]:
    by_id = {i: name for name, i in log.items()}
    return [by_id[e["id"]] for e in payload["entries"]]


def test_newest_first_and_every_field(log: dict[str, int]) -> None:
    payload = _json()
    assert _names(payload, log) == list(reversed(log))
    assert payload["count"] == 6 and payload["next_before"] is None
    points = payload["entries"][2]
    assert points["detail"] == {"customer_id": 8}
    assert points["occurred_at"] == "2024-05-01T08:30:00+00:00"
    assert points["action"] == "create" and points["entity"] == "loyalty_ledger"


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--user", "li.na"], ["order", "list"]),
        (["--customer", "8"], ["erase_8", "points", "list"]),
        (["--customer", "7"], ["list", "create_7"]),
        (["--action", "erase"], ["erase_8"]),
        (["--entity", "orders"], ["order"]),
        # local times (Shanghai): 16:20 to 16:40 exclusive
        (["--since", "2024-05-01T16:20", "--until", "2024-05-01T16:40"], ["points", "order"]),
        (["--since", "2024-05-02"], []),
        (["--until", "2024-05-01"], ["login", "erase_8", "points", "order", "list", "create_7"]),
        (["--until", "2024-04-30"], []),
    ],
)
def test_filters(log: dict[str, int], args: list[str], expected: list[str]) -> None:
    payload = _json(*args)
    assert _names(payload, log) == expected
    assert payload["count"] == len(expected)


def test_paging_with_before(log: dict[str, int]) -> None:
    first = _json("--limit", "4")
    assert _names(first, log) == ["login", "erase_8", "points", "order"]
    assert first["next_before"] == log["order"] and first["count"] == 6
    rest = _json("--limit", "4", "--before", str(first["next_before"]))
    assert _names(rest, log) == ["list", "create_7"] and rest["next_before"] is None


def test_csv_and_table(log: dict[str, int]) -> None:
    result = runner.invoke(app, ["audit", "--format", "csv"])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [int(r["id"]) for r in rows] == sorted(log.values(), reverse=True)
    assert rows[0]["actor"] == "'=cmd"  # a formula-like cell is neutralised
    assert json.loads(rows[1]["detail"]) == {"rows": 3}

    table = runner.invoke(app, ["audit", "--action", "erase"], env={"COLUMNS": "160"})
    assert table.exit_code == 0, table.output
    assert "审计日志" in table.stdout and "擦除" in table.stdout
    assert "2024-05-01 16:40:00" in table.stdout  # local time


def test_bad_options_exit_7(
    log: dict[str, int], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for args, needle in (
        (["--since", "yesterday"], "--since"),
        (["--since", "2024-05-02", "--until", "2024-05-01"], "--until"),
    ):
        monkeypatch.setattr(sys, "argv", ["rapport", "audit", *args])
        get_settings.cache_clear()
        with pytest.raises(SystemExit) as info:
            run()
        assert info.value.code == 7
        assert needle in capsys.readouterr().err
