"""Input tables and the per-feature basis of the churn model.

Each feature ``x`` becomes a few columns that an additive logistic model can weigh:

1. a **heavy-tailed** feature is put on a signed log scale, ``u = sign(x) * ln(1 + |x|)``
   (``transform = "log"``); the others stay as they are (``"identity"``). A feature is
   heavy-tailed when its training values reach further than :data:`TAIL_RATIO`
   interquartile ranges from the median (``max(q99 - q50, q50 - q01) > 4 * IQR``) or
   when its interquartile range is 0 (mostly one value, as counts of rare events):
   money, counts, ratios and trends usually are, the 0–100 degrees usually are not.
   Without it the last spline segment of a long tail turns a few extreme customers
   into extreme logits;
2. a missing value is replaced by the training median (``fill``), and a **missing
   indicator** column (1 where ``x`` was null) is added when training had both missing
   and present values;
3. ``u`` is clipped to ``[lo, hi]``, its 1st and 99th training percentiles, so a single
   extreme customer cannot dominate;
4. the clipped value enters as a **piecewise-linear spline**: ``u`` itself plus one hinge
   ``max(0, u - k)`` per knot ``k``, the knots at training quantiles (20/40/60/80 % by
   default; knots closer than 1 % of ``hi - lo`` to each other or to the bounds are
   dropped). The feature's effect on the log-odds is then any continuous
   piecewise-linear curve through those knots, flat beyond the clipping bounds;
5. every column is standardized with its training mean and standard deviation.

All of it is plain numbers (``transform``, ``fill``, ``lo``, ``hi``, ``knots``, means,
scales), so a fitted model is saved as JSON and reproduces its predictions exactly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from rapport.errors import ValidationFailed

#: Interior knots at these training quantiles.
KNOT_QUANTILES = (0.2, 0.4, 0.6, 0.8)
#: Values are clipped to these training quantiles.
CLIP_QUANTILES = (0.01, 0.99)
#: A feature reaching further than this many IQRs from its median gets the log scale.
TAIL_RATIO = 4.0
#: Knots closer than this share of ``hi - lo`` (to each other or the bounds) are dropped.
MIN_KNOT_SPACING = 0.01
TRANSFORMS = ("identity", "log")
#: The column that identifies a row (never a feature).
KEY = "customer_id"


def as_arrow(table: Any) -> pa.Table:
    """``table`` (a :class:`pyarrow.Table` or a pandas DataFrame) as a pyarrow Table."""
    if isinstance(table, pa.Table):
        return table
    try:
        import pandas as pd
    except ImportError:  # pragma: no cover - pandas is a dependency
        pd = None
    if pd is not None and isinstance(table, pd.DataFrame):
        return pa.Table.from_pandas(table, preserve_index=False)
    raise TypeError(  # the calling code's mistake, not a person's
        f"expected a pyarrow Table or a pandas DataFrame, not {type(table).__name__}: pass "
        "the executed feature table (e.g. rapport.analytics.metrics.execute(...))"
    )


def is_numeric(dtype: pa.DataType) -> bool:
    """Whether a column of ``dtype`` can be a feature (numbers and booleans)."""
    return (
        pa.types.is_integer(dtype)
        or pa.types.is_floating(dtype)
        or pa.types.is_decimal(dtype)
        or pa.types.is_boolean(dtype)
    )


def numeric_columns(table: pa.Table, exclude: Sequence[str]) -> list[str]:
    """The columns of ``table`` usable as features, in table order, minus ``exclude``."""
    return [f.name for f in table.schema if f.name not in exclude and is_numeric(f.type)]


def column(table: pa.Table, name: str, *, what: str = "feature") -> np.ndarray:
    """Column ``name`` as float64 with NaN for null; refuses a missing, non-numeric or
    infinite column with :class:`ValidationFailed` naming it."""
    if name not in table.column_names:
        raise ValidationFailed(
            "the table has no {what} column {name!r}",
            field=name,
            hint="columns present: {columns}",
            key="features_no_column",
            params={"what": what, "name": name, "columns": ", ".join(table.column_names)},
            hint_key="columns_present.hint",
        )
    values = table.column(name)
    if not is_numeric(values.type):
        raise ValidationFailed(
            "{what} column {name!r} is {type}, not a number",
            field=name,
            value=str(values.type),
            hint="features must be numbers or booleans; encode categories first",
            key="features_not_number",
            params={"what": what, "name": name, "type": str(values.type)},
        )
    out = pc.cast(values, pa.float64()).to_numpy(zero_copy_only=False).astype(np.float64)
    if np.isinf(out).any():
        raise ValidationFailed(
            "{what} column {name!r} holds an infinite value",
            field=name,
            value=float(out[np.isinf(out)][0]),
            hint="use null for a value that is not known",
            key="features_infinite",
            params={"what": what, "name": name},
        )
    return out


@dataclass
class FeatureBasis:
    """The columns one feature contributes, with their standardization and weights.

    ``fill`` (on the raw scale) is None when training never saw a value (the feature then
    has no columns and contributes nothing); ``lo``, ``hi`` and ``knots`` are on the
    ``transform``'s scale.
    """

    name: str
    transform: str
    fill: float | None
    lo: float
    hi: float
    knots: list[float]
    missing_indicator: bool
    mean: list[float] = field(default_factory=list)
    scale: list[float] = field(default_factory=list)
    coef: list[float] = field(default_factory=list)

    @property
    def kinds(self) -> list[str]:
        """The kind of each raw column, in order."""
        if self.fill is None:
            return []
        kinds = ["linear"] if self.hi > self.lo else []
        kinds += ["hinge"] * len(self.knots)
        return kinds + (["missing"] if self.missing_indicator else [])

    def raw(self, x: np.ndarray) -> np.ndarray:
        """The unstandardized basis columns of ``x`` (rows × columns)."""
        kinds = self.kinds
        if not kinds or self.fill is None:
            return np.zeros((len(x), 0))
        missing = np.isnan(x)
        filled = transform(self.transform, np.where(missing, self.fill, x))
        clipped = np.clip(filled, self.lo, self.hi)
        cols = [clipped] if kinds[0] == "linear" else []
        cols += [np.maximum(clipped - k, 0.0) for k in self.knots]
        if self.missing_indicator:
            cols.append(missing.astype(np.float64))
        return np.column_stack(cols)

    def standardized(self, x: np.ndarray) -> np.ndarray:
        """The basis columns of ``x``, standardized with the training mean and scale."""
        raw = self.raw(x)
        return (raw - np.asarray(self.mean)) / np.asarray(self.scale)

    def contribution(self, x: np.ndarray) -> np.ndarray:
        """The feature's term of the logit for each value of ``x`` (0 at the training
        mean of its columns)."""
        if not self.coef:
            return np.zeros(len(x))
        return self.standardized(x) @ np.asarray(self.coef)

    def to_dict(self) -> dict[str, Any]:
        """The basis as JSON-ready data (one entry per column: kind, mean, scale, weight)."""
        return {
            "name": self.name,
            "transform": self.transform,
            "fill": self.fill,
            "lo": self.lo,
            "hi": self.hi,
            "knots": list(self.knots),
            "missing_indicator": self.missing_indicator,
            "columns": [
                {"kind": k, "mean": m, "scale": s, "coef": c}
                for k, m, s, c in zip(self.kinds, self.mean, self.scale, self.coef, strict=True)
            ],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FeatureBasis:
        """The basis :meth:`to_dict` wrote."""
        cols = data["columns"]
        if data["transform"] not in TRANSFORMS:
            raise ValidationFailed(
                "unknown feature transform {transform!r}",
                field="transform",
                hint="refit the model with `rapport models fit`",
                key="feature_transform_unknown",
                params={"transform": data["transform"]},
                hint_key="model_refit.hint",
            )
        return cls(
            name=data["name"],
            transform=data["transform"],
            fill=None if data["fill"] is None else float(data["fill"]),
            lo=float(data["lo"]),
            hi=float(data["hi"]),
            knots=[float(k) for k in data["knots"]],
            missing_indicator=bool(data["missing_indicator"]),
            mean=[float(c["mean"]) for c in cols],
            scale=[float(c["scale"]) for c in cols],
            coef=[float(c["coef"]) for c in cols],
        )


def transform(kind: str, x: np.ndarray) -> np.ndarray:
    """``x`` on the scale ``kind`` (``"log"``: ``sign(x) * ln(1 + |x|)``)."""
    if kind == "log":
        return np.sign(x) * np.log1p(np.abs(x))
    return x


def choose_transform(present: np.ndarray) -> str:
    """``"log"`` for heavy-tailed training values (see the module), else ``"identity"``."""
    q01, q25, q50, q75, q99 = np.quantile(present, (0.01, 0.25, 0.5, 0.75, 0.99))
    reach = max(q99 - q50, q50 - q01)
    iqr = q75 - q25
    if reach == 0:
        return "identity"
    return "log" if iqr == 0 or reach > TAIL_RATIO * iqr else "identity"


def fit_basis(
    name: str,
    x: np.ndarray,
    *,
    knot_quantiles: Sequence[float] = KNOT_QUANTILES,
    clip_quantiles: tuple[float, float] = CLIP_QUANTILES,
) -> FeatureBasis:
    """The basis of one feature from its training values ``x`` (NaN = missing); means and
    scales are set, coefficients are left empty for the model to fill."""
    present = x[~np.isnan(x)]
    if present.size == 0:
        return FeatureBasis(name, "identity", None, 0.0, 0.0, [], False)
    kind = choose_transform(present)
    u = transform(kind, present)
    lo, hi = (float(v) for v in np.quantile(u, clip_quantiles))
    clipped = np.clip(u, lo, hi)
    tol = MIN_KNOT_SPACING * (hi - lo)
    knots: list[float] = []
    for k in sorted(float(v) for v in np.quantile(clipped, knot_quantiles)):
        if k - lo > tol and hi - k > tol and (not knots or k - knots[-1] > tol):
            knots.append(k)
    missing = bool(present.size < x.size)
    basis = FeatureBasis(name, kind, float(np.median(present)), lo, hi, knots, missing)
    raw = basis.raw(x)
    mean, scale = raw.mean(axis=0), raw.std(axis=0)
    # Knots lie strictly inside (lo, hi) and the indicator only exists with both kinds of
    # rows, so no column is constant; a scale of 1 keeps a degenerate one harmless (0).
    scale = np.where(scale > 0, scale, 1.0)
    basis.mean = [float(v) for v in mean]
    basis.scale = [float(v) for v in scale]
    return basis


def labels(table: pa.Table, name: str) -> np.ndarray:
    """The label column ``name`` as 0/1 integers; refuses nulls and other values."""
    y = column(table, name, what="label")
    if np.isnan(y).any():
        raise ValidationFailed(
            "the label column {name!r} has nulls",
            field=name,
            hint="label every training row (churn_labels covers every buyer before the cut-off)",
            key="label_nulls",
            params={"name": name},
        )
    if not np.isin(y, (0.0, 1.0)).all():
        raise ValidationFailed(
            "the label column {name!r} must hold booleans or 0/1",
            field=name,
            value=float(y[~np.isin(y, (0.0, 1.0))][0]),
            key="label_not_binary",
            params={"name": name},
        )
    return y.astype(np.int64)


def contributions(bases: list[FeatureBasis], matrix: dict[str, np.ndarray], n: int) -> np.ndarray:
    """Each feature's term of the logit (rows × features) for ``matrix`` (name → values)."""
    if not bases:
        return np.zeros((n, 0))
    return np.column_stack([b.contribution(matrix[b.name]) for b in bases])
