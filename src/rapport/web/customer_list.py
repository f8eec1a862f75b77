"""The customer list of the workspace: search, filters, sorting and keyset paging, within a
:class:`~rapport.access.CustomerScope`.

Each customer comes with their scores of the latest snapshot (``customer_scores`` joined on
its primary key ``(customer_id, as_of)``). Paging is by keyset, never by ``OFFSET``: the
cursor holds the sort key and the id of the last row shown, and the next page starts after
them, so page 1,000 costs what page 1 costs. Sorted by id, a page is a range read of the
customers' primary key; a manager's, whose scope is the unowned customers or their team's,
a merge of one range of the owner index per owner
(:meth:`~rapport.access.CustomerScope.owner_ranges`); a service agent's starts from their
tickets' customers. A filter on the owner or the city uses its index; the count stops at
:data:`COUNT_LIMIT`. Sorted by name, a page walks the index on the name (of everyone, or
of one owner: a manager's pages merge one range of it per owner, as in the id order);
sorted by a score, the snapshot's index on that score, highest first, each row checked
against the scope and the filters until the page is full (:func:`walked_ids`), unless so
few customers match that reading them all and sorting them costs less. Text search
goes through :func:`rapport.store.customers.search_select` (name, phone, e-mail, customer
number, tags; Chinese text as typed), as the API's does, its matches capped at
:data:`SEARCH_SCAN_LIMIT`.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from rapport.access import CustomerScope
from rapport.domain import LifecycleStage, Role, ValueTier
from rapport.reports.prepared import latest_snapshot
from rapport.store import customers, schema
from rapport.store.db import one_of
from rapport.store.paging import PageRequest, SortKey, beyond

_c = schema.customers.c
_s = schema.customer_scores
_u = schema.users
PAGE_SIZE = 25
SEARCH_SCAN_LIMIT = 10_000
#: Matches counted at most: beyond, the list says "more than 10,000" (counting a million
#: rows costs seconds; the first 10,001 cost milliseconds).
COUNT_LIMIT = 10_000

#: Owner ranges merged for one page at most (:meth:`~rapport.access.CustomerScope.owner_ranges`):
#: a team of more users reads its page with the scope's condition (SQLite allows 500 terms
#: in a compound SELECT).
MAX_RANGES = 200

#: Sort orders: name → (descending, kind of key). Score sorts put customers without a
#: snapshot last.
SORTS: dict[str, tuple[bool, str]] = {
    "id": (False, "int"),
    "name": (False, "text"),
    "relationship_index": (True, "float"),
    "predicted_clv": (True, "decimal"),
    "churn_risk": (True, "float"),
}


@dataclass(frozen=True)
class CustomerQuery:
    """What the list shows: text, filters, sort and the cursor of the page."""

    q: str | None = None
    tier: ValueTier | None = None
    stage: LifecycleStage | None = None
    segment: str | None = None
    owner_id: int | None = None
    unowned: bool = False
    city: str | None = None
    marketable: bool | None = None
    sort: str = "id"
    after: str | None = None
    limit: int = PAGE_SIZE


@dataclass
class CustomerPage:
    rows: list[dict[str, Any]]
    count: int
    as_of: Any
    next_cursor: str | None
    searched: bool = False
    capped: bool = False  # the text matched more customers than the search examines
    more_than_count: bool = False  # more than ``count`` (= COUNT_LIMIT) customers match


#: Sorts by a column of the snapshot, each walked in order on an index of the snapshot
#: (``as_of``, the column highest first, the customer): scores are never negative, so the
#: customers without one (key ``-1``) come after every scored one.
SCORE_SORTS = ("relationship_index", "predicted_clv", "churn_risk")

#: Snapshot rows a page sorted by a score may read in the snapshot's order (estimated from
#: how many customers match) before the matching customers are read and sorted instead.
WALK_LIMIT = 100_000


def _sort_key(sort: str) -> sa.ColumnElement[Any]:
    if sort == "id":
        return _c.id
    if sort == "name":
        return schema.name_key
    return sa.func.coalesce(_s.c[sort], -1)


def _order(sort: str) -> list[SortKey]:
    """The keys of a list sorted by ``sort``: its key, then the customer id."""
    if sort == "id":
        return [SortKey(_c.id)]
    return [SortKey(_sort_key(sort), descending=SORTS[sort][0]), SortKey(_c.id)]


def _past(order: list[SortKey], after: tuple[Any, int] | None) -> list[sa.ColumnElement[bool]]:
    """The conditions of the rows after the cursor ``after`` in ``order``: the keyset
    condition, and the sort key's bound alone so that an index on the key starts there."""
    if after is None:
        return []
    key, last_id = after
    if len(order) == 1:
        return [_c.id > last_id]
    first = order[0]
    bound = first.column <= key if first.descending else first.column >= key
    return [bound, beyond(order, (key, last_id))]


def _ordered(order: list[SortKey]) -> list[sa.ColumnElement[Any]]:
    return [s.column.desc() if s.descending else s.column.asc() for s in order]


def encode_cursor(sort: str, key: Any, last_id: int) -> str:
    shown = str(key) if isinstance(key, Decimal) else key
    raw = json.dumps([sort, shown, last_id], ensure_ascii=False).encode("utf-8")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def decode_cursor(cursor: str | None, sort: str) -> tuple[Any, int] | None:
    """The ``(key, id)`` of a cursor for ``sort``; ``None`` for none or a cursor that is
    malformed or of another sort (the list starts from its first page)."""
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        made_for, key, last_id = json.loads(raw)
        kind = SORTS[sort][1]
        if made_for != sort or not isinstance(last_id, int):
            return None
        if kind == "int":
            key = int(key)
        elif kind == "float":
            key = float(key)
        elif kind == "decimal":
            key = Decimal(str(key))
        elif not isinstance(key, str):
            return None
        return key, last_id
    except (ValueError, TypeError, KeyError, InvalidOperation, json.JSONDecodeError):
        return None


def _score_conditions(query: CustomerQuery, as_of: Any) -> sa.ColumnElement[bool] | None:
    """The filters on the latest snapshot, as ``EXISTS`` on its primary key: the page is
    still read in the customers' order (a join condition would let the database start from
    the snapshot's rows and sort them all)."""
    s = _s.alias("filter_scores")
    found: list[sa.ColumnElement[bool]] = []
    if query.tier is not None:
        found.append(s.c.value_tier == query.tier)
    if query.stage is not None:
        found.append(s.c.lifecycle_stage == query.stage)
    if query.segment:
        found.append(s.c.rfm_segment == query.segment)
    if not found:
        return None
    inside = sa.select(sa.literal(1)).where(s.c.customer_id == _c.id, s.c.as_of == as_of, *found)
    return inside.exists()


def page_rows(
    session: Session,
    scope: CustomerScope,
    query: CustomerQuery,
    *,
    as_of: Any,
    filters: list[sa.ColumnElement[bool]],
    matches: int,
) -> list[dict[str, Any]]:
    """The rows of ``query``'s page (up to its limit and one more, which tells that another
    page follows) under ``filters`` (:func:`filters_of`) in ``scope``, of which ``matches``
    customers match (counted up to :data:`COUNT_LIMIT` and one more).

    * In the id or the name order with no owner chosen, the first rows after the cursor of
      each owner range of the scope (:meth:`~rapport.access.CustomerScope.owner_ranges`: a
      manager's unowned customers and each team member's) are merged, rather than the
      scope's customers sorted.
    * By a score, the snapshot is read in the score's order (:func:`walked_ids`) when the
      matches are many enough that a page is found early (:func:`_walks`); else the
      matching customers are read and sorted.
    * A service agent's page by name walks the index on the name on the same condition
      (:func:`_walks_names`), each customer checked against the agent's tickets."""
    ranges = None
    if query.sort in ("id", "name") and query.owner_id is None and not query.unowned:
        ranges = scope.owner_ranges(session)
    clause = scope.clause()
    scoped = filters if clause is None else [clause, *filters]
    if ranges is not None and 2 <= len(ranges) <= MAX_RANGES:
        stmt = page_statement(filters, query, as_of, ranges=ranges)
    elif _walks_names(scope, query) and _walks(session, query, matches):
        probe = scope.probe_clause()
        stmt = page_statement(filters if probe is None else [probe, *filters], query, as_of)
    elif query.sort in SCORE_SORTS and as_of is not None and _walks(session, query, matches):
        ids = walked_ids(session, query, as_of, scoped)
        stmt = page_statement([_c.id.in_(ids)], _first_page(query), as_of)
    else:
        stmt = page_statement(scoped, query, as_of)
    return [dict(r) for r in session.execute(stmt).mappings()]


def _walks_names(scope: CustomerScope, query: CustomerQuery) -> bool:
    """Whether a service agent's page sorted by name may walk the index on the name,
    each customer checked against the agent's tickets (:meth:`CustomerScope.probe_clause`):
    when no filter of the customers' own (a text, the owner, the city) would have the page
    start from its index instead."""
    return (
        query.sort == "name"
        and scope.principal.role is Role.SERVICE
        and not query.q
        and query.owner_id is None
        and not query.unowned
        and not query.city
    )


def _first_page(query: CustomerQuery) -> CustomerQuery:
    return CustomerQuery(**{**query.__dict__, "after": None})


def _walks(session: Session, query: CustomerQuery, matches: int) -> bool:
    """Whether a page sorted by a score reads the snapshot in the score's order
    (:func:`walked_ids`) rather than every matching customer, sorted: when the rows it
    reads before the page is full, about the page's size times the customers per match
    (the customers' highest id over ``matches``), stay within :data:`WALK_LIMIT`."""
    highest = session.execute(sa.select(sa.func.max(_c.id))).scalar_one() or 0
    fetch = PageRequest(limit=query.limit).fetch
    return fetch * highest <= WALK_LIMIT * max(matches, 1)


def walked_ids(
    session: Session, query: CustomerQuery, as_of: Any, where: list[sa.ColumnElement[bool]]
) -> list[int]:
    """The ids of the page of ``query`` (sorted by a score of :data:`SCORE_SORTS`) among
    the customers ``where`` selects, read in the score's order: first the snapshot's rows
    with the score, on its index (highest first, then customer), each customer checked
    against ``where`` until the page is full; then, if the page is not, the customers
    without the score, in id order."""
    column = _s.c[query.sort]
    fetch = PageRequest(limit=query.limit).fetch
    after = decode_cursor(query.after, query.sort)
    customer = sa.select(sa.literal(1)).where(_c.id == _s.c.customer_id, *where).exists()
    ids: list[int] = []
    if after is None or after[0] >= 0:
        later: list[sa.ColumnElement[bool]] = []
        if after is not None:
            key, last_id = after
            order = [SortKey(column, descending=True), SortKey(_s.c.customer_id)]
            later = [column <= key, beyond(order, (key, last_id))]
        scored = (
            sa.select(_s.c.customer_id)
            .where(_s.c.as_of == as_of, column.is_not(None), customer, *later)
            .order_by(column.desc(), _s.c.customer_id)
            .limit(fetch)
        )
        ids = list(session.execute(scored).scalars())
    if len(ids) < fetch:
        s = _s.alias("scored")
        valued = sa.select(sa.literal(1)).where(
            s.c.customer_id == _c.id, s.c.as_of == as_of, s.c[query.sort].is_not(None)
        )
        later = [] if after is None or after[0] >= 0 else [_c.id > after[1]]
        rest = (
            sa.select(_c.id)
            .where(*where, ~valued.exists(), *later)
            .order_by(_c.id)
            .limit(fetch - len(ids))
        )
        ids += session.execute(rest).scalars()
    return ids


def filters_of(
    session: Session, scope: CustomerScope, query: CustomerQuery, as_of: Any
) -> tuple[list[sa.ColumnElement[bool]], bool, bool]:
    """The WHERE conditions of ``query`` with the snapshot of ``as_of``, but the scope's own
    condition (:func:`page_rows` adds it, or reads the scope's owner ranges); whether a
    text search ran (in ``scope``) and whether its matches were capped."""
    where: list[sa.ColumnElement[bool]] = [_c.deleted_at.is_(None)]
    searched = capped = False
    if query.q and not scope.masked:
        owner = query.owner_id
        if scope.principal.role is Role.SALES:  # their ownership inside the search itself
            owner = scope.principal.user_id
        found = customers.search_select(
            session=session, text=query.q, limit=SEARCH_SCAN_LIMIT, owner_id=owner
        ).with_only_columns(_c.id)
        ids = list(session.execute(found).scalars())
        dialect = session.get_bind().dialect.name
        where.append(one_of(_c.id, ids, dialect=dialect) if ids else sa.false())
        searched, capped = True, len(ids) >= SEARCH_SCAN_LIMIT
    scored = _score_conditions(query, as_of)
    if scored is not None:
        where.append(scored)
    if query.unowned:
        where.append(_c.owner_id.is_(None))
    elif query.owner_id is not None:
        where.append(_c.owner_id == query.owner_id)
    if query.city:
        where.append(_c.city == query.city)
    if query.marketable is not None:
        rule = sa.and_(
            _c.marketing_consent.is_(True),
            _c.marketing_opt_out.is_(False),
            _c.erased_at.is_(None),
        )
        where.append(rule if query.marketable else sa.not_(rule))
    return where, searched, capped


def _joined(as_of: Any) -> sa.FromClause:
    scores_on = sa.and_(_s.c.customer_id == _c.id, _s.c.as_of == as_of)
    return schema.customers.outerjoin(_s, scores_on).outerjoin(_u, _u.c.id == _c.owner_id)


def page_statement(
    where: list[sa.ColumnElement[bool]],
    query: CustomerQuery,
    as_of: Any,
    *,
    ranges: list[sa.ColumnElement[bool]] | None = None,
) -> sa.Select:
    """The SELECT of one page (:attr:`~rapport.store.paging.PageRequest.fetch` rows: the
    extra one says a next page exists).

    With ``ranges`` (:meth:`~rapport.access.CustomerScope.owner_ranges`, for the id or the
    name order; ``where`` then without the scope's condition), the page's ids are the first
    of each range after the cursor, each read in order from an index on the owner
    (``ix_customers_owner_id``, ``ix_customers_owner_id_name_key``), merged: a manager's
    first page reads a few rows of each owner instead of sorting every customer of the team
    and the unowned pool."""
    key = _sort_key(query.sort)
    order = _order(query.sort)
    fetch = PageRequest(limit=query.limit).fetch
    after = decode_cursor(query.after, query.sort)
    if ranges is not None and query.sort in ("id", "name"):
        arms = [
            sa.select(_c.id)
            .where(r, *where, *_past(order, after))
            .order_by(*_ordered(order))
            .limit(fetch)
            .correlate(None)
            .subquery()
            .select()
            for r in ranges
        ]
        where = [_c.id.in_(sa.union_all(*arms) if len(arms) > 1 else arms[0])]
        after = None
    stmt = sa.select(
        schema.customers,
        key.label("sort_key"),
        _s.c.value_tier,
        _s.c.lifecycle_stage,
        _s.c.rfm_segment,
        _s.c.relationship_index,
        _s.c.predicted_clv,
        _s.c.churn_risk,
        sa.func.coalesce(_u.c.display_name, _u.c.username).label("owner_name"),
    ).select_from(_joined(as_of))
    return stmt.where(*where, *_past(order, after)).order_by(*_ordered(order)).limit(fetch)


def count_matches(
    session: Session, scope: CustomerScope, filters: list[sa.ColumnElement[bool]], as_of: Any
) -> int:
    """How many customers of ``scope`` ``filters`` (:func:`filters_of`) select, counted up
    to :data:`COUNT_LIMIT` and one more."""
    clause = scope.clause()
    where = filters if clause is None else [clause, *filters]
    matches = sa.select(sa.literal(1)).select_from(_joined(as_of)).where(*where)
    return session.execute(
        sa.select(sa.func.count()).select_from(matches.limit(COUNT_LIMIT + 1).subquery())
    ).scalar_one()


def list_customers(*, session: Session, scope: CustomerScope, query: CustomerQuery) -> CustomerPage:
    """One page of the customers ``query`` selects in ``scope``, with how many match (at
    most :data:`COUNT_LIMIT`; ``more_than_count`` says there are more).

    Rows are the customer's columns, their latest snapshot's tier, stage, segment,
    relationship index, predicted CLV and churn risk, and the owner's name; personal data
    is not masked here (the caller masks for a masked scope).
    """
    if query.sort not in SORTS:
        query = CustomerQuery(**{**query.__dict__, "sort": "id", "after": None})
    as_of = latest_snapshot(session)
    filters, searched, capped = filters_of(session, scope, query, as_of)
    count = count_matches(session, scope, filters, as_of)
    found = page_rows(session, scope, query, as_of=as_of, filters=filters, matches=count)
    page = PageRequest(limit=query.limit).cut(
        found, count=count, key=lambda r: (r["sort_key"], r["id"])
    )
    cursor = None if page.next_key is None else encode_cursor(query.sort, *page.next_key)
    return CustomerPage(
        rows=page.data,
        count=min(count, COUNT_LIMIT),
        as_of=as_of,
        next_cursor=cursor,
        searched=searched,
        capped=capped,
        more_than_count=count > COUNT_LIMIT,
    )


def owners(session: Session, scope: CustomerScope) -> list[dict[str, Any]]:
    """The users who own customers in ``scope`` (for the owner filter), by name."""
    stmt = (
        sa.select(_u.c.id, sa.func.coalesce(_u.c.display_name, _u.c.username).label("name"))
        .where(scope.owns(_u.c.id))
        .order_by("name")
    )
    return [dict(r) for r in session.execute(stmt).mappings()]
