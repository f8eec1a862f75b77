"""The snapshot's write alone: one stored snapshot written again, its ``components`` documents
compact (as the scoring run writes them) or keyed (as versions before the compact layout did),
alternately; with ``--compare ahead``, compact, its parts checked and encoded on the writer's
thread in turn or on a thread beside it (``ahead``, as the scoring run writes), alternately.

    python -m benchmarks.snapshot_write --store /tmp/b1m/store.db --as-of 2026-11-30 \
        --runs 3 [--fresh-copy /tmp/b1m/store-v.db] [--compare ahead]

The rows of ``--as-of`` are read once (their documents expanded for the keyed form) and
written by ``rapport.scoring.write_bulk`` in the run's parts, with the run's checkpoint
beside it, under the day after ``--as-of``; then deleted again. With ``--fresh-copy`` (a copy
of the store without that day, e.g. made by ``VACUUM INTO``) the store is instead replaced by
that copy before each write and the rows are written under ``--as-of`` itself: the first
write of a date into a store without free pages, as a daily run's. Prints each write's wall
and CPU seconds, the WAL it filled and its checkpoint's seconds.
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import json
import shutil
import sqlite3
import time
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

from rapport import scoring
from rapport.store.components import compact, expand
from rapport.store.db import checkpoint_beside, create_engine


def _forms(store: Path, day: dt.date) -> dict[str, pa.Table]:
    with sqlite3.connect(store) as con:
        rows = pl.read_database(
            f"SELECT * FROM customer_scores WHERE as_of = '{day}' ORDER BY customer_id", con
        )
    rows = rows.with_columns(pl.col("computed_at").str.to_datetime(time_unit="us"))
    documents = rows["components"]
    keyed = [json.dumps(expand(d), ensure_ascii=False, separators=(",", ":")) for d in documents]
    stored = [json.dumps(compact(expand(d)), separators=(",", ":")) for d in documents]
    return {
        "compact": rows.with_columns(pl.Series("components", stored)).to_arrow(),
        "keyed": rows.with_columns(pl.Series("components", keyed)).to_arrow(),
    }


def _write(
    store: Path, table: pa.Table, day: dt.date, *, ahead: bool = False
) -> tuple[float, float, int, float]:
    table = table.set_column(
        table.column_names.index("as_of"), "as_of", pa.array([day] * table.num_rows)
    )
    parts = [table.slice(s, scoring.PART_ROWS) for s in range(0, table.num_rows, scoring.PART_ROWS)]
    engine = create_engine(f"sqlite:///{store}")
    try:
        with checkpoint_beside(engine) as checkpoint:
            began, cpu = time.perf_counter(), time.process_time()
            made = functools.partial(scoring.made_ahead, seconds={}) if ahead else None
            scoring.write_bulk(engine, iter(parts), as_of=day, ahead=made)
            wall, cpu = time.perf_counter() - began, time.process_time() - cpu
            wal = Path(f"{store}-wal").stat().st_size
            began = time.perf_counter()
            checkpoint()
        return wall, cpu, wal, time.perf_counter() - began
    finally:
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", type=Path, required=True, help="a SQLite store's file")
    parser.add_argument("--as-of", type=dt.date.fromisoformat, required=True)
    parser.add_argument("--runs", type=int, default=2, help="writes of each form")
    parser.add_argument("--fresh-copy", type=Path, help="a copy of the store without --as-of")
    parser.add_argument("--compare", choices=("forms", "ahead"), default="forms")
    args = parser.parse_args()
    forms = _forms(args.store, args.as_of)
    variants = {name: (table, False) for name, table in forms.items()}
    if args.compare == "ahead":
        variants = {"in turn": (forms["compact"], False), "ahead": (forms["compact"], True)}
    print(
        f"{forms['compact'].num_rows:,} rows; documents on average "
        + ", ".join(
            f"{name} {pc.mean(pc.binary_length(t['components'])).as_py():,.0f} B"
            for name, t in forms.items()
        )
    )
    day = args.as_of if args.fresh_copy else args.as_of + dt.timedelta(days=1)
    for _ in range(args.runs):
        for name, (table, ahead) in variants.items():
            if args.fresh_copy:
                for suffix in ("-wal", "-shm"):
                    Path(f"{args.store}{suffix}").unlink(missing_ok=True)
                shutil.copyfile(args.fresh_copy, args.store)
            wall, cpu, wal, checkpoint = _write(args.store, table, day, ahead=ahead)
            print(
                f"{name:8} {wall:6.2f} s wall {cpu:6.2f} s CPU   WAL {wal / 2**20:,.0f} MiB"
                f"   checkpoint {checkpoint:.2f} s",
                flush=True,
            )
            if not args.fresh_copy:
                with sqlite3.connect(args.store) as con:
                    con.execute("DELETE FROM customer_scores WHERE as_of = ?", (str(day),))
                    con.commit()
                    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")


if __name__ == "__main__":
    main()
