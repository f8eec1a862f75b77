"""Acquisition funnel (转化漏斗): lead → converted → first purchase → repeat purchase."""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from rapport.analytics.metrics_base import (
    FLOAT,
    before,
    const,
    flag,
    purchases,
    ts,
    union,
    within,
)
from rapport.analytics.periods import Period
from rapport.analytics.sources import Sources
from rapport.config import Rules

#: The funnel's stages, in order.
STAGES = ("leads", "converted", "purchased", "repeat")


def funnel(src: Sources, period: Period, *, rules: Rules | None = None) -> ir.Table:
    """Leads created in the period and how far they got by ``end``.

    Stages, each a subset of the one before:

    ``leads``
        Leads created in ``[start, end)`` (the denominator of ``conversion_rate``).
    ``converted``
        Of those, converted into a customer before ``end`` (its numerator).
    ``purchased``
        Of those, the customer made at least one purchase between the lead's creation and
        ``end``.
    ``repeat``
        Of those, at least two such purchases.

    Parameters
    ----------
    rules
        Accepted for the same call shape as the metrics; the funnel does not depend on them.

    Returns
    -------
    ibis.Table
        ``stage``, ``position`` (1–4), ``count``, ``share_of_leads`` and
        ``share_of_previous`` (percent; null when the base is 0; the first stage's share of
        the previous is null), ordered by ``position``.
    """
    lead = src.leads
    lead = lead.filter(within(lead.created_at, period.start, period.end))
    converted = before(lead.converted_at, period.end)
    lead = lead.mutate(
        _converted=flag(converted),
        _customer=ibis.ifelse(converted, lead.converted_customer_id, ibis.null("int64")),
    )
    p = purchases(src)
    joined = lead.left_join(
        p,
        (lead._customer == p.customer_id)
        & (p.ordered_at >= lead.created_at)
        & (p.ordered_at < ts(period.end)),
    )
    per_lead = joined.group_by(joined.id).aggregate(
        converted=joined._converted.max(),
        bought=joined.ordered_at.count(),
    )
    totals = per_lead.aggregate(
        leads=per_lead.count().cast(FLOAT),
        converted=per_lead.converted.sum().fill_null(const(0)),
        purchased=flag(per_lead.bought >= 1).sum().fill_null(const(0)),
        repeat=flag(per_lead.bought >= 2).sum().fill_null(const(0)),
    )
    rows = []
    for position, stage in enumerate(STAGES, start=1):
        previous = totals[STAGES[position - 2]] if position > 1 else ibis.null(FLOAT)
        rows.append(
            totals.select(
                stage=ibis.literal(stage),
                position=ibis.literal(position, type="int64"),
                count=totals[stage].cast("int64"),
                share_of_leads=totals[stage] * 100 / totals.leads.nullif(const(0)),
                share_of_previous=totals[stage] * 100 / previous.nullif(const(0)),
            )
        )
    return union(*rows).order_by("position")
