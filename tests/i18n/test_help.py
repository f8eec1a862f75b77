"""``--help`` in one language: every command and every option has its Chinese help in
:mod:`rapport.i18n.help`, none is left over, and ``--help`` shows the configured language.

The walk builds the real command tree (every lazy command imported), so a new command or
option is covered the day it is written.
"""

from __future__ import annotations

import re

import pytest
import typer
from typer.testing import CliRunner

from rapport.cli import main as cli_main
from rapport.cli.lazy import LazyGroup, load_command
from rapport.i18n.help import COMMANDS, HELP_TERMS, PARAMETERS

CJK = re.compile(r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef]")
runner = CliRunner()
#: The Chinese terms the English help gives beside their English names, as a glossary.
GLOSSARY = ("客情", "同期群留存", "转化漏斗", "钻石客户", "流失预警", "需求预测")
#: Products, formats, engines and models named as they are in Chinese texts too.
NAMES = {"Rapport", "Parquet", "Pareto", "Gamma", "json", "table", "spark", "duckdb"}
NAMES |= {"postgres", "parquet", "read", "write", "customers", "orders", "shop", "sync"}


def _tree(locale: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, typer.main.click.Command]:
    """Every command of ``rapport`` by its path (``""`` for the root), built in ``locale``."""
    monkeypatch.setenv("RAPPORT_LOCALE", locale)
    out: dict[str, typer.main.click.Command] = {}

    def walk(command: typer.main.click.Command, path: str) -> None:
        out[path] = command
        for name in list(getattr(command, "commands", {})):
            sub = (
                load_command(command, name)
                if isinstance(command, LazyGroup)
                else command.commands[name]  # type: ignore[attr-defined]
            )
            walk(sub, f"{path} {name}".strip())

    walk(typer.main.get_command(cli_main.app), "")
    return out


def _english_params(tree: dict) -> dict[str, str]:
    """``path:parameter`` -> its English help, for every parameter that has one."""
    return {
        f"{path}:{param.name}": param.help
        for path, command in tree.items()
        for param in command.params
        if getattr(param, "help", None) and not getattr(param, "hidden", False)
    }


def test_every_command_and_option_has_its_chinese_help(monkeypatch: pytest.MonkeyPatch) -> None:
    tree = _tree("en", monkeypatch)
    assert len(tree) > 30 and "models fit" in tree and "users token" in tree
    missing = sorted(set(tree) - set(COMMANDS))
    assert not missing, f"commands without a Chinese help in rapport/i18n/help.py: {missing}"
    params = _english_params(tree)
    assert len(params) > 100
    missing = sorted(
        {f"{where}: {text!r}" for where, text in params.items() if text not in PARAMETERS}
    )
    assert not missing, "options without a Chinese help in rapport/i18n/help.py:\n" + "\n".join(
        missing
    )


def test_no_chinese_help_is_left_over(monkeypatch: pytest.MonkeyPatch) -> None:
    tree = _tree("en", monkeypatch)
    assert not sorted(set(COMMANDS) - set(tree)), "help of commands that no longer exist"
    used = set(_english_params(tree).values())
    left = sorted(set(PARAMETERS) - used)
    assert not left, f"help of options that no longer exist (or whose English changed): {left}"


def test_the_chinese_texts_are_chinese() -> None:
    for key, text in {**COMMANDS, **PARAMETERS, **HELP_TERMS}.items():
        assert CJK.search(text), f"{key!r}: {text!r}"


def test_the_tree_is_in_the_locale(monkeypatch: pytest.MonkeyPatch) -> None:
    tree = _tree("zh_CN", monkeypatch)
    for path, command in tree.items():
        assert command.help == COMMANDS[path], path
        for param in command.params:
            if getattr(param, "help", None) and not getattr(param, "hidden", False):
                assert CJK.search(param.help), f"{path}:{param.name}: {param.help!r}"
    for path, command in _tree("en", monkeypatch).items():
        text = command.help or ""
        for term in GLOSSARY:
            text = text.replace(term, "")
        assert not CJK.search(text), f"{path}: {command.help!r}"


@pytest.mark.parametrize(
    "args", [["--help"], ["models", "fit", "--help"], ["users", "token", "--help"]]
)
def test_help_speaks_one_language(args: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAPPORT_LOCALE", "zh_CN")
    shown = runner.invoke(cli_main.app, args, env={"COLUMNS": "200"})
    assert shown.exit_code == 0, shown.output
    assert "选项" in shown.output and "显示此帮助并退出" in shown.output
    assert "用法：" in shown.output and "Usage:" not in shown.output
    assert "[OPTIONS]" not in shown.output
    # English is left in names only: the usage line, commands, options and their values,
    # and the names of products and models
    text = re.sub(r"用法：.*|--[\w-]+|<[^>]*>|`[^`]*`|/\w+|\w+(?:-\w+)+", " ", shown.output)
    words = set(re.findall(r"\b[A-Za-z][a-z]{3,}\b", text))
    tree = _tree("en", monkeypatch)
    names = {w for path in tree for w in path.split()}
    names |= {param.name for command in tree.values() for param in command.params}
    assert not words - names - NAMES, sorted(words - names - NAMES)
    monkeypatch.setenv("RAPPORT_LOCALE", "en")
    shown = runner.invoke(cli_main.app, args, env={"COLUMNS": "200"})
    assert shown.exit_code == 0 and "Options" in shown.output
    assert "Show this message and exit." in shown.output
    english = shown.output
    for term in GLOSSARY:
        english = english.replace(term, "")
    assert not CJK.search(english), shown.output
