"""The monthly management report (rapport.reports.monthly) on the scored company of the
report tests, on SQLite and PostgreSQL: snapshots on 2024-09-30 (without the models) and
2024-12-31 (with them), a sales user owning every third customer, one deleted diamond."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from rapport.access import CustomerScope, Principal
from rapport.analyses import metric_values
from rapport.analytics.periods import Period
from rapport.config import Rules, Settings, load_rules
from rapport.domain import Role, ValueTier
from rapport.errors import NotFound, ValidationFailed
from rapport.reports import monthly, movers, snapshots
from rapport.reports.overview import snapshot_history
from rapport.store import schema
from rapport.store.db import create_engine, session_scope
from tests.conftest import SCORED_DAY, SCORED_EARLIER
from tests.reports.conftest import ReportStore


@pytest.fixture(scope="module")
def settings(report_store: ReportStore) -> Settings:
    return report_store.settings


@pytest.fixture(scope="module")
def rules(settings: Settings) -> Rules:
    return load_rules(settings)


@pytest.fixture
def session(settings: Settings) -> Iterator[Session]:
    engine = create_engine(settings.database_url)
    with session_scope(engine) as s:
        yield s
    engine.dispose()


@pytest.fixture(scope="module")
def december_metrics(settings: Settings, rules: Rules) -> dict[str, Any]:
    return monthly.month_metrics(settings, rules, "2024-12")


def report(session: Session, rules: Rules, month: str = "2024-12", **kw: Any) -> dict[str, Any]:
    kw.setdefault("metrics", None)
    return monthly.monthly_report(session, month=month, rules=rules, locale="en", **kw)


def test_month_parsed_and_bad_month_refused() -> None:
    assert monthly.parse_month("2026-11") == (dt.date(2026, 11, 1), dt.date(2026, 12, 1))
    assert monthly.parse_month("2026-12") == (dt.date(2026, 12, 1), dt.date(2027, 1, 1))
    for bad in ("2026-13", "2026/11", "11-2026", ""):
        with pytest.raises(ValidationFailed) as caught:
            monthly.parse_month(bad)
        assert caught.value.key == "month_expected"


def test_snapshots_of_a_month_and_the_one_before() -> None:
    dates = [dt.date(2024, 9, 30), dt.date(2024, 12, 15), dt.date(2024, 12, 31)]
    assert monthly.report_snapshots(dates, "2024-12") == (
        dt.date(2024, 12, 31),
        dt.date(2024, 9, 30),
    )
    assert monthly.report_snapshots(dates, "2024-09") == (dt.date(2024, 9, 30), None)


def test_a_month_without_snapshot_names_the_months_with_one(session: Session, rules: Rules) -> None:
    with pytest.raises(NotFound) as caught:
        report(session, rules, "2024-11")
    assert caught.value.key == "month_no_snapshot"
    assert caught.value.params["months"] == "2024-09, 2024-12"
    with pytest.raises(NotFound) as none:
        monthly.report_snapshots([], "2024-11")
    assert none.value.key == "snapshot_none"


def test_snapshot_figures_are_those_of_the_snapshot_reports(session: Session, rules: Rules) -> None:
    found = report(session, rules)
    assert (found["snapshot"], found["previous_snapshot"]) == (SCORED_DAY, SCORED_EARLIER)
    history = {h["as_of"]: h for h in snapshot_history(session, limit=10)}
    for key in ("customers", "avg_relationship_index", "diamonds", "avg_loyalty"):
        figure = found["relationships"][key]
        assert figure["value"] == history[SCORED_DAY][key]
        assert figure["previous"] == history[SCORED_EARLIER][key]
        assert figure["change"] == pytest.approx(
            history[SCORED_DAY][key] - history[SCORED_EARLIER][key]
        )
    # The earlier snapshot was scored without the models: no value at risk, not 0.
    assert history[SCORED_EARLIER]["valued"] == 0
    assert found["relationships"]["value_at_risk"]["previous"] is None
    assert found["relationships"]["value_at_risk"]["value"] == history[SCORED_DAY]["value_at_risk"]
    tiers = snapshots.group_summary(session, by="value_tier", day=SCORED_DAY, rules=rules)
    before = snapshots.group_summary(session, by="value_tier", day=SCORED_EARLIER, rules=rules)
    rows = {g["group"]: g for g in found["groups"]["value_tier"]}
    for g in tiers:
        assert rows[g["group"]]["customers"] == g["customers"]
        assert rows[g["group"]]["revenue_share"] == g["revenue_share"]
    for g in before:
        assert rows[g["group"]]["previous_customers"] == g["customers"]
    counts = movers.tier_mover_counts(
        session, tier=ValueTier.DIAMOND, before=SCORED_EARLIER, after=SCORED_DAY
    )
    assert (found["diamonds"]["gained"], found["diamonds"]["lost"]) == (counts["in"], counts["out"])
    assert len(found["diamonds"]["movers"]) == min(counts["in"] + counts["out"], monthly.LISTED)
    pairs = snapshots.movements(
        session, by="lifecycle_stage", before=SCORED_EARLIER, after=SCORED_DAY
    )
    assert [
        (m["from"], m["to"], m["customers"]) for m in found["movements"]["lifecycle_stage"]
    ] == [(m["from"], m["to"], m["customers"]) for m in pairs[: monthly.MOVEMENTS]]


def test_a_month_with_nothing_before_compares_with_nothing(session: Session, rules: Rules) -> None:
    found = report(session, rules, "2024-09")
    assert found["previous_snapshot"] is None
    assert found["relationships"]["customers"]["previous"] is None
    assert found["relationships"]["customers"]["change"] is None
    assert found["diamonds"]["gained"] is None and found["diamonds"]["movers"] == []
    assert all(g["customers_change"] is None for g in found["groups"]["value_tier"])
    # Nothing to compare: what changed lists no snapshot or group figure.
    assert found["changes"] == [] and found["for_whom"] == []


def test_metrics_are_the_calendar_months(
    settings: Settings, rules: Rules, december_metrics: dict[str, Any]
) -> None:
    zone = settings.tz
    start = dt.datetime(2024, 12, 1, tzinfo=zone).astimezone(dt.UTC).replace(tzinfo=None)
    end = dt.datetime(2025, 1, 1, tzinfo=zone).astimezone(dt.UTC).replace(tzinfo=None)
    earlier = dt.datetime(2024, 11, 1, tzinfo=zone).astimezone(dt.UTC).replace(tzinfo=None)
    _, now = metric_values(
        settings, rules, ["retention_rate", "nps"], Period(start, end), as_of=end
    )
    _, before = metric_values(
        settings, rules, ["retention_rate", "nps"], Period(earlier, start), as_of=start
    )
    now_v = {r["metric"]: r["value"] for r in now.to_pylist()}
    before_v = {r["metric"]: r["value"] for r in before.to_pylist()}
    values = december_metrics["values"]
    for metric in ("retention_rate", "nps"):
        assert values[metric]["value"] == pytest.approx(now_v[metric])
        assert values[metric]["previous"] == pytest.approx(before_v[metric])
        assert values[metric]["change"] == pytest.approx(now_v[metric] - before_v[metric])
    assert december_metrics["current"] == {"start": start, "end": end}
    assert set(values) == set(monthly.METRIC_IDS)


def test_what_changed_is_ranked_by_relative_change(
    session: Session, rules: Rules, december_metrics: dict[str, Any]
) -> None:
    found = report(session, rules, metrics=december_metrics)
    changes = found["changes"]
    assert 0 < len(changes) <= monthly.CHANGES
    relative = [abs(c["relative"]) for c in changes]
    assert relative == sorted(relative, reverse=True)
    for c in changes:
        assert c["change"] == pytest.approx(c["after"] - c["before"])
        assert c["relative"] == pytest.approx((c["after"] - c["before"]) / abs(c["before"]))
    # Nothing left out moved more than the last item listed.
    nps = found["metrics"]["values"]["nps"]
    if nps["previous"]:
        moved = abs(nps["change"] / nps["previous"])
        assert moved <= relative[-1] or any(c["key"] == "nps" for c in changes)
    small = [
        g
        for g in found["groups"]["rfm_segment"]
        if max(g["customers"], g["previous_customers"] or 0) < monthly.MIN_GROUP
    ]
    assert not {g["group"] for g in small} & {
        c["key"] for c in changes if c["kind"] == "rfm_segment"
    }
    whom = [abs(g["customers_change"]) for g in found["for_whom"]]
    assert whom == sorted(whom, reverse=True)


def test_scope_narrows_the_snapshot_figures(session: Session, rules: Rules) -> None:
    owner, _owned = session.execute(
        sa.select(schema.customers.c.owner_id, sa.func.count())
        .where(schema.customers.c.owner_id.is_not(None))
        .group_by(schema.customers.c.owner_id)
        .order_by(sa.func.count().desc())
        .limit(1)
    ).one()
    sales = Principal(user_id=owner, username="s", role=Role.SALES, team=None, via="login")
    scope = CustomerScope(sales)
    everyone = report(session, rules)
    mine = report(session, rules, scope=scope)
    scored = session.execute(
        sa.select(sa.func.count())
        .select_from(
            schema.customer_scores.join(
                schema.customers, schema.customers.c.id == schema.customer_scores.c.customer_id
            )
        )
        .where(
            schema.customer_scores.c.as_of == SCORED_DAY,
            schema.customers.c.owner_id == owner,
            schema.customers.c.deleted_at.is_(None),
        )
    ).scalar_one()
    assert mine["relationships"]["customers"]["value"] == scored
    assert scored < everyone["relationships"]["customers"]["value"]
    assert sum(g["customers"] for g in mine["groups"]["value_tier"]) == scored
    assert mine["scoped"] and not everyone["scoped"]
    analyst = Principal(user_id=owner, username="a", role=Role.ANALYST, team=None, via="login")
    masked = report(session, rules, scope=CustomerScope(analyst))
    assert masked["masked"]
    names = {m["name"] for m in everyone["diamonds"]["movers"]}
    assert not names & {m["name"] for m in masked["diamonds"]["movers"]}
