"""The Gamma-Gamma model of spend per transaction (Fader, Hardie & Lee 2005; Fader &
Hardie 2013).

A customer's transaction values are Gamma(p, nu) with her own scale ``nu ~ Gamma(q,
gamma)``, independent of her purchasing. The likelihood of a repeat buyer with ``x``
transactions of mean value ``m`` is the density of that *mean* (Fader & Hardie 2013,
eq. 3)::

    f(m | p, q, gamma, x) = G(px+q) / (G(px) G(q)) * gamma^q m^(px-1) x^(px)
                            / (gamma + m x)^(px+q)

This is the definition that reproduces the published CDNOW log-likelihood (-4055.92):
the density of the sum ``x m`` would lower it by ``sum(log x)`` (-4659.29) and the
product of the individual transactions' densities needs data the summary does not keep.

References
----------
Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005). RFM and CLV: using iso-value curves
for customer base analysis. *Journal of Marketing Research* 42(4), 415-430.
Fader, P. S. & Hardie, B. G. S. (2013). The Gamma-Gamma model of monetary value.
http://brucehardie.com/notes/025/
"""

from __future__ import annotations

from typing import Any, Self

import numpy as np
from scipy.special import digamma, gammaln

from rapport.errors import ValidationFailed
from rapport.models.base import Model, check_array, check_weights, compress
from rapport.models.clv.optimize import fit_log_params, wsum

HINT_REPEAT = (
    "fit Gamma-Gamma on repeat buyers only (frequency > 0): select them with "
    "rapport.models.clv.gammagamma.repeat_buyers(frequency, monetary)"
)


def repeat_buyers(
    frequency: Any, monetary: Any, weights: Any = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """The rows with ``frequency > 0``: ``(frequency, monetary, weights)`` (weights stay
    ``None`` when not given). Use it to prepare :meth:`GammaGammaModel.fit`'s inputs."""
    x = check_array("frequency", frequency, integer=True)
    m = check_array("monetary", monetary, size=x.size)
    keep = x > 0
    w = None if weights is None else check_array("weights", weights, size=x.size)[keep]
    return x[keep], m[keep], w


def _row_log_likelihood(theta: np.ndarray, x: np.ndarray, m: np.ndarray) -> np.ndarray:
    p, q, gamma = theta
    px = p * x
    return (
        gammaln(px + q)
        - gammaln(px)
        - gammaln(q)
        + q * np.log(gamma)
        + (px - 1) * np.log(m)
        + px * np.log(x)
        - (px + q) * np.log(gamma + m * x)
    )


def _objective(x: np.ndarray, m: np.ndarray, w: np.ndarray):
    """Negative log-likelihood and gradient in the log-parameters: the terms in ``x``
    alone once per distinct ``x``, one logarithm per row and evaluation."""
    ux, xi = np.unique(x, return_inverse=True)
    wx = np.bincount(xi, weights=w)
    log_ux = np.log(ux)
    w_x = w * x
    mx = m * x
    sum_wx_log_m = wsum(w_x, np.log(m))
    sum_w_log_m = wsum(w, np.log(m))

    def objective(z: np.ndarray) -> tuple[float, np.ndarray]:
        p, q, gamma = theta = np.exp(z)
        pux = p * ux
        log_g = np.log(gamma)
        ll = wsum(wx, gammaln(pux + q) - gammaln(pux) - gammaln(q) + q * log_g + pux * log_ux)
        d_pq = digamma(pux + q)
        log_gm = np.log(gamma + mx)
        inv_gm = 1.0 / (gamma + mx)
        s_wx_log, s_w_log = wsum(w_x, log_gm), wsum(w, log_gm)
        ll += p * sum_wx_log_m - sum_w_log_m - p * s_wx_log - q * s_w_log
        g = np.array(
            [
                wsum(wx, ux * (d_pq - digamma(pux) + log_ux)) + sum_wx_log_m - s_wx_log,
                wsum(wx, d_pq - digamma(q) + log_g) - s_w_log,
                float(wx.sum()) * q / gamma - p * wsum(w_x, inv_gm) - q * wsum(w, inv_gm),
            ]
        )
        return -ll, -g * theta

    return objective


class GammaGammaModel(Model):
    """Gamma-Gamma spend model: transaction values Gamma(p, nu), nu ~ Gamma(q, gamma).

    Fitted on repeat buyers' ``(frequency, mean repeat-purchase value)``; the mean value
    of a customer's transactions is ``p * gamma / (q - 1)`` in the population (finite
    only when ``q > 1``).

    References
    ----------
    Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005). RFM and CLV: using iso-value
    curves for customer base analysis. *Journal of Marketing Research* 42(4), 415-430.
    Fader, P. S. & Hardie, B. G. S. (2013). The Gamma-Gamma model of monetary value.
    http://brucehardie.com/notes/025/
    """

    kind = "gammagamma"
    label = "Gamma-Gamma"
    param_names = ("p", "q", "gamma")

    def __init__(self) -> None:
        super().__init__(None)

    def fit(self, frequency: Any, monetary: Any, *, weights: Any = None) -> Self:
        """Maximum-likelihood fit on repeat buyers.

        Parameters
        ----------
        frequency
            Repeat purchases ``x`` (whole numbers > 0).
        monetary
            Mean value of those repeat purchases (> 0).
        weights
            Number of customers each row stands for (ones by default).

        Raises
        ------
        ValidationFailed
            For a row with ``frequency == 0`` (the model is for repeat buyers; filter
            with :func:`repeat_buyers`) or with a non-positive ``monetary``, naming the
            first bad row.
        FitFailed
            When no attempt reaches a converged interior optimum.
        """
        x = check_array("frequency", frequency, integer=True)
        if (x == 0).any():
            row = int(np.flatnonzero(x == 0)[0])
            raise ValidationFailed(
                "frequency: row {row} is 0, but Gamma-Gamma is fitted on repeat buyers",
                field="frequency",
                value=0.0,
                hint=HINT_REPEAT,
                key="gammagamma_not_repeat",
                params={"row": row},
                hint_key="gammagamma_repeat.hint",
            )
        m = check_array("monetary", monetary, size=x.size, positive=True)
        w = check_weights(weights, x.size)
        keep = w > 0
        x, m, w, _ = compress(x[keep], m[keep], weights=w[keep])
        mean = wsum(w, m) / float(w.sum())
        starts = [
            ("p=1, q=2, gamma=mean spend", np.log([1.0, 2.0, mean])),
            ("p=q=gamma=1", np.zeros(3)),
            ("p=5, q=4, gamma=0.6 mean spend", np.log([5.0, 4.0, 0.6 * mean])),
        ]
        optimum = fit_log_params(
            _objective(x, m, w),
            starts,
            n=float(w.sum()),
            label=self.label,
            names=self.param_names,
            hint=f"{w.sum():g} repeat buyers; spend values must vary between customers",
        )
        self._set_fit(
            optimum.log_params, optimum.log_likelihood, optimum.cov, w.sum(), optimum.report
        )
        return self

    def log_likelihood(self, frequency: Any, monetary: Any) -> np.ndarray:
        """Log-density of each repeat buyer's mean spend at the fitted parameters."""
        x = check_array("frequency", frequency, positive=True, integer=True, hint=HINT_REPEAT)
        m = check_array("monetary", monetary, size=x.size, positive=True)
        return _row_log_likelihood(self._theta(), x, m)

    def expected_spend_mean(self) -> float:
        """Population mean of a customer's mean transaction value, ``p gamma / (q - 1)``;
        ``inf`` when ``q <= 1`` (the mean does not exist)."""
        p, q, gamma = self._theta()
        return float(p * gamma / (q - 1)) if q > 1 else float("inf")

    def conditional_expected_spend(self, frequency: Any, monetary: Any) -> np.ndarray:
        """Expected mean transaction value of each customer given ``x`` and ``m``
        (Fader, Hardie & Lee 2005, eq. 5; Fader & Hardie 2013, eq. 6)::

            (gamma + m x) p / (p x + q - 1)
              = (q-1)/(px+q-1) * p gamma/(q-1) + px/(px+q-1) * m

        a weighted mean of the population mean and the customer's own. For ``x = 0``
        (``monetary`` ignored, may be 0) it is the population mean
        :meth:`expected_spend_mean`.
        """
        x = check_array("frequency", frequency, integer=True)
        m = check_array("monetary", monetary, size=x.size)
        if ((x > 0) & (m <= 0)).any():
            row = int(np.flatnonzero((x > 0) & (m <= 0))[0])
            raise ValidationFailed(
                "monetary: row {row} is not positive but its frequency is {frequency:g}",
                field="monetary",
                value=m[row],
                hint="a repeat buyer's average spend is above 0",
                key="gammagamma_monetary",
                params={"row": row, "frequency": x[row]},
            )
        p, q, gamma = self._theta()
        with np.errstate(divide="ignore", invalid="ignore"):
            own = (gamma + m * x) * p / (p * x + q - 1)
        return np.where(x > 0, own, self.expected_spend_mean())


__all__ = ["GammaGammaModel", "repeat_buyers"]
