"""How the four degrees relate in one score snapshot.

Two views of the seeds' chain satisfaction → loyalty → engagement → advocacy:

* the Pearson correlation matrix of the four degrees, each pair over the customers that
  have both values (pairwise deletion, population formula);
* for each link of the chain, the share of the first degree's *high scorers* that are also
  high on the next degree, beside the base rate: the share of all customers with both
  values that are high on the next degree. A lift above 1 means the link holds.

A customer is a high scorer on a degree when the value is at least the degree's top-quartile
cut (the 75th percentile of the known values, linear interpolation), or at least ``high``
when an absolute threshold (0–100) is given.

The figures are computed with numpy on the snapshot's four degree columns fetched once
(:func:`snapshot_degrees`, an engine-blind Ibis selection): four columns of one row per
customer are small next to the store, and numpy gives the quartile cut and the pairwise
statistics identically on every engine.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from itertools import pairwise
from typing import TYPE_CHECKING, Any

import ibis.expr.types as ir
import numpy as np
import pyarrow as pa

from rapport.analytics.degrees import DEGREES

if TYPE_CHECKING:
    from rapport.analytics.sources import Sources

#: The chain the seeds claim, as consecutive links.
CHAIN: tuple[str, ...] = ("satisfaction", "loyalty", "engagement", "advocacy")
#: Quantile of a degree's known values from which a customer is a high scorer.
HIGH_QUANTILE = 0.75


@dataclass(frozen=True)
class Link:
    """One link ``source → target`` of the chain.

    Attributes
    ----------
    source, target : str
        The two degrees.
    high_source : int
        Customers with both values that are high on ``source``.
    share : float or None
        Share (0–1) of those that are also high on ``target``; None without any.
    base_rate : float or None
        Share (0–1) of all customers with both values that are high on ``target``.
    """

    source: str
    target: str
    high_source: int
    share: float | None
    base_rate: float | None

    @property
    def lift(self) -> float | None:
        """``share / base_rate``; None when either is missing or the base rate is 0."""
        if self.share is None or not self.base_rate:
            return None
        return self.share / self.base_rate


@dataclass(frozen=True)
class Relations:
    """The correlation matrix and the chain of one snapshot.

    Attributes
    ----------
    degrees : tuple of str
        Row and column order of ``correlation`` and ``pairs``.
    correlation : numpy.ndarray
        4 × 4 Pearson correlations; NaN where a pair has fewer than two customers or no
        variance.
    pairs : numpy.ndarray
        4 × 4 counts of customers with both values.
    cuts : dict of str to float or None
        The high-scorer cut of each degree.
    links : tuple of Link
        The chain's links in order.
    """

    degrees: tuple[str, ...]
    correlation: np.ndarray
    pairs: np.ndarray
    cuts: dict[str, float | None]
    links: tuple[Link, ...]

    def correlation_table(self) -> pa.Table:
        """The matrix as an Arrow table: a ``degree`` column and one column per degree."""
        columns: dict[str, list[Any]] = {"degree": list(self.degrees)}
        for j, name in enumerate(self.degrees):
            columns[name] = [_num(v) for v in self.correlation[:, j]]
        return pa.table(columns)

    def chain_table(self) -> pa.Table:
        """The links as an Arrow table (``source``, ``target``, ``high_source``, ``share``,
        ``base_rate``, ``lift``)."""
        return pa.Table.from_pylist(
            [
                {
                    "source": link.source,
                    "target": link.target,
                    "high_source": link.high_source,
                    "share": link.share,
                    "base_rate": link.base_rate,
                    "lift": link.lift,
                }
                for link in self.links
            ]
        )


def _num(value: float) -> float | None:
    return None if np.isnan(value) else float(value)


def snapshot_degrees(snap: ir.Table) -> ir.Table:
    """The four degree columns of a snapshot table (``customer_scores`` rows of one date)."""
    return snap.select(*DEGREES)


def _columns(snapshot: pa.Table) -> dict[str, np.ndarray]:
    out = {}
    for name in DEGREES:
        column = snapshot.column(name).cast(pa.float64())
        out[name] = column.to_numpy(zero_copy_only=False).astype(float)  # nulls → NaN
    return out


def pearson(x: np.ndarray, y: np.ndarray) -> tuple[float, int]:
    """Pearson's r over the positions where both ``x`` and ``y`` are known, and their count.

    Returns NaN for r with fewer than two pairs or a constant side.
    """
    both = ~np.isnan(x) & ~np.isnan(y)
    n = int(both.sum())
    if n < 2:
        return float("nan"), n
    a, b = x[both] - x[both].mean(), y[both] - y[both].mean()
    denom = np.sqrt((a * a).sum() * (b * b).sum())
    if denom == 0:
        return float("nan"), n
    return float(np.clip((a * b).sum() / denom, -1.0, 1.0)), n


def relations(snapshot: pa.Table, *, high: float | None = None) -> Relations:
    """Correlations of the four degrees and the high-scorer chain of one snapshot.

    Parameters
    ----------
    snapshot : pyarrow.Table
        One row per customer with the columns ``satisfaction``, ``loyalty``,
        ``engagement``, ``advocacy`` (0–100 or null), e.g. the executed
        :func:`snapshot_degrees` of :func:`rapport.analytics.snapshots.snapshot`.
    high : float, optional
        Absolute threshold for a high scorer; default: each degree's top-quartile cut.

    Returns
    -------
    Relations
    """
    values = _columns(snapshot)
    k = len(DEGREES)
    corr = np.full((k, k), np.nan)
    pairs = np.zeros((k, k), dtype=int)
    for i, a in enumerate(DEGREES):
        for j, b in enumerate(DEGREES):
            if j < i:
                corr[i, j], pairs[i, j] = corr[j, i], pairs[j, i]
                continue
            r, n = pearson(values[a], values[b])
            pairs[i, j] = n
            corr[i, j] = 1.0 if i == j and n >= 2 and not np.isnan(r) else r
    cuts: dict[str, float | None] = {}
    for name in DEGREES:
        known = values[name][~np.isnan(values[name])]
        if high is not None:
            cuts[name] = float(high)
        else:
            cuts[name] = float(np.quantile(known, HIGH_QUANTILE)) if known.size else None
    links = []
    for source, target in pairwise(CHAIN):
        x, y = values[source], values[target]
        both = ~np.isnan(x) & ~np.isnan(y)
        cs, ct = cuts[source], cuts[target]
        if not both.any() or cs is None or ct is None:
            links.append(Link(source, target, 0, None, None))
            continue
        high_x = both & (np.nan_to_num(x, nan=-np.inf) >= cs)
        high_y = both & (np.nan_to_num(y, nan=-np.inf) >= ct)
        n_high = int(high_x.sum())
        share = float((high_x & high_y).sum() / n_high) if n_high else None
        base = float(high_y.sum() / both.sum())
        links.append(Link(source, target, n_high, share, base))
    return Relations(tuple(DEGREES), corr, pairs, cuts, tuple(links))


def snapshot_relations(
    src: Sources, as_of: dt.date | None = None, *, high: float | None = None, con: Any = None
) -> Relations | None:
    """:func:`relations` of the snapshot dated ``as_of`` (default: the latest) of ``src``
    (a :class:`rapport.analytics.sources.Sources`), run on ``con`` (an Ibis backend;
    default: the one the tables are bound to); None when there is no such snapshot."""
    from rapport.analytics.metrics import execute
    from rapport.analytics.snapshots import snapshot

    table = execute(snapshot_degrees(snapshot(src, as_of)), con)
    if table.num_rows == 0:
        return None
    return relations(table, high=high)
