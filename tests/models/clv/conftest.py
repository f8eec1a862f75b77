"""Fixtures of the CLV model tests: the CDNOW summary, models fitted on it, lifetimes."""

from __future__ import annotations

import warnings
from types import ModuleType

import pytest

from rapport.models.clv import BetaGeoModel, GammaGammaModel, ParetoNBDModel, repeat_buyers
from tests.models.clv.cdnow import CdnowSummary, cdnow_summary


@pytest.fixture(scope="session")
def cdnow() -> CdnowSummary:
    return cdnow_summary()


@pytest.fixture(scope="session")
def bgnbd(cdnow: CdnowSummary) -> BetaGeoModel:
    return BetaGeoModel().fit(cdnow.frequency, cdnow.recency, cdnow.T)


@pytest.fixture(scope="session")
def paretonbd(cdnow: CdnowSummary) -> ParetoNBDModel:
    return ParetoNBDModel().fit(cdnow.frequency, cdnow.recency, cdnow.T)


@pytest.fixture(scope="session")
def gammagamma(cdnow: CdnowSummary) -> GammaGammaModel:
    x, m, _ = repeat_buyers(cdnow.frequency, cdnow.monetary)
    return GammaGammaModel().fit(x, m)


@pytest.fixture(scope="session")
def lifetimes() -> ModuleType:
    """The ``lifetimes`` package (a cross-check only; never imported by src/).

    Under pandas 3 it warns at import (``mode.chained_assignment`` is deprecated); the
    calls used here work.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import lifetimes

    return lifetimes
