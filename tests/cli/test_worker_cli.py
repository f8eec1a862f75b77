"""`rapport outbox` and `rapport worker` from the command line: listing, counting, retrying
and sending messages; one day's pipeline run once; a second worker refused while another
holds the pipeline's lease."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rapport.actions.scheduler import LOCK_NAME
from rapport.cli.main import app, run
from rapport.config import get_settings
from rapport.domain import MessageChannel
from rapport.store import locks, outbox, session_scope
from rapport.store.db import create_engine, upgrade
from rapport.store.repository import utcnow

runner = CliRunner()


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text(
        '[schedule]\nsteps = ["expire_tasks", "messages"]\n'
        "[messages]\nmax_attempts = 1\ntimeout_seconds = 1.0\n"
        '[messages.webhook]\nsecret_env = "TEST_SECRET"\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("RAPPORT_CONFIG_FILE", str(rules))
    monkeypatch.setenv("RAPPORT_LOCALE", "en")
    get_settings.cache_clear()
    engine = create_engine(get_settings().database_url)
    upgrade(engine)
    with session_scope(engine) as session:
        outbox.enqueue(
            session=session,
            messages=[
                outbox.NewMessage("k1", MessageChannel.SMS, "13800000000", None, "你好"),
                outbox.NewMessage("k2", MessageChannel.WECHAT, "wx-1", None, "您好"),
            ],
            at=utcnow(),
        )
    engine.dispose()


def _json(args: list[str]) -> dict:
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _exit(args: list[str], monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(sys, "argv", ["rapport", *args])
    get_settings.cache_clear()
    with pytest.raises(SystemExit) as info:
        run()
    return int(info.value.code or 0)


def test_send_list_stats_and_retry(
    store: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    stats = _json(["outbox", "stats", "--format", "json"])
    assert stats["due"] == 2 and {c["status"] for c in stats["counts"]} == {"pending"}
    sent = _json(["outbox", "send", "--format", "json"])["run"][0]
    assert (sent["claimed"], sent["dead"]) == (2, 2)  # no gateway set up, one attempt allowed
    dead = _json(["outbox", "list", "--status", "dead", "--format", "json"])["messages"]
    assert [m["idempotency_key"] for m in dead] == ["k2", "k1"]
    assert "no webhook URL for wechat" in dead[0]["last_error"]
    table = runner.invoke(app, ["outbox", "list"])
    assert table.exit_code == 0 and "k1" in table.stdout
    retried = runner.invoke(app, ["outbox", "retry", str(dead[1]["id"])])
    assert retried.exit_code == 0 and "will be sent again" in retried.stdout
    pending = _json(["outbox", "list", "--status", "pending", "--format", "json"])["messages"]
    assert [(m["idempotency_key"], m["attempts"]) for m in pending] == [("k1", 0)]
    monkeypatch.setenv("RAPPORT_LOCALE", "zh_CN")
    assert _exit(["outbox", "retry", "999999"], monkeypatch) == 5
    assert "发件箱中没有编号为 999999 的消息" in capsys.readouterr().err


def test_a_day_runs_once_and_a_second_worker_is_refused(
    store: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    day = "2026-03-02"
    first = _json(["worker", "--day", day, "--format", "json"])
    assert first["days"][0]["steps"] == {"expire_tasks": "done", "messages": "done"}
    assert first["days"][0]["summaries"]["messages"]["claimed"] == 2
    again = _json(["worker", "--day", day, "--format", "json"])
    assert set(again["days"][0]["steps"].values()) == {"already done"}
    engine = create_engine(get_settings().database_url)
    with session_scope(engine) as session:
        locks.acquire(
            session=session,
            name=LOCK_NAME,
            holder="host-b:4242:x",
            at=utcnow(),
            lease=dt.timedelta(minutes=5),
        )
    engine.dispose()
    assert _exit(["worker", "--once"], monkeypatch) == 6
    err = capsys.readouterr().err
    assert "another process (host-b:4242:x) is running the daily pipeline" in err
    assert "--wait" in err
