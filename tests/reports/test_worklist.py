"""The reports of the worklist and diamonds pages — birthdays of a week, customers not
contacted for N days, a scope narrowed to one owner, who entered and left a tier, the
diamonds at risk first — on the scored report store, on SQLite and PostgreSQL: each
against the same answer computed in Python from the store's rows, with the deleted
customer (in none) and the sales user (their own customers only)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from rapport.access import CustomerScope, Principal
from rapport.config import load_rules
from rapport.domain import Role, ValueTier
from rapport.errors import Forbidden, ValidationFailed
from rapport.reports import snapshots
from rapport.reports import worklist as reports
from rapport.reports.movers import previous_snapshot, tier_mover_counts, tier_movers
from rapport.store import schema
from rapport.store.db import session_scope

from .conftest import DAY, EARLIER, ReportStore

_c = schema.customers.c
_s = schema.customer_scores.c
_i = schema.interactions.c
TZ = ZoneInfo("Asia/Shanghai")
#: A day after every interaction of the sample company (its history ends 2024-12-31).
TODAY = dt.date(2025, 3, 10)
#: Customers given a birthday by the tests: 29 February, 28 February, 1 March, 31 December.
LEAPLING, FEB28, MAR1, NEW_YEARS_EVE = "leapling", "feb28", "mar1", "dec31"


@pytest.fixture(scope="module")
def store(report_store: ReportStore) -> ReportStore:
    """The report store with what these tests need: four customers with chosen birthdays,
    an erased customer with a birthday this week and no contact, and two customers whose
    last interaction lies one second either side of a contact cutoff."""
    engine = report_store.engine()
    try:
        with engine.begin() as conn:
            free = list(
                conn.execute(
                    sa.select(_c.id)
                    .where(_c.deleted_at.is_(None), _c.id.not_in(report_store.sales_ids))
                    .order_by(_c.id)
                    .limit(8)
                ).scalars()
            )
            chosen = {
                LEAPLING: dt.date(2000, 2, 29),
                FEB28: dt.date(1999, 2, 28),
                MAR1: dt.date(1996, 3, 1),
                NEW_YEARS_EVE: dt.date(1980, 12, 31),
            }
            for cid, born in zip(free, chosen.values(), strict=False):
                conn.execute(sa.update(schema.customers).where(_c.id == cid).values(birthday=born))
            erased = free[4]
            conn.execute(
                sa.update(schema.customers)
                .where(_c.id == erased)
                .values(
                    birthday=dt.date(1990, 3, 10),
                    erased_at=dt.datetime(2025, 1, 2, tzinfo=dt.UTC),
                )
            )
            conn.execute(sa.delete(schema.interactions).where(_i.customer_id == erased))
            # 5 days before TODAY is 5 March: a contact from 6 March on, local, is within
            # them; local midnight of 6 March is 5 March 16:00 UTC
            edge = dt.datetime(2025, 3, 5, 16, 0, tzinfo=dt.UTC)
            for cid, at in ((free[5], edge - dt.timedelta(seconds=1)), (free[6], edge)):
                conn.execute(
                    sa.insert(schema.interactions).values(
                        customer_id=cid, channel="phone", direction="outbound", occurred_at=at
                    )
                )
        report_store.extra = {  # type: ignore[attr-defined]
            "chosen": dict(zip(chosen, free, strict=False)),
            "erased": erased,
            "before_edge": free[5],
            "at_edge": free[6],
        }
    finally:
        engine.dispose()
    return report_store


@pytest.fixture(scope="module")
def engine(store: ReportStore) -> Iterator[sa.Engine]:
    eng = store.engine()
    yield eng
    eng.dispose()


def extra(store: ReportStore) -> dict[str, Any]:
    found: dict[str, Any] = store.extra  # type: ignore[attr-defined]
    return found


def scope_of(store: ReportStore, who: str) -> CustomerScope:
    return CustomerScope(store.principal(who))


def walk(read: Callable[[str | None], reports.WorkPage]) -> list[dict[str, Any]]:
    """Every row of a paged report, page by page."""
    rows: list[dict[str, Any]] = []
    after = None
    for _ in range(1000):
        page = read(after)
        rows += page.rows
        if page.next_cursor is None:
            return rows
        after = page.next_cursor
    raise AssertionError("the pages never end")


def customers(store: ReportStore) -> list[dict[str, Any]]:
    engine = store.engine()
    try:
        with engine.connect() as conn:
            return [
                dict(r)
                for r in conn.execute(
                    sa.select(
                        _c.id, _c.birthday, _c.owner_id, _c.deleted_at, _c.erased_at
                    ).order_by(_c.id)
                ).mappings()
            ]
    finally:
        engine.dispose()


def current(store: ReportStore, who: str) -> list[dict[str, Any]]:
    """The customers a worklist report may show ``who``: not deleted, not erased, theirs."""
    rows = [r for r in customers(store) if r["deleted_at"] is None and r["erased_at"] is None]
    if who == "sales":
        rows = [r for r in rows if r["id"] in store.sales_ids]
    return rows


# --- days --------------------------------------------------------------------------------------


def test_the_week_runs_from_monday_and_today_is_local() -> None:
    assert reports.week_of(dt.date(2026, 1, 1)) == dt.date(2025, 12, 29)
    assert reports.week_of(dt.date(2025, 12, 29)) == dt.date(2025, 12, 29)
    assert reports.week_of(dt.date(2026, 1, 4)) == dt.date(2025, 12, 29)
    late = dt.datetime(2026, 12, 31, 17, 30, tzinfo=dt.UTC)  # 01:30 on 1 January in Shanghai
    assert reports.local_today(TZ, late) == dt.date(2027, 1, 1)
    assert reports.local_today(ZoneInfo("America/New_York"), late) == dt.date(2026, 12, 31)
    with pytest.raises(ValueError, match="aware"):
        reports.local_today(TZ, dt.datetime(2026, 1, 1))


def test_29_february_falls_on_28_february_in_other_years() -> None:
    leap = dt.date(2000, 2, 29)
    assert reports.birthday_in(leap, 2025) == dt.date(2025, 2, 28)
    assert reports.birthday_in(leap, 2028) == dt.date(2028, 2, 29)
    assert reports.birthday_in(leap, 2100) == dt.date(2100, 2, 28)  # not a leap year
    assert reports.birthday_in(dt.date(1999, 3, 1), 2025) == dt.date(2025, 3, 1)


# --- birthdays ---------------------------------------------------------------------------------


def expected_birthdays(store: ReportStore, who: str, start: dt.date, days: int) -> list[int]:
    window = [start + dt.timedelta(days=n) for n in range(days)]
    found = []
    for r in current(store, who):
        if r["birthday"] is None:
            continue
        days_on = [d for d in window if reports.birthday_in(r["birthday"], d.year) == d]
        if days_on:
            found.append((window.index(days_on[0]), r["id"]))
    return [cid for _, cid in sorted(found)]


@pytest.mark.parametrize(
    ("start", "days"),
    [
        (dt.date(2025, 12, 29), 7),  # Monday 29 December to Sunday 4 January
        (dt.date(2025, 2, 24), 7),  # 24 February to 2 March, 2025 has no 29 February
        (dt.date(2028, 2, 28), 2),  # 28 and 29 February of a leap year
        (dt.date(2025, 3, 10), 31),
    ],
)
@pytest.mark.parametrize("who", ["admin", "sales"])
def test_birthdays_of_a_window_page_by_page(
    store: ReportStore, engine: sa.Engine, start: dt.date, days: int, who: str
) -> None:
    scope = scope_of(store, who)
    with session_scope(engine) as session:
        rows = walk(
            lambda after: reports.birthdays(
                session, start=start, days=days, as_of=DAY, scope=scope, limit=7, after=after
            )
        )
    assert [r["customer_id"] for r in rows] == expected_birthdays(store, who, start, days)
    assert rows or (who == "sales" and days < 7), "the window holds birthdays"
    for r in rows:
        assert reports.birthday_in(r["birthday"], r["on"].year) == r["on"]
        assert start <= r["on"] < start + dt.timedelta(days=days)
        assert r["turns"] == r["on"].year - r["birthday"].year
    if who == "sales":
        assert {r["customer_id"] for r in rows} <= store.sales_ids
        assert all(r["owner_id"] == store.users["sales"]["id"] for r in rows)


def test_the_birthday_of_29_february_and_the_year_end(
    store: ReportStore, engine: sa.Engine
) -> None:
    chosen = extra(store)["chosen"]

    def on(start: dt.date, days: int) -> dict[int, dt.date]:
        with session_scope(engine) as session:
            page = reports.birthdays(session, start=start, days=days, limit=500)
        return {r["customer_id"]: r["on"] for r in page.rows}

    feb28 = on(dt.date(2025, 2, 28), 1)
    assert feb28[chosen[LEAPLING]] == feb28[chosen[FEB28]] == dt.date(2025, 2, 28)
    assert chosen[LEAPLING] not in on(dt.date(2025, 3, 1), 1)
    assert chosen[MAR1] in on(dt.date(2025, 3, 1), 1)
    leap = on(dt.date(2028, 2, 28), 2)
    assert leap[chosen[LEAPLING]] == dt.date(2028, 2, 29)
    assert leap[chosen[FEB28]] == dt.date(2028, 2, 28)
    year_end = on(reports.week_of(dt.date(2026, 1, 1)), 7)
    assert year_end[chosen[NEW_YEARS_EVE]] == dt.date(2025, 12, 31)
    ordered = list(year_end.values())
    assert ordered == sorted(ordered)  # 29 December first, 4 January last


def test_birthdays_leave_out_the_deleted_and_the_erased(
    store: ReportStore, engine: sa.Engine
) -> None:
    with session_scope(engine) as session:
        rows = walk(
            lambda after: reports.birthdays(
                session, start=dt.date(2025, 1, 1), days=366, limit=500, after=after
            )
        )
    ids = {r["customer_id"] for r in rows}
    assert store.deleted_id not in ids and extra(store)["erased"] not in ids
    with_birthday = [r for r in current(store, "admin") if r["birthday"] is not None]
    assert len(ids) == len(rows) == len(with_birthday)  # a whole year holds everyone once


def test_birthdays_refuse_a_masked_scope_and_bad_input(
    store: ReportStore, engine: sa.Engine
) -> None:
    with session_scope(engine) as session:
        with pytest.raises(Forbidden):
            reports.birthdays(session, start=TODAY, scope=scope_of(store, "analyst"))
        with pytest.raises(ValidationFailed, match="days"):
            reports.birthdays(session, start=TODAY, days=0)
        with pytest.raises(ValidationFailed, match="limit"):
            reports.birthdays(session, start=TODAY, limit=0)
        with pytest.raises(ValidationFailed, match="cursor"):
            reports.birthdays(session, start=TODAY, after="bm90IGEgY3Vyc29y")
        other = reports.not_contacted(session, today=TODAY, days=1, tz=TZ, limit=1).next_cursor
        assert other is not None
        with pytest.raises(ValidationFailed, match="birthdays"):
            reports.birthdays(session, start=TODAY, after=other)


# --- not contacted -----------------------------------------------------------------------------


def last_contacts(store: ReportStore) -> dict[int, dt.datetime]:
    engine = store.engine()
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.select(_i.customer_id, sa.func.max(_i.occurred_at)).group_by(_i.customer_id)
            ).all()
    finally:
        engine.dispose()
    return {cid: at for cid, at in rows}


def clv_of(store: ReportStore) -> dict[int, Any]:
    return {
        r["customer_id"]: r["predicted_clv"]
        for r in store_rows(
            store, sa.select(_s.customer_id, _s.predicted_clv).where(_s.as_of == DAY)
        )
    }


def store_rows(store: ReportStore, stmt: Any) -> list[dict[str, Any]]:
    engine = store.engine()
    try:
        with engine.connect() as conn:
            return [dict(r) for r in conn.execute(stmt).mappings()]
    finally:
        engine.dispose()


@pytest.mark.parametrize(("today", "days"), [(TODAY, 5), (dt.date(2024, 12, 31), 30)])
@pytest.mark.parametrize("who", ["admin", "sales"])
def test_customers_not_contacted_for_n_days(
    store: ReportStore, engine: sa.Engine, today: dt.date, days: int, who: str
) -> None:
    last = last_contacts(store)
    clv = clv_of(store)
    expected = []
    for r in current(store, who):
        at = last.get(r["id"])
        local_day = None if at is None else at.astimezone(TZ).date()
        if local_day is None or (today - local_day).days >= days:
            expected.append(r["id"])
    expected.sort(key=lambda cid: (clv.get(cid) is None, -(clv.get(cid) or 0), cid))
    scope = scope_of(store, who)
    with session_scope(engine) as session:
        rows = walk(
            lambda after: reports.not_contacted(
                session,
                today=today,
                days=days,
                tz=TZ,
                as_of=DAY,
                scope=scope,
                limit=50,
                after=after,
            )
        )
    assert [r["customer_id"] for r in rows] == expected
    if today != TODAY:  # on TODAY, after the history, nearly everyone qualifies
        assert 0 < len(rows) < len(current(store, who))
    for r in rows:
        if r["last_contact_at"] is None:
            assert r["days_since"] is None and r["customer_id"] not in last
        else:
            assert r["days_since"] >= days
            assert r["last_contact_at"] == last[r["customer_id"]]
            assert r["last_contact_on"] == r["last_contact_at"].astimezone(TZ).date()


def test_a_contact_counts_from_the_local_midnight_n_days_ago(
    store: ReportStore, engine: sa.Engine
) -> None:
    before, at = extra(store)["before_edge"], extra(store)["at_edge"]
    with session_scope(engine) as session:
        rows = walk(
            lambda after: reports.not_contacted(
                session, today=TODAY, days=5, tz=TZ, limit=500, after=after
            )
        )
    found = {r["customer_id"]: r for r in rows}
    # 23:59:59 on 5 March, local: five days before 10 March — not contacted for 5 days
    assert found[before]["days_since"] == 5
    assert found[before]["last_contact_on"] == dt.date(2025, 3, 5)
    # midnight of 6 March, local: four days before, contacted within the five days
    assert at not in found
    assert store.deleted_id not in found and extra(store)["erased"] not in found


def test_not_contacted_refuses_bad_input(store: ReportStore, engine: sa.Engine) -> None:
    with session_scope(engine) as session:
        for days in (0, -1, reports.MAX_DAYS + 1):
            with pytest.raises(ValidationFailed, match="days"):
                reports.not_contacted(session, today=TODAY, days=days, tz=TZ)
        with pytest.raises(ValidationFailed, match="limit"):
            reports.not_contacted(session, today=TODAY, days=5, tz=TZ, limit=reports.MAX_LIMIT + 1)
        birthday_cursor = reports.birthdays(
            session, start=dt.date(2025, 1, 1), days=366, limit=1
        ).next_cursor
        assert birthday_cursor is not None
        with pytest.raises(ValidationFailed, match="not_contacted"):
            reports.not_contacted(session, today=TODAY, days=5, tz=TZ, after=birthday_cursor)


# --- one owner ---------------------------------------------------------------------------------


def test_a_scope_narrowed_to_one_owner_keeps_the_callers_rule(
    store: ReportStore, engine: sa.Engine
) -> None:
    sales_id = store.users["sales"]["id"]
    admin = scope_of(store, "admin")
    manager = CustomerScope(
        Principal(
            user_id=store.users["admin"]["id"],
            username="m",
            role=Role.MANAGER,
            team=None,
            via="login",
        )
    )
    with session_scope(engine) as session:

        def ids(scope: CustomerScope) -> set[int]:
            rows = walk(
                lambda after: reports.not_contacted(
                    session, today=TODAY, days=1, tz=TZ, scope=scope, limit=500, after=after
                )
            )
            return {r["customer_id"] for r in rows}

        assert reports.owned_by(admin, None) is admin
        assert ids(reports.owned_by(admin, sales_id)) == {r["id"] for r in current(store, "sales")}
        # a manager without a team sees their own and unowned customers: not the sales user's
        assert ids(reports.owned_by(manager, sales_id)) == set()
        warnings = snapshots.churn_warnings(
            session, day=DAY, limit=500, scope=reports.owned_by(admin, sales_id)
        )
        assert warnings.rows
        assert {r["customer_id"] for r in warnings.rows} <= store.sales_ids


# --- diamonds: at risk first, movers -----------------------------------------------------------


def test_diamonds_at_risk_first_are_the_same_diamonds(
    store: ReportStore, engine: sa.Engine
) -> None:
    rules = load_rules(store.settings)
    with session_scope(engine) as session:
        by_revenue = snapshots.diamonds(session, day=DAY, rules=rules, locale="en", limit=10_000)
        by_risk = snapshots.diamonds(
            session, day=DAY, rules=rules, locale="en", limit=10_000, order="churn_risk"
        )
        top = snapshots.diamonds(
            session, day=DAY, rules=rules, locale="en", limit=3, order="churn_risk"
        )
        with pytest.raises(ValidationFailed, match="order"):
            snapshots.diamonds(session, day=DAY, rules=rules, locale="en", order="name")
    assert by_risk.total == by_revenue.total == len(by_risk.rows) > 3
    assert sorted(r["customer_id"] for r in by_risk.rows) == sorted(
        r["customer_id"] for r in by_revenue.rows
    )
    risks = [r["churn_risk"] for r in by_risk.rows]
    known = [r for r in risks if r is not None]
    assert known == sorted(known, reverse=True)
    assert risks[: len(known)] == known  # those without a churn risk last
    assert [r["customer_id"] for r in top.rows] == [r["customer_id"] for r in by_risk.rows[:3]]


def tiers_of(store: ReportStore, day: dt.date) -> dict[int, str | None]:
    rows = store_rows(store, sa.select(_s.customer_id, _s.value_tier).where(_s.as_of == day))
    return {r["customer_id"]: getattr(r["value_tier"], "value", r["value_tier"]) for r in rows}


@pytest.mark.parametrize("who", ["admin", "sales", "analyst"])
def test_who_entered_and_left_the_diamond_tier(
    store: ReportStore, engine: sa.Engine, who: str
) -> None:
    rules = load_rules(store.settings)
    before, after = tiers_of(store, EARLIER), tiers_of(store, DAY)
    visible = {r["id"] for r in customers(store) if r["deleted_at"] is None}
    if who == "sales":
        visible &= store.sales_ids
    diamond = ValueTier.DIAMOND.value
    left = {c for c in visible if before.get(c) == diamond and after.get(c) != diamond}
    entered = {c for c in visible if after.get(c) == diamond and before.get(c) != diamond}
    assert left and entered
    scope = scope_of(store, who)
    with session_scope(engine) as session:
        assert previous_snapshot(session, DAY) == EARLIER
        assert previous_snapshot(session, EARLIER) is None
        rows = tier_movers(
            session,
            tier=ValueTier.DIAMOND,
            before=EARLIER,
            after=DAY,
            rules=rules,
            locale="zh_CN",
            scope=scope,
            limit=10_000,
        )
        counts = tier_mover_counts(
            session, tier=ValueTier.DIAMOND, before=EARLIER, after=DAY, scope=scope
        )
        pairs = snapshots.movements(
            session, by="value_tier", before=EARLIER, after=DAY, scope=scope
        )
        few = tier_movers(
            session,
            tier=ValueTier.DIAMOND,
            before=EARLIER,
            after=DAY,
            rules=rules,
            locale="zh_CN",
            scope=scope,
            limit=2,
        )
        with pytest.raises(ValidationFailed, match="earlier"):
            tier_mover_counts(session, tier=ValueTier.DIAMOND, before=DAY, after=EARLIER)
    assert {r["customer_id"] for r in rows if r["direction"] == "out"} == left
    assert {r["customer_id"] for r in rows if r["direction"] == "in"} == entered
    directions = [r["direction"] for r in rows]
    assert directions == sorted(directions, reverse=True)  # those who left first
    assert counts == {"in": len(entered), "out": len(left)}
    assert counts["in"] == sum(p["customers"] for p in pairs if p["to"] == diamond)
    assert counts["out"] == sum(p["customers"] for p in pairs if p["from"] == diamond)
    assert [r["customer_id"] for r in few] == [r["customer_id"] for r in rows[:2]]
    for r in rows:
        assert r["from"] == before.get(r["customer_id"]) and r["to"] == after.get(r["customer_id"])
        if r["direction"] == "in":
            assert r["reasons"] and r["reasons_tier"] == diamond  # the checks it meets
        elif r["to"] == ValueTier.GOLD.value:
            assert r["reasons"] and r["reasons_tier"] == diamond  # the diamond checks it fails
    if who == "analyst":
        assert all(r["name"] is None or r["name"].endswith("*") for r in rows)
        assert all(r["external_id"] is None or "*" in r["external_id"] for r in rows)


def test_movers_leave_out_the_deleted_diamond(store: ReportStore, engine: sa.Engine) -> None:
    rules = load_rules(store.settings)
    with Session(engine) as session:
        rows = tier_movers(
            session,
            tier=ValueTier.DIAMOND,
            before=EARLIER,
            after=DAY,
            rules=rules,
            locale="en",
            limit=10_000,
        )
    assert store.deleted_id not in {r["customer_id"] for r in rows}


@pytest.mark.parametrize("who", ["admin", "sales"])
def test_not_contacted_pages_through_equal_values_into_those_without_one(
    store: ReportStore, engine: sa.Engine, who: str
) -> None:
    # read by the snapshot's CLV order, then by id among those with no CLV (a null one or
    # no row in the snapshot), across page ends, with ties on CLV; without a snapshot, by id
    scope = scope_of(store, who)
    mine = [r["id"] for r in current(store, who)]
    tied, nulled, unscored = mine[1:6], mine[6:9], mine[9:12]
    with engine.connect() as conn:  # rolled back when closed
        session = Session(bind=conn)
        at_day = _s.as_of == DAY
        session.execute(
            sa.update(schema.customer_scores)
            .where(at_day, _s.customer_id.in_(tied))
            .values(predicted_clv=1234)
        )
        session.execute(
            sa.update(schema.customer_scores)
            .where(at_day, _s.customer_id.in_(nulled))
            .values(predicted_clv=None)
        )
        session.execute(
            sa.delete(schema.customer_scores).where(at_day, _s.customer_id.in_(unscored))
        )
        clv = dict(session.execute(sa.select(_s.customer_id, _s.predicted_clv).where(at_day)).all())
        recent = set(
            session.execute(
                sa.select(_i.customer_id).where(
                    _i.occurred_at >= dt.datetime(2024, 12, 2, tzinfo=dt.UTC)
                )
            ).scalars()
        )
        quiet = [cid for cid in mine if cid not in recent]
        for as_of, value in ((DAY, clv), (None, {})):
            expected = sorted(
                quiet, key=lambda cid: (value.get(cid) is None, -(value.get(cid) or 0), cid)
            )
            rows = walk(
                lambda after, as_of=as_of: reports.not_contacted(
                    session,
                    today=dt.date(2024, 12, 31),
                    days=30,
                    tz=ZoneInfo("UTC"),
                    as_of=as_of,
                    scope=scope,
                    limit=3,
                    after=after,
                )
            )
            assert [r["customer_id"] for r in rows] == expected
        assert {*tied, *nulled, *unscored} & set(quiet), "the changed customers are listed"
        session.close()
