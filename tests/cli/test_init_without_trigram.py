"""`rapport init` on a PostgreSQL store whose user may not create the extension ``pg_trgm``:
the migration leaves the search's trigram index out instead of failing, ``init`` says so and
how to add it, and the search finds the same customers without the index."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from rapport.cli.main import app
from rapport.config import get_settings
from rapport.store import customers, session_scope
from rapport.store.db import create_engine
from tests.conftest import (
    POSTGRES_ONLY,
    create_postgres_database,
    drop_postgres_database,
    postgres_url,
)

pytestmark = POSTGRES_ONLY


@pytest.fixture
def restricted_url() -> Iterator[str]:
    """A new database and a role that may create tables in it but not extensions."""
    base = postgres_url()
    assert base is not None
    url = create_postgres_database(base)
    role = f"rapport_noext_{uuid.uuid4().hex[:8]}"
    server = sa.create_engine(
        make_url(base).set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT"
    )
    with server.connect() as conn:
        conn.exec_driver_sql(f'CREATE ROLE "{role}" LOGIN')
    inside = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with inside.connect() as conn:
        conn.exec_driver_sql(f'REVOKE CREATE ON DATABASE "{make_url(url).database}" FROM PUBLIC')
        conn.exec_driver_sql(f'GRANT USAGE, CREATE ON SCHEMA public TO "{role}"')
    inside.dispose()
    try:
        yield make_url(url).set(username=role, password=None).render_as_string(hide_password=False)
    finally:
        drop_postgres_database(base, url)
        with server.connect() as conn:
            conn.exec_driver_sql(f'DROP ROLE IF EXISTS "{role}"')
        server.dispose()


def test_init_migrates_without_the_index_says_how_and_search_still_finds(
    restricted_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RAPPORT_DATABASE_URL", restricted_url)
    monkeypatch.setenv("RAPPORT_LOCALE", "en")
    get_settings.cache_clear()
    result = CliRunner().invoke(app, ["init"])
    assert result.exit_code == 0, result.output
    said = " ".join(result.output.split())
    assert "pg_trgm could not be created" in said
    assert "CREATE INDEX ix_customer_search_doc_trgm ON customer_search" in said

    engine = create_engine(restricted_url)
    try:
        assert customers.search_index_missing(engine)
        with session_scope(engine, writing=True) as session:
            for key, name in (("C1", "欧阳明"), ("C2", "Ming Zhou"), ("C3", "李娜")):
                customers.repo.create(session=session, values={"external_id": key, "name": name})
        with session_scope(engine) as session:
            found = {
                text: [r["external_id"] for r in customers.search(session=session, text=text)]
                for text in ("明", "ming", "欧阳明", "c3", "nobody")
            }
    finally:
        engine.dispose()
    assert found == {"明": ["C1"], "ming": ["C2"], "欧阳明": ["C1"], "c3": ["C3"], "nobody": []}
