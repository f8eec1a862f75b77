"""A customer's activity timeline, merged from its sources rather than stored twice.

Orders, interactions, service tickets, survey answers and behaviour events of one customer
become one table of ``at, source, kind, detail, value``, newest first.
"""

from __future__ import annotations

from datetime import datetime

import ibis
import ibis.expr.types as ir

from rapport.analytics.metrics_base import FLOAT, ts, union
from rapport.analytics.sources import Sources

#: The sources of the timeline, in the order shown for entries at the same instant.
SOURCES = ("orders", "interactions", "tickets", "survey_responses", "events")


def _entry(
    table: ir.Table,
    source: str,
    *,
    at: ir.Value,
    kind: ir.Value,
    detail: ir.Value,
    value: ir.Value | None = None,
) -> ir.Table:
    return table.select(
        at=at,
        source=ibis.literal(source),
        kind=kind.cast("string"),
        detail=detail.cast("string"),
        value=(value if value is not None else ibis.null()).cast(FLOAT),
        entry_id=table.id.cast("int64"),
    )


def timeline(
    src: Sources, customer_id: int, *, limit: int = 20, before: datetime | None = None
) -> ir.Table:
    """The latest ``limit`` entries of one customer's timeline (before ``before``, if given).

    Returns
    -------
    ibis.Table
        ``at`` (naive UTC), ``source`` (the table), ``kind`` (order status, interaction
        channel, ticket kind, survey kind, event kind), ``detail`` (order channel,
        interaction subject, ticket status, survey scale such as ``1–5``, event channel),
        ``value`` (an order's net amount, a survey answer's score) and ``entry_id`` (the
        row's id in its table), newest first.
    """
    o, i, t, s, e = (getattr(src, name) for name in SOURCES)
    o = o.filter(o.customer_id == customer_id)
    i = i.filter(i.customer_id == customer_id)
    t = t.filter(t.customer_id == customer_id)
    s = s.filter(s.customer_id == customer_id)
    e = e.filter(e.customer_id == customer_id)
    scale = (
        s.scale_min.cast("int64").cast("string")
        + ibis.literal("–")
        + s.scale_max.cast("int64").cast("string")
    )
    entries = union(
        _entry(o, "orders", at=o.ordered_at, kind=o.status, detail=o.channel, value=o.net_amount),
        _entry(i, "interactions", at=i.occurred_at, kind=i.channel, detail=i.subject),
        _entry(t, "tickets", at=t.opened_at, kind=t.kind, detail=t.status),
        _entry(s, "survey_responses", at=s.responded_at, kind=s.kind, detail=scale, value=s.score),
        _entry(e, "events", at=e.occurred_at, kind=e.kind, detail=e.channel),
    )
    if before is not None:
        entries = entries.filter(entries.at < ts(before))
    position = entries.source.cases(*((name, i) for i, name in enumerate(SOURCES)))
    return entries.order_by([ibis.desc(entries.at), position, ibis.desc(entries.entry_id)]).limit(
        limit
    )
