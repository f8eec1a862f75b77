"""A scored sample store for the report tests, on SQLite and on PostgreSQL.

The sample company is generated once per session; each backend's store imports it, is
scored on two dates (the later one with the predictive models), and then gets what the
reports must honour: a sales user owning every third customer, and one deleted diamond
customer. An app serves the store; the command line reads it through the settings.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from rapport.access import Principal
from rapport.api.app import create_app
from rapport.config import Settings
from rapport.domain import Role
from rapport.reports import snapshot_cache
from rapport.sample import SampleCompany
from rapport.store import schema, users
from rapport.store.db import create_engine, session_scope, upgrade
from tests.api.conftest import SECRET, bearer
from tests.conftest import (
    SCORED_DAY,
    SCORED_EARLIER,
    ScoredStore,
    own_database,
    score_twice,
    scored_company,
)
from tests.helpers import advance_sequences

DAY = SCORED_DAY
EARLIER = SCORED_EARLIER


@dataclass
class ReportStore:
    """A scored store, an app serving it, and who is who in it."""

    url: str
    data_dir: Path
    settings: Settings
    client: TestClient
    users: dict[str, dict[str, Any]]
    #: Customers the sales user owns.
    sales_ids: set[int]
    #: The deleted diamond customer.
    deleted_id: int

    def headers(self, who: str) -> dict[str, str]:
        return bearer(self.users[who], self.settings)

    def principal(self, who: str) -> Principal:
        user = self.users[who]
        return Principal(
            user_id=user["id"],
            username=user["username"],
            role=Role(user["role"]),
            team=user.get("team"),
            via="login",
        )

    def engine(self) -> sa.Engine:
        return create_engine(self.url)


@pytest.fixture(
    scope="module",
    params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)],
)
def report_store(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ReportStore]:
    """The scored company with users and owners. SQLite: a copy of the session's
    ``scored_store``; PostgreSQL: loaded and scored in a database of its own."""
    root = tmp_path_factory.mktemp(f"reports-{request.param}")
    if request.param == "sqlite":
        scored: ScoredStore = request.getfixturevalue("scored_store")
        yield from _report_store(scored.copy(root), root, company=None)
        return
    with own_database(request.param, root) as url:
        yield from _report_store(url, root, company=scored_company())


def _report_store(url: str, root: Path, company: SampleCompany | None) -> Iterator[ReportStore]:
    """Users, owners and a deleted diamond on the store at ``url``; ``company``, when given,
    is loaded and scored first (the store is empty)."""
    from rapport.sample.load import load_company

    engine = create_engine(url)
    settings = Settings(_env_file=None, database_url=url, data_dir=root / "data", secret_key=SECRET)
    try:
        if company is not None:
            upgrade(engine)
            load_company(company, engine=engine, work_dir=root)
            advance_sequences(engine)
            score_twice(settings)
        made = {}
        with session_scope(engine) as session:
            for role in (Role.ADMIN, Role.SALES, Role.ANALYST):
                made[role.value] = users.create_user(
                    session=session, username=f"reports-{role.value}", role=role
                )
        c, s = schema.customers.c, schema.customer_scores.c
        with engine.begin() as conn:
            conn.execute(
                sa.update(schema.customers)
                .where(c.id % 3 == 0)
                .values(owner_id=made["sales"]["id"])
            )
            sales_ids = set(
                conn.execute(sa.select(c.id).where(c.owner_id == made["sales"]["id"])).scalars()
            )
            # the diamond customer with the highest window revenue, owned by the sales user
            deleted_id = conn.execute(
                sa.select(s.customer_id)
                .where(
                    s.as_of == DAY,
                    s.value_tier == "diamond",
                    s.customer_id.in_(sales_ids),
                )
                .order_by(s.monetary.desc(), s.customer_id)
                .limit(1)
            ).scalar_one()
            conn.execute(
                sa.update(schema.customers)
                .where(c.id == deleted_id)
                .values(deleted_at=dt.datetime(2025, 1, 1, tzinfo=dt.UTC))
            )
        # written with SQL, not through the store: the customers' updated_at is unchanged,
        # so the reports the scoring run kept would still match
        snapshot_cache.clear(engine)
        with TestClient(create_app(settings)) as client:
            yield ReportStore(
                url=url,
                data_dir=root / "data",
                settings=settings,
                client=client,
                users=made,
                sales_ids=sales_ids,
                deleted_id=deleted_id,
            )
    finally:
        engine.dispose()


@pytest.fixture
def no_kept_reports(report_store: ReportStore) -> Iterator[None]:
    """Nothing kept, in the process or in the store, before and after the test."""
    engine = create_engine(report_store.url)
    snapshot_cache.clear(engine)
    yield
    snapshot_cache.clear(engine)
    engine.dispose()
