"""The web workspace's test bed: one small demo store and one real ``rapport serve`` per
session, and Debian's Chromium driven by Playwright.

The store is the sample company (200 customers over 12 months, zh_CN) with two score
snapshots 60 days apart (the latest with the fitted models, so the card has predictions),
and staff users with a password (:data:`STAFF`): ``admin``, the manager ``lin.hui``, the
sales users ``wang.fang`` and ``li.na`` (each owns some customers), the service agent
``zhou.xiuying`` and the analyst ``gao.peng``.

Tests that use the store run on one xdist worker (group ``web-store``). Browser tests
carry the ``browser`` marker. Without ``/usr/bin/chromium`` they fail (never
skip) with the command that installs it.

The same store is built on PostgreSQL too (:func:`web_store_pg`, a database of its own made
as ``tests/conftest.py`` makes them) and served by a second ``rapport serve``
(:func:`server_pg`), both once per session: :func:`served` gives a test either backend's
``(store, server)``, parametrised, the PostgreSQL leg marked ``postgres``.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import httpx
import pytest
import sqlalchemy as sa

from rapport.access import Principal
from rapport.config import Settings
from rapport.domain import Role
from rapport.store import schema, users
from rapport.store.db import create_engine, session_scope, upgrade
from tests.conftest import create_postgres_database, drop_postgres_database
from tests.helpers import free_port

PASSWORD = "blue kettle orbit"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
INSTALL_HINT = (
    "the web tests drive Debian's Chromium with a CJK font: "
    "apt-get install -y chromium fonts-noto-cjk (.ci/run installs them when missing)"
)
SHOTS = Path("/tmp/web-shots")
PRISTINE = "pristine.db"
SERVER_START_SECONDS = 90
STAFF = {
    "admin": "admin",
    "manager": "lin.hui",
    "sales": "wang.fang",
    "other_sales": "li.na",
    "service": "zhou.xiuying",
    "analyst": "gao.peng",
}
#: One user of each role (the keys of :data:`STAFF`), for the "every page × every role" tests.
ROLE_USERS = {
    "admin": "admin",
    "manager": "lin.hui",
    "sales": "wang.fang",
    "service": "zhou.xiuying",
    "analyst": "gao.peng",
}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "browser: drives Debian's Chromium through Playwright (tests/web)"
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests of the web store run on one xdist worker (``--dist loadgroup``), so that the
    store is built and the server started once, not once per worker."""
    for item in items:
        names = getattr(item, "fixturenames", ())
        if "web_store" in names or "served" in names:
            item.add_marker(pytest.mark.xdist_group("web-store"))


@dataclass(frozen=True)
class WebStore:
    url: str
    root: Path
    settings: Settings
    ids: dict[str, int]  # STAFF key -> user id

    def engine(self) -> sa.Engine:
        return create_engine(self.url)

    @property
    def pristine(self) -> Path:
        """A copy of the store as built: tests that need a store of their own copy this one,
        never the live file, which other tests write to through the shared server."""
        return self.root / PRISTINE

    def scalar(self, stmt: Any) -> Any:
        engine = self.engine()
        try:
            with engine.connect() as conn:
                return conn.execute(stmt).scalar()
        finally:
            engine.dispose()

    def rows(self, stmt: Any) -> list[dict[str, Any]]:
        engine = self.engine()
        try:
            with engine.connect() as conn:
                return [dict(r) for r in conn.execute(stmt).mappings()]
        finally:
            engine.dispose()

    def principal(self, key: str) -> Principal:
        """The staff user ``STAFF[key]`` as the pages see them (role and team as stored)."""
        u = schema.users.c
        user = self.rows(sa.select(u.id, u.username, u.role, u.team).where(u.id == self.ids[key]))
        return Principal(
            user_id=user[0]["id"],
            username=user[0]["username"],
            role=Role(getattr(user[0]["role"], "value", user[0]["role"])),
            team=user[0]["team"],
            via="web",
        )


@pytest.fixture(scope="session")
def web_store(tmp_path_factory: pytest.TempPathFactory) -> WebStore:
    root = tmp_path_factory.mktemp("web-store")
    store = build_store(f"sqlite:///{root / 'rapport.db'}", root)
    # the store as built, before any test writes through the shared server
    shutil.copy(root / "rapport.db", root / PRISTINE)
    return store


@pytest.fixture(scope="session")
def web_store_pg(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebStore]:
    """The web store on PostgreSQL, in a database of its own (dropped at the end). It has
    no pristine copy: the tests served from it only read."""
    from tests.conftest import POSTGRES_ENV, postgres_url

    base = postgres_url()
    if base is None:
        pytest.fail(f"the [postgres] web tests need {POSTGRES_ENV}", pytrace=False)
    root = tmp_path_factory.mktemp("web-store-pg")
    url = create_postgres_database(base)
    try:
        yield build_store(url, root)
    finally:
        drop_postgres_database(base, url)


def build_store(url: str, root: Path) -> WebStore:
    """The sample company in the empty store ``url`` (data folder ``root/data``), staff with
    :data:`PASSWORD`, and its two score snapshots."""
    from rapport import scoring
    from rapport.sample import generate
    from rapport.sample.load import load_company

    company = generate(customers=200, months=12, seed=7, locale="zh_CN")
    engine = create_engine(url)
    upgrade(engine)
    load_company(company, engine=engine, work_dir=root)
    ids = {}
    with session_scope(engine, writing=True) as session:
        for key, username in STAFF.items():
            user = users.get_by_username(session=session, username=username)
            users.set_password(session=session, user_id=user["id"], password=PASSWORD)
            ids[key] = user["id"]
    engine.dispose()
    settings = Settings(_env_file=None, database_url=url, data_dir=root / "data")
    last_day = dt.date.fromisoformat(str(company.params["end"])) - dt.timedelta(days=1)
    scoring.run(settings, as_of=last_day - dt.timedelta(days=60), models=False)
    scoring.run(settings, as_of=last_day)
    return WebStore(url=url, root=root, settings=settings, ids=ids)


def _server_env(url: str, root: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAPPORT_")}
    env.update(
        RAPPORT_DATABASE_URL=url,
        RAPPORT_DATA_DIR=str(root / "data"),
        RAPPORT_LOCALE="zh_CN",
    )
    return env


@pytest.fixture(scope="session")
def server(web_store: WebStore) -> Iterator[str]:
    """A real ``rapport serve`` on a free loopback port over the web store."""
    with serve(web_store.url, web_store.root) as base:
        yield base


@pytest.fixture(scope="session")
def server_pg(web_store_pg: WebStore) -> Iterator[str]:
    """A real ``rapport serve`` on a free loopback port over the PostgreSQL web store."""
    with serve(web_store_pg.url, web_store_pg.root) as base:
        yield base


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def served(request: pytest.FixtureRequest) -> tuple[WebStore, str]:
    """The web store and its server on each backend: ``(store, base URL)``."""
    if request.param == "sqlite":
        return request.getfixturevalue("web_store"), request.getfixturevalue("server")
    return request.getfixturevalue("web_store_pg"), request.getfixturevalue("server_pg")


@contextmanager
def serve(url: str, root: Path) -> Iterator[str]:
    """A real ``rapport serve`` on a free loopback port over the store ``url`` (data folder
    ``root/data``, log ``root/server.log``), stopped at the end; yields its base URL."""
    port = free_port()
    rapport = Path(sys.executable).with_name("rapport")
    log = (root / "server.log").open("wb")
    process = subprocess.Popen(
        [str(rapport), "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=_server_env(url, root),
        cwd=root,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + SERVER_START_SECONDS
    try:
        while True:
            assert process.poll() is None, (root / "server.log").read_text()
            try:
                if httpx.get(f"{base}/login", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "rapport serve did not start"
            time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def csrf_of(html: str) -> str:
    import re

    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF field on the page"
    return match.group(1)


def http_login(base: str, username: str, password: str = PASSWORD) -> httpx.Client:
    """A plain HTTP client logged in as ``username`` (cookies kept)."""
    client = httpx.Client(base_url=base, follow_redirects=False, timeout=30)
    token = csrf_of(client.get("/login").text)
    answer = client.post(
        "/login", data={"username": username, "password": password, "csrf_token": token}
    )
    assert answer.status_code == 303, answer.text[:500]
    return client


# --- the browser ---------------------------------------------------------------------------


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    if shutil.which("chromium") is None or not Path(CHROMIUM).exists():
        pytest.fail(f"no chromium at {CHROMIUM}: {INSTALL_HINT}", pytrace=False)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@dataclass
class Watched:
    """A page with what it did: console errors, failed requests, hosts it asked."""

    page: Any
    errors: list[str]
    failed: list[str]
    hosts: set[str]

    def clean(self) -> None:
        assert not self.errors, self.errors
        assert not self.failed, self.failed
        assert self.hosts <= {"127.0.0.1"}, self.hosts


@pytest.fixture
def browser_page(chromium: Any, server: str) -> Iterator[Watched]:
    with watched_page(chromium, server) as watched:
        yield watched


@contextmanager
def watched_page(chromium: Any, base: str, *, timeout_ms: int = 15_000) -> Iterator[Watched]:
    """A page of a new browser context on ``base`` (zh-CN, 1280×800) that records console
    errors, failed requests and the hosts it asks: the checks of :meth:`Watched.clean`."""
    context = chromium.new_context(
        base_url=base, locale="zh-CN", viewport={"width": 1280, "height": 800}
    )
    page = context.new_page()
    watched = Watched(page=page, errors=[], failed=[], hosts=set())
    page.on("console", lambda m: watched.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: watched.errors.append(str(e)))
    # A request cut short by leaving the page (a fragment still loading) is no failure.
    page.on(
        "requestfailed",
        lambda r: watched.failed.append(r.url) if r.failure != "net::ERR_ABORTED" else None,
    )
    page.on("request", lambda r: watched.hosts.add(urlsplit(r.url).hostname or ""))
    page.set_default_timeout(timeout_ms)
    try:
        yield watched
    finally:
        context.close()


def shot(page: Any, name: str) -> None:
    """A full-page screenshot to ``/tmp/web-shots/<name>.png``."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def browser_login(
    page: Any, username: str, password: str = PASSWORD, *, next: str | None = None
) -> None:
    """Log in through the form; to ``next`` when given, else to the role's landing page."""
    page.goto("/login" if next is None else "/login?next=" + quote(next, safe="/"))
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("#login-submit")
