"""Snapshot reports kept in the store (:mod:`rapport.store.kept_reports`, behind
:func:`rapport.reports.snapshot_cache.memo`), SQLite and PostgreSQL: every prepared report
comes back from its JSON equal to itself; a report one process computed is read by another
without computing it; the scoring run prepares the pages' reports after its snapshot; stale
rows go when a newer generation is kept, when the snapshot is written again and on an
erasure; and a write gives up instead of waiting behind another writer."""

from __future__ import annotations

import datetime as dt
import functools
import os
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from rapport import scoring
from rapport.access import CustomerScope, Principal
from rapport.analytics.periods import day_end
from rapport.api.privacy import erase_customer
from rapport.config import Settings, load_rules
from rapport.domain import Role
from rapport.reports import movers, overview, prepared, snapshots
from rapport.reports import snapshot_cache as kept
from rapport.reports.mirror import kept_path
from rapport.store import customers, kept_reports, schema
from rapport.store.db import create_engine, session_scope
from tests.helpers import agree, count_calls, record_dialects, snapshot_reports

from .conftest import DAY, EARLIER, ReportStore

RULES = load_rules()
_k = schema.kept_reports.c
REPORTS = snapshot_reports()


pytestmark = pytest.mark.usefixtures("no_kept_reports")


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """Calls of each report function, by name."""
    return count_calls(monkeypatch, REPORTS)


def rows(engine: sa.Engine) -> list[sa.Row[Any]]:
    with engine.connect() as conn:
        return list(conn.execute(sa.select(_k.as_of, _k.report, _k.generation)))


def diamond_page(module: Any, session: Any, p: Any) -> Any:
    """The diamonds page's list for ``p``: ``module`` the report or its kept form."""
    return module.diamonds(
        session,
        day=DAY,
        rules=RULES,
        locale="en",
        limit=prepared.DIAMOND_PAGE_ROWS,
        scope=CustomerScope(p),
        order="churn_risk",
    )


def test_every_prepared_report_is_kept_and_read_back_equal(
    report_store: ReportStore, counted: dict[str, int]
) -> None:
    engine = report_store.engine()
    try:
        with session_scope(engine) as session:
            found = prepared.principals(session)
            for p in found:
                assert prepared.prepare(session, rules=RULES, scope=CustomerScope(p)) > 0
            first = dict(counted)
            assert set(first) == {name for _, name in REPORTS}, first
            kept_rows = rows(engine)
            # a list read for several locales at once (``*_in``) is kept as each locale's list
            assert {r.report for r in kept_rows} == {n.removesuffix("_in") for n in first}
            assert {r.as_of for r in kept_rows} == {DAY}
            assert len({r.generation for r in kept_rows}) == 1
            # what the memory held, for comparison
            expected = [diamond_page(snapshots, session, p) for p in found]
        kept.clear()  # a new process: nothing in memory, the store's rows remain
        counted.clear()
        with session_scope(engine) as session:
            for p, want in zip(found, expected, strict=True):
                prepared.prepare(session, rules=RULES, scope=CustomerScope(p))
                got = diamond_page(kept, session, p)
                assert got == want
                assert isinstance(got, snapshots.CustomerList) and isinstance(got.as_of, dt.date)
        assert counted == {}, counted
    finally:
        engine.dispose()


@pytest.mark.parametrize("threads", [1, 2])
def test_the_store_is_prepared_longest_first_with_the_owners_before_the_sales_users(
    report_store: ReportStore, monkeypatch: pytest.MonkeyPatch, threads: int
) -> None:
    from rapport.domain import Role
    from rapport.store.db import session_factory

    engine = report_store.engine()
    log: list[Any] = []  # each report's scope as it starts; the owners' start and end
    tasks, owners = prepared.tasks, prepared.prepare_owners

    def logged(session: Any, **kwargs: Any) -> list[prepared.Task]:
        role = kwargs["scope"].principal.role

        def call(run: Any, session: Any) -> object:
            log.append(role)
            return run(session)

        return [(n, functools.partial(call, run)) for n, run in tasks(session, **kwargs)]

    def all_owners(session: Any) -> int:
        log.append("owners")
        try:
            return owners(session)
        finally:
            log.append("owned")

    monkeypatch.setattr(prepared, "tasks", logged)
    monkeypatch.setattr(prepared, "prepare_owners", all_owners)
    wide = (Role.ADMIN, Role.MANAGER)
    try:
        with session_scope(engine) as session:
            found = [p.role for p in prepared.principals(session)]
            per_scope = [
                len(tasks(session, rules=RULES, scope=CustomerScope(p)))
                for p in prepared.principals(session)
            ]
        asked = prepared.prepare_store(session_factory(engine), rules=RULES, threads=threads)
        assert found[0] is Role.ADMIN and Role.MANAGER in found
        assert Role.SALES in found and found[-1] is Role.ANALYST
        # each scope's reports, one task each, every customer's first
        expected = [role for role, n in zip(found, per_scope, strict=True) for _ in range(n)]
        assert min(per_scope) > 0 and sum(per_scope) > len(found)
        started = [e for e in log if e != "owned"]
        assert sorted(map(str, started)) == sorted(map(str, ["owners", *expected]))
        assert log[0] == "owners"  # the longest single report first
        if threads == 1:
            assert started == ["owners", *expected]
        # the sales users' (and every narrower scope's) reports wait for the owners' warnings
        done = log.index("owned")
        assert all(e in (*wide, "owners") for e in log[:done])
        # every report asked for is kept: a second pass computes nothing and asks the same
        kept.clear()
        with session_scope(engine) as session:
            again = sum(
                prepared.prepare(session, rules=RULES, scope=CustomerScope(p))
                for p in prepared.principals(session)
            ) + owners(session)
        assert asked == again > 0
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    "result",
    [
        [{"group": "gold", "customers": 3, "revenue": 12.5, "avg_loyalty": None}],
        {"as_of": dt.date(2026, 11, 30), "at": dt.datetime(2026, 11, 30, 8, 1, 2)},
        snapshots.CustomerList(
            as_of=dt.date(2026, 11, 30), rows=[{"name": "王芳"}], total=9, next_key=(1.5, 7)
        ),
        (1, "a", None, True),
    ],
)
def test_a_result_comes_back_from_its_json_equal(result: Any) -> None:
    text = kept.encode(result)
    assert text is not None
    back = kept.decode(text)
    assert back == result and type(back) is type(result)


@pytest.mark.parametrize(
    "result", [[float("nan")], {"$date": "not a tag of ours"}, {1: "a key JSON turns into '1'"}]
)
def test_a_result_json_cannot_give_back_is_kept_in_memory_only(result: Any) -> None:
    assert kept.encode(result) is None


def test_a_newer_generation_replaces_the_rows_of_its_date(report_store: ReportStore) -> None:
    engine = report_store.engine()
    admin = CustomerScope(report_store.principal("admin"))
    try:
        with session_scope(engine) as session:
            kept.group_summary(session, by="value_tier", day=DAY, rules=RULES, scope=admin)
            kept.rfm_grid(session, day=DAY, scope=admin)
        before = rows(engine)
        assert len(before) == 2
        victim = next(iter(report_store.sales_ids - {report_store.deleted_id}))
        with session_scope(engine) as session:  # through the store: updated_at moves
            customers.repo.update(session=session, id=victim, values={"city": "杭州市"})
        with session_scope(engine) as session:
            kept.rfm_grid(session, day=DAY, scope=admin)
        after = rows(engine)
        # the grid's row of the old generation gave way; the summary's stays until its own
        # report is kept again (a row of another generation is never read)
        grid = [r for r in after if r.report == "rfm_grid"]
        assert len(after) == 2 and len(grid) == 1
        assert grid[0].generation != before[0].generation
        assert {r.generation for r in after} == {grid[0].generation, before[0].generation}
    finally:
        engine.dispose()


def test_an_erasure_deletes_the_kept_rows(report_store: ReportStore) -> None:
    engine = report_store.engine()
    admin = CustomerScope(report_store.principal("admin"))
    try:
        with session_scope(engine) as session:
            kept.rfm_grid(session, day=DAY, scope=admin)
            kept.diamonds(session, day=DAY, rules=RULES, locale="en", scope=admin)
        assert len(rows(engine)) == 2
        victim = next(iter(report_store.sales_ids - {report_store.deleted_id}))
        with session_scope(engine) as session:
            _, touched = erase_customer(session=session, customer_id=victim)
        assert touched["kept_reports"] == 2
        assert rows(engine) == []
    finally:
        engine.dispose()


def test_a_write_gives_up_while_another_writer_holds_the_store(
    report_store: ReportStore, tmp_path: Path
) -> None:
    if not report_store.url.startswith("sqlite"):
        pytest.skip("SQLite's single writer: PostgreSQL's rows are locked one by one")
    path = tmp_path / "store.db"
    shutil.copy(report_store.url.removeprefix("sqlite:///"), path)
    engine = create_engine(f"sqlite:///{path}", busy_timeout_seconds=30)
    holder = sqlite3.connect(path, isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")  # another process's writer
        done = kept_reports.keep(
            engine, key="1" * 64, as_of=DAY, report="t", generation="g", payload="[]"
        )
        holder.execute("ROLLBACK")
        assert done is False
        assert rows(engine) == []
        # the connection went back to the pool waiting as long as before
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30_000
        assert kept_reports.keep(
            engine, key="1" * 64, as_of=DAY, report="t", generation="g", payload="[]"
        )
        assert len(rows(engine)) == 1
    finally:
        engine.dispose()
        holder.close()


def test_the_scoring_run_prepares_the_pages_reports(
    report_store: ReportStore,
    tmp_path: Path,
    counted: dict[str, int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if not report_store.url.startswith("sqlite"):
        pytest.skip("scored on SQLite; the reports themselves are kept on both backends above")
    path = tmp_path / "store.db"
    shutil.copy(report_store.url.removeprefix("sqlite:///"), path)
    url = f"sqlite:///{path}"
    settings = Settings(_env_file=None, database_url=url, data_dir=tmp_path / "data")
    engine = create_engine(url)
    earlier = DAY - dt.timedelta(days=1)
    for key, day in (("a" * 64, DAY), ("b" * 64, earlier)):
        assert kept_reports.keep(
            engine, key=key, as_of=day, report="stale", generation="g", payload="[]"
        )
    computed = overview.metric_overview
    engines: list[str] = []

    def metric_overview(*args: Any, **kwargs: Any) -> dict[str, Any]:
        found = kwargs.get("analytics")
        engines.append("run" if found is not None else "own")
        return computed(*args, **kwargs)

    monkeypatch.setattr(overview, "metric_overview", metric_overview)
    result = scoring.run(settings, as_of=DAY, models=False)
    monkeypatch.setattr(overview, "metric_overview", computed)
    assert result.reports > 0 and "reports" in result.seconds
    # the metrics computed once, on the run's working copy
    assert engines == ["run"] and "metrics" in result.seconds
    try:
        found = rows(engine)
        # the date written again lost its rows; another date's stay
        assert [r.as_of for r in found if r.report == "stale"] == [earlier]
        assert {r.as_of for r in found if r.report != "stale"} == {DAY}
        # the overview's metrics of its first period, as the worker computes them
        as_of = day_end(DAY, settings.tz)
        period = overview.PERIODS[0]
        with session_scope(engine) as session:
            got = prepared.kept_metrics(session, rules=RULES, as_of=as_of, period=period)
            assert prepared.kept_metrics(session, rules=RULES, as_of=as_of, period="30d") is None
        assert got is not None and got.pop("computed_at")
        assert got == overview.metric_overview(settings, RULES, as_of=as_of, period=period)
        kept.clear()  # a server started after the run
        counted.clear()
        with session_scope(engine) as session:
            for p in prepared.principals(session):
                prepared.prepare(session, rules=load_rules(settings), scope=CustomerScope(p))
        assert counted == {}, counted
    finally:
        engine.dispose()


def _scored_copy(report_store: ReportStore, tmp_path: Path) -> tuple[Settings, sa.Engine]:
    """Settings and an engine of a copy of the SQLite report store, whose run keeps its
    working copy under ``tmp_path``."""
    path = tmp_path / "store.db"
    shutil.copy(report_store.url.removeprefix("sqlite:///"), path)
    url = f"sqlite:///{path}"
    settings = Settings(_env_file=None, database_url=url, data_dir=tmp_path / "data")
    return settings, create_engine(url)


def _kept_overview(settings: Settings, engine: sa.Engine) -> dict[str, Any] | None:
    as_of = day_end(DAY, settings.tz)
    with session_scope(engine) as session:
        return prepared.kept_metrics(session, rules=RULES, as_of=as_of, period=overview.PERIODS[0])


@pytest.mark.parametrize("fails", [False, True], ids=["computed", "process-stopped"])
def test_the_run_computes_the_metrics_beside_its_write_from_enough_customers(
    report_store: ReportStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fails: bool
) -> None:
    if not report_store.url.startswith("sqlite"):
        pytest.skip("a PostgreSQL store's copy is the run's own: the metrics stay in the run")
    settings, engine = _scored_copy(report_store, tmp_path)
    started: list[Any] = []

    class Beside(scoring.Beside):
        """The run's process, recorded; with ``fails``, one that stops without a result."""

        def __init__(self, work: Any, *args: Any, what: str) -> None:
            started.append(work)
            if fails:
                super().__init__(os._exit, 9, what=what)
            else:
                super().__init__(work, *args, what=what)

    monkeypatch.setattr(scoring, "Beside", Beside)
    monkeypatch.setattr(scoring, "METRICS_APART_CUSTOMERS", 1)
    # the reports' mirror, made beside the write too (the process's copy): where the
    # reports were computed
    group_summary = snapshots.group_summary
    read = record_dialects(monkeypatch, snapshots, "group_summary")
    history = record_dialects(monkeypatch, overview, "snapshot_history")
    steps: list[str] = []
    try:
        result = scoring.run(settings, as_of=DAY, models=False, on_step=steps.append)
        assert started == [scoring._metrics_apart]
        assert "metrics" not in steps  # no step of the run's own: beside "write"
        assert ("metrics" in result.seconds) is not fails
        # on the mirror when the process made it, else on the store; the run's file kept
        # for the next run when complete, else deleted
        assert read and set(read) == {"sqlite" if fails else "duckdb"}
        assert history and set(history) == {"sqlite" if fails else "duckdb"}
        assert not list((tmp_path / "data").rglob("reports-*.duckdb"))
        assert kept_path(settings.data_dir).exists() is not fails
        with session_scope(engine) as session:
            admin = CustomerScope(Principal(0, "", Role.ADMIN, None, "login"))
            computed = len(read)
            kept_summary = kept.group_summary(
                session, by="value_tier", day=DAY, rules=RULES, scope=admin
            )
            assert len(read) == computed  # the run's, read back
            fresh = group_summary(session, by="value_tier", day=DAY, rules=RULES, scope=admin)
        assert agree(kept_summary, fresh)
        got = _kept_overview(settings, engine)
        # the same metrics as the run's own; without them, the run computed them after
        assert got is not None and got.pop("computed_at")
        as_of = day_end(DAY, settings.tz)
        assert got == overview.metric_overview(
            settings, RULES, as_of=as_of, period=overview.PERIODS[0]
        )
        if not fails:
            # the next run takes the kept mirror over: the earlier snapshot, written at the
            # same time, is not read from the store again (its rows changed there behind
            # the mirror's back stay as they were copied), and the file is kept again
            earlier = _mirrored_index(kept_path(settings.data_dir), EARLIER)
            s = schema.customer_scores
            with engine.begin() as conn:
                conn.execute(
                    sa.update(s).where(s.c.as_of == EARLIER).values(relationship_index=12.5)
                )
            kept.clear(engine)
            read.clear()
            scoring.run(settings, as_of=DAY, models=False)
            assert set(read) == {"duckdb"}
            assert _mirrored_index(kept_path(settings.data_dir), EARLIER) == earlier
            assert earlier and set(earlier.values()) != {12.5}
        # below the threshold the run computes them itself, as before
        monkeypatch.setattr(scoring, "METRICS_APART_CUSTOMERS", 10**9)
        started.clear()
        steps.clear()
        scoring.run(settings, as_of=DAY, models=False, on_step=steps.append)
        assert started == [] and "metrics" in steps
    finally:
        engine.dispose()


def _mirrored_index(path: Path, day: dt.date) -> dict[int, Any]:
    """Each customer's relationship index in the mirror file ``path``'s snapshot ``day``."""
    import duckdb

    with duckdb.connect(str(path), read_only=True) as con:
        rows = con.execute(
            "SELECT customer_id, relationship_index FROM customer_scores WHERE as_of = ?", [day]
        ).fetchall()
    return dict(rows)


def test_the_kept_metrics_go_with_their_snapshot(report_store: ReportStore, tmp_path: Path) -> None:
    if not report_store.url.startswith("sqlite"):
        pytest.skip("the metrics' engine reads a copy; the store's rows are tested above")
    path = tmp_path / "store.db"
    shutil.copy(report_store.url.removeprefix("sqlite:///"), path)
    url = f"sqlite:///{path}"
    settings = Settings(_env_file=None, database_url=url, data_dir=tmp_path / "data")
    assert prepared.prepare_metrics(settings, RULES, period="30d")
    as_of = day_end(DAY, settings.tz)
    engine = create_engine(url)
    try:
        with session_scope(engine) as session:
            kept_now = prepared.kept_metrics(session, rules=RULES, as_of=as_of, period="30d")
            window = RULES.activity.window_days + 1
            other_rules = RULES.model_copy(
                update={"activity": RULES.activity.model_copy(update={"window_days": window})}
            )
            assert (
                prepared.kept_metrics(session, rules=other_rules, as_of=as_of, period="30d") is None
            )
        assert kept_now is not None and kept_now["headline"]
        s = schema.customer_scores
        with engine.begin() as conn:  # the snapshot written again: a new computed_at
            conn.execute(
                sa.update(s).where(s.c.as_of == DAY).values(computed_at=dt.datetime.now(dt.UTC))
            )
        with session_scope(engine) as session:
            assert prepared.kept_metrics(session, rules=RULES, as_of=as_of, period="30d") is None
    finally:
        engine.dispose()


def test_an_analyst_shares_the_admins_figures_but_not_the_lists(
    report_store: ReportStore, counted: dict[str, int]
) -> None:
    engine = report_store.engine()
    admin = CustomerScope(report_store.principal("admin"))
    analyst = CustomerScope(report_store.principal("analyst"))
    try:
        with session_scope(engine) as session:
            for who in (admin, analyst):
                kept.rfm_grid(session, day=DAY, scope=who)
                kept.group_summary(session, by="value_tier", day=DAY, rules=RULES, scope=who)
            assert counted == {"rfm_grid": 1, "group_summary": 1}, counted
            names = [
                kept.diamonds(session, day=DAY, rules=RULES, locale="en", scope=who).rows[0]["name"]
                for who in (admin, analyst)
            ]
            assert counted["diamonds_in"] == 2
            assert names[0] != names[1] and "*" in names[1]
    finally:
        engine.dispose()


def test_the_diamond_lists_and_movers_are_read_once_for_every_locale(
    report_store: ReportStore, counted: dict[str, int]
) -> None:
    """Preparing an admin's pages reads each diamond list once and the diamond movers
    once for both locales and both pages; every kept list is the one its page computes
    alone, in its locale."""
    from rapport.domain import UI_LOCALES, ValueTier

    engine = report_store.engine()
    admin = CustomerScope(report_store.principal("admin"))
    try:
        with session_scope(engine) as session:
            prepared.prepare(session, rules=RULES, scope=admin)
            assert counted["diamonds_in"] == len(prepared.DIAMOND_LISTS)
            assert counted["tier_movers_in"] == 1
            earlier = prepared.previous_snapshot(session, DAY)
            assert earlier is not None
            counted.clear()
            for locale in UI_LOCALES:
                for _, limit, order in prepared.DIAMOND_LISTS:
                    args = {"day": DAY, "rules": RULES, "locale": locale, "limit": limit}
                    got = kept.diamonds(session, **args, scope=admin, order=order)
                    assert got == snapshots.diamonds(session, **args, scope=admin, order=order)
                pages = (prepared.overview_diamond_moves, prepared.diamond_page_moves)
                moves = [
                    page(
                        session, before=earlier, after=DAY, rules=RULES, locale=locale, scope=admin
                    )
                    for page in pages
                ]
                listed = moves[1][1]
                assert listed, "the sample company has diamond movers"
                alone = movers.tier_movers(
                    session,
                    tier=ValueTier.DIAMOND,
                    before=earlier,
                    after=DAY,
                    rules=RULES,
                    locale=locale,
                    scope=admin,
                    limit=prepared.DIAMOND_MOVER_ROWS,
                )
                assert listed == alone
                gained = [r for r in alone if r["direction"] == "in"]
                assert moves[0]["gained_rows"] == gained[: prepared.OVERVIEW_LISTED]
            # what the pages read was kept: only the reports computed alone above ran
            assert counted == {
                "diamonds_in": len(UI_LOCALES) * len(prepared.DIAMOND_LISTS),
                "tier_movers_in": len(UI_LOCALES),
            }, counted
    finally:
        engine.dispose()
