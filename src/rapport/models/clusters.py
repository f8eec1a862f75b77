"""Behavioural segmentation beyond RFM: k-means clusters of standardized behaviour.

Features per customer (one snapshot row joined to the customer's profile):

========================  ==============================================================
``recency_days``          days since the last purchase; never bought → the largest seen
``frequency``             purchases in the RFM window; none → 0
``monetary``              ``log1p`` of the window's revenue; none → 0
``satisfaction``          0–100; unknown → the median of the known values
``engagement``            0–100; unknown → the median
``advocacy``              0–100; unknown → the median
``tenure_days``           days from the customer's creation to the snapshot's end
========================  ==============================================================

Each feature is standardized (z-scores; a constant feature becomes 0). ``k`` is chosen
among 2..8 by the **silhouette** (the criterion, reported with its value), with bounded
cost whatever the number of customers: each candidate KMeans (``n_init=10``) is fitted on
a seeded random sample of at most :data:`FIT_SAMPLE` customers, and its silhouette —
quadratic in the rows it is computed on — on a seeded sample of at most
:data:`SILHOUETTE_SAMPLE` of them. KMeans is then fitted on every customer with the
chosen ``k``.

**k = 2 is left out when it only splits buyers from non-buyers**: when at least
:data:`BUYER_SPLIT_AGREEMENT` of the customers fall on the side of the two clusters that
matches whether they bought in the RFM window (``frequency > 0``). That partition is
what the RFM segments and lifecycle stages already say, and on behaviour data the
silhouette is often flat across ``k`` (the 20,000-customer demo: 0.28 at k = 2, 0.25–0.26
for 3..8), so it would win by a hair and hide the segments a person would name (the
unhappy, the advocates, the new, the most frequent buyers).

A cluster is described by its *distinguishing features*: those whose cluster mean z-score
is beyond ±0.5, strongest first ("high frequency, low recency days"); a cluster with none
is "close to average". Demographic breakdowns give, per cluster, the share of its
customers in each age band, gender, city and income band.

The data is read with one engine-blind Ibis expression (:func:`features_expr`); the model
runs on the fetched Arrow table.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

from rapport.i18n.labels import t

#: Feature names in model order.
FEATURES: tuple[str, ...] = (
    "recency_days",
    "frequency",
    "monetary",
    "satisfaction",
    "engagement",
    "advocacy",
    "tenure_days",
)
#: Candidate numbers of clusters.
K_RANGE = range(2, 9)
#: The criterion that chooses ``k`` (higher is better).
CRITERION = "silhouette"
#: Customers the candidate KMeans are fitted on, at most (a seeded random sample).
FIT_SAMPLE = 5_000
#: Customers in the silhouette sample, at most (a seeded sample of the fit sample): the
#: silhouette costs the square of this.
SILHOUETTE_SAMPLE = 3_000
#: k = 2 is left out when its clusters agree with "bought in the RFM window" on at least
#: this share of the customers.
BUYER_SPLIT_AGREEMENT = 0.8
#: A feature distinguishes a cluster when its mean z-score is beyond ± this.
DISTINCT_Z = 0.5
RANDOM_STATE = 0
#: Profile columns of the demographic breakdown.
DEMOGRAPHICS = ("age_band", "gender", "city", "income_band")
#: Cities a breakdown shows one by one, the largest (:func:`demography_grid`).
CITIES_SHOWN = 8


@dataclass
class Cluster:
    """One cluster: its id, size, share (0–1), mean z-score per feature and its
    distinguishing features (:func:`describe`)."""

    id: int
    size: int
    share: float
    z: dict[str, float]
    distinguishing: list[tuple[str, float]]

    def description(self, locale: str) -> str:
        """The cluster for people in ``locale``: its distinguishing features, e.g. "high
        frequency, low recency days" (:func:`description`)."""
        return description(self.distinguishing, locale)


@dataclass
class Clustering:
    """The fitted segmentation of one snapshot.

    Attributes
    ----------
    k : int
        Number of clusters chosen.
    silhouettes : dict of int to float
        Silhouette score of each candidate ``k`` (on the sample; the criterion).
    excluded : dict of int to str
        Candidates left out and why (``k = 2`` splitting buyers from non-buyers).
    criterion : str
        The criterion ``k`` was chosen by (:data:`CRITERION`).
    sample : int
        Customers the silhouettes were computed on.
    customer_ids : numpy.ndarray
        Customers in row order.
    labels : numpy.ndarray
        Cluster of each customer (0..k-1, largest cluster first).
    clusters : list of Cluster
    demographics : dict of str to pyarrow.Table
        Per demographic column: ``cluster``, ``value``, ``customers``, ``share`` (of the
        cluster's customers).
    """

    k: int
    silhouettes: dict[int, float]
    customer_ids: np.ndarray
    labels: np.ndarray
    clusters: list[Cluster] = field(default_factory=list)
    demographics: dict[str, pa.Table] = field(default_factory=dict)
    excluded: dict[int, str] = field(default_factory=dict)
    criterion: str = CRITERION
    sample: int = 0

    @property
    def score(self) -> float:
        """The criterion's value at the chosen ``k``."""
        return self.silhouettes[self.k]

    def summary(self) -> dict[str, Any]:
        """The clustering without its per-customer arrays, as plain values (what a worker
        process sends back, and what ``rapport clusters --format json`` reports).

        Returns
        -------
        dict
            ``k``, ``criterion``, ``score`` (the criterion at ``k``), ``silhouettes`` (per
            candidate ``k``), ``sample``, ``excluded`` (``k`` → why), ``customers``,
            ``clusters`` (per cluster: ``id``, ``size``, ``share``, ``z`` per feature and
            ``distinguishing``, a list of ``[feature, z]``) and ``demographics`` (per
            column of :data:`DEMOGRAPHICS`: the rows of :func:`breakdown`).
        """
        return {
            "k": self.k,
            "criterion": self.criterion,
            "score": self.score,
            "silhouettes": dict(sorted(self.silhouettes.items())),
            "sample": self.sample,
            "excluded": dict(self.excluded),
            "customers": len(self.labels),
            "clusters": [
                {
                    "id": c.id,
                    "size": c.size,
                    "share": float(c.share),
                    "z": dict(c.z),
                    "distinguishing": [[name, v] for name, v in c.distinguishing],
                }
                for c in self.clusters
            ],
            "demographics": {name: table.to_pylist() for name, table in self.demographics.items()},
        }


def features_expr(src: Any, as_of: dt.date | None = None) -> Any:
    """The Ibis expression of the snapshot rows joined to the customers' profiles: the
    columns :func:`cluster_customers` reads (the age band on the snapshot's date,
    :func:`rapport.analytics.demographics.age_band`)."""
    from rapport.analytics.demographics import age_band
    from rapport.analytics.snapshots import snapshot

    snap = snapshot(src, as_of)
    c = src.customers
    joined = snap.left_join(c, snap.customer_id == c.id)
    return joined.select(
        customer_id=snap.customer_id,
        as_of=snap.as_of,
        recency_days=snap.recency_days,
        frequency=snap.frequency,
        monetary=snap.monetary.cast("float64"),
        satisfaction=snap.satisfaction,
        engagement=snap.engagement,
        advocacy=snap.advocacy,
        created_at=c.created_at,
        age_band=age_band(c.birthday, snap.as_of),
        gender=c.gender,
        city=c.city,
        income_band=c.income_band,
    )


def _float(table: pa.Table, name: str) -> np.ndarray:
    return table.column(name).cast(pa.float64()).to_numpy(zero_copy_only=False).astype(float)


def feature_matrix(table: pa.Table) -> np.ndarray:
    """The raw (unstandardized, imputed) feature matrix of :data:`FEATURES`."""
    n = table.num_rows
    cols = {}
    recency = _float(table, "recency_days")
    known = recency[~np.isnan(recency)]
    cols["recency_days"] = np.where(np.isnan(recency), known.max() if known.size else 0, recency)
    cols["frequency"] = np.nan_to_num(_float(table, "frequency"), nan=0.0)
    cols["monetary"] = np.log1p(np.clip(np.nan_to_num(_float(table, "monetary"), nan=0.0), 0, None))
    for name in ("satisfaction", "engagement", "advocacy"):
        v = _float(table, name)
        known = v[~np.isnan(v)]
        cols[name] = np.where(np.isnan(v), np.median(known) if known.size else 0.0, v)
    as_of = table.column("as_of").to_pylist()
    created = table.column("created_at").to_pylist()
    tenure = np.zeros(n)
    for i, (day, at) in enumerate(zip(as_of, created, strict=True)):
        if day is not None and at is not None:
            tenure[i] = max((day + dt.timedelta(days=1) - at.date()).days, 0)
    cols["tenure_days"] = tenure
    return np.column_stack([cols[name] for name in FEATURES])


def standardize(x: np.ndarray) -> np.ndarray:
    """Z-scores per column; a constant column becomes 0."""
    mean, std = x.mean(axis=0), x.std(axis=0)
    return np.divide(x - mean, std, out=np.zeros_like(x), where=std > 0)


def feature_label(name: str, locale: str) -> str:
    """The name of a clustering feature in ``locale``."""
    return t(f"cluster.feature.{name}", locale)


def describe(z: dict[str, float]) -> list[tuple[str, float]]:
    """The distinguishing features of a cluster's mean z-scores: those beyond
    ±:data:`DISTINCT_Z`, strongest first."""
    return sorted(
        ((name, v) for name, v in z.items() if abs(v) > DISTINCT_Z), key=lambda p: -abs(p[1])
    )


def description(picked: list[tuple[str, float]], locale: str) -> str:
    """Distinguishing features in ``locale``: "high frequency, low recency days", or "close
    to average" for none."""
    if not picked:
        return t("cluster.close_to_average", locale)
    parts = (
        t("cluster.high" if v > 0 else "cluster.low", locale).format(
            feature=feature_label(name, locale)
        )
        for name, v in picked
    )
    return t("cluster.separator", locale).join(parts)


def _sample(n: int, size: int, rng: np.random.Generator) -> np.ndarray:
    """Sorted row numbers of a uniform sample of ``size`` of ``n`` rows (all when fewer)."""
    if n <= size:
        return np.arange(n)
    return np.sort(rng.choice(n, size, replace=False))


def _kmeans(k: int, random_state: int) -> Any:
    from sklearn.cluster import KMeans

    return KMeans(n_clusters=k, n_init=10, random_state=random_state)


def buyer_agreement(labels: np.ndarray, buyers: np.ndarray) -> float:
    """The share of customers on the side of a two-cluster partition that matches
    ``buyers`` (either way round): 1 = the clusters are the buyers and the others."""
    same = float(np.mean(labels == buyers.astype(labels.dtype)))
    return max(same, 1.0 - same)


def choose_k(
    z: np.ndarray, *, buyers: np.ndarray | None = None, random_state: int = RANDOM_STATE
) -> tuple[dict[int, float], dict[int, str], int]:
    """The silhouette of each ``k`` of :data:`K_RANGE` the data allows, the candidates
    left out (with why) and the silhouette sample's size.

    KMeans is fitted on a seeded sample of at most :data:`FIT_SAMPLE` rows, the
    silhouette computed on a seeded sample of at most :data:`SILHOUETTE_SAMPLE` of them.
    With ``buyers`` (who bought in the RFM window, per row), ``k = 2`` is left out when
    its clusters agree with it on at least :data:`BUYER_SPLIT_AGREEMENT` of the sample.
    """
    from sklearn.metrics import silhouette_score

    rng = np.random.default_rng(random_state)
    fit_rows = _sample(len(z), FIT_SAMPLE, rng)
    fit = z[fit_rows]
    score_rows = _sample(len(fit), SILHOUETTE_SAMPLE, rng)
    scored = fit[score_rows]
    distinct = len(np.unique(fit, axis=0))
    scores: dict[int, float] = {}
    excluded: dict[int, str] = {}
    for k in K_RANGE:
        if k >= distinct:
            break
        labels = _kmeans(k, random_state).fit_predict(fit)
        if len(set(labels[score_rows])) < 2:
            continue
        scores[k] = float(silhouette_score(scored, labels[score_rows]))
        if k == 2 and buyers is not None:
            agreement = buyer_agreement(labels, buyers[fit_rows])
            if agreement >= BUYER_SPLIT_AGREEMENT:
                excluded[k] = (
                    f"splits buyers from non-buyers ({agreement:.0%} of customers on the "
                    "side of whether they bought in the RFM window)"
                )
    return scores, excluded, len(scored)


def breakdown(labels: np.ndarray, values: list[Any]) -> pa.Table:
    """Per cluster and value: customers and share (0–1) of the cluster's customers."""
    counts: dict[tuple[int, Any], int] = {}
    for lab, value in zip(labels.tolist(), values, strict=True):
        counts[(lab, value)] = counts.get((lab, value), 0) + 1
    sizes = np.bincount(labels) if len(labels) else np.array([], dtype=int)
    rows = [
        {"cluster": lab, "value": value, "customers": n, "share": n / int(sizes[lab])}
        for (lab, value), n in sorted(counts.items(), key=lambda p: (p[0][0], -p[1]))
    ]
    schema = pa.schema(
        [
            ("cluster", pa.int64()),
            ("value", pa.string()),
            ("customers", pa.int64()),
            ("share", pa.float64()),
        ]
    )
    return pa.Table.from_pylist(
        [{**r, "value": None if r["value"] is None else str(r["value"])} for r in rows],
        schema=schema,
    )


def cluster_customers(table: pa.Table, *, random_state: int = RANDOM_STATE) -> Clustering:
    """Cluster the customers of one snapshot (the executed :func:`features_expr`).

    Parameters
    ----------
    table : pyarrow.Table
        One row per customer with the columns of :func:`features_expr`.
    random_state : int
        Seed of the silhouette sample and of KMeans.

    Returns
    -------
    Clustering
        Clusters numbered by size, largest first.

    Raises
    ------
    ValueError
        With fewer than three customers with distinct features.
    """
    # loaded before their threads are limited (threadpoolctl limits loaded libraries)
    import sklearn.cluster
    import sklearn.metrics  # noqa: F401
    from threadpoolctl import threadpool_limits

    x = feature_matrix(table)
    z = standardize(x)
    # One thread for OpenMP and BLAS: on a small matrix KMeans's threads spin far more
    # than they work on a busy machine (0.4 s with one thread, 4.7 s with two, for one
    # fit on the 20,000-customer demo at a load average of 12).
    with threadpool_limits(limits=1):
        scores, excluded, sample = choose_k(
            z, buyers=x[:, FEATURES.index("frequency")] > 0, random_state=random_state
        )
        allowed = {key: v for key, v in scores.items() if key not in excluded} or scores
        if not allowed:
            raise ValueError("too few distinct customers to cluster")
        k = max(allowed, key=lambda key: (allowed[key], -key))
        raw = _kmeans(k, random_state).fit_predict(z)
    order = np.argsort(-np.bincount(raw, minlength=k), kind="stable")
    relabel = np.empty(k, dtype=int)
    relabel[order] = np.arange(k)
    labels = relabel[raw]
    n = len(labels)
    clusters = []
    for c in range(k):
        members = labels == c
        means = {name: float(v) for name, v in zip(FEATURES, z[members].mean(axis=0), strict=True)}
        clusters.append(Cluster(c, int(members.sum()), members.sum() / n, means, describe(means)))
    demo = {name: breakdown(labels, table.column(name).to_pylist()) for name in DEMOGRAPHICS}
    ids = table.column("customer_id").to_numpy(zero_copy_only=False)
    return Clustering(k, scores, ids, labels, clusters, demo, excluded, CRITERION, sample)


def snapshot_clusters(
    settings: Any, as_of: dt.date | None = None, *, engine: str | None = None
) -> Clustering | None:
    """:func:`cluster_customers` of the snapshot dated ``as_of`` (default: the latest) of
    the store ``settings`` name, read with the analytics engine ``engine`` (default: the
    configured one); None when there is no such snapshot. What ``rapport clusters`` and the
    web's Analysis page (in an analytics worker process) both run."""
    from rapport.analytics.connect import connect
    from rapport.analytics.metrics import execute
    from rapport.analytics.sources import Sources

    with connect(settings, engine=engine) as eng:
        table = execute(features_expr(Sources(eng), as_of), eng.con)
    if table.num_rows == 0:
        return None
    return cluster_customers(table)


def cluster_summary(settings: Any, rules: Any = None, *, as_of: dt.date) -> dict[str, Any] | None:
    """:meth:`Clustering.summary` of :func:`snapshot_clusters` (None without the snapshot):
    the signature of an analytics worker's task (:func:`rapport.workers.run_in_worker`)."""
    result = snapshot_clusters(settings, as_of)
    return None if result is None else result.summary()


def demography_grid(
    rows: list[dict[str, Any]], clusters: int, *, name: str
) -> tuple[list[Any], list[list[float]]]:
    """One demographic of a clustering as a grid: its values in the order shown and, per
    cluster (0..``clusters``-1), the share (0–1) of the cluster's customers with each.

    Parameters
    ----------
    rows : list of dict
        The :func:`breakdown` rows of the demographic ``name``.
    name : str
        The demographic: of ``city`` only the :data:`CITIES_SHOWN` with the most
        customers are kept.

    Returns
    -------
    tuple
        The values (age bands sorted, no value last; others as they come: the most
        frequent of the largest cluster first) and the shares, one row per cluster.
    """
    values = list(dict.fromkeys(r["value"] for r in rows))
    top = CITIES_SHOWN
    if name == "city" and len(values) > top:
        totals: dict[Any, int] = {}
        for r in rows:
            totals[r["value"]] = totals.get(r["value"], 0) + r["customers"]
        values = sorted(totals, key=lambda v: -totals[v])[:top]
    elif name == "age_band":
        values.sort(key=lambda v: (v is None, v or ""))
    shares = {(r["cluster"], r["value"]): r["share"] for r in rows}
    return values, [[shares.get((c, v), 0.0) for v in values] for c in range(clusters)]
