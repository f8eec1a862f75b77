"""How many customers a playbook needs before its effect on a rate can be seen.

Before a playbook starts (or to judge a null result after it): to detect a difference
``difference`` between the treated success rate and the holdout's ``baseline_rate`` with a
two-sided test at level ``alpha`` and the given ``power``, with a holdout share ``s`` of the
eligible customers (``k = s / (1 - s)`` held-out customers per treated one), it takes

    n_treated = (z(1 - alpha/2) * sqrt(pbar * (1 - pbar) * (1 + 1/k))
                 + z(power) * sqrt(p1 * (1 - p1) + p0 * (1 - p0) / k)) ** 2 / difference**2
    n_holdout = k * n_treated

with ``p0 = baseline_rate``, ``p1 = p0 + difference`` and the pooled ``pbar = (p1 + k p0) /
(1 + k)`` — the normal approximation of the two-proportion test without continuity
correction (Fleiss, Levin & Paik 2003, §4.2; statsmodels'
``samplesize_proportions_2indep_onetail``), rounded up per arm. A small holdout costs many
more customers in total than an even split: the holdout arm is the bottleneck.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from scipy import optimize, stats

from rapport.actions.effect import check_probability
from rapport.errors import ValidationFailed

#: The usual power of a test: an 80 % chance to see the effect when it is there.
DEFAULT_POWER = 0.8
DEFAULT_ALPHA = 0.05


@dataclass(frozen=True)
class SampleSize:
    """The customers needed in each arm (and in all) to see a rate difference.

    Attributes
    ----------
    baseline_rate, difference, alpha, power, holdout_share
        The question asked (see :func:`required_sample_size`).
    treated, holdout
        Customers needed in each arm, rounded up.
    """

    baseline_rate: float
    difference: float
    alpha: float
    power: float
    holdout_share: float
    treated: int
    holdout: int

    @property
    def eligible(self) -> int:
        """Eligible customers needed in all: both arms."""
        return self.treated + self.holdout

    def to_dict(self) -> dict[str, Any]:
        """The question and the answer, JSON-ready."""
        return {**asdict(self), "eligible": self.eligible}


def required_sample_size(
    baseline_rate: float,
    difference: float,
    *,
    holdout_share: float = 0.5,
    alpha: float = DEFAULT_ALPHA,
    power: float = DEFAULT_POWER,
) -> SampleSize:
    """Customers per arm to detect a rate difference (formula in the module's docstring).

    Parameters
    ----------
    baseline_rate
        The success rate expected without the playbook (the holdout's), in (0, 1).
    difference
        The change of the rate the playbook should be able to show (treated − holdout),
        e.g. 0.02 for two percentage points; positive or negative, not 0, and the treated
        rate ``baseline_rate + difference`` must stay in (0, 1).
    holdout_share
        The playbook's holdout share, in (0, 1); 0.5 (default) splits evenly.
    alpha
        The two-sided significance level (the interval's confidence is ``1 - alpha``).
    power
        The chance of seeing a difference of this size when it is there.

    Returns
    -------
    SampleSize

    Examples
    --------
    >>> required_sample_size(0.10, 0.05).treated   # 10 % → 15 %, even split
    686
    """
    baseline_rate = check_probability(baseline_rate, "baseline_rate")
    holdout_share = check_probability(holdout_share, "holdout_share")
    alpha = check_probability(alpha, "alpha")
    power = check_probability(power, "power")
    treated_rate = baseline_rate + difference if _is_number(difference) else math.nan
    if not (difference != 0 and 0.0 < treated_rate < 1.0):
        raise ValidationFailed(
            "a difference of {difference!r} from a baseline rate of {baseline} cannot be "
            "detected: the difference must not be 0 and the treated rate must stay "
            "between 0 and 1",
            field="difference",
            value=difference,
            hint="give the difference as a share, e.g. 0.02 for two percentage points",
            key="sample_size_difference",
            params={"difference": difference, "baseline": baseline_rate},
        )
    ratio = holdout_share / (1 - holdout_share)
    treated = _root_treated(baseline_rate, difference, ratio, alpha, power) ** 2
    return SampleSize(
        baseline_rate=baseline_rate,
        difference=float(difference),
        alpha=alpha,
        power=power,
        holdout_share=holdout_share,
        treated=_round_up(treated),
        holdout=_round_up(ratio * treated),
    )


def detectable_difference(
    baseline_rate: float,
    treated: int,
    holdout: int,
    *,
    alpha: float = DEFAULT_ALPHA,
    power: float = DEFAULT_POWER,
) -> float | None:
    """The smallest rise of the rate that arms of these sizes detect with ``power``.

    The inverse of :func:`required_sample_size` for an increase: after a playbook ran with
    ``treated`` and ``holdout`` customers, an interval around 0 rules out rises of about
    this size, not smaller ones.

    Parameters
    ----------
    baseline_rate
        The holdout's success rate, in (0, 1).
    treated, holdout
        Customers in each arm (at least one each).
    alpha, power
        As in :func:`required_sample_size`.

    Returns
    -------
    float or None
        The difference (a share: 0.02 is two percentage points); None when not even a rise
        to a rate of 100 % could be detected with so few customers.
    """
    baseline_rate = check_probability(baseline_rate, "baseline_rate")
    alpha = check_probability(alpha, "alpha")
    power = check_probability(power, "power")
    for name, count in (("treated", treated), ("holdout", holdout)):
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise ValidationFailed(
                "{name} must be a whole number of customers of at least 1, not {value!r}",
                field=name,
                value=count,
                key="arm_customers",
                params={"name": name, "value": count},
            )
    ratio = holdout / treated
    root = math.sqrt(treated)

    def gap(difference: float) -> float:
        return root - _root_treated(baseline_rate, difference, ratio, alpha, power)

    highest = (1 - baseline_rate) * (1 - 1e-9)
    if gap(highest) < 0:
        return None
    return float(optimize.brentq(gap, highest * 1e-9, highest, xtol=1e-12))


def _root_treated(
    baseline_rate: float, difference: float, ratio: float, alpha: float, power: float
) -> float:
    """The square root of the treated customers needed (the formula of the module)."""
    p0, p1 = baseline_rate, baseline_rate + difference
    pooled = (p1 + ratio * p0) / (1 + ratio)
    sd_null = math.sqrt(pooled * (1 - pooled) * (1 + 1 / ratio))
    sd_alternative = math.sqrt(p1 * (1 - p1) + p0 * (1 - p0) / ratio)
    z_alpha = stats.norm.ppf(1 - alpha / 2)
    z_power = stats.norm.ppf(power)
    return float(max(z_alpha * sd_null + z_power * sd_alternative, 0.0) / abs(difference))


def _round_up(customers: float) -> int:
    """Whole customers, at least one; a hair above an integer (rounding noise) is that integer."""
    return max(1, math.ceil(customers - 1e-9))


def _is_number(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, int | float) and math.isfinite(value)
