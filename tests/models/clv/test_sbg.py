"""sBG against Fader & Hardie (2007), "How to project customer retention"."""

from __future__ import annotations

import numpy as np
import pytest

from rapport.errors import FitFailed, ValidationFailed
from rapport.models.clv import ShiftedBetaGeoModel

REGULAR = [1000, 631, 468, 382, 326, 289, 262, 241, 223, 207, 194, 183, 173]
HIGH_END = [1000, 869, 743, 653, 593, 551, 517, 491, 468, 445, 427, 409, 394]


@pytest.mark.parametrize(
    ("alive", "alpha", "beta"),
    [(REGULAR, 0.704, 1.182), (HIGH_END, 0.668, 3.806)],
    ids=["regular", "high end"],
)
def test_published_parameters_from_years_0_to_7(alive, alpha, beta):
    model = ShiftedBetaGeoModel().fit(alive[:8])
    assert round(model.params_["alpha"], 3) == alpha
    assert round(model.params_["beta"], 3) == beta
    # the projection of years 8..12 stays within 5 % of the actual counts (paper, fig. 3)
    projected = 1000 * model.survival(np.arange(13))
    np.testing.assert_allclose(projected[8:], alive[8:], rtol=0.05)
    assert projected[0] == 1000


def test_fit_churned_is_the_same_fit():
    alive = np.array(REGULAR[:8], dtype=float)
    a = ShiftedBetaGeoModel().fit(alive)
    b = ShiftedBetaGeoModel().fit_churned(alive[:-1] - alive[1:], alive[-1])
    assert a.params_ == pytest.approx(b.params_, rel=1e-10)
    assert a.log_likelihood_ == pytest.approx(b.log_likelihood_)


def test_retention_curve_is_the_ratio_of_survivals():
    model = ShiftedBetaGeoModel().fit(REGULAR[:8])
    t = np.arange(1, 20)
    np.testing.assert_allclose(
        model.retention_curve(t), model.survival(t) / model.survival(t - 1), rtol=1e-12
    )
    assert np.all(np.diff(model.retention_curve(t)) > 0)  # heterogeneity: rising retention


@pytest.mark.parametrize("renewals", [0, 1, 4, 10])
@pytest.mark.parametrize("rate", [0.1, 0.25])
def test_derl_equals_the_discounted_sum(renewals, rate):
    model = ShiftedBetaGeoModel().fit(HIGH_END[:8])
    n = renewals + 1
    t = np.arange(n, 20_000)
    direct = np.sum(model.survival(t) / model.survival(n - 1) * (1 + rate) ** -(t - n))
    got = model.expected_remaining_lifetime(renewals, discount_rate=rate)[0]
    assert got == pytest.approx(direct, rel=1e-9)


def test_undiscounted_remaining_lifetime():
    model = ShiftedBetaGeoModel().fit(REGULAR[:8])  # alpha < 1: infinite mean
    assert np.isinf(model.expected_remaining_lifetime(0, discount_rate=0.0)[0])
    finite = model.with_params(np.array([2.5, 3.0]))
    assert finite.expected_remaining_lifetime([0, 3], discount_rate=0.0) == pytest.approx(
        [3.0 / 1.5, 6.0 / 1.5]
    )


def test_growing_counts_are_refused():
    with pytest.raises(ValidationFailed) as err:
        ShiftedBetaGeoModel().fit([1000, 600, 650])
    assert err.value.field == "alive_counts" and "row 2" in err.value.message


def test_homogeneous_churn_is_a_fit_failure():
    """A constant churn rate (every customer the same) has no Beta heterogeneity to
    estimate: alpha and beta run off together."""
    alive = 1000 * 0.7 ** np.arange(8)
    with pytest.raises(FitFailed) as err:
        ShiftedBetaGeoModel().fit(alive)
    assert "sBG" in err.value.message
