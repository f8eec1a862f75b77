"""The demand forecast: the seasonal-naive baseline, Holt-Winters per category, the error
measures, persistence, and the backtest on the sample company."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import numpy as np
import pandas as pd
import pytest

from rapport.errors import NotFitted, ValidationFailed
from rapport.models.demand import (
    ALL,
    TOTAL,
    DemandForecaster,
    backtest_demand,
    event_calendar,
    expected_customer_purchases,
    fit_series,
    mape,
    season_positions,
    seasonal_naive,
    wape,
)
from rapport.models.units import Duration

approx = pytest.approx
#: Monday 2021-01-04 00:00 in Shanghai, in naive UTC: the first week of the synthetic series.
MONDAY = dt.datetime(2021, 1, 3, 16)


def weekly(values: dict[str, np.ndarray], first: dt.datetime = MONDAY) -> pd.DataFrame:
    """A tidy weekly demand series of Shanghai ISO weeks from ``first``."""
    rows = [
        (name, first + dt.timedelta(weeks=i), float(v))
        for name, y in values.items()
        for i, v in enumerate(y)
    ]
    return pd.DataFrame(rows, columns=["category", "period_start", "orders"])


def truth(weeks: int, base: float = 200.0, slope: float = 2.0) -> np.ndarray:
    """Linear trend times a yearly season: a mild wave and a peak (x2.5) in week 45."""
    t = np.arange(weeks)
    season = 1 + 0.25 * np.sin(2 * np.pi * t / 52)
    season[t % 52 == 45] = 2.5
    return (base + slope * t) * season


# --- the baseline ---------------------------------------------------------------------------


def test_seasonal_naive_is_exactly_last_seasons_value():
    y = np.arange(30.0)
    # n = 30, m = 12: h = 1..12 → y[18..29]; h = 13..15 repeat y[18..20]
    assert seasonal_naive(y, 15, 12).tolist() == [*range(18, 30), 18, 19, 20]
    # shorter than a season: the last value; nothing: zeros
    assert seasonal_naive(y[:11], 3, 12).tolist() == [10, 10, 10]
    assert seasonal_naive([], 2, 12).tolist() == [0, 0]


# --- accuracy measures ----------------------------------------------------------------------


def test_wape_and_mape_on_a_hand_example():
    actual, forecast = [10, 0, 20, 30], [12, 5, 15, 30]
    # |errors| 2, 5, 5, 0 = 12 over actuals 60 → WAPE 20 %; the zero actual's error counts
    assert wape(actual, forecast) == approx(20.0)
    # MAPE skips the zero actual: (2/10 + 5/20 + 0/30) / 3 = 15 %
    assert mape(actual, forecast) == approx(15.0)


def test_all_zero_actuals_leave_both_undefined():
    assert wape([0, 0], [1, 2]) is None
    assert mape([0, 0], [1, 2]) is None


# --- the model ------------------------------------------------------------------------------


def test_the_model_recovers_a_noise_free_trend_and_season():
    y = truth(156)
    state = fit_series(y[:143], 52)
    forecast = state.forecast(np.arange(143, 156) % 52)
    assert wape(y[143:], forecast) < 2.0  # measured 0.74
    assert len(state.season) == 52 and state.season[45] > 2 * np.median(state.season)


def test_the_model_beats_seasonal_naive_on_noisy_trend_and_season():
    rng = np.random.default_rng(3)
    y = {name: truth(156, base) * rng.gamma(100, 1 / 100, 156) for name, base in
         (("a", 200.0), ("b", 80.0))}  # fmt: skip
    result = backtest_demand(
        weekly(y),
        granularity="week",
        holdout_periods=13,
        forecaster=DemandForecaster("week", events="none"),
    )
    ours, theirs = result.error("model")["wape"], result.error("seasonal_naive")["wape"]
    # trend 2/week: last year's week is 104 lower (a fifth to a quarter); the noise (10 %
    # sd per week) alone costs a WAPE of about 8. Measured: 9.0 vs 19.7 (seeds 0-5: the
    # model 7.9-13.6, the baseline 19.7-26.5, always more than 1.9 times the model's)
    assert ours < 10.0 and ours < theirs / 2, (ours, theirs)


def test_a_launch_ramp_does_not_become_a_seasonal_dip():
    # sales start at 0 and reach their level after 20 weeks: the first year's January is
    # low because the shop was new, not because January is. Two years of history, then the
    # next January: the forecast follows last January (seen mature), not the launch.
    t = np.arange(112)
    y = truth(112, base=300.0, slope=0.0) * np.minimum(1.0, (t + 1) / 20)
    state = fit_series(y[:104], 52)
    forecast = state.forecast(np.arange(104, 112) % 52)
    assert wape(y[104:], forecast) < 5.0  # measured 0.03
    assert min(state.season[:8]) > 0.8


def test_a_short_history_gives_a_trend_without_season():
    state = fit_series([10.0, 12, 14, 16, 18], 52)
    assert state.season == []
    assert state.forecast(np.zeros(2, int)) == approx([20, 22], rel=0.1)
    assert fit_series([7.0], 52).forecast(np.zeros(3, int)).tolist() == [7, 7, 7]
    assert fit_series([0.0, 0.0], 52).forecast(np.zeros(1, int)).tolist() == [0]


def test_double_11_keeps_its_index_when_it_moves_to_the_next_iso_week():
    # 2023-11-11 is a Saturday (week of Nov 6), 2024-11-11 a Monday (week of Nov 11):
    # 52 weeks after Nov 6 2023 is Nov 4 2024, one week early
    bounds = [dt.date(2023, 1, 2) + dt.timedelta(weeks=i) for i in range(105)]
    pos = season_positions(bounds, 52, event_calendar("zh_CN"))
    week = {d: i for i, d in enumerate(bounds)}
    d11_2023, d11_2024 = week[dt.date(2023, 11, 6)], week[dt.date(2024, 11, 11)]
    assert d11_2024 - d11_2023 == 53
    assert pos[d11_2024] == pos[d11_2023]
    # Chinese New Year: 2023-01-22 (week of Jan 16), 2024-02-10 (week of Feb 5)
    assert pos[week[dt.date(2024, 2, 5)]] == pos[week[dt.date(2023, 1, 16)]]
    # every position appears once per season still
    assert sorted(pos[52:104]) == list(range(52))
    assert (season_positions(bounds, 52, {}) == np.arange(104) % 52).all()


def test_the_forecaster_predicts_dated_periods_and_round_trips_through_json():
    y = {"护肤": truth(120), "食品": truth(120, 50.0)}
    forecaster = DemandForecaster("week").fit(weekly(y))
    predicted = forecaster.predict(3)
    assert list(predicted.columns) == ["category", "period_start", "forecast"]
    assert predicted.period_start.tolist()[:3] == [MONDAY + dt.timedelta(weeks=w) for w in
                                                   (120, 121, 122)]  # fmt: skip
    # a period's forecast does not depend on how far ahead one asks
    longer = forecaster.predict(60)
    assert longer[longer.period_start.isin(predicted.period_start)].forecast.tolist() == approx(
        predicted.forecast.tolist()
    )
    document = json.loads(json.dumps(forecaster.to_dict(), ensure_ascii=False))
    again = DemandForecaster.from_dict(document)
    pd.testing.assert_frame_equal(again.predict(3), predicted)
    with pytest.raises(ValidationFailed, match="version"):
        DemandForecaster.from_dict({**document, "version": 99})


def test_the_forecaster_refuses_what_it_cannot_do():
    with pytest.raises(NotFitted):
        DemandForecaster().predict(1)
    with pytest.raises(ValidationFailed, match="weekly or monthly"):
        DemandForecaster("day")
    gap = weekly({"a": np.ones(10)})
    gap = gap[gap.period_start != MONDAY + dt.timedelta(weeks=4)]
    with pytest.raises(ValidationFailed, match="whole weeks"):
        DemandForecaster().fit(gap)
    tuesday = weekly({"a": np.ones(10)}, first=MONDAY + dt.timedelta(days=1))
    with pytest.raises(ValidationFailed, match="whole weeks"):
        DemandForecaster().fit(tuesday)


def test_backtest_tables_and_errors_per_category_total_and_all():
    y = {"a": truth(70), "b": np.r_[truth(66, 10.0), np.zeros(4)]}
    result = backtest_demand(
        weekly(y), granularity="week", holdout_periods=4, forecaster=DemandForecaster(events="none")
    )
    table = result.table
    assert list(table.columns) == ["category", "period_start", "actual", "forecast", "baseline"]
    assert len(table) == 8 and result.history_periods == 66
    # the baseline is the value 52 weeks before each holdout week
    assert table[table.category == "a"].baseline.tolist() == approx(truth(70)[14:18].tolist())
    errors = result.errors.set_index(["scope", "method"])
    assert set(errors.index.get_level_values(0)) == {"a", "b", TOTAL, ALL}
    # b's holdout is all zeros: WAPE and MAPE undefined, its zero periods skipped by MAPE
    assert pd.isna(errors.loc[("b", "model"), "wape"])
    assert errors.loc[(ALL, "model"), "mape_periods"] == 4
    document = json.loads(json.dumps(result.to_dict()))
    assert document["rows"][0].keys() == {"category", "period", "actual", "forecast", "baseline"}
    assert {(e["scope"], e["method"]) for e in document["errors"]} >= {(ALL, "seasonal_naive")}
    assert document["errors"][2]["wape"] is None  # b, model


def test_expected_customer_purchases_asks_the_purchase_model():
    class Model:
        time_unit = "weeks"

        def expected_purchases(self, horizon: Duration, frequency: Any, recency: Any, T: Any):
            return np.asarray(frequency) * horizon.to(self.time_unit) / np.asarray(T)

    got = expected_customer_purchases(
        Model(), [2, 0], [10, 0], [20, 40], horizon=Duration(4, "weeks")
    )
    assert got.tolist() == [0.4, 0.0]


# --- the sample company -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sample_series(tmp_path_factory, sample_store) -> dict[str, Any]:
    """3,000 customers over 2023-2024 (Shanghai): weekly and monthly demand per category."""
    from rapport.analytics.connect import connect
    from rapport.analytics.demand import category_demand
    from rapport.analytics.sources import Sources
    from rapport.config import Settings

    company = sample_store.company
    assert sample_store.end == dt.date(2025, 1, 1)
    root = tmp_path_factory.mktemp("sample-demand")
    url = sample_store.copy(root)
    settings = Settings(_env_file=None, database_url=url, data_dir=root / "data")
    utc = dt.timedelta(hours=8)
    spans = {  # whole periods: Monday 2023-01-02 .. Monday 2024-12-30; 2023-01 .. 2024-12
        "week": (dt.datetime(2023, 1, 2) - utc, dt.datetime(2024, 12, 30) - utc),
        "month": (dt.datetime(2023, 1, 1) - utc, dt.datetime(2025, 1, 1) - utc),
    }
    with connect(settings, engine="duckdb") as eng:
        src = Sources(eng)
        out = {
            g: category_demand(src, *span, granularity=g, con=eng.con) for g, span in spans.items()
        }
    out["orders"] = company.tables["orders"].to_pandas()
    return out


def test_sample_series_revenue_adds_up_to_the_purchases(sample_series):
    weeks = sample_series["week"].to_pandas()
    assert weeks.period_start.nunique() == 104 and weeks.category.nunique() == 7
    orders = sample_series["orders"]
    local = pd.to_datetime(orders.ordered_at).dt.tz_localize(None) + pd.Timedelta(hours=8)
    done = orders[(orders.status == "completed") & (local >= "2023-01-02") & (local < "2024-12-30")]
    assert weeks.revenue.sum() == approx(done.net_amount.astype(float).sum(), abs=1.0)


@pytest.mark.parametrize(
    ("granularity", "holdout", "value"),
    [
        ("week", 13, "orders"),
        ("week", 13, "revenue"),
        ("month", 6, "orders"),
        ("month", 6, "revenue"),
    ],
)
def test_sample_backtest_model_beats_seasonal_naive(sample_series, granularity, holdout, value):
    # measured (docs/demand.md), WAPE over every category-period, model vs seasonal naive:
    # week/13 orders 16.6 vs 31.8, revenue 19.6 vs 31.5; month/6 orders 16.1 vs 35.5,
    # revenue 16.7 vs 35.9. The sample company grows fast from its launch in 2023, which
    # last year's values cannot follow.
    result = backtest_demand(
        sample_series[granularity], granularity=granularity, holdout_periods=holdout, value=value
    )
    for scope in (ALL, TOTAL):
        ours, theirs = (result.error(m, scope)["wape"] for m in ("model", "seasonal_naive"))
        assert ours <= theirs, (scope, ours, theirs)
    assert result.error("model")["mape"] <= result.error("seasonal_naive")["mape"]
