"""MBG/NBD on CDNOW against lifetimes' ModifiedBetaGeoFitter, and its defining property:
one-time buyers are not all alive."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import approx_fprime

from rapport.models.clv.mbgnbd import ModifiedBetaGeoModel, _objective
from rapport.models.units import Duration

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

WEEKS_39 = Duration(39, "weeks")


@pytest.fixture(scope="module")
def mbgnbd(cdnow) -> ModifiedBetaGeoModel:
    return ModifiedBetaGeoModel(time_unit="weeks").fit(cdnow.frequency, cdnow.recency, cdnow.T)


def test_cdnow_fit_matches_lifetimes(cdnow, mbgnbd) -> None:
    import lifetimes  # a dev dependency: cross-checks only

    theirs = lifetimes.ModifiedBetaGeoFitter().fit(
        pd.Series(cdnow.frequency), pd.Series(cdnow.recency), pd.Series(cdnow.T)
    )
    for name in ("r", "alpha", "a", "b"):
        assert mbgnbd.params_[name] == pytest.approx(theirs.params_[name], rel=1e-4), name
    # measured on CDNOW: r=0.525, alpha=6.183, a=0.891, b=1.614, LL −9582.14
    assert mbgnbd.log_likelihood_ == pytest.approx(-9582.14, abs=0.01)
    assert mbgnbd.fit_report_.converged
    rows = slice(0, 50)
    x, tx, T = cdnow.frequency[rows], cdnow.recency[rows], cdnow.T[rows]
    np.testing.assert_allclose(
        mbgnbd.probability_alive(x, tx, T),
        theirs.conditional_probability_alive(x, tx, T),
        rtol=1e-5,
    )
    np.testing.assert_allclose(
        mbgnbd.expected_purchases(WEEKS_39, x, tx, T),
        theirs.conditional_expected_number_of_purchases_up_to_time(39, x, tx, T),
        rtol=1e-5,
    )
    assert mbgnbd.expected_purchases_new(WEEKS_39) == pytest.approx(
        theirs.expected_number_of_purchases_up_to_time(39), rel=1e-6
    )


def test_one_time_buyers_can_be_gone(mbgnbd) -> None:
    # BG/NBD says 1 for every x = 0; MBG/NBD falls with the time since the only purchase
    p = mbgnbd.probability_alive([0, 0, 0], [0, 0, 0], [1.0, 10.0, 38.0])
    assert (p < 1).all()
    assert p[0] > p[1] > p[2]


def test_analytic_gradient_matches_finite_differences(cdnow) -> None:
    w = np.ones(cdnow.frequency.size)
    objective = _objective(cdnow.frequency, cdnow.recency, cdnow.T, w)
    z = np.log([0.5, 6.0, 0.9, 1.6])
    _, grad = objective(z)
    numeric = approx_fprime(z, lambda v: objective(v)[0], 1e-6)
    np.testing.assert_allclose(grad, numeric, rtol=1e-4, atol=1e-3)


def test_expectations_grow_with_the_horizon(mbgnbd) -> None:
    short = mbgnbd.expected_purchases(Duration(4, "weeks"), [3], [20.0], [30.0])
    long = mbgnbd.expected_purchases(Duration(52, "weeks"), [3], [20.0], [30.0])
    assert 0 < short[0] < long[0]
    assert mbgnbd.expected_purchases_new(Duration(0, "weeks")) == pytest.approx(0, abs=1e-12)
