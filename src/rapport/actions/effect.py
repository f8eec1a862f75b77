"""The measured effect of a playbook: its treated customers against its holdout.

For one playbook and period, the outcomes of the treated customers and of the held-out ones
(see :mod:`rapport.actions.holdout`) give:

- the **success rate** of each arm and their difference (treated − holdout) with a Newcombe
  interval (the hybrid Wilson score interval, Newcombe 1998 method 10);
- the **revenue per customer** of each arm and their difference with Welch's interval (and,
  on request, a percentile bootstrap interval from a seeded generator);
- the **incremental** conversions and revenue (difference × treated customers), the cost,
  the **net return** (incremental revenue − cost) and the **return ratio** (net return / cost).

A figure that the data cannot give is ``None`` (null), never NaN, and :attr:`PlaybookEffect.notes`
says why: no treated or no held-out customer, no revenue given, fewer than two customers in
an arm (no revenue interval), the same revenue for every customer of both arms (no revenue
interval: the spread is unknown), a cost of zero (no ratio).

:func:`required_sample_size` answers the question before a playbook starts: how many treated
and held-out customers it takes to see a given rate difference.

References
----------
Newcombe, R. G. (1998). Interval estimation for the difference between independent
proportions: comparison of eleven methods. *Statistics in Medicine* 17, 873–890.
Welch, B. L. (1947). The generalization of "Student's" problem when several different
population variances are involved. *Biometrika* 34, 28–35.
Fleiss, J. L., Levin, B. & Paik, M. C. (2003). *Statistical Methods for Rates and
Proportions*, 3rd ed., §4.2 (sample size without continuity correction).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import stats

from rapport.errors import ValidationFailed

#: The confidence of every interval unless the caller asks for another.
DEFAULT_CONFIDENCE = 0.95
#: Why a figure is null (the values of :attr:`PlaybookEffect.notes`).
NO_TREATED = "no_treated"  # no treated customer: nothing to compare
NO_HOLDOUT = "no_holdout"  # no held-out customer: nothing to compare against
NO_REVENUE = "no_revenue"  # revenue outcomes not given
REVENUE_TOO_FEW = "revenue_too_few"  # an arm has fewer than 2 customers: no revenue interval
REVENUE_CONSTANT = "revenue_constant"  # every customer of both arms has the same revenue
NO_COST = "no_cost"  # the cost is 0: no return ratio
#: A bootstrap draws its resamples in batches of at most this many values.
_BOOTSTRAP_BATCH_VALUES = 2_000_000


@dataclass(frozen=True)
class Interval:
    """A confidence interval ``[low, high]`` and how it was computed."""

    low: float
    high: float
    method: str  # "newcombe", "welch" or "bootstrap_percentile"

    def scaled(self, factor: float, shift: float = 0.0) -> Interval:
        """``factor * [low, high] + shift`` (``factor`` >= 0)."""
        return Interval(self.low * factor + shift, self.high * factor + shift, self.method)

    def to_dict(self) -> dict[str, Any]:
        """``{"low", "high", "method"}``, JSON-ready."""
        return {"low": _finite(self.low), "high": _finite(self.high), "method": self.method}


@dataclass(frozen=True)
class ArmOutcome:
    """What one arm's customers did in the period.

    Attributes
    ----------
    customers
        Customers in the arm.
    successes
        Customers who reached the playbook's outcome (a purchase, a survey answered …).
    revenue_total, revenue_variance
        Their revenue summed, and its sample variance per customer (``ddof=1``); ``None``
        when no revenue was given (the variance also with fewer than two customers).
    """

    customers: int
    successes: int
    revenue_total: float | None = None
    revenue_variance: float | None = None

    def __post_init__(self) -> None:
        if not 0 <= self.successes <= self.customers:
            raise ValueError(
                f"successes must lie in [0, customers], not {self.successes} of {self.customers}"
            )
        spread = self.revenue_variance
        if self.revenue_total is not None and self.customers >= 2 and spread is None:
            raise ValueError("an arm of 2 or more customers with revenue needs its variance")
        if spread is not None and not (math.isfinite(spread) and spread >= 0):
            raise ValueError(f"a revenue variance must be finite and >= 0, not {spread!r}")

    @classmethod
    def from_outcomes(
        cls, success: npt.ArrayLike, revenue: npt.ArrayLike | None = None
    ) -> ArmOutcome:
        """Summarise per-customer outcomes: success flags (bool or 0/1) and revenue."""
        flags = _flags(success)
        if revenue is None:
            return cls(customers=len(flags), successes=int(flags.sum()))
        values = _revenue(revenue, len(flags))
        return cls(
            customers=len(flags),
            successes=int(flags.sum()),
            revenue_total=float(values.sum()),
            revenue_variance=float(values.var(ddof=1)) if len(values) >= 2 else None,
        )

    @property
    def rate(self) -> float | None:
        """Share of customers with a success (0–1); null without customers."""
        return self.successes / self.customers if self.customers else None

    @property
    def revenue_per_customer(self) -> float | None:
        """Mean revenue per customer; null without customers or without revenue."""
        if self.revenue_total is None or not self.customers:
            return None
        return self.revenue_total / self.customers

    def to_dict(self) -> dict[str, Any]:
        """The arm's figures, JSON-ready."""
        return {
            "customers": self.customers,
            "successes": self.successes,
            "rate": _finite(self.rate),
            "revenue": _finite(self.revenue_total),
            "revenue_per_customer": _finite(self.revenue_per_customer),
        }


@dataclass(frozen=True)
class PlaybookEffect:
    """The effect of a playbook in a period: treated against holdout.

    Every difference is treated minus holdout; every interval has :attr:`confidence`.
    Incremental figures are per-customer differences times the treated customers.
    ``net_return = incremental_revenue - cost``; ``return_ratio = net_return / cost``
    (0.5 means the playbook returned its cost and half as much again).
    """

    confidence: float
    treated: ArmOutcome
    holdout: ArmOutcome
    cost: float
    rate_difference: float | None = None
    rate_difference_interval: Interval | None = None
    revenue_difference: float | None = None
    revenue_difference_interval: Interval | None = None
    revenue_difference_bootstrap: Interval | None = None
    incremental_conversions: float | None = None
    incremental_conversions_interval: Interval | None = None
    incremental_revenue: float | None = None
    incremental_revenue_interval: Interval | None = None
    net_return: float | None = None
    net_return_interval: Interval | None = None
    return_ratio: float | None = None
    notes: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        """Every figure, JSON-ready: intervals as ``{"low", "high", "method"}``, nulls as None."""
        out: dict[str, Any] = {
            "confidence": self.confidence,
            "treated": self.treated.to_dict(),
            "holdout": self.holdout.to_dict(),
            "cost": _finite(self.cost),
        }
        for name in (
            "rate_difference",
            "revenue_difference",
            "incremental_conversions",
            "incremental_revenue",
            "net_return",
        ):
            out[name] = _finite(getattr(self, name))
            interval = getattr(self, f"{name}_interval")
            out[f"{name}_interval"] = None if interval is None else interval.to_dict()
        bootstrap = self.revenue_difference_bootstrap
        out["revenue_difference_bootstrap"] = None if bootstrap is None else bootstrap.to_dict()
        out["return_ratio"] = _finite(self.return_ratio)
        out["notes"] = list(self.notes)
        return out


def measure_effect(
    treated_success: npt.ArrayLike,
    holdout_success: npt.ArrayLike,
    *,
    treated_revenue: npt.ArrayLike | None = None,
    holdout_revenue: npt.ArrayLike | None = None,
    cost: float = 0.0,
    confidence: float = DEFAULT_CONFIDENCE,
    bootstrap_resamples: int = 0,
    seed: int | None = 0,
) -> PlaybookEffect:
    """The effect of a playbook from its customers' outcomes.

    Parameters
    ----------
    treated_success, holdout_success
        One flag per customer of the arm (bool or 0/1): reached the outcome or not.
    treated_revenue, holdout_revenue
        The revenue of each customer in the outcome window, in the same order (give both or
        neither); refunds may make it negative.
    cost
        What the playbook cost in the period (its actions' unit costs × their counts).
    confidence
        Of every interval, strictly between 0 and 1.
    bootstrap_resamples
        0 (default): no bootstrap. Otherwise at least 100 resamples of each arm for a
        percentile bootstrap interval of the revenue difference (time grows with resamples ×
        customers; Welch's interval is always given).
    seed
        Of the bootstrap's :func:`numpy.random.default_rng`: the same seed, the same interval.

    Returns
    -------
    PlaybookEffect
    """
    if (treated_revenue is None) != (holdout_revenue is None):
        raise ValueError("give the revenue of both arms or of neither")
    treated = ArmOutcome.from_outcomes(treated_success, treated_revenue)
    holdout = ArmOutcome.from_outcomes(holdout_success, holdout_revenue)
    resamples = _check_resamples(bootstrap_resamples)
    effect = effect_of_arms(treated, holdout, cost=cost, confidence=confidence)
    if resamples and effect.revenue_difference_interval is not None:
        assert treated_revenue is not None and holdout_revenue is not None
        bootstrap = bootstrap_interval(
            _revenue(treated_revenue, treated.customers),
            _revenue(holdout_revenue, holdout.customers),
            confidence=confidence,
            resamples=resamples,
            rng=np.random.default_rng(seed),
        )
        effect = replace(effect, revenue_difference_bootstrap=bootstrap)
    return effect


def effect_of_arms(
    treated: ArmOutcome,
    holdout: ArmOutcome,
    *,
    cost: float = 0.0,
    confidence: float = DEFAULT_CONFIDENCE,
) -> PlaybookEffect:
    """The effect from the two arms' summaries (counts, revenue sums and variances), as an
    engine can compute them in the database; see :func:`measure_effect`."""
    confidence = check_probability(confidence, "confidence")
    number = isinstance(cost, int | float | np.integer | np.floating) and not isinstance(cost, bool)
    if not (number and math.isfinite(cost) and cost >= 0):
        raise ValueError(f"cost must be a finite number >= 0, not {cost!r}")
    cost = float(cost)
    notes: list[str] = []
    if not treated.customers:
        notes.append(NO_TREATED)
    if not holdout.customers:
        notes.append(NO_HOLDOUT)
    if notes:
        return PlaybookEffect(
            confidence, treated, holdout, cost, notes=_with_cost_note(notes, cost)
        )
    n = treated.customers
    rate_diff = _difference(treated.rate, holdout.rate)
    rate_interval = newcombe_interval(
        treated.successes, treated.customers, holdout.successes, holdout.customers, confidence
    )
    revenue_diff = _difference(treated.revenue_per_customer, holdout.revenue_per_customer)
    revenue_interval = None
    if revenue_diff is None:
        notes.append(NO_REVENUE)
    elif min(treated.customers, holdout.customers) < 2:
        notes.append(REVENUE_TOO_FEW)
    else:
        revenue_interval = welch_interval(treated, holdout, confidence)
        if revenue_interval is None:
            notes.append(REVENUE_CONSTANT)
    incremental_revenue = None if revenue_diff is None else revenue_diff * n
    revenue_scaled = None if revenue_interval is None else revenue_interval.scaled(n)
    net_return = None if incremental_revenue is None else incremental_revenue - cost
    return PlaybookEffect(
        confidence,
        treated,
        holdout,
        cost,
        rate_difference=rate_diff,
        rate_difference_interval=rate_interval,
        revenue_difference=revenue_diff,
        revenue_difference_interval=revenue_interval,
        incremental_conversions=None if rate_diff is None else rate_diff * n,
        incremental_conversions_interval=None if rate_interval is None else rate_interval.scaled(n),
        incremental_revenue=incremental_revenue,
        incremental_revenue_interval=revenue_scaled,
        net_return=net_return,
        net_return_interval=None if revenue_scaled is None else revenue_scaled.scaled(1, -cost),
        return_ratio=None if net_return is None or cost == 0 else net_return / cost,
        notes=_with_cost_note(notes, cost),
    )


# --- intervals ---------------------------------------------------------------------------------


def wilson_interval(
    successes: npt.ArrayLike, customers: npt.ArrayLike, confidence: float = DEFAULT_CONFIDENCE
) -> tuple[Any, Any]:
    """Wilson's score interval of a proportion (no continuity correction), vectorized.

    Returns ``(low, high)`` within [0, 1] (NaN where there are no customers).
    """
    x = np.asarray(successes, dtype=float)
    n = np.asarray(customers, dtype=float)
    z = stats.norm.ppf(0.5 + confidence / 2)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = x / n
        centre = (x + z * z / 2) / (n + z * z)
        half = z * np.sqrt(n * p * (1 - p) + z * z / 4) / (n + z * z)
    return np.clip(centre - half, 0.0, 1.0), np.clip(centre + half, 0.0, 1.0)


def newcombe_interval(
    treated_successes: int,
    treated_customers: int,
    holdout_successes: int,
    holdout_customers: int,
    confidence: float = DEFAULT_CONFIDENCE,
) -> Interval | None:
    """Newcombe's hybrid score interval of ``p_treated - p_holdout`` (method 10).

    With Wilson intervals ``(l1, u1)`` of the treated rate ``p1`` and ``(l2, u2)`` of the
    holdout rate ``p2``, and ``d = p1 - p2``::

        low  = d - sqrt((p1 - l1)**2 + (u2 - p2)**2)
        high = d + sqrt((u1 - p1)**2 + (p2 - l2)**2)

    It stays within [-1, 1], behaves at rates of 0 and 1, and swapping the arms mirrors it.
    Null when an arm has no customers.
    """
    if not treated_customers or not holdout_customers:
        return None
    low, high = newcombe_arrays(
        treated_successes, treated_customers, holdout_successes, holdout_customers, confidence
    )
    return Interval(float(low), float(high), "newcombe")


def newcombe_arrays(
    x1: npt.ArrayLike,
    n1: npt.ArrayLike,
    x2: npt.ArrayLike,
    n2: npt.ArrayLike,
    confidence: float = DEFAULT_CONFIDENCE,
) -> tuple[Any, Any]:
    """:func:`newcombe_interval` of arrays of counts: ``(low, high)`` arrays (NaN where an
    arm has no customers)."""
    l1, u1 = wilson_interval(x1, n1, confidence)
    l2, u2 = wilson_interval(x2, n2, confidence)
    with np.errstate(invalid="ignore", divide="ignore"):  # NaN where an arm is empty
        p1 = np.asarray(x1, dtype=float) / np.asarray(n1, dtype=float)
        p2 = np.asarray(x2, dtype=float) / np.asarray(n2, dtype=float)
        d = p1 - p2
        low = d - np.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
        high = d + np.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return np.clip(low, -1.0, 1.0), np.clip(high, -1.0, 1.0)


def welch_interval(
    treated: ArmOutcome, holdout: ArmOutcome, confidence: float = DEFAULT_CONFIDENCE
) -> Interval | None:
    """Welch's interval of the difference of mean revenue per customer (treated − holdout).

    ``se = sqrt(v1/n1 + v2/n2)`` with the sample variances ``v``; Student's t with the
    Welch–Satterthwaite degrees of freedom ``se**4 / ((v1/n1)**2/(n1-1) + (v2/n2)**2/(n2-1))``.
    Null when an arm has fewer than two customers or no revenue, or when the revenue is the
    same for every customer of both arms (``se = 0``: the spread is unknown).
    """
    v1, v2 = treated.revenue_variance, holdout.revenue_variance
    m1, m2 = treated.revenue_per_customer, holdout.revenue_per_customer
    if v1 is None or v2 is None or m1 is None or m2 is None:
        return None
    n1, n2 = treated.customers, holdout.customers
    a, b = v1 / n1, v2 / n2
    se2 = a + b
    if not se2 > 0:
        return None
    w1, w2 = a / se2, b / se2  # the same degrees of freedom, safe from under- and overflow
    df = 1.0 / (w1 * w1 / (n1 - 1) + w2 * w2 / (n2 - 1))
    half = stats.t.ppf(0.5 + confidence / 2, df) * math.sqrt(se2)
    low, high = m1 - m2 - half, m1 - m2 + half
    return Interval(low, high, "welch") if math.isfinite(low) and math.isfinite(high) else None


def bootstrap_interval(
    treated_revenue: npt.ArrayLike,
    holdout_revenue: npt.ArrayLike,
    *,
    confidence: float = DEFAULT_CONFIDENCE,
    resamples: int = 2000,
    rng: np.random.Generator | None = None,
) -> Interval | None:
    """Percentile bootstrap interval of the difference of mean revenue (treated − holdout).

    Each resample draws each arm's customers with replacement, independently; the interval
    is the ``(1 - confidence)/2`` and ``(1 + confidence)/2`` quantiles of the resampled
    differences. Null when an arm has fewer than two customers or all revenue is the same.
    """
    t = np.asarray(treated_revenue, dtype=float)
    h = np.asarray(holdout_revenue, dtype=float)
    if min(len(t), len(h)) < 2 or (np.ptp(t) == 0 and np.ptp(h) == 0):
        return None
    rng = rng if rng is not None else np.random.default_rng(0)
    batch = max(1, _BOOTSTRAP_BATCH_VALUES // (len(t) + len(h)))
    diffs = np.empty(resamples)
    for start in range(0, resamples, batch):
        size = min(batch, resamples - start)
        mean_t = t[rng.integers(0, len(t), size=(size, len(t)))].mean(axis=1)
        mean_h = h[rng.integers(0, len(h), size=(size, len(h)))].mean(axis=1)
        diffs[start : start + size] = mean_t - mean_h
    tail = (1 - confidence) / 2
    low, high = np.quantile(diffs, [tail, 1 - tail])
    return Interval(float(low), float(high), "bootstrap_percentile")


# --- helpers -----------------------------------------------------------------------------------


def check_probability(value: Any, name: str) -> float:
    """``value`` as a float strictly between 0 and 1, else :class:`ValidationFailed`."""
    number = None
    if not isinstance(value, bool) and isinstance(value, int | float | np.integer | np.floating):
        number = float(value)
    if number is None or not 0.0 < number < 1.0:
        raise ValidationFailed(
            "{name} must lie strictly between 0 and 1, not {value!r}",
            field=name,
            value=value,
            hint="e.g. 0.95 for a confidence, 0.8 for a power, 0.05 for alpha",
            key="probability_open",
            params={"name": name, "value": value},
        )
    return number


def _check_resamples(value: Any) -> int:
    whole = not isinstance(value, bool) and isinstance(value, int | np.integer)
    if not whole or not (value == 0 or value >= 100):
        raise ValidationFailed(
            "bootstrap resamples must be 0 (none) or a whole number of at least 100, not {value!r}",
            field="bootstrap_resamples",
            value=value,
            hint="e.g. 2000",
            key="bootstrap_resamples",
            params={"value": value},
        )
    return int(value)


def _flags(success: npt.ArrayLike) -> npt.NDArray[np.bool_]:
    array = np.asarray(success)
    if array.ndim != 1:
        raise ValueError(f"success flags must be one-dimensional, not of shape {array.shape}")
    if array.dtype.kind == "b":
        return array
    if array.size and (array.dtype.kind not in "iuf" or not np.isin(array, (0, 1)).all()):
        raise ValueError("success flags must be booleans or 0/1")
    return array.astype(bool)


def _revenue(revenue: npt.ArrayLike, customers: int) -> npt.NDArray[np.float64]:
    array = np.asarray(revenue, dtype=float)
    if array.shape != (customers,):
        raise ValueError(f"revenue has shape {array.shape}, the success flags ({customers},)")
    if not np.isfinite(array).all():
        raise ValueError("revenue must be finite (no NaN or infinity)")
    return array


def _difference(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a - b


def _with_cost_note(notes: list[str], cost: float) -> tuple[str, ...]:
    return (*notes, NO_COST) if cost == 0 else tuple(notes)


def _finite(value: Any) -> Any:
    """``value`` as a float, or None when it is None, NaN or infinite."""
    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) else None
