"""The customer list's sorted keyset paging (:mod:`rapport.web.customer_list`) on SQLite and
PostgreSQL: every sort (id, name, the latest snapshot's scores) in every kind of scope
(admin, a manager of a team, a manager without one, sales users, a service agent) and under
the filters pages through exactly the customers an independent reading of the tables gives,
in the order it gives, whichever query plan produces the pages ("ranges": a manager's owner
ranges merged; "walk": the snapshot's index read in score order; "sort": the plain
statement), each plan forced in turn; cursors inside ties and in the part without a score
continue where they should; and SQLite's plans read the indexes made for these sorts."""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

from rapport.access import CustomerScope, Principal
from rapport.domain import Role, TicketKind, TicketPriority, TicketStatus, ValueTier
from rapport.store import schema
from rapport.store.db import create_engine
from rapport.web import customer_list
from rapport.web.customer_list import (
    SCORE_SORTS,
    SORTS,
    CustomerPage,
    CustomerQuery,
    encode_cursor,
    list_customers,
)
from tests.helpers import statement_plans
from tests.store.factories import ext, user

_c = schema.customers.c
_s = schema.customer_scores.c
_u = schema.users.c

#: The two snapshots: only the later one counts.
OLD, NEW = dt.date(2031, 3, 31), dt.date(2031, 6, 30)
CUSTOMERS = 150
#: A small page, so that a list has many pages and their ends fall inside ties.
LIMIT = 7
#: Names with duplicates, none and the empty one (both sort as ``''``), Chinese and Latin.
NAMES: tuple[str | None, ...] = (
    "张伟",
    "王芳",
    None,
    "Li Na",
    "",
    "李娜",
    "Wei Zhang",
    "陈静",
    "Zhang Wei",
    "刘洋",
    "Émile",
    "anna",
    "Anna",
    "张三丰",
    "王芳",
)
#: Who owns customer ``i``: ``OWNERS[i % len(OWNERS)]`` (``None``: nobody).
OWNERS: tuple[str | None, ...] = (
    None,
    "sales",
    "sales_b",
    "other_sales",
    "manager",
    "lone_manager",
    None,
    "sales",
    "sales_b",
    "admin",
)
CITIES: tuple[str | None, ...] = ("上海市", "北京市", "杭州市", None)
#: The scopes each test reads the list in (keys of :attr:`Store.people`).
SCOPES = ("admin", "manager", "lone_manager", "sales", "other_sales", "service")
#: Plans forced through the module's thresholds: "fast" lets every page take the ranges
#: or the walk where they apply; "plain" makes every page read the plain statement.
MODES = ("fast", "plain")
#: The module's own bound on merged owner ranges, restored by the "fast" mode.
MAX_RANGES = customer_list.MAX_RANGES


@dataclass
class Store:
    """A store of :data:`CUSTOMERS` customers built by :func:`build`, read through
    :meth:`session` (on PostgreSQL, inside a transaction rolled back at the end)."""

    engine: Engine
    people: dict[str, Principal]
    connection: Connection | None = None

    @contextmanager
    def session(self) -> Iterator[Session]:
        if self.connection is None:
            with Session(self.engine) as session:
                yield session
        else:
            session = Session(bind=self.connection, join_transaction_mode="create_savepoint")
            try:
                yield session
            finally:
                session.close()


def build(session: Session) -> dict[str, Principal]:
    """Users (an admin; a manager of a team of two sales users; a sales user of another
    team; a manager without a team), :data:`CUSTOMERS` customers (some unowned, some
    deleted) and two snapshots: the older has a row of every customer, scores reversed and
    other tiers; the latest leaves some customers out, some scores null, has ties, and
    gives the deleted customers the highest scores (so a list that showed them would show
    them first). The people by key, as principals."""
    east, west = ext("east"), ext("west")
    roles = {
        "admin": (Role.ADMIN, None),
        "manager": (Role.MANAGER, east),
        "sales": (Role.SALES, east),
        "sales_b": (Role.SALES, east),
        "other_sales": (Role.SALES, west),
        "lone_manager": (Role.MANAGER, None),
        "service": (Role.SERVICE, None),
    }
    people: dict[str, Principal] = {}
    for key, (role, team) in roles.items():
        row = user(session, role=role, team=team, display_name=key)
        people[key] = Principal(row["id"], row["username"], role, team, "t")
    now = dt.datetime(2031, 7, 1, 8, tzinfo=dt.UTC)
    rows = []
    for i in range(CUSTOMERS):
        owner = OWNERS[i % len(OWNERS)]
        rows.append(
            {
                "external_id": ext("C"),
                "name": NAMES[i * 7 % len(NAMES)],
                "owner_id": None if owner is None else people[owner].user_id,
                "city": CITIES[i * 3 % len(CITIES)],
                "created_at": now,
                "updated_at": now,
                "deleted_at": now if i % 29 == 11 else None,
            }
        )
    session.execute(sa.insert(schema.customers), rows)
    ids = list(session.execute(sa.select(_c.id).order_by(_c.id)).scalars())[-CUSTOMERS:]
    # the service agent's customers: a ticket assigned to them (two for some), every
    # fourth customer, deleted ones among them; the next ones' tickets are another user's
    session.execute(
        sa.insert(schema.tickets),
        [
            {
                "external_id": ext("T"),
                "customer_id": cid,
                "kind": TicketKind.COMPLAINT,
                "priority": TicketPriority.NORMAL,
                "status": TicketStatus.OPEN,
                "assignee_id": people["service" if i % 4 == 1 else "sales"].user_id,
                "opened_at": now,
                "created_at": now,
                "updated_at": now,
            }
            for i, cid in enumerate(ids)
            for _ in range(1 + (i % 8 == 1))
            if i % 4 in (1, 2)
        ],
    )
    tiers = list(ValueTier)
    snapshots = []
    for i, cid in enumerate(ids):
        index = float(i * 37 % 21 * 5)  # 0 … 100, ties
        risk = i * 17 % 11 / 10  # 0.0 … 1.0, ties
        clv = Decimal(f"{i * 29 % 16 * 125}.{50 if i % 2 else 0:02d}")  # 0.00 …, ties
        tier = tiers[i // 3 % len(tiers)]
        common = {"customer_id": cid, "computed_at": now, "components": None}
        snapshots.append(
            {
                **common,
                "as_of": OLD,
                "relationship_index": 100 - index,
                "predicted_clv": Decimal("10000.00") - clv,
                "churn_risk": 1 - risk,
                "value_tier": tiers[(i // 3 + 1) % len(tiers)],
            }
        )
        if i % 11 == 3:
            continue  # not in the latest snapshot
        if i % 29 == 11:  # deleted
            index, risk, clv, tier = 100.0, 1.0, Decimal("99999.99"), ValueTier.GOLD
        snapshots.append(
            {
                **common,
                "as_of": NEW,
                "relationship_index": None if i % 13 == 4 else index,
                "predicted_clv": None if i % 9 == 2 else clv,
                "churn_risk": None if i % 7 == 1 else risk,
                "value_tier": tier,
            }
        )
    session.execute(sa.insert(schema.customer_scores), snapshots)
    return people


@pytest.fixture(scope="module")
def sqlite_store(
    tmp_path_factory: pytest.TempPathFactory, _sqlite_template: Path
) -> Iterator[Store]:
    """The store on SQLite, committed to a file of this module's."""
    path = tmp_path_factory.mktemp("customer-sorts") / "store.db"
    path.write_bytes(_sqlite_template.read_bytes())
    engine = create_engine(f"sqlite:///{path}")
    with Session(engine) as session:
        people = build(session)
        session.commit()
    yield Store(engine=engine, people=people)
    engine.dispose()


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def backend(request: pytest.FixtureRequest) -> str:
    """The store backend under test, once per module (the store is built once each)."""
    return str(request.param)


@pytest.fixture(scope="module")
def store(backend: str, request: pytest.FixtureRequest) -> Iterator[Store]:
    """The store on ``backend``: on PostgreSQL, built in the session's migrated database
    inside a transaction that is rolled back when the module ends."""
    if backend == "sqlite":
        yield request.getfixturevalue("sqlite_store")
        return
    engine: Engine = request.getfixturevalue("_postgres_migrated")
    with engine.connect() as conn:
        outer = conn.begin()
        try:
            with Session(bind=conn, join_transaction_mode="create_savepoint") as session:
                people = build(session)
                session.commit()
            yield Store(engine=engine, people=people, connection=conn)
        finally:
            outer.rollback()


# --- the expected lists, from plain reads of the tables --------------------------------------


@dataclass(frozen=True)
class Tables:
    """What the expected lists are computed from: every customer, the latest snapshot's
    rows by customer, each user's team, and the store's order of names."""

    customers: dict[int, dict[str, Any]]
    latest: dict[int, dict[str, Any]]
    teams: dict[int, str | None]
    name_rank: dict[str, int]
    highest_id: int
    served: dict[int, set[int]]  # a service agent's customers (of their tickets)


def read_tables(session: Session) -> Tables:
    customers = {
        r["id"]: dict(r)
        for r in session.execute(
            sa.select(_c.id, _c.name, _c.owner_id, _c.city, _c.deleted_at)
        ).mappings()
    }
    as_of = session.execute(sa.select(sa.func.max(_s.as_of))).scalar_one()
    assert as_of == NEW
    latest = {
        r["customer_id"]: dict(r)
        for r in session.execute(
            sa.select(_s.customer_id, _s.value_tier, *(_s[sort] for sort in SCORE_SORTS)).where(
                _s.as_of == as_of
            )
        ).mappings()
    }
    teams = {r.id: r.team for r in session.execute(sa.select(_u.id, _u.team))}
    t = schema.tickets.c
    served: dict[int, set[int]] = {}
    for assignee, customer_id in session.execute(
        sa.select(t.assignee_id, t.customer_id).where(t.assignee_id.is_not(None))
    ):
        served.setdefault(assignee, set()).add(customer_id)
    # the store's collation orders names (SQLite: by code point; PostgreSQL: the
    # database's): each distinct name's rank in it, a missing name ranked as ''
    ordered = session.execute(
        sa.select(_c.name).where(_c.name.is_not(None)).group_by(_c.name).order_by(_c.name)
    ).scalars()
    name_rank = {name: rank for rank, name in enumerate(ordered)}
    assert "" in name_rank
    return Tables(
        customers=customers,
        latest=latest,
        teams=teams,
        name_rank=name_rank,
        highest_id=max(customers),
        served=served,
    )


def in_scope(tables: Tables, p: Principal, customer: dict[str, Any]) -> bool:
    """Whether ``customer`` is in ``p``'s scope: the rule of
    :class:`~rapport.access.CustomerScope`, restated."""
    owner_id = customer["owner_id"]
    if p.role is Role.ADMIN:
        return True
    if p.role is Role.SERVICE:
        return customer["id"] in tables.served.get(p.user_id, set())
    if p.role is Role.SALES:
        return owner_id == p.user_id
    assert p.role is Role.MANAGER
    if owner_id is None:
        return True
    if p.team is None:
        return owner_id == p.user_id
    return tables.teams.get(owner_id) == p.team


def score_of(tables: Tables, sort: str, customer_id: int) -> Any:
    row = tables.latest.get(customer_id)
    return None if row is None else row[sort]


def sort_key(tables: Tables, sort: str, cid: int) -> tuple[Any, ...]:
    """Where customer ``cid`` stands in the list sorted by ``sort``."""
    if sort == "id":
        return (cid,)
    if sort == "name":
        return (tables.name_rank[tables.customers[cid]["name"] or ""], cid)
    score = score_of(tables, sort, cid)
    return (1, 0, cid) if score is None else (0, -score, cid)


def expected_ids(tables: Tables, p: Principal, query: CustomerQuery) -> list[int]:
    """The ids ``query`` lists for ``p``, in order: not deleted, in scope, through the
    filters (the tier of the latest snapshot), sorted."""

    def selected(c: dict[str, Any]) -> bool:
        latest = tables.latest.get(c["id"])
        return (
            c["deleted_at"] is None
            and in_scope(tables, p, c)
            and (query.tier is None or (latest is not None and latest["value_tier"] == query.tier))
            and (query.city is None or c["city"] == query.city)
            and (query.owner_id is None or c["owner_id"] == query.owner_id)
            and (not query.unowned or c["owner_id"] is None)
        )

    chosen = [cid for cid, c in tables.customers.items() if selected(c)]
    return sorted(chosen, key=lambda cid: sort_key(tables, query.sort, cid))


def queries(store: Store) -> dict[str, dict[str, Any]]:
    """The filters each list is read with, by label."""
    return {
        "all": {},
        "tier": {"tier": ValueTier.GOLD},
        "city": {"city": "上海市"},
        "owner": {"owner_id": store.people["sales"].user_id},
        "unowned": {"unowned": True},
    }


# --- reading the list, and which plan read it --------------------------------------------------


@dataclass
class PlanSpy:
    """Which plan produced each page: :func:`~rapport.web.customer_list.page_statement`
    given owner ranges ("ranges"), :func:`~rapport.web.customer_list.walked_ids` called
    ("walk"), a service agent's scope probed customer by customer ("probe":
    :meth:`~rapport.access.CustomerScope.probe_clause`), none of them ("sort")."""

    events: list[str] = field(default_factory=list)

    def install(self, monkeypatch: pytest.MonkeyPatch) -> PlanSpy:
        walked = customer_list.walked_ids
        statement = customer_list.page_statement

        def walking(*args: Any, **kwargs: Any) -> list[int]:
            self.events.append("walk")
            return walked(*args, **kwargs)

        def stating(*args: Any, ranges: Any = None, **kwargs: Any) -> sa.Select:
            if ranges is not None:
                self.events.append("ranges")
            return statement(*args, ranges=ranges, **kwargs)

        probe = CustomerScope.probe_clause

        def probing(scope: CustomerScope) -> sa.ColumnElement[bool] | None:
            self.events.append("probe")
            return probe(scope)

        monkeypatch.setattr(customer_list, "walked_ids", walking)
        monkeypatch.setattr(customer_list, "page_statement", stating)
        monkeypatch.setattr(CustomerScope, "probe_clause", probing)
        return self

    def take(self) -> str:
        """The plan of the page read since the last call."""
        events, self.events = self.events, []
        assert len(events) <= 1, events
        return events[0] if events else "sort"


def force(monkeypatch: pytest.MonkeyPatch, mode: str) -> None:
    """Make every page take the ranges or the walk where they apply ("fast"), or neither
    ("plain")."""
    if mode == "fast":
        monkeypatch.setattr(customer_list, "WALK_LIMIT", 10**15)
        monkeypatch.setattr(customer_list, "MAX_RANGES", MAX_RANGES)
    else:
        monkeypatch.setattr(customer_list, "WALK_LIMIT", 0)
        monkeypatch.setattr(customer_list, "MAX_RANGES", 0)


def every_page(
    session: Session,
    p: Principal,
    query: CustomerQuery,
    spy: PlanSpy | None = None,
    most: int = CUSTOMERS,
) -> tuple[list[CustomerPage], list[str]]:
    """The pages of ``query`` from its cursor on, following ``next_cursor`` (up to
    ``most`` pages), and the plan of each."""
    pages: list[CustomerPage] = []
    plans: list[str] = []
    after = query.after
    while True:
        page = list_customers(
            session=session,
            scope=CustomerScope(p),
            query=CustomerQuery(**{**query.__dict__, "after": after}),
        )
        pages.append(page)
        if spy is not None:
            plans.append(spy.take())
        assert len(pages) <= CUSTOMERS, "the cursor does not advance"
        if page.next_cursor is None or len(pages) == most:
            return pages, plans
        after = page.next_cursor


def ids_of(pages: list[CustomerPage]) -> list[int]:
    return [r["id"] for page in pages for r in page.rows]


def fast_plan(p: Principal, query: CustomerQuery) -> str:
    """The plan of the "fast" mode: the walk for a score, the ranges for a manager's list
    by id or name of no chosen owner (a manager's scope is two ranges or more), the probe
    for a service agent's list by name of no chosen owner or city."""
    if query.sort in SCORE_SORTS:
        return "walk"
    if p.role is Role.MANAGER and query.owner_id is None and not query.unowned:
        return "ranges"
    chosen = query.city is not None or query.owner_id is not None or query.unowned
    if p.role is Role.SERVICE and query.sort == "name" and not chosen:
        return "probe"
    return "sort"


# --- the pages ---------------------------------------------------------------------------------


@pytest.mark.parametrize("who", SCOPES)
@pytest.mark.parametrize("sort", list(SORTS))
def test_every_plan_pages_through_the_expected_customers_in_order(
    store: Store, sort: str, who: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Page by page, under each filter and with each plan forced, the list is the
    customers of the scope that are not deleted and pass the filters, each once, in the
    sort's order (scores: the latest snapshot's, highest first, customers without one
    last; names: '' for none); the count says how many; the rows carry the latest
    snapshot's scores; and where the ranges or the walk apply, the plain statement gives
    the same pages, row for row."""
    p = store.people[who]
    spy = PlanSpy().install(monkeypatch)
    with store.session() as session:
        tables = read_tables(session)
        for label, filters in queries(store).items():
            query = CustomerQuery(sort=sort, limit=LIMIT, **filters)
            expected = expected_ids(tables, p, query)
            read: dict[str, list[CustomerPage]] = {}
            # where the fast mode reads the plain statement too, it would read it again
            for mode in MODES if fast_plan(p, query) != "sort" else ("plain",):
                force(monkeypatch, mode)
                pages, plans = every_page(session, p, query, spy)
                case = (label, mode, plans)
                ids = ids_of(pages)
                assert ids == expected, case
                assert len(set(ids)) == len(ids), case
                assert all(len(page.rows) == LIMIT for page in pages[:-1]), case
                assert [page.count for page in pages] == [len(expected)] * len(pages), case
                want = fast_plan(p, query) if mode == "fast" else "sort"
                assert plans == [want] * len(pages), case
                read[mode] = pages
                for row in (r for page in pages for r in page.rows):
                    latest = tables.latest.get(row["id"], {})
                    for column in (*SCORE_SORTS, "value_tier"):
                        assert row[column] == latest.get(column), (case, row["id"], column)
            if len(read) == 2:
                fast, plain = ([page.rows for page in read[mode]] for mode in MODES)
                assert fast == plain, label
        # the store is such that every scope's list has several pages
        assert len(expected_ids(tables, p, CustomerQuery(sort=sort))) > 2 * LIMIT


def cursor_positions(tables: Tables, sort: str, order: list[int]) -> dict[str, int]:
    """Positions in ``order`` (the list sorted by ``sort``) to start after: inside a tie
    of the sort key (scores: among the scored customers; names: among those sorting as
    ''), and for a score the last scored customer and one in the middle of those without
    a score."""
    keys = [sort_key(tables, sort, cid)[:-1] for cid in order]
    ties = [
        i
        for i in range(len(order) - 1)
        if keys[i] == keys[i + 1] and (sort == "name" or keys[i][0] == 0)
    ]
    assert ties
    found = {"tie": ties[len(ties) // 2]}
    if sort == "name":
        blank = [i for i in ties if keys[i] == (tables.name_rank[""],)]
        assert blank
        found["blank tie"] = blank[0]
    else:
        unscored = [i for i, k in enumerate(keys) if k[0] == 1]
        assert len(unscored) > 2
        found["last scored"] = unscored[0] - 1
        found["without a score"] = unscored[len(unscored) // 2]
    return found


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("sort", [s for s in SORTS if s != "id"])
def test_a_cursor_inside_a_tie_or_without_a_score_continues_after_its_row(
    store: Store, sort: str, mode: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cursor of a row whose key the next row shares, of the last scored row, or of a
    row without a score (key -1) gives the rows right after it, and its next cursor the
    rows after those."""
    force(monkeypatch, mode)
    with store.session() as session:
        tables = read_tables(session)
        for who in ("admin", "manager", "sales"):
            p = store.people[who]
            order = expected_ids(tables, p, CustomerQuery(sort=sort))
            for label, at in cursor_positions(tables, sort, order).items():
                last = order[at]
                if sort == "name":
                    key: Any = tables.customers[last]["name"] or ""
                else:
                    score = score_of(tables, sort, last)
                    key = -1 if score is None else score
                after = encode_cursor(sort, key, last)
                query = CustomerQuery(sort=sort, limit=LIMIT, after=after)
                pages, _ = every_page(session, p, query, most=2)
                case = (who, label, key, last)
                assert [r["id"] for r in pages[0].rows] == order[at + 1 : at + 1 + LIMIT], case
                assert ids_of(pages) == order[at + 1 : at + 1 + 2 * LIMIT], case


# --- which plan is chosen ----------------------------------------------------------------------


def test_a_score_sort_walks_when_the_rows_it_would_read_fit_the_walk_limit(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The walk is taken when a page's size (and one) times the highest customer id is at
    most ``WALK_LIMIT`` times the matches: at the smallest limit that lets the admin's
    whole list walk, a list of fewer matches is sorted, and one below it the admin's is
    too; the pages are the expected ones either way."""
    spy = PlanSpy().install(monkeypatch)
    with store.session() as session:
        tables = read_tables(session)
        admin, few = store.people["admin"], store.people["other_sales"]
        query = CustomerQuery(sort="churn_risk", limit=LIMIT)
        many = len(expected_ids(tables, admin, query))
        fewer = len(expected_ids(tables, few, query))
        assert 0 < fewer < many
        walk_limit = math.ceil((LIMIT + 1) * tables.highest_id / many)
        cases = [(walk_limit, admin, "walk"), (walk_limit, few, "sort")]
        cases.append((walk_limit - 1, admin, "sort"))
        for limit, p, plan in cases:
            monkeypatch.setattr(customer_list, "WALK_LIMIT", limit)
            pages, plans = every_page(session, p, query, spy)
            assert plans == [plan] * len(pages), (limit, p.role)
            assert ids_of(pages) == expected_ids(tables, p, query)


def test_a_manager_merges_owner_ranges_only_up_to_max_ranges(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A manager's list by id or name merges one range per owner (the unowned customers
    and each user of the team) while they are at most ``MAX_RANGES``, and reads the plain
    statement beyond; a sales user's one range is never merged."""
    spy = PlanSpy().install(monkeypatch)
    with store.session() as session:
        tables = read_tables(session)
        manager = store.people["manager"]
        ranges = 1 + sum(team == manager.team for team in tables.teams.values())
        assert ranges == 4
        cases = [
            (ranges, manager, "ranges"),
            (ranges - 1, manager, "sort"),
            (2, store.people["lone_manager"], "ranges"),  # the unowned and their own
            (1, store.people["lone_manager"], "sort"),
            (10**6, store.people["sales"], "sort"),
        ]
        for sort in ("id", "name"):
            query = CustomerQuery(sort=sort, limit=LIMIT)
            for most, p, plan in cases:
                monkeypatch.setattr(customer_list, "MAX_RANGES", most)
                pages, plans = every_page(session, p, query, spy)
                assert plans == [plan] * len(pages), (sort, most, p.username)
                assert ids_of(pages) == expected_ids(tables, p, query)


# --- SQLite's plans ----------------------------------------------------------------------------


def plans_of(store: Store, who: str, query: CustomerQuery) -> list[tuple[str, str]]:
    """Each statement one page of ``query`` runs for ``who`` on SQLite, with its plan."""
    scope = CustomerScope(store.people[who])
    return statement_plans(
        store.engine, lambda s: list_customers(session=s, scope=scope, query=query)
    )


def reads_every_customer(plan: str) -> bool:
    """Whether ``plan`` scans the customers' table itself (not one of its indexes)."""
    return any(
        step.startswith("SCAN customers") and "INDEX" not in step for step in plan.split(" | ")
    )


def the_one(found: list[tuple[str, str]], match: Callable[[str], bool]) -> tuple[str, str]:
    chosen = [(sql, plan) for sql, plan in found if match(sql)]
    assert len(chosen) == 1, found
    return chosen[0]


@pytest.mark.parametrize("who", ["admin", "manager", "sales"])
@pytest.mark.parametrize("sort", SCORE_SORTS)
def test_sqlite_walks_the_snapshots_index_on_the_score_without_sorting(
    sqlite_store: Store, sort: str, who: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The walk reads the latest snapshot's index on the score, highest first, from the
    first page and from a cursor among the scored customers: no sort of the snapshot."""
    monkeypatch.setattr(customer_list, "WALK_LIMIT", 10**15)
    with sqlite_store.session() as session:
        tables = read_tables(session)
    order = expected_ids(tables, sqlite_store.people[who], CustomerQuery(sort=sort))
    middle = order[len(order) // 3]
    score = score_of(tables, sort, middle)
    assert score is not None
    for after in (None, encode_cursor(sort, score, middle)):
        query = CustomerQuery(sort=sort, limit=LIMIT, after=after)
        found = plans_of(sqlite_store, who, query)
        sql, plan = the_one(
            found, lambda sql: f"ORDER BY customer_scores.{sort} DESC, customer_scores" in sql
        )
        assert sql.startswith("SELECT customer_scores.customer_id"), sql
        index = f"USING (COVERING )?INDEX ix_customer_scores_as_of_{sort} \\(as_of=\\?"
        assert re.search(index, plan), (sql, plan)
        assert "USE TEMP B-TREE FOR ORDER BY" not in plan, (sql, plan)
        assert not reads_every_customer(plan), (sql, plan)


@pytest.mark.parametrize("who", ["admin", "sales", "manager", "service"])
def test_sqlite_reads_a_page_by_name_from_the_name_index(sqlite_store: Store, who: str) -> None:
    """Sorted by name, the admin's page walks the index on the name key, a sales user's
    their range of the index on (owner, name key), a manager's one range of it per owner
    (the unowned and each team member), a service agent's the index on the name key with
    each customer's tickets probed, first page and later ones alike."""
    with sqlite_store.session() as session:
        tables = read_tables(session)
    p = sqlite_store.people[who]
    order = expected_ids(tables, p, CustomerQuery(sort="name"))
    middle = order[len(order) // 2]
    name = tables.customers[middle]["name"] or ""
    for after in (None, encode_cursor("name", name, middle)):
        found = plans_of(sqlite_store, who, CustomerQuery(sort="name", limit=LIMIT, after=after))
        sql, plan = the_one(found, lambda sql: sql.startswith("SELECT customers.id, "))
        case = (after, sql, plan)
        if who in ("admin", "service"):
            assert "USING INDEX ix_customers_name_key" in plan, case
            assert "USE TEMP B-TREE FOR ORDER BY" not in plan, case
        elif who == "sales":
            assert "USING INDEX ix_customers_owner_id_name_key (owner_id=?" in plan, case
            assert "USE TEMP B-TREE FOR ORDER BY" not in plan, case
        else:
            arms = plan.count("USING INDEX ix_customers_owner_id_name_key (owner_id=?")
            team = sum(t == p.team for t in tables.teams.values())
            assert arms == 1 + team, case
            # each arm in the index's order: the one sort is the merge of their few rows
            assert plan.count("USE TEMP B-TREE FOR ORDER BY") == 1, case
        assert not reads_every_customer(plan), case
