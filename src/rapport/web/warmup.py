"""The snapshot reports the pages keep, computed as soon as a new score snapshot appears.

The pages keep what they read of a snapshot (:mod:`rapport.reports.snapshot_cache`), but
the first request after a snapshot is written — by ``rapport score``, a scoring job, the
daily pipeline, in whichever process — or after a customer changes pays the reports' scans
(hundreds of milliseconds at 20,000 customers). A :class:`Warmer` per server process
watches for that and pays them first: every :data:`INTERVAL` seconds a thread reads the
store's state as the kept reports' keys hold it (:func:`rapport.reports.snapshot_cache.
state`: the latest snapshot's date and ``computed_at``, the customers' highest id and latest
``updated_at``, each one step down an index) and, when it moved, computes the reports the
pages ask for first (:func:`warm`) for every kind of scope that shares them
(:func:`rapport.reports.snapshot_cache.rows_key`): every customer (the admins), every
customer masked (the analysts), each team's managers, and the first :data:`MAX_SALES`
sales users; in each language where a report is worded. A service agent's reports are
never kept, so never warmed.

The thread starts with the first page a user opens (so an API-only process never runs one),
runs while pages are asked for, and stops after :data:`IDLE_SECONDS` without any (the next
page starts it again). Several uvicorn workers each warm their own results.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Hashable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from rapport.access import CustomerScope, Principal
from rapport.config import Rules
from rapport.domain import Role
from rapport.reports import snapshot_cache as kept
from rapport.reports import snapshots
from rapport.reports.movers import previous_snapshot
from rapport.store import schema
from rapport.web.customer_list import latest_snapshot
from rapport.web.i18n import LOCALES
from rapport.web.views import analysis as analysis_view
from rapport.web.views import diamonds as diamonds_view
from rapport.web.views import overview as overview_view
from rapport.web.views import worklist as worklist_view

log = logging.getLogger(__name__)

#: Seconds between two looks at the store's state.
INTERVAL = 5.0
#: Seconds without a page after which the thread stops.
IDLE_SECONDS = 900.0
#: Sales users whose pages are warmed (the first by id); the others compute on their first
#: request as before.
MAX_SALES = 20
#: Roles whose pages keep snapshot reports, in the order they are warmed.
WARMED_ROLES = (Role.ADMIN, Role.MANAGER, Role.ANALYST, Role.SALES)
#: The lists of diamonds the pages show first: the roles of the page, the rows, the order
#: (the overview's top by revenue, the diamonds page, the worklist's short list).
DIAMOND_LISTS = (
    (overview_view.ALLOWED, overview_view.LISTED, "revenue"),
    (frozenset(diamonds_view.ROLES), diamonds_view.PAGE_ROWS, "churn_risk"),
    (frozenset(worklist_view.ROLES), worklist_view.TOP_ROWS, "churn_risk"),
)


def warm(
    session: Session, *, rules: Rules, scope: CustomerScope, locales: tuple[str, ...] = LOCALES
) -> int:
    """Compute and keep, for ``scope``, the snapshot reports its pages ask for with their
    first address: the overview's headline history, tiers, stages and diamonds, the
    analysis page's snapshot tables, the diamonds page's list and the worklist's two short
    lists (those of its role's pages). Returns the reports asked for (kept ones cost a key
    look-up)."""
    role = scope.principal.role
    latest = latest_snapshot(session)
    if latest is None:
        return 0
    previous = previous_snapshot(session, latest)
    asked = 0
    if role in analysis_view.ALLOWED:  # the overview's groups are among the analysis page's
        for by in snapshots.GROUPINGS:
            kept.group_summary(session, by=by, day=latest, rules=rules, scope=scope)
        kept.rfm_grid(session, day=latest, scope=scope)
        kept.clv_distribution(session, day=latest, scope=scope)
        kept.degree_correlations(session, day=latest, scope=scope)
        asked += 6
        if previous is not None:
            by = analysis_view.MOVE_BY[1]
            kept.movements(session, by=by, before=previous, after=latest, scope=scope)
            asked += 1
    if role in overview_view.ALLOWED:
        kept.snapshot_history(session, day=latest, scope=scope)
        asked += 1
    for locale in locales:
        for roles, limit, order in DIAMOND_LISTS:
            if role in roles:
                kept.diamonds(
                    session,
                    day=latest,
                    rules=rules,
                    locale=locale,
                    limit=limit,
                    scope=scope,
                    order=order,
                )
                asked += 1
    if role in worklist_view.ROLES:
        kept.churn_warnings(
            session,
            day=latest,
            limit=worklist_view.TOP_ROWS,
            min_risk=worklist_view.MIN_RISK,
            scope=scope,
        )
        asked += 1
    return asked


def principals(session: Session) -> list[Principal]:
    """One active user for each kind of scope whose reports are shared
    (:func:`rapport.reports.snapshot_cache.rows_key`, masked or not), admins first; at most
    :data:`MAX_SALES` sales users."""
    u = schema.users.c
    rows = session.execute(
        sa.select(u.id, u.username, u.role, u.team)
        .where(u.is_active.is_(True), u.role.in_([r.value for r in WARMED_ROLES]))
        .order_by(u.id)
    ).all()
    found: dict[tuple[Hashable, ...], Principal] = {}
    sales = 0
    for role in WARMED_ROLES:
        for row in rows:
            if Role(row.role) is not role:
                continue
            p = Principal(row.id, row.username, role, row.team, "login")
            key = (*kept.rows_key(p), CustomerScope(p).masked)
            if key in found:
                continue
            if role is Role.SALES:
                if sales >= MAX_SALES:
                    break
                sales += 1
            found[key] = p
    return list(found.values())


class Warmer:
    """The thread of one server (``app``) warming its kept reports (see the module)."""

    def __init__(self, app: Any, *, interval: float = INTERVAL) -> None:
        self.app = app
        self.interval = interval
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._seen = time.monotonic()
        self._warmed: tuple[Hashable, ...] | None = None

    def asked(self) -> None:
        """A page was asked for: start the thread unless it runs."""
        self._seen = time.monotonic()
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return
            self._thread = threading.Thread(target=self._run, name="rapport-warm", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while time.monotonic() - self._seen < IDLE_SECONDS:
            try:
                self.once()
            except Exception:  # the store away for a moment: the pages compute as before
                log.warning("warming the kept snapshot reports failed", exc_info=True)
            time.sleep(self.interval)

    def once(self) -> bool:
        """Warm the reports if the store's state moved since the last time; whether it did."""
        state = self.app.state
        with state.sessions() as session:
            now = kept.state(session, latest_snapshot(session), None)
            if now is None or now == self._warmed:
                return False
            found = principals(session)
        for principal in found:  # a short read each, not one long one
            with state.sessions() as session:
                warm(session, rules=state.rules, scope=CustomerScope(principal))
        self._warmed = now
        return True


__all__ = ["INTERVAL", "MAX_SALES", "Warmer", "principals", "warm"]
