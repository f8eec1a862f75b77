"""An import killed half-way (SIGKILL) leaves whole batches; running it again completes it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from rapport.ingest.importer import import_file
from rapport.store import schema

ROWS = 120_000
BATCH = 5_000

CHILD = """
import sys
from rapport.store.db import create_engine
from rapport.ingest.importer import import_file
import_file("orders", sys.argv[2], engine=create_engine(sys.argv[1]), batch_rows=int(sys.argv[3]))
"""


def _orders(engine: Engine) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(schema.orders)).scalar_one()


@pytest.mark.slow  # 120,000 rows imported in a child killed half-way, then again: ~10 s
def test_kill_9_then_rerun_completes_without_duplicates(
    fresh_engine: Engine, tmp_path: Path
) -> None:
    pl.DataFrame({"external_id": ["C1", "C2"], "name": ["甲", "乙"]}).write_csv(tmp_path / "c.csv")
    import_file("customers", tmp_path / "c.csv", engine=fresh_engine)
    pl.DataFrame(
        {
            "external_id": [f"SO{i:07d}" for i in range(ROWS)],
            "customer_external_id": ["C1", "C2"] * (ROWS // 2),
            "ordered_at": ["2024-03-05 10:00"] * ROWS,
            "net_amount": ["¥12.50"] * ROWS,
            "status": ["已完成"] * ROWS,
            "currency": ["CNY"] * ROWS,
        }
    ).write_csv(tmp_path / "o.csv")
    url = fresh_engine.url.render_as_string(hide_password=False)
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, url, str(tmp_path / "o.csv"), str(BATCH)],
        env={**os.environ},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 120
    while _orders(fresh_engine) < 2 * BATCH:
        assert child.poll() is None, child.stderr.read().decode() if child.stderr else ""
        assert time.monotonic() < deadline, "the import never committed a batch"
        time.sleep(0.02)
    child.send_signal(signal.SIGKILL)
    child.wait()
    landed = _orders(fresh_engine)
    assert landed < ROWS, "the import finished before it could be killed"
    assert landed % BATCH == 0, f"{landed} rows: a batch was half-written"

    report = import_file("orders", tmp_path / "o.csv", engine=fresh_engine, batch_rows=BATCH)
    assert (report.unchanged, report.inserted, report.rejected) == (landed, ROWS - landed, 0)
    with fresh_engine.connect() as conn:
        distinct = conn.execute(
            sa.select(sa.func.count(sa.distinct(schema.orders.c.external_id)))
        ).scalar_one()
    assert distinct == _orders(fresh_engine) == ROWS
