"""Shared fixtures: the ``backend`` matrix (SQLite and PostgreSQL) and isolated sessions.

PostgreSQL tests run whenever ``RAPPORT_TEST_POSTGRES_URL`` is set. When it is set but the
server cannot be reached, they fail — they are never skipped silently. When it is unset,
they are reported as skipped with the reason in the summary (``-ra``).
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session

from rapport.config import get_settings
from rapport.store.db import create_engine, upgrade

POSTGRES_ENV = "RAPPORT_TEST_POSTGRES_URL"
BACKENDS = ("sqlite", "postgres")


def postgres_url() -> str | None:
    return os.environ.get(POSTGRES_ENV) or None


@pytest.fixture(autouse=True)
def _isolated_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """Tests never read the developer's environment or ./rapport.toml."""
    for name in list(os.environ):
        if name.startswith("RAPPORT_") and name != POSTGRES_ENV:
            monkeypatch.delenv(name)
    monkeypatch.setenv("RAPPORT_DATABASE_URL", f"sqlite:///{tmp_path / 'rapport.db'}")
    monkeypatch.setenv("RAPPORT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    yield
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
def engine(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A migrated store on ``backend``. SQLite: a fresh file per test; PostgreSQL: shared
    by the session, so use it through :func:`session` (rolled back) or :func:`fresh_engine`."""
    if backend == "sqlite":
        path = tmp_path / "store.db"
        shutil.copy(request.getfixturevalue("_sqlite_template"), path)
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


@pytest.fixture
def empty_url(backend: str, tmp_path: Path) -> Iterator[str]:
    """The URL of an empty, never-migrated database on ``backend`` (dropped afterwards)."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    base = postgres_url()
    if base is None:
        pytest.skip(f"PostgreSQL backend not tested: {POSTGRES_ENV} is not set")
    url = create_postgres_database(base)
    yield url
    drop_postgres_database(base, url)


@pytest.fixture
def fresh_engine(empty_url: str) -> Iterator[Engine]:
    """A migrated store of its own on ``backend``, for tests that commit."""
    eng = create_engine(empty_url)
    upgrade(eng)
    yield eng
    eng.dispose()
