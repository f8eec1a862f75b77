"""The shifted-beta-geometric (sBG) model of contract retention (Fader & Hardie 2007).

In a contractual setting (subscriptions renewed each period), a customer cancels at the
end of each period with her own probability ``theta ~ Beta(alpha, beta)``. With ``T`` the
period in which she cancels (1, 2, ...)::

    P(T = t) = B(alpha+1, beta+t-1) / B(alpha, beta)
    S(t)     = P(T > t) = B(alpha, beta+t) / B(alpha, beta)
    r(t)     = S(t) / S(t-1) = (beta+t-1) / (alpha+beta+t-1)     (retention rate)

The log-likelihood of a cohort with ``n_t`` customers lost in period ``t = 1..n`` and
``alive_n`` still alive after period ``n`` is
``sum_t n_t log P(T = t) + alive_n log S(n)`` (eq. 7 of the paper).

Periods are contract periods of whatever length the data has (years in the paper); the
model has no ``time_unit``, and discount rates are per period.

References
----------
Fader, P. S. & Hardie, B. G. S. (2007). How to project customer retention. *Journal of
Interactive Marketing* 21(1), 76-90.
Fader, P. S. & Hardie, B. G. S. (2010). Customer-base valuation in a contractual
setting: the perils of ignoring heterogeneity. *Marketing Science* 29(1), 85-93.
"""

from __future__ import annotations

from typing import Any, Self

import numpy as np
from scipy.special import betaln, digamma, hyp2f1

from rapport.errors import ValidationFailed
from rapport.models.base import Model, check_array
from rapport.models.clv.optimize import fit_log_params, wsum


def _objective(lost: np.ndarray, alive_end: float):
    """Negative log-likelihood of the cohort and its gradient in (log alpha, log beta)."""
    t = np.arange(1, lost.size + 1, dtype=np.float64)
    n = float(lost.size)

    def objective(z: np.ndarray) -> tuple[float, np.ndarray]:
        alpha, beta = np.exp(z)
        base = betaln(alpha, beta)
        d_base_a = digamma(alpha) - digamma(alpha + beta)
        d_base_b = digamma(beta) - digamma(alpha + beta)
        # log P(T = t) = betaln(alpha+1, beta+t-1) - betaln(alpha, beta)
        log_p = betaln(alpha + 1, beta + t - 1) - base
        psi_sum = digamma(alpha + beta + t)
        dp_a = digamma(alpha + 1) - psi_sum - d_base_a
        dp_b = digamma(beta + t - 1) - psi_sum - d_base_b
        # log S(n) = betaln(alpha, beta+n) - betaln(alpha, beta)
        log_s = betaln(alpha, beta + n) - base
        psi_end = digamma(alpha + beta + n)
        ds_a = digamma(alpha) - psi_end - d_base_a
        ds_b = digamma(beta + n) - psi_end - d_base_b
        ll = wsum(lost, log_p) + alive_end * log_s
        g = np.array([wsum(lost, dp_a) + alive_end * ds_a, wsum(lost, dp_b) + alive_end * ds_b])
        return -ll, -g * np.array([alpha, beta])

    return objective


def _periods(name: str, periods: Any, minimum: float) -> np.ndarray:
    return check_array(name, np.atleast_1d(periods), minimum=minimum, integer=True)


class ShiftedBetaGeoModel(Model):
    """sBG contract-retention model: per-period churn probability ``theta ~ Beta(alpha,
    beta)`` (Fader & Hardie 2007).

    Examples
    --------
    >>> alive = [1000, 631, 468, 382, 326, 289, 262, 241]
    >>> model = ShiftedBetaGeoModel().fit(alive)
    >>> round(model.params_["alpha"], 3), round(model.params_["beta"], 3)
    (0.704, 1.182)

    References
    ----------
    Fader, P. S. & Hardie, B. G. S. (2007). How to project customer retention. *Journal
    of Interactive Marketing* 21(1), 76-90.
    """

    kind = "sbg"
    label = "sBG"
    param_names = ("alpha", "beta")

    def __init__(self) -> None:
        super().__init__(None)

    def fit(self, alive_counts: Any) -> Self:
        """Fit on one cohort's customers alive at the start of periods ``0..n``.

        Parameters
        ----------
        alive_counts
            ``[alive_0, alive_1, ..., alive_n]``, non-increasing, ``alive_0 > 0`` (e.g.
            ``[1000, 631, 468, ...]``). Fractions of a customer are allowed (weights).

        Raises
        ------
        ValidationFailed
            For a count that is negative or larger than the one before it.
        FitFailed
            When no attempt reaches a converged interior optimum.
        """
        alive = check_array("alive_counts", alive_counts)
        if alive.size < 2 or alive[0] <= 0:
            raise ValidationFailed(
                "alive_counts needs the cohort's size (> 0) and at least one later count",
                field="alive_counts",
                value=alive.tolist(),
                key="sbg_alive_counts",
            )
        lost = alive[:-1] - alive[1:]
        if (lost < 0).any():
            row = int(np.flatnonzero(lost < 0)[0]) + 1
            raise ValidationFailed(
                "alive_counts: row {row} is larger than the row before it ({count:g} > {before:g})",
                field="alive_counts",
                value=alive[row],
                hint="customers alive can only decrease over a cohort's periods",
                key="sbg_alive_rises",
                params={"row": row, "count": alive[row], "before": alive[row - 1]},
            )
        return self.fit_churned(lost, alive[-1])

    def fit_churned(self, lost_per_period: Any, alive_at_end: float) -> Self:
        """Fit on the customers lost in periods ``1..n`` and those alive after period n.

        Parameters
        ----------
        lost_per_period
            Customers whose contract ended in period 1, 2, ..., n (>= 0).
        alive_at_end
            Customers still alive after period n (>= 0).
        """
        lost = check_array("lost_per_period", lost_per_period)
        end = float(check_array("alive_at_end", [alive_at_end])[0])
        if lost.size == 0 or lost.sum() + end <= 0:
            raise ValidationFailed(
                "the cohort is empty: no period or no customer",
                field="lost_per_period",
                key="sbg_cohort_empty",
            )
        total = float(lost.sum() + end)
        starts = [
            ("alpha=beta=1", np.zeros(2)),
            ("alpha=0.5, beta=2", np.log([0.5, 2.0])),
            ("alpha=2, beta=0.5", np.log([2.0, 0.5])),
        ]
        optimum = fit_log_params(
            _objective(lost, end),
            starts,
            n=total,
            label=self.label,
            names=self.param_names,
            hint=(
                f"{lost.sum():g} of {total:g} customers were lost over {lost.size} periods; "
                "the sBG needs customers lost in at least two periods at different rates"
            ),
        )
        self._set_fit(
            optimum.log_params, optimum.log_likelihood, optimum.cov, total, optimum.report
        )
        return self

    def survival(self, periods: Any) -> np.ndarray:
        """``S(t) = B(alpha, beta+t) / B(alpha, beta)``: the share of a new cohort still
        alive after ``t`` periods (eq. 3 of Fader & Hardie 2007); ``S(0) = 1``."""
        t = _periods("periods", periods, 0.0)
        alpha, beta = self._theta()
        return np.exp(betaln(alpha, beta + t) - betaln(alpha, beta))

    def retention_curve(self, periods: Any) -> np.ndarray:
        """Retention rate of period ``t >= 1``, ``r(t) = (beta+t-1)/(alpha+beta+t-1)``
        (eq. 8 of Fader & Hardie 2007): the share of those alive at ``t-1`` who renew."""
        t = _periods("periods", periods, 1.0)
        alpha, beta = self._theta()
        return (beta + t - 1) / (alpha + beta + t - 1)

    def expected_remaining_lifetime(
        self, renewals: Any = 0, *, discount_rate: float = 0.10
    ) -> np.ndarray:
        """Discounted expected residual lifetime (DERL) of a customer who has made
        ``renewals`` renewals (Fader & Hardie 2010, eq. 6, with ``n - 1 = renewals``)::

            DERL = sum_{t >= n} S(t) / S(n-1) / (1+d)^(t-n)
                 = B(alpha, beta+n) / B(alpha, beta+n-1)
                   * 2F1(1, beta+n; alpha+beta+n; 1/(1+d))

        in periods: the expected number of further periods she stays, each discounted
        to the moment of her next renewal decision (the first one undiscounted, as a
        payment made at the renewal). Multiply by the payment per period for the value.
        With ``discount_rate=0`` it is the undiscounted expected residual lifetime
        ``(beta+n-1)/(alpha-1)``, infinite when ``alpha <= 1``.

        Parameters
        ----------
        renewals
            Renewals made so far (0 = a customer in her first period).
        discount_rate
            Discount rate per period (>= 0).

        References
        ----------
        Fader, P. S. & Hardie, B. G. S. (2010). Customer-base valuation in a contractual
        setting: the perils of ignoring heterogeneity. *Marketing Science* 29(1), 85-93.
        """
        n = _periods("renewals", renewals, 0.0) + 1
        d = float(check_array("discount_rate", [discount_rate])[0])
        alpha, beta = self._theta()
        ratio = np.exp(betaln(alpha, beta + n) - betaln(alpha, beta + n - 1))
        if d == 0:
            return (beta + n - 1) / (alpha - 1) if alpha > 1 else np.full(n.shape, np.inf)
        return ratio * hyp2f1(1.0, beta + n, alpha + beta + n, 1 / (1 + d))


__all__ = ["ShiftedBetaGeoModel"]
