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
from fastapi.testclient import TestClient

from rapport.api.app import create_app
from rapport.config import Settings
from rapport.domain import Role
from rapport.store import users
from rapport.store.db import create_engine, session_scope, upgrade
from tests.analytics import fixture_data
from tests.analytics.conftest import load_dataset
from tests.conftest import own_database
from tests.helpers import advance_sequences

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


@pytest.fixture(
    name="analytics_api",
    scope="module",
    params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)],
)
def analytics_api_fixture(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[AnalyticsApi]:
    """The fixture company in a store of its own (SQLite file or PostgreSQL database)."""
    root = tmp_path_factory.mktemp(f"api-analytics-{request.param}")
    with own_database(request.param, root) as url:
        yield from _analytics_api(url, root)


def _analytics_api(url: str, root: Path) -> Iterator[AnalyticsApi]:
    engine = create_engine(url)
    try:
        upgrade(engine)
        load_dataset(engine, fixture_data.TABLES)
        advance_sequences(engine)
        made = {}
        with session_scope(engine) as session:
            for name, role in ROLE_USERS.items():
                made[name] = users.create_user(session=session, username=f"{name}-a", role=role)
        settings = _settings(url, root / "data")
        with TestClient(create_app(settings)) as client:
            yield AnalyticsApi(client=client, settings=settings, url=url, users=made)
    finally:
        engine.dispose()
