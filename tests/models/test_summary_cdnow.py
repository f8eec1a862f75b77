"""The CDNOW summary computed by the engine from the store equals the published one.

Fader, Hardie & Lee (2005): the 2,357 customers of the CDNOW sample, calibration period
to 1997-09-30 (39 weeks), same-day transactions merged: 1,411 customers make no repeat
purchase and the others make 2,457 repeat transactions; 946 repeat buyers feed the
Gamma-Gamma spend model; the holdout runs 39 weeks to 1998-06-30.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from rapport.analytics.connect import connect
from rapport.analytics.sources import Sources
from rapport.config import Settings
from rapport.models.data import PurchaseSummary, compute_summary, utc_offset_seconds
from rapport.models.units import Duration
from rapport.sample.cdnow import load_cdnow
from rapport.sample.load import load_company
from rapport.store.db import create_engine, upgrade

CALIBRATION_END = dt.datetime(1997, 10, 1)  # exclusive: the last day is 1997-09-30
OBSERVATION_END = dt.datetime(1998, 7, 1)
SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture(scope="module")
def cdnow_settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """A SQLite store holding the CDNOW sample, loaded through the importer."""
    root = tmp_path_factory.mktemp("cdnow")
    url = f"sqlite:///{root / 'cdnow.db'}"
    engine = create_engine(url)
    upgrade(engine)
    load_company(load_cdnow("sample"), engine=engine, work_dir=root)
    engine.dispose()
    # CDNOW's dates are stored at 00:00 UTC, 08:00 in Shanghai: the same local days.
    yield Settings(_env_file=None, database_url=url, data_dir=root / "data")


@pytest.fixture(scope="module")
def summary(cdnow_settings: Settings) -> PurchaseSummary:
    with connect(cdnow_settings) as eng:
        return compute_summary(
            eng.con,
            Sources(eng),
            CALIBRATION_END - dt.timedelta(hours=8),  # local midnight in UTC
            zone=SHANGHAI,
            time_unit="weeks",
            observation_end=OBSERVATION_END - dt.timedelta(hours=8),
        )


def test_published_summary(summary: PurchaseSummary) -> None:
    assert len(summary) == 2357
    assert int((summary.frequency == 0).sum()) == 1411
    assert int(summary.frequency.sum()) == 2457
    assert int(summary.repeat_buyers.sum()) == 946
    assert np.isnan(summary.monetary_value[~summary.repeat_buyers]).all()
    assert (summary.monetary_value[summary.repeat_buyers] > 0).all()
    # Everyone first bought in 1997's first quarter: T between 26 and 39 weeks.
    assert summary.T.max() == pytest.approx(272 / 7)  # first purchase 1997-01-01: 38.86
    assert summary.T.min() >= (272 - 89) / 7  # 1997-03-31
    assert ((summary.recency >= 0) & (summary.recency <= summary.T)).all()
    assert summary.holdout == Duration(273 / 7, "weeks")  # 39 weeks
    assert summary.time_unit == "weeks"


def test_summary_in_days_is_the_same_data(cdnow_settings: Settings, summary) -> None:
    with connect(cdnow_settings) as eng:
        in_days = compute_summary(
            eng.con, Sources(eng), CALIBRATION_END, zone=ZoneInfo("UTC"), time_unit="days"
        )
    np.testing.assert_array_equal(in_days.customer_id, summary.customer_id)
    np.testing.assert_array_equal(in_days.frequency, summary.frequency)
    np.testing.assert_allclose(in_days.T / 7, summary.T)
    np.testing.assert_allclose(in_days.recency / 7, summary.recency)
    assert in_days.holdout is None
    assert in_days.fingerprint() != summary.fingerprint()  # the unit is part of the data
    described = summary.describe()
    assert described["repeat_transactions"] == 2457
    assert described["fingerprint"].startswith("sha256:")


def test_utc_offset_follows_daylight_saving() -> None:
    ny = ZoneInfo("America/New_York")
    assert utc_offset_seconds(ny, dt.datetime(2024, 1, 15)) == -5 * 3600
    assert utc_offset_seconds(ny, dt.datetime(2024, 7, 15)) == -4 * 3600
    assert utc_offset_seconds(SHANGHAI, dt.datetime(2024, 7, 15)) == 8 * 3600


def test_models_fitted_on_the_engine_summary_reproduce_the_published_tables(summary) -> None:
    """The whole product path — importer → store → engine summary → fit — gives the
    published estimates (Fader, Hardie & Lee 2005; Fader & Hardie's Gamma-Gamma note)."""
    from rapport.models.clv.bgnbd import BetaGeoModel
    from rapport.models.clv.gammagamma import GammaGammaModel
    from rapport.models.clv.paretonbd import ParetoNBDModel

    bg = BetaGeoModel(time_unit="weeks").fit(summary.frequency, summary.recency, summary.T)
    assert {k: round(v, 3) for k, v in bg.params_.items()} == {
        "r": 0.243,
        "alpha": 4.414,
        "a": 0.793,
        "b": 2.426,
    }
    assert bg.log_likelihood_ == pytest.approx(-9582.43, abs=0.01)
    one = bg.expected_purchases(Duration(39, "weeks"), [2.0], [30.43], [38.86])
    assert float(one[0]) == pytest.approx(1.226, abs=0.001)

    pnbd = ParetoNBDModel(time_unit="weeks").fit(summary.frequency, summary.recency, summary.T)
    assert {k: round(v, 3) for k, v in pnbd.params_.items() if k != "beta"} == {
        "r": 0.553,
        "alpha": 10.578,
        "s": 0.606,
    }
    assert pnbd.params_["beta"] == pytest.approx(11.67, abs=0.005)
    assert pnbd.log_likelihood_ == pytest.approx(-9594.97, abs=0.01)

    repeat = summary.repeat_buyers
    gg = GammaGammaModel().fit(summary.frequency[repeat], summary.monetary_value[repeat])
    assert {k: round(v, 2) for k, v in gg.params_.items()} == {
        "p": 6.25,
        "q": 3.74,
        "gamma": 15.44,
    }
    assert gg.log_likelihood_ == pytest.approx(-4055.92, abs=0.01)


def test_backtest_report_of_the_cdnow_holdout(cdnow_settings: Settings, tmp_path) -> None:
    """`rapport models backtest` on CDNOW with BG/NBD: the 39-week holdout to 1998-06-30 by
    calibration-frequency bin (Fader, Hardie & Lee 2005, figure 2), in the HTML report."""
    from rapport.config import load_rules
    from rapport.models.evaluation import run_backtests

    rules = load_rules(cdnow_settings)
    models = rules.models.model_copy(update={"purchase_model": "bgnbd"})
    rules = rules.model_copy(update={"models": models})
    report = tmp_path / "cdnow.html"
    result = run_backtests(
        cdnow_settings,
        rules,
        OBSERVATION_END - dt.timedelta(hours=8),  # 1998-07-01 00:00 in Shanghai
        holdout=Duration(39, "weeks"),
        report=report,
        parts=("purchase", "spend"),
    )
    p = result.purchase
    assert p is not None and p["model"] == "BG/NBD"
    assert p["calibration_end"].startswith("1997-09-30T16:00")  # 1997-10-01 local
    assert {k: round(v, 3) for k, v in p["params"].items()} == {
        "r": 0.243,
        "alpha": 4.414,
        "a": 0.793,
        "b": 2.426,
    }
    bins = {row["bin"]: row for row in p["frequency_bins"]}
    assert list(bins) == ["0", "1", "2", "3", "4", "5", "6", "7+"]
    assert bins["0"]["customers"] == 1411
    actual = [round(bins[b]["actual"], 3) for b in bins]
    predicted = [round(bins[b]["predicted"], 3) for b in bins]
    assert actual == [0.237, 0.697, 1.393, 1.560, 2.532, 2.947, 3.862, 6.359]
    assert predicted == [0.225, 0.523, 1.044, 1.520, 2.164, 2.654, 3.504, 6.157]
    assert p["actual_holdout_purchases"] == 1882
    html = report.read_text(encoding="utf-8")
    assert "Calibration vs holdout by frequency" in html
    assert "0.237" in html and "6.157" in html
    assert result.churn is None and result.demand is None  # not asked for
