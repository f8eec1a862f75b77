"""The purchase summary the CLV models fit on, fetched from the engine into numpy arrays.

:func:`compute_summary` runs :func:`rapport.analytics.purchase_summary.purchase_summary`
on any engine and converts its day counts into the models' time unit; only one row per
customer leaves the engine. :class:`PurchaseSummary` keeps the arrays, the unit and the
calibration end, and fingerprints its content so a saved model says which data it saw.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa

from rapport.models.units import DAYS_PER_UNIT, Duration, TimeUnit, check_unit


@dataclass(frozen=True)
class PurchaseSummary:
    """Per-customer ``(x, t_x, T, mean repeat spend)`` and holdout counts.

    ``recency`` and ``T`` count ``time_unit``; ``monetary_value`` is NaN for customers
    without a repeat purchase.
    """

    customer_id: np.ndarray
    frequency: np.ndarray
    recency: np.ndarray
    T: np.ndarray
    monetary_value: np.ndarray
    holdout_frequency: np.ndarray
    holdout_monetary: np.ndarray
    time_unit: TimeUnit
    calibration_end: dt.datetime
    holdout: Duration | None = None
    resolution: str = "day"

    @classmethod
    def from_arrow(
        cls,
        table: pa.Table,
        *,
        time_unit: str,
        calibration_end: dt.datetime,
        resolution: str = "day",
    ) -> PurchaseSummary:
        """From the columns of :func:`~rapport.analytics.purchase_summary.purchase_summary`."""
        unit = check_unit(time_unit)
        per_unit = DAYS_PER_UNIT[unit]

        def col(name: str, dtype: Any = np.float64) -> np.ndarray:
            values = table.column(name).to_numpy(zero_copy_only=False)
            return np.asarray(values, dtype=dtype)

        holdout_days = col("holdout_days")
        holdout = (
            Duration(float(holdout_days[0]) / per_unit, unit)
            if len(holdout_days) and holdout_days[0] > 0
            else None
        )
        return cls(
            customer_id=col("customer_id", np.int64),
            frequency=col("frequency"),
            recency=col("recency_days") / per_unit,
            T=col("age_days") / per_unit,
            monetary_value=col("monetary_value"),
            holdout_frequency=col("holdout_frequency"),
            holdout_monetary=col("holdout_monetary"),
            time_unit=unit,
            calibration_end=calibration_end,
            holdout=holdout,
            resolution=resolution,
        )

    def __len__(self) -> int:
        return len(self.customer_id)

    @property
    def repeat_buyers(self) -> np.ndarray:
        """Mask of the customers with at least one repeat purchase (Gamma-Gamma's data)."""
        return self.frequency > 0

    def fingerprint(self) -> str:
        """SHA-256 of the arrays, the unit and the calibration end (``sha256:…``)."""
        digest = hashlib.sha256()
        head = f"{self.time_unit}|{self.resolution}|{self.calibration_end.isoformat()}"
        digest.update(head.encode())
        for values in (
            self.customer_id,
            self.frequency,
            self.recency,
            self.T,
            np.nan_to_num(self.monetary_value, nan=-1.0),
        ):
            digest.update(np.ascontiguousarray(values).tobytes())
        return f"sha256:{digest.hexdigest()}"

    def describe(self) -> dict[str, Any]:
        """The figures a saved model records about its data."""
        return {
            "fingerprint": self.fingerprint(),
            "customers": len(self),
            "repeat_buyers": int(self.repeat_buyers.sum()),
            "repeat_transactions": int(self.frequency.sum()),
            "time_unit": self.time_unit,
            "resolution": self.resolution,
            "calibration_end": self.calibration_end.isoformat(),
            "holdout": str(self.holdout) if self.holdout else None,
        }


def ascending(ids: np.ndarray) -> bool:
    """Whether ``ids`` are in strictly ascending order (each once): a table already in
    key order needs no sort."""
    return len(ids) < 2 or bool(np.all(ids[1:] > ids[:-1]))


def rows_by_key(keys: np.ndarray, wanted: np.ndarray) -> pa.Array:
    """Where each of ``wanted`` is among ``keys`` (each key once): the row of ``keys``
    holding it, null where none does — an index for ``Table.take`` that joins a table by
    its keys to the rows of ``wanted``, in their order (a left join), by a binary search of
    the sorted keys rather than a hash join of the two tables and a sort."""
    if not len(keys):
        return pa.nulls(len(wanted), pa.int64())
    order = np.argsort(keys, kind="stable")
    ordered = keys[order]
    at = np.minimum(np.searchsorted(ordered, wanted), len(keys) - 1)
    return pa.array(order[at], mask=ordered[at] != wanted)


def utc_offset_seconds(zone: ZoneInfo, instant: dt.datetime) -> int:
    """The offset of ``zone`` from UTC at the naive UTC ``instant``, in seconds."""
    aware = instant.replace(tzinfo=dt.UTC).astimezone(zone)
    offset = aware.utcoffset()
    return int(offset.total_seconds()) if offset else 0


def compute_summary(
    con: Any,
    src: Any,
    calibration_end: dt.datetime,
    *,
    zone: ZoneInfo,
    time_unit: str = "weeks",
    observation_end: dt.datetime | None = None,
    resolution: str = "day",
) -> PurchaseSummary:
    """Run the purchase summary on an engine and convert it to ``time_unit``.

    Parameters
    ----------
    con, src
        The Ibis backend and the :class:`~rapport.analytics.sources.Sources` on it.
    calibration_end
        Exclusive end of the calibration period, naive UTC.
    zone
        The business time zone; its local days are the model's days.
    time_unit
        Unit of ``recency`` and ``T``.
    observation_end
        Exclusive end of a holdout period, for backtests.
    resolution
        ``day`` (same-day purchases merged) or ``exact`` (see
        :func:`~rapport.analytics.purchase_summary.purchase_summary`).
    """
    from rapport.analytics.metrics import execute
    from rapport.analytics.purchase_summary import purchase_summary

    expr = purchase_summary(
        src,
        calibration_end,
        utc_offset_seconds=utc_offset_seconds(zone, calibration_end),
        observation_end=observation_end,
        resolution=resolution,
    )
    table = execute(expr, con).sort_by("customer_id")
    return PurchaseSummary.from_arrow(
        table, time_unit=time_unit, calibration_end=calibration_end, resolution=resolution
    )


__all__ = ["PurchaseSummary", "compute_summary", "utc_offset_seconds"]
