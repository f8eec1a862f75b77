"""What an import fills in: fields the business rules or a natural default supply, the
mapping file's [values], and rules across fields whose columns are absent."""

from __future__ import annotations

import itertools
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import polars as pl
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from rapport.errors import ConfigError, ValidationFailed
from rapport.ingest.defaults import DEFAULTS
from rapport.ingest.entities import ENTITIES
from rapport.ingest.importer import Mapping, import_file
from rapport.ingest.rules import ROW_RULES
from rapport.ingest.validate import Context, check_batch
from rapport.store import schema
from tests.ingest.test_importer import CUSTOMERS_GBK, write_csv


def _rows(engine: Engine, table: sa.Table) -> dict[str, sa.Row]:
    with engine.connect() as conn:
        return {r.external_id: r for r in conn.execute(sa.select(table))}


@pytest.fixture
def customers(fresh_engine: Engine, tmp_path: Path) -> Engine:
    import_file("customers", write_csv(tmp_path / "c.csv", CUSTOMERS_GBK), engine=fresh_engine)
    return fresh_engine


# a Taobao-like export: no currency column, Chinese statuses
SHOP_ORDERS = [
    ["订单编号", "买家会员名", "订单创建时间", "买家实际支付金额", "订单状态"],
    ["T1", "C001", "2024-03-01 10:00:00", "99.00", "交易成功"],
    ["T2", "C001", "2024-03-02 10:00:00", "10.00", "等待买家付款"],
    ["T3", "C002", "2024-03-03 10:00:00", "20.00", "卖家已发货，等待买家确认"],
    ["T4", "C002", "2024-03-04 10:00:00", "30.00", "买家已付款，等待卖家发货"],
    ["T5", "C003", "2024-03-05 10:00:00", "0.00", "交易关闭"],
    ["T6", "C003", "2024-03-06 10:00:00", "40.00", "退款中"],
    ["T7", "C003", "2024-03-07 10:00:00", "0.00", "已退款"],
]


def test_an_orders_export_without_currency_imports_in_the_business_currency(
    customers: Engine, tmp_path: Path
) -> None:
    mapping = tmp_path / "map.toml"
    mapping.write_text('[columns]\n"买家会员名" = "customer_external_id"\n', "utf-8")
    rows = [r[:] for r in SHOP_ORDERS]
    # the spellings of a real export vary: use ones the status table knows
    rows[3][4], rows[4][4] = "卖家已发货", "买家已付款"
    report = import_file(
        "orders",
        write_csv(tmp_path / "taobao.csv", rows),
        engine=customers,
        mapping=Mapping.load(mapping),
    )
    assert (report.read, report.inserted, report.rejected) == (7, 7, 0), report
    assert report.defaults == {"currency": "the business currency"}
    got = _rows(customers, schema.orders)
    assert {r.currency for r in got.values()} == {"CNY"}
    assert {k: r.status for k, r in got.items()} == {
        "T1": "completed",
        "T2": "pending",
        "T3": "shipped",
        "T4": "paid",
        "T5": "cancelled",
        "T6": "refunding",
        "T7": "refunded",
    }


def test_an_empty_currency_cell_takes_the_business_currency_and_a_given_one_stays(
    customers: Engine, tmp_path: Path
) -> None:
    rows = [
        ["external_id", "customer_external_id", "ordered_at", "net_amount", "status", "currency"],
        ["O1", "C001", "2024-03-01", "1.00", "completed", ""],
        ["O2", "C001", "2024-03-01", "1.00", "completed", "USD"],
    ]
    report = import_file("orders", write_csv(tmp_path / "o.csv", rows), engine=customers)
    assert report.inserted == 2 and report.defaults == {}
    got = _rows(customers, schema.orders)
    assert (got["O1"].currency, got["O2"].currency) == ("CNY", "USD")


def test_a_default_never_overwrites_a_stored_value(customers: Engine, tmp_path: Path) -> None:
    full = [
        ["external_id", "customer_external_id", "ordered_at", "net_amount", "status", "currency"],
        ["O1", "C001", "2024-03-01", "1.00", "shipped", "USD"],
    ]
    import_file("orders", write_csv(tmp_path / "full.csv", full), engine=customers)
    # the same order again from a file without currency and status: nothing changes
    bare = [[c for c in r if c not in ("status", "currency", "shipped", "USD")] for r in full]
    again = import_file("orders", write_csv(tmp_path / "bare.csv", bare), engine=customers)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 1)
    got = _rows(customers, schema.orders)["O1"]
    assert (got.currency, got.status) == ("USD", "shipped")


def test_net_amount_from_gross_discount_and_refund(customers: Engine, tmp_path: Path) -> None:
    rows = [
        ["订单号", "客户编号", "下单时间", "商品总价", "优惠金额", "退款金额"],
        ["O1", "C001", "2024-03-01", "100.00", "10.00", "5.00"],
        ["O2", "C001", "2024-03-01", "100.00", "", ""],
    ]
    report = import_file("orders", write_csv(tmp_path / "o.csv", rows), engine=customers)
    assert report.inserted == 2, report
    got = _rows(customers, schema.orders)
    assert (got["O1"].net_amount, got["O2"].net_amount) == (Decimal("85.00"), Decimal("100.00"))
    assert got["O1"].status == "completed"


def test_interactions_without_direction_are_of_unknown_direction(
    customers: Engine, tmp_path: Path
) -> None:
    rows = [["客户编号", "渠道", "时间"], ["C001", "在线咨询", "2024-03-01 10:00"]]
    report = import_file("interactions", write_csv(tmp_path / "chat.csv", rows), engine=customers)
    assert report.inserted == 1, report
    with customers.connect() as conn:
        assert conn.execute(sa.select(schema.interactions.c.direction)).scalar_one() == "unknown"
    again = import_file("interactions", tmp_path / "chat.csv", engine=customers)
    assert (again.inserted, again.unchanged) == (0, 1)


def test_survey_answers_without_a_scale_take_their_kind_s(
    customers: Engine, tmp_path: Path
) -> None:
    rows = [["客户编号", "类型", "分数", "时间"], ["C001", "nps", "9", "2024-03-01"]]
    report = import_file("survey_responses", write_csv(tmp_path / "s.csv", rows), engine=customers)
    assert report.inserted == 1, report
    with customers.connect() as conn:
        row = conn.execute(sa.select(schema.survey_responses)).one()
    assert (row.scale_min, row.scale_max) == (0, 10)


def test_mapping_values_give_every_row_one_value(customers: Engine, tmp_path: Path) -> None:
    rows = [["订单号", "客户编号", "下单时间", "实付金额"], ["O1", "C001", "2024-03-01", "8.00"]]
    mapping = tmp_path / "map.toml"
    mapping.write_text('[values]\ncurrency = "HKD"\nchannel = "天猫"\nstore = 12\n', "utf-8")
    report = import_file(
        "orders", write_csv(tmp_path / "o.csv", rows), engine=customers,
        mapping=Mapping.load(mapping),
    )  # fmt: skip
    assert report.inserted == 1, report
    assert report.defaults["currency"].startswith("'HKD'")
    got = _rows(customers, schema.orders)["O1"]
    assert (got.currency, got.channel, got.store) == ("HKD", "天猫", "12")


def test_mapping_values_are_checked(customers: Engine, tmp_path: Path) -> None:
    rows = [
        ["订单号", "客户编号", "下单时间", "实付金额", "币种"],
        ["O1", "C001", "2024-03-01", "8", "CNY"],
    ]
    path = write_csv(tmp_path / "o.csv", rows)
    twice = tmp_path / "twice.toml"
    twice.write_text('[values]\ncurrency = "HKD"\n', "utf-8")
    with pytest.raises(ValidationFailed, match="has a column for it"):
        import_file("orders", path, engine=customers, mapping=Mapping.load(twice))
    unknown = tmp_path / "unknown.toml"
    unknown.write_text('[values]\ncolour = "red"\n', "utf-8")
    with pytest.raises(ValidationFailed, match="no field 'colour'"):
        import_file("orders", path, engine=customers, mapping=Mapping.load(unknown))
    nested = tmp_path / "nested.toml"
    nested.write_text('[values]\ncurrency = ["CNY"]\n', "utf-8")
    with pytest.raises(ConfigError, match="single value"):
        Mapping.load(nested)
    # a bad constant is reported on every row like a bad cell
    bad = tmp_path / "bad.toml"
    bad.write_text('[values]\nstatus = "lost in the post"\n', "utf-8")
    no_status = write_csv(tmp_path / "n.csv", [r[:4] for r in rows])
    report = import_file("orders", no_status, engine=customers, mapping=Mapping.load(bad))
    assert report.rejected == 1
    assert next(iter(report.reject_reasons)).startswith("[values] status: unknown value")


def test_required_fields_without_default_still_stop_the_import(
    fresh_engine: Engine, tmp_path: Path
) -> None:
    rows = [["订单号", "客户编号", "下单时间"], ["O1", "C001", "2024-03-01"]]
    with pytest.raises(ValidationFailed, match="net_amount") as exc:
        import_file("orders", write_csv(tmp_path / "o.csv", rows), engine=fresh_engine)
    assert "currency" not in str(exc.value) and "[values]" in (exc.value.hint or "")


def test_every_default_names_real_fields() -> None:
    for entity, defaults in DEFAULTS.items():
        spec = ENTITIES[entity]
        for name, default in defaults.items():
            assert name in spec.by_name, (entity, name)
            assert set(default.reads) <= set(spec.by_name), (entity, name)


# --- rules across fields, with any of their fields absent ------------------------------------

_SAMPLE = {
    "status": "converted",
    "converted_at": "2024-01-02",
    "opened_at": "2024-01-02",
    "first_response_at": "2024-01-01",
    "resolved_at": "2024-01-01",
    "closed_at": "2024-01-01",
    "scale_min": "1",
    "scale_max": "5",
    "score": "9",
    "referred_lead_external_id": "L1",
    "referred_customer_external_id": "C1",
    "referrer_external_id": "C1",
    "holdout": "true",
    "sent_at": "2024-01-01",
    "started_at": "2024-01-02",
    "ended_at": "2024-01-01",
    "holdout_share": "1.5",
}


@pytest.mark.parametrize(
    ("entity", "fields"),
    [
        (entity, subset)
        for entity, rules in ROW_RULES.items()
        for rule in rules
        for n in range(len(rule.fields) + 1)
        for subset in itertools.combinations(rule.fields, n)
    ],
)
def test_rules_across_fields_hold_with_any_field_absent(
    entity: str, fields: tuple[str, ...]
) -> None:
    spec = ENTITIES[entity]
    frame = pl.DataFrame({f: [_SAMPLE[f]] for f in fields}, schema=dict.fromkeys(fields, pl.Utf8))
    checked = check_batch(
        spec,
        frame if fields else pl.DataFrame({"x": [None]}, schema={"x": pl.Utf8}),
        pl.Series([2], dtype=pl.Int64),
        mapping={f: f for f in fields},
        unknown=[],
        ctx=Context(tz=ZoneInfo("UTC"), phone_region="CN"),
    )
    # never an error: a row is either kept or rejected with its reasons
    assert checked.values.height + checked.rejects.height == 1


def test_deliveries_without_a_holdout_column(customers: Engine, tmp_path: Path) -> None:
    campaigns = [["external_id", "name", "channel"], ["K1", "春节", "sms"]]
    import_file("campaigns", write_csv(tmp_path / "k.csv", campaigns), engine=customers)
    rows = [
        ["campaign_external_id", "customer_external_id", "sent_at"],
        ["K1", "C001", "2024-02-01 09:00"],
        ["K1", "C002", ""],
    ]
    report = import_file(
        "campaign_deliveries", write_csv(tmp_path / "d.csv", rows), engine=customers
    )
    assert (report.inserted, report.rejected) == (2, 0), report
    with customers.connect() as conn:
        assert not any(conn.execute(sa.select(schema.campaign_deliveries.c.holdout)).scalars())
