"""The import's SQLite insert floor: foreign keys and index maintenance, against the importer.

    .venv/bin/python -m benchmarks.import_floor [--rows 1000000]
        [--more 100000 300000 500000] [--customers 100000] [--repeat 2]

The orders of :func:`benchmarks.import_orders.make_files` (``--rows`` + ``--more`` rows, the
same 100,000 customers) are imported once with the product's importer to capture the exact
rows it hands to SQLite (:meth:`rapport.store.bulk.BulkWriter.insert`, already in storage
format). Then, each in a fresh child process (its own timings, CPU and peak RSS) on a fresh
copy of a store the product made (``upgrade``, customers imported by ``import_file``) and
the product's connection settings (``rapport.store.db.create_engine``), ``executemany`` of
those pre-formatted tuples into ``orders``, 100,000 rows a transaction and 50,000 a
statement as the importer writes them:

a. as the store is: foreign keys on, every index (the floor);
b. foreign keys off during the insert, ``PRAGMA foreign_key_check(orders)`` after (counted);
c. the secondary indexes dropped before and created again after (counted);
d. b and c together;
e. the importer end to end (``import_file``; ``benchmarks.import_orders`` also counts the
   loyalty points posted after it, here apart).

The cases: ``--rows`` into an empty ``orders`` table, then each size of ``--more`` rows (new
keys) into the table holding the ``--rows`` the importer stored (a second import: where
rebuilding a whole index stops paying). Turning the tuples into Python rows (Polars'
``rows()``, its own column) is outside the timed part of a–d. ``rows/s`` counts every step of
a variant: the insert, and the check or rebuild it needs; for e, ``import_file``'s own time
(reading, validation, look-ups, writing), with the time in ``BulkWriter``'s methods and the
loyalty points posted after it (not counted) on the line below. Load averages are taken
before and after each child.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from unittest.mock import patch

import polars as pl

from benchmarks.import_orders import make_files

#: Rows a transaction (the importer's ``DEFAULT_BATCH_ROWS``) and a statement (BATCH_ROWS).
TRANSACTION_ROWS = 100_000
STATEMENT_ROWS = 50_000

VARIANTS: dict[str, tuple[bool, bool]] = {  # name → (foreign keys off, indexes deferred)
    "a": (False, False),
    "b": (True, False),
    "c": (False, True),
    "d": (True, True),
}
LABELS = {
    "a": "a. FK on, every index (floor)",
    "b": "b. FK off + foreign_key_check",
    "c": "c. indexes dropped, rebuilt",
    "d": "d. b and c",
    "e": "e. importer (import_file)",
}


def _load() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def _checkpoint(path: Path) -> None:
    """Fold the WAL into the database file, so that copying the file copies the store."""
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()


def _copy(source: Path, target: Path) -> Path:
    _checkpoint(source)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(source, target)
    return target


def _remove(store: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{store}{suffix}").unlink(missing_ok=True)


# --- set-up (in this process) ------------------------------------------------------------


def _import_capturing(store: Path, orders: Path, rows_file: Path) -> float:
    """Import ``orders`` into ``store`` with the product's importer and keep, as Parquet,
    the frames it inserts into ``orders`` in the form SQLite receives them."""
    from rapport.ingest.importer import import_file
    from rapport.store.bulk import BulkWriter
    from rapport.store.db import create_engine

    captured: list[pl.DataFrame] = []
    original = BulkWriter.insert

    def insert(self: BulkWriter, table: Any, frame: pl.DataFrame) -> None:
        if table.name == "orders" and frame.height:
            captured.append(self._storage(frame))
        original(self, table, frame)

    engine = create_engine(f"sqlite:///{store}")
    try:
        with patch.object(BulkWriter, "insert", insert):
            started = time.perf_counter()
            report = import_file("orders", orders, engine=engine)
            seconds = time.perf_counter() - started
    finally:
        engine.dispose()
    assert report.rejected == 0 and report.inserted == report.read, report
    pl.concat(captured).write_parquet(rows_file)
    return seconds


def prepare(
    directory: Path, rows: int, more: list[int], customers: int
) -> tuple[dict[str, Path], dict[int, tuple[Path, Path]]]:
    """The files and template stores every child starts from: the stores (``empty``: migrated,
    the customers imported; ``holding``: and the first import's orders), the first import's
    CSV and captured rows, and for each size of a second import its CSV and captured rows
    (the first rows of one further file: whole batches, so the same rows)."""
    from rapport.ingest.importer import import_file
    from rapport.store.db import create_engine, upgrade

    largest = max(more)
    cust, first = make_files(directory, rows + largest, customers)
    frame = pl.read_csv(first, infer_schema=False)
    second = directory / "orders_more.csv"
    frame.head(rows).write_csv(first)  # the first import's file, in place of the whole
    frame.tail(largest).write_csv(second)
    del frame

    empty = directory / "empty.db"
    engine = create_engine(f"sqlite:///{empty}")
    upgrade(engine)
    import_file("customers", cust, engine=engine)
    engine.dispose()

    holding = _copy(empty, directory / "holding.db")
    main_rows, more_rows = directory / "orders_rows.parquet", directory / "more_rows.parquet"
    _import_capturing(holding, first, main_rows)
    scratch = _copy(holding, directory / "scratch.db")
    _import_capturing(scratch, second, more_rows)
    _remove(scratch)
    sizes = {}
    captured, lines = pl.read_parquet(more_rows), pl.read_csv(second, infer_schema=False)
    for size in more:
        csv, parquet = directory / f"orders_{size}.csv", directory / f"rows_{size}.parquet"
        lines.head(size).write_csv(csv)
        captured.head(size).write_parquet(parquet)
        sizes[size] = (csv, parquet)
    files = {"empty": empty, "holding": holding, "orders_csv": first, "orders_rows": main_rows}
    return files, sizes


# --- children ----------------------------------------------------------------------------


def _connect(store: str) -> tuple[Any, sqlite3.Connection]:
    """A connection with the product's settings (``create_engine``'s connect hook)."""
    from rapport.store.db import create_engine

    engine = create_engine(f"sqlite:///{store}")
    raw = engine.raw_connection()
    driver = raw.driver_connection
    assert isinstance(driver, sqlite3.Connection)
    return raw, driver


def _timed(clock: dict[str, float], step: str, work: Any) -> Any:
    wall, cpu = time.perf_counter(), time.process_time()
    out = work()
    clock[step + "_s"] = clock.get(step + "_s", 0.0) + time.perf_counter() - wall
    clock["cpu_s"] = clock.get("cpu_s", 0.0) + time.process_time() - cpu
    return out


def child_raw(store: str, rows_file: str, fk_off: bool, defer: bool) -> dict[str, Any]:
    """``executemany`` of the captured rows into ``orders`` as one variant says."""
    raw, conn = _connect(store)
    settings = {
        p: conn.execute(f"PRAGMA {p}").fetchone()[0]
        for p in ("foreign_keys", "journal_mode", "synchronous", "cache_size", "mmap_size")
    }
    frame = pl.read_parquet(rows_file)
    before = conn.execute("SELECT count(*) FROM orders").fetchone()[0]
    indexes = conn.execute(
        "SELECT name, sql FROM sqlite_master "
        "WHERE type = 'index' AND tbl_name = 'orders' AND sql IS NOT NULL"
    ).fetchall()
    columns = ", ".join(f'"{c}"' for c in frame.columns)
    sql = f'INSERT INTO "orders" ({columns}) VALUES ({", ".join("?" for _ in frame.columns)})'
    clock: dict[str, float] = {}

    def script(*statements: str) -> None:
        conn.execute("BEGIN IMMEDIATE")
        for statement in statements:
            conn.execute(statement)
        conn.execute("COMMIT")

    if defer:
        _timed(clock, "extra", lambda: script(*[f'DROP INDEX "{n}"' for n, _ in indexes]))
    if fk_off:
        conn.execute("PRAGMA foreign_keys = OFF")
    for batch in frame.iter_slices(TRANSACTION_ROWS):
        _timed(clock, "insert", lambda: conn.execute("BEGIN IMMEDIATE"))
        for part in batch.iter_slices(STATEMENT_ROWS):
            started = time.perf_counter()
            data = part.rows()
            clock["rows_s"] = clock.get("rows_s", 0.0) + time.perf_counter() - started
            _timed(clock, "insert", lambda data=data: conn.executemany(sql, data))
        _timed(clock, "insert", lambda: conn.execute("COMMIT"))
    if defer:
        _timed(clock, "extra", lambda: script(*[s for _, s in indexes]))
    if fk_off:
        conn.execute("PRAGMA foreign_keys = ON")
        orphans = _timed(
            clock, "extra", lambda: conn.execute("PRAGMA foreign_key_check(orders)").fetchall()
        )
        assert not orphans, orphans[:5]
    after = conn.execute("SELECT count(*) FROM orders").fetchone()[0]
    names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert after - before == frame.height, (before, after)
    assert {n for n, _ in indexes} <= names
    raw.close()
    return {
        "rows": frame.height,
        "table_rows": after,
        "settings": settings,
        **clock,
        "extra_s": clock.get("extra_s", 0.0),
        "total_s": clock["insert_s"] + clock.get("extra_s", 0.0),
    }


def child_importer(store: str, csv: str) -> dict[str, Any]:
    """The product's import of ``csv`` into ``store``: ``import_file``'s own seconds and
    CPU, then apart the loyalty points it posts after an orders import
    (:func:`rapport.ingest.importer.post_points`, called as ``import_file`` calls it)."""
    import datetime as dt

    from rapport.config import load_rules
    from rapport.ingest.importer import import_file, post_points
    from rapport.store.bulk import BulkWriter
    from rapport.store.db import create_engine

    spent: dict[str, float] = {}  # seconds in the BulkWriter methods, the writer's share

    def timed(method: Any) -> Any:
        def run(self: BulkWriter, *args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return method(self, *args, **kwargs)
            finally:
                name = method.__name__
                spent[name] = spent.get(name, 0.0) + time.perf_counter() - started

        return run

    for name in ("insert", "update", "lookup", "resolve_ids"):
        setattr(BulkWriter, name, timed(getattr(BulkWriter, name)))
    engine = create_engine(f"sqlite:///{store}")
    rules = load_rules()
    started_at = dt.datetime.now(dt.UTC)
    cpu = time.process_time()
    report = import_file("orders", csv, engine=engine, rules=rules, earn=False)
    cpu = time.process_time() - cpu
    assert report.rejected == 0 and report.inserted == report.read, report
    points = time.perf_counter()
    post_points("orders", engine=engine, rules=rules, since=started_at)
    points = time.perf_counter() - points
    return {
        "rows": report.read,
        "insert_s": report.seconds,
        "extra_s": 0.0,
        "total_s": report.seconds,
        "points_s": points,
        "writer": spent,
        "cpu_s": cpu,
    }


def run_child(args: list[str]) -> dict[str, Any]:
    load = _load()
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.import_floor", "--child", *args],
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    result["load"] = f"{load} → {_load()}"
    return result


def _peak_rss_mb() -> float:
    """This process's peak resident memory. Not ``getrusage``'s ``ru_maxrss``: a child that
    ``subprocess`` starts (vfork, then exec) carries its parent's peak in it."""
    with open("/proc/self/status") as status:
        line = next(x for x in status if x.startswith("VmHWM:"))
    return int(line.split()[1]) / 1024


def _child_main(args: list[str]) -> None:
    kind, *rest = args
    if kind == "importer":
        result = child_importer(rest[0], rest[1])
    else:
        fk_off, defer = VARIANTS[kind]
        result = child_raw(rest[0], rest[1], fk_off, defer)
    result["peak_rss_mb"] = _peak_rss_mb()
    print(json.dumps(result))


# --- the table ---------------------------------------------------------------------------


HEADS = (
    "run",
    "rows() s",
    "insert s",
    "check/index s",
    "total s",
    "rows/s",
    "CPU s",
    "peak MB",
    "load 1/5/15",
)
WIDTHS = (4, 10, 10, 15, 9, 10, 8, 9, 28)


def _line(case: str, variant: str, n: int, r: dict[str, Any]) -> str:
    cells = (
        f"{n}",
        f"{r['rows_s']:.2f}" if variant != "e" else "–",
        f"{r['insert_s']:.2f}",
        f"{r['extra_s']:.2f}" if variant != "e" else "–",
        f"{r['total_s']:.2f}",
        f"{r['rows'] / r['total_s']:,.0f}",
        f"{r['cpu_s']:.1f}",
        f"{r['peak_rss_mb']:,.0f}",
        r["load"],
    )
    return f"{case:<22}{LABELS[variant]:<32}" + "".join(
        f"{c:>{w}}" for c, w in zip(cells, WIDTHS, strict=True)
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument(
        "--more",
        type=int,
        nargs="+",
        default=[100_000, 300_000, 500_000],
        help="rows of a second import into the table holding --rows (one case each)",
    )
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child_main(args.child)
        return
    print(f"load average {_load()} at the start")
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        started = time.perf_counter()
        files, sizes = prepare(directory, args.rows, args.more, args.customers)
        print(f"set-up (files, stores, captured imports) {time.perf_counter() - started:.0f} s")
        cases = [(f"{args.rows:,} → 0", files["empty"], files["orders_rows"], files["orders_csv"])]
        cases += [
            (f"{size:,} → {args.rows:,}", files["holding"], parquet, csv)
            for size, (csv, parquet) in sizes.items()
        ]
        print(
            f"{'case':<22}{'variant':<32}"
            + "".join(f"{h:>{w}}" for h, w in zip(HEADS, WIDTHS, strict=True))
        )
        best: dict[tuple[str, str], float] = {}
        settings: dict[str, Any] = {}
        for case, template, rows_file, csv in cases:
            for n in range(1, args.repeat + 1):  # variants interleaved: the load hits all
                for variant in (*VARIANTS, "e"):
                    store = _copy(template, directory / "run.db")
                    if variant == "e":
                        r = run_child(["importer", str(store), str(csv)])
                    else:
                        r = run_child([variant, str(store), str(rows_file)])
                        settings = r["settings"]
                    _remove(store)
                    print(_line(case, variant, n, r), flush=True)
                    if variant == "e":
                        print(
                            f"{'':<54}"
                            "(BulkWriter: "
                            + ", ".join(f"{k} {v:.1f} s" for k, v in r["writer"].items())
                            + f"; then the loyalty points posted {r['points_s']:.1f} s)"
                        )
                    rate = r["rows"] / r["total_s"]
                    best[case, variant] = max(best.get((case, variant), 0.0), rate)
        print(f"\nSQLite {sqlite3.sqlite_version}, connection settings {settings}")
        print(f"best rows/s of {args.repeat} runs, against the floor (a):")
        for case, *_ in cases:
            floor = best[case, "a"]
            for variant in (*VARIANTS, "e"):
                rate = best[case, variant]
                print(f"  {case:<22}{LABELS[variant]:<32}{rate:>10,.0f}{rate / floor - 1:>+9.0%}")
    print(f"load average {_load()} at the end")


if __name__ == "__main__":
    main()
