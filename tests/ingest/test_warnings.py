"""A bad descriptive value drops the value, not the customer: warnings, --strict, updates."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from rapport.ingest.importer import import_file
from rapport.store import schema
from tests.ingest.test_importer import write_csv

NEXT_YEAR = str(dt.date.today().year + 1)

PEOPLE = [
    ["客户编号", "姓名", "邮箱", "手机", "生日", "性别"],
    ["C1", "张伟", "abc@", "13812345678", "1990-05-01", "男"],  # bad e-mail
    ["C2", "李娜", "lina@example.cn", "12345", "1988-12-31", "女"],  # not a phone
    ["C3", "王芳", "wf@example.cn", "13700001111", f"{NEXT_YEAR}-01-01", "女"],  # future
    ["C4", "赵敏", "zm@example.cn", "13700002222", "1899-12-31", "火星人"],  # 1899, gender
    ["", "孙丽", "bad@", "13700003333", "1990-01-01", "女"],  # no key: rejected
]


def _customers(engine: Engine) -> dict[str, sa.Row]:
    with engine.connect() as conn:
        return {r.external_id: r for r in conn.execute(sa.select(schema.customers))}


def _lines(path: str) -> list[dict[str, str]]:
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def test_bad_optional_values_are_dropped_with_a_warning(
    fresh_engine: Engine, tmp_path: Path
) -> None:
    report = import_file("customers", write_csv(tmp_path / "c.csv", PEOPLE), engine=fresh_engine)
    assert (report.read, report.inserted, report.rejected) == (5, 4, 1)
    assert report.warnings == 5 and report.adds_up
    got = _customers(fresh_engine)
    assert got["C1"].email is None and got["C1"].phone == "+8613812345678"
    assert got["C2"].phone is None and got["C2"].email == "lina@example.cn"
    assert got["C3"].birthday is None and got["C4"].birthday is None
    assert got["C4"].gender is None and got["C4"].name == "赵敏"

    warnings = _lines(report.warning_file)
    assert [(w["_row"], w["_column"], w["_value"]) for w in warnings] == [
        ("2", "邮箱", "abc@"),
        ("3", "手机", "12345"),
        ("4", "生日", f"{NEXT_YEAR}-01-01"),
        ("5", "生日", "1899-12-31"),
        ("5", "性别", "火星人"),
    ]
    reasons = [w["_reason"] for w in warnings]
    assert reasons[0].startswith("not an e-mail address")
    assert reasons[2] == "a birthday in the future"
    assert reasons[3] == "a birthday before 1900-01-01"
    # the rejected row lists its warning among its reasons, and is not in the warnings
    (rejected,) = _lines(report.reject_file)
    assert "required value missing" in rejected["_reason"] and "邮箱" in rejected["_reason"]

    again = import_file("customers", tmp_path / "c.csv", engine=fresh_engine)
    assert (again.inserted, again.updated, again.unchanged, again.rejected) == (0, 0, 4, 1)


def test_strict_rejects_the_rows_instead(fresh_engine: Engine, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "c.csv", PEOPLE)
    report = import_file("customers", path, engine=fresh_engine, strict=True)
    assert (report.inserted, report.rejected, report.warnings) == (0, 5, 0)
    assert report.warning_file is None
    reasons = {r["客户编号"]: r["_reason"] for r in _lines(report.reject_file)}
    assert "not a phone number" in reasons["C2"]
    assert "a birthday before 1900-01-01" in reasons["C4"] and "火星人" in reasons["C4"]


def test_a_bad_value_never_overwrites_a_stored_one(fresh_engine: Engine, tmp_path: Path) -> None:
    good = [["客户编号", "邮箱", "城市"], ["C1", "zw@example.cn", "深圳"]]
    import_file("customers", write_csv(tmp_path / "a.csv", good), engine=fresh_engine)
    bad = [["客户编号", "邮箱", "城市"], ["C1", "zw@", "广州"]]
    report = import_file("customers", write_csv(tmp_path / "b.csv", bad), engine=fresh_engine)
    assert (report.updated, report.warnings) == (1, 1)
    got = _customers(fresh_engine)["C1"]
    assert (got.email, got.city) == ("zw@example.cn", "广州")


def test_amounts_and_times_still_reject_the_row(fresh_engine: Engine, tmp_path: Path) -> None:
    write_csv(tmp_path / "c.csv", [["客户编号"], ["C1"]])
    import_file("customers", tmp_path / "c.csv", engine=fresh_engine)
    rows = [
        ["订单号", "客户编号", "下单时间", "实付金额", "商品总额"],
        ["O1", "C1", "2024-03-01", "10.00", "abc"],  # a bad optional amount
        ["O2", "C1", "2024-13-01", "10.00", "10.00"],  # a bad time
    ]
    report = import_file("orders", write_csv(tmp_path / "o.csv", rows), engine=fresh_engine)
    assert (report.inserted, report.rejected, report.warnings) == (0, 2, 0)
