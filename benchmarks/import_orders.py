"""Import benchmark: a generated 1,000,000-row orders CSV into SQLite and PostgreSQL.

    .venv/bin/python -m benchmarks.import_orders [--rows 1000000] [--postgres URL]
        [--again] [--without-change-triggers]

Prints rows/s and the peak resident memory of each import (each runs in a fresh child
process, so the peak is the import's own). Data: 100,000 customers, orders spread over two
years with mixed formats real exports have (Chinese dates, ¥ amounts, Chinese statuses).
``--again`` then imports the same orders with other values (another seed: other
customers, times, amounts and statuses), so every order stored is updated by the upsert
by key, and prints that import too; ``--without-change-triggers`` drops the SQLite
store's triggers that count changed rows (``table_changes``, migration 0021) first, to
measure what they cost.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl

STATUSES = np.array(["已完成", "completed", "已取消", "已退款"])
STATUS_P = np.array([0.85, 0.10, 0.03, 0.02])


def make_files(directory: Path, rows: int, customers: int, seed: int = 7) -> tuple[Path, Path]:
    rng = np.random.default_rng(seed)
    cust = directory / "customers.csv"
    pl.DataFrame(
        {
            "客户编号": [f"C{i:07d}" for i in range(customers)],
            "姓名": [f"客户{i}" for i in range(customers)],
        }
    ).write_csv(cust)
    seconds = rng.integers(0, 730 * 86400, rows)
    base = np.datetime64("2023-01-01T00:00:00")
    when = (base + seconds.astype("timedelta64[s]")).astype(str)
    amounts = np.round(rng.gamma(2.0, 150.0, rows), 2)
    chinese = rng.random(rows) < 0.3
    ordered = pl.Series(when).str.replace("T", " ")
    ordered = pl.select(
        pl.when(pl.Series(chinese))
        .then(
            ordered.str.slice(0, 4)
            + "年"
            + ordered.str.slice(5, 2)
            + "月"
            + ordered.str.slice(8, 2)
            + "日 "
            + ordered.str.slice(11, 5)
        )
        .otherwise(ordered)
    ).to_series()
    money = pl.Series(amounts).map_elements(lambda a: f"¥{a:,.2f}", return_dtype=pl.Utf8)
    orders = directory / "orders.csv"
    pl.DataFrame(
        {
            "订单号": [f"SO{i:09d}" for i in range(rows)],
            "客户编号": [f"C{i:07d}" for i in rng.integers(0, customers, rows)],
            "下单时间": ordered,
            "实付金额": money,
            "订单状态": STATUSES[rng.choice(len(STATUSES), rows, p=STATUS_P)],
            "币种": ["CNY"] * rows,
            "渠道": rng.choice(["tmall", "jd", "app", "wechat"], rows),
        }
    ).write_csv(orders)
    return cust, orders


CHILD = """
import json, resource, sys, time
from rapport.store.db import create_engine, upgrade
from rapport.ingest.importer import import_file
url, customers, orders, again, without = sys.argv[1:6]
files = [orders] + ([again] if again else [])
engine = create_engine(url)
upgrade(engine)
if without == "1" and engine.dialect.name == "sqlite":
    from rapport.analytics.working_copy import READ  # the tables migration 0021 counts
    with engine.begin() as conn:
        for table in READ:
            for event in ("update", "delete"):
                conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {table}_changes_{event}")
import_file("customers", customers, engine=engine)
runs = []
for path in files:
    start = time.perf_counter()
    report = import_file("orders", path, engine=engine)
    runs.append({**report.to_dict(), "wall": time.perf_counter() - start})
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps([{**r, "peak_rss_mb": peak} for r in runs]))
"""


def run(
    url: str, customers: Path, orders: Path, *, again: Path | None, without: bool
) -> list[dict]:
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            CHILD,
            url,
            str(customers),
            str(orders),
            str(again or ""),
            "1" if without else "0",
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    return list(json.loads(out.stdout.strip().splitlines()[-1]))


def fresh_postgres(base: str) -> str:
    import sqlalchemy as sa
    from sqlalchemy.engine import make_url

    url = make_url(base).set(drivername="postgresql+psycopg")
    name = f"rapport_bench_{os.getpid()}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    return url.set(database=name).render_as_string(hide_password=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--postgres", default=os.environ.get("RAPPORT_TEST_POSTGRES_URL"))
    parser.add_argument("--again", action="store_true", help="import the orders twice")
    parser.add_argument("--without-change-triggers", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        t = time.perf_counter()
        customers, orders = make_files(directory, args.rows, args.customers)
        again = None
        if args.again:
            (directory / "again").mkdir()
            _, again = make_files(directory / "again", args.rows, args.customers, seed=8)
        size_mb = orders.stat().st_size / 2**20
        elapsed = time.perf_counter() - t
        print(f"generated {args.rows:,} orders ({size_mb:,.0f} MB CSV) in {elapsed:.1f} s")
        targets = [("sqlite", f"sqlite:///{directory / 'bench.db'}")]
        if args.postgres:
            targets.append(("postgresql", fresh_postgres(args.postgres)))
        heads = ("rows", "inserted", "updated", "rejected", "seconds", "rows/s", "peak MB")
        widths = (12, 12, 10, 10, 10, 12, 10)
        print(f"{'backend':<18}" + "".join(f"{h:>{w}}" for h, w in zip(heads, widths, strict=True)))
        for name, url in targets:
            runs = run(url, customers, orders, again=again, without=args.without_change_triggers)
            for label, r in zip((name, f"{name} again"), runs, strict=False):
                print(
                    f"{label:<18}{r['read']:>12,}{r['inserted']:>12,}{r['updated']:>10,}"
                    f"{r['rejected']:>10,}"
                    f"{r['wall']:>10.1f}{r['read'] / r['wall']:>12,.0f}{r['peak_rss_mb']:>10,.0f}"
                )


if __name__ == "__main__":
    main()
