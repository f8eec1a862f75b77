"""Every engine opens and presents the same canonical tables with the same values.

The matrix tests run on each engine of ``conftest.py`` and compare what the engine reads
with the dataset itself, so all engines agree with each other by agreeing with it: the same
schema, the same UTC instants (a TimeZone bug shifts them by hours), the same money, real
booleans, Chinese text unchanged, and the same small aggregate. The rest checks the
engines' set-up: DuckDB never downloads an extension, every impossible request is a clear
``UnsupportedBackend``, partitioned Parquet reads as one table, Spark starts once, and
``rapport export`` writes canonical Parquet.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import sys
from collections import Counter, defaultdict
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import ibis
import psycopg
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import typer
from ibis.common.exceptions import OperationNotDefinedError, UnsupportedOperationError
from typer.testing import CliRunner

from rapport.analytics.connect import connect, export_parquet
from rapport.analytics.sources import Sources
from rapport.analytics.tables import MONEY, SCHEMAS
from rapport.cli.analytics import export_command
from rapport.config import get_settings
from rapport.errors import StoreUnavailable, UnsupportedBackend, ValidationFailed
from rapport.store import schema
from rapport.store.db import create_engine, upgrade
from rapport.store.types import is_json
from tests.analytics.conftest import (
    analytics_settings,
    execute,
    gap_engines,
    gap_xfail,
    stored_row,
)

U = dt.datetime  # naive datetimes in the dataset mean UTC
CREATED = U(2023, 6, 1, 8, 0)

#: A small dataset in the canonical schema, used until ``fixture_data.TABLES`` exists. It
#: holds what tends to break between engines: times near midnight in Asia/Shanghai, a leap
#: day, microseconds, cents that floats cannot hold exactly, a large amount, booleans of
#: both values, NULLs, dates, JSON documents and Chinese text.
STAND_IN: dict[str, list[dict[str, Any]]] = {
    "users": [
        {
            "id": 1,
            "username": "wangfang",
            "display_name": "王芳",
            "role": "service",
            "team": "华东客服",
            "is_active": True,
            "created_at": CREATED,
            "updated_at": CREATED,
        },
        {
            "id": 2,
            "username": "li.lei",
            "display_name": "Li Lei",
            "role": "sales",
            "is_active": False,
            "created_at": CREATED,
            "updated_at": CREATED,
        },
    ],
    "customers": [
        {
            "id": 1,
            "external_id": "C001",
            "name": "张伟",
            "email": "zhangwei@example.cn",
            "phone": "+8613812345678",
            "social_handles": {"weibo": "张伟的微博"},
            "country": "CN",
            "province": "浙江省",
            "city": "杭州市",
            "district": "西湖区",
            "street": "文三路 90 号",
            "birthday": dt.date(1990, 5, 17),
            "gender": "male",
            "owner_id": 1,
            "marketing_consent": True,
            "marketing_opt_out": False,
            "loyalty_joined_at": U(2023, 12, 31, 16, 30),  # 2024-01-01 00:30 in Shanghai
            "tags": ["钻石", "VIP"],
            "created_at": CREATED,
            "updated_at": U(2024, 3, 5, 6, 30),
        },
        {
            "id": 2,
            "external_id": "C002",
            "name": "Alice Smith",
            "country": "GB",
            "marketing_consent": False,
            "marketing_opt_out": True,
            "created_at": CREATED,
            "updated_at": CREATED,
        },
        {
            "id": 3,
            "external_id": "C003",
            "name": "李娜",
            "city": "上海市",
            "birthday": dt.date(2000, 2, 29),
            "owner_id": 2,
            "marketing_consent": True,
            "marketing_opt_out": False,
            "extra": {"备注": "老客户，喜欢绿茶"},
            "created_at": CREATED,
            "updated_at": CREATED,
        },
    ],
    "products": [
        {
            "id": 1,
            "sku": "TEA-LJ-250",
            "name": "西湖龙井 250g",
            "category": "茶叶",
            "price": 88.00,
            "currency": "CNY",
            "is_active": True,
            "created_at": CREATED,
            "updated_at": CREATED,
        },
        {
            "id": 2,
            "sku": "MUG-01",
            "name": "Mug",
            "price": 12.5,
            "currency": "CNY",
            "is_active": False,
            "created_at": CREATED,
            "updated_at": CREATED,
        },
    ],
    "orders": [
        {
            "id": 1,
            "external_id": "SO-1",
            "customer_id": 1,
            "status": "completed",
            "ordered_at": U(2024, 3, 5, 6, 30),  # 14:30 in Shanghai, same day
            "gross_amount": 176.00,
            "discount_amount": 8.80,
            "refunded_amount": 0.0,
            "net_amount": 167.20,
            "currency": "CNY",
            "channel": "tmall",
            "store": "天猫旗舰店",
            "extra": {"优惠券": "春节"},
            "created_at": U(2024, 3, 5, 6, 30),
            "updated_at": U(2024, 3, 5, 6, 30),
        },
        {
            "id": 2,
            "external_id": "SO-2",
            "customer_id": 1,
            "status": "completed",
            "ordered_at": U(2024, 3, 5, 23, 30),  # 2024-03-06 07:30 in Shanghai
            "gross_amount": 0.10,
            "net_amount": 0.10,
            "currency": "CNY",
            "created_at": U(2024, 3, 5, 23, 30),
            "updated_at": U(2024, 3, 5, 23, 30),
        },
        {
            "id": 3,
            "external_id": "SO-3",
            "customer_id": 1,
            "status": "refunded",
            "ordered_at": U(2024, 4, 1, 12, 0),
            "gross_amount": 88.00,
            "discount_amount": 0.0,
            "refunded_amount": 88.00,
            "net_amount": 0.0,
            "currency": "CNY",
            "created_at": U(2024, 4, 1, 12, 0),
            "updated_at": U(2024, 4, 2, 9, 15),
        },
        {
            "id": 4,
            "external_id": "SO-4",
            "customer_id": 2,
            "status": "completed",
            "ordered_at": U(2024, 2, 29, 16, 0),  # leap day; 03-01 00:00 in Shanghai
            "gross_amount": 12.50,
            "net_amount": 12.50,
            "currency": "CNY",
            "created_at": U(2024, 2, 29, 16, 0),
            "updated_at": U(2024, 2, 29, 16, 0),
        },
        {
            "id": 5,
            "external_id": "SO-5",
            "customer_id": 2,
            "status": "cancelled",
            "ordered_at": U(2024, 6, 30, 23, 59, 59, 500000),
            "gross_amount": 0.20,
            "net_amount": 0.20,
            "currency": "CNY",
            "created_at": U(2024, 6, 30, 23, 59, 59, 500000),
            "updated_at": U(2024, 6, 30, 23, 59, 59, 500000),
        },
        {
            "id": 6,
            "external_id": "SO-6",
            "customer_id": 3,
            "status": "completed",
            "ordered_at": U(2024, 12, 31, 16, 0, 1),  # 2025-01-01 in Shanghai
            "gross_amount": 1234567.89,
            "net_amount": 1234567.89,
            "currency": "CNY",
            "created_at": U(2024, 12, 31, 16, 0, 1),
            "updated_at": U(2024, 12, 31, 16, 0, 1),
        },
    ],
    "order_items": [
        {
            "id": 1,
            "order_id": 1,
            "line_no": 1,
            "product_id": 1,
            "quantity": 2,
            "unit_price": 88.00,
            "net_amount": 167.20,
        },
        {
            "id": 2,
            "order_id": 4,
            "line_no": 1,
            "product_id": 2,
            "quantity": 1,
            "unit_price": 12.50,
            "net_amount": 12.50,
        },
    ],
    "campaigns": [
        {
            "id": 1,
            "external_id": "CMP-1",
            "name": "春节回馈",
            "channel": "wechat",
            "objective": "win_back",
            "started_at": U(2024, 2, 1, 0, 0),
            "ended_at": U(2024, 2, 29, 15, 59, 59),
            "budget": 5000.00,
            "holdout_share": 0.1,
            "created_at": CREATED,
            "updated_at": CREATED,
        }
    ],
    "campaign_deliveries": [
        {
            "id": 1,
            "campaign_id": 1,
            "customer_id": 1,
            "holdout": False,
            "sent_at": U(2024, 2, 1, 2, 0),
            "opened_at": U(2024, 2, 1, 2, 5),
            "order_id": 1,
        },
        {"id": 2, "campaign_id": 1, "customer_id": 2, "holdout": True},
    ],
    "events": [
        {
            "id": 1,
            "customer_id": 1,
            "kind": "product_view",
            "occurred_at": U(2024, 3, 5, 6, 0),
            "channel": "app",
            "product_id": 1,
            "dwell_seconds": 12.75,
            "properties": {"搜索词": "龙井"},
        }
    ],
    "leads": [
        {
            "id": 1,
            "external_id": "L-1",
            "name": "赵六",
            "status": "new",
            "created_at": CREATED,
            "updated_at": CREATED,
        }
    ],
    "referrals": [
        {
            "id": 1,
            "referrer_customer_id": 1,
            "referred_customer_id": 3,
            "referred_at": U(2024, 1, 10, 3, 0),
            "converted": True,
            "converted_at": U(2024, 1, 12, 20, 0),
        },
        {
            "id": 2,
            "referrer_customer_id": 2,
            "referred_lead_id": 1,
            "referred_at": U(2024, 5, 1, 0, 0),
            "converted": False,
        },
    ],
    "customer_scores": [
        {
            "customer_id": 1,
            "as_of": dt.date(2024, 3, 31),
            "satisfaction": 80.5,
            "recency_days": 26,
            "frequency": 2,
            "monetary": 167.30,
            "r_score": 5,
            "f_score": 4,
            "m_score": 5,
            "value_tier": "diamond",
            "p_alive": 0.93,
            "components": {"说明": "近期活跃"},
            "computed_at": U(2024, 3, 31, 16, 0),
        }
    ],
}

PYTHON_TYPES = {"Int64": int, "String": str, "Timestamp": dt.datetime, "Date": dt.date}
PRIMARY_KEYS = {table.name: [c.name for c in table.primary_key.columns] for table in schema.TABLES}
STORE_TABLES = {table.name: table for table in schema.TABLES}


def expected_rows(dataset: dict[str, list[dict[str, Any]]], name: str) -> list[dict[str, Any]]:
    """The dataset's rows of ``name`` as the store holds them, in primary-key order."""
    rows = [stored_row(STORE_TABLES[name], row) for row in dataset.get(name, ())]
    return sorted(rows, key=lambda row: tuple(row[k] for k in PRIMARY_KEYS[name]))


def read_rows(sources: Sources, con: Any, name: str) -> list[dict[str, Any]]:
    table = getattr(sources, name)
    return execute(con, table.order_by(*PRIMARY_KEYS[name]))


def cents(value: Any) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"))


# --- the matrix --------------------------------------------------------------------------


def test_engine_opens_and_counts_rows(sources, analytics_dataset) -> None:
    src, con = sources
    counts = ibis.union(
        *(
            getattr(src, name).aggregate(table=ibis.literal(name), rows=ibis._.count())
            for name in SCHEMAS
        )
    )
    got = {row["table"]: row["rows"] for row in execute(con, counts)}
    assert got == {name: len(analytics_dataset.get(name, ())) for name in SCHEMAS}


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_every_table_conforms_to_the_canonical_schema(sources, name) -> None:
    src, _con = sources
    got = getattr(src, name).schema()
    assert list(got.names) == list(SCHEMAS[name].names)
    for column, dtype in SCHEMAS[name].items():
        assert got[column].copy(nullable=True) == dtype.copy(nullable=True), column


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_every_value_reads_back_unchanged(sources, analytics_dataset, name) -> None:
    src, con = sources
    expected = expected_rows(analytics_dataset, name)
    got = read_rows(src, con, name)
    assert len(got) == len(expected)
    json_columns = {c.name for c in STORE_TABLES[name].columns if is_json(c.type)}
    money = set(MONEY.get(name, ()))
    for want, have in zip(expected, got, strict=True):
        for column, dtype in SCHEMAS[name].items():
            w, h = want[column], have[column]
            where = f"{name}.{column} of {[want[k] for k in PRIMARY_KEYS[name]]}"
            if w is None or h is None:
                assert w is None and h is None, f"{where}: {h!r} != {w!r}"
            elif column in json_columns:
                assert json.loads(h) == (json.loads(w) if isinstance(w, str) else w), where
            elif column in money:
                assert cents(h) == cents(w), where
            elif dtype.is_float64():
                assert math.isclose(h, float(w), rel_tol=1e-12), where
            elif dtype.is_boolean():
                assert type(h) is bool and h == w, where
            else:
                assert type(h) is PYTHON_TYPES[type(dtype).__name__] and h == w, (
                    f"{where}: {h!r} != {w!r}"
                )


def test_timestamps_are_the_same_utc_instants(sources, analytics_dataset) -> None:
    """E.g. the stand-in's order at 2024-03-05 06:30 UTC (14:30 in Shanghai) reads as 06:30."""
    src, con = sources
    orders = src.orders
    expected = {row["id"]: row["ordered_at"] for row in expected_rows(analytics_dataset, "orders")}
    assert expected, "the dataset needs orders"
    got = execute(con, orders.select("id", "ordered_at"))
    assert {row["id"]: row["ordered_at"] for row in got} == expected

    # Parts and dates of a timestamp are taken in UTC, not in a session zone.
    parts = execute(
        con,
        orders.select(
            "id",
            day=orders.ordered_at.date(),
            hour=orders.ordered_at.hour(),
            year_=orders.ordered_at.year(),
        ),
    )
    for row in parts:
        assert row["day"] == expected[row["id"]].date()
        assert row["hour"] == expected[row["id"]].hour
        assert row["year_"] == expected[row["id"]].year

    # A naive literal means the same UTC instant as the column.
    probe_id, probe = min(expected.items())
    hits = execute(con, orders.filter(orders.ordered_at == ibis.timestamp(probe)).id)
    assert hits == [i for i, ts in expected.items() if ts == probe] and probe_id in hits
    day = dt.datetime.combine(probe.date(), dt.time())
    on_day = orders.filter(
        (orders.ordered_at >= ibis.timestamp(day))
        & (orders.ordered_at < ibis.timestamp(day + dt.timedelta(days=1)))
    )
    assert execute(con, on_day.count()) == sum(
        ts.date() == probe.date() for ts in expected.values()
    )


def test_money_sums_agree(sources, analytics_dataset) -> None:
    src, con = sources
    for name, columns in MONEY.items():
        rows = expected_rows(analytics_dataset, name)
        table = getattr(src, name)
        for column in columns:
            want = sum((cents(r[column]) for r in rows if r[column] is not None), Decimal(0))
            got = execute(con, table[column].sum())
            assert cents(got or 0) == want, f"{name}.{column}"


def test_booleans_are_booleans(sources, analytics_dataset) -> None:
    src, con = sources
    checked = 0
    for name, schema_ in SCHEMAS.items():
        rows = expected_rows(analytics_dataset, name)
        table = getattr(src, name)
        for column, dtype in schema_.items():
            if not dtype.is_boolean() or not rows:
                continue
            values = execute(con, table[column])
            assert all(type(v) is bool for v in values if v is not None), f"{name}.{column}"
            counted = table.aggregate(
                trues=ibis._.count(where=table[column]), falses=ibis._.count(where=~table[column])
            )
            assert execute(con, counted) == [
                {
                    "trues": sum(r[column] is True for r in rows),
                    "falses": sum(r[column] is False for r in rows),
                }
            ], f"{name}.{column}"
            checked += 1
    assert checked, "the dataset needs rows with boolean columns"


def test_chinese_text_round_trips(sources, analytics_dataset) -> None:
    src, con = sources
    texts = {  # one Chinese value per text column
        (name, column): row
        for name in SCHEMAS
        for row in expected_rows(analytics_dataset, name)
        for column, dtype in SCHEMAS[name].items()
        if dtype.is_string()
        and isinstance(row[column], str)
        and any("\u4e00" <= ch <= "\u9fff" for ch in row[column])
        and not is_json(STORE_TABLES[name].c[column].type)
    }
    assert texts, "the dataset needs Chinese text"
    for (name, column), row in texts.items():
        table = getattr(src, name)
        value = row[column]
        found = table.filter(table[column] == value)
        keys = [tuple(k.values()) for k in execute(con, found.select(*PRIMARY_KEYS[name]))]
        assert tuple(row[k] for k in PRIMARY_KEYS[name]) in keys, f"{name}.{column}"
        lengths = execute(con, found[column].length())
        assert set(lengths) == {len(value)}, f"{name}.{column}"


def test_orders_and_revenue_per_customer_agree(sources, analytics_dataset) -> None:
    src, con = sources
    orders, customers = src.orders, src.customers
    completed = orders.filter(orders.status == "completed")
    per_customer = (
        completed.group_by("customer_id")
        .aggregate(orders=completed.id.count(), revenue=completed.net_amount.sum())
        .join(customers, customers.id == ibis._.customer_id)
        .select("customer_id", "name", "orders", "revenue")
        .order_by("customer_id")
    )
    got = [
        (r["customer_id"], r["name"], r["orders"], cents(r["revenue"]))
        for r in execute(con, per_customer)
    ]

    names = {r["id"]: r["name"] for r in expected_rows(analytics_dataset, "customers")}
    count: dict[int, int] = defaultdict(int)
    revenue: dict[int, Decimal] = defaultdict(Decimal)
    for row in expected_rows(analytics_dataset, "orders"):
        if row["status"] == "completed":
            count[row["customer_id"]] += 1
            revenue[row["customer_id"]] += cents(row["net_amount"])
    want = [(c, names[c], count[c], revenue[c]) for c in sorted(count)]
    assert want, "the dataset needs completed orders"
    assert got == want


# --- known-gap markers -------------------------------------------------------------------


@pytest.mark.notyet(
    ["spark"],
    raises=OperationNotDefinedError,
    reason="Ibis 12 has no PySpark compilation rule for Mode (Spark 3.4+ has mode())",
)
def test_most_common_order_status(sources, analytics_dataset) -> None:
    src, con = sources
    counts = Counter(row["status"] for row in expected_rows(analytics_dataset, "orders"))
    top = max(counts.values())
    assert execute(con, src.orders.status.mode()) in {s for s, n in counts.items() if n == top}


@pytest.mark.notyet(
    ["postgres"],
    raises=psycopg.errors.UndefinedFunction,
    reason="Ibis 12 compiles an ordered first() to first(...), which PostgreSQL lacks; "
    "use argmin/argmax",
)
@pytest.mark.notyet(
    ["spark"],
    raises=UnsupportedOperationError,
    reason="Ibis 12 orders no aggregate on PySpark; use argmin/argmax",
)
def test_first_order_amount_by_ordered_first(sources, analytics_dataset) -> None:
    src, con = sources
    orders = src.orders
    expr = (
        orders.group_by("customer_id")
        .aggregate(first=orders.net_amount.first(order_by=[orders.ordered_at, orders.id]))
        .order_by("customer_id")
    )
    first: dict[int, tuple] = {}
    for row in expected_rows(analytics_dataset, "orders"):
        key = (row["ordered_at"], row["id"])
        if row["customer_id"] not in first or key < first[row["customer_id"]][0]:
            first[row["customer_id"]] = (key, cents(row["net_amount"]))
    got = [(r["customer_id"], cents(r["first"])) for r in execute(con, expr)]
    assert got == [(c, amount) for c, (_key, amount) in sorted(first.items())]


def test_first_order_amount_by_argmin_everywhere(sources, analytics_dataset) -> None:
    """The portable form of the test above (ties in time broken by the order id)."""
    src, con = sources
    orders = src.orders
    rank = orders.ordered_at.epoch_seconds() * 1_000_000 + orders.id  # unique and ordered
    expr = (
        orders.group_by("customer_id")
        .aggregate(first=orders.net_amount.argmin(rank))
        .order_by("customer_id")
    )
    first: dict[int, tuple] = {}
    for row in expected_rows(analytics_dataset, "orders"):
        key = (row["ordered_at"], row["id"])
        if row["customer_id"] not in first or key < first[row["customer_id"]][0]:
            first[row["customer_id"]] = (key, cents(row["net_amount"]))
    got = [(r["customer_id"], cents(r["first"])) for r in execute(con, expr)]
    assert got == [(c, amount) for c, (_key, amount) in sorted(first.items())]


def test_gap_markers_name_engines_or_the_duckdb_family() -> None:
    mark = pytest.mark.notyet(["duckdb", "spark"], reason="r").mark
    assert gap_engines(mark) == ("duckdb-sqlite", "duckdb-postgres", "parquet", "spark")
    assert gap_xfail("postgres", [mark]) is None
    xfail = gap_xfail("parquet", [mark]).mark
    assert xfail.kwargs == {"raises": Exception, "reason": "notyet on parquet: r", "strict": True}
    with pytest.raises(pytest.UsageError, match="unknown engine 'sprak'"):
        gap_engines(pytest.mark.notimpl(["sprak"], reason="typo").mark)
    with pytest.raises(pytest.UsageError, match="reason"):
        gap_engines(pytest.mark.never(["spark"]).mark)


# --- DuckDB extensions -------------------------------------------------------------------


def _settings(tmp_path: Path, url: str, **values: Any):
    return analytics_settings(database_url=url, data_dir=tmp_path / "data", **values)


def _duckdb_settings(con: Any) -> dict[str, str]:
    names = ("autoinstall_known_extensions", "autoload_known_extensions", "extension_directory")
    row = con.raw_sql(
        "SELECT " + ", ".join(f"current_setting('{n}')" for n in (*names, "TimeZone", "threads"))
    ).fetchone()
    return dict(zip((*names, "TimeZone", "threads"), row, strict=True))


@pytest.mark.parametrize("store", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_duckdb_installs_its_extension_from_the_wheel_never_downloading(
    store, tmp_path, request
) -> None:
    url = request.getfixturevalue(f"analytics_{store}_url")
    settings = _settings(tmp_path, url)
    with connect(settings, engine="duckdb") as engine:
        con = engine.con
        extensions = (settings.data_dir / "duckdb" / "extensions").resolve()
        platform = con.raw_sql("PRAGMA platform").fetchone()[0]
        file = (
            extensions / f"v{duckdb.__version__}" / platform / f"{store}_scanner.duckdb_extension"
        )
        assert file.is_file()
        seen = _duckdb_settings(con)
        assert seen["autoinstall_known_extensions"] is False
        assert seen["autoload_known_extensions"] is False
        assert Path(seen["extension_directory"]) == extensions
        assert seen["TimeZone"] == "UTC"
        assert seen["threads"] >= 1
        loaded = con.raw_sql(
            "SELECT install_path FROM duckdb_extensions() WHERE loaded AND extension_name = ?",
            parameters=[f"{store}_scanner"],
        ).fetchall()
        # the install path DuckDB records is the wheel's copy in our data dir
        assert loaded and all(Path(p).is_relative_to(extensions) for (p,) in loaded if p), loaded


def test_duckdb_memory_limit_is_configurable(tmp_path, analytics_sqlite_url) -> None:
    settings = _settings(tmp_path, analytics_sqlite_url, duckdb_memory_limit="512MiB")
    with connect(settings) as engine:
        limit = engine.con.raw_sql("SELECT current_setting('memory_limit')").fetchone()[0]
    assert limit == "512.0 MiB"


def test_missing_extension_wheel_is_unsupported(tmp_path, analytics_sqlite_url, monkeypatch):
    monkeypatch.setitem(sys.modules, "duckdb_extension_sqlite", None)  # import fails
    with pytest.raises(UnsupportedBackend, match="sqlite extension is not installed") as info:
        connect(_settings(tmp_path, analytics_sqlite_url), engine="duckdb")
    assert info.value.hint == f"pip install duckdb-extension-sqlite=={duckdb.__version__}"


def test_unknown_engine_is_unsupported(tmp_path, analytics_sqlite_url) -> None:
    with pytest.raises(UnsupportedBackend, match="unknown engine 'oracle'") as info:
        connect(_settings(tmp_path, analytics_sqlite_url), engine="oracle")
    assert "duckdb, postgres, parquet, spark" in info.value.hint


def test_postgres_engine_on_a_sqlite_store_is_unsupported(tmp_path, analytics_sqlite_url):
    with pytest.raises(UnsupportedBackend, match="needs a PostgreSQL store"):
        connect(_settings(tmp_path, analytics_sqlite_url), engine="postgres")


@pytest.mark.parametrize("kind", ["parquet", "spark"])
def test_parquet_engines_need_a_parquet_dir(tmp_path, analytics_sqlite_url, kind) -> None:
    with pytest.raises(UnsupportedBackend, match="need RAPPORT_PARQUET_DIR") as info:
        connect(_settings(tmp_path, analytics_sqlite_url), engine=kind)
    assert info.value.field == "RAPPORT_PARQUET_DIR"
    missing = _settings(tmp_path, analytics_sqlite_url, parquet_dir=tmp_path / "nowhere")
    with pytest.raises(UnsupportedBackend, match="is not a directory"):
        connect(missing, engine=kind)
    (tmp_path / "empty").mkdir()
    empty = _settings(tmp_path, analytics_sqlite_url, parquet_dir=tmp_path / "empty")
    with pytest.raises(UnsupportedBackend, match="holds no Parquet tables"):
        connect(empty, engine=kind)


@pytest.mark.parametrize("kind", ["duckdb", "postgres"])
def test_unreachable_postgres_store_is_unavailable_and_keeps_its_password(tmp_path, kind):
    url = "postgresql://rapport:s3cr'et@127.0.0.1:1/none"  # nothing listens on port 1
    with pytest.raises(StoreUnavailable) as info:
        connect(_settings(tmp_path, url), engine=kind)
    assert info.value.field == "RAPPORT_DATABASE_URL"
    assert "s3cr" not in str(info.value)


def test_duckdb_engine_without_a_store_file_says_run_init(tmp_path) -> None:
    with pytest.raises(StoreUnavailable, match=r"no store at .*rapport init"):
        connect(_settings(tmp_path, f"sqlite:///{tmp_path / 'absent.db'}"), engine="duckdb")


@pytest.mark.parametrize(
    ("backend", "kind"),
    [("sqlite", "duckdb"), ("postgres", "duckdb"), ("postgres", "postgres")],
    indirect=["backend"],
)
def test_a_database_never_initialised_is_refused_with_run_init(tmp_path, backend, kind) -> None:
    from tests.conftest import own_database

    with own_database(backend, tmp_path) as url:
        engine = create_engine(url)
        try:
            with engine.begin() as conn:  # a table of another kind, not the store's schema
                conn.exec_driver_sql("CREATE TABLE notes (body TEXT)")
            with pytest.raises(StoreUnavailable, match="is not initialised") as info:
                connect(_settings(tmp_path, url), engine=kind)
            assert info.value.key == "store_not_initialised"
            upgrade(engine)  # the schema's version table is what connecting looks for
        finally:
            engine.dispose()
        with connect(_settings(tmp_path, url), engine=kind) as eng:
            assert eng.kind == kind


# --- Parquet layouts and Spark -----------------------------------------------------------


def _partitioned_copy(source: Path, target: Path) -> None:
    """``source``'s tables in ``target``, with orders hive-partitioned by year and month."""
    target.mkdir()
    for path in source.glob("*.parquet"):
        if path.stem != "orders":
            (target / path.name).write_bytes(path.read_bytes())
    orders = pq.read_table(source / "orders.parquet")
    years = pa.compute.year(orders["ordered_at"])
    months = pa.compute.month(orders["ordered_at"])
    pq.write_to_dataset(
        orders.append_column("year", years).append_column("month", months),
        target / "orders",
        partition_cols=["year", "month"],
    )
    (target / "orders" / "_SUCCESS").write_text("")


@pytest.mark.parametrize("kind", ["parquet", pytest.param("spark", marks=pytest.mark.spark)])
def test_partitioned_parquet_directories_read_as_one_table(
    kind, tmp_path, analytics_sqlite_url, analytics_parquet_dir, analytics_dataset, request
) -> None:
    if kind == "spark":
        request.getfixturevalue("spark_shared")
    _partitioned_copy(analytics_parquet_dir, tmp_path / "pq")
    assert any((tmp_path / "pq" / "orders").glob("year=*/month=*/*.parquet"))
    settings = _settings(tmp_path, analytics_sqlite_url, parquet_dir=tmp_path / "pq")
    with connect(settings, engine=kind) as engine:
        src = Sources(engine)
        for column, dtype in SCHEMAS["orders"].items():
            assert src.orders.schema()[column].copy(nullable=True) == dtype.copy(nullable=True)
        got = execute(engine.con, src.orders.select("id", "ordered_at").order_by("id"))
        want = [
            {"id": r["id"], "ordered_at": r["ordered_at"]}
            for r in expected_rows(analytics_dataset, "orders")
        ]
        assert got == want


@pytest.mark.spark
def test_spark_context_is_shared_quiet_and_survives_close(
    tmp_path, analytics_sqlite_url, analytics_parquet_dir, spark_shared
) -> None:
    settings = _settings(tmp_path, analytics_sqlite_url, parquet_dir=analytics_parquet_dir)
    first = connect(settings, engine="spark")
    context = first._spark.sparkContext
    assert execute(first.con, Sources(first).orders.count()) >= 0
    assert first._spark.catalog.tableExists("orders")
    first.close()
    with connect(settings, engine="spark") as second:
        assert second._spark.sparkContext is context
        assert second._spark is not first._spark  # own session, own temporary views
        assert execute(second.con, Sources(second).customers.count()) >= 0
        conf = context.getConf()
        assert conf.get("spark.driver.memory") == "2g"
        assert conf.get("spark.master") == "local[2]"
        assert second._spark.conf.get("spark.sql.session.timeZone") == "UTC"
        level = context._jvm.org.apache.logging.log4j.LogManager.getRootLogger().getLevel()
        assert str(level.toString()) == "WARN"
    assert not first._spark.catalog.tableExists("orders")


# --- rapport export ----------------------------------------------------------------------


def _export_app() -> typer.Typer:
    app = typer.Typer()
    app.command("export")(export_command)

    @app.callback()
    def _main() -> None:
        """A host for the command under test."""

    return app


def test_export_writes_canonical_parquet_and_prints_rows(
    tmp_path, analytics_sqlite_url, analytics_dataset, monkeypatch
) -> None:
    monkeypatch.setenv("RAPPORT_DATABASE_URL", analytics_sqlite_url)
    get_settings.cache_clear()
    out = tmp_path / "export"
    result = CliRunner().invoke(
        _export_app(), ["export", "--to", str(out), "--tables", "orders,customers"]
    )
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["customers.parquet", "orders.parquet"]
    for name in ("orders", "customers"):
        assert f"{len(analytics_dataset[name])}" in result.output
        assert name in result.output
    arrow = pq.read_schema(out / "orders.parquet")
    assert arrow.field("ordered_at").type == pa.timestamp("us")
    assert arrow.field("net_amount").type == pa.float64()
    assert pq.read_schema(out / "customers.parquet").field("marketing_consent").type == pa.bool_()


def test_export_refuses_unknown_tables(tmp_path, analytics_sqlite_url, monkeypatch) -> None:
    monkeypatch.setenv("RAPPORT_DATABASE_URL", analytics_sqlite_url)
    get_settings.cache_clear()
    result = CliRunner().invoke(
        _export_app(), ["export", "--to", str(tmp_path / "x"), "--tables", "orders,ordres"]
    )
    assert isinstance(result.exception, ValidationFailed)
    assert "unknown table ordres" in str(result.exception)
    assert result.exception.exit_code == 7
    assert not (tmp_path / "x").exists()


def test_export_needs_an_initialised_store(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("RAPPORT_DATABASE_URL", f"sqlite:///{tmp_path / 'new.db'}")
    get_settings.cache_clear()
    result = CliRunner().invoke(_export_app(), ["export", "--to", str(tmp_path / "x")])
    assert isinstance(result.exception, StoreUnavailable)


@pytest.mark.postgres
def test_export_from_postgres_matches_export_from_sqlite(
    tmp_path, analytics_postgres_url, analytics_parquet_dir
) -> None:
    out = tmp_path / "from-postgres"
    rows = export_parquet(_settings(tmp_path, analytics_postgres_url), out)
    assert set(rows) == set(SCHEMAS)
    for name in SCHEMAS:
        from_pg = pq.read_table(out / f"{name}.parquet")
        from_sqlite = pq.read_table(analytics_parquet_dir / f"{name}.parquet")
        assert from_pg.schema == from_sqlite.schema, name
        keys = [(k, "ascending") for k in PRIMARY_KEYS[name]]
        json_columns = {c.name for c in STORE_TABLES[name].columns if is_json(c.type)}
        a, b = from_pg.sort_by(keys).to_pylist(), from_sqlite.sort_by(keys).to_pylist()
        for x, y in zip(a, b, strict=True):
            for column in json_columns:  # JSONB re-spaces the text; compare the documents
                x[column] = None if x[column] is None else json.loads(x[column])
                y[column] = None if y[column] is None else json.loads(y[column])
        assert a == b, name


def test_export_into_a_fresh_store_writes_empty_canonical_tables(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    upgrade(create_engine(url))
    rows = export_parquet(_settings(tmp_path, url), tmp_path / "pq", ["orders"])
    assert rows == {"orders": 0}
    assert pq.read_schema(tmp_path / "pq" / "orders.parquet").names == list(SCHEMAS["orders"].names)
