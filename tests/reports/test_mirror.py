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
from rapport.reports import analysis, movers, snapshots
from rapport.reports import snapshot_cache as kept
from rapport.reports.mirror import MIRRORED_SCORES, Mirror, copy_store, stamp
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


def made(copied: Copied, dates: tuple[dt.date, ...] = (EARLIER, DAY)) -> Mirror:
    """A mirror of ``dates`` as the scoring run makes one: the stamp, then the copy."""
    with session_scope(copied.engine) as session:
        found = stamp(session)
        written = {str(d): kept.written(session, d) for d in dates}
    path = copied.root / f"mirror-{uuid.uuid4().hex[:8]}.duckdb"
    with connect(copied.settings) as eng:
        copy_store(eng.con, path, dates=dates, store=STORE)
    return Mirror(path, stamp=found, written={d: w for d, w in written.items() if w})


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
