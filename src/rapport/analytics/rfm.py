"""RFM (recency, frequency, monetary) per customer, as docs/metrics.md defines it.

:func:`rfm_values` is the aggregate the RFM scores, segments and the value tiers start
from. It only builds an Ibis expression (engine-blind, never executed here); run it with
:func:`rapport.analytics.metrics.execute` on the engine of your choice.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import ibis
import ibis.expr.types as ir

from rapport.analytics.metrics_base import FLOAT, MONEY_DECIMALS, exact_sum, purchases, within
from rapport.analytics.periods import Period
from rapport.analytics.sources import Sources
from rapport.errors import ValidationFailed


def rfm_values(src: Sources, as_of: datetime, *, window_days: int) -> ir.Table:
    """Recency, frequency and monetary value of every customer who bought in the window.

    The window is the half-open interval ``[as_of - window_days, as_of)``; purchases are
    completed orders (:func:`rapport.analytics.metrics_base.purchases`: cancelled and
    refunded orders never count, a partial refund is already deducted from ``net_amount``).

    ``recency_days = date(as_of) - date(last purchase before as_of)``
        Whole calendar days (UTC) between the day of ``as_of`` and the day of the
        customer's last purchase: 0 for a purchase earlier on the day of ``as_of``.
    ``frequency = |purchases in [as_of - window_days, as_of)|``
    ``monetary = round(sum(net_amount of those purchases), 2)``
        Revenue in the window, rounded to cents.

    Parameters
    ----------
    src
        The canonical tables.
    as_of
        The moment the values describe, naive UTC (an aware datetime is converted); a
        purchase at exactly ``as_of`` has not happened yet.
    window_days
        Length of the window in days (usually ``rules.activity.window_days``).

    Returns
    -------
    ibis.Table
        ``customer_id`` (int64), ``recency_days`` (int64), ``frequency`` (int64),
        ``monetary`` (float64): one row per customer with at least one purchase in the
        window; customers without one have no row (their RFM is undefined, not zero).

    Raises
    ------
    ValidationFailed
        When ``window_days`` is not positive.

    Examples
    --------
    >>> from rapport.analytics.metrics import execute
    >>> rfm = rfm_values(Sources(engine), datetime(2024, 7, 1), window_days=365)  # doctest: +SKIP
    >>> execute(rfm, engine.con).to_pylist()[0]  # doctest: +SKIP
    {'customer_id': 1, 'recency_days': 42, 'frequency': 3, 'monetary': 600.0}
    """
    if window_days <= 0:
        raise ValidationFailed(
            "the RFM window must be a positive number of days, not {days}",
            field="window_days",
            value=window_days,
            key="rfm_window",
            params={"days": window_days},
        )
    window = Period(as_of - timedelta(days=window_days), as_of)
    p = purchases(src)
    p = p.filter(within(p.ordered_at, window.start, window.end))
    per_customer = p.group_by("customer_id").aggregate(
        last_purchase=p.ordered_at.max(),
        frequency=p.count(),
        revenue=exact_sum(p.net_amount, decimals=MONEY_DECIMALS),
    )
    day_of_as_of = ibis.literal(window.end.date(), type="date")
    return per_customer.select(
        customer_id=per_customer.customer_id.cast("int64"),
        recency_days=day_of_as_of.delta(per_customer.last_purchase.date(), unit="day").cast(
            "int64"
        ),
        frequency=per_customer.frequency.cast("int64"),
        monetary=per_customer.revenue.cast(FLOAT).round(2),
    )
