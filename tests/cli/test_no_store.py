"""Every command on a missing or never-initialised store: one message naming the store,
"run `rapport init`" (or `rapport demo`), exit code 4 — and nothing created."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from rapport.cli.main import run
from rapport.config import get_settings
from rapport.errors import StoreUnavailable

#: Read-only commands, store commands and analytics commands (DuckDB on the store).
COMMANDS = [
    ("status",),
    ("status", "--json"),
    ("metrics",),
    ("segments",),
    ("tiers",),
    ("customer", "1"),
    ("at-risk",),
    ("movements",),
    ("users", "list"),
]


def run_entry_point(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    *args: str,
    locale: str = "en",
) -> tuple[int, str]:
    """Run the console-script function in-process in ``locale``; returns (exit code, stderr
    as one line)."""
    monkeypatch.setattr(sys, "argv", ["rapport", *args])
    monkeypatch.setenv("RAPPORT_LOCALE", locale)
    get_settings.cache_clear()
    with pytest.raises(SystemExit) as info:
        run()
    _, err = capsys.readouterr()
    code = info.value.code
    return (code if isinstance(code, int) else 1), " ".join(err.split())


def _in(directory: Path) -> list[str]:
    return sorted(str(p.relative_to(directory)) for p in directory.rglob("*"))


@pytest.mark.parametrize("state", ["missing", "empty file"])
@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_sqlite_store_missing_or_empty_exits_4_and_creates_nothing(
    state: str,
    command: tuple[str, ...],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)  # the default data dir (./.rapport) would land here
    store = tmp_path / "rapport.db"
    if state == "empty file":
        store.touch()
    before = _in(tmp_path)
    monkeypatch.setenv("RAPPORT_DATABASE_URL", f"sqlite:///{store}")
    code, err = run_entry_point(monkeypatch, capsys, *command)
    assert code == StoreUnavailable.exit_code == 4, err
    expected = "no store at" if state == "missing" else "is not initialised"
    assert f"{expected} {store}" in err or f"the store {store} {expected}" in err, err
    assert "run `rapport init` to create it, or `rapport demo` for a sample company" in err
    assert "internal error" not in err and "TableNotFound" not in err
    assert _in(tmp_path) == before  # no store file, no -wal/-shm, no data dir
    if state == "empty file":
        assert store.stat().st_size == 0  # not even a SQLite header written


@pytest.mark.parametrize("command", [("status",), ("metrics",), ("segments",), ("at-risk",)])
def test_store_without_schema_exits_4_on_every_backend(
    command: tuple[str, ...],
    empty_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """SQLite: ``empty_url`` names a file that does not exist; PostgreSQL: an empty database."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("RAPPORT_DATABASE_URL", empty_url)
    code, err = run_entry_point(monkeypatch, capsys, *command)
    assert code == 4, err
    assert "no store at" in err or "is not initialised" in err, err
    assert "rapport init" in err and "TableNotFound" not in err
    if empty_url.startswith("sqlite"):
        assert not Path(empty_url.removeprefix("sqlite:///")).exists()


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
def test_postgres_engine_on_an_empty_database_exits_4(
    empty_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("RAPPORT_DATABASE_URL", empty_url)
    code, err = run_entry_point(monkeypatch, capsys, "metrics", "--engine", "postgres")
    assert code == 4 and "is not initialised" in err and "rapport init" in err, err


def test_the_message_is_in_the_configured_language(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    store = tmp_path / "rapport.db"
    monkeypatch.setenv("RAPPORT_DATABASE_URL", f"sqlite:///{store}")
    code, err = run_entry_point(monkeypatch, capsys, "metrics", locale="zh_CN")
    assert code == 4, err
    assert err == f"错误：找不到数据库 {store} — 运行 `rapport init` 创建数据库，或运行 " + (
        "`rapport demo` 生成样例公司"
    )
    store.touch()
    code, err = run_entry_point(monkeypatch, capsys, "status", locale="en")
    assert code == 4, err
    assert err == (
        f"error: the store {store} is not initialised — run `rapport init` to create it, "
        "or `rapport demo` for a sample company"
    )
