"""A copy of what a score snapshot's aggregate reports read, in DuckDB.

The page reports of a wide scope (every customer's, a manager's) aggregate a snapshot's
rows: the group summaries, the RFM grid, the CLV distribution, the degrees' correlations,
and, between two snapshots, the movements and the counts of the diamond movers. On a SQLite
store each is a pass over the snapshot's narrow-columns index at about a million entries a
second: at 1,000,000 customers about 15 s of the scoring run's reports on one thread. The
same statements (:mod:`rapport.reports.snapshots`, :mod:`rapport.reports.analysis`,
:mod:`rapport.reports.movers`, which stay the reports' one definition) run on DuckDB,
through its SQLAlchemy dialect, over a copy of the columns they read, in about a tenth of
that.

A :class:`Mirror` is a DuckDB file holding, for some snapshot dates, the columns
:data:`MIRRORED_SCORES` of ``customer_scores``, and ``customers`` and ``users`` with the
columns a scope's condition reads (:data:`CUSTOMER_COLUMNS`, :data:`USER_COLUMNS`). It
records what the store said of the customers and users before they were copied
(:func:`stamp`) and when each of its snapshots was written; :meth:`Mirror.holds` compares
them with the store, and a report is computed on the mirror only when they agree
(:func:`rapport.reports.snapshot_cache.memo`), else on the store as always.

The scoring run makes one from 200,000 customers on a SQLite store
(:func:`rapport.scoring.run`): the process that computes the overview's metrics beside the
snapshot's write copies the snapshots the reports read besides the new one (the one before
it and the rest of the overview's history, :data:`rapport.reports.overview.
HISTORY_SNAPSHOTS`), the customers and the users from the store (:func:`copy_store`); the
new snapshot's columns are added from the run's own table once it is written
(:meth:`Mirror.add_snapshot`); the reports the run prepares read it. The run keeps the file
when it is complete (:meth:`Mirror.keep`, as :func:`kept_path`), and the next run takes it
over: the snapshots it holds as the store still has them (the time each was written, in its
table ``mirror_snapshots``) are not copied again, so a run copies the store's snapshots
only once — DuckDB's reader of SQLite reads a whole table to find one date's rows. Deleting
the kept file is safe: the next run copies what it needs from the store.

DuckDB adds floating-point values in another order than SQLite does, so a sum or an
average may differ from the store's in its last binary digits (a relative 1e-15 … 1e-12);
no page shows such a digit. Counts, groups and orders are the same.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import threading
from collections.abc import Hashable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy.orm import Session

from rapport.reports import snapshot_cache as kept
from rapport.store import schema

log = logging.getLogger(__name__)

#: The columns of ``customer_scores`` a mirror holds, with their DuckDB types: every column
#: the aggregate reports read (the snapshot's narrow-columns index, as on the store).
MIRRORED_SCORES = {
    "customer_id": "BIGINT",
    "as_of": "DATE",
    "value_tier": "VARCHAR",
    "lifecycle_stage": "VARCHAR",
    "rfm_segment": "VARCHAR",
    "r_score": "SMALLINT",
    "f_score": "SMALLINT",
    "monetary": "DOUBLE",
    "predicted_clv": "DOUBLE",
    "churn_risk": "DOUBLE",
    "satisfaction": "DOUBLE",
    "loyalty": "DOUBLE",
    "engagement": "DOUBLE",
    "advocacy": "DOUBLE",
    "relationship_index": "DOUBLE",
}
#: The columns of ``customers`` a scope's condition reads (who is deleted, who owns whom).
CUSTOMER_COLUMNS = {"id": "BIGINT", "owner_id": "BIGINT", "deleted_at": "TIMESTAMP"}
#: The columns of ``users`` a manager's scope reads (the team's users).
USER_COLUMNS = {"id": "BIGINT", "team": "VARCHAR"}
#: The mirror's tables and their columns.
TABLES = {
    "customer_scores": MIRRORED_SCORES,
    "customers": CUSTOMER_COLUMNS,
    "users": USER_COLUMNS,
}


#: The table of a mirror file naming the snapshot dates it holds and when each was written.
HELD = "mirror_snapshots"
#: The name of the mirror a scoring run keeps for the next one, under the data directory.
KEPT = Path("duckdb") / "work" / "mirror.duckdb"


def kept_path(data_dir: str | os.PathLike[str]) -> Path:
    """Where a scoring run keeps its mirror for the next one (:meth:`Mirror.keep`)."""
    return Path(data_dir) / KEPT


def stamp(session: Session) -> tuple[Hashable, ...]:
    """What the store says of the customers and users a mirror copies: the customers'
    highest id and latest ``updated_at`` (every write of a customer sets it: a new owner, a
    deletion, an import; :func:`rapport.reports.snapshot_cache.customers_state`), and every
    user's id and team. Equal stamps: the copy still holds."""
    u = schema.users.c
    users = tuple(tuple(row) for row in session.execute(sa.select(u.id, u.team).order_by(u.id)))
    return (kept.customers_state(session), users)


def _select(table: str, source: str, where: str = "") -> str:
    columns = ", ".join(f"CAST({c} AS {t}) AS {c}" for c, t in TABLES[table].items())
    return f"SELECT {columns} FROM {source}{where}"


def _date(day: dt.date) -> str:
    return f"DATE '{day.isoformat()}'"


def copy_store(
    con: Any,
    path: Path,
    *,
    dates: Iterable[dt.date],
    store: str = "store",
    written: Mapping[str, str | None] | None = None,
    take: Path | None = None,
) -> None:
    """Write a new mirror file at ``path``: the snapshots dated ``dates``, the customers and
    the users, read from the store attached to the DuckDB connection ``con`` (an Ibis
    backend's, :func:`rapport.analytics.connect.connect`) as the catalog ``store``. The
    caller reads :func:`stamp` before, and gives it with the file to :class:`Mirror`.

    ``written`` gives, for each of ``dates``, when the store's snapshot was written (read
    before the copy, as the :class:`Mirror` made with the file records it). With it and
    ``take``, the path of a mirror kept by an earlier run (:meth:`Mirror.keep`), that file
    is taken over (moved to ``path``): its snapshots of ``dates`` written at the same time stay,
    those of other dates or written at another time go, only the missing ones are read
    from the store, and the customers and users are copied again. A kept file that cannot
    be read as a mirror of this version is deleted and the copy made whole."""
    days = sorted(set(dates))
    wanted = {str(d): written.get(str(d)) for d in days} if written is not None else {}
    held = _take(take, path, wanted) if take is not None and written is not None else {}
    missing = _dates_in(d for d in days if str(d) not in held)
    target = "rapport_mirror"
    con.raw_sql(f"ATTACH '{_quoted(path)}' AS {target}")
    try:
        for table in (t for t in TABLES if t != "customer_scores"):
            select = _select(table, f"{store}.{table}")
            con.raw_sql(f"CREATE OR REPLACE TABLE {target}.{table} AS {select}")
        select = _select("customer_scores", f"{store}.customer_scores", missing)
        if held:  # the taken file's rows stay, the missing ones are added
            con.raw_sql(f"INSERT INTO {target}.customer_scores {select}")
        else:
            con.raw_sql(f"CREATE OR REPLACE TABLE {target}.customer_scores AS {select}")
    finally:
        con.raw_sql(f"DETACH {target}")


def _dates_in(days: Iterable[dt.date]) -> str:
    listed = ", ".join(map(_date, days))
    return f" WHERE as_of IN ({listed})" if listed else " WHERE false"


def _take(kept: Path, path: Path, wanted: Mapping[str, str | None]) -> dict[str, str]:
    """The kept mirror ``kept`` moved to ``path`` and trimmed to the snapshots of
    ``wanted`` (date → when the store's was written) written at the same time; returns
    those it holds. An empty dict when there is none to take, or it is not a mirror of this
    version (then ``path`` does not exist: the copy is made whole)."""
    import duckdb

    try:
        _move(kept, path)  # taken: a run beside this one copies from the store
    except FileNotFoundError:
        return {}
    try:
        with duckdb.connect(str(path)) as con:
            columns = [
                row[0]
                for row in con.execute(
                    "SELECT column_name FROM information_schema.columns"
                    " WHERE table_name = 'customer_scores' ORDER BY ordinal_position"
                ).fetchall()
            ]
            if columns != list(MIRRORED_SCORES):
                raise ValueError(f"a mirror of other columns: {columns}")
            recorded = con.execute(f"SELECT CAST(as_of AS VARCHAR), written FROM {HELD}")
            held = {
                day: at
                for day, at in recorded.fetchall()
                if at is not None and wanted.get(day) == at
            }
            kept_days = ", ".join(_date(dt.date.fromisoformat(day)) for day in held)
            gone = f" WHERE as_of NOT IN ({kept_days})" if kept_days else ""
            for table in ("customer_scores", HELD):
                con.execute(f"DELETE FROM {table}{gone}")
            return held
    except Exception:
        log.warning("the kept reports' mirror %s was not used (deleted)", kept, exc_info=True)
        _delete(path)
        return {}


def _wal(path: Path) -> Path:
    return path.with_name(path.name + ".wal")


def _move(source: Path, target: Path) -> None:
    """The DuckDB file ``source`` moved to ``target`` (with its WAL file, if it has one;
    any at ``target`` goes)."""
    os.replace(source, target)
    try:
        os.replace(_wal(source), _wal(target))
    except FileNotFoundError:
        with contextlib.suppress(FileNotFoundError):
            os.remove(_wal(target))


def _delete(path: Path) -> None:
    for leftover in (path, _wal(path)):
        with contextlib.suppress(FileNotFoundError):
            os.remove(leftover)


def _quoted(path: Path) -> str:
    return str(path).replace("'", "''")


class Mirror:
    """A mirror file (see the module): ``path``, the store's :func:`stamp` read before its
    customers and users were copied, and ``written``, each snapshot date it holds with the
    time that snapshot was written (as :func:`rapport.reports.snapshot_cache.written`
    reads it from the store)."""

    def __init__(self, path: Path, *, stamp: tuple[Hashable, ...], written: dict[str, str]):
        self.path = Path(path)
        self.stamp = stamp
        self.written = dict(written)
        self._engine: sa.Engine | None = None
        self._lock = threading.Lock()  # the reports' threads open it together

    @property
    def dates(self) -> list[dt.date]:
        """The snapshot dates the mirror holds (or is to hold, before its copy is made)."""
        return sorted(dt.date.fromisoformat(day) for day in self.written)

    def add_snapshot(self, table: pa.Table, *, as_of: dt.date, written: str) -> None:
        """Add the snapshot dated ``as_of`` from ``table`` (the rows written to the store,
        with the columns of :data:`MIRRORED_SCORES` they have: those of the models are null
        in a snapshot scored without them), written at ``written``; rows it held of that
        date are replaced."""
        import duckdb

        self.close()
        rows = table.select([c for c in MIRRORED_SCORES if c in table.column_names])

        def value(column: str, kind: str) -> str:
            if column == "as_of":
                return _date(as_of)
            return f"CAST({column if column in rows.column_names else 'NULL'} AS {kind})"

        with duckdb.connect(str(self.path)) as con:
            con.register("added_rows", rows)
            con.execute(f"DELETE FROM customer_scores WHERE as_of = {_date(as_of)}")
            select = ", ".join(value(c, t) for c, t in MIRRORED_SCORES.items())
            con.execute(f"INSERT INTO customer_scores SELECT {select} FROM added_rows")
            con.unregister("added_rows")
        self.written[as_of.isoformat()] = written

    def holds(self, session: Session, dates: Iterable[Any]) -> bool:
        """Whether the mirror holds the snapshots dated ``dates`` as the store (read in
        ``session``) has them now, and the customers and users as they are."""
        for day in dates:
            held = self.written.get(str(day))
            if held is None or held != kept.written(session, day):
                return False
        return stamp(session) == self.stamp

    @property
    def engine(self) -> sa.Engine:
        """A SQLAlchemy engine reading the mirror (read only; DuckDB's dialect)."""
        with self._lock:
            if self._engine is None:
                self._engine = sa.create_engine(
                    f"duckdb:///{self.path}", connect_args={"read_only": True}
                )
            return self._engine

    @contextlib.contextmanager
    def session(self) -> Iterator[Session]:
        """A session on the mirror, where the reports' statements run as on the store."""
        with Session(self.engine) as session:
            yield session

    def close(self) -> None:
        """Close the mirror's connections (the file stays)."""
        with self._lock:
            if self._engine is not None:
                self._engine.dispose()
                self._engine = None

    def delete(self) -> None:
        """Close the mirror and delete its file."""
        self.close()
        _delete(self.path)

    def keep(self, path: Path) -> None:
        """Close the mirror and move its file to ``path`` (:func:`kept_path`), for the
        next scoring run to take over (:func:`copy_store`), with the time each of its
        snapshots was written (:attr:`written`, as the table :data:`HELD`); a file there
        is replaced."""
        import duckdb

        self.close()
        with duckdb.connect(str(self.path)) as con:
            con.execute(f"CREATE OR REPLACE TABLE {HELD} (as_of DATE, written VARCHAR)")
            con.executemany(f"INSERT INTO {HELD} VALUES (?, ?)", list(self.written.items()))
        path.parent.mkdir(parents=True, exist_ok=True)
        _move(self.path, path)
        self.path = path


__all__ = [
    "CUSTOMER_COLUMNS",
    "HELD",
    "KEPT",
    "MIRRORED_SCORES",
    "TABLES",
    "USER_COLUMNS",
    "Mirror",
    "copy_store",
    "kept_path",
    "stamp",
]
