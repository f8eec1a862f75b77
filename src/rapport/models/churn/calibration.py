"""Calibration maps from the churn model's logit to a probability.

``sigmoid`` (Platt scaling)
    ``p = 1 / (1 + exp(-(slope * logit + intercept)))``: two numbers, strictly
    increasing, so the order of customers (and the reasons) is the logit's.
``isotonic``
    A non-decreasing step-and-ramp curve through ``(x, y)`` points, interpolated linearly
    and held constant beyond the ends (as scikit-learn's ``IsotonicRegression`` with
    ``out_of_bounds="clip"``); more flexible, but it can tie customers.

Both are fitted on out-of-fold logits (see :class:`~rapport.models.churn.model.ChurnModel`),
never on the logits of the rows the model was fitted on.

References
----------
Platt, J. (1999). Probabilistic outputs for support vector machines and comparisons to
regularized likelihood methods. Zadrozny, B. & Elkan, C. (2002). Transforming classifier
scores into accurate multiclass probability estimates. KDD.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression

from rapport.errors import ValidationFailed

CALIBRATIONS = ("sigmoid", "isotonic")


def check_method(method: str) -> str:
    """``method`` when it is a known calibration, else :class:`ValidationFailed`."""
    if method not in CALIBRATIONS:
        raise ValidationFailed(
            "unknown calibration {method!r}",
            field="calibration",
            value=method,
            hint="use one of: {methods}",
            key="calibration_unknown",
            params={"method": method, "methods": ", ".join(CALIBRATIONS)},
        )
    return method


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))


@dataclass
class Calibration:
    """A fitted calibration map (see the module)."""

    method: str
    slope: float = 1.0
    intercept: float = 0.0
    x: list[float] = field(default_factory=list)
    y: list[float] = field(default_factory=list)

    def __call__(self, logit: np.ndarray) -> np.ndarray:
        """Calibrated probabilities of ``logit``."""
        if self.method == "sigmoid":
            return _sigmoid(self.slope * logit + self.intercept)
        return np.interp(logit, np.asarray(self.x), np.asarray(self.y))

    def to_dict(self) -> dict[str, Any]:
        """The map as JSON-ready data."""
        if self.method == "sigmoid":
            return {"method": "sigmoid", "slope": self.slope, "intercept": self.intercept}
        return {"method": "isotonic", "x": list(self.x), "y": list(self.y)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Calibration:
        """The map :meth:`to_dict` wrote."""
        method = check_method(data["method"])
        if method == "sigmoid":
            return cls(method, slope=float(data["slope"]), intercept=float(data["intercept"]))
        return cls(method, x=[float(v) for v in data["x"]], y=[float(v) for v in data["y"]])


def fit_calibration(method: str, logit: np.ndarray, label: np.ndarray) -> Calibration:
    """Fit the map ``method`` from (out-of-fold) logits to the 0/1 labels."""
    if check_method(method) == "sigmoid":
        fit = LogisticRegression(C=1e6, max_iter=1000).fit(logit.reshape(-1, 1), label)
        return Calibration(method, slope=float(fit.coef_[0, 0]), intercept=float(fit.intercept_[0]))
    iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(logit, label)
    return Calibration(
        method,
        x=[float(v) for v in iso.X_thresholds_],
        y=[float(v) for v in iso.y_thresholds_],
    )
