"""Grouping customers by an attribute: the ``by`` of ``rapport metrics --by`` and
``GET /metrics?by=``.

A grouping is a table ``customer_id, segment`` the metrics are computed per value of
(``segment`` is the metrics' name of the group column; it is not an RFM segment unless
grouped by ``rfm_segment``). A customer attribute is read from the profile, the age band
on the report's as-of date (:func:`rapport.analytics.demographics.age_band`), and a score
(RFM segment, value tier, lifecycle stage) from the latest score snapshot.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import ibis

from rapport.analytics.demographics import age_band
from rapport.errors import ValidationFailed

#: Customer attributes a grouping reads from the profile.
BY_ATTRIBUTES = (
    "city",
    "province",
    "country",
    "gender",
    "source_channel",
    "income_band",
    "occupation",
    "district",
)
#: Scores a grouping reads from the latest score snapshot (``rapport score``).
BY_SCORES = ("rfm_segment", "value_tier", "lifecycle_stage")
#: Every grouping, in the order errors and documentation list them.
GROUP_BY = (*BY_ATTRIBUTES, "age_band", *BY_SCORES)


def check_grouping(by: str) -> None:
    """:class:`ValidationFailed` unless ``by`` is one of :data:`GROUP_BY`."""
    if by not in GROUP_BY:
        raise ValidationFailed(
            "by {by!r}: not a grouping",
            field="by",
            value=by,
            hint="use one of: {choices}",
            key="grouping_unknown",
            params={"by": by, "choices": ", ".join(GROUP_BY)},
            hint_key="option_value_unknown.hint",
        )


def as_of_day(as_of: dt.datetime, tz: Any) -> dt.date:
    """The local date a report run as of ``as_of`` (naive UTC, the exclusive end of a local
    day, or now) is about."""
    local = as_of.replace(tzinfo=dt.UTC).astimezone(tz)
    return (local - dt.timedelta(microseconds=1)).date()


def grouping(src: Any, by: str, *, as_of: dt.datetime, tz: Any) -> ibis.Table:
    """``customer_id, segment`` of every customer grouped by ``by`` (see the module).

    Parameters
    ----------
    src
        The :class:`~rapport.analytics.sources.Sources` the metrics read.
    by
        One of :data:`GROUP_BY`.
    as_of, tz
        When the report runs (naive UTC) and the business time zone: the age band is the
        age on the local day :func:`as_of_day`.
    """
    check_grouping(by)
    customers = src.customers
    if by in BY_SCORES:
        scores = src.customer_scores
        latest = scores.filter(scores.as_of == scores.as_of.max())
        return latest.select(customer_id=latest.customer_id, segment=latest[by].cast("string"))
    if by == "age_band":
        return customers.select(
            customer_id=customers.id, segment=age_band(customers.birthday, as_of_day(as_of, tz))
        )
    return customers.select(customer_id=customers.id, segment=customers[by].cast("string"))
