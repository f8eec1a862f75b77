"""The loyalty programme in figures: matched evaluation strata, ledger flows, membership and
programme tiers month by month (docs/loyalty.md "Does the programme work?").

Expressions only, as every analytics module: the report (:mod:`rapport.reports.loyalty`)
executes them and does the arithmetic on the small tables they return.

*Matching.* A member who joined at ``J`` is observed at ``J``; a non-member is observed at
the start of every local calendar month in which members joined (their *pseudo-join*
date). An observation's baseline is its purchases and spend in the ``baseline`` before
the reference date and its tenure (days since the first purchase or the registration,
whichever came first); its outcomes are its purchases and their net amount in the
``window`` after it (``[ref, ref + window)``). A non-member observed at ``r`` must have
started before ``r`` and not joined before ``r + window`` (a non-member throughout the
window). :func:`strata` bins the baselines and sums the outcomes per stratum.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import ibis
import ibis.expr.types as ir
import pyarrow as pa

from rapport.analytics.metrics_base import FLOAT, const, purchases, seconds, ts, within
from rapport.analytics.periods import Period
from rapport.analytics.sources import Sources

DAY_SECONDS = 86_400.0


def _live(src: Sources) -> ir.Table:
    """Customers not deleted or erased."""
    c = src.customers
    return c.filter(c.deleted_at.isnull() & c.erased_at.isnull())


def relationship_start(src: Sources) -> ir.Table:
    """``customer_id``, ``start_s``: epoch seconds of the earlier of the customer's first
    purchase and registration (``created_at``)."""
    c = _live(src)
    p = purchases(src)
    first = p.group_by("customer_id").aggregate(first_s=seconds(p.ordered_at.min()))
    j = c.left_join(first, c.id == first.customer_id)
    created = seconds(j.created_at)
    return j.select(
        customer_id=j.id,
        start_s=ibis.least(created.fill_null(j.first_s), j.first_s.fill_null(created)),
        joined_s=seconds(j.loyalty_joined_at),
        city=j.city.fill_null(""),
        source_channel=j.source_channel.fill_null(""),
    )


def count_if(condition: ir.BooleanValue) -> ir.IntegerScalar:
    """How many rows ``condition`` holds for (a null condition does not count); every
    engine, PostgreSQL too, which cannot cast a boolean to an integer."""
    return ibis.ifelse(condition.fill_null(False), 1, 0).cast("int64").sum()


def _month_index(column: ir.TimestampValue, months: Sequence[Period]) -> ir.IntegerValue:
    """The index of the month of ``months`` holding ``column`` (null between them)."""
    return ibis.cases(
        *(((column >= ts(m.start)) & (column < ts(m.end)), i) for i, m in enumerate(months)),
        else_=ibis.null("int64"),
    )


def observations(
    src: Sources,
    months: Sequence[Period],
    *,
    window: dt.timedelta,
    baseline: dt.timedelta,
) -> ir.Table:
    """Members who joined in ``months`` and non-members observed at each month's start.

    Parameters
    ----------
    months
        Local calendar months in order (the last may end early), not necessarily
        consecutive: a member joined in one of them is evaluated; non-members are observed
        at each one's ``start``. The caller ends the last month ``window`` before the
        analysis, so every window is complete, and passes only months in which members
        joined (a month without members matches nobody: its non-members would be observed
        for nothing).
    window, baseline
        The outcome window after the reference date and the baseline before it.

    Returns
    -------
    ibis.Table
        ``member`` (bool), ``month`` (index in ``months``), ``customer_id``,
        ``tenure_days``, ``base_orders``, ``base_spend``, ``city``, ``source_channel``,
        ``purchases`` and ``revenue`` (in the window).
    """
    if not months:
        raise ValueError("no months to observe")
    w, b = window.total_seconds(), baseline.total_seconds()
    people = relationship_start(src)
    c = _live(src)
    joined = c.filter(within(c.loyalty_joined_at, months[0].start, months[-1].end))
    members = joined.select(
        customer_id=joined.id.cast("int64"),
        month=_month_index(joined.loyalty_joined_at, months).cast("int64"),
        ref_s=seconds(joined.loyalty_joined_at).cast(FLOAT),
    )
    members = members.filter(members.month.notnull())
    members = members.mutate(member=ibis.literal(True))
    refs = ibis.memtable(
        pa.table(
            {
                "month": pa.array(range(len(months)), pa.int64()),
                "ref_s": pa.array(
                    [(m.start - dt.datetime(1970, 1, 1)).total_seconds() for m in months],
                    pa.float64(),
                ),
            }
        )
    )
    grid = people.cross_join(refs)
    others = grid.filter(
        grid.start_s.notnull()
        & (grid.start_s < grid.ref_s)
        & (grid.joined_s.isnull() | (grid.joined_s >= grid.ref_s + w))
    ).select(
        customer_id=grid.customer_id.cast("int64"),
        month=grid.month.cast("int64"),
        ref_s=grid.ref_s.cast(FLOAT),
        member=ibis.literal(False),
    )
    obs = members.union(others)
    obs = obs.inner_join(people, obs.customer_id == people.customer_id).select(
        obs.member,
        obs.month,
        obs.customer_id,
        obs.ref_s,
        tenure_days=(ibis.greatest(obs.ref_s - people.start_s, const(0)) / DAY_SECONDS).fill_null(
            const(0)
        ),
        city=people.city,
        source_channel=people.source_channel,
    )
    p = purchases(src)
    p = p.select("customer_id", at_s=seconds(p.ordered_at), amount=p.net_amount.cast(FLOAT))
    near = obs.inner_join(
        p,
        (obs.customer_id == p.customer_id) & (p.at_s >= obs.ref_s - b) & (p.at_s < obs.ref_s + w),
    )
    before = near.at_s < near.ref_s
    after = near.at_s >= near.ref_s
    sums = near.group_by(["member", "month", "customer_id"]).aggregate(
        base_orders=near.at_s.count(where=before),
        base_spend=near.amount.sum(where=before),
        purchases=near.at_s.count(where=after),
        revenue=near.amount.sum(where=after),
    )
    out = obs.left_join(
        sums,
        (obs.member == sums.member)
        & (obs.month == sums.month)
        & (obs.customer_id == sums.customer_id),
    )
    return out.select(
        member=out.member,
        month=out.month,
        customer_id=out.customer_id,
        tenure_days=out.tenure_days,
        base_orders=out.base_orders.fill_null(0).cast("int64"),
        base_spend=out.base_spend.fill_null(0).cast(FLOAT),
        city=out.city,
        source_channel=out.source_channel,
        purchases=out.purchases.fill_null(0).cast("int64"),
        revenue=out.revenue.fill_null(0).cast(FLOAT),
    )


def _bin(value: ir.NumericValue, edges: Sequence[float]) -> ir.IntegerValue:
    """0 below the first edge, ``i`` in ``[edges[i-1], edges[i])``, ``len(edges)`` above
    (every value in bin 0 without edges: e.g. no spend to cut into bins)."""
    if not edges:
        return ibis.literal(0, type="int64")
    return ibis.cases(
        *((value < const(edge), i) for i, edge in enumerate(edges)),
        else_=len(edges),
    )


def strata(
    obs: ir.Table,
    *,
    order_edges: Sequence[int],
    spend_edges: Sequence[float],
    tenure_edges: Sequence[int],
    match_on: Sequence[str] = (),
) -> ir.Table:
    """Sufficient statistics of the outcomes per group (members or not) and stratum.

    A stratum is the month, the bin of ``base_orders`` (``order_edges``), of
    ``base_spend`` (0 for no spend, then ``spend_edges``), of ``tenure_days``
    (``tenure_edges``) and the columns ``match_on`` (``city``, ``source_channel``).

    Returns
    -------
    ibis.Table
        ``member``, ``stratum`` (a text key), ``n``, ``buyers`` (customers with a purchase
        in the window), ``purchases``, ``purchases_sq``, ``revenue``, ``revenue_sq``,
        ``aov`` and ``aov_sq`` (sums over the buyers of their revenue / purchases).
    """
    spend = ibis.ifelse(obs.base_spend > const(0), _bin(obs.base_spend, spend_edges) + 1, 0)
    parts = [
        obs.month.cast("string"),
        _bin(obs.base_orders.cast(FLOAT), order_edges).cast("string"),
        spend.cast("string"),
        _bin(obs.tenure_days, tenure_edges).cast("string"),
        *(obs[column] for column in match_on),
    ]
    key = parts[0]
    for part in parts[1:]:
        key = key.concat("|", part)
    count = obs.purchases.cast(FLOAT)
    t = obs.mutate(
        stratum=key,
        _bought=ibis.ifelse(obs.purchases > 0, 1, 0).cast("int64"),
        _count=count,
        _aov=ibis.ifelse(obs.purchases > 0, obs.revenue / count, const(0)),
    )
    return t.group_by(["member", "stratum"]).aggregate(
        n=t.count(),
        buyers=t._bought.sum(),
        purchases=t._count.sum(),
        purchases_sq=(t._count * t._count).sum(),
        revenue=t.revenue.sum(),
        revenue_sq=(t.revenue * t.revenue).sum(),
        aov=t._aov.sum(),
        aov_sq=(t._aov * t._aov).sum(),
    )


def ledger_flows(src: Sources, *, since: dt.datetime, until: dt.datetime) -> ir.Table:
    """Points by ledger reason before ``until``: ``reason``, ``points`` (all of them) and
    ``points_window`` (those of ``[since, until)``), ``entries``."""
    led = src.loyalty_ledger
    led = led.filter(led.occurred_at < ts(until))
    return led.group_by("reason").aggregate(
        points=led.points.sum().cast("int64"),
        points_window=led.points.sum(where=led.occurred_at >= ts(since)).fill_null(0).cast("int64"),
        entries=led.count(),
    )


def membership(src: Sources, *, as_of: dt.datetime, activity: dt.timedelta) -> ir.Table:
    """One row: ``members`` (joined before ``as_of``), ``active`` (buyers with a purchase
    in ``[as_of - activity, as_of)``), ``active_members`` (both) and ``balance`` (the
    points of the ledger before ``as_of``, all customers)."""
    c = _live(src)
    p = purchases(src)
    recent = p.filter(within(p.ordered_at, as_of - activity, as_of))
    active = recent.select("customer_id").distinct()
    people = c.select(
        customer_id=c.id, member=c.loyalty_joined_at.notnull() & (c.loyalty_joined_at < ts(as_of))
    )
    j = people.left_join(active, people.customer_id == active.customer_id)
    is_active = j.customer_id_right.notnull()
    led = src.loyalty_ledger
    led = led.filter(led.occurred_at < ts(as_of))
    balances = led.group_by("customer_id").aggregate(points=led.points.sum())
    counts = j.aggregate(
        members=count_if(j.member),
        active=count_if(is_active),
        active_members=count_if(j.member & is_active),
    )
    points = balances.aggregate(balance=balances.points.sum().fill_null(0).cast("int64"))
    return counts.cross_join(points)


def tier_months(src: Sources, boundaries: Sequence[dt.datetime], codes: Sequence[str]) -> ir.Table:
    """Each member's programme tier at the end of each month and at its start, from the
    history of tier changes (``loyalty_tier_changes``, :mod:`rapport.store.loyalty_tiers`).

    ``boundaries`` are ``b_0 < b_1 < … < b_n``: month ``i`` is ``[b_i, b_(i+1))``. A
    member's tier at a moment is the ``to_tier`` of their latest change before it (by
    ``changed_at``, then ``id``); a member without one has no tier yet. ``codes`` are the
    tiers from the lowest to the highest.

    Returns
    -------
    ibis.Table
        ``month`` (0 … n-1), ``customer_id``, ``rank`` (the tier's index in ``codes`` at
        the month's end; -1 for a tier no longer configured), ``previous_rank`` (at its
        start; null when the member had no tier then) and ``tier`` (the code), one row per
        member with a tier and month.
    """
    live = _live(src).select(live_id=ibis._.id)
    ch = src.loyalty_tier_changes
    ch = ch.inner_join(live, ch.customer_id == live.live_id).select(
        "id", "customer_id", "to_tier", "changed_at"
    )
    ends = ibis.memtable(
        pa.table(
            {
                "month": pa.array(range(-1, len(boundaries) - 1), pa.int64()),
                "end_at": pa.array(list(boundaries), pa.timestamp("us")),
            }
        )
    )
    seen = ch.cross_join(ends)
    seen = seen.filter(seen.changed_at < seen.end_at)
    latest = seen.group_by(["customer_id", "month"]).aggregate(at=seen.changed_at.max())
    last = seen.inner_join(
        latest,
        (seen.customer_id == latest.customer_id)
        & (seen.month == latest.month)
        & (seen.changed_at == latest.at),
    )
    last_id = last.group_by([last.customer_id, last.month]).aggregate(last_id=last.id.max())
    held = seen.inner_join(
        last_id,
        (seen.customer_id == last_id.customer_id)
        & (seen.month == last_id.month)
        & (seen.id == last_id.last_id),
    ).select(seen.customer_id, seen.month, seen.to_tier)
    rank = held.to_tier.cases(*((code, i) for i, code in enumerate(codes)), else_=-1)
    ranked = held.mutate(rank=rank.cast("int64"))
    prev = ranked.select(
        p_customer=ranked.customer_id, p_month=ranked.month + 1, p_rank=ranked["rank"]
    )
    now = ranked.filter(ranked.month >= 0)
    out = now.left_join(prev, (now.customer_id == prev.p_customer) & (now.month == prev.p_month))
    return out.select(
        month=out.month,
        customer_id=out.customer_id,
        rank=out["rank"],
        previous_rank=out.p_rank,
        tier=out.to_tier,
    )


def tier_counts(months: ir.Table) -> ir.Table:
    """Members per ``month`` and ``tier`` of :func:`tier_months`: ``members``."""
    return months.group_by(["month", "tier"]).aggregate(members=months.count())


def tier_moves(months: ir.Table) -> ir.Table:
    """Per ``month`` of :func:`tier_months`: ``upgrades`` and ``downgrades`` (a higher or
    lower tier at the month's end than at its start) and ``joined`` (a first tier)."""
    return months.group_by("month").aggregate(
        upgrades=count_if(months["rank"] > months.previous_rank),
        downgrades=count_if(months["rank"] < months.previous_rank),
        joined=count_if(months.previous_rank.isnull()),
    )
