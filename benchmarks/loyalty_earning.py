"""Loyalty earning benchmark: the rule over 1,000,000 orders, then posting on a store.

    .venv/bin/python -m benchmarks.loyalty_earning [--orders 1000000] [--store-orders 200000]
        [--postgres URL]

With ``--postgres`` the posting runs in a database of its own beside URL's, dropped after.

1. Rule evaluation (:func:`rapport.store.loyalty_earning.evaluate`): ``--orders`` orders with
   a category, channel and tier multiplier each and a cap — orders/s, best of three.
2. Posting (:func:`rapport.store.loyalty_earning.post_orders`) on a SQLite store (and
   PostgreSQL with ``--postgres``) holding ``--store-orders`` orders of members, imported
   with earning off: the first run writes one ledger entry and one record per order
   (orders/s and ledger rows/s), the second finds nothing to post (orders/s of a check).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import polars as pl

from benchmarks.demo import load


def _rules(multiplied: bool = True):  # type: ignore[no-untyped-def]
    from rapport.config import LoyaltyMultipliers, load_rules

    rules = load_rules()
    if not multiplied:
        return rules
    loyalty = rules.loyalty.model_copy(
        update={
            "max_points_per_order": 20_000,
            "multipliers": LoyaltyMultipliers(
                channel={"app": 1.5, "天猫": 1.2}, tier={"gold": 1.25, "platinum": 1.5}
            ),
        }
    )
    return rules.model_copy(update={"loyalty": loyalty})


def evaluate(orders: int) -> float:
    from rapport.store.loyalty_earning import evaluate

    rng = np.random.default_rng(7)
    net = np.round(rng.gamma(2.0, 150.0, orders), 2)
    category = rng.choice([1.0, 1.0, 2.0, 1.5], orders)
    channel = rng.choice(["app", "天猫", "门店", "小程序"], orders).tolist()
    tier = rng.choice(["member", "silver", "gold", "platinum"], orders).tolist()
    rules = _rules().loyalty
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        points = evaluate(net, rules=rules, category=category, channel=channel, tier=tier)
        best = min(best, time.perf_counter() - started)
    assert len(points) == orders and int(points.min()) >= 0
    return orders / best


def _files(directory: Path, orders: int) -> tuple[Path, Path]:
    customers = max(orders // 10, 1)
    rng = np.random.default_rng(11)
    cust = directory / "customers.csv"
    pl.DataFrame(
        {
            "客户编号": [f"C{i:07d}" for i in range(customers)],
            "姓名": [f"客户{i}" for i in range(customers)],
            "入会时间": ["2022-01-01"] * customers,
        }
    ).write_csv(cust)
    seconds = rng.integers(0, 700 * 86400, orders)
    when = (np.datetime64("2023-01-01T00:00:00") + seconds.astype("timedelta64[s]")).astype(str)
    path = directory / "orders.csv"
    pl.DataFrame(
        {
            "订单号": [f"SO{i:08d}" for i in range(orders)],
            "客户编号": [f"C{i:07d}" for i in rng.integers(0, customers, orders)],
            "下单时间": when,
            "实付金额": np.round(rng.gamma(2.0, 150.0, orders), 2),
            "订单状态": "completed",
            "币种": "CNY",
            "渠道": rng.choice(["app", "天猫", "门店"], orders),
        }
    ).write_csv(path)
    return cust, path


def post(url: str, directory: Path, orders: int) -> dict[str, float]:
    from rapport.ingest.importer import import_file
    from rapport.store import schema, session_scope
    from rapport.store.db import create_engine, upgrade
    from rapport.store.loyalty_earning import post_orders
    from rapport.store.repository import utcnow

    engine = create_engine(url)
    upgrade(engine)
    cust, path = _files(directory, orders)
    import_file("customers", cust, engine=engine, earn=False)
    import_file("orders", path, engine=engine, earn=False)
    rules = _rules()
    out: dict[str, float] = {}
    for label in ("first", "again"):
        started = time.perf_counter()
        run = post_orders(lambda: session_scope(engine, writing=True), rules=rules, now=utcnow())
        seconds = time.perf_counter() - started
        out[f"{label}_orders_per_s"] = run.orders / seconds
        out[f"{label}_seconds"] = seconds
        if label == "first":
            out["entries"] = run.earned
            out["entries_per_s"] = run.earned / seconds
        else:
            assert run.earned == run.clawbacks == 0, run
    with engine.connect() as conn:
        rows = conn.execute(
            schema.loyalty_ledger.select().with_only_columns(schema.loyalty_ledger.c.id)
        ).all()
    assert len(rows) == out["entries"]
    engine.dispose()
    return out


@contextmanager
def _scratch(url: str) -> Iterator[str]:
    """A database of its own beside a PostgreSQL ``url`` (dropped afterwards); SQLite as is."""
    if url.startswith("sqlite"):
        yield url
        return
    import sqlalchemy as sa
    from sqlalchemy.engine import make_url

    base = make_url(url).set(drivername="postgresql+psycopg")
    name = f"rapport_bench_loyalty_{os.getpid()}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--store-orders", type=int, default=200_000)
    parser.add_argument("--postgres", default=os.environ.get("RAPPORT_BENCH_POSTGRES_URL"))
    args = parser.parse_args()
    print(f"load average before: {load()}")
    rate = evaluate(args.orders)
    print(f"rule evaluation: {args.orders:,} orders at {rate:,.0f} orders/s (best of 3)")
    with tempfile.TemporaryDirectory(prefix="rapport-loyalty-") as tmp:
        targets = [("sqlite", f"sqlite:///{tmp}/store.db")]
        if args.postgres:
            targets.append(("postgres", args.postgres))
        for name, url in targets:
            with _scratch(url) as scratch:
                figures = post(scratch, Path(tmp), args.store_orders)
            print(
                f"posting on {name}: {args.store_orders:,} orders, first run "
                f"{figures['first_seconds']:.1f} s ({figures['first_orders_per_s']:,.0f} "
                f"orders/s, {figures['entries_per_s']:,.0f} ledger entries/s); again "
                f"{figures['again_seconds']:.1f} s ({figures['again_orders_per_s']:,.0f} "
                "orders/s, nothing posted)"
            )
    print(f"load average after: {load()}")


if __name__ == "__main__":
    main()
