"""Does the loyalty programme work? (rapport.reports.loyalty) on handmade stores whose
answers are known, on SQLite and PostgreSQL, through the product function, the command
line and the API.

Two stores: in *effect*, 20 members who joined on 2023-06-15 buy 3–5 times in the year
after, 30 non-members with the same history before (2 purchases of 100, registered on
2022-05-01) buy 0–2 times; in *null*, members and non-members buy alike. Times are UTC and
the business time zone is UTC, so the joining month starts on 2023-06-01 00:00.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from scipy import stats
from typer.testing import CliRunner

from rapport.analytics.periods import Period
from rapport.api.app import create_app
from rapport.config import Rules, Settings, get_settings, load_rules
from rapport.domain import Role
from rapport.reports.loyalty import (
    LoyaltyReport,
    joined_months,
    loyalty_report,
    programme_figures,
    programme_tiers,
    stratified_welch,
)
from rapport.store import schema, users
from rapport.store.db import create_engine, session_scope, upgrade
from rapport.store.loyalty_tier_rules import ranked
from tests.api.conftest import SECRET, bearer
from tests.conftest import own_database

UTC = dt.UTC
AS_OF = dt.datetime(2025, 1, 1)  # naive UTC: the end of 2024-12-31 in UTC
CREATED = dt.datetime(2022, 5, 1, tzinfo=UTC)
JOINED = dt.datetime(2023, 6, 15, tzinfo=UTC)
BASELINE = (dt.datetime(2022, 12, 1, tzinfo=UTC), dt.datetime(2023, 3, 1, tzinfo=UTC))
#: Purchases after joining: from 2023-08-01, every 30 days (inside every window).
AFTER = [dt.datetime(2023, 8, 1, tzinfo=UTC) + dt.timedelta(days=30 * k) for k in range(6)]
RECENT = dt.datetime(2024, 12, 1, tzinfo=UTC)
MEMBERS, NON_MEMBERS = 20, 30

#: Effect store: purchases after joining and their amounts, per member / non-member.
EFFECT_MEMBERS = [3 + i % 3 for i in range(MEMBERS)]
EFFECT_NON_MEMBERS = [i % 3 for i in range(NON_MEMBERS)]
#: Null store: the same distribution in both groups (each pattern twice as often).
NULL_MEMBERS = [i % 4 for i in range(MEMBERS)]
NULL_NON_MEMBERS = [i % 4 for i in range(2 * MEMBERS)]


def amount(i: int) -> float:
    return 80.0 + 10 * (i % 5)


#: The ledger of the effect store: (member index, points, reason, when, voucher used at).
LEDGER: list[tuple[int, int, str, dt.datetime, Any]] = [
    (2, 500, "purchase", dt.datetime(2023, 3, 1, tzinfo=UTC), None),
    (2, -200, "redeem", dt.datetime(2023, 5, 1, tzinfo=UTC), "unused"),
    (1, 1000, "purchase", dt.datetime(2024, 2, 1, tzinfo=UTC), None),
    (1, -300, "redeem", dt.datetime(2024, 3, 1, tzinfo=UTC), dt.datetime(2024, 4, 1, tzinfo=UTC)),
    (1, -100, "clawback", dt.datetime(2024, 5, 1, tzinfo=UTC), None),
    (3, 2500, "purchase", dt.datetime(2024, 5, 15, tzinfo=UTC), None),
    (3, -1000, "redeem", dt.datetime(2024, 8, 10, tzinfo=UTC), None),
    (1, -200, "expire", dt.datetime(2024, 10, 1, tzinfo=UTC), None),
    (1, 50, "birthday", dt.datetime(2024, 11, 1, tzinfo=UTC), None),
    (1, -10, "adjust", dt.datetime(2024, 12, 1, tzinfo=UTC), None),
]


#: Tier changes of the effect store: (member index, from, to, reason, when); every member
#: got the base tier on joining.
TIER_CHANGES = [
    (3, "member", "silver", "upgrade", dt.datetime(2024, 5, 15, tzinfo=UTC)),
    (3, "silver", "member", "downgrade", dt.datetime(2024, 8, 10, tzinfo=UTC)),
]


@dataclass
class World:
    url: str
    settings: Settings
    members: list[int]
    non_members: list[int]


def _build(url: str, root: Path, members: list[int], non_members: list[int], ledger: bool) -> World:
    engine = create_engine(url)
    c, o = schema.customers, schema.orders
    ids: dict[bool, list[int]] = {True: [], False: []}
    serial = 0
    try:
        upgrade(engine)
        with engine.begin() as conn:
            for member, pattern in ((True, members), (False, non_members)):
                for i, after in enumerate(pattern):
                    serial += 1
                    cid = conn.execute(
                        sa.insert(c)
                        .values(
                            external_id=f"C{serial:04d}",
                            name=f"客户{serial}",
                            created_at=CREATED,
                            updated_at=CREATED,
                            loyalty_joined_at=JOINED if member else None,
                        )
                        .returning(c.c.id)
                    ).scalar_one()
                    ids[member].append(cid)
                    times = [*BASELINE, *AFTER[:after]]
                    if i < (10 if member else 6):
                        times.append(RECENT)
                    conn.execute(
                        sa.insert(o),
                        [
                            {
                                "external_id": f"SO{serial:04d}-{k}",
                                "customer_id": cid,
                                "status": "completed",
                                "ordered_at": at,
                                "net_amount": 100.0 if at in BASELINE else amount(i),
                                "currency": "CNY",
                                "created_at": at,
                                "updated_at": at,
                            }
                            for k, at in enumerate(times)
                        ],
                    )
            if ledger:
                _ledger(conn, ids[True])
    finally:
        engine.dispose()
    settings = Settings(
        _env_file=None,
        database_url=url,
        data_dir=root / "data",
        secret_key=SECRET,
        timezone="UTC",
    )
    return World(url, settings, ids[True], ids[False])


def _ledger(conn: sa.Connection, members: list[int]) -> None:
    reward = conn.execute(
        sa.insert(schema.loyalty_rewards)
        .values(
            code="TEA",
            name_zh="茶叶礼盒",
            name_en="Tea box",
            kind="gift",
            points=100,
            created_at=CREATED,
            updated_at=CREATED,
        )
        .returning(schema.loyalty_rewards.c.id)
    ).scalar_one()
    for n, (who, points, reason, at, used) in enumerate(LEDGER):
        entry = conn.execute(
            sa.insert(schema.loyalty_ledger)
            .values(customer_id=members[who], points=points, reason=reason, occurred_at=at)
            .returning(schema.loyalty_ledger.c.id)
        ).scalar_one()
        if used is not None:
            conn.execute(
                sa.insert(schema.loyalty_vouchers).values(
                    code=f"RV-TEST-{n}",
                    reward_id=reward,
                    customer_id=members[who],
                    ledger_id=entry,
                    issued_at=at,
                    used_at=None if used == "unused" else used,
                )
            )
    changes = [(i, None, "member", "initial", JOINED) for i in range(len(members))]
    conn.execute(
        sa.insert(schema.loyalty_tier_changes),
        [
            {
                "customer_id": members[who],
                "from_tier": before,
                "to_tier": after,
                "reason": reason,
                "changed_on": at.date(),
                "changed_at": at,
                "basis_value": 0,
            }
            for who, before, after, reason, at in [*changes, *TIER_CHANGES]
        ],
    )


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def stores(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, World]]:
    root = tmp_path_factory.mktemp(f"loyalty-report-{request.param}")
    with (
        own_database(request.param, root, "effect.db") as effect,
        own_database(request.param, root, "null.db") as null,
    ):
        yield {
            "effect": _build(effect, root, EFFECT_MEMBERS, EFFECT_NON_MEMBERS, ledger=True),
            "null": _build(null, root, NULL_MEMBERS, NULL_NON_MEMBERS, ledger=False),
        }


def report_of(world: World, **kw: Any) -> LoyaltyReport:
    rules = load_rules(world.settings)
    months = kw.pop("window_months", 12)
    figures = programme_figures(world.settings, rules, AS_OF, months)
    engine = create_engine(world.url)
    try:
        with session_scope(engine) as session:
            return loyalty_report(
                session,
                figures,
                settings=world.settings,
                rules=rules,
                as_of=AS_OF,
                window_months=months,
            )
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def effect(stores: dict[str, World]) -> LoyaltyReport:
    return report_of(stores["effect"])


def outcomes(report: LoyaltyReport) -> dict[str, Any]:
    return {o.id: o for o in report.outcomes}


def welch(members: list[float], non_members: list[float]) -> tuple[float, float]:
    """Welch's 95 % interval of the difference of means, by scipy."""
    ci = stats.ttest_ind(members, non_members, equal_var=False).confidence_interval(0.95)
    return float(ci.low), float(ci.high)


# --- the comparison ------------------------------------------------------------------------


def test_members_who_buy_more_show_a_positive_difference_excluding_zero(effect) -> None:
    m = effect.matching
    # one stratum: June 2023, 2 purchases and 200 spent before, 409 days of tenure
    assert (m.members, m.members_matched, m.non_member_observations, m.strata) == (20, 20, 30, 1)
    found = outcomes(effect)
    p = found["purchases_per_customer"]
    assert p.members == pytest.approx(np.mean(EFFECT_MEMBERS))
    assert p.non_members == pytest.approx(np.mean(EFFECT_NON_MEMBERS))
    assert (p.low, p.high) == pytest.approx(welch(EFFECT_MEMBERS, EFFECT_NON_MEMBERS))
    assert p.low > 0
    r = found["retention"]
    assert r.members == pytest.approx(100.0)
    assert r.non_members == pytest.approx(100 * 20 / 30)
    assert r.low > 0
    value = found["value_in_window"]
    revenue_m = [n * amount(i) for i, n in enumerate(EFFECT_MEMBERS)]
    revenue_c = [n * amount(i) for i, n in enumerate(EFFECT_NON_MEMBERS)]
    assert value.difference == pytest.approx(np.mean(revenue_m) - np.mean(revenue_c))
    assert (value.low, value.high) == pytest.approx(welch(revenue_m, revenue_c))
    assert value.low > 0
    aov = found["average_order_value"]
    buyers = [amount(i) for i, n in enumerate(EFFECT_NON_MEMBERS) if n]
    assert aov.non_members == pytest.approx(np.mean(buyers))
    assert aov.members_n == 20 and aov.non_members_n == len(buyers)
    assert p.relative == pytest.approx(p.difference / p.non_members * 100)


def test_members_who_buy_alike_show_an_interval_covering_zero(stores) -> None:
    report = report_of(stores["null"])
    for o in report.outcomes:
        assert o.difference == pytest.approx(0.0, abs=1e-9), o.id
        assert o.low < 0 < o.high, o.id
    p = outcomes(report)["purchases_per_customer"]
    assert (p.low, p.high) == pytest.approx(welch(NULL_MEMBERS, NULL_NON_MEMBERS))


def test_a_window_not_yet_complete_compares_nobody(stores) -> None:
    report = report_of(stores["effect"], window_months=24)  # joined 2023-06: 18 months ago
    assert report.matching.members == 0
    assert all(o.difference is None and o.low is None for o in report.outcomes)


def test_only_months_in_which_members_joined_are_observed(tmp_path: Path) -> None:
    # A join mistyped as 1905 once stretched the months observed over 120 years (every
    # non-member observed in each): the comparison now observes the two months with joins,
    # and the 1905 member, matched by nobody, leaves the figures as they were.
    world = _build(
        f"sqlite:///{tmp_path / 'typo.db'}", tmp_path, EFFECT_MEMBERS, EFFECT_NON_MEMBERS, False
    )
    engine = create_engine(world.url)
    with engine.begin() as conn:
        conn.execute(
            sa.update(schema.customers)
            .where(schema.customers.c.id == world.members[0])
            .values(loyalty_joined_at=dt.datetime(1905, 3, 10, 8, 30, tzinfo=UTC))
        )
    engine.dispose()
    figures = programme_figures(world.settings, load_rules(world.settings), AS_OF, 12)
    assert figures["months"] == [
        (dt.datetime(1905, 3, 1), dt.datetime(1905, 4, 1)),
        (dt.datetime(2023, 6, 1), JOINED.replace(tzinfo=None) + dt.timedelta(microseconds=1)),
    ]
    report = report_of(world)
    assert report.matching.joined_from == dt.datetime(1905, 3, 1)
    assert (report.matching.members, report.matching.members_matched) == (20, 19)
    assert report.matching.strata == 1


def test_joined_months_are_the_local_months_of_the_join_days() -> None:
    tz = ZoneInfo("Asia/Shanghai")  # UTC+8: a UTC day ends in the next local day
    days = [dt.datetime(2024, 1, 31), dt.datetime(2024, 1, 5), dt.datetime(2024, 6, 10)]
    last = dt.datetime(2024, 6, 20)
    assert joined_months(days, last, tz) == [
        # 2024-01-31 UTC runs into 1 February in Shanghai
        Period(dt.datetime(2023, 12, 31, 16), dt.datetime(2024, 1, 31, 16)),
        Period(dt.datetime(2024, 1, 31, 16), dt.datetime(2024, 2, 29, 16)),
        Period(dt.datetime(2024, 5, 31, 16), last),  # the last month ends at ``last``
    ]
    assert joined_months([], last, tz) == []
    assert joined_months([dt.datetime(2024, 6, 25)], last, tz) == []  # after ``last``


# --- the programme's health ----------------------------------------------------------------


def test_points_rates_and_liability_by_hand(effect) -> None:
    since = dt.datetime(2024, 1, 1, tzinfo=UTC)

    def flows(start: dt.datetime | None) -> dict[str, int]:
        out: dict[str, int] = {}
        for _, points, reason, at, _used in LEDGER:
            if start is None or at >= start:
                out[reason] = out.get(reason, 0) + points
        return out

    h = effect.health
    for span, start in ((h.to_date, None), (h.window, since)):
        f = flows(start)
        earned = f.get("purchase", 0) + f.get("birthday", 0) + f.get("clawback", 0)
        assert span.earned == earned
        assert span.redeemed == -f.get("redeem", 0)
        assert span.expired == -f.get("expire", 0)
        assert span.adjusted == f.get("adjust", 0)
        assert span.redemption_rate == pytest.approx(span.redeemed / earned * 100)
        assert span.breakage_rate == pytest.approx(span.expired / earned * 100)
    # to date: earned 500 + 1000 + 2500 + 50 - 100 = 3950, redeemed 1500, expired 200
    assert (h.to_date.earned, h.to_date.redeemed, h.to_date.expired) == (3950, 1500, 200)
    assert h.to_date.redemption_rate == pytest.approx(1500 / 3950 * 100)
    assert h.to_date.breakage_rate == pytest.approx(200 / 3950 * 100)
    assert (h.window.earned, h.window.redeemed) == (3450, 1300)
    assert h.balance == sum(points for _, points, *_ in LEDGER) == 2240
    assert h.point_value == 0.01
    assert h.liability == pytest.approx(22.40)
    assert (h.to_date.vouchers_issued, h.to_date.vouchers_used) == (2, 1)
    assert (h.window.vouchers_issued, h.window.vouchers_used) == (1, 1)
    # members all joined; active in 2024: 10 members and 6 non-members bought on 2024-12-01
    assert (h.members, h.active_customers, h.active_members) == (20, 16, 10)
    assert h.participation == pytest.approx(62.5)


def test_tiers_month_by_month_from_the_tier_history(effect) -> None:
    months = {m.month: m for m in effect.tiers}
    assert [m.month for m in effect.tiers] == [f"2024-{k:02d}" for k in range(1, 13)]
    assert effect.tier_codes == ["member", "silver", "gold", "platinum"]
    for m in effect.tiers:
        assert sum(m.tiers.values()) == MEMBERS
        assert m.joined == 0
    # member 3: silver from 2024-05-15, member again from 2024-08-10 (TIER_CHANGES)
    assert [months[k].tiers["silver"] for k in ("2024-04", "2024-05", "2024-07", "2024-08")] == [
        0,
        1,
        1,
        0,
    ]
    assert [
        (m.month, m.upgrades, m.downgrades) for m in effect.tiers if m.upgrades or m.downgrades
    ] == [
        ("2024-05", 1, 0),
        ("2024-08", 0, 1),
    ]


def test_the_report_ranks_tiers_as_the_store_does() -> None:
    rules: Rules = load_rules(Settings(_env_file=None))
    assert programme_tiers(rules) == [t.code for t in ranked(rules.loyalty)]
    by_spend = rules.loyalty.model_copy(update={"tier_basis": "spend"})
    assert programme_tiers(rules.model_copy(update={"loyalty": by_spend})) == [
        t.code for t in sorted(rules.loyalty.tiers, key=lambda t: t.min_spend)
    ]


# --- the estimator -------------------------------------------------------------------------


def _sums(values: list[float]) -> tuple[float, float, float]:
    return float(len(values)), float(sum(values)), float(sum(v * v for v in values))


def test_stratified_welch_weights_strata_by_members_and_drops_unmatched() -> None:
    a_m, a_c = [5.0, 6.0, 7.0], [1.0, 2.0, 3.0, 2.0]
    b_m, b_c = [10.0, 12.0], [10.0, 11.0, 9.0]
    d = stratified_welch(
        {"a": _sums(a_m), "b": _sums(b_m), "lonely": _sums([100.0])},
        {"a": _sums(a_c), "b": _sums(b_c), "nobody": _sums([0.0])},
    )
    w_a, w_b = 3 / 5, 2 / 5
    assert d.difference == pytest.approx(
        w_a * (np.mean(a_m) - np.mean(a_c)) + w_b * (np.mean(b_m) - np.mean(b_c))
    )
    assert (d.members_n, d.non_members_n) == (5, 7)
    # variance: pooled within-stratum variances of each group
    var_m = (np.var(a_m) * 3 + np.var(b_m) * 2) / (5 - 2)
    var_c = (np.var(a_c) * 4 + np.var(b_c) * 3) / (7 - 2)
    a, b = var_m / 5, var_c * (w_a**2 / 4 + w_b**2 / 3)
    dof = (a + b) ** 2 / (a * a / 3 + b * b / 5)
    half = stats.t.ppf(0.975, dof) * math.sqrt(a + b)
    assert (d.low, d.high) == pytest.approx((d.difference - half, d.difference + half))


def test_stratified_welch_with_nothing_shared_is_null() -> None:
    d = stratified_welch({"a": _sums([1.0, 2.0])}, {"b": _sums([1.0, 2.0])})
    assert d.difference is None and d.low is None and d.members_n == 0


# --- the command line and the API ------------------------------------------------------------


def test_the_command_prints_the_report_of_the_product_function(
    stores, effect, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rapport.cli.main import app

    world = stores["effect"]
    monkeypatch.setenv("RAPPORT_DATABASE_URL", world.url)
    monkeypatch.setenv("RAPPORT_DATA_DIR", str(world.settings.data_dir))
    monkeypatch.setenv("RAPPORT_TIMEZONE", "UTC")
    monkeypatch.setenv("RAPPORT_LOCALE", "en")
    get_settings.cache_clear()
    runner = CliRunner()
    args = ["loyalty", "report", "--as-of", "2024-12-31"]
    try:
        doc = runner.invoke(app, [*args, "--format", "json"])
        table = runner.invoke(app, args, env={"COLUMNS": "120"})
        rows = runner.invoke(app, [*args, "--format", "csv"])
    finally:
        get_settings.cache_clear()
    assert doc.exit_code == 0, doc.output
    body = json.loads(doc.stdout)
    assert body["as_of"] == "2025-01-01T00:00:00+00:00"
    by_id = {o["id"]: o for o in body["outcomes"]}
    for o in effect.outcomes:
        assert by_id[o.id]["difference"] == pytest.approx(o.difference)
        assert by_id[o.id]["low"] == pytest.approx(o.low)
    assert body["health"]["liability"] == pytest.approx(22.40)
    assert table.exit_code == 0, table.output
    for label in ("Retention", "Programme health", "Breakage", "Silver", "Upgrades"):
        assert label in table.stdout
    assert rows.exit_code == 0, rows.output
    lines = rows.stdout.splitlines()
    assert lines[0] == "section,figure,value"
    assert "health,liability,22.4" in lines
    assert "tiers,2024-05.upgrades,1" in lines


def test_the_api_answers_analysts_and_refuses_sales(stores, effect) -> None:
    world = stores["effect"]
    engine = create_engine(world.url)
    try:
        with session_scope(engine) as session:
            people = {
                role: users.create_user(session=session, username=f"lr-{role.value}", role=role)
                for role in (Role.ADMIN, Role.ANALYST, Role.SALES)
            }
    finally:
        engine.dispose()
    with TestClient(create_app(world.settings)) as client:
        for role in (Role.ADMIN, Role.ANALYST):
            answer = client.get(
                "/api/v1/loyalty/report",
                params={"as_of": "2024-12-31"},
                headers=bearer(people[role], world.settings),
            )
            assert answer.status_code == 200, answer.text
            body = answer.json()
            got = {o["id"]: o for o in body["outcomes"]}
            for o in effect.outcomes:
                assert got[o.id]["difference"] == pytest.approx(o.difference)
            assert got["retention"]["label_zh"] == "留存率"
            assert body["health"]["to_date"]["earned"] == 3950
            assert body["matching"]["members_matched"] == 20
        refused = client.get(
            "/api/v1/loyalty/report", headers=bearer(people[Role.SALES], world.settings)
        )
        assert refused.status_code == 403
        bad = client.get(
            "/api/v1/loyalty/report",
            params={"window_months": 0},
            headers=bearer(people[Role.ADMIN], world.settings),
        )
        assert bad.status_code == 422


def test_postgresql_itself_gives_the_same_report(stores, effect) -> None:
    """On a PostgreSQL store the expressions also run on PostgreSQL itself (--engine
    postgres), not only on DuckDB attached to it."""
    world = stores["effect"]
    if not world.url.startswith("postgresql"):
        pytest.skip("the postgres engine needs a PostgreSQL store")
    rules = load_rules(world.settings)
    figures = programme_figures(world.settings, rules, AS_OF, 12, "postgres")
    assert figures["engine"] == "postgres"
    engine = create_engine(world.url)
    try:
        with session_scope(engine) as session:
            report = loyalty_report(
                session,
                figures,
                settings=world.settings,
                rules=rules,
                as_of=AS_OF,
                window_months=12,
            )
    finally:
        engine.dispose()
    for mine, theirs in zip(report.outcomes, effect.outcomes, strict=True):
        assert (mine.difference, mine.low, mine.high) == pytest.approx(
            (theirs.difference, theirs.low, theirs.high)
        )
    assert report.health == effect.health
    assert report.tiers == effect.tiers


def test_a_date_out_of_range_is_refused_naming_the_range() -> None:
    from rapport.errors import ValidationFailed

    settings = Settings(_env_file=None, database_url="sqlite:///never-opened.db")
    with pytest.raises(ValidationFailed) as caught:
        programme_figures(settings, load_rules(settings), dt.datetime(1899, 12, 31), 12)
    assert caught.value.key == "as_of_range"
    assert caught.value.params == {"day": "1899-12-31", "first": 1900, "last": 9000}
