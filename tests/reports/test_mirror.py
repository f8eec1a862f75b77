"""The reports' DuckDB mirror (:mod:`rapport.reports.mirror`): the aggregate reports
computed on it equal the store's for every kind of scope, and a kept report is computed
on it only while it holds what the store has."""

from __future__ import annotations

import datetime as dt
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
import sqlalchemy as sa

from rapport.access import CustomerScope, Principal
from rapport.analytics.connect import STORE, connect
from rapport.config import Settings, load_rules
from rapport.domain import Role, ValueTier
from rapport.reports import analysis, movers, overview, snapshots
from rapport.reports import snapshot_cache as kept
from rapport.reports.mirror import MIRRORED_SCORES, Mirror, copy_store, kept_path, stamp
from rapport.store import schema
from rapport.store.db import create_engine, session_scope
from tests.helpers import agree, record_dialects

from .conftest import DAY, EARLIER, ReportStore

RULES = load_rules(Settings(_env_file=None))
TEAM = "north"
#: The scoring run mirrors a SQLite store only: a PostgreSQL store aggregates in parallel
#: itself, and its working copy is the run's own.
pytestmark = pytest.mark.parametrize("report_store", ["sqlite"], indirect=True)


@dataclass
class Copied:
    """A copy of the SQLite report store (its sales user in team :data:`TEAM`)."""

    settings: Settings
    engine: sa.Engine
    root: Path
    report_store: ReportStore


@pytest.fixture
def copied(report_store: ReportStore, tmp_path: Path) -> Iterator[Copied]:
    path = tmp_path / "store.db"
    shutil.copy(report_store.url.removeprefix("sqlite:///"), path)
    url = f"sqlite:///{path}"
    engine = create_engine(url)
    u = schema.users.c
    with engine.begin() as conn:
        conn.execute(
            sa.update(schema.users)
            .where(u.id == report_store.users["sales"]["id"])
            .values(team=TEAM)
        )
    settings = Settings(_env_file=None, database_url=url, data_dir=tmp_path / "data")
    kept.clear()
    try:
        yield Copied(settings, engine, tmp_path, report_store)
    finally:
        kept.clear()
        engine.dispose()


def made(
    copied: Copied, dates: tuple[dt.date, ...] = (EARLIER, DAY), *, take: bool = False
) -> Mirror:
    """A mirror of ``dates`` as the scoring run makes one: the stamp, then the copy; with
    ``take``, taking over the mirror kept in the data directory."""
    with session_scope(copied.engine) as session:
        found = stamp(session)
        written = {str(d): kept.written(session, d) for d in dates}
    path = copied.root / f"mirror-{uuid.uuid4().hex[:8]}.duckdb"
    taken = kept_path(copied.settings.data_dir) if take else None
    with connect(copied.settings) as eng:
        copy_store(eng.con, path, dates=dates, store=STORE, written=written, take=taken)
    return Mirror(path, stamp=found, written={d: w for d, w in written.items() if w})


def mirrored(mirror: Mirror, day: dt.date) -> dict[int, float | None]:
    """Each customer's relationship index in ``mirror``'s snapshot dated ``day``."""
    m = schema.customer_scores.c
    with mirror.session() as session:
        rows = session.execute(sa.select(m.customer_id, m.relationship_index).where(m.as_of == day))
        return {int(i): r for i, r in rows}


def scopes(copied: Copied) -> dict[str, CustomerScope]:
    sales = copied.report_store.principal("sales")
    return {
        "admin": CustomerScope(copied.report_store.principal("admin")),
        "analyst": CustomerScope(copied.report_store.principal("analyst")),
        "sales": CustomerScope(sales),
        "manager of a team": CustomerScope(Principal(10**6, "m", Role.MANAGER, TEAM, "login")),
        "manager without one": CustomerScope(
            Principal(sales.user_id, "m", Role.MANAGER, None, "login")
        ),
    }


def aggregates(session: Any, scope: CustomerScope) -> dict[str, Any]:
    """Every report the mirror serves, computed in ``session`` (the store's or the
    mirror's)."""
    found: dict[str, Any] = {
        f"group_summary {by}": snapshots.group_summary(
            session, by=by, day=DAY, rules=RULES, scope=scope
        )
        for by in snapshots.GROUPINGS
    }
    found["movements"] = snapshots.movements(
        session, by="value_tier", before=EARLIER, after=DAY, scope=scope
    )
    found["rfm_grid"] = analysis.rfm_grid(session, day=DAY, scope=scope)
    found["clv_distribution"] = analysis.clv_distribution(session, day=DAY, scope=scope)
    found["degree_correlations"] = analysis.degree_correlations(session, day=DAY, scope=scope)
    found["tier_mover_counts"] = movers.tier_mover_counts(
        session, tier=ValueTier.DIAMOND, before=EARLIER, after=DAY, scope=scope
    )
    found["snapshot_history"] = overview.snapshot_history(session, scope=scope, days=[EARLIER, DAY])
    return found


def test_the_aggregates_on_the_mirror_equal_the_stores_for_every_scope(copied: Copied) -> None:
    mirror = made(copied)
    try:
        for name, scope in scopes(copied).items():
            with session_scope(copied.engine) as session:
                expected = aggregates(session, scope)
            with mirror.session() as session:
                assert session.get_bind().dialect.name == "duckdb"
                got = aggregates(session, scope)
            for report, value in expected.items():
                assert agree(got[report], value), (name, report, got[report], value)
            # the scopes differ, so the comparison is not of empty or equal reports
            assert expected["group_summary value_tier"], name
        with session_scope(copied.engine) as session:
            wide = aggregates(session, scopes(copied)["admin"])
            narrow = aggregates(session, scopes(copied)["sales"])
        assert wide["rfm_grid"] != narrow["rfm_grid"]
        assert wide["movements"], "the two snapshots differ"
    finally:
        mirror.delete()
    assert not mirror.path.exists()


def test_a_mirror_holds_only_what_the_store_still_has(copied: Copied) -> None:
    mirror = made(copied)
    c, u, s = schema.customers.c, schema.users.c, schema.customer_scores.c
    now = dt.datetime.now(dt.UTC)
    some = min(copied.report_store.sales_ids)
    try:
        with session_scope(copied.engine) as session:
            assert mirror.holds(session, (DAY,))
            assert mirror.holds(session, (EARLIER, DAY))
            assert not mirror.holds(session, (dt.date(2020, 1, 1),))
        changes = [
            # a customer given another owner (every write of a customer sets updated_at)
            sa.update(schema.customers).where(c.id == some).values(owner_id=None, updated_at=now),
            # a user moved to another team: the managers' scopes change
            sa.update(schema.users).where(u.team == TEAM).values(team="south"),
            # the earlier snapshot written again
            sa.update(schema.customer_scores).where(s.as_of == EARLIER).values(computed_at=now),
        ]
        for change in changes:
            again = made(copied)  # a mirror made before the change holds until it
            try:
                with copied.engine.begin() as conn:
                    conn.execute(change)
                with session_scope(copied.engine) as session:
                    assert not again.holds(session, (EARLIER, DAY)), change
            finally:
                again.delete()
    finally:
        mirror.delete()


def test_a_kept_report_is_computed_on_the_mirror_while_it_holds(
    copied: Copied, monkeypatch: pytest.MonkeyPatch
) -> None:
    mirror = made(copied)
    read = record_dialects(monkeypatch, snapshots, "group_summary")
    admin = scopes(copied)["admin"]
    try:
        with session_scope(copied.engine) as session:
            got = kept.group_summary(
                session, by="value_tier", day=DAY, rules=RULES, scope=admin, mirror=mirror
            )
            assert read == ["duckdb"]
        # kept in the store: read back there, not computed again
        kept.clear()
        with session_scope(copied.engine) as session:
            again = kept.group_summary(
                session, by="value_tier", day=DAY, rules=RULES, scope=admin, mirror=mirror
            )
            assert read == ["duckdb"] and again == got
        c = schema.customers.c
        with copied.engine.begin() as conn:  # a change after the mirror was made
            conn.execute(
                sa.update(schema.customers)
                .where(c.id == min(copied.report_store.sales_ids))
                .values(updated_at=dt.datetime.now(dt.UTC))
            )
        kept.clear()
        with session_scope(copied.engine) as session:
            kept.group_summary(
                session, by="value_tier", day=DAY, rules=RULES, scope=admin, mirror=mirror
            )
        assert read == ["duckdb", "sqlite"]
    finally:
        mirror.delete()


def test_a_snapshot_added_replaces_the_rows_of_its_date(copied: Copied) -> None:
    mirror = made(copied, dates=(EARLIER,))
    try:
        with session_scope(copied.engine) as session:
            assert not mirror.holds(session, (DAY,))
            s = schema.customer_scores
            names = [c for c in MIRRORED_SCORES if c not in ("as_of", "predicted_clv")]
            rows = session.execute(sa.select(*(s.c[n] for n in names)).where(s.c.as_of == DAY))
            table = pa.Table.from_pylist([dict(r._mapping) for r in rows])
            table = table.set_column(
                names.index("monetary"), "monetary", table.column("monetary").cast(pa.float64())
            )
            written = kept.written(session, DAY)
            assert written is not None
        for _ in range(2):  # the second time replaces the first
            mirror.add_snapshot(table, as_of=DAY, written=written)
        with session_scope(copied.engine) as session:
            assert mirror.holds(session, (EARLIER, DAY))
        with mirror.session() as session:
            m = schema.customer_scores.c
            counted = dict(
                session.execute(sa.select(m.as_of, sa.func.count()).group_by(m.as_of)).all()
            )
            # a column the table lacks (a snapshot scored without the models) is null
            clv = session.execute(
                sa.select(sa.func.count(m.predicted_clv)).where(m.as_of == DAY)
            ).scalar()
        assert counted[DAY] == table.num_rows and counted[EARLIER] > 0
        assert clv == 0
    finally:
        mirror.delete()


def test_a_kept_mirror_is_taken_over_with_the_snapshots_the_store_still_has(
    copied: Copied,
) -> None:
    s, c = schema.customer_scores.c, schema.customers.c
    path = kept_path(copied.settings.data_dir)
    first = made(copied)
    first.keep(path)
    assert first.path == path and path.exists()
    with session_scope(copied.engine) as session:
        assert first.holds(session, (EARLIER, DAY))
    first.close()
    before, latest = mirrored(first, EARLIER), mirrored(first, DAY)
    assert before and any(r is not None and r != 12.5 for r in before.values())
    # the store's rows of both dates changed without a new computed_at: a mirror taking
    # the kept one over keeps the rows it holds, so they are not read from the store again
    with copied.engine.begin() as conn:
        conn.execute(sa.update(schema.customer_scores).values(relationship_index=12.5))
    taken = made(copied, take=True)
    try:
        assert not path.exists()  # moved: a run beside this one copies from the store
        assert mirrored(taken, EARLIER) == before
        with session_scope(copied.engine) as session:
            assert taken.holds(session, (EARLIER, DAY))
        taken.keep(path)
    finally:
        taken.close()
    # the earlier snapshot written again, a customer deleted: read again from the store
    now = dt.datetime.now(dt.UTC)
    some = min(copied.report_store.sales_ids)
    with copied.engine.begin() as conn:
        conn.execute(
            sa.update(schema.customer_scores).where(s.as_of == EARLIER).values(computed_at=now)
        )
        conn.execute(
            sa.update(schema.customers).where(c.id == some).values(deleted_at=now, updated_at=now)
        )
    again = made(copied, take=True)
    try:
        assert set(mirrored(again, EARLIER).values()) == {12.5}
        assert mirrored(again, DAY) == latest  # still as it was written: kept
        with session_scope(copied.engine) as session:
            assert again.holds(session, (EARLIER, DAY))
        m = schema.customers.c
        with again.session() as session:
            deleted = session.execute(sa.select(m.deleted_at).where(m.id == some)).scalar()
        assert deleted is not None  # the customers copied again
        again.keep(path)
    finally:
        again.close()
    # a date no longer asked for goes; the file holds what its table says
    only = made(copied, dates=(DAY,), take=True)
    try:
        with only.session() as session:
            days = session.execute(sa.select(s.as_of).distinct()).scalars().all()
            held = session.execute(sa.text("SELECT as_of FROM mirror_snapshots")).scalars().all()
        assert days == [DAY] and held == [DAY]
    finally:
        only.delete()


def test_a_kept_file_that_is_not_a_mirror_is_deleted_and_the_copy_made_whole(
    copied: Copied,
) -> None:
    path = kept_path(copied.settings.data_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"not a DuckDB file")
    mirror = made(copied, take=True)
    try:
        assert not path.exists()
        with session_scope(copied.engine) as session:
            assert mirror.holds(session, (EARLIER, DAY))
            expected = aggregates(session, scopes(copied)["admin"])
        with mirror.session() as session:
            got = aggregates(session, scopes(copied)["admin"])
        assert agree(got, expected)
    finally:
        mirror.delete()


def test_the_history_is_computed_on_the_mirror_while_it_holds_every_snapshot(
    copied: Copied, monkeypatch: pytest.MonkeyPatch
) -> None:
    read = record_dialects(monkeypatch, overview, "snapshot_history")
    admin = scopes(copied)["admin"]
    only_latest = made(copied, dates=(DAY,))
    both = made(copied)
    try:
        with session_scope(copied.engine) as session:
            assert kept.history_dates(session) == [EARLIER, DAY]
            kept.snapshot_history(session, day=DAY, scope=admin, mirror=only_latest)
            assert read == ["sqlite"]  # the mirror lacks the earlier snapshot
            kept.clear(copied.engine)
            got = kept.snapshot_history(session, day=DAY, scope=admin, mirror=both)
            assert read == ["sqlite", "duckdb"]
            expected = overview.snapshot_history(session, scope=admin, days=[EARLIER, DAY])
        assert agree(got, expected) and len(got) == 2
    finally:
        only_latest.delete()
        both.delete()
