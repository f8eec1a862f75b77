"""The CDNOW calibration/holdout summary of Fader, Hardie & Lee (2005), built with numpy.

The 2,357-customer sample: transactions on one day are merged into one purchase (values
summed); calibration runs to 1997-09-30 inclusive (39 weeks after the cohort's start),
the holdout from 1997-10-01 to 1998-06-30 inclusive (39 weeks). Times are in weeks.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import cache

import numpy as np

from rapport.sample.cdnow import read_cdnow

EPOCH = date(1970, 1, 1).toordinal()
CALIBRATION_END = date(1997, 9, 30).toordinal() - EPOCH
HOLDOUT_END = date(1998, 6, 30).toordinal() - EPOCH


@dataclass(frozen=True)
class CdnowSummary:
    """One row per customer (sorted by CDNOW id)."""

    customer: np.ndarray
    frequency: np.ndarray  # x: repeat purchase days in calibration
    recency: np.ndarray  # t_x in weeks
    T: np.ndarray  # weeks from first purchase to the calibration end
    monetary: np.ndarray  # mean value of the repeat purchases (dollars); 0 when x = 0
    holdout: np.ndarray  # purchase days in the holdout


@cache
def cdnow_summary() -> CdnowSummary:
    """The calibration/holdout summary of the CDNOW sample (cached)."""
    raw = read_cdnow("sample")
    # merge same-day transactions per customer
    keys = np.stack([raw["customer"], raw["date"]], axis=1)
    days, inverse = np.unique(keys, axis=0, return_inverse=True)
    cents = np.bincount(inverse.ravel(), weights=raw["cents"], minlength=len(days))
    cust, day = days[:, 0], days[:, 1]  # sorted by customer then date
    ids, start = np.unique(cust, return_index=True)
    idx = np.searchsorted(ids, cust)
    first = day[start]
    repeat = day > first[idx]
    cal = day <= CALIBRATION_END
    hold = (day > CALIBRATION_END) & (day <= HOLDOUT_END)
    x = np.bincount(idx, weights=repeat & cal, minlength=len(ids))
    last = np.full(len(ids), -1)
    np.maximum.at(last, idx[cal], day[cal])
    spend = np.bincount(idx, weights=np.where(repeat & cal, cents, 0), minlength=len(ids))
    monetary = np.divide(spend / 100, x, out=np.zeros(len(ids)), where=x > 0)
    return CdnowSummary(
        customer=ids,
        frequency=x.astype(np.float64),
        recency=(last - first) / 7.0,
        T=(CALIBRATION_END - first) / 7.0,
        monetary=monetary,
        holdout=np.bincount(idx, weights=hold, minlength=len(ids)),
    )
