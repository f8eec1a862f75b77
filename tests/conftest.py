"""Shared fixtures: the ``backend`` matrix (SQLite and PostgreSQL) and isolated sessions.

PostgreSQL tests run whenever ``RAPPORT_TEST_POSTGRES_URL`` is set. When it is set but the
server cannot be reached, they fail — they are never skipped silently. When it is unset,
they are reported as skipped with the reason in the summary (``-ra``).
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session

from rapport.config import Settings, get_settings
from rapport.store.db import create_engine, upgrade

if TYPE_CHECKING:
    from rapport.sample import SampleCompany

POSTGRES_ENV = "RAPPORT_TEST_POSTGRES_URL"
BACKENDS = ("sqlite", "postgres")


def postgres_url() -> str | None:
    return os.environ.get(POSTGRES_ENV) or None


#: The marks of a test module that runs on PostgreSQL alone (``pytestmark``): marked
#: ``postgres``, and skipped, saying why, when no server is given.
POSTGRES_ONLY = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        postgres_url() is None, reason=f"PostgreSQL not tested: {POSTGRES_ENV} is not set"
    ),
]


# --- the fast loop -----------------------------------------------------------------------

#: The one engine of the analytics matrix that the fast loop runs everywhere (the product's
#: default path); other engines run in ``make test``.
FAST_ENGINE = "duckdb-sqlite"
#: Test modules that run on every engine of the matrix even in the fast loop: the engines'
#: own conformance (each table on each engine) keeps every engine's path in the loop.
EVERY_ENGINE_MODULES = ("tests/analytics/test_engines.py",)
#: Fixtures whose tests are slow by nature: a real browser; the 3,000-customer sample
#: company, which its tests score and fit models on (seconds each).
SLOW_FIXTURES = ("browser_page", "chromium", "sample_store")
#: Test modules slow by nature, by the start of their path: many clients racing on a real
#: server (the concurrency tests of the API's transactions); processes killed mid-work;
#: models fitted or backtested on generated companies, by the CLI, the API's scoring jobs
#: and the reports that run them (seconds per test).
SLOW_PATHS = (
    "tests/api/test_concurrency_",
    "tests/actions/test_kill9.py",
    "tests/api/test_scoring_jobs.py",
    "tests/cli/test_analyses_cli.py",
    "tests/cli/test_demo.py",
    "tests/cli/test_models_cli.py",
    "tests/cli/test_report.py",
    "tests/models/churn/test_backtest.py",
    "tests/models/test_recovery.py",
    "tests/models/test_summary_cdnow.py",
    "tests/reports/test_monthly_api.py",
    "tests/test_clusters.py",
    "tests/web/test_journey.py",
    "tests/web/test_overview_report.py",
)
#: Markers whose tests are slow by nature (``browser``: declared in tests/web/conftest.py).
SLOW_MARKERS = ("browser",)


def slow_by_rule(item: pytest.Item) -> bool:
    """Whether the central rule leaves ``item`` to ``make test``: analytics on an engine
    other than :data:`FAST_ENGINE` (outside :data:`EVERY_ENGINE_MODULES`), a browser, or a
    module of :data:`SLOW_PATHS`."""
    params = getattr(getattr(item, "callspec", None), "params", {})
    engine = params.get("analytics_engine")
    if engine not in (None, FAST_ENGINE) and not item.nodeid.startswith(EVERY_ENGINE_MODULES):
        return True
    if set(getattr(item, "fixturenames", ())) & set(SLOW_FIXTURES):
        return True
    if item.nodeid.startswith(SLOW_PATHS):
        return True
    return any(item.get_closest_marker(name) is not None for name in SLOW_MARKERS)


@pytest.hookimpl(tryfirst=True)  # before ``-m`` deselects by marker
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The markers ``make test-fast`` deselects by (``-m "not spark and not postgres and not
    slow"``), given here by rule rather than test by test:

    - a test on the PostgreSQL leg of the ``backend`` matrix is marked ``postgres`` now, at
      collection (the fixture marks it again when it runs), so the fast loop leaves it out
      instead of reporting it skipped;
    - :func:`slow_by_rule` marks ``slow`` every analytics test on an engine other than
      :data:`FAST_ENGINE` (but the engine conformance of :data:`EVERY_ENGINE_MODULES`),
      every browser test and the concurrency tests (:data:`SLOW_PATHS`).

    ``make test`` deselects nothing: it runs all of them.
    """
    for item in items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        if params.get("backend") == "postgres":
            item.add_marker(pytest.mark.postgres)
        if slow_by_rule(item):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(autouse=True)
def _isolated_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """Tests never read the developer's environment or ./rapport.toml."""
    point_settings_at(monkeypatch, tmp_path / "rapport.db", tmp_path)
    yield
    get_settings.cache_clear()


def point_settings_at(mp: pytest.MonkeyPatch, store: Path, root: Path) -> None:
    """Through ``mp``: no ``RAPPORT_`` variable of the developer's (but the PostgreSQL test
    URL), the SQLite store ``store``, the data directory ``root/data``, ``root`` as the
    working directory; the settings read again."""
    for name in list(os.environ):
        if name.startswith("RAPPORT_") and name != POSTGRES_ENV:
            mp.delenv(name)
    mp.setenv("RAPPORT_DATABASE_URL", f"sqlite:///{store}")
    mp.setenv("RAPPORT_DATA_DIR", str(root / "data"))
    mp.chdir(root)
    get_settings.cache_clear()


def create_postgres_database(base_url: str) -> str:
    """Create an empty database beside ``base_url``'s and return its URL."""
    url = make_url(base_url).set(drivername="postgresql+psycopg")
    name = f"rapport_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    except sa.exc.OperationalError as exc:
        pytest.fail(
            f"{POSTGRES_ENV}={base_url} is set but PostgreSQL is unreachable: {exc.orig}",
            pytrace=False,
        )
    finally:
        admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


def drop_postgres_database(base_url: str, url: str) -> None:
    admin = sa.create_engine(
        make_url(base_url).set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')
    admin.dispose()


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = create_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def _postgres_migrated() -> Iterator[Engine]:
    base = postgres_url()
    if base is None:
        pytest.skip(f"PostgreSQL backend not tested: {POSTGRES_ENV} is not set")
    url = create_postgres_database(base)
    engine = create_engine(url)
    upgrade(engine)
    yield engine
    engine.dispose()
    drop_postgres_database(base, url)


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """The store backend under test: ``sqlite`` or ``postgres``."""
    if request.param == "postgres":
        request.applymarker(pytest.mark.postgres)
    return request.param


@pytest.fixture
def sqlite_start(_sqlite_template: Path) -> Path:
    """The SQLite store a test's :func:`engine` starts from (copied): the migrated, empty
    template. A test package overrides it to start from a store that already holds its
    fixtures' rows (tests/api/conftest.py)."""
    return _sqlite_template


@pytest.fixture
def sqlite_engine(sqlite_start: Path, tmp_path: Path) -> Iterator[Engine]:
    """A migrated SQLite store of the test's own (a copy of :func:`sqlite_start`), such as
    the query-plan tests read."""
    path = tmp_path / "plan.db"
    shutil.copy(sqlite_start, path)
    engine = create_engine(f"sqlite:///{path}")
    yield engine
    engine.dispose()


@pytest.fixture
def engine(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A migrated store on ``backend``. SQLite: a fresh file per test (a copy of
    :func:`sqlite_start`); PostgreSQL: shared by the session, so use it through
    :func:`session` (rolled back) or :func:`fresh_engine`."""
    if backend == "sqlite":
        path = tmp_path / "store.db"
        shutil.copy(request.getfixturevalue("sqlite_start"), path)
        eng = create_engine(f"sqlite:///{path}")
        yield eng
        eng.dispose()
    else:
        yield request.getfixturevalue("_postgres_migrated")


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    """A session inside a transaction that is rolled back after the test."""
    with engine.connect() as conn:
        outer = conn.begin()
        sess = Session(bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False)
        try:
            yield sess
        finally:
            sess.close()
            outer.rollback()


@contextmanager
def own_database(backend: str, root: Path, name: str = "store.db") -> Iterator[str]:
    """The URL of an empty database of its own on ``backend``: a SQLite file ``name`` under
    ``root``, or a new PostgreSQL database, dropped afterwards (skipped when PostgreSQL is
    not configured)."""
    if backend == "sqlite":
        yield f"sqlite:///{root / name}"
        return
    base = postgres_url()
    if base is None:
        pytest.skip(f"PostgreSQL backend not tested: {POSTGRES_ENV} is not set")
    url = create_postgres_database(base)
    try:
        yield url
    finally:
        drop_postgres_database(base, url)


@pytest.fixture
def empty_url(backend: str, tmp_path: Path) -> Iterator[str]:
    """The URL of an empty, never-migrated database on ``backend`` (dropped afterwards)."""
    with own_database(backend, tmp_path, "empty.db") as url:
        yield url


@pytest.fixture
def fresh_engine(empty_url: str, request: pytest.FixtureRequest) -> Iterator[Engine]:
    """A migrated store of its own on ``backend``, for tests that commit. On SQLite, a copy
    of the session's migrated template at ``empty_url`` (running the migrations for each
    test cost a quarter of a second); on PostgreSQL, migrated."""
    url = make_url(empty_url)
    if url.get_backend_name() == "sqlite" and url.database:
        shutil.copy(request.getfixturevalue("_sqlite_template"), url.database)
        eng = create_engine(empty_url)
    else:
        eng = create_engine(empty_url)
        upgrade(eng)
    yield eng
    eng.dispose()


# --- the sample company, built once per test session -----------------------------------------

#: The last day of the sample company that scoring, churn and demand tests read: 3,000
#: customers over 24 months, seed 7.
SAMPLE_END = dt.date(2025, 1, 1)


@dataclass(frozen=True)
class SampleStore:
    """The sample company (ending :data:`SAMPLE_END`) imported into a migrated SQLite store.

    The store is shared by the whole session: a test that writes (scores, fits) works on
    its own copy (:meth:`copy`).
    """

    path: Path
    company: SampleCompany
    end: dt.date

    def copy(self, directory: Path) -> str:
        """Copy the store into ``directory`` and return the copy's URL."""
        target = directory / "store.db"
        shutil.copy(self.path, target)
        return f"sqlite:///{target}"


@contextmanager
def built_once(tmp_path_factory: pytest.TempPathFactory, name: str) -> Iterator[tuple[Path, bool]]:
    """A directory ``name`` that all pytest-xdist workers of the session share, held under a
    lock: yields ``(directory, done)``; when ``done`` is false the caller builds what it
    holds and :func:`built_once` marks it done when the block ends without an error."""
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    root = shared / name
    root.mkdir(exist_ok=True)
    with open(shared / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        done = root / ".done"
        yield root, done.exists()
        done.touch()


@contextmanager
def configured_at(root: Path, database: str = "rapport.db") -> Iterator[Path]:
    """The product configured as a test's is (:func:`_isolated_settings`), but with the store
    ``root/database`` and the data directory ``root/data``: for building, once per session,
    a store that tests then start from (:func:`install_store`). Yields the store's path;
    on leaving, its write-ahead log is folded into the file so that copying the one file
    copies everything."""
    import sqlite3

    path = root / database
    with pytest.MonkeyPatch.context() as mp:
        point_settings_at(mp, path, root)
        try:
            yield path
        finally:
            get_settings.cache_clear()
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def install_store(root: Path, database: str = "rapport.db") -> None:
    """Copy the store built by :func:`configured_at` under ``root`` (and its data directory:
    fitted models, reports) to where the running test's settings point, so that the test
    starts from it and may write to it."""
    settings = get_settings()
    target = make_url(settings.database_url).database
    assert target is not None
    shutil.copy(root / database, target)
    if (root / "data").exists():
        shutil.copytree(root / "data", settings.data_dir, dirs_exist_ok=True)


@pytest.fixture(scope="session")
def sample_store(tmp_path_factory: pytest.TempPathFactory) -> SampleStore:
    """The sample company and its store, built once for all pytest-xdist workers.

    The first worker generates and imports it under a lock in the directory the workers
    share and keeps the generated tables as Parquet; the others read them back.
    """
    import pyarrow.parquet as pq

    from rapport.sample import SampleCompany, generate
    from rapport.sample.load import load_company

    with built_once(tmp_path_factory, "sample-store") as (root, done):
        if not done:
            company = generate(customers=3000, months=24, seed=7, end=SAMPLE_END)
            (root / "store.db").unlink(missing_ok=True)  # left by a worker that failed
            engine = create_engine(f"sqlite:///{root / 'store.db'}")
            upgrade(engine)
            load_company(company, engine=engine, work_dir=root)
            engine.dispose()
            for name, table in company.tables.items():
                pq.write_table(table, root / f"{name}.parquet")
            pq.write_table(company.latent, root / "latent.parquet")
            scalars = {k: v for k, v in company.params.items() if k != "latent"}
            (root / "params.json").write_text(json.dumps(scalars, default=str), encoding="utf-8")
        params = json.loads((root / "params.json").read_text(encoding="utf-8"))
    tables = {
        p.stem: pq.read_table(p) for p in sorted(root.glob("*.parquet")) if p.stem != "latent"
    }
    params["latent"] = pq.read_table(root / "latent.parquet")
    company = SampleCompany(tables=tables, params=params)
    return SampleStore(path=root / "store.db", company=company, end=SAMPLE_END)


# --- a small scored company, built once per test session -------------------------------------

#: The two snapshot days of :func:`scored_store`: EARLIER scored without models, DAY with them.
SCORED_EARLIER = dt.date(2024, 9, 30)
SCORED_DAY = dt.date(2024, 12, 31)


def scored_company() -> SampleCompany:
    """600 customers over 24 months, seed 3: enough for the models to fit and warn."""
    from rapport.sample import generate

    return generate(customers=600, months=24, seed=3, end=dt.date(2025, 1, 1))


def score_twice(settings: Settings) -> None:
    """Score the store of ``settings`` on :data:`SCORED_EARLIER` (without models), then on
    :data:`SCORED_DAY` (fitting the models into ``settings.data_dir``)."""
    from rapport.scoring import run

    run(settings, as_of=SCORED_EARLIER, models=False)
    run(settings, as_of=SCORED_DAY)


@dataclass(frozen=True)
class ScoredStore:
    """:func:`scored_company` in a SQLite store scored by :func:`score_twice`, with the
    fitted models in ``data_dir``; shared by the session, so a test works on a copy."""

    path: Path
    data_dir: Path

    def copy(self, directory: Path) -> str:
        """Copy the store to ``directory/store.db`` and the models to ``directory/data``;
        the copy's URL."""
        shutil.copytree(self.data_dir, directory / "data", dirs_exist_ok=True)
        shutil.copy(self.path, directory / "store.db")
        return f"sqlite:///{directory / 'store.db'}"


@pytest.fixture(scope="session")
def scored_store(tmp_path_factory: pytest.TempPathFactory) -> ScoredStore:
    """The scored company of the reports and of the CLI's output formats, built once for
    all pytest-xdist workers (loading and scoring it twice costs ~15 s of CPU)."""
    from rapport.sample.load import load_company

    with built_once(tmp_path_factory, "scored-store") as (root, done):
        path, data_dir = root / "store.db", root / "data"
        if not done:
            path.unlink(missing_ok=True)  # left by a worker that failed
            shutil.rmtree(data_dir, ignore_errors=True)
            engine = create_engine(f"sqlite:///{path}")
            upgrade(engine)
            load_company(scored_company(), engine=engine, work_dir=root)
            engine.dispose()
            score_twice(
                Settings(_env_file=None, database_url=f"sqlite:///{path}", data_dir=data_dir)
            )
    return ScoredStore(path=path, data_dir=data_dir)
