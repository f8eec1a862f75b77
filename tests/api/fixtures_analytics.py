"""A real store holding the hand-built company of ``tests.analytics.fixture_data``, committed
(the metrics run in a worker process that sees only committed data), with one user per role,
and an app serving it — once per test module and backend.

Use it in a test module with
``from .fixtures_analytics import analytics_api_fixture  # noqa: F401``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from rapport.api.app import create_app
from rapport.config import Settings
from rapport.domain import Role
from rapport.store import schema, users
from rapport.store.db import create_engine, session_scope, upgrade
from tests.analytics import fixture_data
from tests.analytics.conftest import load_dataset
from tests.conftest import create_postgres_database, drop_postgres_database, postgres_url

from .conftest import SECRET, bearer

#: The role of each user of the store.
ROLE_USERS = {
    "admin": Role.ADMIN,
    "manager": Role.MANAGER,
    "sales": Role.SALES,
    "service": Role.SERVICE,
    "analyst": Role.ANALYST,
}


@dataclass
class AnalyticsApi:
    """A client of an app over a committed store, and a log-in token per role."""

    client: TestClient
    settings: Settings
    url: str
    users: dict[str, dict[str, Any]]

    def headers(self, role: str) -> dict[str, str]:
        return bearer(self.users[role], self.settings)


def _settings(url: str, data_dir: Path) -> Settings:
    return Settings(
        _env_file=None,
        database_url=url,
        data_dir=data_dir,
        secret_key=SECRET,
        timezone=fixture_data.TZ,
    )


def _advance_sequences(engine: sa.Engine) -> None:
    """PostgreSQL: move each id sequence past the ids the dataset gave explicitly."""
    with engine.begin() as conn:
        for table in schema.TABLES:
            if "id" in table.c and table.name in fixture_data.TABLES:
                conn.exec_driver_sql(
                    f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                    f"(SELECT max(id) FROM {table.name}))"
                )


@pytest.fixture(
    name="analytics_api",
    scope="module",
    params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)],
)
def analytics_api_fixture(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[AnalyticsApi]:
    """The fixture company in a store of its own (SQLite file or PostgreSQL database)."""
    base = None
    root = tmp_path_factory.mktemp(f"api-analytics-{request.param}")
    if request.param == "sqlite":
        url = f"sqlite:///{root / 'store.db'}"
    else:
        base = postgres_url()
        if base is None:
            pytest.skip("PostgreSQL backend not tested: RAPPORT_TEST_POSTGRES_URL is not set")
        url = create_postgres_database(base)
    engine = create_engine(url)
    try:
        upgrade(engine)
        load_dataset(engine, fixture_data.TABLES)
        if base is not None:
            _advance_sequences(engine)
        made = {}
        with session_scope(engine) as session:
            for name, role in ROLE_USERS.items():
                made[name] = users.create_user(session=session, username=f"{name}-a", role=role)
        settings = _settings(url, root / "data")
        with TestClient(create_app(settings)) as client:
            yield AnalyticsApi(client=client, settings=settings, url=url, users=made)
    finally:
        engine.dispose()
        if base is not None:
            drop_postgres_database(base, url)
