"""Gamma-Gamma on CDNOW's repeat buyers against Fader & Hardie (2013) and lifetimes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rapport.errors import FitFailed, ValidationFailed
from rapport.models.clv import GammaGammaModel, repeat_buyers
from rapport.models.clv.gammagamma import _row_log_likelihood

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def test_cdnow_parameters_and_log_likelihood(gammagamma, cdnow):
    p = gammagamma.params_
    assert (round(p["p"], 2), round(p["q"], 2), round(p["gamma"], 2)) == (6.25, 3.74, 15.44)
    assert gammagamma.n_customers_ == 946
    # the published -4055.92 is the density of each buyer's *mean* spend ...
    assert gammagamma.log_likelihood_ == pytest.approx(-4055.92, abs=0.01)
    # ... not of the total spend x*m, whose density is lower by the Jacobian sum(log x)
    x = cdnow.frequency[cdnow.frequency > 0]
    total = gammagamma.log_likelihood_ - np.log(x).sum()
    assert total == pytest.approx(-4659.29, abs=0.01)


def test_density_of_the_mean_integrates_to_one(gammagamma):
    theta = np.array(list(gammagamma.params_.values()))
    grid = np.linspace(1e-6, 3000, 600_001)
    for x in (1.0, 3.0, 10.0):
        density = np.exp(_row_log_likelihood(theta, np.full_like(grid, x), grid))
        assert np.trapezoid(density, grid) == pytest.approx(1.0, abs=1e-4)


def test_same_as_lifetimes(gammagamma, cdnow, lifetimes):
    x, m, _ = repeat_buyers(cdnow.frequency, cdnow.monetary)
    theirs = lifetimes.GammaGammaFitter().fit(x, m)
    ours = gammagamma.params_
    assert round(ours["p"], 3) == round(theirs.params_["p"], 3)
    assert round(ours["q"], 3) == round(theirs.params_["q"], 3)
    assert round(ours["gamma"], 3) == round(theirs.params_["v"], 3)
    spend = gammagamma.conditional_expected_spend(cdnow.frequency, cdnow.monetary)
    their_spend = theirs.conditional_expected_average_profit(
        pd.Series(cdnow.frequency), pd.Series(cdnow.monetary)
    )
    np.testing.assert_allclose(spend, their_spend, rtol=1e-4)


def test_conditional_spend_shrinks_toward_the_population_mean(gammagamma):
    p, q, gamma = (gammagamma.params_[k] for k in ("p", "q", "gamma"))
    mean = p * gamma / (q - 1)
    assert gammagamma.expected_spend_mean() == pytest.approx(mean)
    got = gammagamma.conditional_expected_spend([0, 1, 5, 50], [0.0, 100.0, 100.0, 100.0])
    assert got[0] == pytest.approx(mean)
    assert mean < got[1] < got[2] < got[3] < 100  # more purchases, more own weight


def test_fit_refuses_customers_without_repeat_purchases(cdnow):
    with pytest.raises(ValidationFailed) as err:
        GammaGammaModel().fit(cdnow.frequency, cdnow.monetary)
    first = int(np.flatnonzero(cdnow.frequency == 0)[0])
    assert err.value.field == "frequency"
    assert f"row {first}" in err.value.message
    assert "repeat_buyers" in err.value.hint


def test_fit_refuses_non_positive_spend():
    with pytest.raises(ValidationFailed) as err:
        GammaGammaModel().fit([1, 2, 3], [10.0, 0.0, 5.0])
    assert err.value.field == "monetary" and "row 1" in err.value.message


def test_weights_equal_repeated_rows(cdnow):
    x, m, _ = repeat_buyers(cdnow.frequency, cdnow.monetary)
    counts = np.random.default_rng(3).integers(1, 4, size=x.size)
    weighted = GammaGammaModel().fit(x, m, weights=counts)
    expanded = GammaGammaModel().fit(np.repeat(x, counts), np.repeat(m, counts))
    assert weighted.params_ == pytest.approx(expanded.params_, rel=1e-7)
    assert weighted.log_likelihood_ == pytest.approx(expanded.log_likelihood_, rel=1e-10)


def test_identical_spend_is_a_fit_failure():
    """Everyone spends the same: no heterogeneity to estimate, parameters run off."""
    with pytest.raises(FitFailed) as err:
        GammaGammaModel().fit(np.array([1.0, 2, 3] * 20), np.full(60, 25.0))
    assert "Gamma-Gamma" in err.value.message and "tried" in err.value.message
