"""Distributions of one score snapshot for the analysis pages: the RFM grid (R score × F
score), the predicted CLV's distribution, the degrees' correlations and their chain; and
what the model registry holds about the latest fits.

Like :mod:`rapport.reports.snapshots`, each is a SQLAlchemy Core statement over the stored
snapshot (``customer_scores``) run in the caller's session, within the caller's
:class:`~rapport.access.CustomerScope`, deleted customers left out; both return aggregates
only (no customer is named), so a masked scope changes nothing in them.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy.orm import Session

from rapport.access import CustomerScope, Principal
from rapport.analytics.degrees import DEGREES
from rapport.analytics.relations import Relations
from rapport.config import Rules, Settings
from rapport.errors import ValidationFailed
from rapport.reports.snapshots import covered
from rapport.store import schema

_s = schema.customer_scores.c

#: Bins of the CLV distribution by default, and at most.
CLV_BINS = 10
MAX_CLV_BINS = 50


def _rows(
    session: Session, day: dt.date, scope: CustomerScope | None
) -> tuple[sa.FromClause, list[sa.ColumnElement[bool]]]:
    """The snapshot dated ``day``'s rows of the customers in ``scope``, not deleted: what
    to select from and the conditions (:func:`rapport.reports.snapshots.covered`)."""
    source, conditions = covered(session, schema.customer_scores, _s.customer_id, scope)
    return source, [_s.as_of == day, *conditions]


def rfm_grid(
    session: Session, *, day: dt.date, scope: CustomerScope | None = None
) -> list[dict[str, Any]]:
    """The customers of the snapshot dated ``day`` per (R score, F score) cell.

    Returns
    -------
    list of dict
        Per cell holding customers: ``r_score``, ``f_score``, ``customers`` and
        ``revenue`` (sum of ``monetary``, the RFM window's revenue); the highest R first,
        then F ascending. Customers without both scores are in no cell.
    """
    source, where = _rows(session, day, scope)
    stmt = (
        sa.select(
            _s.r_score,
            _s.f_score,
            sa.func.count().label("customers"),
            sa.func.coalesce(sa.func.sum(_s.monetary), 0).label("revenue"),
        )
        .select_from(source)
        .where(*where, _s.r_score.is_not(None), _s.f_score.is_not(None))
        .group_by(_s.r_score, _s.f_score)
    )
    rows = [
        {
            "r_score": int(r["r_score"]),
            "f_score": int(r["f_score"]),
            "customers": int(r["customers"]),
            "revenue": float(r["revenue"]),
        }
        for r in session.execute(stmt).mappings()
    ]
    rows.sort(key=lambda r: (-r["r_score"], r["f_score"]))
    return rows


def _edges(low: float, high: float, bins: int) -> list[float]:
    """``bins + 1`` edges of equal width, rounded to a readable step, covering
    ``low … high`` (from 0 when no value is negative)."""
    start = 0.0 if low >= 0 else low
    span = max(high - start, 1.0)
    raw = span / bins
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    start = math.floor(start / step) * step
    count = max(1, math.ceil((high - start) / step))
    if start + count * step <= high:  # the highest value falls inside the last bin
        count += 1
    return [start + i * step for i in range(count + 1)]


def clv_distribution(
    session: Session,
    *,
    day: dt.date,
    scope: CustomerScope | None = None,
    bins: int = CLV_BINS,
) -> list[dict[str, Any]]:
    """The predicted CLV of the snapshot dated ``day`` in bins of equal width.

    The edges are rounded to a step of 1, 2, 2.5 or 5 × a power of ten, so there are about
    ``bins`` bins (the last may be one more); a bin holds ``low <= clv < high``.

    Returns
    -------
    list of dict
        Per bin, lowest first: ``low``, ``high``, ``customers`` and ``clv`` (their predicted
        CLV summed). Empty when no customer in scope has a predicted CLV (a snapshot scored
        without the models).

    Raises
    ------
    ValidationFailed
        When ``bins`` is not 1 … :data:`MAX_CLV_BINS`.
    """
    if not 1 <= bins <= MAX_CLV_BINS:
        raise ValidationFailed(
            "bins {bins}",
            field="bins",
            hint="use 1 … {maximum} bins",
            key="clv_bins",
            params={"bins": bins, "maximum": MAX_CLV_BINS},
        )
    source, where = _rows(session, day, scope)
    where.append(_s.predicted_clv.is_not(None))
    # the lowest and the highest each from one end of the index on the snapshot's CLV,
    # walked until a customer in scope (a min() and max() over the join read every row)
    ends = [
        session.execute(
            sa.select(_s.predicted_clv).select_from(source).where(*where).order_by(o).limit(1)
        ).scalar()
        for o in (_s.predicted_clv.asc(), _s.predicted_clv.desc())
    ]
    low, high = ends
    if low is None or high is None:
        return []
    edges = _edges(float(low), float(high), bins)
    value = _s.predicted_clv
    index = sa.case(
        *((value < edge, i) for i, edge in enumerate(edges[1:-1])), else_=len(edges) - 2
    ).label("bin")
    stmt = (
        sa.select(index, sa.func.count().label("n"), sa.func.sum(value).label("clv"))
        .select_from(source)
        .where(*where)
        .group_by(index)
    )
    found = {int(r["bin"]): r for r in session.execute(stmt).mappings()}
    out = []
    for i in range(len(edges) - 1):
        row = found.get(i)
        out.append(
            {
                "low": edges[i],
                "high": edges[i + 1],
                "customers": int(row["n"]) if row else 0,
                "clv": float(row["clv"]) if row else 0.0,
            }
        )
    return out


#: The scores whose correlations :func:`degree_correlations` gives: the four degrees and
#: the relationship index.
CORRELATED = ("satisfaction", "loyalty", "engagement", "advocacy", "relationship_index")


def degree_correlations(
    session: Session, *, day: dt.date, scope: CustomerScope | None = None
) -> list[dict[str, Any]]:
    """How the four degrees and the relationship index relate in the snapshot dated
    ``day``: Pearson's correlation of each pair over the customers in scope for whom both
    are known (one query of sums, whatever the number of customers).

    Returns
    -------
    list of dict
        Per pair of :data:`CORRELATED` (``x`` before ``y`` in that order, and each with
        itself): ``x``, ``y``, ``customers`` (with both known) and ``r`` (−1 … 1; null
        with fewer than two customers or when either does not vary).
    """
    pairs = [(a, b) for i, a in enumerate(CORRELATED) for b in CORRELATED[i:]]
    # One group per pattern of known and unknown scores (at most 2⁵): inside a group each
    # score is known for every customer or for none, so plain sums of the values, squares
    # and products hold each pair's sums over the customers for whom both are known: 20
    # sums a customer, where a sum per pair and term with its own condition took 90.
    known = [_s[name].is_(None).label(f"null_{name}") for name in CORRELATED]
    sums: list[Any] = [sa.func.count().label("n")]
    for n, (a, b) in enumerate(pairs):
        sums.append(sa.func.sum(_s[a] * _s[b]).label(f"p{n}"))
    sums.extend(sa.func.sum(_s[name]).label(f"s_{name}") for name in CORRELATED)
    product = {pair: f"p{n}" for n, pair in enumerate(pairs)}
    source, where = _rows(session, day, scope)
    stmt = (
        sa.select(*known, *sums)
        .select_from(source)
        .where(*where)
        .group_by(*(_s[name].is_(None) for name in CORRELATED))
    )
    groups = [r._mapping for r in session.execute(stmt)]
    out = []
    for a, b in pairs:
        both = [g for g in groups if not g[f"null_{a}"] and not g[f"null_{b}"]]
        count = sum(int(g["n"]) for g in both)

        def total(key: str, rows: list[Any] = both) -> float:
            return math.fsum(float(g[key] or 0) for g in rows)

        sx, sy, sxy = total(f"s_{a}"), total(f"s_{b}"), total(product[a, b])
        sxx, syy = total(product[a, a]), total(product[b, b])
        r = None
        if count >= 2:
            cov = sxy - sx * sy / count
            vx = sxx - sx * sx / count
            vy = syy - sy * sy / count
            if vx > 1e-9 and vy > 1e-9:
                r = max(-1.0, min(1.0, cov / math.sqrt(vx * vy)))
        out.append({"x": a, "y": b, "customers": count, "r": r})
    return out


def degree_chain(
    session: Session,
    *,
    day: dt.date,
    scope: CustomerScope | None = None,
    high: float | None = None,
) -> Relations | None:
    """The chain satisfaction → loyalty → engagement → advocacy of the snapshot dated
    ``day`` over the customers in scope: :func:`rapport.analytics.relations.relations` (what
    ``rapport relations`` computes) of their four degrees, read from the stored snapshot.

    Returns
    -------
    Relations or None
        Its ``links`` give, per link, the high scorers of the first degree, the share of
        them also high on the next, the base rate and the lift; None when no customer in
        scope is in the snapshot.
    """
    from rapport.analytics.relations import relations

    columns = [_s[name] for name in DEGREES]
    source, where = _rows(session, day, scope)
    found = session.execute(sa.select(*columns).select_from(source).where(*where)).all()
    if not found:
        return None
    values = list(zip(*found, strict=True))
    table = pa.table(
        {
            name: pa.array([None if v is None else float(v) for v in column], pa.float64())
            for name, column in zip(DEGREES, values, strict=True)
        }
    )
    return relations(table, high=high)


def chain_rows(
    settings: Settings, rules: Rules, *, day: dt.date, principal: Principal
) -> dict[str, Any] | None:
    """:func:`degree_chain` within ``principal``'s scope as plain values, computed in a
    session of its own on the store ``settings`` name: an analytics worker's task
    (:func:`rapport.workers.run_in_worker`).

    Returns
    -------
    dict or None
        ``links`` (per link: ``source``, ``target``, ``high_source``, ``share``,
        ``base_rate``, ``lift`` and ``customers``, those with both degrees known) and
        ``cuts`` (each degree's high-scorer cut); None as :func:`degree_chain`.
    """
    from rapport.store.db import engine_from_settings, session_scope

    engine = engine_from_settings(settings)
    try:
        with session_scope(engine) as session:
            rel = degree_chain(session, day=day, scope=CustomerScope(principal))
    finally:
        engine.dispose()  # no connection of the worker outlives its task
    if rel is None:
        return None
    index = {name: i for i, name in enumerate(rel.degrees)}
    return {
        "links": [
            {
                "source": link.source,
                "target": link.target,
                "high_source": link.high_source,
                "share": link.share,
                "base_rate": link.base_rate,
                "lift": link.lift,
                "customers": int(rel.pairs[index[link.source], index[link.target]]),
            }
            for link in rel.links
        ],
        "cuts": dict(rel.cuts),
    }


#: The saved model kinds whose fit the Analysis page reports, in order.
FITTED_KINDS = ("mbgnbd", "bgnbd", "paretonbd", "gammagamma", "churn", "demand")


def saved_models(settings: Settings) -> list[dict[str, Any]]:
    """What the model registry holds about the latest fit of each kind
    (:mod:`rapport.models.registry`): ``kind``, ``version``, ``created_at`` (ISO), ``moment``
    (the data's as-of moment, ISO, or None), ``customers`` (or rows the model learnt from;
    None when not recorded) and ``metrics`` (the fit's own figures, e.g. its
    ``log_likelihood``). Empty when nothing is saved.

    A backtest (``rapport models backtest``) writes its report as a file and keeps no
    figures in the registry: a fitted model's record carries only its fit.
    """
    from rapport.models.registry import registry

    reg = registry(settings)
    out = []
    for kind in FITTED_KINDS:
        if not reg.versions(kind):
            continue
        record = reg.load(kind)
        data = record.data
        training = record.model.get("training", {}) if kind == "churn" else {}
        customers = data.get("customers", training.get("rows"))
        out.append(
            {
                "kind": kind,
                "version": record.version,
                "created_at": record.created_at,
                "moment": data.get("moment"),
                "customers": None if customers is None else int(customers),
                "metrics": dict(record.metrics),
            }
        )
    return out
