"""The scoring run's kept copy (:mod:`rapport.analytics.working_copy`) is brought up to date
from what changed in a SQLite store, and always holds what a copy made anew would.

Each test changes the store the way a writer may (rows added, updated, deleted — a foreign
key's cascade too —, the file made again or put back from an older one, a run stopped in
its copy) and checks both how each table was refreshed and that every table of the copy
holds exactly the store's rows.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from rapport import scoring
from rapport.analytics import metrics, working_copy
from rapport.analytics.connect import connect
from rapport.analytics.sources import Sources
from rapport.config import Settings, load_rules
from rapport.store import table_changes
from tests.conftest import SAMPLE_END


@pytest.fixture
def settings(sample_store, tmp_path) -> Settings:
    url = sample_store.copy(tmp_path)
    return Settings(_env_file=None, database_url=url, data_dir=tmp_path / "data")


def _file(settings: Settings) -> Path:
    return Path(settings.database_url.removeprefix("sqlite:///"))


def _sorted(table: Any, columns: tuple[str, ...]) -> Any:
    return table.sort_by([(c, "ascending") for c in columns])


def refreshed(settings: Settings) -> dict[str, str]:
    """Open the run's working copy once: how each table was refreshed; and check that
    every table of the copy holds the store's rows (read directly) of every copied column."""
    rules = load_rules(settings)
    with (
        connect(settings) as eng,
        working_copy.working_sources(eng, settings, rules=rules) as src,
    ):
        assert isinstance(src, working_copy.WorkingSources) and src.refresh is not None
        store = Sources(eng, rules=rules)
        for name, columns in working_copy.READ.items():
            want = metrics.execute(getattr(store, name).select(*columns), eng.con)
            got = metrics.execute(getattr(src, name).select(*columns), eng.con)
            assert got.num_rows == want.num_rows, name
            assert _sorted(got, columns).equals(_sorted(want, columns)), name
        return {name: how.how for name, how in src.refresh.items()}


def added(table: str, rows: int) -> tuple[str, int]:
    """For :func:`change`: ``rows`` rows added to ``table``, copies of its first rows with
    the store's next ids and their ``external_id`` made unique."""
    return (table, rows)


def change(settings: Settings, *changes: str | tuple[str, int]) -> None:
    """Make ``changes`` (statements, or rows :func:`added`) to the store in one
    transaction, with its foreign keys, as any writer may."""
    con = sqlite3.connect(_file(settings))
    try:
        con.execute("PRAGMA foreign_keys = ON")
        with con:
            for what in changes:
                if isinstance(what, tuple):
                    _copy_rows(con, *what)
                else:
                    con.execute(what)
    finally:
        con.close()


def _copy_rows(con: sqlite3.Connection, table: str, rows: int) -> None:
    columns = [r[1] for r in con.execute(f"PRAGMA table_info({table})") if r[1] != "id"]
    values = [f"{c} || '-again-' || id" if c == "external_id" else c for c in columns]
    con.execute(
        f"INSERT INTO {table} ({', '.join(columns)}) "
        f"SELECT {', '.join(values)} FROM {table} ORDER BY id LIMIT {rows}"
    )


KEPT = dict.fromkeys(working_copy.READ, "kept")
WHOLE = dict.fromkeys(working_copy.READ, "whole")


def test_the_first_copy_is_whole_and_the_next_keeps_every_table(settings) -> None:
    assert refreshed(settings) == WHOLE
    assert refreshed(settings) == KEPT
    directory = settings.data_dir / "duckdb" / "work"
    assert [p.name for p in directory.iterdir()] == [working_copy.KEPT_FILE]


@pytest.mark.parametrize("in_process", [True, False], ids=["read-by-id", "read-by-duckdb"])
def test_rows_added_are_copied_alone(settings, monkeypatch, in_process) -> None:
    if not in_process:  # as many rows added as DuckDB copies itself
        monkeypatch.setattr(working_copy, "ADDED_IN_PROCESS", 0)
    read: list[str] = []
    by_id = table_changes.added

    def spied(conn: Any, name: str, *args: Any) -> Any:
        read.append(name)
        return by_id(conn, name, *args)

    monkeypatch.setattr(table_changes, "added", spied)
    refreshed(settings)
    change(settings, added("events", 7), added("orders", 3), added("interactions", 2))
    assert refreshed(settings) == {
        **KEPT,
        "events": "added",
        "orders": "added",
        "interactions": "added",
    }
    assert sorted(read) == (["events", "interactions", "orders"] if in_process else [])
    assert refreshed(settings) == KEPT


def test_rows_added_read_by_id_are_the_values_duckdb_reads(settings) -> None:
    refreshed(settings)
    change(
        settings,
        # a time without its fraction, a value with every digit of a double
        "INSERT INTO events (customer_id, kind, occurred_at) "
        "VALUES (1, 'login', '2024-12-30 10:00:00')",
        "INSERT INTO orders (external_id, customer_id, status, ordered_at, net_amount, "
        "currency, created_at, updated_at) VALUES ('SO-again-1', 1, 'completed', "
        "'2024-12-30 10:00:00.123456', 0.1 + 0.2, 'CNY', '2024-12-30 10:00:00', "
        "'2024-12-30 10:00:00')",
        # a number where text is stored (SQLite keeps it): the copy reads it as DuckDB does
        "INSERT INTO orders (external_id, customer_id, status, ordered_at, net_amount, "
        "currency, channel, created_at, updated_at) VALUES ('SO-again-2', 2, 'completed', "
        "'2024-12-30 11:00:00', 10, 'CNY', 12, '2024-12-30 11:00:00', '2024-12-30 11:00:00')",
        added("interactions", 1),
    )
    # refreshed() compares every copied table with the store read by DuckDB
    assert refreshed(settings) == {
        **KEPT,
        "events": "added",
        "orders": "added",
        "interactions": "added",
    }


def test_a_row_updated_copies_its_table_whole(settings) -> None:
    refreshed(settings)
    change(settings, "UPDATE orders SET net_amount = net_amount + 1 WHERE id = 5")
    assert refreshed(settings) == {**KEPT, "orders": "whole"}
    # the count is of rows changed, whatever changes them: the customers' soft delete
    change(settings, "UPDATE customers SET deleted_at = '2024-12-30 10:00:00.000000' WHERE id = 9")
    assert refreshed(settings) == {**KEPT, "customers": "whole"}


def test_a_row_deleted_and_its_cascade_copy_their_tables_whole(settings) -> None:
    refreshed(settings)
    con = sqlite3.connect(_file(settings))
    try:
        order = con.execute(
            "SELECT order_id FROM order_items GROUP BY order_id HAVING count(*) > 1 LIMIT 1"
        ).fetchone()[0]
    finally:
        con.close()
    change(settings, f"DELETE FROM orders WHERE id = {order}")
    got = refreshed(settings)
    assert got["orders"] == got["order_items"] == "whole"
    assert {n for n, how in got.items() if how != "kept"} <= {
        "orders",
        "order_items",
        "campaign_deliveries",  # its order set to null, where one named it
    }


def test_the_highest_row_deleted_and_its_id_given_again_is_seen(settings) -> None:
    refreshed(settings)
    change(
        settings,
        "DELETE FROM events WHERE id = (SELECT max(id) FROM events)",
        added("events", 1),  # the store gives the next id: the one just freed
    )
    assert refreshed(settings) == {**KEPT, "events": "whole"}


def test_a_store_made_again_at_the_same_path_is_copied_whole(settings, sample_store) -> None:
    refreshed(settings)
    # the same rows, made again by the same migrations: another key for each table
    path = _file(settings)
    path.unlink()
    for suffix in ("-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    shutil.copy(sample_store.path, path)
    change(settings, "UPDATE table_changes SET since = lower(hex(randomblob(16)))")
    assert refreshed(settings) == WHOLE


def test_a_store_put_back_from_an_older_file_is_copied_whole(settings, tmp_path) -> None:
    path = _file(settings)
    older = tmp_path / "older.db"
    refreshed(settings)
    shutil.copy(path, older)
    change(settings, added("events", 5))
    assert refreshed(settings)["events"] == "added"
    # put back, then as many other rows added: the same highest id, other rows at it
    shutil.copy(older, path)
    change(settings, added("events", 3))
    change(
        settings,
        "INSERT INTO events (customer_id, kind, occurred_at) "
        "SELECT customer_id, 'login', '2024-12-31 23:00:00.000000' FROM events "
        "ORDER BY id DESC LIMIT 2",
    )
    assert refreshed(settings)["events"] == "whole"


def test_a_run_stopped_in_its_copy_leaves_what_it_refreshed_to_be_copied_whole(
    settings, monkeypatch
) -> None:
    refreshed(settings)
    change(settings, added("events", 4))
    side_by_side = working_copy._copy_side_by_side

    def stopped(eng: Any, inserts: list[str]) -> None:
        side_by_side(eng, inserts)  # the rows are in: the run stops before describing them
        raise KeyboardInterrupt

    monkeypatch.setattr(working_copy, "_copy_side_by_side", stopped)
    with pytest.raises(KeyboardInterrupt):
        refreshed(settings)
    monkeypatch.setattr(working_copy, "_copy_side_by_side", side_by_side)
    assert refreshed(settings) == {**KEPT, "events": "whole"}


def test_a_kept_copy_of_another_shape_is_copied_whole(settings, monkeypatch) -> None:
    refreshed(settings)
    monkeypatch.setattr(working_copy, "FORMAT", working_copy.FORMAT + 1)
    assert refreshed(settings) == WHOLE
    assert refreshed(settings) == KEPT


def test_what_a_run_keeps_in_the_copy_is_dropped_after_it(settings) -> None:
    rules = load_rules(settings)
    with (
        connect(settings) as eng,
        working_copy.working_sources(eng, settings, rules=rules) as src,
    ):
        kept = working_copy.kept(eng, src, src.customers.select("id"))
        assert kept.get_name().startswith(f"{working_copy.DATABASE}.{working_copy.RUN}.kept_")
    with (
        connect(settings) as eng,
        working_copy.working_sources(eng, settings, rules=rules),
    ):
        names = eng.con.raw_sql(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = "
            f"'{working_copy.DATABASE}'"
        ).fetchall()
    assert {n for (n,) in names} == {*working_copy.READ, "_copy_of", "_copied"}


@contextlib.contextmanager
def held(path: Path):
    """The kept copy opened by another process while the block runs."""
    code = (
        "import duckdb, sys, time\n"
        f"con = duckdb.connect({str(path)!r})\n"
        "print('open', flush=True)\n"
        "sys.stdin.read()\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "open"
        yield
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait(timeout=60)


def test_while_another_process_holds_the_kept_copy_a_run_makes_its_own(settings) -> None:
    refreshed(settings)
    directory = settings.data_dir / "duckdb" / "work"
    rules = load_rules(settings)
    with held(directory / working_copy.KEPT_FILE):
        with (
            connect(settings) as eng,
            working_copy.working_sources(eng, settings, rules=rules) as src,
        ):
            assert isinstance(src, working_copy.WorkingSources) and src.refresh is None
            assert len(list(directory.glob("scoring-*.duckdb"))) == 1
            assert metrics.execute(src.events.count(), eng.con).as_py() > 0
        # its own copy goes with the run; the kept one stays for the next
        assert [p.name for p in directory.iterdir()] == [working_copy.KEPT_FILE]
    assert refreshed(settings) == KEPT


def _snapshot(settings: Settings, day: dt.date) -> list[tuple[Any, ...]]:
    con = sqlite3.connect(_file(settings))
    try:
        columns = [
            r[1] for r in con.execute("PRAGMA table_info(customer_scores)") if r[1] != "computed_at"
        ]
        return con.execute(
            f"SELECT {', '.join(columns)} FROM customer_scores WHERE as_of = ? "
            "ORDER BY customer_id",
            (day.isoformat(),),
        ).fetchall()
    finally:
        con.close()


def test_a_run_on_a_refreshed_copy_scores_as_one_on_a_new_copy(settings, tmp_path) -> None:
    day = SAMPLE_END - dt.timedelta(days=1)
    scoring.run(settings, as_of=day, models=False)
    change(
        settings,
        added("events", 50),
        added("orders", 20),
        "UPDATE tickets SET resolved_at = NULL WHERE id = 3",
    )
    refreshed_run = scoring.run(settings, as_of=day, models=False)
    on_refreshed = _snapshot(settings, day)
    # another data directory: a new copy of the store, made whole
    elsewhere = settings.model_copy(update={"data_dir": tmp_path / "elsewhere"})
    new_run = scoring.run(elsewhere, as_of=day, models=False)
    assert refreshed_run.rows == new_run.rows > 0
    assert _snapshot(settings, day) == on_refreshed
