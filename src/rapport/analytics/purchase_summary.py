"""The sufficient statistics of the buy-till-you-die models, as Ibis expressions.

BG/NBD, Pareto/NBD and Gamma-Gamma (:mod:`rapport.models.clv`) need, per customer, only
``(x, t_x, T, mean repeat spend)``. They are computed here by the engine — DuckDB,
PostgreSQL or Spark alike — so a million customers never pass through pandas; only the
summary is fetched.

Conventions (Fader, Hardie & Lee 2005, as their CDNOW tables use them):

* Time runs on **local calendar days** of the business time zone: purchases on the same
  local day are one transaction (their net amounts summed). The day of a purchase is
  ``floor((epoch seconds + utc offset) / 86400)`` with the zone's UTC offset at the end of
  the calibration period (a daylight-saving shift moves at most purchases within an hour
  of midnight to the neighbouring day).
* The **calibration period** ends at ``calibration_end`` (exclusive, like every period);
  its last day is the local day before that moment. ``first`` is the customer's first
  purchase day, ``x`` the number of later purchase days up to the last calibration day
  (repeat transactions), ``t_x`` = last purchase day − ``first`` (0 when ``x = 0``) and
  ``T`` = last calibration day − ``first``. With the CDNOW calibration to 1997-09-30, a
  customer who first bought on 1997-01-01 has ``T = 272 days = 38.86 weeks``.
* ``monetary_value`` is the mean value of the repeat transactions (the first excluded),
  null for ``x = 0``.
* The optional **holdout** period runs from the day after the last calibration day to the
  local day before ``observation_end``: ``holdout_frequency`` transactions worth
  ``holdout_monetary`` in total, over ``holdout_days``.

Times are returned in days and converted by the caller into the model's unit
(:mod:`rapport.models.units`), so no column is ever an ambiguous bare ``t``.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import ibis
import ibis.expr.types as ir

from rapport.analytics.metrics_base import (
    FLOAT,
    MONEY_DECIMALS,
    const,
    exact_sum,
    purchases,
    seconds,
    ts,
)
from rapport.analytics.sources import Sources
from rapport.errors import ValidationFailed

SECONDS_PER_DAY = 86_400
#: Columns of :func:`purchase_summary`, in order.
SUMMARY_COLUMNS = (
    "customer_id",
    "first_day",
    "frequency",
    "recency_days",
    "age_days",
    "monetary_value",
    "holdout_frequency",
    "holdout_monetary",
    "holdout_days",
)


def local_day(instant: datetime, utc_offset_seconds: int) -> int:
    """The local day number (days since 1970-01-01, local) of a naive UTC ``instant``."""
    epoch = (instant - datetime(1970, 1, 1)).total_seconds()
    return int((epoch + utc_offset_seconds) // SECONDS_PER_DAY)


def purchase_days(src: Sources, end: datetime, *, utc_offset_seconds: int = 0) -> ir.Table:
    """Purchases before ``end`` merged per customer and local day.

    Returns
    -------
    ibis.Table
        ``customer_id`` (int64), ``day`` (int64, local days since 1970-01-01),
        ``amount`` (float64, summed net amount of the day's purchases).
    """
    p = purchases(src)
    p = p.filter(p.ordered_at < ts(end))
    day = ((seconds(p.ordered_at) + const(utc_offset_seconds)) / SECONDS_PER_DAY).floor()
    p = p.mutate(day=day.cast("int64"), amount=p.net_amount.cast(FLOAT))
    return p.group_by(customer_id=p.customer_id.cast("int64"), day=p.day).aggregate(
        amount=exact_sum(p.amount, decimals=MONEY_DECIMALS)
    )


def purchase_times(src: Sources, end: datetime) -> ir.Table:
    """Purchases before ``end`` at their exact time: ``customer_id``, ``day`` (float64
    days since 1970-01-01 UTC, fractional) and ``amount`` (purchases at the same second
    summed)."""
    p = purchases(src)
    p = p.filter(p.ordered_at < ts(end))
    p = p.mutate(day=seconds(p.ordered_at) / SECONDS_PER_DAY, amount=p.net_amount.cast(FLOAT))
    return p.group_by(customer_id=p.customer_id.cast("int64"), day=p.day).aggregate(
        amount=exact_sum(p.amount, decimals=MONEY_DECIMALS)
    )


def purchase_summary(
    src: Sources,
    calibration_end: datetime,
    *,
    utc_offset_seconds: int = 0,
    observation_end: datetime | None = None,
    resolution: str = "day",
) -> ir.Table:
    """``(x, t_x, T, mean repeat spend)`` per customer who bought before ``calibration_end``.

    Parameters
    ----------
    src
        The canonical tables.
    calibration_end
        End of the calibration period, naive UTC, exclusive (usually a local midnight).
    utc_offset_seconds
        The business time zone's offset from UTC, which defines local days.
    observation_end
        End of the holdout period (exclusive); ``None`` for no holdout (the holdout
        columns are then 0).
    resolution
        ``day`` (the default, the published convention): local calendar days, same-day
        purchases merged, times in whole days. ``exact``: every purchase at its own
        time, times in fractional days, ``T`` up to ``calibration_end`` itself — for
        businesses whose customers buy several times a day, where merging would
        understate the purchase rates.

    Returns
    -------
    ibis.Table
        :data:`SUMMARY_COLUMNS`: ``customer_id``, ``first_day`` (local day number),
        ``frequency`` (x, int64), ``recency_days`` (t_x), ``age_days`` (T),
        ``monetary_value`` (mean repeat transaction value, null when x = 0),
        ``holdout_frequency`` (int64), ``holdout_monetary`` and ``holdout_days`` (the
        holdout length, the same for everyone). Days are float64 whole numbers.

    Raises
    ------
    ValidationFailed
        When ``observation_end`` is not after ``calibration_end``.

    References
    ----------
    Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005). "Counting Your Customers" the Easy
    Way: An Alternative to the Pareto/NBD Model. *Marketing Science* 24(2), 275–284.
    """
    if resolution not in ("day", "exact"):
        raise ValidationFailed(
            "unknown time resolution {resolution!r}",
            field="resolution",
            value=resolution,
            hint="use one of: {choices}",
            key="resolution_unknown",
            params={"resolution": resolution, "choices": "day, exact"},
            hint_key="option_value_unknown.hint",
        )
    if observation_end is not None and observation_end <= calibration_end:
        raise ValidationFailed(
            "the holdout must end after the calibration period",
            field="observation_end",
            value=str(observation_end),
            hint="give a moment after {end}",
            key="holdout_before_calibration",
            params={"end": calibration_end},
        )
    end = observation_end or calibration_end
    if resolution == "day":
        last_cal = float(local_day(calibration_end - timedelta(microseconds=1), utc_offset_seconds))
        last_obs = float(local_day(end - timedelta(microseconds=1), utc_offset_seconds))
        days = purchase_days(src, end, utc_offset_seconds=utc_offset_seconds)
        cal = days.day <= int(last_cal)
    else:
        last_cal = (calibration_end - datetime(1970, 1, 1)).total_seconds() / SECONDS_PER_DAY
        last_obs = (end - datetime(1970, 1, 1)).total_seconds() / SECONDS_PER_DAY
        days = purchase_times(src, end)
        cal = days.day < const(last_cal)
    per = days.group_by("customer_id").aggregate(
        first_day=days.day.min(where=cal),
        last_day=days.day.max(where=cal),
        n_days=days.count(where=cal),
        total=days.amount.sum(where=cal),
        holdout_frequency=days.count(where=~cal),
        holdout_monetary=days.amount.sum(where=~cal),
    )
    per = per.filter(per.first_day.notnull())
    first_amount = (
        days.filter(cal)
        .group_by("customer_id")
        .aggregate(first_amount=days.amount.argmin(days.day))
    )
    per = per.left_join(first_amount, "customer_id").select(per, "first_amount")
    x = (per.n_days - 1).cast("int64")
    repeat_total = per.total - per.first_amount
    return per.select(
        customer_id=per.customer_id,
        first_day=per.first_day.floor().cast("int64"),
        frequency=x,
        recency_days=(per.last_day - per.first_day).cast(FLOAT),
        age_days=(const(last_cal) - per.first_day.cast(FLOAT)).cast(FLOAT),
        monetary_value=ibis.ifelse(
            x > 0, repeat_total / x.cast(FLOAT).nullif(0), ibis.null(FLOAT)
        ).cast(FLOAT),
        holdout_frequency=per.holdout_frequency.cast("int64"),
        holdout_monetary=per.holdout_monetary.cast(FLOAT).fill_null(const(0)),
        holdout_days=const(last_obs - last_cal),
    )


__all__ = ["SUMMARY_COLUMNS", "local_day", "purchase_days", "purchase_summary", "purchase_times"]
