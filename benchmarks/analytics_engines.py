"""Analytics engine benchmark: the full metric set on each engine, and RFM three ways.

    .venv/bin/python -m benchmarks.analytics_engines --data DIR [--customers 1000000]
        [--engines duckdb,parquet,spark] [--repeat 1] [--rfm-repeat 3]

Data: the sample company of ``customers`` customers built (once, cached) by
:mod:`benchmarks.build_store` under ``DIR`` — a migrated SQLite store and the same tables
as canonical Parquet.

Engines, each run in a fresh child process so that its peak resident memory is its own:

``duckdb``
    DuckDB in process with the SQLite store attached (the product's default path).
``parquet``
    DuckDB over the canonical Parquet files.
``spark``
    Spark ``local[2]`` over the same Parquet files; its peak memory is the Python driver's
    plus the JVM's (``VmHWM`` of the JVM, read before it stops).

The PostgreSQL engine is not part of it: the data would first have to be loaded into
PostgreSQL.

Each child runs ``evaluate(list(METRICS), Sources(connect(...)), period, rules=..., con=...)``
— every metric of METRICS.md (25), in one query — over the last 12
months before the data's end, and reports the time to connect, the time of the evaluation
(connect excluded), their sum, and ``ru_maxrss``. The metric values of every engine must
agree.

Then RFM on DuckDB over the SQLite store and over Parquet, on one connection each:
:func:`rapport.analytics.rfm.rfm_values` run through Ibis, the same aggregate hand-written
in DuckDB SQL, and pandas (the completed orders of the window read by DuckDB into a
DataFrame, then ``groupby``). The three results must be equal; the times printed are the
median of ``--rfm-repeat`` runs of each, taken in turn.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ENGINES = ("duckdb", "parquet", "spark")
DATA_LABELS = {
    "duckdb": "SQLite store, attached",
    "parquet": "canonical Parquet",
    "spark": "canonical Parquet",
}
RFM_ENGINES = ("duckdb", "parquet")
#: Months of history the metrics cover, ending at the data's end.
PERIOD_MONTHS = 12


# --- shared by parent and children -------------------------------------------------------


def data_end(data: Path) -> tuple[datetime, str]:
    """The exclusive end of the generated history (naive UTC) and the company's zone."""
    params = json.loads((data / "import" / "params.json").read_text("utf-8"))
    zone = ZoneInfo(params["timezone"])
    local = datetime.combine(date.fromisoformat(params["end"]), datetime.min.time())
    end = local.replace(tzinfo=zone).astimezone(ZoneInfo("UTC")).replace(tzinfo=None)
    return end, params["timezone"]


def settings_for(data: Path) -> Any:
    from rapport.config import Settings

    return Settings(
        _env_file=None,
        database_url=f"sqlite:///{(data / 'store.db').resolve()}",
        data_dir=(data / ".rapport").resolve(),
        parquet_dir=(data / "canonical").resolve(),
        spark_master="local[2]",
    )


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _jvm_peak_mb() -> float:
    """Peak resident memory of this process's Spark JVM (0 when there is none)."""
    from pyspark import SparkContext

    context = SparkContext._active_spark_context
    gateway = getattr(SparkContext, "_gateway", None)
    proc = getattr(gateway, "proc", None) if context is not None else None
    if proc is None:
        return 0.0
    for line in Path(f"/proc/{proc.pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


# --- child: the metrics on one engine ----------------------------------------------------


def run_metrics(data: Path, engine: str, repeat: int) -> dict[str, Any]:
    """Connect, evaluate every metric ``repeat`` times; times and peak memory."""
    from rapport.analytics.connect import connect, stop_spark
    from rapport.analytics.metrics import METRICS, evaluate
    from rapport.analytics.periods import Period
    from rapport.analytics.sources import Sources
    from rapport.config import load_rules

    settings = settings_for(data)
    rules = load_rules(settings)
    end, tz = data_end(data)
    period = Period.last(PERIOD_MONTHS, "month", as_of=end, tz=tz)
    start = time.perf_counter()
    eng = connect(settings, engine=engine)
    connected = time.perf_counter() - start
    runs, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = evaluate(list(METRICS), Sources(eng), period, rules=rules, con=eng.con)
        runs.append(time.perf_counter() - start)
    jvm = _jvm_peak_mb() if engine == "spark" else 0.0
    eng.close()
    if engine == "spark":
        stop_spark()
    return {
        "engine": engine,
        "period": [period.start.isoformat(), period.end.isoformat()],
        "connect_s": connected,
        "evaluate_s": runs,
        "python_peak_mb": peak_rss_mb(),
        "jvm_peak_mb": jvm,
        "metrics": result.to_pylist(),
    }


# --- child: RFM three ways on one engine -------------------------------------------------


def hand_sql(orders: str, start: datetime, end: datetime) -> str:
    """The RFM aggregate of :func:`rapport.analytics.rfm.rfm_values`, written for DuckDB."""
    return f"""
        SELECT customer_id,
               date_diff('day', CAST(max(ordered_at) AS DATE), DATE '{end.date()}')
                   AS recency_days,
               count(*) AS frequency,
               round(sum(net_amount), 2) AS monetary
        FROM {orders}
        WHERE status = 'completed'
          AND ordered_at >= TIMESTAMP '{start.isoformat(sep=" ")}'
          AND ordered_at < TIMESTAMP '{end.isoformat(sep=" ")}'
        GROUP BY customer_id
    """


def pandas_read_sql(orders: str, start: datetime, end: datetime) -> str:
    """The orders the pandas version needs: completed, in the window, three columns."""
    return f"""
        SELECT customer_id, ordered_at, net_amount
        FROM {orders}
        WHERE status = 'completed'
          AND ordered_at >= TIMESTAMP '{start.isoformat(sep=" ")}'
          AND ordered_at < TIMESTAMP '{end.isoformat(sep=" ")}'
    """


def pandas_rfm(frame: Any, end: datetime) -> Any:
    """RFM of the orders in ``frame`` with pandas ``groupby``."""
    import pandas as pd

    g = frame.groupby("customer_id", sort=False).agg(
        last=("ordered_at", "max"),
        frequency=("ordered_at", "size"),
        monetary=("net_amount", "sum"),
    )
    recency = (pd.Timestamp(end.date()) - g["last"].dt.normalize()).dt.days
    return pd.DataFrame(
        {
            "customer_id": g.index.to_numpy(),
            "recency_days": recency.to_numpy(),
            "frequency": g["frequency"].to_numpy(),
            "monetary": g["monetary"].round(2).to_numpy(),
        }
    )


def _columns(result: Any) -> dict[str, Any]:
    """A result (Arrow table or DataFrame) as NumPy columns sorted by customer."""
    import numpy as np

    if hasattr(result, "column_names"):
        cols = {c: result.column(c).to_numpy() for c in result.column_names}
    else:
        cols = {c: result[c].to_numpy() for c in result.columns}
    order = np.argsort(cols["customer_id"], kind="stable")
    return {c: np.asarray(v)[order] for c, v in cols.items()}


def compare(name: str, ours: dict[str, Any], other: dict[str, Any]) -> dict[str, Any]:
    """Equal row counts and sums, and equal values customer by customer."""
    import numpy as np

    rows = len(ours["customer_id"])
    assert rows == len(other["customer_id"]), f"{name}: {rows} rows != {len(other['customer_id'])}"
    sums = {}
    for column in ("recency_days", "frequency"):
        a, b = int(ours[column].sum()), int(other[column].sum())
        assert a == b, f"{name}: sum of {column} {a} != {b}"
        sums[column] = a
    a, b = float(ours["monetary"].sum()), float(other["monetary"].sum())
    assert abs(a - b) <= 1e-6 * max(1.0, abs(a)), f"{name}: sum of monetary {a} != {b}"
    sums["monetary"] = a
    assert np.array_equal(ours["customer_id"], other["customer_id"]), f"{name}: customers differ"
    for column in ("recency_days", "frequency"):
        assert np.array_equal(ours[column], other[column]), f"{name}: {column} differs"
    gap = float(np.abs(ours["monetary"] - other["monetary"]).max()) if rows else 0.0
    assert gap < 1e-6, f"{name}: monetary differs by up to {gap}"
    return {"rows": rows, "sums": sums, "max_gap": gap}


def run_rfm(data: Path, engine: str, repeat: int) -> dict[str, Any]:
    """RFM via Ibis, hand-written DuckDB SQL and pandas on one connection of ``engine``."""
    from rapport.analytics.connect import connect
    from rapport.analytics.metrics import execute
    from rapport.analytics.rfm import rfm_values
    from rapport.analytics.sources import Sources
    from rapport.config import load_rules

    settings = settings_for(data)
    window_days = load_rules(settings).activity.window_days
    end, _ = data_end(data)
    start = end - timedelta(days=window_days)
    eng = connect(settings, engine=engine)
    orders = "orders" if eng.database is None else ".".join([*eng.database, "orders"])
    raw = eng.con.con  # the DuckDB connection under Ibis

    def ours() -> Any:
        return execute(rfm_values(Sources(eng), end, window_days=window_days), eng.con)

    def hand() -> Any:
        return raw.execute(hand_sql(orders, start, end)).to_arrow_table()

    read_times: list[float] = []

    def pandas() -> Any:
        began = time.perf_counter()
        frame = raw.execute(pandas_read_sql(orders, start, end)).df()
        read_times.append(time.perf_counter() - began)
        return pandas_rfm(frame, end)

    variants = {"ibis": ours, "duckdb_sql": hand, "pandas": pandas}
    times: dict[str, list[float]] = {name: [] for name in variants}
    results: dict[str, Any] = {}
    for _ in range(repeat):
        for name, fn in variants.items():
            began = time.perf_counter()
            results[name] = fn()
            times[name].append(time.perf_counter() - began)
    eng.close()
    cols = {name: _columns(r) for name, r in results.items()}
    checks = {
        name: compare(f"{engine}: ibis vs {name}", cols["ibis"], cols[name])
        for name in ("duckdb_sql", "pandas")
    }
    return {
        "engine": engine,
        "window": [start.isoformat(), end.isoformat()],
        "times": times,
        "pandas_read": read_times,
        "checks": checks,
        "python_peak_mb": peak_rss_mb(),
    }


# --- parent ------------------------------------------------------------------------------


def child(data: Path, kind: str, engine: str, repeat: int) -> dict[str, Any]:
    """Run ``kind`` (metrics or rfm) on ``engine`` in a fresh Python process."""
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.analytics_engines",
            "--data",
            str(data),
            "--child",
            kind,
            "--engines",
            engine,
            "--repeat",
            str(repeat),
        ],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        sys.stderr.write(done.stderr[-4000:])
        raise SystemExit(f"{kind} on {engine} failed (exit {done.returncode})")
    return json.loads(done.stdout.strip().splitlines()[-1])


def print_metrics(results: list[dict[str, Any]], customers: int) -> None:
    start, end = results[0]["period"]
    print(
        f"\nMetrics ({len(results[0]['metrics'])}), {customers:,} customers, "
        f"period [{start}, {end}) UTC; seconds; connect excluded unless said"
    )
    head = f"{'engine':<9}{'data':<24}{'connect':>9}{'metrics':>9}{'total':>8}"
    print(head + f"{'later runs':>14}  peak RSS")
    for r in results:
        first, later = r["evaluate_s"][0], r["evaluate_s"][1:]
        peak = r["python_peak_mb"] + r["jvm_peak_mb"]
        memory = f"{peak:,.0f} MB"
        if r["jvm_peak_mb"]:
            memory += f" (py {r['python_peak_mb']:,.0f} + JVM {r['jvm_peak_mb']:,.0f})"
        print(
            f"{r['engine']:<9}{DATA_LABELS[r['engine']]:<24}{r['connect_s']:>9.1f}"
            f"{first:>9.1f}{r['connect_s'] + first:>8.1f}"
            f"{' '.join(f'{t:.1f}' for t in later) or '—':>14}  {memory}"
        )


def check_metrics(results: list[dict[str, Any]]) -> None:
    """Every engine gives the values of the first one (floats to 1e-9 relative)."""
    reference = {m["metric"]: m for m in results[0]["metrics"]}
    for r in results[1:]:
        for m in r["metrics"]:
            ref = reference[m["metric"]]
            for key in ("numerator", "denominator", "value"):
                a, b = ref[key], m[key]
                same = (a is None and b is None) or (
                    a is not None and b is not None and abs(a - b) <= 1e-9 * max(1.0, abs(a))
                )
                assert same, f"{m['metric']}.{key}: {results[0]['engine']} {a} != {r['engine']} {b}"
    print(f"metric values equal on {', '.join(r['engine'] for r in results)}")
    for m in results[0]["metrics"]:
        value = "—" if m["value"] is None else f"{m['value']:,.4f}"
        print(f"  {m['metric']:<24}{value:>18}")


def print_rfm(r: dict[str, Any]) -> None:
    med = {name: statistics.median(ts) for name, ts in r["times"].items()}
    check = r["checks"]["duckdb_sql"]
    start, end = r["window"]
    print(
        f"\nRFM on DuckDB over the {DATA_LABELS[r['engine']]}: window [{start}, {end}), "
        f"{check['rows']:,} customers, frequency {check['sums']['frequency']:,}, "
        f"monetary {check['sums']['monetary']:,.2f}; median of {len(r['times']['ibis'])} runs"
    )
    read = statistics.median(r["pandas_read"])
    print(f"  rapport rfm_values via Ibis   {med['ibis']:>7.2f} s")
    print(f"  hand-written DuckDB SQL       {med['duckdb_sql']:>7.2f} s")
    print(
        f"  pandas groupby                {med['pandas']:>7.2f} s "
        f"(DuckDB read into pandas {read:.2f} s + groupby {med['pandas'] - read:.2f} s)"
    )
    print(
        f"  ours / hand-written SQL = {med['ibis'] / med['duckdb_sql']:.2f}; "
        f"results equal (rows, sums and every customer's values)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, type=Path, help="directory of the cached data")
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--engines", default=",".join(ENGINES))
    parser.add_argument("--repeat", type=int, default=1, help="metric evaluations per engine")
    parser.add_argument("--rfm-repeat", type=int, default=3, help="runs of each RFM variant")
    parser.add_argument("--child", choices=("metrics", "rfm"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    unknown = [e for e in engines if e not in ENGINES]
    if unknown:
        parser.error(f"unknown engine(s) {', '.join(unknown)}; use {', '.join(ENGINES)}")
    if args.child:
        run = run_metrics if args.child == "metrics" else run_rfm
        print(json.dumps(run(args.data, engines[0], args.repeat)))
        return

    from benchmarks.build_store import build

    paths = build(args.data, args.customers)
    print(f"data: {paths['store']} and {paths['canonical']}")
    results = []
    for engine in engines:
        results.append(child(args.data, "metrics", engine, args.repeat))
        print(
            f"{engine}: connect {results[-1]['connect_s']:.1f} s, "
            f"metrics {results[-1]['evaluate_s'][0]:.1f} s",
            flush=True,
        )
    print_metrics(results, args.customers)
    check_metrics(results)
    for engine in RFM_ENGINES:
        print_rfm(child(args.data, "rfm", engine, args.rfm_repeat))


if __name__ == "__main__":
    main()
