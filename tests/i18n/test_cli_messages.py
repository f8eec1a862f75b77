"""One language at a time, beyond the reports: ``init``, ``status``, ``users``, ``export``
and the error messages speak Chinese under ``zh_CN`` and English under ``en``, with the
checks of :mod:`tests.i18n.test_cli_locale`."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from rapport.cli.common import console, err_console
from rapport.cli.main import run
from rapport.config import get_settings
from rapport.store import schema
from tests.i18n.test_cli_locale import assert_chinese, assert_english

STRONG = "blue kettle orbit"


def rapport(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    *args: str,
    stdin: str = "",
) -> tuple[int, str]:
    """Run the console script in-process; exit code and everything it printed."""
    import io

    monkeypatch.setattr(sys, "argv", ["rapport", *args])
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    get_settings.cache_clear()
    code: int | str | None = 0
    try:
        run()
    except SystemExit as exc:
        code = exc.code
    out = capsys.readouterr()
    return (code if isinstance(code, int) else 0 if code is None else 1), out.out + out.err


@pytest.mark.parametrize("locale", ["zh_CN", "en"])
def test_store_accounts_export_and_errors_speak_one_language(
    locale: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(console, "_width", 400)  # paths on one line
    monkeypatch.setattr(err_console, "_width", 400)
    monkeypatch.setenv("RAPPORT_LOCALE", locale)
    monkeypatch.setenv("RAPPORT_DATABASE_URL", f"sqlite:///{tmp_path / 'rapport.db'}")
    check = assert_chinese if locale == "zh_CN" else assert_english

    said = []
    for args, stdin, expected in [
        (("status",), "", 4),  # no store yet
        (("init",), "", 0),
        (("init",), "", 0),
        (("status",), "", 0),
        (
            ("users", "add", "li.na", "--role", "sales", "--team", "east", "--password-stdin"),
            STRONG,
            0,
        ),
        (("users", "add", "bot", "--role", "analyst", "--no-password"), "", 0),
        (("users", "passwd", "li.na", "--password-stdin"), STRONG + " again", 0),
        (
            (
                "users",
                "token",
                "bot",
                "--name",
                "shop-sync",
                "--scope",
                "customers:read",
                "--expires-days",
                "30",
            ),
            "",
            0,
        ),
        (("users", "list"), "", 0),
        (("users", "unlock", "li.na", "--address", "10.0.0.7"), "", 0),
        (("users", "revoke", "1"), "", 0),
        (("users", "disable", "bot"), "", 0),
        (("users", "unlock"), "", 7),
        (("export", "--to", "parquet", "--tables", "customers,orders"), "", 0),
        (("export", "--to", "x", "--tables", "nothing"), "", 7),
        (("customer", "C-404"), "", 5),
        (("models", "show"), "", 0),
        (("models", "show", "churn"), "", 5),
        (("models", "backtest", "--holdout", "soon"), "", 7),
    ]:
        code, text = rapport(monkeypatch, capsys, *args, stdin=stdin)
        assert code == expected, (args, text)
        said.append(text)
    # data and ids are not words: the token's secret, the user's and token's names, the
    # scopes, and the store's table names (as `rapport export --tables` takes them)
    text = "\n".join(said).replace(f"sqlite:///{tmp_path}", " ").replace(str(tmp_path), " ")
    for data in ("li.na", "bot", "east", "shop-sync", "customers:read", "nothing", "API"):
        text = re.sub(rf"(?<![\w.]){re.escape(data)}(?![\w.])", " ", text)
    text = re.sub(r"rpt_\S+|RAPPORT_\w+|'[^']*'|\[[\w.]+\]|/[\w./]+", " ", text)
    text = re.sub(r"\b(?:churn|demand|Parquet|parquet|sqlite)\b", " ", text)  # kinds, names
    for name in sorted((t.name for t in schema.metadata.sorted_tables), key=len, reverse=True):
        text = re.sub(rf"\b{name}\b", " ", text)
    check(text)
