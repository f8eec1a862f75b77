"""Playbook engine benchmark: every built-in playbook for one day over N customers.

    .venv/bin/python -m benchmarks.playbooks --data /tmp/rapport-playbooks --customers 100000

The store is the sample company of :mod:`benchmarks.build_store` (24 months, seed 42,
built once under ``--data``), copied to ``<data>/playbooks.db`` for each measurement so
every measurement starts from the same store. Two score snapshots are added to the copy
(7 days apart, the second on the history's last day) with value tiers, lifecycle stages,
churn risk, frequency and predicted CLV drawn from the customer id by fixed integer hashes
— the engine's input, not the scoring pipeline's output (``benchmarks.scoring`` measures
that). Then, each in a fresh process (its own CPU seconds and peak RSS):

1. ``run_day(dry_run=True)``: every built-in evaluated, nothing written;
2. ``run_day()``: evaluated, enrolled with holdouts, the treated arm's actions written;
3. ``run_day()`` again: the same day, nothing new (``already_enrolled``).

Prints one JSON line per run with the figures per playbook, and the load average.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

from benchmarks.build_store import build, history

CHILD = """
import datetime as dt, json, os, resource, sys, time
from rapport.config import Settings
from rapport.actions.engine import run_day
url, data_dir, day, dry = sys.argv[1:5]
settings = Settings(_env_file=None, database_url=url, data_dir=data_dir,
                    timezone="Asia/Shanghai")
started = time.perf_counter()
run = run_day(settings, dt.date.fromisoformat(day), dry_run=dry == "dry")
usage = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"dry_run": run.dry_run, "customers": run.customers, "engine_s": run.seconds,
                  "total_s": time.perf_counter() - started,
                  "cpu_s": usage.ru_utime + usage.ru_stime, "peak_mb": usage.ru_maxrss / 1024,
                  "load": os.getloadavg() if hasattr(os, "getloadavg") else None,
                  "playbooks": {f.code: {"triggered": f.triggered, "eligible": f.eligible,
                                         "treated": f.treated, "held_out": f.held_out,
                                         "already": f.already_enrolled,
                                         "skipped": f.skipped} for f in run.playbooks}}))
"""

#: Snapshot columns from the customer id (SQLite integer arithmetic; ``{k}`` varies the draw).
_SNAPSHOT = """
INSERT INTO customer_scores (customer_id, as_of, value_tier, lifecycle_stage, churn_risk,
    frequency, predicted_clv, monetary, relationship_index, computed_at)
SELECT id, '{day}',
    CASE WHEN (id * {k}) % 100 < 3 THEN 'diamond' WHEN (id * {k}) % 100 < 15 THEN 'gold'
         WHEN (id * {k}) % 100 < 45 THEN 'silver' ELSE 'bronze' END,
    CASE (id * {k}) % 7 WHEN 0 THEN 'new' WHEN 1 THEN 'active' WHEN 2 THEN 'growing'
         WHEN 3 THEN 'at_risk' WHEN 4 THEN 'churned' WHEN 5 THEN 'reactivated'
         ELSE 'active' END,
    ((id * {k}) % 1000) / 1000.0,
    1 + id % 5,
    ((id * 7919) % 5000) * 1.0,
    ((id * 104729) % 3000) * 1.0,
    ((id * {k}) % 100) * 1.0,
    '{day} 00:00:00.000000'
FROM customers
"""


def prepare(store: Path, target: Path, latest: str, previous: str) -> None:
    """Copy the built store to ``target`` and add the two snapshots."""
    shutil.copy(store, target)
    for suffix in ("-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    conn = sqlite3.connect(target)
    try:
        conn.execute(_SNAPSHOT.format(day=previous, k=1299709))
        conn.execute(_SNAPSHOT.format(day=latest, k=15485863))
        conn.commit()
    finally:
        conn.close()


def run_child(url: str, data_dir: Path, day: str, dry: bool) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, url, str(data_dir), day, "dry" if dry else "real"],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="directory of the cached data")
    parser.add_argument("--customers", type=int, default=100_000)
    args = parser.parse_args()
    paths = build(args.data, args.customers)
    _, end = history(paths["import"])
    day = (end + dt.timedelta(hours=8)).date() - dt.timedelta(days=1)  # the last local day
    latest, previous = day.isoformat(), (day - dt.timedelta(days=7)).isoformat()
    target = Path(args.data) / "playbooks.db"
    prepare(paths["store"], target, latest, previous)
    url = f"sqlite:///{target}"
    print(
        json.dumps(
            {"customers": args.customers, "day": day.isoformat(), "load_before": os.getloadavg()}
        )
    )
    for label, dry in (("dry run", True), ("run", False), ("rerun", False)):
        result = run_child(url, Path(args.data) / "data", day.isoformat(), dry)
        print(json.dumps({"step": label, **result}, ensure_ascii=False))


if __name__ == "__main__":
    main()
