"""Reports over the stored score snapshots (``customer_scores``): group sizes and averages,
movements between two snapshots, the diamond customers.

A snapshot is read as of its date; without a date, the latest one stored.
"""

from __future__ import annotations

import datetime as dt

import ibis
import ibis.expr.types as ir

from rapport.analytics.degrees import DEGREES
from rapport.analytics.metrics_base import FLOAT
from rapport.analytics.sources import Sources
from rapport.domain import ValueTier

#: Groupings of :func:`group_summary`.
GROUPINGS = ("rfm_segment", "value_tier", "lifecycle_stage")
AVERAGED = (*DEGREES, "relationship_index")


def snapshot(src: Sources, as_of: dt.date | None = None) -> ir.Table:
    """The rows of the snapshot dated ``as_of`` (default: the latest date stored)."""
    s = src.customer_scores
    if as_of is None:
        return s.filter(s.as_of == s.as_of.max())
    return s.filter(s.as_of == ibis.literal(as_of, type="date"))


def group_summary(snap: ir.Table, by: str) -> ir.Table:
    """Per value of ``by`` (one of :data:`GROUPINGS`; null is a group too): ``customers``,
    ``customer_share`` (% of the snapshot's customers), ``revenue`` (sum of ``monetary``,
    the RFM window's revenue), ``revenue_share`` (% of the snapshot's revenue, null when
    it is 0) and the mean of each degree and of the relationship index (over the customers
    for whom it is known)."""
    if by not in GROUPINGS:
        raise ValueError(f"group by one of {GROUPINGS}, not {by!r}")
    g = snap.group_by(group=snap[by]).aggregate(
        customers=snap.count(),
        revenue=snap.monetary.sum().cast(FLOAT).fill_null(0),
        **{f"avg_{name}": snap[name].mean().cast(FLOAT) for name in AVERAGED},
    )
    total_customers = g.customers.sum().over()
    total_revenue = g.revenue.sum().over()
    return g.mutate(
        customer_share=g.customers.cast(FLOAT) * 100 / total_customers.cast(FLOAT),
        revenue_share=g.revenue * 100 / total_revenue.nullif(0),
    )


def movements(src: Sources, by: str, *, before: dt.date, after: dt.date) -> ir.Table:
    """Customers per ``(from, to)`` pair of ``by`` between the snapshots dated ``before``
    and ``after``: who moved from gold to silver, from active to at_risk … A customer in
    only one of the two snapshots moves from or to null."""
    if by not in GROUPINGS:
        raise ValueError(f"movements of one of {GROUPINGS}, not {by!r}")
    a = snapshot(src, before).select(_id_a="customer_id", from_=by)
    b = snapshot(src, after).select(_id_b="customer_id", to=by)
    j = a.outer_join(b, a._id_a == b._id_b)
    return j.group_by(["from_", "to"]).aggregate(customers=j.count()).rename(**{"from": "from_"})


def diamonds(src: Sources, snap: ir.Table, *, limit: int = 50) -> ir.Table:
    """The diamond customers of ``snap`` with their name and the scores that put them
    there, highest window revenue first."""
    s = snap.filter(snap.value_tier == ValueTier.DIAMOND.value)
    c = src.customers.select(_cid="id", name="name", external_id="external_id", city="city")
    j = s.left_join(c, s.customer_id == c._cid)
    j = j.select(
        "customer_id",
        "external_id",
        "name",
        "city",
        "monetary",
        "frequency",
        "recency_days",
        *AVERAGED,
        "rfm_segment",
        "lifecycle_stage",
        "churn_risk",
        "predicted_clv",
        "components",
    )
    return j.order_by([ibis.desc(j.monetary), j.customer_id]).limit(limit)
