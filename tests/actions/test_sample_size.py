"""The sample size to see a rate difference (rapport.actions.sample_size) against statsmodels'
computations and against a simulation of the playbook's own interval."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.power import NormalIndPower
from statsmodels.stats.proportion import (
    power_proportions_2indep,
    proportion_effectsize,
    samplesize_proportions_2indep_onetail,
)

from rapport.actions.effect import newcombe_arrays
from rapport.actions.sample_size import detectable_difference, required_sample_size
from rapport.errors import ValidationFailed

ROOT = Path(__file__).resolve().parents[2]

QUESTIONS = list(
    itertools.product(
        [0.02, 0.1, 0.3, 0.5, 0.9],  # baseline rate
        [0.01, -0.01, 0.05],  # difference
        [0.5, 0.1, 0.02, 0.8],  # holdout share
        [(0.05, 0.8), (0.01, 0.9)],  # alpha, power
    )
)


@pytest.mark.parametrize(("baseline", "difference", "share", "test"), QUESTIONS)
def test_the_same_formula_as_statsmodels(
    baseline: float, difference: float, share: float, test: tuple[float, float]
) -> None:
    """statsmodels' ``samplesize_proportions_2indep_onetail`` is the same normal approximation
    (pooled variance under the null, unpooled under the alternative, the far tail ignored):
    rounded up, the counts must agree exactly."""
    alpha, power = test
    ours = required_sample_size(baseline, difference, holdout_share=share, alpha=alpha, power=power)
    ratio = share / (1 - share)  # holdout customers per treated one (statsmodels' nobs2/nobs1)
    nobs1 = samplesize_proportions_2indep_onetail(
        difference, baseline, power, ratio=ratio, alpha=alpha, alternative="two-sided"
    )
    assert ours.treated == math.ceil(nobs1)
    assert ours.holdout == math.ceil(ratio * nobs1)
    assert ours.eligible == ours.treated + ours.holdout
    assert ours.to_dict()["eligible"] == ours.eligible


@pytest.mark.parametrize(
    ("baseline", "difference", "share"),
    [(0.1, 0.05, 0.5), (0.1, 0.02, 0.1), (0.3, -0.05, 0.2), (0.5, 0.1, 0.5), (0.2, 0.03, 0.1)],
)
def test_close_to_the_arcsine_approximation(
    baseline: float, difference: float, share: float
) -> None:
    """Cohen's h with statsmodels' ``NormalIndPower`` is another approximation of the same
    test: for rates from 10 % to 50 % the two stay within 3 % of each other."""
    ours = required_sample_size(baseline, difference, holdout_share=share)
    h = proportion_effectsize(baseline + difference, baseline)
    nobs1 = NormalIndPower().solve_power(
        effect_size=h, alpha=0.05, power=0.8, ratio=share / (1 - share)
    )
    assert ours.treated == pytest.approx(nobs1, rel=0.03)


#: The table of docs/actions.md: rates without and with, an arm of an even split, and the
#: treated and held-out customers of a 10 % holdout.
DOCS_TABLE = [
    (0.05, 0.06, 8158, 41855, 4651),
    (0.05, 0.07, 2213, 11568, 1286),
    (0.10, 0.12, 3841, 19668, 2186),
    (0.10, 0.15, 686, 3594, 400),
    (0.20, 0.25, 1094, 5594, 622),
]


@pytest.mark.parametrize(("p0", "p1", "even", "treated", "held_out"), DOCS_TABLE)
def test_the_table_of_the_docs(
    p0: float, p1: float, even: int, treated: int, held_out: int
) -> None:
    """The docs' figures are statsmodels' counts rounded up, and the function's."""
    for share, expected in [(0.5, (even, even)), (0.1, (treated, held_out))]:
        ratio = share / (1 - share)
        nobs1 = samplesize_proportions_2indep_onetail(p1 - p0, p0, 0.8, ratio=ratio)
        assert (math.ceil(nobs1), math.ceil(ratio * nobs1)) == expected
        ours = required_sample_size(p0, p1 - p0, holdout_share=share)
        assert (ours.treated, ours.holdout) == expected
        text = (ROOT / "docs" / "actions.md").read_text("utf-8")
        assert f"{treated:,} + {held_out:,} = {treated + held_out:,}" in text


@pytest.mark.parametrize(
    ("baseline", "difference", "share"), [(0.1, 0.05, 0.5), (0.1, 0.05, 0.1), (0.2, -0.06, 0.25)]
)
def test_the_interval_excludes_zero_as_often_as_the_power_promises(
    baseline: float, difference: float, share: float
) -> None:
    """With the customers it asks for, the playbook's own Newcombe interval leaves out 0 in
    about 80 % of simulated experiments (4,000 each: the 99.9 % binomial band around 0.8,
    widened by one percentage point for the normal approximation)."""
    size = required_sample_size(baseline, difference, holdout_share=share)
    rng = np.random.default_rng(16)
    trials = 4000
    treated = rng.binomial(size.treated, baseline + difference, trials)
    holdout = rng.binomial(size.holdout, baseline, trials)
    low, high = newcombe_arrays(treated, size.treated, holdout, size.holdout)
    detected = ((low > 0) | (high < 0)).sum()
    band_low, band_high = stats.binom.interval(0.999, trials, 0.8)
    assert band_low - 0.01 * trials <= detected <= band_high + 0.01 * trials


def test_what_costs_more_customers() -> None:
    base = required_sample_size(0.1, 0.05)
    assert required_sample_size(0.1, 0.02).treated > base.treated  # a smaller effect
    assert required_sample_size(0.1, 0.05, power=0.9).treated > base.treated
    assert required_sample_size(0.1, 0.05, alpha=0.01).treated > base.treated
    small_holdout = required_sample_size(0.1, 0.05, holdout_share=0.1)
    assert small_holdout.eligible > base.eligible  # an uneven split costs more in all
    assert small_holdout.holdout < base.holdout < small_holdout.treated


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"baseline_rate": 0.0, "difference": 0.1}, "baseline_rate"),
        ({"baseline_rate": 1.2, "difference": 0.1}, "baseline_rate"),
        ({"baseline_rate": 0.1, "difference": 0.0}, "difference"),
        ({"baseline_rate": 0.95, "difference": 0.05}, "difference"),
        ({"baseline_rate": 0.1, "difference": -0.2}, "difference"),
        ({"baseline_rate": 0.1, "difference": float("nan")}, "difference"),
        ({"baseline_rate": 0.1, "difference": 0.05, "holdout_share": 0.0}, "holdout_share"),
        ({"baseline_rate": 0.1, "difference": 0.05, "holdout_share": 1.0}, "holdout_share"),
        ({"baseline_rate": 0.1, "difference": 0.05, "power": 80}, "power"),
        ({"baseline_rate": 0.1, "difference": 0.05, "alpha": 0}, "alpha"),
    ],
)
def test_a_question_without_an_answer_is_refused_with_its_field(
    arguments: dict[str, float], field: str
) -> None:
    with pytest.raises(ValidationFailed) as raised:
        required_sample_size(**arguments)  # type: ignore[arg-type]
    assert raised.value.field == field


@pytest.mark.parametrize(
    ("baseline", "treated", "holdout"),
    [(0.1, 686, 686), (0.1, 3594, 400), (0.02, 500, 50), (0.3, 100_000, 11_111), (0.9, 400, 400)],
)
@pytest.mark.parametrize(("alpha", "power"), [(0.05, 0.8), (0.01, 0.9)])
def test_the_detectable_difference_has_the_power_statsmodels_computes(
    baseline: float, treated: int, holdout: int, alpha: float, power: float
) -> None:
    """At the detectable rise, statsmodels' ``power_proportions_2indep`` (which also counts
    the far tail, a few millionths here) gives the power asked for; asking for the customers
    to see that rise gives back the arms."""
    difference = detectable_difference(baseline, treated, holdout, alpha=alpha, power=power)
    assert difference is not None and 0 < difference < 1 - baseline
    reference = power_proportions_2indep(
        difference, baseline, treated, ratio=holdout / treated, alpha=alpha
    ).power
    assert reference == pytest.approx(power, abs=1e-4)
    back = required_sample_size(
        baseline,
        difference,
        holdout_share=holdout / (treated + holdout),
        alpha=alpha,
        power=power,
    )
    assert abs(back.treated - treated) <= 1 and abs(back.holdout - holdout) <= 1


def test_too_few_customers_detect_nothing() -> None:
    assert detectable_difference(0.5, 10, 1) is None
    assert detectable_difference(0.1, 1, 1) is None
    more = detectable_difference(0.1, 20_000, 20_000)
    fewer = detectable_difference(0.1, 2_000, 2_000)
    assert more is not None and fewer is not None and more < fewer


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"treated": 0, "holdout": 10}, "treated"),
        ({"treated": 10, "holdout": 2.5}, "holdout"),
        ({"treated": True, "holdout": 10}, "treated"),
        ({"treated": 10, "holdout": 10, "baseline_rate": 1.0}, "baseline_rate"),
    ],
)
def test_arms_that_are_no_customers_are_refused(arguments: dict, field: str) -> None:
    arguments = {"baseline_rate": 0.1, **arguments}
    with pytest.raises(ValidationFailed) as raised:
        detectable_difference(**arguments)
    assert raised.value.field == field
