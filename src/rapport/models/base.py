"""The shared life cycle of Rapport's statistical models: fit, fitted values, persistence.

A model is constructed with its options, ``fit(...)`` returns the model itself, and the
fitted values carry a trailing underscore (``params_``, ``log_likelihood_``, ``cov_``,
``n_customers_``, ``fit_report_``), in the scikit-learn / PyMC-Marketing manner. Parameters
are estimated on the log scale, so ``cov_`` is the covariance of the *log*-parameters (the
inverse Hessian of the negative log-likelihood at the optimum); standard errors on the
natural scale follow by the delta method and confidence intervals are Wald intervals on
the log scale, hence always positive.

``to_dict()`` / ``Model.from_dict()`` give a versioned, JSON-ready description (floats and
lists only) from which a fitted model predicts exactly as before.
"""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar, Self

import numpy as np
from scipy.stats import norm

from rapport.errors import FitFailed, NotFitted, ValidationFailed
from rapport.models.units import Duration, TimeUnit, check_unit

#: Version of the dictionary written by :meth:`Model.to_dict`.
FORMAT_VERSION = 1


@dataclass
class FitReport:
    """How a fit went: what was tried, and whether the accepted attempt converged.

    Attributes
    ----------
    converged
        True when the accepted optimum passed every check (finite log-likelihood, small
        gradient, parameters inside the search box, positive-definite Hessian).
    method
        The optimizer of the accepted attempt (e.g. ``"L-BFGS-B + Newton"``).
    iterations
        Optimizer iterations of the accepted attempt.
    gradient_norm
        Largest absolute gradient of the mean log-likelihood (log-parameters) at the optimum.
    message
        The optimizer's message, or why the fit was refused.
    attempts
        One line per attempt: start, method and outcome.
    seconds
        Wall time of the whole fit.
    """

    converged: bool
    method: str
    iterations: int
    gradient_norm: float
    message: str
    attempts: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready copy."""
        out = asdict(self)
        out["gradient_norm"] = float(self.gradient_norm)
        out["seconds"] = float(self.seconds)
        return out


class Model:
    """Base class: parameter bookkeeping, uncertainty, persistence and the not-fitted error.

    Subclasses set ``kind`` (the name used in :meth:`to_dict`), ``label`` (shown in
    messages) and ``param_names``, and implement ``fit``.
    """

    kind: ClassVar[str] = ""
    label: ClassVar[str] = ""
    param_names: ClassVar[tuple[str, ...]] = ()
    _registry: ClassVar[dict[str, type[Model]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.__dict__.get("kind"):
            Model._registry[cls.kind] = cls

    def __init__(self, time_unit: TimeUnit | None = None) -> None:
        self.time_unit: TimeUnit | None = None if time_unit is None else check_unit(time_unit)
        self.params_: dict[str, float] | None = None
        self.log_likelihood_: float | None = None
        self.cov_: np.ndarray | None = None
        self.n_customers_: float | None = None
        self.fit_report_: FitReport | None = None

    # --- fitted state ---------------------------------------------------------------

    @property
    def is_fitted(self) -> bool:
        """Whether the model has parameters (from ``fit`` or ``from_dict``)."""
        return self.params_ is not None

    def _theta(self) -> np.ndarray:
        """The fitted parameters in ``param_names`` order; :class:`NotFitted` if none."""
        if self.params_ is None:
            raise NotFitted(
                "the {model} model is not fitted",
                hint="call fit() first or load a fitted model with from_dict()",
                key="model_not_fitted",
                params={"model": self.label},
            )
        return np.array([self.params_[k] for k in self.param_names], dtype=np.float64)

    def _set_fit(
        self,
        log_params: np.ndarray,
        log_likelihood: float,
        cov: np.ndarray,
        n_customers: float,
        report: FitReport,
    ) -> None:
        theta = np.exp(log_params)
        self.params_ = {k: float(v) for k, v in zip(self.param_names, theta, strict=True)}
        self.log_likelihood_ = float(log_likelihood)
        self.cov_ = np.asarray(cov, dtype=np.float64)
        self.n_customers_ = float(n_customers)
        self.fit_report_ = report

    def with_params(self, theta: np.ndarray) -> Self:
        """A copy of this model with the natural-scale parameters ``theta`` (no fit data)."""
        other = copy.copy(self)
        other.params_ = {k: float(v) for k, v in zip(self.param_names, theta, strict=True)}
        return other

    # --- uncertainty ----------------------------------------------------------------

    def _cov(self) -> np.ndarray:
        self._theta()
        if self.cov_ is None:
            raise NotFitted(
                "the {model} model has no covariance matrix",
                hint="fit it, or load a model saved with its covariance",
                key="model_no_covariance",
                params={"model": self.label},
            )
        return self.cov_

    def standard_errors(self) -> dict[str, float]:
        """Standard errors of the parameters on their natural scale.

        By the delta method: ``se(theta) = theta * sqrt(cov_[k, k])`` where ``cov_`` is the
        covariance of ``log theta``.
        """
        theta = self._theta()
        se = theta * np.sqrt(np.diag(self._cov()))
        return {k: float(v) for k, v in zip(self.param_names, se, strict=True)}

    def confidence_intervals(self, level: float = 0.95) -> dict[str, tuple[float, float]]:
        """Wald intervals on the log scale: ``exp(log theta ± z * se(log theta))``.

        Parameters
        ----------
        level
            Coverage, strictly between 0 and 1.

        Returns
        -------
        dict
            ``{name: (low, high)}``, both positive.
        """
        if not 0 < level < 1:
            raise ValidationFailed(
                "a confidence level lies strictly between 0 and 1, not {level!r}",
                field="level",
                value=level,
                hint="e.g. 0.9 or 0.95",
                key="confidence_level",
                params={"level": level},
                hint_key="level.hint",
            )
        theta = self._theta()
        z = norm.ppf(0.5 + level / 2)
        half = z * np.sqrt(np.diag(self._cov()))
        low, high = theta * np.exp(-half), theta * np.exp(half)
        return {
            k: (float(lo), float(hi)) for k, lo, hi in zip(self.param_names, low, high, strict=True)
        }

    def draw_params(self, draws: int, rng: np.random.Generator) -> np.ndarray:
        """``draws`` parameter vectors (natural scale, one per row) from the asymptotic
        normal distribution ``N(log theta, cov_)`` of the log-parameters."""
        theta = self._theta()
        log_draws = rng.multivariate_normal(np.log(theta), self._cov(), size=draws)
        return np.exp(log_draws)

    # --- persistence ----------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready description of the fitted model (floats, strings and lists only)."""
        self._theta()
        return {
            "kind": self.kind,
            "format_version": FORMAT_VERSION,
            "time_unit": self.time_unit,
            "param_names": list(self.param_names),
            "params": dict(self.params_ or {}),
            "cov": None if self.cov_ is None else self.cov_.tolist(),
            "log_likelihood": self.log_likelihood_,
            "n_customers": self.n_customers_,
            "fit_report": None if self.fit_report_ is None else self.fit_report_.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Model:
        """The model described by ``data`` (as written by :meth:`to_dict`).

        Called on :class:`Model` it builds whichever kind ``data`` names; called on a
        subclass it refuses any other kind.
        """
        kind = data.get("kind")
        target = Model._registry.get(str(kind))
        if target is None or (cls is not Model and target is not cls):
            expected = cls.kind if cls is not Model else ", ".join(sorted(Model._registry))
            raise ValidationFailed(
                "not a saved model of kind {expected}: kind={kind!r}",
                field="kind",
                value=kind,
                hint="refit the model with `rapport models fit`",
                key="model_wrong_kind",
                params={"expected": expected, "kind": kind},
                hint_key="model_refit.hint",
            )
        if data.get("format_version") != FORMAT_VERSION:
            raise ValidationFailed(
                "unsupported model format version {version!r}",
                field="format_version",
                value=data.get("format_version"),
                hint="this version of Rapport reads format {format}",
                key="model_format_version",
                params={"version": data.get("format_version"), "format": FORMAT_VERSION},
            )
        model = target.__new__(target)
        Model.__init__(model, data.get("time_unit"))
        params = data.get("params") or {}
        missing = [k for k in target.param_names if k not in params]
        if missing:
            raise ValidationFailed(
                "saved {model} model lacks parameters {missing}",
                field="params",
                hint="refit the model with `rapport models fit`",
                key="model_params_missing",
                params={"model": target.label, "missing": missing},
                hint_key="model_refit.hint",
            )
        model.params_ = {k: float(params[k]) for k in target.param_names}
        if data.get("cov") is not None:
            model.cov_ = np.asarray(data["cov"], dtype=np.float64)
        model.log_likelihood_ = data.get("log_likelihood")
        model.n_customers_ = data.get("n_customers")
        if data.get("fit_report") is not None:
            model.fit_report_ = FitReport(**data["fit_report"])
        return model

    def __repr__(self) -> str:
        if self.params_ is None:
            return f"{type(self).__name__}(not fitted)"
        shown = ", ".join(f"{k}={v:.4g}" for k, v in self.params_.items())
        return f"{type(self).__name__}({shown})"


# --- inputs ------------------------------------------------------------------------------


def _first_bad(name: str, values: np.ndarray, bad: np.ndarray, rule: str, hint: str | None):
    row = int(np.flatnonzero(bad)[0])
    value = float(values[row])
    raise ValidationFailed(
        "{name}: row {row} {problem} ({value!r})",
        field=name,
        value=value,
        hint=None if hint is None else "{advice}",
        key="model_input_row",
        params={"name": name, "row": row, "problem": rule, "value": value, "advice": hint},
        hint_key="value_refused.hint",
    )


def check_array(
    name: str,
    values: Any,
    *,
    size: int | None = None,
    minimum: float | None = 0.0,
    positive: bool = False,
    integer: bool = False,
    hint: str | None = None,
) -> np.ndarray:
    """``values`` as a 1-D float64 array, or :class:`ValidationFailed` naming ``name`` and
    the first bad row.

    Parameters
    ----------
    name
        The field's name, used in the error.
    size
        Required length (another input's), when known.
    minimum
        Smallest allowed value (``None``: no lower limit).
    positive
        Refuse zero too.
    integer
        Refuse values with a fractional part.
    """
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValidationFailed(
            "{name} must be numbers: {reason}",
            field=name,
            key="model_input_numbers",
            params={"name": name, "reason": str(exc)},
        ) from None
    if arr.ndim != 1:
        raise ValidationFailed(
            "{name} must be one-dimensional, not of shape {shape}",
            field=name,
            key="model_input_shape",
            params={"name": name, "shape": arr.shape},
        )
    if size is not None and arr.shape[0] != size:
        raise ValidationFailed(
            "{name} has {rows} rows but the other inputs have {size}",
            field=name,
            value=arr.shape[0],
            key="model_input_rows",
            params={"name": name, "rows": arr.shape[0], "size": size},
        )
    if not np.isfinite(arr).all():
        _first_bad(name, arr, ~np.isfinite(arr), "is not a finite number", hint)
    if minimum is not None and (arr < minimum).any():
        _first_bad(name, arr, arr < minimum, f"is below {minimum:g}", hint)
    if positive and (arr <= 0).any():
        _first_bad(name, arr, arr <= 0, "is not positive", hint)
    if integer and (arr != np.floor(arr)).any():
        _first_bad(name, arr, arr != np.floor(arr), "is not a whole number", hint)
    return arr


def check_weights(weights: Any, size: int) -> np.ndarray:
    """Non-negative finite weights of length ``size`` (ones when ``None``) with a
    positive sum."""
    if weights is None:
        return np.ones(size)
    w = check_array("weights", weights, size=size)
    if not w.sum() > 0:
        raise ValidationFailed(
            "the weights sum to zero: nothing to fit", field="weights", key="weights_zero"
        )
    return w


def compress(*arrays: Any, weights: Any = None) -> tuple[np.ndarray, ...]:
    """Unique rows of the columns ``arrays`` with their weights.

    Parameters
    ----------
    *arrays
        Equally long 1-D arrays (the columns of the rows), e.g. ``frequency, recency, T``.
    weights
        Weight of each input row; ones when ``None``.

    Returns
    -------
    tuple
        ``(*unique_columns, weights, inverse)``: the unique rows' columns (sorted
        lexicographically), the summed weight of each unique row, and for each input row
        the index of its unique row (``unique_column[inverse]`` gives the input back).

    Examples
    --------
    >>> x, t, w, inv = compress(np.array([1.0, 0, 1]), np.array([2.0, 0, 2]))
    >>> x, t, w, inv
    (array([0., 1.]), array([0., 2.]), array([1., 2.]), array([1, 0, 1]))
    """
    cols = [np.asarray(a, dtype=np.float64) + 0.0 for a in arrays]  # + 0.0: -0.0 → 0.0
    n = cols[0].shape[0] if cols else 0
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=np.float64)
    if n == 0:
        return (*cols, w, np.zeros(0, dtype=np.intp))
    order = np.lexsort(cols[::-1])
    ordered = [c[order] for c in cols]
    new = np.zeros(n, dtype=bool)
    new[0] = True
    for c in ordered:
        new[1:] |= c[1:] != c[:-1]
    group = np.cumsum(new) - 1
    inverse = np.empty(n, dtype=np.intp)
    inverse[order] = group
    summed = np.bincount(group, weights=w[order], minlength=int(group[-1]) + 1)
    return (*(c[new] for c in ordered), summed, inverse)


# --- repeat-purchase models ---------------------------------------------------------------


def check_purchase_inputs(
    frequency: Any, recency: Any, T: Any, *, time_unit: str = "weeks"
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Validated ``(frequency, recency, T)`` of a repeat-purchase model.

    ``frequency`` counts repeat purchases (whole numbers >= 0); ``recency`` is the time of
    the last repeat purchase after the first purchase, 0 when ``frequency`` is 0, and never
    exceeds ``T``, the customer's age. A customer with repeat purchases on the first
    purchase's day (``frequency > 0``, ``recency == 0``) is allowed: the likelihood is
    defined there.
    """
    x = check_array("frequency", frequency, integer=True)
    tx = check_array("recency", recency, size=x.size)
    age = check_array("T", T, size=x.size)
    after = tx > age
    if after.any():
        row = int(np.flatnonzero(after)[0])
        unit_hint = f"recency and T are both counted in {time_unit} from the first purchase"
        _first_bad(
            "recency", tx, after, f"is after the customer's age T={float(age[row])!r}", unit_hint
        )
    lone = (x == 0) & (tx > 0)
    if lone.any():
        hint = "recency is the time of the last repeat purchase: 0 without repeat purchases"
        _first_bad("recency", tx, lone, "is positive but its frequency is 0", hint)
    return x, tx, age


class PurchaseModel(Model):
    """A repeat-purchase model on ``(frequency, recency, T)`` counted in ``time_unit``.

    Subclasses implement ``_maximize(x, tx, T, w) -> Optimum`` on compressed rows.
    """

    time_unit: TimeUnit

    def __init__(self, time_unit: TimeUnit = "weeks") -> None:
        super().__init__(time_unit)

    def _inputs(self, frequency: Any, recency: Any, T: Any):
        return check_purchase_inputs(frequency, recency, T, time_unit=self.time_unit or "")

    def _horizon(self, horizon: Duration) -> float:
        if not isinstance(horizon, Duration):
            raise ValidationFailed(
                "a horizon is a Duration, not {value!r}",
                field="horizon",
                value=horizon,
                hint='e.g. Duration(39, "weeks") or Duration(90, "days")',
                key="horizon_not_duration",
                params={"value": horizon},
            )
        return horizon.to(self.time_unit)

    def _fit_hint(self, x: np.ndarray, w: np.ndarray) -> str:
        return (
            "{repeat} of {customers} customers made a repeat purchase; the {model} model "
            "needs enough repeat buyers, frequency must count repeat purchases only, and "
            "recency and T must be in {unit}"
        ).format(model=self.label, **self._fit_hint_params(x, w))

    def _fit_hint_params(self, x: np.ndarray, w: np.ndarray) -> dict[str, str]:
        """The figures of :meth:`_fit_hint` (also the Chinese hint's, ``clv_no_repeat``)."""
        repeat, customers = float(w[x > 0].sum()), float(w.sum())
        return {"repeat": f"{repeat:g}", "customers": f"{customers:g}", "unit": self.time_unit}

    def fit(self, frequency: Any, recency: Any, T: Any, *, weights: Any = None) -> Self:
        """Maximum-likelihood fit on customers' ``(frequency, recency, T)``.

        Rows are compressed to unique rows with summed weights before fitting, so the cost
        depends on the number of distinct rows, not of customers.

        Parameters
        ----------
        frequency
            Repeat purchases ``x`` (whole numbers).
        recency
            Time of the last repeat purchase ``t_x`` after the first purchase.
        T
            Time from the first purchase to the end of the calibration period.
        weights
            Number of customers each row stands for (ones by default).

        Returns
        -------
        Self
            The fitted model.

        Raises
        ------
        ValidationFailed
            For a bad input, naming the field and the first bad row.
        FitFailed
            When nobody made a repeat purchase, or no attempt reaches a converged interior
            optimum.
        """
        x, tx, age = self._inputs(frequency, recency, T)
        w = check_weights(weights, x.size)
        keep = w > 0
        x, tx, age, w, _ = compress(x[keep], tx[keep], age[keep], weights=w[keep])
        if not np.any((x > 0) & (w > 0)):
            raise FitFailed(
                "{model} fit refused: no customer made a repeat purchase, so the likelihood "
                "has no maximum (it keeps growing as the purchase rate goes to 0)",
                hint=self._fit_hint(x, w),
                key="clv_no_repeat",
                params={"model": self.label, **self._fit_hint_params(x, w)},
            )
        optimum = self._maximize(x, tx, age, w)
        self._set_fit(
            optimum.log_params, optimum.log_likelihood, optimum.cov, w.sum(), optimum.report
        )
        return self

    def _maximize(self, x: np.ndarray, tx: np.ndarray, T: np.ndarray, w: np.ndarray) -> Any:
        raise NotImplementedError

    def _expected_curve(
        self, ts: np.ndarray, x: np.ndarray, tx: np.ndarray, T: np.ndarray
    ) -> np.ndarray:
        """Expected repeat purchases in ``(T, T + t]`` for each ``t`` of ``ts`` (one row
        per ``t``), on validated inputs, at the current parameters."""
        raise NotImplementedError


__all__ = [
    "FORMAT_VERSION",
    "FitReport",
    "Model",
    "PurchaseModel",
    "check_array",
    "check_purchase_inputs",
    "check_weights",
    "compress",
]
