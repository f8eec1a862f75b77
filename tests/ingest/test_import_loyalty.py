"""Orders imported from files earn their loyalty points once: imported again they earn
nothing more, a cancellation in a later export takes the points back, and with category
multipliers the orders wait for their lines (docs/loyalty.md)."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from rapport.config import LoyaltyMultipliers, load_rules
from rapport.ingest.importer import import_file
from rapport.store import schema

from .test_importer import write_csv

CUSTOMERS = [
    ["客户编号", "姓名", "入会时间"],
    ["C001", "张伟", "2023-01-01"],
    ["C002", "李娜", ""],  # no member: earns nothing
]
ORDERS = [
    ["订单号", "客户编号", "下单时间", "实付金额", "订单状态", "币种", "渠道"],
    ["SO-1", "C001", "2024-03-05 14:30", "1280.60", "已完成", "CNY", "app"],
    ["SO-2", "C001", "2024-03-06", "99.90", "已完成", "CNY", "app"],
    ["SO-3", "C002", "2024-03-06", "50", "已完成", "CNY", "app"],
]


def _ledger(engine: Engine) -> list[tuple[int, str, str | None]]:
    lg = schema.loyalty_ledger.c
    with engine.connect() as conn:
        rows = conn.execute(sa.select(lg.points, lg.reason, lg.reference).order_by(lg.id))
        return [(p, str(r), ref) for p, r, ref in rows]


def test_orders_earn_once_and_a_cancellation_takes_the_points_back(
    fresh_engine: Engine, tmp_path: Path
) -> None:
    import_file("customers", write_csv(tmp_path / "c.csv", CUSTOMERS), engine=fresh_engine)
    orders = write_csv(tmp_path / "o.csv", ORDERS)
    report = import_file("orders", orders, engine=fresh_engine)
    assert report.loyalty is not None
    assert (report.loyalty["earned"], report.loyalty["earned_points"]) == (2, 1379)
    earned = [(1280, "purchase", "order:SO-1"), (99, "purchase", "order:SO-2")]
    assert _ledger(fresh_engine) == earned
    again = import_file("orders", orders, engine=fresh_engine)
    assert again.unchanged == 3 and again.loyalty is None  # nothing changed, nothing posted
    cancelled = [row[:] for row in ORDERS]
    cancelled[2][4] = "已取消"
    report = import_file("orders", write_csv(tmp_path / "o2.csv", cancelled), engine=fresh_engine)
    assert report.loyalty is not None and report.loyalty["clawed_points"] == 99
    assert _ledger(fresh_engine) == [*earned, (-99, "clawback", "order:SO-2")]


def test_with_category_multipliers_orders_wait_for_their_lines(
    fresh_engine: Engine, tmp_path: Path
) -> None:
    base = load_rules()
    rules = base.model_copy(
        update={
            "loyalty": base.loyalty.model_copy(
                update={"multipliers": LoyaltyMultipliers(category={"茶叶": 2.0})}
            )
        }
    )
    import_file("customers", write_csv(tmp_path / "c.csv", CUSTOMERS), engine=fresh_engine)
    products = [["商品编码", "商品名称", "品类", "币种"], ["TEA", "龙井", "茶叶", "CNY"]]
    import_file("products", write_csv(tmp_path / "p.csv", products), engine=fresh_engine)
    orders = [ORDERS[0], ORDERS[1]]
    report = import_file(
        "orders", write_csv(tmp_path / "o.csv", orders), engine=fresh_engine, rules=rules
    )
    assert report.loyalty is None and _ledger(fresh_engine) == []
    lines = [
        ["订单号", "行号", "商品编码", "数量", "单价", "小计"],
        ["SO-1", "1", "TEA", "2", "640.30", "1280.60"],
    ]
    report = import_file(
        "order_items", write_csv(tmp_path / "i.csv", lines), engine=fresh_engine, rules=rules
    )
    assert report.loyalty is not None
    assert _ledger(fresh_engine) == [(2561, "purchase", "order:SO-1")]
