"""``rapport import`` from the command line: report, JSON, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rapport.cli.main import app
from rapport.config import get_settings

runner = CliRunner()


@pytest.fixture
def initialised(tmp_path: Path) -> Path:
    result = runner.invoke(app, ["init"])
    assert result.exit_code == 0, result.output
    path = tmp_path / "customers.csv"
    # C2's phone is not a phone (dropped with a warning), the third row has no key
    path.write_text(
        "客户编号,姓名,手机\nC1,张三,13812345678\nC2,李四,12345\n,王五,13900001111\n", "utf-8"
    )
    return path


def test_json_report_adds_up(initialised: Path) -> None:
    result = runner.invoke(app, ["import", "customers", str(initialised), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["read"] == report["inserted"] + report["rejected"] == 3
    assert (report["inserted"], report["rejected"], report["warnings"]) == (2, 1, 1)
    assert report["adds_up"] is True
    assert Path(report["reject_file"]).is_file()
    assert Path(report["warning_file"]).read_text("utf-8-sig").splitlines() == [
        "_row,_column,_value,_reason,_code,_message",
        "3,手机,12345,not a phone number: '12345',not_phone,不是电话号码：'12345'",
    ]


def test_strict_rejects_bad_optional_values_too(initialised: Path) -> None:
    result = runner.invoke(app, ["import", "customers", str(initialised), "--strict", "--json"])
    assert result.exit_code == 2
    report = json.loads(result.stdout)
    assert (report["inserted"], report["rejected"], report["warnings"]) == (1, 2, 0)


def test_strict_exits_2_when_rows_rejected(initialised: Path) -> None:
    result = runner.invoke(app, ["import", "customers", str(initialised), "--strict"])
    assert result.exit_code == 2
    assert "被拒绝的行已写入" in result.stdout


def test_table_report(initialised: Path) -> None:
    result = runner.invoke(app, ["import", "customers", str(initialised)])
    assert result.exit_code == 0
    assert "新增" in result.stdout and "拒绝" in result.stdout
    # the summary of reasons in the locale's words, the column as the file names it
    assert "手机：不是电话号码" in result.stdout
    assert "not a phone number" not in result.stdout


def test_table_report_in_english(initialised: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAPPORT_LOCALE", "en")
    get_settings.cache_clear()
    result = runner.invoke(app, ["import", "customers", str(initialised), "--strict"])
    assert result.exit_code == 2
    assert "Inserted" in result.stdout and "Rejected rows written to" in result.stdout
    assert "手机: not a phone number" in result.stdout
    assert "不是" not in result.stdout and "拒绝" not in result.stdout


def test_unreadable_file_exit_10(tmp_path: Path, initialised: Path) -> None:
    bad = tmp_path / "x.xlsx"
    bad.write_text("not a spreadsheet", "utf-8")
    import sys

    from rapport.cli.main import run

    argv = sys.argv
    sys.argv = ["rapport", "import", "customers", str(bad)]
    try:
        with pytest.raises(SystemExit) as exit_info:
            run()
    finally:
        sys.argv = argv
    assert exit_info.value.code == 10


def test_unknown_entity_is_an_error(initialised: Path) -> None:
    result = runner.invoke(app, ["import", "widgets", str(initialised)])
    assert result.exit_code != 0
    assert "widgets" in str(result.exception)


def test_import_needs_initialised_store(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_text("external_id\nC1\n", "utf-8")
    result = runner.invoke(app, ["import", "customers", str(path)])
    assert result.exit_code != 0
    assert "rapport init" in str(result.exception)
