"""The snapshot reports the pages ask for first, computed ahead for every kind of scope.

A page's first request after a new snapshot would otherwise scan it — tens of seconds at
1,000,000 customers. :func:`prepare` computes, for one scope, the reports its role's pages
read with their first address (the overview's headline history, tiers, stages and
diamonds, the analysis page's snapshot tables, the diamonds page's list and the worklist's
two short lists) through :mod:`rapport.reports.snapshot_cache`, which keeps them in the
process and in the store. :func:`prepare_store` does it for every kind of scope that shares
them (:func:`principals`): the scoring run calls it right after writing a snapshot
(:func:`rapport.scoring.run`), and each server process's warm-up thread
(:mod:`rapport.web.warmup`) calls :func:`prepare` when it sees a new snapshot or a customer
change, so its own memo holds them too.

The overview's metrics are prepared too (:func:`prepare_metrics`, :func:`kept_metrics`):
they need the analytics engine over the whole store, and are kept in the store with the
snapshot they are measured to.

The page sizes and roles are declared here, and the pages use them: what is prepared is
exactly what they ask for.
"""

from __future__ import annotations

import datetime as dt
import functools
import threading
from collections.abc import Callable, Hashable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from rapport.access import CustomerScope, Principal
from rapport.analytics.periods import day_end
from rapport.config import Rules, Settings
from rapport.domain import UI_LOCALES, Role, ValueTier
from rapport.reports import overview, snapshots
from rapport.reports import snapshot_cache as kept
from rapport.reports.movers import previous_snapshot
from rapport.reports.worklist import OwnerScope
from rapport.store import kept_reports, schema
from rapport.store.db import engine_from_settings, engine_of, session_scope

if TYPE_CHECKING:
    from rapport.reports.mirror import Mirror

#: Roles of the overview (总览) and of the analysis page (分析).
OVERVIEW_ROLES = frozenset({Role.ADMIN, Role.MANAGER, Role.ANALYST})
ANALYSIS_ROLES = OVERVIEW_ROLES
#: Roles of the diamonds page (钻石客户) and of the worklist (我的工作台).
DIAMOND_ROLES = (Role.ADMIN, Role.MANAGER, Role.SALES, Role.ANALYST)
WORKLIST_ROLES = (Role.SALES, Role.MANAGER, Role.ADMIN)
#: Diamond customers the overview lists (top by revenue, and those who moved).
OVERVIEW_LISTED = 5
#: Diamonds the diamonds page shows, and how many more each "show more" adds.
DIAMOND_PAGE_ROWS = 50
#: Diamond customers who entered or left since the previous snapshot, listed on the
#: diamonds page.
DIAMOND_MOVER_ROWS = 100
#: Rows of the worklist's churn warnings and of its diamonds.
WORKLIST_TOP_ROWS = 10
#: The churn risk from which a customer is a warning (the reports' and ``rapport at-risk``'s).
MIN_RISK = 0.5
#: The grouping the analysis page draws the movements by when the address does not say.
MOVE_BY = snapshots.GROUPINGS[1]
#: The lists of diamonds the pages show first: the roles of the page, the rows, the order.
DIAMOND_LISTS = (
    (OVERVIEW_ROLES, OVERVIEW_LISTED, "revenue"),
    (frozenset(DIAMOND_ROLES), DIAMOND_PAGE_ROWS, "churn_risk"),
    (frozenset(WORKLIST_ROLES), WORKLIST_TOP_ROWS, "churn_risk"),
)
#: Each page's diamond movers: the rows it lists, and whether every customer who left
#: comes before them (the overview: :func:`overview_diamond_moves`; the diamonds page:
#: :func:`diamond_page_moves`).
OVERVIEW_MOVERS = (OVERVIEW_LISTED, True)
DIAMOND_PAGE_MOVERS = (DIAMOND_MOVER_ROWS, False)
#: The lists of diamond movers the pages show first: the roles of the page, then as above.
MOVER_LISTS = (
    (OVERVIEW_ROLES, *OVERVIEW_MOVERS),
    (frozenset(DIAMOND_ROLES), *DIAMOND_PAGE_MOVERS),
)
#: Sales users whose pages are prepared (the first by id); the others compute on their
#: first request, but for the worklist's churn warnings, prepared for every owner
#: (:func:`prepare_owners`).
MAX_SALES = 20
#: Roles whose pages keep snapshot reports, in the order they are prepared.
PREPARED_ROLES = (Role.ADMIN, Role.MANAGER, Role.ANALYST, Role.SALES)


def latest_snapshot(session: Session) -> dt.date | None:
    """The date of the latest score snapshot (``None`` without one); one read of the index
    on ``customer_scores.as_of``."""
    found: dt.date | None = session.execute(
        sa.select(sa.func.max(schema.customer_scores.c.as_of))
    ).scalar_one_or_none()
    return found


def _mover_limit(counts: dict[str, int], *, listed: int, all_out: bool) -> int:
    """The diamond movers a page lists: the first ``listed``, after every one who left
    with ``all_out``."""
    return counts["out"] + listed if all_out else listed


def _diamond_moves(
    session: Session,
    *,
    before: dt.date,
    after: dt.date,
    rules: Rules,
    locale: str,
    scope: CustomerScope,
    listed: int,
    all_out: bool,
) -> tuple[dict[str, int], list[dict[str, Any]]]:
    """How many diamond customers entered and left between the snapshots dated ``before``
    and ``after``, and the first ``listed`` movers (after every one who left, with
    ``all_out``); kept (:mod:`rapport.reports.movers`)."""
    diamond = ValueTier.DIAMOND
    counts = kept.tier_mover_counts(session, tier=diamond, before=before, after=after, scope=scope)
    rows = kept.tier_movers(
        session,
        tier=diamond,
        before=before,
        after=after,
        rules=rules,
        locale=locale,
        scope=scope,
        limit=_mover_limit(counts, listed=listed, all_out=all_out),
    )
    return counts, rows


def overview_diamond_moves(
    session: Session,
    *,
    before: dt.date,
    after: dt.date,
    rules: Rules,
    locale: str,
    scope: CustomerScope,
) -> dict[str, Any]:
    """The overview's diamond customers who entered or left between the snapshots dated
    ``before`` and ``after``: ``gained`` and ``lost`` (the counts) and the first
    :data:`OVERVIEW_LISTED` of each (``gained_rows``, ``lost_rows``)."""
    # those who left come first: all of them, then the first entering
    counts, rows = _diamond_moves(
        session,
        before=before,
        after=after,
        rules=rules,
        locale=locale,
        scope=scope,
        listed=OVERVIEW_MOVERS[0],
        all_out=OVERVIEW_MOVERS[1],
    )
    return {
        "gained": counts["in"],
        "lost": counts["out"],
        "gained_rows": [r for r in rows if r["direction"] == "in"][:OVERVIEW_LISTED],
        "lost_rows": [r for r in rows if r["direction"] == "out"][:OVERVIEW_LISTED],
    }


def diamond_page_moves(
    session: Session,
    *,
    before: dt.date,
    after: dt.date,
    rules: Rules,
    locale: str,
    scope: CustomerScope,
) -> tuple[dict[str, int], list[dict[str, Any]]]:
    """The diamonds page's movers between the snapshots dated ``before`` and ``after``:
    how many entered and left, and the first :data:`DIAMOND_MOVER_ROWS` of them."""
    return _diamond_moves(
        session,
        before=before,
        after=after,
        rules=rules,
        locale=locale,
        scope=scope,
        listed=DIAMOND_PAGE_MOVERS[0],
        all_out=DIAMOND_PAGE_MOVERS[1],
    )


def _dates(session: Session) -> tuple[dt.date | None, dt.date | None]:
    """The latest snapshot's date and the one before it (``None`` where there is none)."""
    latest = latest_snapshot(session)
    return latest, None if latest is None else previous_snapshot(session, latest)


#: One report :func:`prepare` keeps for a scope: the reports it counts as asked for, and
#: the call that computes and keeps it, given a session.
Task = tuple[int, Callable[[Session], object]]


def tasks(
    session: Session,
    *,
    rules: Rules,
    scope: CustomerScope,
    locales: tuple[str, ...] = UI_LOCALES,
    dates: tuple[dt.date | None, dt.date | None] | None = None,
    mirror: Mirror | None = None,
) -> list[Task]:
    """The snapshot reports ``scope``'s role's pages ask for with their first address (see
    the module), each a :data:`Task` of its own, so that :func:`prepare_store` can spread
    them over threads; ``dates`` is the latest snapshot's and the one before it, read from
    the store when not given. The aggregates are computed on ``mirror`` where it holds
    what they read (:func:`rapport.reports.snapshot_cache.memo`). An empty list without a
    snapshot."""
    role = scope.principal.role
    latest, previous = dates or _dates(session)
    if latest is None:
        return []
    found: list[Task] = []

    def add(asked: int, call: Callable[..., object], **arguments: Any) -> None:
        found.append((asked, functools.partial(call, scope=scope, **arguments)))

    if role in ANALYSIS_ROLES:  # the overview's groups are among the analysis page's
        for by in snapshots.GROUPINGS:
            add(1, kept.group_summary, by=by, day=latest, rules=rules, mirror=mirror)
        add(1, kept.rfm_grid, day=latest, mirror=mirror)
        add(1, kept.clv_distribution, day=latest, mirror=mirror)
        add(1, kept.degree_correlations, day=latest, mirror=mirror)
        if previous is not None:
            add(1, kept.movements, by=MOVE_BY, before=previous, after=latest, mirror=mirror)
    if role in OVERVIEW_ROLES:
        add(1, kept.snapshot_history, day=latest, mirror=mirror)
    # the pages' diamond lists and movers in every locale, each list read once for all
    movers = [(listed, all_out) for roles, listed, all_out in MOVER_LISTS if role in roles]
    if previous is not None and movers:
        add(
            2 * len(movers) * len(locales),
            _diamond_movers,
            before=previous,
            after=latest,
            rules=rules,
            locales=locales,
            movers=tuple(movers),
            mirror=mirror,
        )
    for roles, limit, order in DIAMOND_LISTS:
        if role in roles:
            add(
                len(locales),
                kept.diamonds_in,
                day=latest,
                rules=rules,
                locales=locales,
                limit=limit,
                order=order,
            )
    if role in WORKLIST_ROLES:
        add(1, kept.churn_warnings, day=latest, limit=WORKLIST_TOP_ROWS, min_risk=MIN_RISK)
    return found


def _diamond_movers(
    session: Session,
    *,
    before: dt.date,
    after: dt.date,
    rules: Rules,
    locales: tuple[str, ...],
    scope: CustomerScope,
    movers: tuple[tuple[int, bool], ...],
    mirror: Mirror | None = None,
) -> None:
    """The diamond movers of each page in ``movers`` (rows listed, every one who left
    first), for every locale: their counts (on ``mirror`` where it holds the snapshots),
    then the longest list they need, read once."""
    counts = kept.tier_mover_counts(
        session, tier=ValueTier.DIAMOND, before=before, after=after, scope=scope, mirror=mirror
    )
    kept.tier_movers_in(
        session,
        tier=ValueTier.DIAMOND,
        before=before,
        after=after,
        rules=rules,
        locales=locales,
        scope=scope,
        limits=tuple(_mover_limit(counts, listed=n, all_out=a) for n, a in movers),
    )


def prepare(
    session: Session,
    *,
    rules: Rules,
    scope: CustomerScope,
    locales: tuple[str, ...] = UI_LOCALES,
) -> int:
    """Compute and keep, for ``scope``, the snapshot reports its role's pages ask for with
    their first address (:func:`tasks`, one after the other in ``session``); returns the
    reports asked for (kept ones cost a key look-up)."""
    asked = 0
    for count, call in tasks(session, rules=rules, scope=scope, locales=locales):
        call(session)
        asked += count
    return asked


def prepare_owners(session: Session) -> int:
    """Compute and keep the worklist's churn warnings of every owner of customers, in one
    pass over the latest snapshot's warnings
    (:func:`rapport.reports.snapshot_cache.put_owners_churn_warnings`), for every scope
    that shows them: the owner's own, an active salesperson's; an admin's and the team's
    managers' narrowed to the owner (:class:`~rapport.reports.worklist.OwnerScope`, the
    worklist's owner filter). One owner's warnings read alone cost a pass over every
    warning of the snapshot (seconds at 1,000,000 customers), so a sales force of any size
    and every owner a manager picks are ready; what the store holds already (a server's
    warm-up after the scoring run) is not computed again. Returns the lists asked for."""
    latest = latest_snapshot(session)
    if latest is None:
        return 0
    u = schema.users.c
    users = {
        row.id: row
        for row in session.execute(
            sa.select(u.id, u.username, u.role, u.team, u.is_active).order_by(u.id)
        )
    }
    admin = Principal(0, "", Role.ADMIN, None, "login")
    managers: dict[str | None, Principal] = {}  # a team's first active manager
    for row in users.values():
        if row.is_active and Role(row.role) is Role.MANAGER and row.team is not None:
            managers.setdefault(
                row.team, Principal(row.id, row.username, Role.MANAGER, row.team, "login")
            )

    def scopes(owner: int) -> list[CustomerScope]:
        found: list[CustomerScope] = [OwnerScope(principal=admin, owner_id=owner)]
        row = users.get(owner)
        if row is None:
            return found
        role = Role(row.role)
        if row.team is not None and row.team in managers:
            found.append(OwnerScope(principal=managers[row.team], owner_id=owner))
        if row.is_active and role is Role.SALES:
            found.append(CustomerScope(Principal(row.id, row.username, role, row.team, "login")))
        if row.is_active and role is Role.MANAGER and row.team is None:  # their own customers
            own = Principal(row.id, row.username, role, None, "login")
            found.append(OwnerScope(principal=own, owner_id=owner))
        return found

    return kept.put_owners_churn_warnings(
        session, day=latest, limit=WORKLIST_TOP_ROWS, min_risk=MIN_RISK, scopes=scopes
    )


def principals(session: Session) -> list[Principal]:
    """One principal for each kind of scope whose reports are shared
    (:func:`rapport.reports.snapshot_cache.rows_key`, masked or not): every customer (an
    admin) first, the managers of each set of owners (a team's; the unowned customers
    alone for teams that own none), the first :data:`MAX_SALES` active sales users by
    id, and every customer masked (an analyst) last, when the figures they share with the
    admin are kept — the admin and the analyst whether or not such a user exists yet, as
    their reports do not depend on who they are."""
    u = schema.users.c
    rows = session.execute(
        sa.select(u.id, u.username, u.role, u.team)
        .where(u.is_active.is_(True), u.role.in_([r.value for r in PREPARED_ROLES]))
        .order_by(u.id)
    ).all()
    admin = Principal(0, "", Role.ADMIN, None, "login")
    analyst = Principal(0, "", Role.ANALYST, None, "login")
    found: dict[tuple[Hashable, ...], Principal] = {
        (*kept.rows_key(session, admin), CustomerScope(admin).masked): admin
    }
    sales = 0
    for role in PREPARED_ROLES:
        for row in rows:
            if Role(row.role) is not role:
                continue
            p = Principal(row.id, row.username, role, row.team, "login")
            key = (*kept.rows_key(session, p), CustomerScope(p).masked)
            if key in found:
                continue
            if role is Role.SALES:
                if sales >= MAX_SALES:
                    break
                sales += 1
            found[key] = p
    # the analyst last: their figures are the admin's (kept by then), only their lists differ
    found.pop((*kept.rows_key(session, analyst), CustomerScope(analyst).masked), None)
    return [*found.values(), analyst]


def prepare_store(
    sessions: Callable[[], Session],
    *,
    rules: Rules,
    threads: int = 1,
    mirror: Mirror | None = None,
) -> int:
    """:func:`prepare` for every one of :func:`principals` and :func:`prepare_owners`, on
    ``threads`` threads (the store's reads run side by side; the scoring run, alone on the
    machine then, uses two), each report (:func:`tasks`) in a short session of its own
    from ``sessions``. Spread report by report rather than scope by scope, the threads
    stay busy to the end: a scope of every customer alone takes several times as long as
    a salesperson's. The longest come first — the owners' warnings, every customer's
    reports, then the managers' — and the reports of the scopes after them wait for the
    owners' warnings, which the sales users' worklists read. The aggregates are computed
    on ``mirror`` where it holds what they read (:mod:`rapport.reports.mirror`). Returns
    the reports asked for."""
    with sessions() as session:
        found = principals(session)
        dates = _dates(session)
        if dates[0] is None:
            return 0
        wide = (Role.ADMIN, Role.MANAGER)
        work = [
            (p.role in wide, task)
            for p in found
            for task in tasks(
                session, rules=rules, scope=CustomerScope(p), dates=dates, mirror=mirror
            )
        ]
    owned = threading.Event()

    def owners() -> int:
        try:
            with sessions() as session:
                return prepare_owners(session)
        finally:
            owned.set()

    def one(task: Task, *, after_owners: bool) -> int:
        if after_owners:
            owned.wait()
        count, call = task
        with sessions() as session:
            call(session)
        return count

    calls: list[Callable[[], int]] = [owners]
    calls += [functools.partial(one, task, after_owners=not w) for w, task in work]
    if threads <= 1:
        return sum(call() for call in calls)
    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="rapport-prepare") as pool:
        return sum(pool.map(lambda call: call(), calls))


# --- the overview's metrics ----------------------------------------------------------------
# The headline metrics and trends (rapport.reports.overview.metric_overview) need the
# analytics engine over the whole store: minutes at 1,000,000 customers. They are measured
# to the end of the latest snapshot's day, so they are kept in the store with that
# snapshot — computed by the scoring run for the first period the overview shows, and by a
# server's worker for another — and read again until the next snapshot is written.

#: The ``report`` of the overview's metrics in the store.
METRICS = "metric_overview"


def _metrics_keys(
    session: Session, *, rules: Rules, as_of: dt.datetime, period: str
) -> tuple[dt.date, str, str] | None:
    """The latest snapshot's date, the store's key of the metrics of ``period`` as of
    ``as_of`` with that snapshot, and its generation (the snapshot's date and time);
    ``None`` without a snapshot."""
    latest = latest_snapshot(session)
    if latest is None:
        return None
    written = kept.written(session, latest)
    key = (METRICS, as_of.isoformat(), period, str(latest), written, kept.rules_key(rules))
    return latest, kept.digest(key), kept.digest((str(latest), written))


def kept_metrics(
    session: Session, *, rules: Rules, as_of: dt.datetime, period: str
) -> dict[str, Any] | None:
    """The overview's metrics of ``period`` as of ``as_of`` kept in the store with the
    latest snapshot (``None``: none kept)."""
    keys = _metrics_keys(session, rules=rules, as_of=as_of, period=period)
    if keys is None:
        return None
    found = kept_reports.read(session, keys[1])
    if found is None:
        return None
    result: dict[str, Any] = kept.decode(found)
    return result


def keep_metrics(
    session: Session, *, rules: Rules, as_of: dt.datetime, period: str, result: dict[str, Any]
) -> bool:
    """Keep ``result``, the overview's metrics of ``period`` as of ``as_of``, in the store
    with the latest snapshot; whether it was kept (see
    :func:`rapport.store.kept_reports.keep`)."""
    keys = _metrics_keys(session, rules=rules, as_of=as_of, period=period)
    payload = kept.encode(result)
    if keys is None or payload is None:
        return False
    latest, key, generation = keys
    return kept_reports.keep(
        engine_of(session),
        key=key,
        as_of=latest,
        report=METRICS,
        generation=generation,
        payload=payload,
    )


def prepare_metrics(
    settings: Settings,
    rules: Rules,
    *,
    period: str = overview.PERIODS[0],
    computed: tuple[dt.date, dict[str, Any]] | None = None,
) -> bool:
    """Compute the overview's metrics of ``period`` as of the end of the latest snapshot's
    day in this process (:func:`rapport.reports.overview.metric_overview`) and keep them in
    the store; whether they were kept (``False`` without a snapshot). ``computed``, a date
    and the metrics of ``period`` as of its end (the scoring run's, computed on its working
    copy), is kept instead when that date is the latest snapshot's.

    The analytics engine attaches the store while no connection of this function's is
    open (see :mod:`rapport.workers` on SQLite's WAL file)."""
    store = engine_from_settings(settings)
    try:
        with session_scope(store) as session:
            latest = latest_snapshot(session)
    finally:
        store.dispose()
    if latest is None:
        return False
    as_of = day_end(latest, settings.tz)
    if computed is not None and computed[0] == latest:
        result = dict(computed[1])
    else:
        result = overview.metric_overview(settings, rules, as_of=as_of, period=period)
    result["computed_at"] = dt.datetime.now(dt.UTC)
    store = engine_from_settings(settings)
    try:
        with session_scope(store) as session:
            return keep_metrics(session, rules=rules, as_of=as_of, period=period, result=result)
    finally:
        store.dispose()


__all__ = [
    "ANALYSIS_ROLES",
    "DIAMOND_LISTS",
    "DIAMOND_MOVER_ROWS",
    "DIAMOND_PAGE_ROWS",
    "DIAMOND_ROLES",
    "MAX_SALES",
    "METRICS",
    "MIN_RISK",
    "MOVE_BY",
    "OVERVIEW_LISTED",
    "OVERVIEW_ROLES",
    "PREPARED_ROLES",
    "WORKLIST_ROLES",
    "WORKLIST_TOP_ROWS",
    "diamond_page_moves",
    "keep_metrics",
    "kept_metrics",
    "latest_snapshot",
    "overview_diamond_moves",
    "prepare",
    "prepare_metrics",
    "prepare_owners",
    "prepare_store",
    "principals",
]
