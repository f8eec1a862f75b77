"""Discounted CLV and its parameter-uncertainty interval."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rapport.errors import ValidationFailed
from rapport.models.clv import clv_interval, customer_lifetime_value
from rapport.models.units import Duration

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

YEAR = Duration(12, "months")


def summary(cdnow):
    return cdnow.frequency, cdnow.recency, cdnow.T, cdnow.monetary


def test_same_as_lifetimes(bgnbd, gammagamma, cdnow, lifetimes):
    """lifetimes sums 12 steps of 4.345 weeks (its "month") with 1 % discount per step;
    the same steps and the annual rate equivalent to 1 % per 30.415 days give the same CLV.
    """
    fitted = lifetimes.BetaGeoFitter().fit(cdnow.frequency, cdnow.recency, cdnow.T)
    fitted.params_[:] = [bgnbd.params_[k] for k in ("r", "alpha", "a", "b")]
    spend = lifetimes.GammaGammaFitter()
    spend.params_ = pd.Series(
        [gammagamma.params_[k] for k in ("p", "q", "gamma")], index=["p", "q", "v"]
    )
    theirs = spend.customer_lifetime_value(
        fitted, *(pd.Series(a) for a in summary(cdnow)), time=12, discount_rate=0.01, freq="W"
    )
    step = Duration(4.345, "weeks")
    annual = 1.01 ** (365.25 / step.days) - 1
    ours = customer_lifetime_value(
        bgnbd,
        gammagamma,
        *summary(cdnow),
        horizon=Duration(12 * 4.345, "weeks"),
        step=step,
        annual_discount_rate=annual,
    )
    np.testing.assert_allclose(ours, theirs, rtol=1e-6)


def test_zero_discount_is_expected_purchases_times_spend(bgnbd, gammagamma, cdnow):
    args = summary(cdnow)
    got = customer_lifetime_value(
        bgnbd, gammagamma, *args, horizon=YEAR, annual_discount_rate=0.0, margin=0.3
    )
    purchases = bgnbd.expected_purchases(YEAR, *args[:3])
    spend = gammagamma.conditional_expected_spend(cdnow.frequency, cdnow.monetary)
    np.testing.assert_allclose(got, purchases * spend * 0.3, rtol=1e-10)


def test_discounting_at_step_ends_and_a_short_last_step(bgnbd, gammagamma):
    x, tx, T, m = [2.0], [30.43], [38.86], [40.0]
    got = customer_lifetime_value(
        bgnbd,
        gammagamma,
        x,
        tx,
        T,
        m,
        horizon=Duration(45, "days"),
        step=Duration(1, "months"),
        annual_discount_rate=0.2,
    )
    e1 = bgnbd.expected_purchases(Duration(30.4375, "days"), x, tx, T)[0]
    e2 = bgnbd.expected_purchases(Duration(45, "days"), x, tx, T)[0]
    spend = gammagamma.conditional_expected_spend(x, m)[0]
    want = spend * (e1 / 1.2 ** (1 / 12) + (e2 - e1) / 1.2 ** (45 / 365.25))
    assert got[0] == pytest.approx(want, rel=1e-12)


def test_zero_horizon_is_zero_and_longer_is_more(bgnbd, gammagamma, cdnow):
    args = summary(cdnow)
    assert not customer_lifetime_value(bgnbd, gammagamma, *args, horizon=Duration(0, "days")).any()
    one = customer_lifetime_value(bgnbd, gammagamma, *args, horizon=YEAR)
    two = customer_lifetime_value(bgnbd, gammagamma, *args, horizon=Duration(24, "months"))
    assert np.all(two >= one) and np.all(one > 0)


def test_pareto_nbd_works_too(paretonbd, gammagamma, cdnow):
    args = summary(cdnow)
    got = customer_lifetime_value(
        paretonbd, gammagamma, *args, horizon=YEAR, annual_discount_rate=0
    )
    purchases = paretonbd.expected_purchases(YEAR, *args[:3])
    spend = gammagamma.conditional_expected_spend(cdnow.frequency, cdnow.monetary)
    np.testing.assert_allclose(got, purchases * spend, rtol=1e-10)


def test_interval_brackets_the_estimate(bgnbd, gammagamma, cdnow):
    args = summary(cdnow)
    value = customer_lifetime_value(bgnbd, gammagamma, *args, horizon=YEAR)
    low, high = clv_interval(bgnbd, gammagamma, *args, horizon=YEAR, draws=200, seed=1)
    assert low.shape == high.shape == value.shape
    assert np.all((low > 0) & (low < high))
    inside = (low <= value) & (value <= high)
    assert inside.mean() > 0.99
    # repeated rows get identical intervals; the same seed gives the same answer
    again = clv_interval(bgnbd, gammagamma, *args, horizon=YEAR, draws=200, seed=1)
    np.testing.assert_array_equal(again[0], low)
    same = (cdnow.frequency == 0) & (cdnow.T[0] == cdnow.T)
    assert np.unique(low[same]).size == 1


def test_bad_inputs_are_refused(bgnbd, gammagamma):
    with pytest.raises(ValidationFailed) as err:
        customer_lifetime_value(bgnbd, gammagamma, [1, 2], [1, 3], [2, 2], [5, 5], horizon=YEAR)
    assert err.value.field == "recency" and "row 1" in err.value.message
    with pytest.raises(ValidationFailed) as err:
        customer_lifetime_value(bgnbd, gammagamma, [1], [1], [2], [5], horizon=12)
    assert err.value.field == "horizon"
    with pytest.raises(ValidationFailed):
        clv_interval(bgnbd, gammagamma, [1], [1], [2], [5], horizon=YEAR, level=1.5)
