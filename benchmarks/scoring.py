"""Scoring benchmark: ``rapport.scoring.run`` on the sample company, and the bulk write
against the store's row-by-row ``write_snapshot``.

    .venv/bin/python -m benchmarks.scoring --data /tmp/rapport-scoring --customers 200000
    .venv/bin/python -m benchmarks.scoring --data /tmp/rapport-scoring --parquet DIR
    .venv/bin/python -m benchmarks.scoring --data /tmp/rapport-scoring \
        --store sqlite:////tmp/rapport-demo/rapport.db --as-of 2026-11-30

With ``--customers`` the sample company (24 months, seed 7) is generated and imported into
``<data>/<customers>/store.db`` the first time (the product's import path), then scored as
of its last day with the DuckDB engine attached to the store. With ``--parquet`` (a
directory of canonical tables, e.g. written by ``rapport export``) the scores are computed
by the parquet engine and written into a scratch SQLite store holding only those customers'
ids. With ``--store`` an existing store is scored as of ``--as-of`` (its snapshot of that
day is replaced). Each run happens in a child process so that its peak resident memory
and its CPU seconds (user + system, every thread) are its own; they are printed for the
whole run and for each step it announces (``on_step``), with the cores each step kept
busy (its CPU seconds per wall second).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

CHILD = """
import datetime as dt, json, os, resource, sys, time
from rapport.config import Settings
from rapport.scoring import run
url, data_dir, engine, parquet, day = sys.argv[1:6]
settings = Settings(_env_file=None, database_url=url, data_dir=data_dir,
                    parquet_dir=parquet or None)
marks = []
def mark(name):
    cpu = os.times()
    marks.append((name, time.perf_counter(), cpu.user + cpu.system))
started = time.perf_counter()
mark("start")
# the configured engine (None) as `rapport score` runs it, which computes the overview's
# metrics too; a named one only for the parquet engine
result = run(settings, as_of=dt.date.fromisoformat(day), engine=engine or None, on_step=mark)
mark("end")
models = result.models.seconds if result.models else {}
usage = resource.getrusage(resource.RUSAGE_SELF)
# wall and CPU seconds (every thread) from each step the run announced to the next
steps = [[a[0], b[1] - a[1], b[2] - a[2]] for a, b in zip(marks, marks[1:])]
print(json.dumps({"rows": result.rows, "seconds": result.seconds, "models": models,
                  "total": time.perf_counter() - started, "steps": steps,
                  "cpu": usage.ru_utime + usage.ru_stime,
                  "peak_mb": usage.ru_maxrss / 1024}))
"""

STORE_PATH = """
import datetime as dt, json, resource, sys, time
import sqlalchemy as sa
from rapport.store import schema, session_scope
from rapport.store.db import create_engine
from rapport.store.scores import write_snapshot
url, day = sys.argv[1], dt.date.fromisoformat(sys.argv[2])
engine = create_engine(url)
s = schema.customer_scores
with engine.connect() as conn:
    rows = [dict(r) for r in conn.execute(sa.select(s).where(s.c.as_of == day)).mappings()]
for row in rows:
    del row["as_of"], row["computed_at"]
started = time.perf_counter()
with session_scope(engine) as session:
    write_snapshot(session=session, as_of=day, rows=rows)
print(json.dumps({"rows": len(rows), "seconds": time.perf_counter() - started}))
"""


def _child(code: str, *args: str) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", code, *args], check=True, capture_output=True, text=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def build_sample(root: Path, customers: int) -> tuple[str, str]:
    """The sample company's store under ``root`` (built once); its URL and last day."""
    import datetime as dt

    end = dt.date(2025, 1, 1)
    path = root / "store.db"
    url = f"sqlite:///{path}"
    if not path.exists():
        from rapport.sample import generate
        from rapport.sample.load import load_company
        from rapport.store.db import create_engine, upgrade

        root.mkdir(parents=True, exist_ok=True)
        company = generate(customers=customers, months=24, seed=7, end=end)
        engine = create_engine(url)
        upgrade(engine)
        load_company(company, engine=engine, work_dir=root)
        engine.dispose()
    return url, (end - dt.timedelta(days=1)).isoformat()


def build_scratch(root: Path, parquet: Path) -> tuple[str, str]:
    """A scratch store with the customers of ``parquet`` (ids only) and the data's last day."""
    import duckdb
    import pyarrow.parquet as pq

    from rapport.store.db import create_engine, upgrade

    customers = parquet / "customers.parquet"
    path = root / "scratch.db"
    url = f"sqlite:///{path}"
    if not path.exists():
        root.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url)
        upgrade(engine)
        engine.dispose()
        table = pq.read_table(customers, columns=["id", "external_id"])
        stamp = "2020-01-01 00:00:00.000000"
        import sqlite3

        con = sqlite3.connect(path)
        with con:
            con.executemany(
                "INSERT INTO customers (id, external_id, created_at, updated_at) VALUES (?,?,?,?)",
                (
                    (i, e, stamp, stamp)
                    for i, e in zip(
                        table.column("id").to_pylist(),
                        table.column("external_id").to_pylist(),
                        strict=True,
                    )
                ),
            )
        con.close()
    last = duckdb.sql(
        f"SELECT max(ordered_at)::DATE FROM read_parquet('{parquet / 'orders.parquet'}')"
    ).fetchone()[0]
    return url, last.isoformat()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--customers", type=int, default=50_000)
    parser.add_argument("--parquet", type=Path)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--store", help="score this store (a database URL) instead")
    parser.add_argument("--as-of", help="the day scored with --store")
    parser.add_argument(
        "--no-compare", action="store_true", help="skip the row-by-row write_snapshot run"
    )
    args = parser.parse_args()
    if args.store:
        if not args.as_of:
            parser.error("--store needs --as-of")
        url, day, engine, parquet = args.store, args.as_of, "", ""
    elif args.parquet:
        url, day = build_scratch(args.data / "parquet", args.parquet)
        engine, parquet = "parquet", str(args.parquet)
    else:
        url, day = build_sample(args.data / str(args.customers), args.customers)
        engine, parquet = "", ""
    data_dir = str(args.data / "state")
    shown = engine or "the configured one (duckdb by default)"
    print(f"store {url}, as of {day}, engine {shown}, load average {os.getloadavg()[0]:.1f}")
    for i in range(args.runs):
        r = _child(CHILD, url, data_dir, engine, parquet, day)
        steps = ", ".join(f"{k} {v:.2f} s" for k, v in r["seconds"].items())
        if r.get("models"):
            steps += " (" + ", ".join(f"{k} {v:.2f} s" for k, v in r["models"].items()) + ")"
        print(
            f"run {i + 1}: {r['rows']:,} customers, {steps}, total {r['total']:.2f} s wall, "
            f"{r['cpu']:.1f} s CPU (the whole process), peak RSS {r['peak_mb']:,.0f} MB "
            f"(load average {os.getloadavg()[0]:.1f})"
        )
        # where the cores are busy: CPU seconds per wall second of each step (2.0 = two
        # cores the whole step on this machine's two)
        for name, wall, cpu in r["steps"]:
            if wall >= 0.05:
                print(f"  {name:28s} {wall:7.2f} s wall {cpu:7.2f} s CPU  {cpu / wall:4.2f} cores")
    if args.no_compare:
        return
    r = _child(STORE_PATH, url, day)
    print(f"store.scores.write_snapshot of the same rows: {r['seconds']:.2f} s")


if __name__ == "__main__":
    main()
