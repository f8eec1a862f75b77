"""The BG/NBD model of repeat purchasing (Fader, Hardie & Lee 2005).

While alive, a customer buys as a Poisson process of rate ``lambda ~ Gamma(r, alpha)``;
after each purchase she becomes inactive with probability ``p ~ Beta(a, b)``. The
likelihood of a customer with ``x`` repeat purchases, the last at ``t_x``, observed for
``T`` (eq. 6 of the paper) is

    L = B(a, b+x)/B(a, b) * G(r+x)/G(r) * alpha^r / (alpha+T)^(r+x)
        + [x > 0] B(a+1, b+x-1)/B(a, b) * G(r+x)/G(r) * alpha^r / (alpha+t_x)^(r+x)

evaluated here as ``A1 + A2 + log(exp(A3) + [x > 0] exp(A4))`` with the terms that depend
on ``x`` alone computed once per distinct ``x``.

References
----------
Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005). "Counting your customers" the easy
way: an alternative to the Pareto/NBD model. *Marketing Science* 24(2), 275-284.
Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005). A note on implementing the BG/NBD
model in MS Excel (the CDNOW figures).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.special import digamma, expit, gammaln, hyp2f1

from rapport.models.base import PurchaseModel
from rapport.models.clv.optimize import Optimum, fit_log_params, wsum
from rapport.models.units import Duration

#: ``a`` this close to 1 is moved to ``1 ± A_NEAR_ONE``: the expectation is 0/0 at a = 1.
A_NEAR_ONE = 1e-7


def _row_log_likelihood(theta: np.ndarray, x: np.ndarray, tx: np.ndarray, T: np.ndarray):
    r, alpha, a, b = theta
    a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    a2 = gammaln(a + b) + gammaln(b + x) - gammaln(b) - gammaln(a + b + x)
    a3 = -(r + x) * np.log(alpha + T)
    with np.errstate(divide="ignore", invalid="ignore"):
        a4 = np.where(x > 0, np.log(a) - np.log(b + x - 1) - (r + x) * np.log(alpha + tx), -np.inf)
    return a1 + a2 + np.logaddexp(a3, a4)


def _objective(x: np.ndarray, tx: np.ndarray, T: np.ndarray, w: np.ndarray):
    """Negative log-likelihood and its gradient in the log-parameters.

    Terms in ``x`` alone are evaluated once per distinct ``x``; ``log(alpha + T)`` and
    ``log(alpha + t_x)`` once per distinct ``T`` and ``t_x`` (few with day-granular data)
    and gathered; customers without repeat purchases contribute ``-r log(alpha + T)``
    only, summed per distinct ``T``.
    """
    ux, xi = np.unique(x, return_inverse=True)
    wx = np.bincount(xi, weights=w)
    zero = x == 0
    t0, t0i = np.unique(T[zero], return_inverse=True)
    w0 = np.bincount(t0i, weights=w[zero], minlength=t0.size)
    pos = ~zero
    xp, wp = x[pos], w[pos]
    xpi = np.searchsorted(ux, xp)
    tu, ti = np.unique(T[pos], return_inverse=True)
    su, si = np.unique(tx[pos], return_inverse=True)
    n_all = float(wx.sum())

    def objective(z: np.ndarray) -> tuple[float, np.ndarray]:
        r, alpha, a, b = np.exp(z)
        # terms in x alone, once per distinct x
        part_x = (
            gammaln(r + ux)
            - gammaln(r)
            + r * np.log(alpha)
            + gammaln(a + b)
            + gammaln(b + ux)
            - gammaln(b)
            - gammaln(a + b + ux)
        )
        d_ab = digamma(a + b) - digamma(a + b + ux)
        ll = wsum(wx, part_x)
        g = np.array(
            [
                wsum(wx, digamma(r + ux) - digamma(r) + np.log(alpha)),
                n_all * r / alpha,
                wsum(wx, d_ab),
                wsum(wx, d_ab + digamma(b + ux) - digamma(b)),
            ]
        )
        # customers without repeat purchases: -r log(alpha + T)
        l0 = np.log(alpha + t0)
        ll -= r * wsum(w0, l0)
        g[0] -= wsum(w0, l0)
        g[1] -= r * wsum(w0, 1.0 / (alpha + t0))
        # repeat buyers, per row: A3 + log(1 + exp(A4 - A3))
        with np.errstate(divide="ignore"):
            log_b = np.log(b + ux - 1)[xpi]
            inv_b = (1.0 / (b + ux - 1))[xpi]
        l_t = np.log(alpha + tu)[ti]
        l_tx = np.log(alpha + su)[si]
        rx = r + xp
        d = np.log(a) - log_b - rx * (l_tx - l_t)
        e = np.exp(-np.abs(d))
        w4 = np.where(d >= 0, 1.0, e) / (1.0 + e)  # expit(d)
        w3 = 1.0 - w4
        ll += wsum(wp, np.maximum(d, 0.0) + np.log1p(e) - rx * l_t)
        g += np.array(
            [
                -wsum(wp, w3 * l_t + w4 * l_tx),
                -wsum(wp, rx * (w3 * (1.0 / (alpha + tu))[ti] + w4 * (1.0 / (alpha + su))[si])),
                wsum(wp, w4) / a,
                -wsum(wp, w4 * inv_b),
            ]
        )
        return -ll, -g * np.array([r, alpha, a, b])

    return objective


class BetaGeoModel(PurchaseModel):
    """BG/NBD: Poisson purchasing with Gamma(r, alpha) rates and Beta(a, b) drop-out after
    each purchase (Fader, Hardie & Lee 2005).

    Parameters
    ----------
    time_unit
        Unit of ``recency`` and ``T`` (``"days"``, ``"weeks"``, ``"months"``); horizons
        (:class:`~rapport.models.units.Duration`) are converted into it. ``alpha`` is
        counted in this unit.

    Examples
    --------
    >>> model = BetaGeoModel(time_unit="weeks").fit(frequency, recency, T)  # doctest: +SKIP
    >>> model.expected_purchases(Duration(39, "weeks"), [2], [30.43], [38.86])  # doctest: +SKIP
    array([1.226])

    References
    ----------
    Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005). "Counting your customers" the easy
    way: an alternative to the Pareto/NBD model. *Marketing Science* 24(2), 275-284.
    """

    kind = "bgnbd"
    label = "BG/NBD"
    param_names = ("r", "alpha", "a", "b")

    # The model's formulas; a variant (MBG/NBD) replaces them and keeps the rest.
    @staticmethod
    def _objective_of(x: np.ndarray, tx: np.ndarray, T: np.ndarray, w: np.ndarray):
        return _objective(x, tx, T, w)

    @staticmethod
    def _row_ll(theta: np.ndarray, x: np.ndarray, tx: np.ndarray, T: np.ndarray) -> np.ndarray:
        return _row_log_likelihood(theta, x, tx, T)

    @staticmethod
    def _alive(theta: np.ndarray, x: np.ndarray, tx: np.ndarray, T: np.ndarray) -> np.ndarray:
        return _p_alive(theta, x, tx, T)

    @staticmethod
    def _given_alive(theta: np.ndarray, t: float, x: np.ndarray, T: np.ndarray) -> np.ndarray:
        return _before_alive(theta, t, x, T)

    def _maximize(self, x: np.ndarray, tx: np.ndarray, T: np.ndarray, w: np.ndarray) -> Optimum:
        rate = wsum(w, x) / wsum(w, T) if wsum(w, x) > 0 and wsum(w, T) > 0 else 1.0
        starts = [
            ("r=1, alpha=1/purchase rate, a=b=1", np.log([1.0, 1.0 / rate, 1.0, 1.0])),
            ("all ones", np.zeros(4)),
            ("r=0.5, alpha=0.5/purchase rate, a=0.5, b=3", np.log([0.5, 0.5 / rate, 0.5, 3.0])),
        ]
        return fit_log_params(
            self._objective_of(x, tx, T, w),
            starts,
            n=float(w.sum()),
            label=self.label,
            names=self.param_names,
            hint=self._fit_hint(x, w),
        )

    def log_likelihood(self, frequency: Any, recency: Any, T: Any) -> np.ndarray:
        """Log-likelihood of each row at the fitted parameters (eq. 6 of FHL 2005)."""
        x, tx, age = self._inputs(frequency, recency, T)
        return self._row_ll(self._theta(), x, tx, age)

    def probability_alive(self, frequency: Any, recency: Any, T: Any) -> np.ndarray:
        """P(alive at T | x, t_x, T) (FHL 2005, eq. 13 of the Excel note; 1 when x = 0).

        ``1 / (1 + [x > 0] a/(b+x-1) ((alpha+T)/(alpha+t_x))^(r+x))``, computed as a
        logistic of the log-odds, so it never overflows.

        References
        ----------
        Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2008). Computing P(alive) using the
        BG/NBD model. Note at brucehardie.com.
        """
        x, tx, age = self._inputs(frequency, recency, T)
        return self._alive(self._theta(), x, tx, age)

    def expected_purchases(
        self, horizon: Duration, frequency: Any, recency: Any, T: Any
    ) -> np.ndarray:
        """Expected repeat purchases in ``(T, T + horizon]`` given ``(x, t_x, T)``.

        Eq. 10 of FHL 2005::

            (a+b+x-1)/(a-1) [1 - ((alpha+T)/(alpha+T+t))^(r+x)
                2F1(r+x, b+x; a+b+x-1; t/(alpha+T+t))] * P(alive)

        The hypergeometric term is evaluated after Euler's transformation,
        ``(1-z)^(a-1) 2F1(a+b-1-r, a-1; a+b+x-1; z)``, which stays bounded for long horizons.

        References
        ----------
        Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005). "Counting your customers" the
        easy way. *Marketing Science* 24(2), eq. 10.
        """
        t = self._horizon(horizon)
        x, tx, age = self._inputs(frequency, recency, T)
        return self._expected_curve(np.array([t]), x, tx, age)[0]

    def _expected_curve(
        self, ts: np.ndarray, x: np.ndarray, tx: np.ndarray, T: np.ndarray
    ) -> np.ndarray:
        """Expected purchases in ``(T, T + t]`` for each ``t`` of ``ts`` (rows) on
        validated inputs."""
        theta = self._theta()
        p_alive = self._alive(theta, x, tx, T)
        return np.stack([self._given_alive(theta, t, x, T) * p_alive for t in ts])

    def expected_purchases_new(self, horizon: Duration) -> float:
        """Expected purchases ``E[X(t)]`` of a new customer in ``(0, horizon]`` (eq. 9)::

            (a+b-1)/(a-1) [1 - (alpha/(alpha+t))^r 2F1(r, b; a+b-1; t/(alpha+t))]

        References
        ----------
        Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005). *Marketing Science* 24(2), eq. 9.
        """
        t = self._horizon(horizon)
        r, alpha, a, b = self._theta()
        a = _away_from_one(a)
        z = t / (alpha + t)
        tail = np.exp((a - 1) * np.log1p(-z)) * hyp2f1(a + b - 1 - r, a - 1, a + b - 1, z)
        return float((a + b - 1) / (a - 1) * (1 - tail))


def _away_from_one(a: float) -> float:
    if abs(a - 1) < A_NEAR_ONE:
        return 1 + A_NEAR_ONE if a >= 1 else 1 - A_NEAR_ONE
    return a


def _p_alive(theta: np.ndarray, x: np.ndarray, tx: np.ndarray, T: np.ndarray) -> np.ndarray:
    r, alpha, a, b = theta
    with np.errstate(divide="ignore", invalid="ignore"):
        log_odds = np.where(
            x > 0,
            np.log(a)
            - np.log(np.where(x > 0, b + x - 1, 1.0))
            + (r + x) * (np.log(alpha + T) - np.log(alpha + tx)),
            -np.inf,
        )
    return expit(-log_odds)


def _before_alive(theta: np.ndarray, t: float, x: np.ndarray, T: np.ndarray) -> np.ndarray:
    """The expectation of eq. 10 divided by P(alive)."""
    r, alpha, a, b = theta
    a = _away_from_one(a)
    z = t / (alpha + T + t)
    tail = np.exp((a - 1) * np.log1p(-z)) * hyp2f1(a + b - 1 - r, a - 1, a + b + x - 1, z)
    return (a + b + x - 1) / (a - 1) * (1 - tail)


__all__ = ["BetaGeoModel"]
