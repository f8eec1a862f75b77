"""Service metrics (服务): first response and resolution times, SLA attainment.

Everything is judged as of ``end``: a response or resolution that happens after ``end`` had
not happened yet. Durations are hours from ``opened_at``. A ticket is resolved at
``resolved_at``, or ``closed_at`` when it was closed without a resolution stamp.

SLA targets are the ticket's own ``first_response_due_at`` and ``resolution_due_at`` (the
store and the importer set them from the priority's targets when the ticket is opened);
where one is missing, ``opened_at`` plus the priority's target hours of
``rules.sla`` is used.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from rapport.analytics.metrics_base import (
    FLOAT,
    before,
    const,
    epoch,
    flag,
    hours_between,
    median,
    parts,
    rate,
    seconds,
    within,
)
from rapport.analytics.periods import Period
from rapport.analytics.sources import Sources
from rapport.config import Rules
from rapport.domain import TicketPriority
from rapport.errors import ValidationFailed

#: Ticket columns :func:`service_levels` can break results down by.
SERVICE_DIMENSIONS = ("priority", "channel", "kind")


def _target_seconds(priority: ir.StringValue, hours: dict[TicketPriority, float]) -> ir.Value:
    """The target of ``priority`` in seconds (null for an unknown priority)."""
    return priority.cases(
        *((p.value, const(h * 3600)) for p, h in hours.items()), else_=ibis.null(FLOAT)
    )


def timed_tickets(src: Sources, period: Period, *, rules: Rules) -> ir.Table:
    """Every ticket with its measured times and SLA outcome as of ``end``.

    Added columns: ``opened`` (opened in the period), ``response_hours`` /
    ``resolution_hours`` (null unless responded / resolved before ``end``), ``due`` (the
    resolution due time falls in the period) and ``met`` (responded by the response due
    time and resolved by the resolution due time).
    """
    t = src.tickets
    end = period.end
    opened_s = seconds(t.opened_at)
    resolved_at = t.resolved_at.coalesce(t.closed_at)
    response_due = seconds(t.first_response_due_at).coalesce(
        opened_s + _target_seconds(t.priority, rules.sla.first_response_hours)
    )
    resolution_due = seconds(t.resolution_due_at).coalesce(
        opened_s + _target_seconds(t.priority, rules.sla.resolution_hours)
    )
    responded = before(t.first_response_at, end)
    resolved = before(resolved_at, end)
    met = (
        responded
        & (seconds(t.first_response_at) <= response_due)
        & resolved
        & (seconds(resolved_at) <= resolution_due)
    )
    return t.mutate(
        opened=within(t.opened_at, period.start, end),
        response_hours=ibis.ifelse(
            responded, hours_between(t.opened_at, t.first_response_at), ibis.null(FLOAT)
        ),
        resolution_hours=ibis.ifelse(
            resolved, hours_between(t.opened_at, resolved_at), ibis.null(FLOAT)
        ),
        due=(resolution_due >= const(epoch(period.start))) & (resolution_due < const(epoch(end))),
        met=met.fill_null(False),
    )


def first_response_time(
    src: Sources, period: Period, *, rules: Rules, by: ir.Table | None = None
) -> ir.Table:
    """首次响应时长 — median time to the first response.

    ``first_response_time = median(first_response_at - opened_at)`` in hours, over tickets
    opened in ``[start, end)`` and answered before ``end``

    Returns
    -------
    ibis.Table
        ``numerator`` = tickets answered, ``denominator`` = tickets opened in the period,
        ``value`` = the median in hours (interpolated for an even count); null when none
        was answered.

    Notes
    -----
    Tickets not answered by ``end`` are left out of the median but counted in the
    denominator: ``denominator - numerator`` tickets were still unanswered.
    """
    t = timed_tickets(src, period, rules=rules)
    t = t.filter(t.opened)
    return median(parts(t, t.customer_id, x=t.response_hours), by)


def resolution_time(
    src: Sources, period: Period, *, rules: Rules, by: ir.Table | None = None
) -> ir.Table:
    """解决时长 — median time to resolution.

    ``resolution_time = median(resolved_at - opened_at)`` in hours, over tickets opened in
    ``[start, end)`` and resolved before ``end`` (``closed_at`` where no ``resolved_at``)

    Returns
    -------
    ibis.Table
        ``numerator`` = tickets resolved, ``denominator`` = tickets opened in the period,
        ``value`` = the median in hours; null when none was resolved.
    """
    t = timed_tickets(src, period, rules=rules)
    t = t.filter(t.opened)
    return median(parts(t, t.customer_id, x=t.resolution_hours), by)


def sla_attainment(
    src: Sources, period: Period, *, rules: Rules, by: ir.Table | None = None
) -> ir.Table:
    """SLA达成率 — share of the tickets due in the period that met their targets.

    ``sla_attainment = tickets due in [start, end) answered by first_response_due_at and
    resolved by resolution_due_at / tickets due in [start, end) * 100``

    Returns
    -------
    ibis.Table
        ``numerator`` = tickets that met both targets, ``denominator`` = tickets due,
        ``value`` in percent.

    Notes
    -----
    A ticket is *due in the period* when its resolution due time falls in
    ``[start, end)``, whenever it was opened. A ticket still unanswered or unresolved at
    ``end`` is past due, so it counts as missed. A missing due time is ``opened_at`` plus
    the priority's target of ``rules.sla``.
    """
    t = timed_tickets(src, period, rules=rules)
    t = t.filter(t.due)
    return rate(parts(t, t.customer_id, num=flag(t.met), den=const(1)), by)


def service_levels(
    src: Sources, period: Period, *, rules: Rules, dimension: str = "priority"
) -> ir.Table:
    """Service figures per ticket ``priority``, ``channel`` or ``kind``.

    Returns
    -------
    ibis.Table
        One row per value of ``dimension`` (null channel included): ``tickets_opened``,
        ``answered``, ``first_response_hours`` (median), ``resolved``,
        ``resolution_hours`` (median), ``tickets_due``, ``sla_met`` and ``sla_attainment``
        (percent, null when nothing was due) — the same definitions as
        :func:`first_response_time`, :func:`resolution_time` and :func:`sla_attainment`.
    """
    if dimension not in SERVICE_DIMENSIONS:
        raise ValidationFailed(
            "cannot break service levels down by {dimension!r}",
            field="dimension",
            value=dimension,
            hint="use one of: {choices}",
            key="service_dimension",
            params={"dimension": dimension, "choices": ", ".join(SERVICE_DIMENSIONS)},
            hint_key="option_value_unknown.hint",
        )
    t = timed_tickets(src, period, rules=rules)
    t = t.filter(t.opened | t.due)
    # times of the tickets opened in the period only (null for those merely due in it);
    # a filtered median (``where=``) does not compile on Spark
    none = ibis.null(FLOAT)
    t = t.mutate(
        response_hours=ibis.ifelse(t.opened, t.response_hours, none),
        resolution_hours=ibis.ifelse(t.opened, t.resolution_hours, none),
    )
    out = t.aggregate(
        by=[t[dimension]],
        tickets_opened=flag(t.opened).sum().cast("int64"),
        answered=t.response_hours.count(),
        first_response_hours=t.response_hours.median(),
        resolved=t.resolution_hours.count(),
        resolution_hours=t.resolution_hours.median(),
        tickets_due=flag(t.due).sum().cast("int64"),
        sla_met=flag(t.due & t.met).sum().cast("int64"),
    )
    return out.mutate(
        sla_attainment=out.sla_met.cast(FLOAT) * 100 / out.tickets_due.cast(FLOAT).nullif(const(0))
    ).order_by(dimension)
