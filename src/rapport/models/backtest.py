"""Backtests of the purchase model: calibrate before a date, compare with what came after.

The two checks of Fader, Hardie & Lee (2005):

* **conditional expectations by frequency bin** — customers grouped by their number of
  repeat purchases in the calibration period (0, 1, …, 6, 7+); per bin, the mean number
  of purchases they actually made in the holdout against the model's conditional
  expectation given their ``(x, t_x, T)``;
* **cumulative repeat purchases** — per week, the cohort's actual repeat purchases since
  the start against the model's unconditional expectation
  ``sum_i E[X(t - first_i)]`` over the customers who had made their first purchase.

Only aggregates leave the engine: repeat purchases per local day and customers per first
day, so the backtest costs the same for ten thousand or ten million customers.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from rapport.models.data import PurchaseSummary, compute_summary, utc_offset_seconds
from rapport.models.units import DAYS_PER_UNIT, Duration

#: Calibration-frequency bins: 0..6 and "7+".
TOP_BIN = 7


@dataclass
class PurchaseBacktest:
    """The purchase model's backtest: figures and tables for the report."""

    calibration_end: str
    observation_end: str
    time_unit: str
    holdout: str
    customers: int
    params: dict[str, float]
    actual_holdout_purchases: float
    predicted_holdout_purchases: float
    frequency_bins: list[dict[str, Any]] = field(default_factory=list)
    cumulative: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def holdout_error_percent(self) -> float:
        """(predicted − actual) / actual × 100 over the whole holdout."""
        actual = self.actual_holdout_purchases
        return (self.predicted_holdout_purchases - actual) / actual * 100 if actual else 0.0


def frequency_bins(model: Any, summary: PurchaseSummary) -> list[dict[str, Any]]:
    """Mean holdout purchases per calibration-frequency bin, actual vs conditional
    expectation (needs a summary computed with a holdout)."""
    if summary.holdout is None:
        raise ValueError("the summary has no holdout period")
    expected = np.asarray(
        model.expected_purchases(summary.holdout, summary.frequency, summary.recency, summary.T),
        np.float64,
    )
    bins = np.minimum(summary.frequency, TOP_BIN).astype(np.int64)
    rows = []
    for b in range(TOP_BIN + 1):
        mask = bins == b
        n = int(mask.sum())
        rows.append(
            {
                "bin": f"{b}+" if b == TOP_BIN else str(b),
                "customers": n,
                "actual": float(summary.holdout_frequency[mask].mean()) if n else None,
                "predicted": float(expected[mask].mean()) if n else None,
            }
        )
    return rows


def cumulative_repeat(
    model: Any,
    repeat_per_day: dict[int, int],
    cohort_per_first_day: dict[int, int],
    *,
    start_day: int,
    last_day: int,
    calibration_last_day: int,
    step_days: int = 7,
) -> list[dict[str, Any]]:
    """Cumulative repeat purchases per ``step_days``, actual and expected.

    ``repeat_per_day`` maps a local day to the cohort's repeat purchases that day and
    ``cohort_per_first_day`` a first-purchase day to the customers who first bought then.
    """
    per_unit = DAYS_PER_UNIT[model.time_unit]
    first_days = np.array(sorted(cohort_per_first_day), dtype=np.int64)
    counts = np.array([cohort_per_first_day[d] for d in first_days], dtype=np.float64)
    days = np.array(sorted(repeat_per_day), dtype=np.int64)
    repeats = np.array([repeat_per_day[d] for d in days], dtype=np.float64)
    rows = []
    ends = list(range(start_day + step_days, last_day + 1, step_days))
    if not ends or ends[-1] != last_day + 1:
        ends.append(last_day + 1)
    # E[X(age)] for every whole-day age once: ages repeat across the periods
    span = max(ends) - 1 - int(first_days.min()) if len(first_days) else 0
    by_age = np.array(
        [
            model.expected_purchases_new(Duration(a / per_unit, model.time_unit))
            for a in range(span + 1)
        ],
        dtype=np.float64,
    )
    for end in ends:  # the period's days are [start_day, end)
        started = first_days < end
        ages = end - 1 - first_days[started]
        rows.append(
            {
                "day": int(end - 1),
                "date": (dt.date(1970, 1, 1) + dt.timedelta(days=int(end - 1))).isoformat(),
                "actual": float(repeats[days < end].sum()),
                "predicted": float((by_age[ages] * counts[started]).sum()),
                "calibration": bool(end - 1 <= calibration_last_day),
            }
        )
    return rows


def purchase_backtest(
    con: Any,
    src: Any,
    model_class: type,
    *,
    zone: Any,
    calibration_end: dt.datetime,
    observation_end: dt.datetime,
    time_unit: str = "weeks",
    resolution: str = "day",
) -> tuple[Any, PurchaseBacktest]:
    """Fit ``model_class`` on the calibration period and compare with the holdout.

    Returns the fitted model and the :class:`PurchaseBacktest`.
    """
    from rapport.analytics.metrics import execute
    from rapport.analytics.purchase_summary import local_day, purchase_days

    summary = compute_summary(
        con,
        src,
        calibration_end,
        zone=zone,
        time_unit=time_unit,
        observation_end=observation_end,
        resolution=resolution,
    )
    model = model_class(time_unit=time_unit).fit(summary.frequency, summary.recency, summary.T)
    bins = frequency_bins(model, summary)
    offset = utc_offset_seconds(zone, calibration_end)
    last_cal = local_day(calibration_end - dt.timedelta(microseconds=1), offset)
    last_obs = local_day(observation_end - dt.timedelta(microseconds=1), offset)
    days = purchase_days(src, observation_end, utc_offset_seconds=offset)
    firsts = days.group_by("customer_id").aggregate(first_day=days.day.min())
    firsts = firsts.filter(firsts.first_day <= last_cal)
    joined = days.join(firsts, "customer_id")
    later = joined.filter(joined.day > joined.first_day)
    repeat = later.group_by("day").aggregate(n=later.count())
    cohort = firsts.group_by("first_day").aggregate(n=firsts.count())
    repeat_rows = execute(repeat, con).to_pylist()
    cohort_rows = execute(cohort, con).to_pylist()
    cumulative = cumulative_repeat(
        model,
        {r["day"]: r["n"] for r in repeat_rows},
        {r["first_day"]: r["n"] for r in cohort_rows},
        start_day=min(r["first_day"] for r in cohort_rows),
        last_day=last_obs,
        calibration_last_day=last_cal,
    )
    assert summary.holdout is not None
    expected = model.expected_purchases(
        summary.holdout, summary.frequency, summary.recency, summary.T
    )
    report = PurchaseBacktest(
        calibration_end=calibration_end.isoformat(),
        observation_end=observation_end.isoformat(),
        time_unit=time_unit,
        holdout=str(summary.holdout),
        customers=len(summary),
        params={k: float(v) for k, v in model.params_.items()},
        actual_holdout_purchases=float(summary.holdout_frequency.sum()),
        predicted_holdout_purchases=float(np.sum(expected)),
        frequency_bins=bins,
        cumulative=cumulative,
    )
    return model, report


__all__ = ["PurchaseBacktest", "cumulative_repeat", "frequency_bins", "purchase_backtest"]
