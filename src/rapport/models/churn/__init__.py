"""Churn early warning (流失预警): ``churn_risk`` = the probability that a customer makes no
purchase in the next horizon (default 90 days), with the reasons behind it.

* :class:`ChurnModel` — an additive logistic model (one piecewise-linear spline per
  feature, missing indicators), calibrated on out-of-fold logits, explained exactly.
* :func:`backtest` / :func:`run_backtest` — the time-split backtest and its report.

The features and labels are built by :mod:`rapport.analytics.churn_features`; docs/churn.md
defines them and records the measured figures.
"""

from rapport.models.churn.backtest import (
    BacktestReport,
    Scores,
    backtest,
    calibration_table,
    feature_table,
    horizon_in_days,
    lift_table,
    run_backtest,
    with_extra,
)
from rapport.models.churn.calibration import CALIBRATIONS, Calibration
from rapport.models.churn.model import ChurnModel, Explanation

__all__ = [
    "CALIBRATIONS",
    "BacktestReport",
    "Calibration",
    "ChurnModel",
    "Explanation",
    "Scores",
    "backtest",
    "calibration_table",
    "feature_table",
    "horizon_in_days",
    "lift_table",
    "run_backtest",
    "with_extra",
]
