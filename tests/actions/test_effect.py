"""The effect statistics of a playbook (rapport.actions.effect) against independent
computations: statsmodels' Newcombe interval, scipy's and statsmodels' Welch interval,
scipy's percentile bootstrap; the nulls of empty and constant arms; interval properties."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from statsmodels.stats.proportion import confint_proportions_2indep
from statsmodels.stats.weightstats import CompareMeans, DescrStatsW

from rapport.actions.effect import (
    NO_COST,
    NO_HOLDOUT,
    NO_REVENUE,
    NO_TREATED,
    REVENUE_CONSTANT,
    REVENUE_TOO_FEW,
    ArmOutcome,
    bootstrap_interval,
    effect_of_arms,
    measure_effect,
    newcombe_arrays,
    newcombe_interval,
    welch_interval,
)
from rapport.errors import ValidationFailed

#: Revenue in cents, refunds included.
AMOUNTS = st.integers(-(10**6), 10**9).map(lambda cents: cents / 100)
COUNTS = [(0, 1), (1, 1), (0, 7), (7, 7), (3, 10), (1, 40), (39, 40), (120, 1000), (5, 5000)]


def arm(successes: int, customers: int) -> np.ndarray:
    return np.arange(customers) < successes


def shown(effect) -> str:
    """The effect as the API sends it: strict JSON (a NaN or infinity would raise)."""
    return json.dumps(effect.to_dict(), allow_nan=False)


# --- rates: Newcombe ---------------------------------------------------------------------------


@pytest.mark.parametrize("confidence", [0.95, 0.9, 0.99])
def test_the_rate_interval_is_statsmodels_newcombe(confidence: float) -> None:
    for (x1, n1), (x2, n2) in itertools.product(COUNTS, COUNTS):
        ours = newcombe_interval(x1, n1, x2, n2, confidence)
        low, high = confint_proportions_2indep(
            x1, n1, x2, n2, method="newcomb", compare="diff", alpha=1 - confidence
        )
        assert ours is not None and ours.method == "newcombe"
        assert ours.low == pytest.approx(low, abs=1e-12), (x1, n1, x2, n2)
        assert ours.high == pytest.approx(high, abs=1e-12), (x1, n1, x2, n2)


def test_the_rate_interval_covers_the_true_difference_about_95_percent_of_the_time() -> None:
    rng = np.random.default_rng(16)
    trials, n1, n2, p1, p2 = 20_000, 300, 60, 0.25, 0.15
    x1, x2 = rng.binomial(n1, p1, trials), rng.binomial(n2, p2, trials)
    low, high = newcombe_arrays(x1, n1, x2, n2, 0.95)
    covered = ((low <= p1 - p2) & (p1 - p2 <= high)).sum()
    # Newcombe's method 10 keeps close to its nominal coverage (Newcombe 1998, table II):
    # within 93–97 % here, a band wider than the simulation's own noise (±0.5 %).
    assert 0.93 * trials <= covered <= 0.97 * trials


@settings(max_examples=300, deadline=None)
@given(
    data=st.tuples(st.integers(1, 10**6), st.integers(1, 10**6)).flatmap(
        lambda ns: st.tuples(
            st.integers(0, ns[0]), st.just(ns[0]), st.integers(0, ns[1]), st.just(ns[1])
        )
    ),
    confidence=st.floats(0.5, 0.999),
)
def test_the_rate_interval_holds_the_estimate_stays_in_bounds_and_mirrors(
    data: tuple[int, int, int, int], confidence: float
) -> None:
    x1, n1, x2, n2 = data
    interval = newcombe_interval(x1, n1, x2, n2, confidence)
    swapped = newcombe_interval(x2, n2, x1, n1, confidence)
    assert interval is not None and swapped is not None
    estimate = x1 / n1 - x2 / n2
    assert -1.0 <= interval.low <= estimate <= interval.high <= 1.0
    assert swapped.low == pytest.approx(-interval.high, abs=1e-12)
    assert swapped.high == pytest.approx(-interval.low, abs=1e-12)


# --- revenue: Welch and bootstrap --------------------------------------------------------------


def revenue_arms(seed: int, n1: int = 400, n2: int = 45) -> tuple[np.ndarray, np.ndarray]:
    """Skewed revenue like real baskets: most customers 0, buyers lognormal."""
    rng = np.random.default_rng(seed)
    t = np.where(rng.random(n1) < 0.3, rng.lognormal(4.0, 1.0, n1), 0.0)
    h = np.where(rng.random(n2) < 0.2, rng.lognormal(4.0, 1.2, n2), 0.0)
    return t, h


@pytest.mark.parametrize(("seed", "confidence"), [(1, 0.95), (2, 0.9), (3, 0.99)])
def test_the_revenue_interval_is_welchs_as_scipy_and_statsmodels_compute_it(
    seed: int, confidence: float
) -> None:
    t, h = revenue_arms(seed)
    ours = welch_interval(
        ArmOutcome.from_outcomes(t > 0, t), ArmOutcome.from_outcomes(h > 0, h), confidence
    )
    assert ours is not None and ours.method == "welch"
    scipy_ci = stats.ttest_ind(t, h, equal_var=False).confidence_interval(confidence)
    assert (ours.low, ours.high) == pytest.approx((scipy_ci.low, scipy_ci.high), rel=1e-9)
    compare = CompareMeans(DescrStatsW(t), DescrStatsW(h))
    sm_low, sm_high = compare.tconfint_diff(alpha=1 - confidence, usevar="unequal")
    assert (ours.low, ours.high) == pytest.approx((sm_low, sm_high), rel=1e-9)


@settings(max_examples=100, deadline=None)
@given(
    t=st.lists(AMOUNTS, min_size=2, max_size=50),
    h=st.lists(AMOUNTS, min_size=2, max_size=50),
)
def test_the_revenue_interval_holds_the_estimate_and_mirrors(t: list, h: list) -> None:
    treated = ArmOutcome.from_outcomes(np.zeros(len(t)), t)
    holdout = ArmOutcome.from_outcomes(np.zeros(len(h)), h)
    interval = welch_interval(treated, holdout)
    swapped = welch_interval(holdout, treated)
    if np.ptp(t) == 0 and np.ptp(h) == 0:
        assert interval is None and swapped is None
        return
    assert interval is not None and swapped is not None
    estimate = np.mean(t) - np.mean(h)
    assert interval.low <= estimate + 1e-9 * abs(estimate) <= interval.high + 2e-9 * abs(estimate)
    assert swapped.low == pytest.approx(-interval.high, rel=1e-9, abs=1e-9)
    assert swapped.high == pytest.approx(-interval.low, rel=1e-9, abs=1e-9)


def test_the_bootstrap_is_seeded_and_agrees_with_scipys_percentile_bootstrap() -> None:
    t, h = revenue_arms(4, 600, 150)
    ours = bootstrap_interval(t, h, resamples=4000, rng=np.random.default_rng(7))
    again = bootstrap_interval(t, h, resamples=4000, rng=np.random.default_rng(7))
    assert ours == again and ours is not None and ours.method == "bootstrap_percentile"
    reference = stats.bootstrap(
        (t, h),
        lambda a, b, axis: a.mean(axis=axis) - b.mean(axis=axis),
        n_resamples=4000,
        method="percentile",
        confidence_level=0.95,
        rng=np.random.default_rng(11),
    ).confidence_interval
    # Different random streams: the ends agree up to Monte Carlo error, here a few % of the
    # interval's width (4,000 resamples put an end's standard error near 1.5 % of it).
    width = reference.high - reference.low
    assert abs(ours.low - reference.low) < 0.08 * width
    assert abs(ours.high - reference.high) < 0.08 * width
    # a batch boundary inside the resamples changes nothing but the memory used
    small = bootstrap_interval(t, h, resamples=200, rng=np.random.default_rng(3))
    assert small is not None and small.low < small.high


def test_measure_effect_gives_the_bootstrap_on_request() -> None:
    t, h = revenue_arms(5)
    plain = measure_effect(t > 0, h > 0, treated_revenue=t, holdout_revenue=h, cost=100.0)
    boot = measure_effect(
        t > 0, h > 0, treated_revenue=t, holdout_revenue=h, cost=100.0, bootstrap_resamples=500
    )
    assert plain.revenue_difference_bootstrap is None
    assert boot.revenue_difference_bootstrap is not None
    assert boot.revenue_difference_bootstrap == bootstrap_interval(
        t, h, resamples=500, rng=np.random.default_rng(0)
    )
    assert boot.revenue_difference_interval == plain.revenue_difference_interval


# --- the whole effect --------------------------------------------------------------------------


def test_incremental_figures_and_return() -> None:
    t, h = revenue_arms(6)
    cost = 250.0
    effect = measure_effect(t > 0, h > 0, treated_revenue=t, holdout_revenue=h, cost=cost)
    n = len(t)
    rate_diff = (t > 0).mean() - (h > 0).mean()
    revenue_diff = t.mean() - h.mean()
    assert effect.rate_difference == pytest.approx(rate_diff)
    assert effect.revenue_difference == pytest.approx(revenue_diff)
    assert effect.incremental_conversions == pytest.approx(rate_diff * n)
    assert effect.incremental_revenue == pytest.approx(revenue_diff * n)
    assert effect.net_return == pytest.approx(revenue_diff * n - cost)
    assert effect.return_ratio == pytest.approx((revenue_diff * n - cost) / cost)
    rate_ci, revenue_ci = effect.rate_difference_interval, effect.revenue_difference_interval
    assert rate_ci is not None and revenue_ci is not None
    conversions_ci = effect.incremental_conversions_interval
    assert conversions_ci is not None
    assert (conversions_ci.low, conversions_ci.high) == pytest.approx(
        (rate_ci.low * n, rate_ci.high * n)
    )
    net_ci = effect.net_return_interval
    assert net_ci is not None
    assert (net_ci.low, net_ci.high) == pytest.approx(
        (revenue_ci.low * n - cost, revenue_ci.high * n - cost)
    )
    assert effect.notes == ()
    data = json.loads(shown(effect))
    assert data["treated"] == {
        "customers": n,
        "successes": int((t > 0).sum()),
        "rate": pytest.approx((t > 0).mean()),
        "revenue": pytest.approx(t.sum()),
        "revenue_per_customer": pytest.approx(t.mean()),
    }
    assert data["rate_difference_interval"]["method"] == "newcombe"
    assert data["revenue_difference_interval"]["method"] == "welch"


def test_the_summaries_an_engine_computes_give_the_same_effect() -> None:
    t, h = revenue_arms(7)
    from_arrays = measure_effect(t > 0, h > 0, treated_revenue=t, holdout_revenue=h, cost=10.0)
    treated = ArmOutcome(len(t), int((t > 0).sum()), float(t.sum()), float(t.var(ddof=1)))
    holdout = ArmOutcome(len(h), int((h > 0).sum()), float(h.sum()), float(h.var(ddof=1)))
    assert effect_of_arms(treated, holdout, cost=10.0) == from_arrays


def test_no_holdout_no_treated_nothing_at_all() -> None:
    some = arm(3, 10)
    revenue = np.linspace(0, 90, 10)
    for treated, holdout, notes in [
        (some, arm(0, 0), (NO_HOLDOUT,)),
        (arm(0, 0), some, (NO_TREATED,)),
        (arm(0, 0), arm(0, 0), (NO_TREATED, NO_HOLDOUT)),
    ]:
        effect = measure_effect(
            treated,
            holdout,
            treated_revenue=revenue[: len(treated)],
            holdout_revenue=revenue[: len(holdout)],
            cost=5.0,
            bootstrap_resamples=200,
        )
        assert effect.notes == notes
        data = json.loads(shown(effect))
        for name in ("rate_difference", "revenue_difference", "incremental_revenue"):
            assert data[name] is None and data[f"{name}_interval"] is None
        assert data["net_return"] is None and data["return_ratio"] is None
        assert data["cost"] == 5.0
    empty = measure_effect([], some)
    assert empty.treated.rate is None and empty.holdout.rate == pytest.approx(0.3)


def test_all_the_same_outcomes() -> None:
    """Nobody converted and everybody spent the same: the rate interval still says how large
    an effect the data rule out; the revenue interval is null (its spread is unknown)."""
    effect = measure_effect(
        arm(0, 200),
        arm(0, 20),
        treated_revenue=np.full(200, 30.0),
        holdout_revenue=np.full(20, 30.0),
        cost=0.0,
        bootstrap_resamples=200,
    )
    assert effect.rate_difference == 0.0
    interval = effect.rate_difference_interval
    assert interval is not None and interval.low < 0 < interval.high
    assert effect.revenue_difference == 0.0 and effect.revenue_difference_interval is None
    assert effect.revenue_difference_bootstrap is None
    assert effect.incremental_revenue == 0.0 and effect.net_return == 0.0
    assert effect.return_ratio is None
    assert effect.notes == (REVENUE_CONSTANT, NO_COST)
    shown(effect)
    everybody = measure_effect(arm(50, 50), arm(5, 5))
    assert everybody.rate_difference == 0.0 and everybody.rate_difference_interval is not None
    assert everybody.notes == (NO_REVENUE, NO_COST)
    shown(everybody)


def test_one_customer_in_an_arm_has_no_revenue_interval() -> None:
    effect = measure_effect(
        arm(1, 1), arm(2, 9), treated_revenue=[80.0], holdout_revenue=np.arange(9.0), cost=1.0
    )
    assert effect.revenue_difference == pytest.approx(80.0 - 4.0)
    assert effect.revenue_difference_interval is None and effect.net_return_interval is None
    assert effect.notes == (REVENUE_TOO_FEW,)
    assert effect.rate_difference_interval is not None
    shown(effect)


@pytest.mark.filterwarnings("ignore:Precision loss occurred:RuntimeWarning")  # scipy, on 0 spread
def test_one_arm_with_constant_revenue_still_has_an_interval() -> None:
    t = np.full(30, 20.0)
    h = np.linspace(0, 40, 12)
    effect = measure_effect(t > 0, h > 0, treated_revenue=t, holdout_revenue=h, cost=1.0)
    reference = stats.ttest_ind(t, h, equal_var=False).confidence_interval(0.95)
    interval = effect.revenue_difference_interval
    assert interval is not None
    assert (interval.low, interval.high) == pytest.approx((reference.low, reference.high))


@pytest.mark.parametrize("confidence", [0.0, 1.0, 95, float("nan"), "0.95", True])
def test_a_confidence_outside_zero_to_one_is_refused(confidence: object) -> None:
    with pytest.raises(ValidationFailed) as raised:
        measure_effect(arm(1, 5), arm(1, 5), confidence=confidence)  # type: ignore[arg-type]
    assert raised.value.field == "confidence"


@pytest.mark.parametrize("resamples", [-1, 10, 99, 1.5, True])
def test_bootstrap_resamples_are_zero_or_at_least_100(resamples: object) -> None:
    with pytest.raises(ValidationFailed) as raised:
        measure_effect(arm(1, 5), arm(1, 5), bootstrap_resamples=resamples)  # type: ignore[arg-type]
    assert raised.value.field == "bootstrap_resamples"


def test_outcomes_that_are_mistakes_of_the_caller() -> None:
    with pytest.raises(ValueError, match="0/1"):
        measure_effect([0, 2], [1])
    with pytest.raises(ValueError, match="finite"):
        measure_effect([0, 1], [1], treated_revenue=[1.0, np.nan], holdout_revenue=[1.0])
    with pytest.raises(ValueError, match="shape"):
        measure_effect([0, 1], [1], treated_revenue=[1.0], holdout_revenue=[1.0])
    with pytest.raises(ValueError, match="both arms"):
        measure_effect([0, 1], [1], treated_revenue=[1.0, 2.0])
    with pytest.raises(ValueError, match="cost"):
        measure_effect([0, 1], [1], cost=-1.0)
    with pytest.raises(ValueError, match="successes"):
        ArmOutcome(customers=3, successes=4)
    with pytest.raises(ValueError, match="variance"):
        ArmOutcome(customers=3, successes=1, revenue_total=10.0)
    with pytest.raises(ValueError, match="variance"):
        ArmOutcome(customers=3, successes=1, revenue_total=10.0, revenue_variance=-1.0)


def test_counts_of_an_engine_in_numpy_types() -> None:
    """Counts and costs as a database or numpy returns them; an empty arm in an array of
    counts is NaN there (no warning), and null in the effect."""
    effect = measure_effect(
        np.array([1, 0, 1], dtype=np.int8),
        np.array([0, 0], dtype=np.int64),
        cost=np.float64(3.5),
    )
    assert effect.cost == 3.5 and effect.rate_difference == pytest.approx(2 / 3)
    low, high = newcombe_arrays([1, 1], [0, 3], [1, 1], [2, 2])
    assert np.isnan(low[0]) and np.isnan(high[0]) and low[1] < high[1]
