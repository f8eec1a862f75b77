"""Demo benchmark: ``rapport demo``, ``rapport score`` and ``rapport clusters`` on the
20,000-customer sample company, step by step.

    .venv/bin/python -m benchmarks.demo --data /tmp/rapport-demo
    .venv/bin/python -m benchmarks.demo --data /tmp/rapport-demo --skip-demo --runs 3

1. ``demo``: ``rapport demo`` (``--customers``, default 20,000, seed 42) into a new store
   ``<data>/rapport.db``, in a child process whose steps are timed by wrapping the
   functions the command calls (generate, import, summary, headline metrics, score, the
   report tables).
2. ``score``: ``rapport.scoring.run`` as of the sample's last day (each run in its own
   process), with the time spent in each inner step: the working copy of the store,
   purchase summaries, purchase and spend fits, the shared degrees, the churn training
   (features, labels, cut-off ``p_alive``) and its logistic fit, the current churn
   features, predictions, the scores query, and the write (which makes the snapshot
   table part by part as it writes: its time includes the table's). Then the command itself,
   ``rapport score --as-of DAY``, as a child process.
3. ``clusters``: the feature query and :func:`rapport.models.clusters.cluster_customers`
   (choice of k, final fit), then ``rapport clusters --as-of DAY --format json``.

Every figure is printed with wall seconds, the child's user+system CPU seconds and the
load average (the machine's two cores are shared: CPU time is the steadier measure).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

#: Wraps ``module.name`` so that its calls add their wall and CPU seconds (the process's,
#: every thread) to ``TIMES[label]``.
TIMER = """
import functools, importlib, json, resource, sys, time
TIMES = {}
def wrap(module, name, label):
    mod = importlib.import_module(module)
    owner, attr = mod, name
    if "." in name:
        cls, attr = name.split(".")
        owner = getattr(mod, cls)
    inner = getattr(owner, attr)
    @functools.wraps(inner)
    def timed(*args, **kwargs):
        started, cpu_started = time.perf_counter(), time.process_time()
        try:
            return inner(*args, **kwargs)
        finally:
            wall, cpu = TIMES.get(label, (0.0, 0.0))
            TIMES[label] = (wall + time.perf_counter() - started,
                            cpu + time.process_time() - cpu_started)
    setattr(owner, attr, timed)
def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime
def peak_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
"""

DEMO = (
    TIMER
    + """
import os
started, cpu0 = time.perf_counter(), cpu()
for module, name, label in [
    ("rapport.cli.sample", "_generate", "generate"),
    ("rapport.cli.sample", "_load", "import"),
    ("rapport.cli.sample", "summarize", "summary"),
    ("rapport.cli.sample", "_headline", "headline metrics"),
    ("rapport.cli.scores", "score_command", "score"),
    ("rapport.cli.scores", "tiers_command", "tables"),
    ("rapport.cli.scores", "segments_command", "tables"),
    ("rapport.cli.scores", "diamonds_command", "tables"),
    ("rapport.cli.predictions", "clv_command", "tables"),
    ("rapport.cli.predictions", "at_risk_command", "tables"),
]:
    wrap(module, name, label)
from rapport.cli.sample import demo_command
demo_command(customers=int(sys.argv[2]))
out = {"steps": TIMES, "total": time.perf_counter() - started, "cpu": cpu() - cpu0,
       "peak_mb": peak_mb()}
open(sys.argv[1], "w").write(json.dumps(out))
"""
)

SCORE = (
    TIMER
    + """
import datetime as dt
started, cpu0 = time.perf_counter(), cpu()
P = "rapport.models.pipeline"
for module, name, label in [
    ("rapport.analytics.working_copy", "copy_store", "working copy of the store"),
    (P, "model_summary", "purchase summaries"),
    (P, "fit_purchase_model", "purchase fits"),
    (P, "fit_spend_model", "spend fit"),
    (P, "shared_degrees", "degrees (2 dates)"),
    (P, "churn_training", "churn training table (features, labels, p_alive)"),
    (P, "_fit_churn", "churn fit (beside)"),
    ("rapport.models.churn.model", "ChurnModel.fit", "churn logistic fit"),
    (P, "churn_table", "current churn features"),
    (P, "save_models", "save models"),
    (P, "predict", "predictions"),
    ("rapport.scoring", "compute", "scores query"),
    ("rapport.scoring", "snapshot_table", "snapshot table (components)"),
    ("rapport.scoring", "write_bulk", "write (with the snapshot table)"),
]:
    wrap(module, name, label)
from rapport.config import Settings
from rapport.scoring import run
url, data_dir, day = sys.argv[2:5]
settings = Settings(_env_file=None, database_url=url, data_dir=data_dir)
imported = (time.perf_counter() - started, cpu() - cpu0)
result = run(settings, as_of=dt.date.fromisoformat(day))
out = {"rows": result.rows, "steps": {"imports": imported, **TIMES},
       "seconds": result.seconds, "total": time.perf_counter() - started,
       "cpu": cpu() - cpu0, "peak_mb": peak_mb()}
open(sys.argv[1], "w").write(json.dumps(out))
"""
)

CLUSTERS = (
    TIMER
    + """
import datetime as dt
started, cpu0 = time.perf_counter(), cpu()
wrap("rapport.models.clusters", "choose_k", "choose k (candidates on the sample)")
wrap("rapport.models.clusters", "cluster_customers", "cluster (choose k, final fit, profiles)")
from rapport.analytics.connect import connect
from rapport.analytics.metrics import execute
from rapport.analytics.sources import Sources
from rapport.config import Settings
from rapport.models.clusters import cluster_customers, features_expr
url, data_dir, day = sys.argv[2:5]
settings = Settings(_env_file=None, database_url=url, data_dir=data_dir)
TIMES["imports"] = (time.perf_counter() - started, cpu() - cpu0)
t, c = time.perf_counter(), cpu()
with connect(settings) as eng:
    table = execute(features_expr(Sources(eng), dt.date.fromisoformat(day)), eng.con)
TIMES["feature query"] = (time.perf_counter() - t, cpu() - c)
result = cluster_customers(table)
out = {"steps": TIMES, "total": time.perf_counter() - started, "cpu": cpu() - cpu0,
       "peak_mb": peak_mb(), "k": result.k, "criterion": result.criterion,
       "score": result.score, "silhouettes": result.silhouettes,
       "excluded": {str(k): v for k, v in result.excluded.items()},
       "sizes": [c.size for c in result.clusters],
       "clusters": [c.description("en") for c in result.clusters]}
open(sys.argv[1], "w").write(json.dumps(out))
"""
)


def load() -> str:
    return " / ".join(f"{v:.1f}" for v in os.getloadavg())


def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def child(code: str, *args: str, env: dict[str, str] | None = None) -> dict:
    """Run ``code`` in a fresh interpreter; its JSON result."""
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        subprocess.run(
            [sys.executable, "-c", code, out.name, *args],
            check=True,
            stdout=subprocess.DEVNULL,
            env={**os.environ, **(env or {})},
        )
        return json.loads(Path(out.name).read_text())


def command(args: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU seconds of one ``rapport`` command (output discarded)."""
    exe = Path(sys.executable).with_name("rapport")
    cpu0, started = _children_cpu(), time.perf_counter()
    subprocess.run(
        [str(exe), *args], check=True, stdout=subprocess.DEVNULL, env={**os.environ, **env}
    )
    return time.perf_counter() - started, _children_cpu() - cpu0


def steps_text(steps: dict[str, list[float]]) -> str:
    """One line per step: wall and CPU seconds (nested steps are inside their parent's)."""
    return "\n".join(
        f"    {name:<42} {wall:6.2f} s wall {cpu:6.2f} s CPU" for name, (wall, cpu) in steps.items()
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--skip-demo", action="store_true", help="reuse <data>/rapport.db")
    args = parser.parse_args()
    args.data.mkdir(parents=True, exist_ok=True)
    path = args.data / "rapport.db"
    url = f"sqlite:///{path.resolve()}"
    data_dir = str((args.data / "state").resolve())
    env = {"RAPPORT_DATABASE_URL": url, "RAPPORT_DATA_DIR": data_dir}
    print(f"{args.customers:,} customers, store {path}; load average {load()}")
    if not args.skip_demo or not path.exists():
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        r = child(DEMO, str(args.customers), env=env)
        print(
            f"rapport demo: {r['total']:.1f} s wall, {r['cpu']:.1f} s CPU, peak RSS "
            f"{r['peak_mb']:,.0f} MB (load average {load()})"
        )
        print(steps_text(r["steps"]))
    from rapport.store.db import create_engine

    engine = create_engine(url)
    with engine.connect() as conn:
        last = conn.exec_driver_sql("SELECT max(as_of) FROM customer_scores").scalar()
    engine.dispose()
    day = str(last)[:10]  # the day the demo scored: the sample's last day
    print(f"scored as of {day}")
    for i in range(args.runs):
        r = child(SCORE, url, data_dir, day)
        print(
            f"score run {i + 1}: {r['rows']:,} customers, {r['total']:.1f} s wall, "
            f"{r['cpu']:.1f} s CPU, peak RSS {r['peak_mb']:,.0f} MB (load average {load()})"
        )
        print(steps_text(r["steps"]))
    for _ in range(args.runs):
        wall, cpu = command(["score", "--as-of", day], env)
        print(
            f"rapport score --as-of {day}: {wall:.1f} s wall, {cpu:.1f} s CPU "
            f"(load average {load()})"
        )
    for i in range(args.runs):
        r = child(CLUSTERS, url, data_dir, day)
        print(
            f"clusters run {i + 1}: {r['total']:.1f} s wall, {r['cpu']:.1f} s CPU, peak RSS "
            f"{r['peak_mb']:,.0f} MB, k = {r['k']} by {r['criterion']} {r['score']:.3f} "
            f"(load average {load()})"
        )
        print(steps_text(r["steps"]))
        print(
            f"    candidates {json.dumps({k: round(v, 3) for k, v in r['silhouettes'].items()})}"
            f", left out {r['excluded']}"
        )
        for size, text in zip(r["sizes"], r["clusters"], strict=True):
            print(f"    {size:>6,}  {text}")
    for _ in range(args.runs):
        wall, cpu = command(["clusters", "--as-of", day, "--format", "json"], env)
        print(
            f"rapport clusters --as-of {day}: {wall:.1f} s wall, {cpu:.1f} s CPU "
            f"(load average {load()})"
        )


if __name__ == "__main__":
    main()
