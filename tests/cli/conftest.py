"""The small company the analysis commands read, loaded once for all pytest-xdist workers."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from rapport.config import get_settings
from tests.conftest import built_once, configured_at


@pytest.fixture(scope="session")
def _company_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """300 customers over 12 months (seed 5) in a SQLite store, loaded as ``rapport sample``
    loads a company (migrations, loyalty tiers, then the import of every table): generating
    and loading it costs about 1.5 s of CPU, which each test of the metrics and analysis
    commands paid before."""
    from rapport.cli.sample import _load
    from rapport.sample.generator import generate

    with built_once(tmp_path_factory, "cli-company") as (root, done):
        path = root / "store.db"
        if not done:
            path.unlink(missing_ok=True)  # left by a worker that failed
            with configured_at(root, "store.db"):
                _load(generate(customers=300, months=12, seed=5, end=dt.date(2025, 1, 1)))
    return path


@pytest.fixture
def company(_company_store: Path) -> None:
    """The configured store of the test (``RAPPORT_DATABASE_URL``) holds the company of
    :func:`_company_store` (a copy: the test may write to it)."""
    target = make_url(get_settings().database_url).database
    assert target is not None
    shutil.copy(_company_store, target)
