"""The Pareto/NBD model of repeat purchasing (Schmittlein, Morrison & Colombo 1987).

While alive, a customer buys as a Poisson process of rate ``lambda ~ Gamma(r, alpha)``;
her lifetime is exponential with rate ``mu ~ Gamma(s, beta)``. With the expressions of
Fader & Hardie (2005), the likelihood of ``(x, t_x, T)`` is

    L = G(r+x) alpha^r beta^s / G(r) * [ 1/((alpha+T)^(r+x) (beta+T)^s)
                                         + s/(r+s+x) * A0 ]

where, for ``alpha >= beta`` (``m = alpha``, ``k = s+1``) and ``alpha < beta``
(``m = beta``, ``k = r+x``),

    A0 = F(t_x) - F(T),   F(y) = 2F1(r+s+x, k; r+s+x+1; |alpha-beta|/(m+y)) / (m+y)^(r+s+x)

Here ``log F(y)`` is computed after Euler's transformation,
``2F1(r+s+x, k; r+s+x+1; z) = (1-z)^(1-k) 2F1(1, r+s+x+1-k; r+s+x+1; z)``, whose last
factor lies between 1 and ``1/(1-z)``: no overflow however large ``x`` gets. The difference
``F(t_x) - F(T)`` and the sum with the first term are taken in log space (log-sum-exp).

The gradient has no practical closed form (derivatives of 2F1 in its parameters), so the
fit uses central differences of the log-likelihood on the compressed rows.

References
----------
Schmittlein, D. C., Morrison, D. G. & Colombo, R. (1987). Counting your customers: who
are they and what will they do next? *Management Science* 33(1), 1-24.
Fader, P. S. & Hardie, B. G. S. (2005). A note on deriving the Pareto/NBD model and
related expressions. http://brucehardie.com/notes/009/
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.special import expit, gammaln, hyp2f1

from rapport.models.base import PurchaseModel
from rapport.models.clv.optimize import (
    Optimum,
    fit_log_params,
    hessian_from_values,
    numeric_gradient,
    wsum,
)
from rapport.models.units import Duration


def _log_f(theta: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``log F(y)`` of the module docstring (the case split alpha >= beta / alpha < beta)."""
    r, alpha, s, beta = theta
    rsx = r + s + x
    if alpha >= beta:
        m, k = alpha, np.full_like(x, s + 1.0)
    else:
        m, k = beta, r + x
    z = abs(alpha - beta) / (m + y)
    tail = hyp2f1(1.0, rsx + 1 - k, rsx + 1, z)
    return (1 - k) * np.log1p(-z) + np.log(tail) - rsx * np.log(m + y)


def _log_a0(theta: np.ndarray, x: np.ndarray, tx: np.ndarray, T: np.ndarray) -> np.ndarray:
    """``log A0 = log(F(t_x) - F(T))``; ``-inf`` where ``t_x == T``."""
    f_tx = _log_f(theta, x, tx)
    f_t = _log_f(theta, x, T)
    with np.errstate(divide="ignore"):
        return f_tx + np.log(-np.expm1(np.minimum(f_t - f_tx, 0.0)))


def _row_log_likelihood(theta: np.ndarray, x: np.ndarray, tx: np.ndarray, T: np.ndarray):
    r, alpha, s, beta = theta
    head = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta)
    alive = -(r + x) * np.log(alpha + T) - s * np.log(beta + T)
    died = np.log(s) - np.log(r + s + x) + _log_a0(theta, x, tx, T)
    return head + np.logaddexp(alive, died)


def _log_odds_dead(theta: np.ndarray, x: np.ndarray, tx: np.ndarray, T: np.ndarray):
    """``log(s/(r+s+x) (alpha+T)^(r+x) (beta+T)^s A0)``: P(alive) = 1/(1+exp(.))."""
    r, alpha, s, beta = theta
    return (
        np.log(s)
        - np.log(r + s + x)
        + (r + x) * np.log(alpha + T)
        + s * np.log(beta + T)
        + _log_a0(theta, x, tx, T)
    )


def _growth(k: float, u: np.ndarray) -> np.ndarray:
    """``(1 - (1+u)^(-k)) / k``, equal to ``log(1+u)`` at k = 0."""
    if abs(k) < 1e-12:
        return np.log1p(u)
    return -np.expm1(-k * np.log1p(u)) / k


class ParetoNBDModel(PurchaseModel):
    """Pareto/NBD: Poisson purchasing with Gamma(r, alpha) rates and exponential lifetimes
    with Gamma(s, beta) death rates (Schmittlein, Morrison & Colombo 1987).

    Parameters
    ----------
    time_unit
        Unit of ``recency`` and ``T``; ``alpha`` and ``beta`` are counted in it.

    References
    ----------
    Schmittlein, D. C., Morrison, D. G. & Colombo, R. (1987). *Management Science* 33(1).
    Fader, P. S. & Hardie, B. G. S. (2005). A note on deriving the Pareto/NBD model and
    related expressions. http://brucehardie.com/notes/009/
    """

    kind = "paretonbd"
    label = "Pareto/NBD"
    param_names = ("r", "alpha", "s", "beta")

    def _maximize(self, x: np.ndarray, tx: np.ndarray, T: np.ndarray, w: np.ndarray) -> Optimum:
        rate = wsum(w, x) / wsum(w, T) if wsum(w, x) > 0 and wsum(w, T) > 0 else 1.0
        mean_t = wsum(w, T) / float(w.sum()) or 1.0

        def neg_ll(z: np.ndarray) -> float:
            with np.errstate(all="ignore"):
                return -wsum(w, _row_log_likelihood(np.exp(z), x, tx, T))

        starts = [
            ("r=1, alpha=1/purchase rate, s=1, beta=mean T", np.log([1, 1 / rate, 1, mean_t])),
            ("all ones", np.zeros(4)),
            ("r=s=0.5, alpha=0.5/rate, beta=2 mean T", np.log([0.5, 0.5 / rate, 0.5, 2 * mean_t])),
        ]
        return fit_log_params(
            numeric_gradient(neg_ll),
            starts,
            n=float(w.sum()),
            label=self.label,
            names=self.param_names,
            hint=self._fit_hint(x, w),
            hessian=lambda z: hessian_from_values(neg_ll, z),
        )

    def log_likelihood(self, frequency: Any, recency: Any, T: Any) -> np.ndarray:
        """Log-likelihood of each row at the fitted parameters (Fader & Hardie 2005, eq. 19
        with the A0 of eqs. 20-21, in log-sum-exp form)."""
        x, tx, age = self._inputs(frequency, recency, T)
        return _row_log_likelihood(self._theta(), x, tx, age)

    def probability_alive(self, frequency: Any, recency: Any, T: Any) -> np.ndarray:
        """P(alive at T | x, t_x, T) (Fader & Hardie 2005, eq. 24)::

            1 / (1 + s/(r+s+x) (alpha+T)^(r+x) (beta+T)^s A0)

        computed as a logistic of the log-odds (no overflow); 1 where ``t_x == T``.
        """
        x, tx, age = self._inputs(frequency, recency, T)
        return expit(-_log_odds_dead(self._theta(), x, tx, age))

    def expected_purchases(
        self, horizon: Duration, frequency: Any, recency: Any, T: Any
    ) -> np.ndarray:
        """Expected repeat purchases in ``(T, T + horizon]`` given ``(x, t_x, T)``
        (Fader & Hardie 2005, eq. 27)::

            (r+x)(beta+T) / ((alpha+T)(s-1)) [1 - ((beta+T)/(beta+T+t))^(s-1)] P(alive)

        with the limit ``(r+x)(beta+T)/(alpha+T) log(1 + t/(beta+T))`` at s = 1.
        """
        t = self._horizon(horizon)
        x, tx, age = self._inputs(frequency, recency, T)
        return self._expected_curve(np.array([t]), x, tx, age)[0]

    def _expected_curve(
        self, ts: np.ndarray, x: np.ndarray, tx: np.ndarray, T: np.ndarray
    ) -> np.ndarray:
        """Expected purchases in ``(T, T + t]`` for each ``t`` of ``ts`` (rows) on
        validated inputs."""
        r, alpha, s, beta = theta = self._theta()
        scale = (r + x) / (alpha + T) * (beta + T) * expit(-_log_odds_dead(theta, x, tx, T))
        return np.stack([scale * _growth(s - 1, t / (beta + T)) for t in ts])

    def expected_purchases_new(self, horizon: Duration) -> float:
        """Expected purchases ``E[X(t)]`` of a new customer in ``(0, horizon]``
        (Schmittlein et al. 1987; Fader & Hardie 2005, eq. 17)::

            r beta / (alpha (s-1)) [1 - (beta/(beta+t))^(s-1)]
        """
        t = self._horizon(horizon)
        r, alpha, s, beta = self._theta()
        return float(r / alpha * beta * _growth(s - 1, np.asarray(t / beta)))


__all__ = ["ParetoNBDModel"]
