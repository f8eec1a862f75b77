"""Start-up: `rapport --version` and `--help` import no command module, and every command is
listed with the help line it answers to.

Speed itself is measured in docs/benchmarks.md, never asserted here: what can break is an
import that drags SQLAlchemy, Ibis or DuckDB into the start-up path, and that is checked.
"""

from __future__ import annotations

import importlib
import inspect
import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

import rapport.cli
from rapport.cli import main as cli_main
from rapport.cli.lazy import load_command

HEAVY = ("sqlalchemy", "ibis", "polars", "duckdb", "pyarrow", "numpy", "pandas")

PROBE = """
import io, json, sys
from contextlib import redirect_stdout
heavy_names = set(json.loads(sys.argv[2]))
sys.argv = ["rapport", *json.loads(sys.argv[1])]
out = io.StringIO()
code = 0
with redirect_stdout(out):
    try:
        from rapport.cli.main import run
        run()
    except SystemExit as exc:
        code = exc.code or 0
heavy = sorted({m.split(".")[0] for m in sys.modules} & heavy_names)
print(json.dumps({"code": code, "out": out.getvalue(), "heavy": heavy}))
"""


def start(*args: str) -> dict:
    """Run the entry point in a fresh interpreter; its exit code, output and heavy imports."""
    result = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(args), json.dumps(HEAVY)],
        capture_output=True,
        text=True,
        timeout=120,
        env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.mark.parametrize("args", [["--version"], ["--help"], []], ids=["version", "help", "bare"])
def test_start_up_imports_no_heavy_module(args: list[str]) -> None:
    probe = start(*args)
    assert probe["heavy"] == [], f"`rapport {' '.join(args)}` imported {probe['heavy']}"
    assert "rapport" in probe["out"]


def test_the_probe_sees_heavy_imports_when_a_command_runs() -> None:
    # The probe would pass vacuously if it could not see imports: `score --help` loads the
    # scores module, which reads the store through SQLAlchemy.
    probe = start("score", "--help")
    assert probe["code"] == 0
    assert "sqlalchemy" in probe["heavy"]


def test_version_prints_the_version() -> None:
    assert start("--version")["out"].strip() == f"rapport {rapport.__version__}"


@pytest.fixture(autouse=True)
def _english(monkeypatch: pytest.MonkeyPatch) -> None:
    """The help lines of :data:`rapport.cli.main.COMMANDS` are the English help (the Chinese
    is checked by tests/i18n/test_help.py)."""
    monkeypatch.setenv("RAPPORT_LOCALE", "en")


def first_paragraph(command: typer.main.click.Command) -> str:
    return " ".join((command.help or "").split("\n\n")[0].split())


def group() -> cli_main.RapportGroup:
    built = typer.main.get_command(cli_main.app)
    assert isinstance(built, cli_main.RapportGroup)
    return built


def test_every_command_is_listed_with_its_own_help_line() -> None:
    result = CliRunner().invoke(cli_main.app, ["--help"], env={"COLUMNS": "400"})
    assert result.exit_code == 0
    listing = " ".join(result.stdout.split())
    rapport_group = group()
    for name in rapport_group.list_commands(None):  # type: ignore[arg-type]
        command = load_command(rapport_group, name)
        line = first_paragraph(command)
        assert line, f"`rapport {name}` has no help text"
        assert f"{name} {line}" in listing, f"`rapport {name}` listed without its help line"


@pytest.mark.parametrize("name", list(cli_main.COMMANDS))
def test_registered_help_line_is_the_commands_own(name: str) -> None:
    spec = cli_main.COMMANDS[name]
    assert spec.help == first_paragraph(load_command(group(), name)), (
        f"COMMANDS[{name!r}] in rapport/cli/main.py differs from the command's docstring"
    )


@pytest.mark.parametrize("name", list(cli_main.COMMANDS))
def test_each_command_answers_its_own_help(name: str) -> None:
    result = CliRunner().invoke(cli_main.app, [name, "--help"], env={"COLUMNS": "400"})
    assert result.exit_code == 0, result.output
    assert f"rapport {name}" in result.stdout
    assert cli_main.COMMANDS[name].help in " ".join(result.stdout.split())


def sub_app_callbacks(app: typer.Typer) -> set[int]:
    """The functions a sub-app registers itself (its commands, nested apps' commands)."""
    found = {id(info.callback) for info in app.registered_commands}
    for group_info in app.registered_groups:
        if group_info.typer_instance is not None:
            found |= sub_app_callbacks(group_info.typer_instance)
    return found


def command_objects() -> dict[int, str]:
    """Every command function (``*_command``) and sub-app (``*_app``) of rapport.cli.

    Functions a sub-app registers (``users add`` …) belong to that sub-app, not to the top.
    """
    found: dict[int, str] = {}
    for info in pkgutil.iter_modules(rapport.cli.__path__, "rapport.cli."):
        if info.name in ("rapport.cli.main", "rapport.cli.lazy"):
            continue
        module = importlib.import_module(info.name)
        for attribute, value in vars(module).items():
            is_app = isinstance(value, typer.Typer) and attribute.endswith("_app")
            is_function = (
                inspect.isfunction(value)
                and attribute.endswith("_command")
                and value.__module__ == info.name
            )
            if is_app or is_function:
                found.setdefault(id(value), f"{info.name}:{attribute}")
    for value in [spec.load() for spec in cli_main.COMMANDS.values()]:
        if isinstance(value, typer.Typer):
            for key in sub_app_callbacks(value):
                found.pop(key, None)
    return found


def test_every_command_function_is_registered_once() -> None:
    registered = {id(spec.load()): name for name, spec in cli_main.COMMANDS.items()}
    assert len(registered) == len(cli_main.COMMANDS), "one command registered under two names"
    found = command_objects()
    missing = sorted(found[key] for key in found.keys() - registered.keys())
    assert not missing, f"command functions not registered in rapport/cli/main.py: {missing}"
    unknown = sorted(registered[key] for key in registered.keys() - found.keys())
    assert not unknown, f"registered but not a *_command function or *_app: {unknown}"


def test_lazy_commands_run_and_keep_exit_codes(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # A lazily loaded command still goes through run()'s error mapping: no store is exit 4.
    monkeypatch.setenv("RAPPORT_DATABASE_URL", f"sqlite:///{tmp_path}/missing.db")
    monkeypatch.setattr(sys, "argv", ["rapport", "segments"])
    from rapport.config import get_settings

    get_settings.cache_clear()
    with pytest.raises(SystemExit) as info:
        cli_main.run()
    assert info.value.code == 4
    assert not (tmp_path / "missing.db").exists()


def test_a_mistyped_command_is_suggested() -> None:
    result = CliRunner().invoke(cli_main.app, ["scor"])
    assert result.exit_code == 2
    assert "score" in result.output
