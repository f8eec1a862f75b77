"""The overview's figures (:mod:`rapport.reports.overview`) on SQLite and PostgreSQL, against
the snapshot rows recomputed in Python: the snapshot dates, the degrees, diamonds and value
at risk per snapshot — with the deleted customer out of every figure
and a sales user's scope; and the metric periods and values."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from rapport.access import CustomerScope
from rapport.analytics.periods import Period, day_end
from rapport.errors import ValidationFailed
from rapport.reports import overview
from rapport.reports.snapshots import AVERAGED
from rapport.store import schema
from rapport.store.db import session_scope

from .conftest import DAY, EARLIER, ReportStore

_s = schema.customer_scores.c
_c = schema.customers.c
SHANGHAI = ZoneInfo("Asia/Shanghai")


def snapshot_rows(store: ReportStore, day: dt.date) -> list[dict[str, Any]]:
    """Every snapshot row of ``day`` with whether its customer is deleted and who owns them."""
    engine = store.engine()
    try:
        with engine.connect() as conn:
            stmt = (
                sa.select(schema.customer_scores, _c.deleted_at, _c.owner_id, _c.name)
                .join(schema.customers, _c.id == _s.customer_id)
                .where(_s.as_of == day)
            )
            return [dict(r) for r in conn.execute(stmt).mappings()]
    finally:
        engine.dispose()


def live(rows: list[dict[str, Any]], ids: set[int] | None = None) -> list[dict[str, Any]]:
    return [r for r in rows if r["deleted_at"] is None and (ids is None or r["customer_id"] in ids)]


def mean(values: list[Any]) -> float | None:
    known = [float(v) for v in values if v is not None]
    return sum(known) / len(known) if known else None


def tier(row: dict[str, Any] | None) -> str | None:
    value = None if row is None else row["value_tier"]
    return getattr(value, "value", value)


def test_the_two_latest_snapshot_days(report_store: ReportStore) -> None:
    engine = report_store.engine()
    with session_scope(engine) as session:
        assert overview.snapshot_days(session) == (DAY, EARLIER)
    engine.dispose()


def test_the_history_of_the_snapshots_over_the_live_customers(
    report_store: ReportStore,
) -> None:
    """Per snapshot: the mean degrees, the diamonds and the value at risk (churn risk ×
    predicted CLV) of the customers in scope, the deleted one in none."""
    engine = report_store.engine()
    with session_scope(engine) as session:
        every = overview.snapshot_history(session)
        sales = overview.snapshot_history(
            session, scope=CustomerScope(report_store.principal("sales"))
        )
        latest_only = overview.snapshot_history(session, limit=1)
        strict = overview.snapshot_history(session, limit=1, min_risk=0.9)
        with pytest.raises(ValidationFailed):
            overview.snapshot_history(session, limit=0)
        with pytest.raises(ValidationFailed):
            overview.snapshot_history(session, min_risk=1.5)
    engine.dispose()
    assert [h["as_of"] for h in every] == [EARLIER, DAY]
    assert len(latest_only) == 1 and latest_only[0]["as_of"] == DAY
    numbers = {k: v for k, v in every[-1].items() if k != "as_of"}
    assert {k: v for k, v in latest_only[0].items() if k != "as_of"} == pytest.approx(
        numbers,
        rel=1e-12,  # the sums' order may differ
    )
    for history, ids in ((every, None), (sales, report_store.sales_ids)):
        for entry in history:
            rows = live(snapshot_rows(report_store, entry["as_of"]), ids)
            assert entry["customers"] == len(rows) > 0
            for name in AVERAGED:
                expected = mean([r[name] for r in rows])
                assert entry[f"avg_{name}"] == pytest.approx(expected, rel=1e-9), name
            assert entry["diamonds"] == sum(1 for r in rows if tier(r) == "diamond")
            valued = [
                r for r in rows if r["churn_risk"] is not None and r["predicted_clv"] is not None
            ]
            risk = sum(float(r["churn_risk"]) * float(r["predicted_clv"]) for r in valued)
            clv = sum(float(r["predicted_clv"]) for r in valued)
            high = [r for r in valued if r["churn_risk"] >= 0.5]
            assert entry["valued"] == len(valued)
            assert entry["value_at_risk"] == pytest.approx(risk, rel=1e-9)
            assert entry["predicted_clv"] == pytest.approx(clv, rel=1e-9)
            assert entry["at_risk"] == len(high)
            assert entry["at_risk_value"] == pytest.approx(
                sum(float(r["churn_risk"]) * float(r["predicted_clv"]) for r in high), rel=1e-9
            )
            if valued:
                assert entry["share"] == pytest.approx(risk / clv, rel=1e-9)
    latest = every[-1]
    assert latest["valued"] > 0 and latest["at_risk"] > 0 and latest["diamonds"] > 0
    assert sales[-1]["customers"] < latest["customers"]
    # the earlier snapshot was scored without the models: nothing valued, sums are 0
    assert every[0]["valued"] == 0 and every[0]["value_at_risk"] == 0.0
    assert every[0]["share"] is None
    assert strict[0]["at_risk"] <= latest["at_risk"]
    assert strict[0]["value_at_risk"] == pytest.approx(latest["value_at_risk"])


def test_the_metric_periods() -> None:
    as_of = day_end(dt.date(2026, 11, 30), SHANGHAI)
    assert as_of == dt.datetime(2026, 11, 30, 16, 0)  # midnight of Dec 1 in Shanghai, UTC
    current, previous, months = overview.metric_periods("90d", as_of, SHANGHAI)
    assert current.end == as_of and previous.end == current.start
    assert current.days == previous.days == 90
    assert months == Period(dt.datetime(2025, 11, 30, 16, 0), as_of)  # Dec 2025 … Nov 2026
    _, _, partial = overview.metric_periods("30d", dt.datetime(2026, 11, 15, 4, 0), SHANGHAI, 3)
    assert partial.start == dt.datetime(2026, 8, 31, 16, 0)  # September, October, November
    year, before, _ = overview.metric_periods("12m", as_of, SHANGHAI)
    assert year.start == dt.datetime(2025, 11, 30, 16, 0) == before.end
    with pytest.raises(ValidationFailed):
        overview.metric_periods("7d", as_of, SHANGHAI)


def test_the_metric_overview_is_the_metrics_of_each_period(report_store: ReportStore) -> None:
    """The headline values, the previous period's and every month of the series are what
    :func:`rapport.analyses.metric_values` gives for that period alone."""
    from rapport.analyses import metric_values
    from rapport.config import load_rules

    settings = report_store.settings
    rules = load_rules()
    as_of = day_end(DAY, settings.tz)
    result = overview.metric_overview(settings, rules, as_of=as_of, period="90d", months=3)
    current, previous, window = overview.metric_periods("90d", as_of, settings.tz, 3)
    assert result["current"] == {"start": current.start, "end": current.end}
    assert len(result["months"]) == 3 and result["months"][-1]["end"] == as_of
    assert result["months"][0]["start"] == window.start

    def values(period: Period, at: dt.datetime) -> dict[str, Any]:
        _, table = metric_values(settings, rules, list(overview.HEADLINE), period, as_of=at)
        return {r["metric"]: r["value"] for r in table.to_pylist()}

    now, before = values(current, as_of), values(previous, current.start)
    for metric in overview.HEADLINE:
        assert result["headline"][metric]["value"] == pytest.approx(now[metric]), metric
        assert result["headline"][metric]["previous"] == pytest.approx(before[metric]), metric
    assert result["headline"]["customers_end"]["value"] > 0
    last = result["months"][-1]
    month = values(Period(last["start"], last["end"]), as_of)
    for metric in overview.TRENDS:
        assert result["series"][metric][-1] == pytest.approx(month[metric]), metric
    assert Counter(len(v) for v in result["series"].values()) == {3: len(result["series"])}


def test_the_metric_overview_opens_one_connection_for_its_queries(
    report_store: ReportStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without a scoring run's engine, the overview's three queries (the period, the one
    before it and the months) share one connection of the call's own."""
    from rapport.analytics import connect as connecting
    from rapport.config import load_rules

    opened: list[str | None] = []
    real = connecting.connect

    def connect(*args: Any, **kwargs: Any) -> Any:
        opened.append(kwargs.get("engine"))
        return real(*args, **kwargs)

    monkeypatch.setattr(connecting, "connect", connect)
    settings = report_store.settings
    as_of = day_end(DAY, settings.tz)
    result = overview.metric_overview(settings, load_rules(), as_of=as_of, months=2)
    assert opened == [None]
    assert result["headline"]["customers_end"]["value"] > 0


def test_a_change_is_null_unless_both_are_measured() -> None:
    assert overview.change(5.0, 3.5) == 1.5
    assert overview.change(None, 3.0) is None and overview.change(2.0, None) is None
