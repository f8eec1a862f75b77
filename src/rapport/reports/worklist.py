"""The reports of a salesperson's worklist 我的工作台 that the snapshot reports do not have:
whose birthday falls in a week, and who has not been contacted for some days — and a scope
narrowed to one owner's customers, for a manager looking at one salesperson's worklist.

The worklist's other parts are snapshot reports (:func:`rapport.reports.snapshots.churn_warnings`,
:func:`~rapport.reports.snapshots.diamonds`); these two read the operational tables, so
they follow today, not a snapshot date.

**Birthdays.** A customer's ``birthday`` is a calendar date; it falls on the day of the
week with its month and day (the year of birth plays no part but for the age they turn).
The week is the caller's: :func:`week_of` gives Monday to Sunday of a day, and the caller
takes that day in the business time zone (``RAPPORT_TIMEZONE``, :func:`local_today`), so a
week from Monday 29 December to Sunday 4 January holds the birthdays of 29–31 December and
1–4 January. Someone born on 29 February has their birthday on 28 February in a year
without one (the day before the one that does not exist, as most registries count it).

**Contact.** A customer was *contacted* on a day when an interaction with them
(``interactions``: a call, e-mail, chat, visit, social message or after-sales contact, in
either direction — the customer reaching the business counts as much as the reverse) took
place on it. *Not contacted for N days*: the whole days between the last interaction's
local date and today are at least N, or there has been no interaction at all. Tickets,
orders and survey answers are not contacts; an interaction logged about them is.

**Who is in them.** Customers of the caller's :class:`~rapport.access.CustomerScope`
(``None``: every customer), not deleted (as in every report) and not erased: an erased
customer asked to be forgotten, and a worklist never prompts contacting them. Names and
customer numbers are masked for a masked scope (analysts), as in the snapshot reports;
birthdays are personal data such a scope does not see (:mod:`rapport.masking` removes
them), so :func:`birthdays` refuses it.

**Paging.** Each list is read by keyset, ``limit`` rows after the opaque ``after`` cursor
of the previous page (the sort key and the customer id of its last row): a later page
costs what the first costs. A malformed cursor, or one of the other list, is
:class:`~rapport.errors.ValidationFailed`. Neither list reads every customer in scope: the
birthdays are read a day of the window at a time down the index on the birthday's month and
day (:class:`rapport.store.schema.month_day`), the customers not contacted down the
snapshot's index by predicted CLV, each checked for a recent interaction until the page is
full, then those without a predicted CLV by id (migration 0012).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from rapport.access import CustomerScope
from rapport.errors import Forbidden, ValidationFailed
from rapport.reports.snapshots import _WHO, _who
from rapport.store import schema
from rapport.store.paging import PageRequest

_c = schema.customers.c
_s = schema.customer_scores.c
_i = schema.interactions.c

#: Rows of a page when the caller does not say.
DEFAULT_LIMIT = 20
#: The most rows a page may ask for.
MAX_LIMIT = 500
#: The longest birthday window and contact gap a caller may ask for.
MAX_DAYS = 3660


@dataclass(frozen=True)
class OwnerScope(CustomerScope):
    """A caller's scope narrowed to the customers one user owns: what a manager or an
    admin sees of one salesperson's worklist. Every read through it keeps the caller's own
    rule too, so a manager picking a user outside their team sees nobody."""

    owner_id: int = 0

    def clause(self) -> sa.ColumnElement[bool] | None:
        own = _c.owner_id == self.owner_id
        base = super().clause()
        return own if base is None else sa.and_(base, own)


def owned_by(scope: CustomerScope, owner_id: int | None) -> CustomerScope:
    """``scope`` narrowed to the customers ``owner_id`` owns (``None``: ``scope`` itself)."""
    if owner_id is None:
        return scope
    return OwnerScope(principal=scope.principal, owner_id=owner_id)


@dataclass(frozen=True)
class WorkPage:
    """One page of a worklist report: its rows and the cursor of the next page (``None``:
    the last page)."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    next_cursor: str | None = None


# --- days --------------------------------------------------------------------------------------


def local_today(tz: ZoneInfo, now: dt.datetime | None = None) -> dt.date:
    """Today's date in the business time zone ``tz`` (at ``now``, an aware time; default
    the current time)."""
    moment = now if now is not None else dt.datetime.now(dt.UTC)
    if moment.tzinfo is None:
        raise ValueError("now must be an aware datetime")
    return moment.astimezone(tz).date()


def week_of(day: dt.date) -> dt.date:
    """The Monday of ``day``'s week (Monday to Sunday, the ISO week)."""
    return day - dt.timedelta(days=day.weekday())


def _is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def birthday_in(birthday: dt.date, year: int) -> dt.date:
    """The day ``birthday`` falls on in ``year``: its month and day, 29 February on 28
    February in a year without it."""
    if birthday.month == 2 and birthday.day == 29 and not _is_leap(year):
        return dt.date(year, 2, 28)
    return birthday.replace(year=year)


def _check_days(days: int, name: str) -> None:
    if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= MAX_DAYS:
        raise ValidationFailed(
            "{name} {days!r}: not a number of days from 1 to {maximum}",
            field=name,
            value=days,
            hint="give a whole number of days from 1 to {maximum}",
            key="worklist_days",
            params={"name": name, "days": days, "maximum": MAX_DAYS},
        )


def _check_limit(limit: int) -> None:
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= MAX_LIMIT:
        raise ValidationFailed(
            "limit {limit!r}: not a number of rows from 1 to {maximum}",
            field="limit",
            value=limit,
            hint="give a limit from 1 to {maximum}",
            key="worklist_limit",
            params={"limit": limit, "maximum": MAX_LIMIT},
        )


# --- cursors -----------------------------------------------------------------------------------


def _encode(kind: str, key: Any, customer_id: int) -> str:
    raw = json.dumps([kind, key, customer_id], separators=(",", ":")).encode("utf-8")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _decode(cursor: str, kind: str) -> tuple[Any, int]:
    """The sort key and customer id of a cursor of the list ``kind``."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        made_for, key, customer_id = json.loads(raw)
        if made_for != kind or not isinstance(customer_id, int):
            raise ValueError(cursor)
        return key, customer_id
    except (ValueError, TypeError, binascii.Error, UnicodeError) as exc:
        raise ValidationFailed(
            "after {cursor!r}: not a cursor of the {kind} list",
            field="after",
            value=cursor,
            hint="pass the next_cursor of the previous page unchanged, or leave it out",
            key="worklist_cursor",
            params={"cursor": cursor, "kind": kind},
        ) from exc


# --- the rows ----------------------------------------------------------------------------------


def _current(scope: CustomerScope | None) -> list[sa.ColumnElement[bool]]:
    """Customers of ``scope``, not deleted, not erased."""
    where: list[sa.ColumnElement[bool]] = [_c.deleted_at.is_(None), _c.erased_at.is_(None)]
    clause = None if scope is None else scope.clause()
    if clause is not None:
        where.append(clause)
    return where


def _with_snapshot(as_of: dt.date | None) -> sa.FromClause:
    """Customers with their row of the snapshot ``as_of`` (none: no snapshot columns)."""
    on = sa.and_(_s.customer_id == _c.id, _s.as_of == as_of)
    return schema.customers.outerjoin(schema.customer_scores, on)


def _person(row: dict[str, Any], scope: CustomerScope | None) -> dict[str, Any]:
    """Who a row is about (:func:`rapport.reports.snapshots._who`: masked for a masked
    scope), with their owner and their snapshot's churn risk and predicted CLV."""
    risk, clv = row.get("churn_risk"), row.get("predicted_clv")
    return {
        **_who({**row, "customer_id": row["id"]}, scope),
        "owner_id": row["owner_id"],
        "churn_risk": None if risk is None else float(risk),
        "predicted_clv": None if clv is None else float(clv),
    }


def _columns() -> list[Any]:
    who = [c for c in _WHO if getattr(c, "key", None) != "customer_id"]
    return [_c.id, *who, _c.owner_id, _s.churn_risk, _s.predicted_clv]


def birthdays(
    session: Session,
    *,
    start: dt.date,
    days: int = 7,
    as_of: dt.date | None = None,
    scope: CustomerScope | None = None,
    limit: int = DEFAULT_LIMIT,
    after: str | None = None,
) -> WorkPage:
    """The customers whose birthday falls in the ``days`` days from ``start`` (see the
    module: month and day, 29 February on 28 February in other years), by that day, then
    by customer id.

    Parameters
    ----------
    start
        The first day (the week's Monday: ``week_of(local_today(tz))``).
    as_of
        The snapshot whose value tier, stage, churn risk and predicted CLV come with each
        row (``None``: none).

    Returns
    -------
    WorkPage
        ``rows``: who (``customer_id``, ``external_id``, ``name``, ``city``,
        ``marketable``, ``value_tier``, ``lifecycle_stage``), ``owner_id``,
        ``churn_risk``, ``predicted_clv``, ``birthday``, ``on`` (the day in the window it
        falls on) and ``turns`` (the age that day).

    Raises
    ------
    Forbidden
        For a masked scope (birthdays are masked away for analysts).
    ValidationFailed
        For ``days`` or ``limit`` out of range, or a cursor not of this list.
    """
    _check_days(days, "days")
    _check_limit(limit)
    if scope is not None and scope.masked:
        raise Forbidden(
            "birthdays are personal data the analyst role does not see",
            field="birthday",
            hint="ask a manager or the customer's owner",
            key="birthdays_masked",
        )
    window = [start + dt.timedelta(days=n) for n in range(days)]
    position: dict[int, int] = {}
    for n, day in enumerate(window):
        position.setdefault(day.month * 100 + day.day, n)
        if day.month == 2 and day.day == 28 and not _is_leap(day.year):
            position.setdefault(229, n)  # the birthday of 29 February, this year
    places: dict[int, list[int]] = {}
    for month_day, n in position.items():
        places.setdefault(n, []).append(month_day)
    page = PageRequest(limit=limit)
    last_place, last_id = -1, 0
    if after is not None:
        last_place, last_id = _decode(after, "birthdays")
        if not isinstance(last_place, int):
            raise ValidationFailed(
                "after {cursor!r}: not a cursor of the {kind} list",
                field="after",
                hint="pass the next_cursor of the previous page unchanged, or leave it out",
                key="worklist_cursor",
                params={"cursor": after, "kind": "birthdays"},
            )
    # one day of the window at a time, each a range of the index on the birthday's month
    # and day in customer id order, until the page is full
    found: list[dict[str, Any]] = []
    for place in sorted(places):
        if place < last_place:
            continue
        where = [*_current(scope), schema.birthday_md.in_(places[place])]
        if place == last_place:
            where.append(_c.id > last_id)
        stmt = (
            sa.select(*_columns(), _c.birthday)
            .select_from(_with_snapshot(as_of))
            .where(*where)
            .order_by(_c.id)
            .limit(page.fetch - len(found))
        )
        found.extend({**r, "place": place} for r in session.execute(stmt).mappings())
        if len(found) >= page.fetch:
            break
    shown = page.cut(found, key=lambda r: (int(r["place"]), r["id"]))
    rows = []
    for r in shown.data:
        on = window[int(r["place"])]
        born: dt.date = r["birthday"]
        rows.append(
            {
                **_person(r, scope),
                "birthday": born,
                "on": on,
                "turns": on.year - born.year,
            }
        )
    cursor = None if shown.next_key is None else _encode("birthdays", *shown.next_key)
    return WorkPage(rows=rows, next_cursor=cursor)


def not_contacted(
    session: Session,
    *,
    today: dt.date,
    days: int,
    tz: ZoneInfo,
    as_of: dt.date | None = None,
    scope: CustomerScope | None = None,
    limit: int = DEFAULT_LIMIT,
    after: str | None = None,
) -> WorkPage:
    """The customers not contacted for at least ``days`` days on ``today`` (see the module:
    any interaction, either direction, counted in local days of ``tz``), the most valuable
    first: by the predicted CLV of the snapshot ``as_of`` (none last), then customer id.

    Returns
    -------
    WorkPage
        ``rows``: who (as :func:`birthdays`), ``owner_id``, ``churn_risk``,
        ``predicted_clv``, ``last_contact_at`` (aware UTC; ``None``: never),
        ``last_contact_on`` (its local date) and ``days_since`` (whole local days since;
        ``None``: never).

    Raises
    ------
    ValidationFailed
        For ``days`` or ``limit`` out of range, or a cursor not of this list.
    """
    _check_days(days, "days")
    _check_limit(limit)
    # contacted within the gap: on a local day after today - days
    first_day = today - dt.timedelta(days=days - 1)
    cutoff = dt.datetime.combine(first_day, dt.time(), tzinfo=tz).astimezone(dt.UTC)
    recent = (
        sa.select(sa.literal(1))
        .where(_i.customer_id == _c.id, _i.occurred_at >= cutoff)
        .correlate(schema.customers)
        .exists()
    )
    last = (
        sa.select(sa.func.max(_i.occurred_at))
        .where(_i.customer_id == _c.id)
        .correlate(schema.customers)
        .scalar_subquery()
    )
    where = [*_current(scope), sa.not_(recent)]
    page = PageRequest(limit=limit)
    value = _s.predicted_clv
    worth: Decimal | None = None
    last_id = 0
    if after is not None:
        key, last_id = _decode(after, "not_contacted")
        if key is not None:
            try:
                worth = Decimal(str(key))
            except InvalidOperation as exc:
                raise ValidationFailed(
                    "after {cursor!r}: not a cursor of the {kind} list",
                    field="after",
                    hint="pass the next_cursor of the previous page unchanged, or leave it out",
                    key="worklist_cursor",
                    params={"cursor": after, "kind": "not_contacted"},
                ) from exc
    found: list[dict[str, Any]] = []
    if as_of is not None and (after is None or worth is not None):
        # those with a predicted CLV: the snapshot's rows down its index by CLV, each
        # customer checked (in scope, current, not contacted) until the page is full
        valued = [_s.as_of == as_of, value.is_not(None)]
        if worth is not None:
            valued.append(sa.or_(value < worth, sa.and_(value == worth, _s.customer_id > last_id)))
        picked = (
            sa.select(_s.customer_id)
            .where(*valued, sa.exists().where(_c.id == _s.customer_id, *where))
            .order_by(value.desc(), _s.customer_id)
            .limit(page.fetch)
        )
        ids = list(session.execute(picked).scalars())
        stmt = (
            sa.select(*_columns(), last.label("last_contact_at"))
            .select_from(_with_snapshot(as_of))
            .where(_c.id.in_(ids))
        )
        by_id = {r["id"]: dict(r) for r in session.execute(stmt).mappings()}
        found = [by_id[i] for i in ids]
    if len(found) < page.fetch:
        # then those without one, by customer id
        rest = [*where, value.is_(None)]
        if after is not None and worth is None:
            rest.append(_c.id > last_id)
        stmt = (
            sa.select(*_columns(), last.label("last_contact_at"))
            .select_from(_with_snapshot(as_of))
            .where(*rest)
            .order_by(_c.id)
            .limit(page.fetch - len(found))
        )
        found.extend(dict(r) for r in session.execute(stmt).mappings())
    shown = page.cut(found, key=lambda r: (r["predicted_clv"], r["id"]))
    rows = []
    for r in shown.data:
        moment = _aware(r["last_contact_at"])
        on = None if moment is None else moment.astimezone(tz).date()
        rows.append(
            {
                **_person(r, scope),
                "last_contact_at": moment,
                "last_contact_on": on,
                "days_since": None if on is None else (today - on).days,
            }
        )
    cursor = None
    if shown.next_key is not None:
        worth, last_id = shown.next_key
        cursor = _encode("not_contacted", None if worth is None else str(worth), last_id)
    return WorkPage(rows=rows, next_cursor=cursor)


def _aware(value: Any) -> dt.datetime | None:
    """A timestamp of the store as an aware UTC datetime (SQLite's ``max()`` of a column
    of :class:`~rapport.store.types.UTCDateTime` comes back naive or as text)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)
