"""Clusters benchmark: ``rapport clusters`` and what the web's Analysis page runs for its
clusters and its chain of the degrees, on the 20,000-customer demo.

    .venv/bin/python -m benchmarks.clusters --data /tmp/rapport-clusters
    .venv/bin/python -m benchmarks.clusters --data /tmp/rapport-clusters --runs 3

The store is ``<data>/rapport.db``, made by ``rapport demo`` (``--customers``, default
20,000, seed 42; :mod:`benchmarks.demo`'s child) when it is missing. Then, as of the day the
demo scored, each run in a fresh process:

1. :func:`rapport.models.clusters.cluster_summary` — the feature query and the clustering,
   the task an analytics worker runs for ``/analysis/clusters`` — with the time of the
   choice of ``k`` inside it, the chosen ``k``, its silhouette (the criterion) and every
   candidate's; and, as a second opinion on how distinct the clusters are, the
   Davies–Bouldin index (lower is better, 0 at best) and the Calinski–Harabasz score
   (higher is better) of the chosen partition over every customer (scikit-learn);
2. :func:`rapport.reports.analysis.chain_rows` — the chain of the degrees for
   ``/analysis/chain`` (an administrator's scope: every customer);
3. the command ``rapport clusters --as-of DAY --format json`` under ``/usr/bin/time -v``;
4. with ``--serve``: a real ``rapport serve`` on loopback over the store (the demo's admin
   given a password), logged in, and the fragments ``/analysis/chain``,
   ``/analysis/clusters`` and ``/analysis/accuracy`` asked for ``--runs`` + 1 times each:
   the first asks an analytics worker (which starts), the next are the kept answer.

Every figure is printed with wall seconds, user+system CPU seconds, peak resident memory
and the load average (the machine's two cores are shared: CPU time is the steadier
measure).
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks.demo import DEMO, TIMER, child, load, steps_text

CLUSTERS = (
    TIMER
    + """
import datetime as dt
started, cpu0 = time.perf_counter(), cpu()
wrap("rapport.models.clusters", "choose_k", "choose k")
wrap("rapport.models.clusters", "cluster_customers", "cluster_customers")
from rapport.config import Settings
from rapport.models import clusters
url, data_dir, day = sys.argv[2:5]
settings = Settings(_env_file=None, database_url=url, data_dir=data_dir)
TIMES["imports"] = (time.perf_counter() - started, cpu() - cpu0)
t, c = time.perf_counter(), cpu()
found = clusters.cluster_summary(settings, as_of=dt.date.fromisoformat(day))
TIMES["cluster_summary"] = (time.perf_counter() - t, cpu() - c)
total, total_cpu, peak = time.perf_counter() - started, cpu() - cpu0, peak_mb()
steps = dict(TIMES)  # the timed task's own (the second opinion below refits)
# the second opinion, outside the timed task: the same clustering's labels
from sklearn.metrics import calinski_harabasz_score, davies_bouldin_score
from rapport.analytics.connect import connect
from rapport.analytics.metrics import execute
from rapport.analytics.sources import Sources
with connect(settings) as eng:
    table = execute(clusters.features_expr(Sources(eng), dt.date.fromisoformat(day)), eng.con)
result = clusters.cluster_customers(table)
z = clusters.standardize(clusters.feature_matrix(table))
out = {"steps": steps, "total": total, "cpu": total_cpu, "peak_mb": peak,
       "k": found["k"], "criterion": found["criterion"], "score": found["score"],
       "sample": found["sample"], "customers": found["customers"],
       "silhouettes": found["silhouettes"], "excluded": found["excluded"],
       "same": result.k == found["k"],
       "davies_bouldin": float(davies_bouldin_score(z, result.labels)),
       "calinski_harabasz": float(calinski_harabasz_score(z, result.labels)),
       "sizes": [c["size"] for c in found["clusters"]],
       "clusters": [clusters.description([tuple(p) for p in c["distinguishing"]], "en")
                    for c in found["clusters"]]}
open(sys.argv[1], "w").write(json.dumps(out))
"""
)

CHAIN = (
    TIMER
    + """
import datetime as dt
started, cpu0 = time.perf_counter(), cpu()
from rapport.access import Principal
from rapport.config import Settings
from rapport.domain import Role
from rapport.reports.analysis import chain_rows
url, data_dir, day = sys.argv[2:5]
settings = Settings(_env_file=None, database_url=url, data_dir=data_dir)
admin = Principal(user_id=0, username="bench", role=Role.ADMIN, team=None, via="login")
TIMES["imports"] = (time.perf_counter() - started, cpu() - cpu0)
t, c = time.perf_counter(), cpu()
found = chain_rows(settings, None, day=dt.date.fromisoformat(day), principal=admin)
TIMES["chain_rows"] = (time.perf_counter() - t, cpu() - c)
out = {"steps": TIMES, "total": time.perf_counter() - started, "cpu": cpu() - cpu0,
       "peak_mb": peak_mb(), "links": found["links"]}
open(sys.argv[1], "w").write(json.dumps(out))
"""
)


def timed_command(args: list[str], env: dict[str, str]) -> dict[str, float]:
    """Wall, user+system CPU seconds and peak RSS (MB) of one ``rapport`` command, from
    ``/usr/bin/time -v`` (output discarded)."""
    exe = Path(sys.executable).with_name("rapport")
    with tempfile.NamedTemporaryFile(suffix=".txt") as report:
        subprocess.run(
            ["/usr/bin/time", "-v", "-o", report.name, str(exe), *args],
            check=True,
            stdout=subprocess.DEVNULL,
            env={**os.environ, **env},
        )
        text = Path(report.name).read_text()

    def field(name: str) -> str:
        found = re.search(rf"{re.escape(name)}: (.+)", text)
        assert found, name
        return found.group(1).strip()

    parts = [float(p) for p in field("Elapsed (wall clock) time (h:mm:ss or m:ss)").split(":")]
    wall = sum(p * 60**i for i, p in enumerate(reversed(parts)))
    return {
        "wall": wall,
        "cpu": float(field("User time (seconds)")) + float(field("System time (seconds)")),
        "peak_mb": float(field("Maximum resident set size (kbytes)")) / 1024,
    }


ADMIN = "admin"
PASSWORD = "bench-clusters-2026"


def serve(env: dict[str, str], runs: int) -> None:
    """The Analysis page's new fragments through a real server (see the module's step 4)."""
    import socket
    import time

    import httpx

    exe = Path(sys.executable).with_name("rapport")
    subprocess.run(
        [str(exe), "users", "passwd", ADMIN, "--password-stdin"],
        input=PASSWORD.encode(),
        check=True,
        stdout=subprocess.DEVNULL,
        env={**os.environ, **env},
    )
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [str(exe), "serve", "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, **env},
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{base}/login", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline and server.poll() is None, "no server"
            time.sleep(0.3)
        client = httpx.Client(base_url=base, timeout=600)
        token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)
        assert token
        answer = client.post(
            "/login",
            data={"username": ADMIN, "password": PASSWORD, "csrf_token": token.group(1)},
        )
        assert answer.status_code == 303, answer.text[:300]
        for path in ("/analysis/chain", "/analysis/clusters", "/analysis/accuracy"):
            times = []
            for _ in range(runs + 1):
                started = time.perf_counter()
                answer = client.get(path)
                times.append(time.perf_counter() - started)
                assert answer.status_code == 200, (path, answer.status_code)
            print(
                f"GET {path}: first {times[0] * 1000:,.0f} ms, then "
                + ", ".join(f"{t * 1000:,.0f}" for t in times[1:])
                + f" ms (load average {load()})"
            )
    finally:
        server.terminate()
        server.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--serve", action="store_true", help="also time the web fragments")
    args = parser.parse_args()
    args.data.mkdir(parents=True, exist_ok=True)
    path = args.data / "rapport.db"
    url = f"sqlite:///{path.resolve()}"
    data_dir = str((args.data / "state").resolve())
    env = {"RAPPORT_DATABASE_URL": url, "RAPPORT_DATA_DIR": data_dir}
    print(f"store {path}; load average {load()}")
    if not path.exists():
        r = child(DEMO, str(args.customers), env=env)
        print(f"rapport demo ({args.customers:,} customers): {r['total']:.1f} s wall")
    from rapport.store.db import create_engine

    engine = create_engine(url)
    with engine.connect() as conn:
        day = str(conn.exec_driver_sql("SELECT max(as_of) FROM customer_scores").scalar())[:10]
    engine.dispose()
    print(f"snapshot of {day}")
    for i in range(args.runs):
        r = child(CLUSTERS, url, data_dir, day)
        print(
            f"cluster_summary run {i + 1}: {r['total']:.1f} s wall, {r['cpu']:.1f} s CPU, "
            f"peak RSS {r['peak_mb']:,.0f} MB (load average {load()})"
        )
        print(steps_text(r["steps"]))
        print(
            f"    {r['customers']:,} customers: k = {r['k']} by the {r['criterion']} "
            f"{r['score']:.3f} (on {r['sample']:,}); candidates "
            + ", ".join(f"{k}: {v:.3f}" for k, v in r["silhouettes"].items())
            + f"; left out {r['excluded'] or 'none'}"
        )
        print(
            f"    Davies-Bouldin {r['davies_bouldin']:.3f}, Calinski-Harabasz "
            f"{r['calinski_harabasz']:,.0f} (every customer; same k again: {r['same']})"
        )
        for size, text in zip(r["sizes"], r["clusters"], strict=True):
            print(f"    {size:>6,}  {text}")
    for i in range(args.runs):
        r = child(CHAIN, url, data_dir, day)
        print(
            f"chain_rows run {i + 1}: {r['total']:.1f} s wall, {r['cpu']:.1f} s CPU, "
            f"peak RSS {r['peak_mb']:,.0f} MB (load average {load()})"
        )
        print(steps_text(r["steps"]))
        for link in r["links"]:
            print(
                f"    {link['source']} -> {link['target']}: {link['high_source']:,} high, "
                f"{link['share']:.1%} vs base {link['base_rate']:.1%}, lift {link['lift']:.2f}"
            )
    for _ in range(args.runs):
        before = load()
        r = timed_command(["clusters", "--as-of", day, "--format", "json"], env)
        print(
            f"rapport clusters --as-of {day} --format json: {r['wall']:.1f} s wall, "
            f"{r['cpu']:.1f} s CPU, peak RSS {r['peak_mb']:,.0f} MB "
            f"(load average {before} before, {load()} after)"
        )
    if args.serve:
        serve(env, args.runs)


if __name__ == "__main__":
    main()
