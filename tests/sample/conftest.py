"""Generated companies shared by the sample tests (generation is deterministic)."""

from __future__ import annotations

from datetime import date

import pytest

from rapport.sample import SampleCompany, generate

END = date(2025, 1, 1)


@pytest.fixture(scope="session")
def company() -> SampleCompany:
    """4,000 customers over 24 months: enough for the documented properties."""
    return generate(customers=4000, months=24, seed=7, end=END)


@pytest.fixture(scope="session")
def small() -> SampleCompany:
    return generate(customers=1500, months=12, seed=11, end=END)


@pytest.fixture(scope="session")
def english() -> SampleCompany:
    return generate(customers=1500, months=12, seed=5, locale="en_US", end=END)
