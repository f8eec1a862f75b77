"""Who entered or left a value tier between two score snapshots, and why.

:func:`rapport.reports.snapshots.movements` counts the customers per ``(from, to)`` pair;
:func:`tier_movers` names them for one tier — the diamonds gained and lost since the
previous snapshot — and :func:`tier_mover_counts` counts them (reading the tier's rows of
the two snapshots, not every pair). The reasons come from
:func:`rapport.reports.tiers.tier_reasons` on the later snapshot: for a customer who
entered, the checks of the tier they meet; for one who left, the checks of the tier above
their new one that they fail (for a diamond now gold, exactly the diamond checks that
failed). Customers are counted as ``movements`` counts them: in the caller's scope, not
deleted, a customer in only one of the two snapshots moving from or to none.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from rapport.access import CustomerScope
from rapport.config import Rules
from rapport.domain import ValueTier
from rapport.errors import ValidationFailed
from rapport.reports.snapshots import _customers, _plain, _who
from rapport.reports.tiers import next_tier, tier_reasons
from rapport.store import schema
from rapport.store.customers import marketable_clause

_s = schema.customer_scores
_c = schema.customers.c
#: The later snapshot's columns the reasons are read from.
_REASON_INPUTS = (
    "loyalty",
    "satisfaction",
    "engagement",
    "churn_risk",
    "lifecycle_stage",
    "components",
)


def previous_snapshot(session: Session, day: dt.date) -> dt.date | None:
    """The latest snapshot date before ``day`` (``None``: there is none); one read of the
    index on ``customer_scores.as_of``."""
    stmt = sa.select(sa.func.max(_s.c.as_of)).where(_s.c.as_of < day)
    found: dt.date | None = session.execute(stmt).scalar()
    return found


def _moved(
    tier: ValueTier, before: dt.date, after: dt.date
) -> tuple[sa.FromClause, Any, Any, sa.ColumnElement[bool], sa.ColumnElement[bool]]:
    """Customers with a row in ``tier`` in either snapshot, joined to both snapshots' rows;
    and the conditions "in ``tier`` before" and "in ``tier`` after" (never null). Read from
    the snapshots' rows of ``tier`` (the index on ``as_of``), not from every customer."""
    a = _s.alias("before_scores")
    b = _s.alias("after_scores")
    ids = (
        sa.select(_s.c.customer_id)
        .where(_s.c.as_of.in_([before, after]), _s.c.value_tier == tier.value)
        .distinct()
        .subquery("moved")
    )
    joined = (
        ids.join(schema.customers, _c.id == ids.c.customer_id)
        .outerjoin(a, sa.and_(a.c.customer_id == _c.id, a.c.as_of == before))
        .outerjoin(b, sa.and_(b.c.customer_id == _c.id, b.c.as_of == after))
    )
    was = sa.func.coalesce(a.c.value_tier == tier.value, False)
    now = sa.func.coalesce(b.c.value_tier == tier.value, False)
    return joined, a, b, was, now


def _check_dates(before: dt.date, after: dt.date) -> None:
    if before >= after:
        raise ValidationFailed(
            "before {before} is not earlier than after {after}",
            field="before",
            hint="give the earlier snapshot date first",
            key="movers_dates",
            params={"before": before, "after": after},
        )


def tier_mover_counts(
    session: Session,
    *,
    tier: ValueTier,
    before: dt.date,
    after: dt.date,
    scope: CustomerScope | None = None,
) -> dict[str, int]:
    """How many customers entered (``"in"``) and left (``"out"``) ``tier`` between the
    snapshots dated ``before`` and ``after``: the customers :func:`tier_movers` lists, as
    :func:`rapport.reports.snapshots.movements` counts them."""
    _check_dates(before, after)
    moved, _, _, was, now = _moved(tier, before, after)
    stmt = (
        sa.select(
            sa.func.sum(sa.case((now, 1), else_=0)).label("in"),
            sa.func.sum(sa.case((was, 1), else_=0)).label("out"),
        )
        .select_from(moved)
        .where(*_customers(scope), was != now)
    )
    found = session.execute(stmt).mappings().one()
    return {"in": int(found["in"] or 0), "out": int(found["out"] or 0)}


def tier_movers(
    session: Session,
    *,
    tier: ValueTier,
    before: dt.date,
    after: dt.date,
    rules: Rules,
    locale: str,
    scope: CustomerScope | None = None,
    limit: int = 100,
) -> list[dict[str, Any]]:
    """The customers in ``tier`` in one of the snapshots dated ``before`` and ``after`` but
    not in the other: those who left first, then those who entered; each by the later
    snapshot's window revenue, highest first (none last), then by customer id.

    Returns
    -------
    list of dict
        At most ``limit`` rows: who (``customer_id``, ``external_id``, ``name``,
        ``city``, ``marketable``, and the later snapshot's ``value_tier`` and
        ``lifecycle_stage``; masked for a masked scope), ``direction`` (``"out"`` or
        ``"in"``), ``from`` and ``to`` (the tiers; ``None``: no tier or no snapshot row),
        ``monetary`` and ``churn_risk`` of the later snapshot, ``reasons`` (the checks
        met, entering; the checks failed of ``reasons_tier``, leaving) and ``reasons_tier``.
    """
    found = tier_movers_in(
        session,
        tier=tier,
        before=before,
        after=after,
        rules=rules,
        locales=(locale,),
        scope=scope,
        limits=(limit,),
    )
    return found[locale, limit]


def tier_movers_in(
    session: Session,
    *,
    tier: ValueTier,
    before: dt.date,
    after: dt.date,
    rules: Rules,
    locales: tuple[str, ...],
    scope: CustomerScope | None = None,
    limits: tuple[int, ...] = (100,),
) -> dict[tuple[str, int], list[dict[str, Any]]]:
    """:func:`tier_movers` in each of ``locales`` and with each of ``limits`` (the list of
    each ``(locale, limit)``), from one read of the snapshots: the lists are in one order,
    so a shorter one is the start of the longest, and only the reasons' wording differs
    from one locale to another."""
    _check_dates(before, after)
    if not limits or min(limits) < 1:
        raise ValidationFailed(
            "limit {limit!r}",
            field="limit",
            hint="give a limit of 1 or more",
            key="limit_refused",
            params={"limit": min(limits, default=None)},
            hint_key="limit_positive.hint",
        )
    moved, a, b, was, now = _moved(tier, before, after)
    leaving = sa.case((was, 0), else_=1)
    stmt = (
        sa.select(
            _c.id.label("customer_id"),
            _c.external_id,
            _c.name,
            _c.city,
            sa.case((marketable_clause(), True), else_=False).label("marketable"),
            a.c.value_tier.label("from"),
            b.c.value_tier,
            b.c.monetary,
            *(b.c[name] for name in _REASON_INPUTS),
        )
        .select_from(moved)
        .where(*_customers(scope), was != now)
        .order_by(leaving, sa.nulls_last(b.c.monetary.desc()), _c.id)
        .limit(max(limits))
    )
    read = [dict(found) for found in session.execute(stmt).mappings()]
    lists = {}
    for locale in locales:
        rows = []
        for r in read:
            entered = _plain(r["value_tier"]) == tier.value
            met, lacking = tier_reasons(r, rules, locale)
            rows.append(
                {
                    **_who(r, scope),
                    "direction": "in" if entered else "out",
                    "from": _plain(r["from"]),
                    "to": _plain(r["value_tier"]),
                    "monetary": None if r["monetary"] is None else float(r["monetary"]),
                    "churn_risk": None if r["churn_risk"] is None else float(r["churn_risk"]),
                    "reasons": met if entered else lacking,
                    "reasons_tier": tier.value if entered else _value(next_tier(r)),
                }
            )
        for limit in limits:
            lists[locale, limit] = rows[:limit]
    return lists


def _value(tier: ValueTier | None) -> str | None:
    return None if tier is None else tier.value
