"""The snapshot reports warmed when a new snapshot appears (:mod:`rapport.web.warmup`).

On a copy of the web store served in this process: a warm-up after the snapshot is written
again (a new ``computed_at``, as scoring writes it) leaves the first request of every
snapshot page of admins, managers, analysts and sales users computing no snapshot report
(each report function counted), with the same page as a cold start; nothing is warmed
again while the store's state holds; and the shared results are never one scope's rows
handed to another (a sales user's diamonds are their own).
"""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from rapport.access import CustomerScope
from rapport.api.app import create_app
from rapport.config import Settings
from rapport.domain import Role
from rapport.reports import prepared, snapshot_cache, snapshots
from rapport.store import schema
from rapport.store.db import begin_writer, create_engine
from rapport.web import warmup
from tests.helpers import count_calls, live_server, snapshot_reports
from tests.web.conftest import WebStore, http_login

USERS = {"admin": "admin", "manager": "lin.hui", "sales": "wang.fang", "analyst": "gao.peng"}
PAGES = {
    "admin": ("/overview/groups", "/overview/diamonds", "/analysis/snapshot", "/diamonds"),
    "manager": ("/overview/groups", "/analysis/snapshot", "/diamonds", "/worklist"),
    "analyst": ("/overview/groups", "/overview/diamonds", "/analysis/snapshot", "/diamonds"),
    "sales": ("/diamonds", "/worklist"),
}
REPORTS = snapshot_reports()


@pytest.fixture(scope="module")
def site(web_store: WebStore, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    root = tmp_path_factory.mktemp("warmup")
    shutil.copy(web_store.pristine, root / "rapport.db")
    url = f"sqlite:///{root / 'rapport.db'}"
    app = create_app(Settings(_env_file=None, database_url=url, data_dir=root / "data"))
    app.state.web_warmer = None  # warmed by the test only, not by a thread meanwhile
    with live_server(app, lifespan="on") as base:
        yield app, base, url


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """Calls of each report function, by name."""
    return count_calls(monkeypatch, REPORTS)


def _rescore(url: str) -> None:
    """The latest snapshot written again, as scoring does: a new ``computed_at``."""
    s = schema.customer_scores
    engine = create_engine(url)
    with engine.connect() as conn, begin_writer(conn):
        latest = conn.execute(sa.select(sa.func.max(s.c.as_of))).scalar_one()
        conn.execute(
            sa.update(s).where(s.c.as_of == latest).values(computed_at=dt.datetime.now(dt.UTC))
        )
    engine.dispose()


def _pages(base: str) -> dict[tuple[str, str], str]:
    found = {}
    for key, username in USERS.items():
        client: httpx.Client = http_login(base, username)
        try:
            for path in PAGES[key]:
                answer = client.get(path)
                assert answer.status_code == 200, (key, path)
                found[key, path] = answer.text
        finally:
            client.close()
    return found


def test_after_a_new_snapshot_the_first_requests_compute_nothing(
    site: Any, counted: dict[str, int]
) -> None:
    app, base, url = site
    snapshot_cache.clear(app.state.engine)
    cold = _pages(base)  # computed on request, as without a warm-up
    assert counted.get("group_summary") and counted.get("churn_warnings")
    _rescore(url)
    snapshot_cache.clear(app.state.engine)
    warmer = warmup.Warmer(app)
    assert warmer.once() is True
    assert counted.get("diamonds_in", 0) > 0
    assert warmer.once() is False  # nothing moved: nothing warmed again
    counted.clear()
    warm = _pages(base)
    assert counted == {}, counted
    for key, text in cold.items():
        if key[1] != "/worklist":  # the worklist names today's birthdays, tasks, times
            assert _figures(warm[key]) == _figures(text), key


def _figures(text: str) -> str:
    """A page without its per-request parts (the session's CSRF token)."""
    return "\n".join(line for line in text.splitlines() if "csrf" not in line.lower())


def test_the_warmed_scopes_are_one_of_each_kind(site: Any) -> None:
    app, _, _ = site
    with app.state.sessions() as session:
        found = prepared.principals(session)
        roles = [p.role for p in found]
        assert roles[0] is Role.ADMIN and Role.ANALYST in roles and Role.SALES in roles
        assert roles.count(Role.ADMIN) == 1 and roles.count(Role.ANALYST) == 1
        teams = [p.team for p in found if p.role is Role.MANAGER]
        assert len(teams) == len(set(teams))
        sales = [p for p in found if p.role is Role.SALES]
        assert 0 < len(sales) <= prepared.MAX_SALES
        # a sales user's kept diamonds are theirs, not an admin's shared result
        latest = session.execute(
            sa.select(sa.func.max(schema.customer_scores.c.as_of))
        ).scalar_one()
        admin = next(p for p in found if p.role is Role.ADMIN)
        rules = app.state.rules
        for p in (admin, sales[0]):
            prepared.prepare(session, rules=rules, scope=CustomerScope(p))
        mine = snapshot_cache.diamonds(
            session, day=latest, rules=rules, locale="en", limit=50, scope=CustomerScope(sales[0])
        )
        everyone = snapshot_cache.diamonds(
            session, day=latest, rules=rules, locale="en", limit=50, scope=CustomerScope(admin)
        )
        assert mine.total < everyone.total
        assert mine == snapshots.diamonds(
            session, day=latest, rules=rules, locale="en", limit=50, scope=CustomerScope(sales[0])
        )
