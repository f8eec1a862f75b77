"""The engine-free backtest on synthetic tables: the report's tables and measures, extra
features joined by customer, horizons with their unit."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pytest

from rapport.analytics.churn_features import CHURN_FEATURES
from rapport.config import load_rules
from rapport.errors import FitFailed, ValidationFailed
from rapport.models.churn import (
    ChurnModel,
    backtest,
    calibration_table,
    feature_table,
    horizon_in_days,
    lift_table,
    run_backtest,
    with_extra,
)
from rapport.models.units import Duration
from tests.analytics import fixture_data as fx
from tests.analytics.memory import memory_sources
from tests.models.churn.synthetic import churn_table

RULES = load_rules()


@pytest.fixture(scope="module")
def report():
    # the later cut-off churns more (shift): the report must show it, not hide it
    return backtest(churn_table(800, seed=1), churn_table(600, seed=3, shift=0.3))


def test_the_report_measures_model_and_baseline(report) -> None:
    assert report.train_rows == 800 and report.test_rows == 600
    assert report.features == ["recency_days", "frequency", "satisfaction"]
    # the synthetic churn depends on frequency and satisfaction too: recency alone is worse
    assert report.model.roc_auc > report.baseline.roc_auc > 0.5
    assert report.model.pr_auc > report.baseline.pr_auc
    assert report.model.brier < report.baseline.brier
    assert report.base_rate > report.train_base_rate
    assert report.calibration_gap == pytest.approx(abs(report.mean_predicted - report.base_rate))
    assert report.boosting is None


def test_lift_and_calibration_tables_cover_every_test_row(report) -> None:
    assert [row["decile"] for row in report.lift] == list(range(1, 11))
    assert sum(row["customers"] for row in report.lift) == 600
    assert report.lift[-1]["cumulative_capture"] == pytest.approx(1)
    assert report.lift[0]["lift"] > 1 > report.lift[-1]["lift"]
    assert sum(row["customers"] for row in report.calibration) == 600
    for row in report.calibration:
        assert row["bin_start"] <= row["mean_predicted"] <= row["bin_end"]


def test_the_report_is_json_ready(report) -> None:
    data = json.loads(json.dumps(report.to_dict()))
    assert data["model"]["roc_auc"] == report.model.roc_auc
    assert data["train_cutoff"] is None and len(data["lift"]) == 10


def test_lift_and_calibration_by_hand() -> None:
    y = np.array([1, 1, 0, 1, 0, 0, 0, 0, 1, 0])
    p = np.array([0.95, 0.9, 0.85, 0.6, 0.55, 0.3, 0.2, 0.15, 0.1, 0.05])
    lift = lift_table(y, p, groups=5)
    # groups of two, riskiest first: (1,1) (0,1) (0,0) (0,0) (1,0); base rate 0.4
    assert [row["observed_rate"] for row in lift] == [1, 0.5, 0, 0, 0.5]
    assert lift[0]["lift"] == pytest.approx(2.5)
    assert [row["cumulative_capture"] for row in lift] == [0.5, 0.75, 0.75, 0.75, 1]
    cal = calibration_table(y, p, bins=2)
    assert cal == [
        {"bin_start": 0.0, "bin_end": 0.5, "customers": 5, "mean_predicted": pytest.approx(0.16),
         "observed_rate": 0.2},
        {"bin_start": 0.5, "bin_end": 1.0, "customers": 5, "mean_predicted": pytest.approx(0.77),
         "observed_rate": 0.6},
    ]  # fmt: skip


def test_boosting_is_compared_on_request() -> None:
    out = backtest(
        churn_table(600, seed=4),
        churn_table(400, seed=5),
        model=ChurnModel(calibration="isotonic"),
        compare_boosting=True,
    )
    assert out.boosting is not None and 0.5 < out.boosting.roc_auc <= 1


def test_extra_features_join_by_customer() -> None:
    features = pa.table({"customer_id": [3, 1, 2], "recency_days": [5, 50, 500]})
    extra = pa.table({"customer_id": [1, 3, 9], "p_alive": [0.9, 0.2, 0.5]})
    joined = with_extra(features, extra)
    assert joined.column_names == ["customer_id", "recency_days", "p_alive"]
    assert joined.column("customer_id").to_pylist() == [3, 1, 2]
    assert joined.column("p_alive").to_pylist() == [0.2, 0.9, None]
    assert with_extra(features, None) is features


def test_bad_extra_features_are_refused() -> None:
    features = pa.table({"customer_id": [1, 2], "recency_days": [5, 50]})
    with pytest.raises(ValidationFailed, match="customer_id"):
        with_extra(features, pa.table({"id": [1], "p_alive": [0.5]}))
    with pytest.raises(ValidationFailed, match="recency_days"):
        with_extra(features, pa.table({"customer_id": [1], "recency_days": [3]}))
    with pytest.raises(ValidationFailed, match="repeat"):
        with_extra(features, pa.table({"customer_id": [1, 1], "p_alive": [0.5, 0.4]}))


def test_horizons_say_their_unit() -> None:
    assert horizon_in_days(90) == 90
    assert horizon_in_days(Duration(13, "weeks")) == 91
    with pytest.raises(ValidationFailed, match="whole number of days"):
        horizon_in_days(Duration(3, "months"))  # 91.3125 days
    with pytest.raises(ValidationFailed):
        horizon_in_days(0)


# --- through an engine: the fixture company in memory (DuckDB) -----------------------------


def test_the_fixture_company_is_too_small_to_train() -> None:
    src, con = memory_sources()
    with pytest.raises(FitFailed, match="at least 50") as info:
        run_backtest(con, src, fx.AS_OF, rules=RULES, horizon_days=90)
    assert info.value.hint


def test_feature_tables_join_labels_in_customer_order() -> None:
    src, con = memory_sources()
    table = feature_table(con, src, fx.END, rules=RULES, labelled=True)
    assert table.column("customer_id").to_pylist() == [1, 3, 4, 5, 6, 7, 10]
    assert table.column("churned").to_pylist() == [True] * 7
    assert table.column_names == ["customer_id", *CHURN_FEATURES, "churned"]
