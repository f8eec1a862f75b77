"""Plain counts and totals of what the store holds (the demo's and `status`'s figures)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from rapport.domain import DEFAULT_PURCHASE_STATUSES, TicketKind, TicketStatus
from rapport.store import schema


@dataclass(frozen=True)
class StoreSummary:
    rows: dict[str, int]
    first_order_at: dt.datetime | None
    last_order_at: dt.datetime | None
    buyers: int
    repeat_buyers: int
    purchases: int
    revenue: Decimal
    currencies: list[str]
    complaints: int
    open_tickets: int
    loyalty_points: int


def summarize(
    *, session: Session, purchase_statuses: Iterable[str] = DEFAULT_PURCHASE_STATUSES
) -> StoreSummary:
    """Row counts per table and a few totals over purchases, tickets and points.

    ``purchase_statuses`` are the order statuses that count as purchases (the business
    rule ``[business] purchase_statuses``)."""
    o = schema.orders
    rows = {
        t.name: int(session.execute(sa.select(sa.func.count()).select_from(t)).scalar_one())
        for t in schema.TABLES
    }
    completed = o.c.status.in_([str(s) for s in purchase_statuses])
    per_buyer = (
        sa.select(o.c.customer_id, sa.func.count().label("n"))
        .where(completed)
        .group_by(o.c.customer_id)
        .subquery()
    )
    buyers, repeat = session.execute(
        sa.select(sa.func.count(), sa.func.count().filter(per_buyer.c.n >= 2))
    ).one()
    first, last, n_orders, revenue = session.execute(
        sa.select(
            sa.func.min(o.c.ordered_at),
            sa.func.max(o.c.ordered_at),
            sa.func.count(),
            sa.func.coalesce(sa.func.sum(o.c.net_amount), 0),
        ).where(completed)
    ).one()
    currencies = list(session.execute(sa.select(o.c.currency).distinct()).scalars())
    tk = schema.tickets
    complaints, open_tickets = session.execute(
        sa.select(
            sa.func.count().filter(tk.c.kind == TicketKind.COMPLAINT.value),
            sa.func.count().filter(
                tk.c.status.notin_([TicketStatus.RESOLVED.value, TicketStatus.CLOSED.value])
            ),
        )
    ).one()
    points = session.execute(
        sa.select(sa.func.coalesce(sa.func.sum(schema.loyalty_ledger.c.points), 0))
    ).scalar_one()
    return StoreSummary(
        rows=rows,
        first_order_at=first,
        last_order_at=last,
        buyers=int(buyers),
        repeat_buyers=int(repeat),
        purchases=int(n_orders),
        revenue=Decimal(str(revenue)).quantize(Decimal("0.01")),
        currencies=sorted(currencies),
        complaints=int(complaints),
        open_tickets=int(open_tickets),
        loyalty_points=int(points),
    )


#: The customer activity whose latest time marks where the store's data ends: each table
#: with the column that dates one of its rows.
ACTIVITY_TIMES: tuple[tuple[sa.Table, str], ...] = (
    (schema.orders, "ordered_at"),
    (schema.events, "occurred_at"),
    (schema.interactions, "occurred_at"),
    (schema.tickets, "opened_at"),
    (schema.survey_responses, "responded_at"),
)


def last_activity_at(*, session: Session) -> dt.datetime | None:
    """The latest moment (UTC) of any order, event, interaction, ticket or survey
    answer in the store; ``None`` when it holds none.

    A store filled from an export ends on the day of the export: scoring a later day would
    read the days without data as customers doing nothing.
    """
    latest = [
        session.execute(sa.select(sa.func.max(table.c[column]))).scalar()
        for table, column in ACTIVITY_TIMES
    ]
    return max((moment for moment in latest if moment is not None), default=None)


def last_activity_day(*, session: Session, tz: dt.tzinfo) -> dt.date | None:
    """The local date (in ``tz``) of :func:`last_activity_at`; ``None`` without activity."""
    moment = last_activity_at(session=session)
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(tz).date()


def default_score_day(*, session: Session, tz: dt.tzinfo) -> tuple[dt.date, bool]:
    """The day to score when none is given: today in ``tz``, or the last day with data
    (:func:`last_activity_day`) when every activity of the store ends before today; and
    whether it is that last day (to say so)."""
    today = dt.datetime.now(tz).date()
    last = last_activity_day(session=session, tz=tz)
    if last is not None and last < today:
        return last, True
    return today, False
