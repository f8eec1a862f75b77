"""The snapshot reports kept between requests (:mod:`rapport.reports.snapshot_cache`) on
the scored store, SQLite and PostgreSQL: the same rows as the reports themselves for every
scope, and computed again when the snapshot, the customers or a manager's team change —
never one user's rows handed to another."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import sqlalchemy as sa

from rapport.access import CustomerScope, Principal
from rapport.config import load_rules
from rapport.domain import Role
from rapport.reports import analysis as distributions
from rapport.reports import overview, snapshots
from rapport.reports import snapshot_cache as kept
from rapport.reports.worklist import owned_by
from rapport.store import customers, schema, users
from rapport.store.db import session_scope

from .conftest import DAY, EARLIER, ReportStore

RULES = load_rules()


pytestmark = pytest.mark.usefixtures("no_kept_reports")


def scope(store: ReportStore, who: str) -> CustomerScope:
    return CustomerScope(store.principal(who))


def counting(result: Any) -> tuple[list[int], Any]:
    calls: list[int] = []

    def compute(_session: Any) -> Any:
        calls.append(1)
        return result

    return calls, compute


def reports(session: Any, where: CustomerScope) -> dict[str, Any]:
    """Every kept report and the report itself, for ``where``."""
    both: dict[str, Any] = {}
    for by in snapshots.GROUPINGS:
        both[f"group_summary {by}"] = (
            kept.group_summary(session, by=by, day=DAY, rules=RULES, scope=where),
            snapshots.group_summary(session, by=by, day=DAY, rules=RULES, scope=where),
        )
    both["movements"] = (
        kept.movements(session, by="value_tier", before=EARLIER, after=DAY, scope=where),
        snapshots.movements(session, by="value_tier", before=EARLIER, after=DAY, scope=where),
    )
    for order in snapshots.DIAMOND_ORDERS:
        args: dict[str, Any] = {"day": DAY, "rules": RULES, "locale": "zh-CN", "limit": 7}
        both[f"diamonds {order}"] = (
            kept.diamonds(session, **args, scope=where, order=order),
            snapshots.diamonds(session, **args, scope=where, order=order),
        )
    both["churn_warnings"] = (
        kept.churn_warnings(session, day=DAY, limit=9, scope=where),
        snapshots.churn_warnings(session, day=DAY, limit=9, scope=where),
    )
    both["rfm_grid"] = (
        kept.rfm_grid(session, day=DAY, scope=where),
        distributions.rfm_grid(session, day=DAY, scope=where),
    )
    both["clv_distribution"] = (
        kept.clv_distribution(session, day=DAY, scope=where),
        distributions.clv_distribution(session, day=DAY, scope=where),
    )
    both["degree_correlations"] = (
        kept.degree_correlations(session, day=DAY, scope=where),
        distributions.degree_correlations(session, day=DAY, scope=where),
    )
    return both


def same_history(got: list[dict[str, Any]], expected: list[dict[str, Any]]) -> bool:
    """The same snapshot history, sums and means to rounding (PostgreSQL sums in any order)."""
    return len(got) == len(expected) and all(
        g == pytest.approx(e) for g, e in zip(got, expected, strict=True)
    )


def test_kept_reports_are_the_reports_for_every_scope(report_store: ReportStore) -> None:
    engine = report_store.engine()
    try:
        with session_scope(engine) as session:
            for who in ("admin", "sales", "analyst"):
                where = scope(report_store, who)
                first = reports(session, where)  # computed
                again = reports(session, where)  # kept
                for name, (kept_rows, rows) in first.items():
                    assert kept_rows == rows, (who, name)
                    assert again[name][0] == rows, (who, name)
                history = overview.snapshot_history(session, scope=where)
                for _ in range(2):  # computed, then kept
                    got = kept.snapshot_history(session, day=DAY, scope=where)
                    assert same_history(got, history), who
            sales = kept.diamonds(
                session, day=DAY, rules=RULES, locale="en", scope=scope(report_store, "sales")
            )
            everyone = kept.diamonds(
                session, day=DAY, rules=RULES, locale="en", scope=scope(report_store, "admin")
            )
            masked = kept.diamonds(
                session, day=DAY, rules=RULES, locale="en", scope=scope(report_store, "analyst")
            )
    finally:
        engine.dispose()
    assert sales.rows and {r["customer_id"] for r in sales.rows} <= report_store.sales_ids
    assert sales.total < everyone.total
    assert [r["customer_id"] for r in masked.rows] == [r["customer_id"] for r in everyone.rows]
    assert [r["name"] for r in masked.rows] != [r["name"] for r in everyone.rows]


def test_kept_until_the_snapshot_or_the_customers_change(report_store: ReportStore) -> None:
    engine = report_store.engine()
    admin = scope(report_store, "admin")
    try:
        with session_scope(engine) as session:
            calls, compute = counting(["figures"])
            for _ in range(3):
                got = kept.memo(session, day=DAY, scope=admin, report=("t",), compute=compute)
            assert got == ["figures"] and len(calls) == 1
            got.append("changed by the caller")
            assert kept.memo(session, day=DAY, scope=admin, report=("t",), compute=compute) == [
                "figures"
            ]
            # another report, another day, another user: computed apart
            kept.memo(session, day=DAY, scope=admin, report=("u",), compute=compute)
            kept.memo(session, day=EARLIER, scope=admin, report=("t",), compute=compute)
            sales = scope(report_store, "sales")
            kept.memo(session, day=DAY, scope=sales, report=("t",), compute=compute)
            owner = owned_by(admin, report_store.users["sales"]["id"])
            kept.memo(session, day=DAY, scope=owner, report=("t",), compute=compute)
            assert len(calls) == 5
            before = kept.group_summary(session, by="value_tier", day=DAY, rules=RULES, scope=admin)
        # a customer deleted through the store: the summary counts one fewer
        victim = next(
            iter(report_store.sales_ids - {report_store.deleted_id}),
        )
        with session_scope(engine) as session:
            customers.repo.delete(session=session, id=victim)
        with session_scope(engine) as session:
            after = kept.group_summary(session, by="value_tier", day=DAY, rules=RULES, scope=admin)
            assert sum(g["customers"] for g in after) == sum(g["customers"] for g in before) - 1
            assert after == snapshots.group_summary(
                session, by="value_tier", day=DAY, rules=RULES, scope=admin
            )
            kept.memo(session, day=DAY, scope=admin, report=("t",), compute=compute)
            assert len(calls) == 6
        # the snapshot written again (a new computed_at): computed again
        s = schema.customer_scores
        with engine.begin() as conn:
            conn.execute(
                sa.update(s)
                .where(s.c.as_of == DAY)
                .values(computed_at=dt.datetime(2030, 1, 1, tzinfo=dt.UTC))
            )
        with session_scope(engine) as session:
            kept.memo(session, day=DAY, scope=admin, report=("t",), compute=compute)
            kept.memo(session, day=DAY, scope=admin, report=("t",), compute=compute)
            assert len(calls) == 7
    finally:
        engine.dispose()


def test_a_managers_team_and_a_service_scope(report_store: ReportStore) -> None:
    engine = report_store.engine()
    try:
        with session_scope(engine) as session:
            boss = users.create_user(
                session=session, username="cache-manager", role=Role.MANAGER, team="north"
            )
            agent = users.create_user(session=session, username="cache-agent", role=Role.SERVICE)
        manager = CustomerScope(
            Principal(boss["id"], "cache-manager", Role.MANAGER, "north", "login")
        )
        service = CustomerScope(Principal(agent["id"], "cache-agent", Role.SERVICE, None, "login"))
        calls, compute = counting([1])
        with session_scope(engine) as session:
            kept.memo(session, day=DAY, scope=manager, report=("t",), compute=compute)
            kept.memo(session, day=DAY, scope=manager, report=("t",), compute=compute)
            assert len(calls) == 1
            # a service agent's scope follows their tickets: never kept
            kept.memo(session, day=DAY, scope=service, report=("t",), compute=compute)
            kept.memo(session, day=DAY, scope=service, report=("t",), compute=compute)
            assert len(calls) == 3
        with session_scope(engine) as session:  # a change that moves nobody's team
            users.repo.update(session=session, id=boss["id"], values={"display_name": "北区"})
        with session_scope(engine) as session:
            kept.memo(session, day=DAY, scope=manager, report=("t",), compute=compute)
            assert len(calls) == 3
        with session_scope(engine) as session:  # the sales user joins the manager's team
            users.repo.update(
                session=session, id=report_store.users["sales"]["id"], values={"team": "north"}
            )
        with session_scope(engine) as session:
            kept.memo(session, day=DAY, scope=manager, report=("t",), compute=compute)
            assert len(calls) == 4
            rows = kept.churn_warnings(session, day=DAY, scope=manager)
            assert rows == snapshots.churn_warnings(session, day=DAY, scope=manager)
            assert {r["customer_id"] for r in rows.rows} & report_store.sales_ids
    finally:
        engine.dispose()


def test_managers_whose_teams_own_the_same_customers_share_their_reports(
    report_store: ReportStore,
) -> None:
    """Two teams that own no customer draw the unowned ones alone: their managers share one
    result, with each other and with a manager without a team; when a user with customers
    joins one team, its managers' rows are their own again."""
    engine = report_store.engine()
    try:
        with session_scope(engine) as session:
            made = {
                team: users.create_user(
                    session=session, username=f"pool-{team or 'solo'}", role=Role.MANAGER, team=team
                )
                for team in ("pool-a", "pool-b", None)
            }
        managers = {
            team: CustomerScope(Principal(row["id"], row["username"], Role.MANAGER, team, "login"))
            for team, row in made.items()
        }
        calls, compute = counting([1])
        with session_scope(engine) as session:
            for where in managers.values():
                kept.memo(session, day=DAY, scope=where, report=("t",), compute=compute)
            assert len(calls) == 1
            # the same figures as each scope's own, which are the unowned customers'
            for where in managers.values():
                assert kept.group_summary(
                    session, by="value_tier", day=DAY, rules=RULES, scope=where
                ) == snapshots.group_summary(
                    session, by="value_tier", day=DAY, rules=RULES, scope=where
                )
        with session_scope(engine) as session:  # a user who owns customers joins pool-a
            users.repo.update(
                session=session, id=report_store.users["sales"]["id"], values={"team": "pool-a"}
            )
        with session_scope(engine) as session:
            kept.memo(session, day=DAY, scope=managers["pool-a"], report=("t",), compute=compute)
            assert len(calls) == 2
            kept.memo(session, day=DAY, scope=managers["pool-b"], report=("t",), compute=compute)
            kept.memo(session, day=DAY, scope=managers[None], report=("t",), compute=compute)
            assert len(calls) == 2
            rows = kept.churn_warnings(session, day=DAY, scope=managers["pool-a"])
            assert rows == snapshots.churn_warnings(session, day=DAY, scope=managers["pool-a"])
            unowned = kept.churn_warnings(session, day=DAY, scope=managers["pool-b"])
            assert unowned == snapshots.churn_warnings(session, day=DAY, scope=managers["pool-b"])
            assert rows.total > unowned.total
    finally:
        engine.dispose()


def test_the_kept_history_follows_an_earlier_snapshot_written_again(
    report_store: ReportStore,
) -> None:
    engine = report_store.engine()
    admin = scope(report_store, "admin")
    s = schema.customer_scores
    try:
        with session_scope(engine) as session:
            before = kept.snapshot_history(session, day=DAY, scope=admin)
            assert [h["as_of"] for h in before] == [EARLIER, DAY]
        with engine.begin() as conn:  # the earlier snapshot only, as a rescore of its date
            conn.execute(
                sa.update(s)
                .where(s.c.as_of == EARLIER)
                .values(satisfaction=1.0, computed_at=dt.datetime(2030, 1, 1, tzinfo=dt.UTC))
            )
        with session_scope(engine) as session:
            after = kept.snapshot_history(session, day=DAY, scope=admin)
            assert same_history(after, overview.snapshot_history(session, scope=admin))
    finally:
        engine.dispose()
    assert after[0]["avg_satisfaction"] == pytest.approx(1.0) != before[0]["avg_satisfaction"]
    assert same_history(after[1:], before[1:])


# --- every owner's churn warnings in one pass ---------------------------------------------------

ADMIN = Principal(0, "", Role.ADMIN, None, "login")


def _owners(session: Any) -> list[int]:
    c = schema.customers.c
    found = sa.select(c.owner_id).where(c.owner_id.is_not(None)).group_by(c.owner_id)
    return sorted(session.execute(found).scalars())


def test_every_owners_churn_warnings_in_one_pass(report_store: ReportStore) -> None:
    engine = report_store.engine()
    try:
        with session_scope(engine) as session:
            owners = _owners(session)
            assert len(owners) > 2
            sales = scope(report_store, "sales")
            for min_risk in (0.0, 0.5):
                lists = snapshots.churn_warnings_by_owner(
                    session, day=DAY, limit=3, min_risk=min_risk
                )
                paged = 0
                for owner in owners:
                    alone = snapshots.churn_warnings(
                        session,
                        day=DAY,
                        limit=3,
                        min_risk=min_risk,
                        scope=owned_by(CustomerScope(ADMIN), owner),
                    )
                    assert lists.get(owner, snapshots.CustomerList(as_of=DAY)) == alone, owner
                    paged += alone.next_key is not None
                assert paged > 2  # owners with more than a page: the key of the next
                mine = snapshots.churn_warnings(
                    session, day=DAY, limit=3, min_risk=min_risk, scope=sales
                )
                assert lists[sales.principal.user_id] == mine
                assert mine.total > 3
            # nobody's list of another snapshot date, nor of the unowned
            assert snapshots.churn_warnings_by_owner(session, day=dt.date(1999, 1, 1)) == {}
            assert None not in lists
    finally:
        engine.dispose()


def test_prepared_owners_warnings_are_read_not_computed(
    report_store: ReportStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rapport.reports import prepared
    from tests.helpers import count_calls

    engine = report_store.engine()
    try:
        with session_scope(engine) as session:
            owner = report_store.users["sales"]["id"]
            boss = users.create_user(
                session=session, username="owners-boss", role=Role.MANAGER, team="owners-east"
            )
            users.repo.update(session=session, id=owner, values={"team": "owners-east"})
        manager = Principal(boss["id"], "owners-boss", Role.MANAGER, "owners-east", "login")
        with session_scope(engine) as session:
            owners = _owners(session)
            assert prepared.latest_snapshot(session) == DAY
            assert prepared.prepare_owners(session) >= len(owners) + 2
        counted = count_calls(
            monkeypatch, [(snapshots, "churn_warnings"), (snapshots, "churn_warnings_by_owner")]
        )
        with session_scope(engine) as session:  # all kept: nothing computed again
            assert prepared.prepare_owners(session) >= len(owners) + 2
        found: dict[Any, snapshots.CustomerList] = {}
        with session_scope(engine) as session:
            args = {"day": DAY, "limit": prepared.WORKLIST_TOP_ROWS, "min_risk": prepared.MIN_RISK}
            wanted = [owned_by(CustomerScope(ADMIN), o) for o in owners]
            wanted += [scope(report_store, "sales"), owned_by(CustomerScope(manager), owner)]
            for where in wanted:
                found[where] = kept.churn_warnings(session, **args, scope=where)
            assert counted == {}  # every one read from the store
            for where, rows in found.items():
                assert rows == snapshots.churn_warnings(session, **args, scope=where), where
            assert found[wanted[-1]].total > 0
            # a manager outside the owner's team is shown nobody: not prepared, computed
            other = CustomerScope(Principal(boss["id"], "x", Role.MANAGER, "elsewhere", "login"))
            outside = kept.churn_warnings(session, **args, scope=owned_by(other, owner))
            assert outside.total == 0 and counted["churn_warnings"] == len(found) + 1
    finally:
        engine.dispose()
