"""Discounted customer lifetime value from a purchase model and a spend model.

For a horizon ``H`` cut into steps of length ``s`` (the last one shorter when ``H`` is not
a multiple of ``s``), with step ends ``e_1 < ... < e_K = H``::

    CLV = sum_k [E(e_k) - E(e_(k-1))] * spend * margin / (1 + d)^(e_k in years)

where ``E(t)`` is the purchase model's conditional expected number of repeat purchases
in ``(T, T + t]``, ``spend`` the spend model's conditional expected value per purchase
(:meth:`GammaGammaModel.conditional_expected_spend`), ``d`` the annual discount rate
compounded at each step end, and years are days / 365.25. This is the discrete
approximation of Fader, Hardie & Lee (2005, eq. 2 with the expectations of eqs. 5, 10).

:func:`clv_interval` adds parameter uncertainty: both models' log-parameters are drawn
from their asymptotic normal distributions ``N(log theta, cov_)`` and the CLV of each
customer is recomputed for every draw; the interval is the draws' central quantiles.
Everything is evaluated on the unique rows of ``(frequency, recency, T, monetary)`` and
mapped back, so repeated rows cost nothing.

References
----------
Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005). RFM and CLV: using iso-value curves
for customer base analysis. *Journal of Marketing Research* 42(4), 415-430.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rapport.errors import ValidationFailed
from rapport.models.base import PurchaseModel, check_array, compress
from rapport.models.clv.gammagamma import GammaGammaModel
from rapport.models.units import DAYS_PER_UNIT, Duration

DAYS_PER_YEAR = 365.25
MONTH = Duration(1, "months")


def _step_ends(horizon: Duration, step: Duration, unit: str) -> tuple[np.ndarray, np.ndarray]:
    """Step ends in ``unit`` and in years."""
    for name, value in (("horizon", horizon), ("step", step)):
        if not isinstance(value, Duration):
            raise ValidationFailed(
                "{name} is a Duration, not {value!r}",
                field=name,
                value=value,
                hint='e.g. Duration(12, "months")',
                key="clv_not_duration",
                params={"name": name, "value": value},
            )
    if step.amount <= 0:
        raise ValidationFailed(
            "the step must be positive", field="step", value=str(step), key="clv_step_positive"
        )
    total, size = horizon.to(unit), step.to(unit)
    count = int(np.ceil(total / size - 1e-9)) if total > 0 else 0
    ends = np.minimum(np.arange(1, count + 1) * size, total)
    return ends, ends * DAYS_PER_UNIT[unit] / DAYS_PER_YEAR


def _prepare(
    purchase_model: PurchaseModel,
    frequency: Any,
    recency: Any,
    T: Any,
    monetary: Any,
    annual_discount_rate: float,
    margin: float,
) -> tuple[np.ndarray, ...]:
    """Validated unique rows ``(x, t_x, T, m)`` and the inverse index."""
    x, tx, age = purchase_model._inputs(frequency, recency, T)
    m = check_array("monetary", monetary, size=x.size)
    check_array("annual_discount_rate", [annual_discount_rate])
    check_array("margin", [margin])
    m = np.where(x > 0, m, 0.0)  # ignored without repeat purchases: better compression
    ux, utx, uage, um, _, inverse = compress(x, tx, age, m)
    return ux, utx, uage, um, inverse


def _values(
    purchase_model: PurchaseModel,
    spend_model: GammaGammaModel,
    rows: tuple[np.ndarray, ...],
    ends: np.ndarray,
    discount: np.ndarray,
    margin: float,
) -> np.ndarray:
    x, tx, age, m = rows
    if ends.size == 0:
        return np.zeros(x.size)
    cumulative = purchase_model._expected_curve(ends, x, tx, age)
    per_step = np.diff(cumulative, axis=0, prepend=0.0)
    spend = spend_model.conditional_expected_spend(x, m)
    return np.einsum("k,kn->n", discount, per_step) * spend * margin


def customer_lifetime_value(
    purchase_model: PurchaseModel,
    spend_model: GammaGammaModel,
    frequency: Any,
    recency: Any,
    T: Any,
    monetary: Any,
    *,
    horizon: Duration,
    annual_discount_rate: float = 0.10,
    margin: float = 1.0,
    step: Duration = MONTH,
) -> np.ndarray:
    """Discounted expected value of each customer's purchases over ``horizon``.

    Parameters
    ----------
    purchase_model
        A fitted :class:`BetaGeoModel` or :class:`ParetoNBDModel`; ``recency`` and ``T``
        are in its ``time_unit``.
    spend_model
        A fitted :class:`GammaGammaModel`.
    frequency, recency, T
        The purchase summary (repeat purchases, time of the last one, age).
    monetary
        Mean value of the repeat purchases (ignored, and may be 0, when frequency is 0:
        the population mean spend is used).
    horizon
        How far ahead to sum, e.g. ``Duration(12, "months")``.
    annual_discount_rate
        Yearly rate ``d``, compounded at each step end: a step ending after ``y`` years
        is discounted by ``(1 + d)^y``.
    margin
        Share of spend that is profit (1.0 = revenue).
    step
        Length of the summation steps (the last one is cut at the horizon).

    Returns
    -------
    numpy.ndarray
        One value per input row, in the currency of ``monetary``.

    References
    ----------
    Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005). RFM and CLV: using iso-value
    curves for customer base analysis. *Journal of Marketing Research* 42(4), 415-430.
    """
    *rows, inverse = _prepare(
        purchase_model, frequency, recency, T, monetary, annual_discount_rate, margin
    )
    ends, years = _step_ends(horizon, step, purchase_model.time_unit)
    discount = (1 + annual_discount_rate) ** -years
    values = _values(purchase_model, spend_model, tuple(rows), ends, discount, margin)
    return values[inverse]


def clv_interval(
    purchase_model: PurchaseModel,
    spend_model: GammaGammaModel,
    frequency: Any,
    recency: Any,
    T: Any,
    monetary: Any,
    *,
    horizon: Duration,
    annual_discount_rate: float = 0.10,
    margin: float = 1.0,
    step: Duration = MONTH,
    level: float = 0.95,
    draws: int = 200,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Interval of each customer's CLV from the parameters' uncertainty.

    ``draws`` parameter vectors of each model are drawn from ``N(log theta, cov_)`` (the
    asymptotic distribution of the log-parameters; the two models independently), the CLV
    of :func:`customer_lifetime_value` is computed for each draw, and the ``(1 - level)/2``
    and ``(1 + level)/2`` quantiles of the draws are returned. It reflects estimation
    error of the population parameters only, not the customer's own randomness.

    Returns
    -------
    (low, high)
        Two arrays, one value per input row.
    """
    if not 0 < level < 1:
        raise ValidationFailed(
            "a level lies strictly between 0 and 1, not {level!r}",
            field="level",
            value=level,
            hint="e.g. 0.9 or 0.95",
            key="interval_level",
            params={"level": level},
            hint_key="level.hint",
        )
    if int(draws) < 2:
        raise ValidationFailed(
            "draws must be at least 2", field="draws", value=draws, key="clv_draws"
        )
    *rows, inverse = _prepare(
        purchase_model, frequency, recency, T, monetary, annual_discount_rate, margin
    )
    ends, years = _step_ends(horizon, step, purchase_model.time_unit)
    discount = (1 + annual_discount_rate) ** -years
    rng = np.random.default_rng(seed)
    purchase_draws = purchase_model.draw_params(int(draws), rng)
    spend_draws = spend_model.draw_params(int(draws), rng)
    values = np.stack(
        [
            _values(
                purchase_model.with_params(p),
                spend_model.with_params(s),
                tuple(rows),
                ends,
                discount,
                margin,
            )
            for p, s in zip(purchase_draws, spend_draws, strict=True)
        ]
    )
    low = np.quantile(values, (1 - level) / 2, axis=0, method="lower")
    high = np.quantile(values, (1 + level) / 2, axis=0, method="higher")
    return low[inverse], high[inverse]


__all__ = ["clv_interval", "customer_lifetime_value"]
