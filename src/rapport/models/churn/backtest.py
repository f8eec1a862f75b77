"""Time-split backtest of the churn model, and the tables it trains and scores on.

Train on the features at cut-off ``t1`` with labels from ``[t1, t1 + h)``, test on the
features at a later cut-off ``t2 >= t1 + h`` with labels from ``[t2, t2 + h)``: the
training labels end before the test features begin, so nothing the test asks about leaks
into the fit. :func:`run_backtest` picks ``t2 = as_of - h`` and ``t1 = t2 - h`` (the
latest pair the data can label) and builds and executes the tables; :func:`backtest`
takes already-executed tables and never touches an engine.

The report holds ROC-AUC, PR-AUC (average precision), the Brier score, the base rate, a
lift table by decile of predicted risk and a calibration table, for the model and for a
recency-only baseline (a logistic regression on ``recency_days`` alone).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

from rapport.config import Rules
from rapport.errors import ValidationFailed
from rapport.models.churn.encoding import KEY, as_arrow, column
from rapport.models.churn.model import DEFAULT_LABEL, ChurnModel
from rapport.models.units import Duration

#: The feature of the baseline model.
BASELINE_FEATURE = "recency_days"
#: Bins of the calibration table: equal widths of predicted probability.
CALIBRATION_BINS = 10
#: Groups of the lift table.
LIFT_GROUPS = 10

ExtraSource = Callable[[datetime], pa.Table]


def horizon_in_days(horizon: int | Duration) -> int:
    """A horizon (whole days, or a :class:`~rapport.models.units.Duration`) in days."""
    days = horizon.days if isinstance(horizon, Duration) else horizon
    if isinstance(days, bool) or not float(days).is_integer() or days <= 0:
        raise ValidationFailed(
            "the churn horizon must be a positive whole number of days, not {horizon}",
            field="horizon_days",
            value=str(horizon),
            hint="e.g. 90d, 13w or 12m",
            key="churn_horizon",
            params={"horizon": horizon},
            hint_key="duration_invalid.hint",
        )
    return int(days)


# --- tables ------------------------------------------------------------------------------


def with_extra(features: Any, extra: Any | None) -> pa.Table:
    """``features`` with the columns of ``extra`` (e.g. ``p_alive``) joined on
    ``customer_id`` (null for a customer ``extra`` lacks), rows in ``features`` order.

    Raises
    ------
    ValidationFailed
        ``extra`` lacks ``customer_id``, repeats a customer or a column of ``features``.
    """
    features = as_arrow(features)
    if extra is None:
        return features
    extra = as_arrow(extra)
    if KEY not in extra.column_names:
        raise ValidationFailed(
            "the extra features have no {column} column",
            field=KEY,
            key="extra_features_no_key",
            params={"column": KEY},
        )
    clash = [c for c in extra.column_names if c != KEY and c in features.column_names]
    if clash:
        raise ValidationFailed(
            "the extra feature {name!r} is already a feature column",
            field=clash[0],
            hint="rename it",
            key="extra_feature_clash",
            params={"name": clash[0]},
        )
    ids = pc.cast(extra.column(KEY), pa.int64())
    if pc.count_distinct(ids).as_py() != extra.num_rows:
        raise ValidationFailed(
            "the extra features repeat a {column}",
            field=KEY,
            hint="give one row per customer",
            key="extra_features_repeat",
            params={"column": KEY},
        )
    position = pc.index_in(pc.cast(features.column(KEY), pa.int64()), value_set=ids)
    for name in extra.column_names:
        if name != KEY:
            features = features.append_column(name, pc.take(extra.column(name), position))
    return features


def feature_table(
    con: Any,
    src: Any,
    moment: datetime,
    *,
    rules: Rules,
    horizon_days: int = 90,
    extra: Any | None = None,
    labelled: bool = False,
) -> pa.Table:
    """Execute :func:`~rapport.analytics.churn_features.churn_features` at ``moment`` (with
    :func:`~rapport.analytics.churn_features.churn_labels` inner-joined when ``labelled``)
    on ``con`` (an :class:`~rapport.analytics.connect.Engine` or an Ibis backend), join
    ``extra`` (:func:`with_extra`) and order the rows by ``customer_id``."""
    from rapport.analytics.churn_features import churn_features, churn_labels
    from rapport.analytics.connect import Engine
    from rapport.analytics.metrics import execute

    expr = churn_features(src, moment, rules=rules, horizon_days=horizon_days)
    if labelled:
        labels = churn_labels(src, moment, horizon_days=horizon_days)
        labels = labels.rename(_label_id=KEY)
        expr = expr.inner_join(labels, expr.customer_id == labels._label_id).drop("_label_id")
    table = execute(expr.order_by(KEY), con.con if isinstance(con, Engine) else con)
    return with_extra(table, extra)


# --- measures ----------------------------------------------------------------------------


def lift_table(y: np.ndarray, p: np.ndarray, groups: int = LIFT_GROUPS) -> list[dict[str, Any]]:
    """Rows sorted by predicted risk (highest first) cut into ``groups`` equal groups:
    ``decile`` (1 = riskiest), ``customers``, ``mean_predicted``, ``observed_rate``,
    ``lift`` (observed rate / overall rate) and ``cumulative_capture`` (share of all
    churners in this and the riskier groups)."""
    order = np.argsort(-p, kind="stable")
    base, total = y.mean(), y.sum()
    rows, caught = [], 0
    for i, idx in enumerate(np.array_split(order, groups), start=1):
        if idx.size == 0:
            continue
        caught += int(y[idx].sum())
        rows.append(
            {
                "decile": i,
                "customers": int(idx.size),
                "mean_predicted": float(p[idx].mean()),
                "observed_rate": float(y[idx].mean()),
                "lift": float(y[idx].mean() / base) if base > 0 else None,
                "cumulative_capture": float(caught / total) if total > 0 else None,
            }
        )
    return rows


def calibration_table(
    y: np.ndarray, p: np.ndarray, bins: int = CALIBRATION_BINS
) -> list[dict[str, Any]]:
    """Rows grouped by predicted probability in ``bins`` equal-width bins of [0, 1]:
    ``bin_start``, ``bin_end``, ``customers``, ``mean_predicted``, ``observed_rate``
    (empty bins are left out)."""
    index = np.minimum((p * bins).astype(int), bins - 1)
    rows = []
    for b in range(bins):
        mask = index == b
        if mask.any():
            rows.append(
                {
                    "bin_start": b / bins,
                    "bin_end": (b + 1) / bins,
                    "customers": int(mask.sum()),
                    "mean_predicted": float(p[mask].mean()),
                    "observed_rate": float(y[mask].mean()),
                }
            )
    return rows


@dataclass
class Scores:
    """The measures of one set of predictions against the test labels."""

    roc_auc: float
    pr_auc: float
    brier: float

    @classmethod
    def of(cls, y: np.ndarray, p: np.ndarray) -> Scores:
        """The scores of probabilities ``p`` for the 0/1 outcomes ``y``."""
        return cls(
            roc_auc=float(roc_auc_score(y, p)),
            pr_auc=float(average_precision_score(y, p)),
            brier=float(brier_score_loss(y, p)),
        )


@dataclass
class BacktestReport:
    """What a time-split backtest measured on the test cut-off.

    ``calibration_gap`` is ``|mean predicted - observed rate|`` over every test row;
    ``boosting`` holds the scores of a HistGradientBoostingClassifier fitted on the same
    features when it was asked for (a benchmark, not the shipped model).
    """

    model: Scores
    baseline: Scores
    base_rate: float
    train_base_rate: float
    train_rows: int
    test_rows: int
    mean_predicted: float
    calibration_gap: float
    lift: list[dict[str, Any]]
    calibration: list[dict[str, Any]]
    features: list[str]
    boosting: Scores | None = None
    train_cutoff: datetime | None = None
    test_cutoff: datetime | None = None
    horizon_days: int | None = None
    notes: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON-ready data (cut-offs as ISO text)."""
        out = asdict(self)
        for key in ("train_cutoff", "test_cutoff"):
            if out[key] is not None:
                out[key] = out[key].isoformat()
        return out


def _boosting_scores(train: pa.Table, test: pa.Table, names: list[str], label: str) -> Scores:
    from sklearn.ensemble import HistGradientBoostingClassifier

    def matrix(t: pa.Table) -> np.ndarray:
        return np.column_stack([column(t, n) for n in names])

    fit = HistGradientBoostingClassifier(random_state=0).fit(
        matrix(train), column(train, label, what="label")
    )
    return Scores.of(column(test, label, what="label"), fit.predict_proba(matrix(test))[:, 1])


def backtest(
    train: Any,
    test: Any,
    *,
    model: ChurnModel | None = None,
    label_column: str = DEFAULT_LABEL,
    baseline_feature: str = BASELINE_FEATURE,
    compare_boosting: bool = False,
) -> BacktestReport:
    """Fit ``model`` (default :class:`ChurnModel`) on ``train`` and measure it on ``test``.

    Parameters
    ----------
    train, test
        Executed tables (pyarrow or pandas) with the features and ``label_column``, at the
        training and the later test cut-off (see the module for why they must not overlap).
    model
        The model to fit (its options and features are kept); it is fitted in place, so
        the caller keeps the fitted model. Default a new :class:`ChurnModel`.
    baseline_feature
        The single feature of the baseline logistic model.
    compare_boosting
        Also fit scikit-learn's HistGradientBoostingClassifier on the same features and
        report its scores in ``boosting``.

    Returns
    -------
    BacktestReport
    """
    train, test = as_arrow(train), as_arrow(test)
    model = (model or ChurnModel()).fit(train, label_column=label_column)
    y = column(test, label_column, what="label").astype(np.int64)
    p = model.predict_proba(test)
    base = ChurnModel([baseline_feature], knot_quantiles=()).fit(train, label_column)
    report = BacktestReport(
        model=Scores.of(y, p),
        baseline=Scores.of(y, base.predict_proba(test)),
        base_rate=float(y.mean()),
        train_base_rate=float(model.training_["base_rate"]),
        train_rows=int(train.num_rows),
        test_rows=int(test.num_rows),
        mean_predicted=float(p.mean()),
        calibration_gap=float(abs(p.mean() - y.mean())),
        lift=lift_table(y, p),
        calibration=calibration_table(y, p),
        features=list(model.features_),
    )
    if compare_boosting:
        report.boosting = _boosting_scores(train, test, model.features_, label_column)
    return report


def run_backtest(
    engine_or_con: Any,
    src: Any,
    as_of: datetime,
    *,
    rules: Rules,
    horizon_days: int | Duration = 90,
    extra: ExtraSource | None = None,
    model: ChurnModel | None = None,
    compare_boosting: bool = False,
) -> BacktestReport:
    """Build, execute and backtest the churn tables of the data up to ``as_of``.

    The test cut-off is ``t2 = as_of - h`` and the training cut-off ``t1 = t2 - h``, so
    the test labels end at ``as_of`` and the training labels at ``t2``.

    Parameters
    ----------
    engine_or_con
        A :class:`rapport.analytics.connect.Engine` or an Ibis backend running ``src``.
    src
        The canonical tables (:class:`rapport.analytics.sources.Sources`).
    as_of
        The end of the data, naive UTC.
    rules
        Business rules.
    horizon_days
        The horizon ``h``: whole days or a :class:`~rapport.models.units.Duration`.
    extra
        ``extra(cut_off) -> pyarrow.Table``: extra features known at a cut-off
        (``customer_id`` plus e.g. ``p_alive`` from a model fitted on the data before
        it); it is called for both cut-offs. A single table computed at ``as_of`` would
        leak the test period into training, hence a function.
    model, compare_boosting
        As in :func:`backtest`.
    """
    days = horizon_in_days(horizon_days)
    h = timedelta(days=days)
    test_cutoff = as_of - h
    train_cutoff = test_cutoff - h
    tables = [
        feature_table(
            engine_or_con,
            src,
            cut,
            rules=rules,
            horizon_days=days,
            extra=extra(cut) if extra is not None else None,
            labelled=True,
        )
        for cut in (train_cutoff, test_cutoff)
    ]
    report = backtest(*tables, model=model, compare_boosting=compare_boosting)
    return replace(report, train_cutoff=train_cutoff, test_cutoff=test_cutoff, horizon_days=days)
