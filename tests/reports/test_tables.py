"""rapport.reports.tables: a table as CSV and XLSX — formula-like text neutralised in both,
numbers kept as numbers, the notice row past the limit, date-times in the business zone,
the file name header."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal
from urllib.parse import unquote
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook

from rapport.domain import ValueTier
from rapport.reports.tables import (
    TableColumn,
    content_disposition,
    csv_chunks,
    file_name,
    xlsx_file,
)

ZONE = ZoneInfo("Asia/Shanghai")
COLUMNS = [
    TableColumn("id", "编号", "integer"),
    TableColumn("name", "姓名"),
    TableColumn("clv", "预测CLV", "money"),
    TableColumn("risk", "流失风险", "percent"),
    TableColumn("at", "时间", "datetime"),
    TableColumn("tags", "标签"),
]
#: Text a spreadsheet would run, and what each becomes.
FORMULAS = {
    "=1+1": "'=1+1",
    "+86 138 0000 0000": "'+86 138 0000 0000",
    "-1-2": "'-1-2",
    "@SUM(A1)": "'@SUM(A1)",
    "\t=cmd": "'\t=cmd",
    "\r=cmd": "'\r=cmd",
    "'=1": "''=1",
}
PLAIN = ["张伟", "-12.50", "+8613800000000", "a=b"]


def rows() -> list[dict]:
    texts = [*FORMULAS, *PLAIN]
    return [
        {
            "id": i,
            "name": name,
            "clv": Decimal("1234.50"),
            "risk": 0.25,
            "at": dt.datetime(2026, 11, 30, 16, 30, tzinfo=dt.UTC),
            "tags": ["vip", "=x"],
        }
        for i, name in enumerate(texts)
    ]


def read_csv(limit: int = 100) -> list[list[str]]:
    text = "".join(csv_chunks(COLUMNS, rows(), zone=ZONE, notice="只导出前几行", limit=limit))
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:], newline="")))


def read_xlsx(limit: int = 100) -> object:
    file = xlsx_file(
        COLUMNS, rows(), zone=ZONE, notice="只导出前几行", sheet="客户/列表", limit=limit
    )
    try:
        return load_workbook(io.BytesIO(file.read())).active
    finally:
        file.close()


def expected_names() -> list[str]:
    return [*FORMULAS.values(), *PLAIN]


def test_csv_neutralises_formulas_and_keeps_plain_text_and_numbers() -> None:
    found = read_csv()
    assert found[0] == [c.heading for c in COLUMNS]
    assert [r[1] for r in found[1:]] == expected_names()
    first = found[1]
    assert first[2:5] == ["1234.5", "0.25", "2026-12-01 00:30:00"]
    assert first[5] == "vip; =x"  # a joined list is one text cell, neutralised as a whole


def test_xlsx_neutralises_formulas_and_writes_numbers_as_numbers() -> None:
    sheet = read_xlsx()
    assert sheet.title == "客户 列表"
    values = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert values[0] == [c.heading for c in COLUMNS]
    # XML reads a carriage return back as a line feed; the quote is there all the same
    assert [r[1] for r in values[1:]] == [n.replace("\r", "\n") for n in expected_names()]
    assert not any(c.data_type == "f" for row in sheet.iter_rows() for c in row)
    first = values[1]
    assert first[0] == 0 and isinstance(first[2], float) and first[2] == 1234.5
    assert first[4] == dt.datetime(2026, 12, 1, 0, 30)
    assert sheet["D2"].number_format == "0.0%"
    assert sheet["C2"].number_format == "#,##0.00"


@pytest.mark.parametrize("reader", [read_csv, read_xlsx])
def test_past_the_limit_the_file_ends_with_the_notice(reader: object) -> None:
    found = reader(limit=3)  # type: ignore[operator]
    if not isinstance(found, list):
        found = [list(r) for r in found.iter_rows(values_only=True)]
    assert len(found) == 1 + 3 + 1
    assert found[-1][0] == "只导出前几行"
    assert not any(found[-1][1:])


def test_a_row_exactly_at_the_limit_has_no_notice() -> None:
    found = read_csv(limit=len(rows()))
    assert len(found) == 1 + len(rows())


def test_enumeration_members_and_missing_values() -> None:
    columns = [TableColumn("tier", "等级"), TableColumn("n", "数", "number")]
    text = "".join(
        csv_chunks(columns, [{"tier": ValueTier.GOLD, "n": float("nan")}], zone=ZONE, notice="")
    )
    assert text.splitlines()[1] == "gold,"


def test_file_name_and_header_keep_chinese_through_rfc_5987() -> None:
    name = file_name("客户", dt.date(2026, 12, 4), "xlsx")
    assert name == "rapport-客户-2026-12-04.xlsx"
    header = content_disposition(name)
    assert header.startswith('attachment; filename="rapport-__-2026-12-04.xlsx"; ')
    assert unquote(header.split("filename*=UTF-8''", 1)[1]) == name
    assert "\n" not in content_disposition('a"b\nc.csv').replace("%0A", "")
