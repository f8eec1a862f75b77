"""End-to-end imports on both backends: messy real-world files, idempotency, rejects."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from rapport.config import Settings, load_rules
from rapport.errors import ConfigError, ValidationFailed
from rapport.ingest.entities import ENTITIES
from rapport.ingest.importer import Mapping, import_file
from rapport.ingest.readers import UnreadableFile
from rapport.store import schema
from tests.helpers import count_rows

CUSTOMERS_GBK = [
    ["客户编号", "姓名", "手机号", "邮箱", "城市", "性别", "生日", "注册时间", "会员等级"],
    [
        "C001",
        "张伟",
        "138 1234 5678",
        "ZHANG.WEI@Example.COM",
        "深圳",
        "男",
        "1990年5月1日",
        "2023年1月5日",
        "金卡",
    ],
    [
        "Ｃ００２",
        "李娜",
        "+86 139-0000-1111",
        "lina@example.cn",
        "广州",
        "女",
        "1988/12/31",
        "2023-02-01 10:00",
        "银卡",
    ],
    ["C003", "王芳", "13700001111", "", "北京", "女", "", "2023年3月3日", ""],
]

ORDERS_MESSY = [
    ["订单号", "客户编号", "下单时间", "实付金额", "订单状态", "币种", "渠道"],
    ["SO-1", "C001", "2024年3月5日 14:30", "¥1,280.00元", "已完成", "CNY", "天猫"],  # ok
    ["SO-2", "C002", "2024/3/6", "￥２５６．５０", "completed", "CNY", "app"],  # ok, full width
    ["SO-3", "C001", "45356", "99", "已退款", "CNY", "app"],  # ok, Excel serial date
    ["SO-1", "C001", "2024年3月5日 14:30", "¥1,280.00元", "已完成", "CNY", "天猫"],  # duplicate
    ["SO-4", "C999", "2024-03-07", "10.00", "已完成", "CNY", "app"],  # unknown customer
    ["SO-5", "C003", "2024-03-08", "-5.00", "已完成", "CNY", "app"],  # negative amount
    ["SO-6", "C003", "2024-03-09", "20.00", "异常订单", "CNY", "app"],  # bad enum
    ["SO-7", "", "2024-03-10", "30.00", "已完成", "CNY", "app"],  # missing required
    ["SO-8", "C003", "not a date", "30.00", "已完成", "CNY", "app"],  # bad date
    ["SO-9", "C003", "2024-03-11", "abc", "已完成", "RMBY", "app"],  # two problems
]


def write_csv(path: Path, rows: list[list[str]], encoding: str = "utf-8", sep: str = ",") -> Path:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=sep, lineterminator="\r\n").writerows(rows)
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


def test_messy_gbk_files_every_row_accounted(fresh_engine: Engine, tmp_path: Path) -> None:
    customers = write_csv(tmp_path / "客户.csv", CUSTOMERS_GBK, encoding="gbk")
    orders = write_csv(tmp_path / "订单.csv", ORDERS_MESSY, encoding="gb18030")

    rep = import_file("customers", customers, engine=fresh_engine)
    assert rep.encoding == "gb18030"
    assert (rep.read, rep.inserted, rep.rejected) == (3, 3, 0)
    assert rep.unknown_columns == ["会员等级"]

    rep = import_file("orders", orders, engine=fresh_engine)
    assert rep.read == 10 and rep.adds_up
    assert (rep.inserted, rep.rejected) == (3, 7)
    rejects = pl.read_csv(rep.reject_file, infer_schema=False)
    by_row = {int(r["_row"]): r for r in rejects.to_dicts()}
    assert sorted(by_row) == [5, 6, 7, 8, 9, 10, 11]
    assert "same as row 2" in by_row[5]["_reason"]
    assert by_row[6]["_column"] == "客户编号" and "C999" in by_row[6]["_reason"]
    assert by_row[7]["_column"] == "实付金额" and ">= 0" in by_row[7]["_reason"]
    assert by_row[8]["_column"] == "订单状态" and "异常订单" in by_row[8]["_reason"]
    assert "required" in by_row[9]["_reason"]
    assert by_row[10]["_column"] == "下单时间"
    assert set(by_row[11]["_column"].split(", ")) == {"实付金额", "币种"}
    # original values are kept, so the file can be fixed and re-imported as is
    assert by_row[7]["实付金额"] == "-5.00"

    with fresh_engine.connect() as conn:
        got = {
            r.external_id: r
            for r in conn.execute(sa.select(schema.orders).order_by(schema.orders.c.id))
        }
        cust = {r.external_id: r for r in conn.execute(sa.select(schema.customers))}
    assert set(got) == {"SO-1", "SO-2", "SO-3"}
    assert got["SO-1"].net_amount == Decimal("1280.00")
    assert got["SO-2"].net_amount == Decimal("256.50")
    assert got["SO-1"].status == "completed" and got["SO-3"].status == "refunded"
    # 14:30 in Asia/Shanghai is 06:30 UTC
    assert got["SO-1"].ordered_at == dt.datetime(2024, 3, 5, 6, 30, tzinfo=dt.UTC)
    # Excel serial 45356 is 2024-03-05 (local midnight → previous day 16:00 UTC)
    assert got["SO-3"].ordered_at == dt.datetime(2024, 3, 4, 16, 0, tzinfo=dt.UTC)
    assert got["SO-1"].extra is None or "渠道" not in (got["SO-1"].extra or {})
    assert cust["C002"].phone == "+8613900001111"
    assert cust["C001"].email.lower() == "zhang.wei@example.com"
    assert cust["C001"].birthday == dt.date(1990, 5, 1)
    assert cust["C001"].gender == "male" and cust["C002"].gender == "female"
    assert cust["C001"].extra == {"会员等级": "金卡"}
    assert cust["C003"].extra is None

    again = import_file("orders", orders, engine=fresh_engine)
    assert (again.inserted, again.updated, again.unchanged, again.rejected) == (0, 0, 3, 7)
    again = import_file("customers", customers, engine=fresh_engine)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 3)


def test_updated_file_updates_only_changed_rows(fresh_engine: Engine, tmp_path: Path) -> None:
    write_csv(tmp_path / "c.csv", CUSTOMERS_GBK)
    import_file("customers", tmp_path / "c.csv", engine=fresh_engine)
    changed = [row[:] for row in CUSTOMERS_GBK]
    changed[1][4] = "上海"  # C001 moves city
    write_csv(tmp_path / "c2.csv", changed)
    rep = import_file("customers", tmp_path / "c2.csv", engine=fresh_engine)
    assert (rep.inserted, rep.updated, rep.unchanged) == (0, 1, 2)
    with fresh_engine.connect() as conn:
        city = conn.execute(
            sa.select(schema.customers.c.city).where(schema.customers.c.external_id == "C001")
        ).scalar_one()
    assert city == "上海"


def test_reject_file_fixed_and_reimported_as_is(fresh_engine: Engine, tmp_path: Path) -> None:
    write_csv(tmp_path / "c.csv", CUSTOMERS_GBK)
    import_file("customers", tmp_path / "c.csv", engine=fresh_engine)
    rep = import_file("orders", write_csv(tmp_path / "o.csv", ORDERS_MESSY), engine=fresh_engine)
    fixed = pl.read_csv(rep.reject_file, infer_schema=False).filter(pl.col("_row") != "5")
    fixed = fixed.with_columns(
        pl.col("订单状态").replace({"异常订单": "已发货"}),
        pl.col("实付金额").replace({"-5.00": "5.00", "abc": "5.00"}),
        pl.col("客户编号").replace({"C999": "C001"}).fill_null("C002"),
        pl.col("下单时间").replace({"not a date": "2024-03-12"}),
        pl.col("币种").replace({"RMBY": "CNY"}),
    )
    fixed.write_csv(tmp_path / "fixed.csv")
    again = import_file("orders", tmp_path / "fixed.csv", engine=fresh_engine)
    assert (again.read, again.inserted, again.rejected) == (6, 6, 0)
    assert again.unknown_columns == []
    assert count_rows(fresh_engine, schema.orders) == 9


def test_missing_required_column_stops_before_writing(fresh_engine: Engine, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "o.csv", [["订单号", "客户编号"], ["SO-1", "C001"]])
    with pytest.raises(ValidationFailed, match="ordered_at"):
        import_file("orders", path, engine=fresh_engine)
    assert count_rows(fresh_engine, schema.orders) == 0


def test_mapping_file_overrides_headers(fresh_engine: Engine, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "c.csv", [["单据号", "买家名", "备注"], ["K1", "赵六", "x"]])
    (tmp_path / "map.toml").write_text(
        '[columns]\n"单据号" = "external_id"\n"买家名" = "name"\n"备注" = "-"\n', "utf-8"
    )
    rep = import_file(
        "customers", path, engine=fresh_engine, mapping=Mapping.load(tmp_path / "map.toml")
    )
    assert (rep.inserted, rep.unknown_columns) == (1, [])


@pytest.mark.parametrize(
    "content", ['[columns]\n"单据号" = external_id\n', "[columns\n", '[columns]\n"单据号" = "a\n']
)
def test_an_invalid_mapping_file_is_reported_like_the_rules_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, content: str
) -> None:
    path = tmp_path / "map.toml"
    path.write_text(content, "utf-8")
    with pytest.raises(ConfigError) as mapping:
        Mapping.load(path)
    monkeypatch.setenv("RAPPORT_CONFIG_FILE", str(path))
    with pytest.raises(ConfigError) as rules:
        load_rules(Settings())
    assert mapping.value.key == "toml_invalid"
    assert (mapping.value.params, str(mapping.value)) == (rules.value.params, str(rules.value))


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "gb18030"])
def test_encodings(fresh_engine: Engine, tmp_path: Path, encoding: str) -> None:
    path = write_csv(tmp_path / "c.csv", CUSTOMERS_GBK, encoding=encoding)
    rep = import_file("customers", path, engine=fresh_engine)
    assert rep.inserted == 3
    with fresh_engine.connect() as conn:
        names = set(conn.execute(sa.select(schema.customers.c.name)).scalars())
    assert names == {"张伟", "李娜", "王芳"}


def test_tsv_xlsx_parquet_jsonl(fresh_engine: Engine, tmp_path: Path) -> None:
    header, *rows = CUSTOMERS_GBK
    tsv = write_csv(tmp_path / "a.tsv", [header, rows[0]], sep="\t")
    assert import_file("customers", tsv, engine=fresh_engine).inserted == 1

    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "客户"
    ws.append(header)
    ws.append(rows[1])
    wb.save(tmp_path / "b.xlsx")
    rep = import_file("customers", tmp_path / "b.xlsx", engine=fresh_engine, sheet="客户")
    assert (rep.format, rep.inserted) == ("xlsx", 1)

    pl.DataFrame([dict(zip(header, rows[2], strict=True))]).write_parquet(tmp_path / "c.parquet")
    assert import_file("customers", tmp_path / "c.parquet", engine=fresh_engine).inserted == 1

    lines = [
        json.dumps(
            {"external_id": "J1", "name": "钱七", "tags": ["VIP", "新客"]}, ensure_ascii=False
        ),
        "{not json",
    ]
    (tmp_path / "d.jsonl").write_text("\n".join(lines) + "\n", "utf-8")
    rep = import_file("customers", tmp_path / "d.jsonl", engine=fresh_engine)
    assert (rep.read, rep.inserted, rep.rejected) == (2, 1, 1)
    with fresh_engine.connect() as conn:
        tags = conn.execute(
            sa.select(schema.customers.c.tags).where(schema.customers.c.external_id == "J1")
        ).scalar_one()
    assert tags == ["VIP", "新客"]
    assert count_rows(fresh_engine, schema.customers) == 4


def test_malformed_csv_rows_are_reported(fresh_engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_text("external_id,name\nA1,甲\nA2,乙,多余\nA3,丙\n", "utf-8")
    rep = import_file("customers", path, engine=fresh_engine)
    assert (rep.read, rep.inserted, rep.rejected) == (3, 2, 1)
    rejects = pl.read_csv(rep.reject_file, infer_schema=False)
    assert rejects["_row"].to_list() == ["3"]
    assert rejects["_raw"].to_list() == ["A2,乙,多余"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty"),
        (b"\xd0\xcf\x11\xe0garbage", "old Excel"),
        (b"PK\x03\x04 not really a zip", "spreadsheet"),
        (b"a,a\n1,2\n", "twice"),
    ],
)
def test_unreadable_files(
    fresh_engine: Engine, tmp_path: Path, content: bytes, message: str
) -> None:
    path = tmp_path / "bad.xlsx" if content.startswith(b"PK") else tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(UnreadableFile, match=message):
        import_file("customers", path, engine=fresh_engine)


def test_dry_run_writes_nothing(fresh_engine: Engine, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "c.csv", CUSTOMERS_GBK)
    rep = import_file("customers", path, engine=fresh_engine, dry_run=True)
    assert rep.inserted == 3 and rep.dry_run
    assert count_rows(fresh_engine, schema.customers) == 0


def test_derived_keys_make_keyless_files_idempotent(fresh_engine: Engine, tmp_path: Path) -> None:
    write_csv(tmp_path / "c.csv", CUSTOMERS_GBK)
    import_file("customers", tmp_path / "c.csv", engine=fresh_engine)
    events = [
        ["客户编号", "事件类型", "时间", "停留时长", "页面"],
        ["C001", "page_view", "2024-03-05 10:00", "35", "/home"],
        ["C001", "add_to_cart", "2024-03-05 10:01", "", "/p/1"],
    ]
    path = write_csv(tmp_path / "e.csv", events)
    first = import_file("events", path, engine=fresh_engine)
    second = import_file("events", path, engine=fresh_engine)
    assert (first.inserted, second.inserted, second.unchanged) == (2, 0, 2)
    with fresh_engine.connect() as conn:
        props = conn.execute(sa.select(schema.events.c.properties)).scalars().all()
    assert {"页面": "/home"} in props


def test_tickets_get_sla_due_times(fresh_engine: Engine, tmp_path: Path) -> None:
    write_csv(tmp_path / "c.csv", CUSTOMERS_GBK)
    import_file("customers", tmp_path / "c.csv", engine=fresh_engine)
    rows = [
        ["工单号", "客户编号", "类型", "优先级", "状态", "创建时间", "首次响应时间"],
        ["T1", "C001", "投诉", "紧急", "open", "2024-03-05T10:00:00+08:00", ""],
        ["T2", "C001", "咨询", "normal", "closed", "2024-03-05 10:00", "2024-03-05 09:00"],
    ]
    rep = import_file("tickets", write_csv(tmp_path / "t.csv", rows), engine=fresh_engine)
    assert (rep.inserted, rep.rejected) == (1, 1)
    with fresh_engine.connect() as conn:
        t = conn.execute(sa.select(schema.tickets)).one()
    assert t.priority == "urgent" and t.kind == "complaint"
    assert t.first_response_due_at - t.opened_at == dt.timedelta(hours=2)
    assert t.resolution_due_at - t.opened_at == dt.timedelta(hours=12)


def test_import_doc_lists_every_field() -> None:
    doc = (Path(__file__).parents[2] / "docs" / "import.md").read_text("utf-8")
    for name, spec in ENTITIES.items():
        assert f"### `{name}`" in doc
        for field in spec.fields:
            assert f"`{field.name}`" in doc, (name, field.name)
