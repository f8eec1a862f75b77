"""The ``rapport`` command: init, status, config show, and how errors reach the user."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tomllib
from importlib.metadata import version
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from rapport import __version__
from rapport.analytics.working_copy import READ
from rapport.cli.main import app, run
from rapport.config import get_settings, load_rules
from rapport.errors import ConfigError
from rapport.store import customers, session_scope
from rapport.store.db import create_engine, head_revision
from rapport.store.schema import metadata

runner = CliRunner()
UNREACHABLE = "postgresql://postgres@127.0.0.1:1/x"


def invoke(monkeypatch: pytest.MonkeyPatch, *args: str, **env: str) -> Result:
    """Run the Typer app in-process with ``env`` set (settings are re-read)."""
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    return runner.invoke(app, list(args))


def flat(text: str) -> str:
    """Output with line wrapping undone, for phrase matching."""
    return " ".join(text.split())


def run_entry_point(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, str, str]:
    """Run the console-script function in-process; returns (exit code, stdout, stderr)."""
    monkeypatch.setattr(sys, "argv", ["rapport", *args])
    get_settings.cache_clear()
    with pytest.raises(SystemExit) as info:
        run()
    out, err = capsys.readouterr()
    code = info.value.code
    return (code if isinstance(code, int) else (0 if code is None else 1)), out, err


def rapport_script() -> str:
    beside = Path(sys.executable).parent / "rapport"
    found = str(beside) if beside.exists() else shutil.which("rapport")
    assert found, "the rapport console script is not installed"
    return found


def run_script(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [rapport_script(), *args],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        env={**os.environ, **env},
        timeout=120,
        check=False,
    )


@pytest.fixture
def rules_file(tmp_path: Path) -> Path:
    path = tmp_path / "my-rules.toml"
    path.write_text("[activity]\nwindow_days = 90\n", encoding="utf-8")
    return path


# --- version -------------------------------------------------------------------------------


def test_version(monkeypatch: pytest.MonkeyPatch) -> None:
    result = invoke(monkeypatch, "--version")
    assert result.exit_code == 0
    assert result.stdout.strip() == f"rapport {__version__}"
    assert __version__ == version("rapport")


# --- init and status, on both backends ------------------------------------------------------


@pytest.fixture
def db_env(empty_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("RAPPORT_DATABASE_URL", empty_url)
    get_settings.cache_clear()
    return empty_url


def test_status_before_init_says_run_init_and_creates_nothing(
    db_env: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for args in (("status",), ("status", "--json")):
        code, out, err = run_entry_point(monkeypatch, capsys, *args)
        assert code == 4, err
        assert "rapport init" in flat(err) and out == ""
    if db_env.startswith("sqlite"):
        assert not Path(db_env.removeprefix("sqlite:///")).exists()


def test_init_creates_then_reports_already_current(
    db_env: str, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RAPPORT_LOCALE", "en")
    first = invoke(monkeypatch, "init")
    assert first.exit_code == 0, first.output
    assert "(created)" in flat(first.stdout)
    engine = create_engine(db_env)
    head = head_revision(engine)
    engine.dispose()
    assert head in first.stdout

    second = invoke(monkeypatch, "init")
    assert second.exit_code == 0, second.output
    assert "already current" in flat(second.stdout)
    assert "created" not in second.stdout


def test_status_json_lists_every_table_with_counts_and_version(
    db_env: str, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert invoke(monkeypatch, "init").exit_code == 0
    engine = create_engine(db_env)
    with session_scope(engine) as session:
        for n in range(3):
            customers.repo.create(session=session, values={"external_id": f"C-{n}"})
    head = head_revision(engine)
    engine.dispose()

    result = invoke(monkeypatch, "status", "--json")
    assert result.exit_code == 0, result.output
    status = json.loads(result.stdout)
    assert status["schema_version"] == status["schema_head"] == head
    assert status["backend"] == ("sqlite" if backend == "sqlite" else "postgresql")
    assert set(status["tables"]) == set(metadata.tables)
    expected = dict.fromkeys(metadata.tables, 0)
    expected["customers"] = expected["customer_search"] = 3  # its row written by a trigger
    expected["loyalty_tiers"] = len(load_rules().loyalty.tiers)  # init syncs the tiers
    expected["table_changes"] = len(READ)  # a row per table the scoring run copies
    assert status["tables"] == expected


def test_status_text_shows_version_and_every_table(
    db_env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert invoke(monkeypatch, "init").exit_code == 0
    result = invoke(monkeypatch, "status")
    assert result.exit_code == 0, result.output
    assert "not initialised" not in result.stdout
    for name in metadata.tables:
        assert name in result.stdout


def test_config_show_masks_the_database_password(monkeypatch: pytest.MonkeyPatch) -> None:
    url = "postgresql://rapport:pa55-word@127.0.0.1:1/x"
    monkeypatch.setenv("RAPPORT_DATABASE_URL", url)
    get_settings.cache_clear()
    result = invoke(monkeypatch, "config", "show", "--json")
    assert result.exit_code == 0, result.output
    assert "pa55" not in result.stdout
    assert json.loads(result.stdout)["settings"]["database_url"].startswith("postgresql://rapport:")


# --- config show ---------------------------------------------------------------------------


@pytest.fixture
def short_paths(monkeypatch: pytest.MonkeyPatch) -> None:
    """Relative paths, so the shown settings do not depend on the temporary directory."""
    monkeypatch.setenv("RAPPORT_DATABASE_URL", "sqlite:///rapport.db")
    monkeypatch.setenv("RAPPORT_DATA_DIR", "data")


def test_config_show_prints_toml_with_the_rules_and_a_masked_secret(
    short_paths: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = invoke(monkeypatch, "config", "show", RAPPORT_SECRET_KEY="s3cret-口令")
    assert result.exit_code == 0, result.output
    assert "s3cret" not in result.stdout
    shown = tomllib.loads(result.stdout)
    assert shown["rules"] == load_rules().model_dump(mode="json")
    assert shown["settings"]["secret_key"] == "***"
    assert shown["settings"]["timezone"] == "Asia/Shanghai"
    assert shown["settings"]["rules_file"] == "(packaged defaults)"


def test_config_show_json_parses(short_paths: None, monkeypatch: pytest.MonkeyPatch) -> None:
    result = invoke(monkeypatch, "config", "show", "--json", RAPPORT_SECRET_KEY="s3cret-口令")
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)
    assert shown["rules"] == load_rules().model_dump(mode="json")
    assert shown["settings"]["secret_key"] == "***"
    assert "s3cret" not in result.stdout
    assert set(shown["rules"]["sla"]["first_response_hours"]) == {
        "low",
        "normal",
        "high",
        "urgent",
    }


def test_config_show_reflects_the_users_rules_file(
    short_paths: None, rules_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    default_window = load_rules().activity.window_days
    result = invoke(monkeypatch, "config", "show", "--json", RAPPORT_CONFIG_FILE=str(rules_file))
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)
    assert shown["rules"]["activity"]["window_days"] == 90 != default_window
    assert shown["settings"]["rules_file"] == str(rules_file)
    # The rest of the rules keep their defaults.
    get_settings.cache_clear()
    monkeypatch.delenv("RAPPORT_CONFIG_FILE")
    defaults = load_rules(get_settings()).model_dump(mode="json")
    assert shown["rules"]["sla"] == defaults["sla"]
    assert shown["rules"]["loyalty"] == defaults["loyalty"]


def test_config_show_toml_reflects_a_local_rapport_toml(
    short_paths: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "rapport.toml").write_text("[activity]\nwindow_days = 30\n", encoding="utf-8")
    result = invoke(monkeypatch, "config", "show")
    assert result.exit_code == 0, result.output
    assert tomllib.loads(result.stdout)["rules"]["activity"]["window_days"] == 30


# --- errors: one line and an exit code; a traceback only with --debug ----------------------


def test_unknown_rules_key_is_a_one_line_error_with_exit_code_3(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[activity]\nwindow_days = 90\nwindows_days = 30\n", encoding="utf-8")
    monkeypatch.setenv("RAPPORT_CONFIG_FILE", str(bad))
    code, out, err = run_entry_point(monkeypatch, capsys, "config", "show")
    assert code == ConfigError.exit_code == 3
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1
    assert "activity.windows_days" in lines[0]
    assert "bad.toml" in lines[0]
    assert "Traceback" not in err


def test_the_app_raises_domain_errors_for_the_entry_point_to_map(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[sla.first_response_hours]\ncritical = 1\n", encoding="utf-8")
    result = invoke(monkeypatch, "config", "show", RAPPORT_CONFIG_FILE=str(bad))
    assert isinstance(result.exception, ConfigError)
    assert "sla.first_response_hours" in str(result.exception)


def test_invalid_setting_is_a_one_line_error_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("RAPPORT_TIMEZONE", "Mars/Olympus_Mons")
    code, _, err = run_entry_point(monkeypatch, capsys, "status")
    assert code == 3
    assert len(err.strip().splitlines()) == 1
    assert "RAPPORT_TIMEZONE" in err


def test_unreachable_database_from_the_real_script(tmp_path: Path) -> None:
    result = run_script("status", RAPPORT_DATABASE_URL=UNREACHABLE)
    assert result.returncode != 0
    assert result.returncode == 4
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert "RAPPORT_DATABASE_URL" in lines[0]
    assert result.stdout == ""


def test_debug_shows_the_traceback_from_the_real_script() -> None:
    result = run_script("--debug", "status", RAPPORT_DATABASE_URL=UNREACHABLE)
    assert result.returncode != 0
    assert "Traceback" in result.stderr
    assert "StoreUnavailable" in result.stderr


def test_debug_setting_shows_the_traceback_too() -> None:
    result = run_script("status", RAPPORT_DATABASE_URL=UNREACHABLE, RAPPORT_DEBUG="1")
    assert result.returncode != 0
    assert "Traceback" in result.stderr


@pytest.mark.slow  # a real server or worker, waiting on real time
def test_real_script_init_and_status(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'script.db'}"
    init = run_script("init", RAPPORT_DATABASE_URL=url)
    assert init.returncode == 0, init.stderr
    status = run_script("status", "--json", RAPPORT_DATABASE_URL=url)
    assert status.returncode == 0, status.stderr
    assert set(json.loads(status.stdout)["tables"]) == set(metadata.tables)


def test_config_show_toml_is_valid_when_piped_with_a_long_database_path(tmp_path: Path) -> None:
    deep = tmp_path.joinpath(*["客户数据目录"] * 12)
    result = run_script(
        "config", "show", RAPPORT_DATABASE_URL=f"sqlite:///{deep}/rapport.db", COLUMNS="80"
    )
    assert result.returncode == 0, result.stderr
    assert tomllib.loads(result.stdout)["settings"]["database_url"].endswith("rapport.db")


def test_config_show_json_is_valid_when_piped_with_a_long_database_path(tmp_path: Path) -> None:
    deep = tmp_path.joinpath(*["客户数据目录"] * 12)
    result = run_script(
        "config",
        "show",
        "--json",
        RAPPORT_DATABASE_URL=f"sqlite:///{deep}/rapport.db",
        COLUMNS="80",
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["settings"]["database_url"].endswith("/rapport.db")


def test_error_line_keeps_brackets_of_the_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "[bold]rules.toml"
    monkeypatch.setenv("RAPPORT_CONFIG_FILE", str(bad))
    code, _, err = run_entry_point(monkeypatch, capsys, "config", "show")
    assert code == ConfigError.exit_code
    assert "[bold]rules.toml" in err


def test_error_line_ends_with_the_location(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[activity]\nwindows_days = 30\n", encoding="utf-8")
    monkeypatch.setenv("RAPPORT_CONFIG_FILE", str(bad))
    _, _, err = run_entry_point(monkeypatch, capsys, "config", "show")
    assert err.strip().endswith("[activity.windows_days]")
