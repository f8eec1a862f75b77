"""Import problems: every kind the importer states has a stable code and a message in each
language, and reject and warning files carry both beside the English ``_reason``."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from rapport.config import get_settings
from rapport.domain import BIRTHDAY_IN_FUTURE, BIRTHDAY_TOO_EARLY, Gender, OrderStatus
from rapport.i18n.reasons import (
    CUT_NOTE,
    OTHER,
    REASONS,
    code,
    localize_reason,
    match,
    message,
    reason_codes,
    split_reason,
)
from rapport.ingest import normalize as nz
from rapport.ingest import readers
from rapport.ingest.importer import import_file
from rapport.ingest.report import REJECT_COLUMNS
from rapport.ingest.rules import ROW_RULES
from rapport.ingest.validate import _canonical_json, _tag_list
from rapport.store.db import create_engine, upgrade

CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")


def _without_chinese_spellings(text: str) -> str:
    """An unknown-value problem in English names the codes, not the Chinese spellings."""
    return re.sub(r" \(or [^)]*\)", "", text)


def _raised(call, *args) -> str:
    with pytest.raises(ValueError) as info:
        call(*args)
    return str(info.value)


def problems() -> list[str]:
    """Problems as the importer's own functions state them."""
    tz = ZoneInfo("America/New_York")
    texts = [
        _raised(nz.parse_bool, "也许"),
        _raised(nz.normalize_email, "not-an-e-mail"),
        _raised(nz.normalize_phone, "12345", "CN"),
        _raised(nz.parse_money, "abc"),
        _raised(nz.parse_money, "1e300"),
        _raised(nz.parse_int, "1.5"),
        _raised(nz.parse_float, "x1"),
        _raised(nz.parse_datetime, "someday", tz),
        _raised(nz.parse_datetime, "2024-03-10 02:30", tz),  # skipped by daylight saving
        _raised(nz.parse_date, "2024-13-45"),
        _raised(nz.parse_enum, "外星", Gender),
        _raised(nz.parse_enum, "lost in space", OrderStatus),
        _raised(_canonical_json, "{"),
        _raised(_canonical_json, '{"a": NaN}'),
        _raised(_canonical_json, '"a\\u0000"'),
        _raised(_tag_list, "[1, 2]"),
        BIRTHDAY_TOO_EARLY,
        BIRTHDAY_IN_FUTURE,
        "required value missing",
        "longer than 64 characters",
        "must be >= 0",
        "must be > 0",
        "must be <= 100",
        "duplicate external_id: same as row 5",
        "duplicate external_id: it appears in an earlier row",
        "no customers row with external_id 'C9'",
        "external_id 'C1' is used by a record outside your scope",
        "row has 3 fields, the header has 2",
        "row has 3 fields, the header has 2" + CUT_NOTE,
        "a quoted value is not closed before the end of the file (an unbalanced quote)",
        "bytes that are not gb18030 text in column '姓名'",
        "bytes that are not UTF-8 text at character 7",
        "NUL character in column 'name': text must not contain NUL characters",
        "invalid JSON: not a JSON object",
        "invalid JSON: Expecting value: line 1 column 1 (char 0)",
        "fields ['x'] not in the first lines' columns",
    ]
    texts += [rule.message for rules in ROW_RULES.values() for rule in rules]
    return texts


def test_the_reader_notes_are_the_ones_known() -> None:
    assert readers.CUT_NOTE == CUT_NOTE


@pytest.mark.parametrize("problem", problems())
def test_every_problem_has_a_code_and_both_messages(problem: str) -> None:
    assert code(problem) != OTHER, f"no pattern in rapport.i18n.reasons knows {problem!r}"
    # English is the text as written (the Chinese spellings an unknown value could have
    # used are left out); Chinese is Chinese and keeps the quoted value
    assert message(problem, "en") == _without_chinese_spellings(problem)
    assert not CJK.search(re.sub(r"'[^']*'", "", message(problem, "en")))
    zh = message(problem, "zh_CN")
    assert CJK.search(zh), zh
    for quoted in re.findall(r"'[^']*'", problem):
        assert quoted in zh or "JSON" in problem, (quoted, zh)


@pytest.mark.parametrize("reason", REASONS, ids=lambda r: r.code)
def test_templates_use_what_the_pattern_captures(reason) -> None:
    groups = set(reason.regex.groupindex)
    assert reason.fields("en") <= groups, reason.code
    assert groups - reason.fields("en") <= {"labels"}, reason.code
    assert reason.fields("zh_CN") <= groups, reason.code
    assert CJK.search(reason.zh), reason.code


def test_codes_are_unique() -> None:
    codes = [r.code for r in REASONS]
    assert len(codes) == len(set(codes)) and OTHER not in codes


def test_a_reason_of_several_problems_is_split_at_its_columns() -> None:
    enum = _raised(nz.parse_enum, "外星", Gender)  # holds "; " itself
    reason = f"性别: {enum}; 下单时间: not a date or time: 'a; b'; 金额: must be >= 0"
    assert split_reason(reason) == [
        ("性别", enum),
        ("下单时间", "not a date or time: 'a; b'"),
        ("金额", "must be >= 0"),
    ]
    assert reason_codes(reason) == "性别: unknown_value; 下单时间: not_datetime; 金额: min"
    assert localize_reason(reason, "en") == _without_chinese_spellings(reason)
    zh = localize_reason(reason, "zh_CN")
    assert zh.count("；") >= 2 and "金额：不能小于 0" in zh and "'a; b'" in zh


def test_the_summary_form_without_values_is_translated() -> None:
    # the import report's summary keeps "column: problem" without the value
    assert localize_reason("手机: not a phone number:", "zh_CN") == "手机：不是电话号码"
    assert localize_reason("状态: unknown value", "zh_CN") == "状态：无法识别的取值"
    assert localize_reason("duplicate 客户编号: same as row", "en") == (
        "duplicate 客户编号: same as row"
    )


def test_an_unknown_problem_keeps_its_words() -> None:
    assert match("something new happened") is None
    assert reason_codes("列: something new happened") == f"列: {OTHER}"
    assert localize_reason("列: something new happened", "zh_CN") == "列：something new happened"


# --- the files -----------------------------------------------------------------------------


@pytest.fixture
def store() -> None:
    engine = create_engine(get_settings().database_url)
    upgrade(engine)
    engine.dispose()


def _rows(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text("utf-8-sig"))))


@pytest.mark.parametrize("locale", ["zh_CN", "en"])
def test_reject_and_warning_files_explain_each_problem(
    store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, locale: str
) -> None:
    monkeypatch.setenv("RAPPORT_LOCALE", locale)
    get_settings.cache_clear()
    path = tmp_path / "orders.csv"
    path.write_text(
        "订单号,客户编号,下单时间,实付金额,币种,订单状态\n"
        "O1,C404,2024-01-02 10:00,10,CNY,已完成\n"  # no such customer
        "O2,C404,someday,-5,CNY,lost\n"  # three problems
        "O2,C404,2024-01-02,1,CNY,已完成,extra\n",  # too many fields
        "utf-8",
    )
    engine = create_engine(get_settings().database_url)
    report = import_file("orders", path, engine=engine)
    engine.dispose()
    assert report.rejected == 3
    rows = _rows(Path(report.reject_file))
    assert list(rows[0])[-len(REJECT_COLUMNS) :] == list(REJECT_COLUMNS)
    for row in rows:
        assert row["_code"] and OTHER not in row["_code"].split(": "), row
        assert row["_message"] == localize_reason(row["_reason"], locale)
        for _column, problem in split_reason(row["_reason"]):
            text = message(problem, locale)
            if locale == "en":
                assert not CJK.search(re.sub(r"'[^']*'", "", text)), text
            else:
                assert CJK.search(text), text
    codes = {c for row in rows for part in row["_code"].split("; ") for c in [part.split(": ")[-1]]}
    assert {"unknown_reference", "not_datetime", "min", "unknown_value", "field_count"} <= codes


def test_a_reject_file_imported_again_ignores_the_explanations(store, tmp_path: Path) -> None:
    path = tmp_path / "customers.csv"
    path.write_text("客户编号,姓名\nC1,张三\n,李四\n", "utf-8")
    engine = create_engine(get_settings().database_url)
    first = import_file("customers", path, engine=engine)
    assert first.rejected == 1
    rejects = Path(first.reject_file)
    fixed = rejects.read_text("utf-8-sig").replace(",李四,", "C2,李四,", 1)
    again = tmp_path / "fixed.csv"
    again.write_text(fixed, "utf-8")
    second = import_file("customers", again, engine=engine)
    engine.dispose()
    assert (second.inserted, second.rejected) == (1, 0)
    assert not set(REJECT_COLUMNS) & set(second.unknown_columns)


def test_docs_list_every_code() -> None:
    docs = (Path(__file__).parents[2] / "docs" / "import.md").read_text("utf-8")
    missing = [r.code for r in REASONS if f"`{r.code}`" not in docs]
    assert not missing, f"docs/import.md does not list: {missing}"
