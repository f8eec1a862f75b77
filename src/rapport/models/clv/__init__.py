"""Probabilistic customer-lifetime-value models fitted by our own maximum likelihood.

- :class:`ModifiedBetaGeoModel` (MBG/NBD, the default), :class:`BetaGeoModel` (BG/NBD)
  and :class:`ParetoNBDModel` (Pareto/NBD): repeat purchasing in non-contractual
  settings, on ``(frequency, recency, T)``;
- :class:`GammaGammaModel`: spend per purchase of repeat buyers;
- :class:`ShiftedBetaGeoModel` (sBG): contract retention;
- :func:`customer_lifetime_value` / :func:`clv_interval`: discounted CLV and its
  parameter-uncertainty interval;
- :func:`compress`: unique rows with weights (every fit uses it).

See ``docs/models.md`` for formulas, references, units and the CDNOW reproduction.
"""

from rapport.models.base import FitReport, Model, compress
from rapport.models.clv.bgnbd import BetaGeoModel
from rapport.models.clv.gammagamma import GammaGammaModel, repeat_buyers
from rapport.models.clv.mbgnbd import ModifiedBetaGeoModel
from rapport.models.clv.paretonbd import ParetoNBDModel
from rapport.models.clv.sbg import ShiftedBetaGeoModel
from rapport.models.clv.value import clv_interval, customer_lifetime_value

__all__ = [
    "BetaGeoModel",
    "FitReport",
    "GammaGammaModel",
    "Model",
    "ModifiedBetaGeoModel",
    "ParetoNBDModel",
    "ShiftedBetaGeoModel",
    "clv_interval",
    "compress",
    "customer_lifetime_value",
    "repeat_buyers",
]
