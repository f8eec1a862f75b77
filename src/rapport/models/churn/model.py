"""The churn classifier: an additive logistic model with exact reasons, calibrated.

``logit(x) = baseline + sum_j f_j(x_j)``: each feature ``j`` enters through its own
piecewise-linear spline with a missing indicator (:mod:`~rapport.models.churn.encoding`),
the weights come from an L2-regularized logistic regression on the standardized basis
columns, and ``churn_risk = calibration(logit)`` (:mod:`~rapport.models.churn.calibration`).

Because every basis column is standardized on the training rows, ``baseline`` (the
intercept) is the mean training logit and each ``f_j`` averages 0 over the training
population: a feature's contribution says how much it moves this customer's log-odds
away from the typical customer's. The contributions of all features add up to the logit
exactly, so the top ones are honest reasons.

The calibration map is fitted on out-of-fold logits: the model is refitted on
``folds - 1`` folds at a time (the whole recipe: knots, medians, scales, weights), each
held-out fold is scored, and the map learns how those logits translate into observed
rates. The shipped model is then fitted on every row (as scikit-learn's
``CalibratedClassifierCV(ensemble=False)``).
"""

from __future__ import annotations

import contextlib
import functools
import warnings
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from threadpoolctl import threadpool_limits

from rapport.errors import FitFailed, NotFitted, ValidationFailed
from rapport.models.churn.calibration import Calibration, check_method, fit_calibration
from rapport.models.churn.encoding import (
    CLIP_QUANTILES,
    KEY,
    KNOT_QUANTILES,
    FeatureBasis,
    as_arrow,
    column,
    contributions,
    fit_basis,
    labels,
    numeric_columns,
)

#: The persisted document's ``kind`` and ``version``.
MODEL_KIND = "rapport.churn.additive_logistic"
MODEL_VERSION = 1
#: A fit needs at least this many rows ...
MIN_ROWS = 50
#: ... and at least this many of each class.
MIN_CLASS_ROWS = 10
DEFAULT_LABEL = "churned"
#: Iterations the solver may take before a fit counts as not converged.
MAX_ITER = 5000
#: Threads the fits of one model run on (its folds' and the last one).
FIT_THREADS = 2


@dataclass
class Explanation:
    """The logit of each row split into the baseline and one term per feature.

    ``baseline + contributions.sum(axis=1) == logit`` (the model's logit before
    calibration), ``contributions`` being rows × ``features``.
    """

    baseline: float
    features: list[str]
    values: np.ndarray
    contributions: np.ndarray

    @property
    def logit(self) -> np.ndarray:
        """The logit of each row."""
        return self.baseline + self.contributions.sum(axis=1)


def _fit_bases(
    matrix: dict[str, np.ndarray],
    y: np.ndarray,
    *,
    c: float,
    knot_quantiles: Sequence[float],
    clip_quantiles: tuple[float, float],
) -> tuple[list[FeatureBasis], float]:
    """Bases and weights of the additive logistic model on these rows (run inside
    :func:`_fitting`)."""
    bases = [
        fit_basis(n, x, knot_quantiles=knot_quantiles, clip_quantiles=clip_quantiles)
        for n, x in matrix.items()
    ]
    design = [b.standardized(matrix[b.name]) for b in bases]
    x = np.column_stack(design) if design else np.zeros((len(y), 0))
    if x.shape[1] == 0:
        raise FitFailed(
            "no feature varies in the training rows, so there is nothing to learn from",
            hint="train on a table whose feature columns hold values",
            key="churn_constant_features",
        )
    fit = LogisticRegression(C=c, max_iter=MAX_ITER).fit(x, y)
    coef = fit.coef_[0]
    start = 0
    for b in bases:
        width = len(b.kinds)
        b.coef = [float(v) for v in coef[start : start + width]]
        start += width
    return bases, float(fit.intercept_[0])


@contextlib.contextmanager
def _fitting() -> Iterator[ThreadPoolExecutor]:
    """The threads the fits of one :meth:`ChurnModel.fit` run on, with one BLAS thread
    each and their convergence watched; raises :class:`FitFailed` on leaving when a fit
    did not converge.

    One BLAS thread: the design is small (tens of thousands of rows × a few hundred
    columns), and OpenBLAS's threads cost far more than they save on it — twenty times
    the CPU time on a busy two-core machine — and make the weights depend on the number
    of cores in their last digits. The fits (each fold's and the last) are independent,
    so they run side by side instead, each on one thread, to the same weights. The BLAS
    limit and the warnings' record are process-wide, so they are set once here, around
    every thread, not by each fit.
    """
    with (
        threadpool_limits(limits=1, user_api="blas"),
        warnings.catch_warnings(record=True) as caught,
        ThreadPoolExecutor(max_workers=FIT_THREADS, thread_name_prefix="rapport-churn") as pool,
    ):
        warnings.simplefilter("always", ConvergenceWarning)
        yield pool
    if any(issubclass(w.category, ConvergenceWarning) for w in caught):
        raise FitFailed(
            "the logistic regression did not converge in {iterations} iterations",
            hint="lower the regularization strength C (stronger penalty) or drop features",
            key="churn_not_converged",
            params={"iterations": MAX_ITER},
        )


class ChurnModel:
    """Churn risk: the probability of no purchase in the horizon, with its reasons.

    Trainable on any table with a row per customer, numeric feature columns and a 0/1 or
    boolean label, e.g. :func:`rapport.analytics.churn_features.churn_features` joined
    with :func:`~rapport.analytics.churn_features.churn_labels` and executed.

    Parameters
    ----------
    features
        The feature columns; default every numeric or boolean column of the training table
        except ``customer_id`` and the label (so an extra ``p_alive`` column is used when
        present). Text columns are never features.
    c
        Inverse L2 regularization strength of the logistic regression (scikit-learn's
        ``C``) on standardized basis columns.
    calibration
        ``"sigmoid"`` (Platt, default) or ``"isotonic"``.
    folds
        Folds of the out-of-fold logits the calibration is fitted on.
    seed
        Seed of the fold assignment (the fit is otherwise deterministic).
    knot_quantiles, clip_quantiles
        Where the spline knots and the clipping bounds of each feature sit, as training
        quantiles.

    Attributes
    ----------
    features_ : list[str]
        The features used, after :meth:`fit`.
    baseline_ : float
        The mean training logit (the intercept).
    calibration_ : Calibration
        The calibration map.
    training_ : dict
        ``rows`` and ``base_rate`` of the training table.

    Examples
    --------
    >>> model = ChurnModel().fit(train)  # doctest: +SKIP
    >>> model.predict_proba(today)[:3]  # doctest: +SKIP
    array([0.12, 0.81, 0.44])
    >>> model.reasons(today, top=2)[1]  # doctest: +SKIP
    [{'feature': 'recency_days', 'value': 290.0, 'contribution': 1.7, 'direction': 'raises'},
     {'feature': 'engagement_decay', 'value': 1.1, 'contribution': 0.4, 'direction': 'raises'}]
    """

    def __init__(
        self,
        features: Sequence[str] | None = None,
        *,
        c: float = 0.1,
        calibration: str = "sigmoid",
        folds: int = 5,
        seed: int = 0,
        knot_quantiles: Sequence[float] = KNOT_QUANTILES,
        clip_quantiles: tuple[float, float] = CLIP_QUANTILES,
    ) -> None:
        if features is not None and isinstance(features, str):
            features = [features]
        if features is not None and KEY in features:
            raise ValidationFailed(
                "{column} identifies a row; it cannot be a feature",
                field=KEY,
                key="churn_key_feature",
                params={"column": KEY},
            )
        if not c > 0:
            raise ValidationFailed(
                "c must be positive, not {c!r}",
                field="c",
                value=c,
                key="churn_c_positive",
                params={"c": c},
            )
        if folds < 2:
            raise ValidationFailed(
                "folds must be at least 2, not {folds}",
                field="folds",
                key="churn_folds",
                params={"folds": folds},
            )
        self.features = list(features) if features is not None else None
        self.c = float(c)
        self.calibration = check_method(calibration)
        self.folds = int(folds)
        self.seed = int(seed)
        self.knot_quantiles = tuple(float(q) for q in knot_quantiles)
        self.clip_quantiles = (float(clip_quantiles[0]), float(clip_quantiles[1]))
        self._bases: list[FeatureBasis] | None = None
        self.baseline_: float = 0.0
        self.calibration_: Calibration | None = None
        self.training_: dict[str, Any] = {}

    # --- fitting ---------------------------------------------------------------------

    def _matrix(self, table: pa.Table, names: Sequence[str]) -> dict[str, np.ndarray]:
        return {name: column(table, name) for name in names}

    def fit(self, table: Any, label_column: str = DEFAULT_LABEL) -> ChurnModel:
        """Fit the weights on every row and the calibration on out-of-fold logits.

        Parameters
        ----------
        table
            A pyarrow Table or pandas DataFrame: the feature columns and ``label_column``
            (``True``/1 = churned); ``customer_id`` is ignored.
        label_column
            The label's column.

        Returns
        -------
        ChurnModel
            ``self``, fitted.

        Raises
        ------
        ValidationFailed
            A feature or the label is missing, not numeric, infinite; a label is null or
            not 0/1.
        FitFailed
            Too few rows, a single class, or no feature that varies.
        """
        table = as_arrow(table)
        if label_column not in table.column_names:
            column(table, label_column, what="label")  # raises, naming the column
        names = self.features or numeric_columns(table, exclude=(KEY, label_column))
        if label_column in names:
            raise ValidationFailed(
                "the label {name!r} cannot also be a feature",
                field=label_column,
                key="churn_label_feature",
                params={"name": label_column},
            )
        if not names:
            raise ValidationFailed(
                "the table has no numeric feature column",
                field="features",
                hint="columns present: {columns}",
                key="churn_no_features",
                params={"columns": ", ".join(table.column_names)},
                hint_key="columns_present.hint",
            )
        matrix = self._matrix(table, names)
        y = labels(table, label_column)
        self._check_trainable(y)
        fit_bases = functools.partial(
            _fit_bases,
            c=self.c,
            knot_quantiles=self.knot_quantiles,
            clip_quantiles=self.clip_quantiles,
        )
        oof = np.empty(len(y))
        splitter = StratifiedKFold(n_splits=self.folds, shuffle=True, random_state=self.seed)
        folds = list(splitter.split(np.zeros(len(y)), y))
        with _fitting() as pool:
            fitted = [
                pool.submit(fit_bases, {n: x[train] for n, x in matrix.items()}, y[train])
                for train, _held in folds
            ]
            whole = pool.submit(fit_bases, matrix, y)
            for (_train, held), part in zip(folds, fitted, strict=True):
                bases, intercept = part.result()
                rest = {n: x[held] for n, x in matrix.items()}
                oof[held] = intercept + contributions(bases, rest, len(held)).sum(axis=1)
            bases, baseline = whole.result()
        self.calibration_ = fit_calibration(self.calibration, oof, y)
        self._bases, self.baseline_ = bases, baseline
        self.features_ = list(names)
        self.training_ = {"rows": len(y), "base_rate": float(y.mean())}
        return self

    def _check_trainable(self, y: np.ndarray) -> None:
        n, churned = len(y), int(y.sum())
        if n < MIN_ROWS:
            raise FitFailed(
                "only {rows} training rows; the churn model needs at least {minimum}",
                hint="use an earlier cut-off or a longer activity window to get more customers",
                key="churn_few_rows",
                params={"rows": n, "minimum": MIN_ROWS},
            )
        if churned in (0, n):
            raise FitFailed(
                "every one of the {rows} training customers churned: one class only"
                if churned
                else "every one of the {rows} training customers kept buying: one class only",
                hint="choose a cut-off whose horizon lies inside the data, or another horizon",
                key="churn_all_churned" if churned else "churn_none_churned",
                params={"rows": n},
                hint_key="churn_one_class.hint",
            )
        smaller = min(churned, n - churned)
        if smaller < max(MIN_CLASS_ROWS, self.folds):
            raise FitFailed(
                "only {rows} training rows of the rarer class; at least {minimum} are needed",
                hint="train on more customers or a horizon where churn is less rare",
                key="churn_rare_class",
                params={"rows": smaller, "minimum": max(MIN_CLASS_ROWS, self.folds)},
            )

    # --- prediction ------------------------------------------------------------------

    def _fitted(self) -> list[FeatureBasis]:
        if self._bases is None or self.calibration_ is None:
            raise NotFitted(
                "the churn model is not fitted",
                hint="call fit() or from_dict()",
                key="churn_not_fitted",
            )
        return self._bases

    def explain(self, table: Any) -> Explanation:
        """The baseline and each feature's contribution to each row's logit."""
        bases = self._fitted()
        table = as_arrow(table)
        matrix = self._matrix(table, self.features_)
        terms = contributions(bases, matrix, table.num_rows)
        values = (
            np.column_stack([matrix[n] for n in self.features_])
            if self.features_
            else np.zeros((table.num_rows, 0))
        )
        return Explanation(self.baseline_, list(self.features_), values, terms)

    def logit(self, table: Any) -> np.ndarray:
        """The model's log-odds of churn for each row, before calibration."""
        return self.explain(table).logit

    def predict_proba(self, table: Any) -> np.ndarray:
        """Calibrated churn probability of each row of ``table`` (a 1-D array).

        Raises
        ------
        NotFitted
            Before :meth:`fit` (or :meth:`from_dict`).
        ValidationFailed
            A feature column is missing, not numeric or infinite.
        """
        return self.predict_explained(table)[0]

    def predict_explained(self, table: Any) -> tuple[np.ndarray, Explanation]:
        """:meth:`predict_proba` and :meth:`explain` of ``table`` from one evaluation of
        the features' terms (the probability is the calibration of the explanation's
        logit, so both are exactly what the two methods return)."""
        self._fitted()
        assert self.calibration_ is not None
        explained = self.explain(table)
        return self.calibration_(explained.logit), explained

    def reasons(self, table: Any, top: int = 3) -> list[list[dict[str, Any]]]:
        """Each row's ``top`` largest contributions to its churn log-odds.

        Returns
        -------
        list[list[dict]]
            Per row, up to ``top`` dicts ``{"feature", "value" (None when missing),
            "contribution" (log-odds vs the training baseline), "direction" ("raises" or
            "lowers" the risk)}``, largest absolute contribution first; features with a
            zero contribution are no reason. All contributions (not only the top ones)
            plus :attr:`baseline_` add up to :meth:`logit`.
        """
        ex = self.explain(table)
        out: list[list[dict[str, Any]]] = []
        order = np.argsort(-np.abs(ex.contributions), axis=1, kind="stable")[:, :top]
        for row, picks in enumerate(order):
            items = []
            for j in picks:
                value = float(ex.contributions[row, j])
                if value == 0.0:
                    continue
                raw = float(ex.values[row, j])
                items.append(
                    {
                        "feature": ex.features[j],
                        "value": None if np.isnan(raw) else raw,
                        "contribution": value,
                        "direction": "raises" if value > 0 else "lowers",
                    }
                )
            out.append(items)
        return out

    # --- persistence -----------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """The fitted model as a JSON-ready document (numbers only, no pickles)."""
        bases = self._fitted()
        assert self.calibration_ is not None
        return {
            "kind": MODEL_KIND,
            "version": MODEL_VERSION,
            "params": {
                "c": self.c,
                "calibration": self.calibration,
                "folds": self.folds,
                "seed": self.seed,
                "knot_quantiles": list(self.knot_quantiles),
                "clip_quantiles": list(self.clip_quantiles),
            },
            "features": [b.to_dict() for b in bases],
            "baseline": self.baseline_,
            "calibration": self.calibration_.to_dict(),
            "training": dict(self.training_),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ChurnModel:
        """The model :meth:`to_dict` saved; predicts exactly as before.

        Raises
        ------
        ValidationFailed
            The document is not a churn model of a version this code reads.
        """
        if data.get("kind") != MODEL_KIND or data.get("version") != MODEL_VERSION:
            raise ValidationFailed(
                "not a churn model document of version {reads}: kind={kind!r}, version={version!r}",
                field="kind",
                hint="refit the model with `rapport models fit`",
                key="churn_document",
                params={
                    "reads": MODEL_VERSION,
                    "kind": data.get("kind"),
                    "version": data.get("version"),
                },
                hint_key="model_refit.hint",
            )
        p = data["params"]
        names = [f["name"] for f in data["features"]]
        model = cls(
            names,
            c=p["c"],
            calibration=p["calibration"],
            folds=p["folds"],
            seed=p["seed"],
            knot_quantiles=p["knot_quantiles"],
            clip_quantiles=tuple(p["clip_quantiles"]),
        )
        model._bases = [FeatureBasis.from_dict(f) for f in data["features"]]
        model.features_ = names
        model.baseline_ = float(data["baseline"])
        model.calibration_ = Calibration.from_dict(data["calibration"])
        model.training_ = dict(data.get("training", {}))
        return model
