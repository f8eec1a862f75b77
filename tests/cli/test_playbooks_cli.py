"""`rapport playbooks list|show|run|effect`: the built-ins listed before any run, a dry run
that writes nothing, a run, a rerun that enrols nobody twice, the effect table, an unknown
code's error."""

from __future__ import annotations

import datetime as dt
import json
import sys

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from rapport.actions.playbooks import builtin_codes
from rapport.cli.main import app, run
from rapport.config import get_settings
from rapport.store import customers, schema, session_scope
from rapport.store.db import create_engine, upgrade

runner = CliRunner()
DAY = dt.date(2026, 6, 15)


@pytest.fixture
def birthdays() -> list[int]:
    engine = create_engine(get_settings().database_url)
    try:
        upgrade(engine)
        with session_scope(engine) as session:
            return [
                customers.repo.create(
                    session=session,
                    values={
                        "external_id": f"C-{i}",
                        "name": "王芳",
                        "phone": f"+8613800000{i:03d}",
                        "marketing_consent": True,
                        "birthday": dt.date(1990, 6, 15),
                    },
                )["id"]
                for i in range(20)
            ]
    finally:
        engine.dispose()


def _rows(table: sa.Table) -> int:
    engine = create_engine(get_settings().database_url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())
    finally:
        engine.dispose()


def test_list_show_run_rerun_and_effect(birthdays: list[int]) -> None:
    listed = runner.invoke(app, ["playbooks", "list", "--format", "json"])
    assert listed.exit_code == 0, listed.output
    codes = [p["code"] for p in json.loads(listed.output)["playbooks"]]
    assert sorted(codes) == sorted(builtin_codes())
    dry = runner.invoke(
        app, ["playbooks", "run", "--day", DAY.isoformat(), "--dry-run", "--format", "json"]
    )
    assert dry.exit_code == 0, dry.output
    assert _rows(schema.playbooks) == 0 and _rows(schema.outbox) == 0
    figures = {p["code"]: p for p in json.loads(dry.output)["playbooks"]}
    greeting = figures["birthday_greeting"]
    assert greeting["eligible"] == 20 and greeting["treated"] + greeting["held_out"] == 20
    done = runner.invoke(app, ["playbooks", "run", "--day", DAY.isoformat(), "--format", "json"])
    assert done.exit_code == 0, done.output
    real = {p["code"]: p for p in json.loads(done.output)["playbooks"]}["birthday_greeting"]
    assert (real["treated"], real["held_out"]) == (greeting["treated"], greeting["held_out"])
    assert _rows(schema.outbox) == real["treated"] == real["messages"]
    again = runner.invoke(app, ["playbooks", "run", "--day", DAY.isoformat(), "--format", "csv"])
    assert again.exit_code == 0 and _rows(schema.outbox) == real["treated"]
    assert _rows(schema.playbook_enrolments) == 20
    shown = runner.invoke(app, ["playbooks", "show", "birthday_greeting", "--format", "json"])
    assert json.loads(shown.output)["versions"][0]["version"] == 1
    effect = runner.invoke(app, ["playbooks", "effect", "birthday_greeting", "--format", "json"])
    assert effect.exit_code == 0, effect.output
    [report] = json.loads(effect.output)["playbooks"]
    assert report["enrolled"]["treated"] == real["treated"]
    assert report["effect"]["treated"]["customers"] == 0  # nothing measured yet
    table = runner.invoke(app, ["playbooks", "effect"])
    assert table.exit_code == 0, table.output


def test_an_unknown_playbook_is_an_error_naming_it(
    birthdays: list[int], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "argv", ["rapport", "playbooks", "show", "nope"])
    get_settings.cache_clear()
    with pytest.raises(SystemExit) as info:
        run()
    assert info.value.code == 5  # not found
    assert "nope" in capsys.readouterr().err
