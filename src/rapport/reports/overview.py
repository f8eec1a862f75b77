"""The figures of the overview 总览: what the relationships look like now, how they moved since
the previous score snapshot, and how the company's metrics went over the last months.

Two kinds of figures, run two ways (as :mod:`rapport.reports.snapshots` explains):

* **From the score snapshots** (``customer_scores``), SQLAlchemy Core in the caller's
  session, within the caller's :class:`~rapport.access.CustomerScope`:
  :func:`snapshot_days` (the latest snapshot and the one before), :func:`snapshot_history`
  (per snapshot: the four degrees and the relationship index averaged, the diamonds, and
  the value at risk — churn risk × predicted CLV summed, as
  :func:`~rapport.reports.snapshots.churn_warnings` rates one customer). The tier pyramid
  and the stages are :func:`~rapport.reports.snapshots.group_summary`, the diamonds
  :func:`~rapport.reports.snapshots.diamonds`, who became one and who stopped
  :mod:`rapport.reports.movers`.
* **From the operational tables** through the analytics engine: :func:`metric_overview`,
  the headline metrics of docs/metrics.md over a period and the period before it, and their
  monthly series (:func:`rapport.analyses.metric_values`). Metrics are company-wide (the
  API gives them to admins, managers and analysts only); a server runs this function in an
  analytics worker process, never in a request thread (:mod:`rapport.workers`).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import math
from collections.abc import Sequence
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from rapport.access import CustomerScope
from rapport.analytics.periods import Period, buckets, to_local, to_utc
from rapport.config import Rules, Settings
from rapport.domain import ValueTier
from rapport.errors import ValidationFailed
from rapport.reports.movers import previous_snapshot
from rapport.reports.snapshots import AVERAGED, covered
from rapport.store import schema

_s = schema.customer_scores.c

#: The headline metrics: active customers, new customers, retention, churn, repurchase,
#: order value, NPS and CSAT (ids of :data:`rapport.analytics.metrics.METRICS`).
HEADLINE = (
    "customers_end",
    "customers_new",
    "retention_rate",
    "churn_rate",
    "repurchase_rate",
    "average_order_value",
    "nps",
    "csat",
)
#: The metrics drawn as trends, month by month.
TRENDS = ("retention_rate", "churn_rate", "nps", "csat")
#: Periods the headline metrics may cover (relative periods of
#: :meth:`rapport.analytics.periods.Period.parse`), the first the default.
PERIODS = ("90d", "30d", "12m")
#: Months of the series behind the sparklines and trends.
SERIES_MONTHS = 12
#: Snapshots the degree history reads at most.
HISTORY_SNAPSHOTS = 24
#: The churn risk from which a customer counts as at risk (the default of ``rapport
#: at-risk`` and ``GET /scores/at-risk``).
AT_RISK = 0.5


def _float(value: Any) -> float | None:
    if value is None:
        return None
    value = float(value) if isinstance(value, Decimal | int | float) else value
    return None if isinstance(value, float) and not math.isfinite(value) else value


# --- snapshots ---------------------------------------------------------------------------------


def snapshot_days(session: Session) -> tuple[dt.date | None, dt.date | None]:
    """The latest snapshot date and the one before it
    (:func:`rapport.reports.movers.previous_snapshot`); ``None`` where there is none."""
    latest: dt.date | None = session.execute(sa.select(sa.func.max(_s.as_of))).scalar()
    return latest, None if latest is None else previous_snapshot(session, latest)


def snapshot_history(
    session: Session,
    *,
    limit: int = HISTORY_SNAPSHOTS,
    scope: CustomerScope | None = None,
    min_risk: float = AT_RISK,
    days: Sequence[dt.date] | None = None,
) -> list[dict[str, Any]]:
    """The headline figures of the latest ``limit`` snapshots (or of the snapshots dated
    ``days``), in one pass over them: the four degrees and the relationship index, the
    diamond customers and the value at risk.

    A customer's value at risk is their churn risk × predicted CLV (the measure the churn
    warnings are ordered by, :func:`~rapport.reports.snapshots.churn_warnings`); a
    snapshot's is the sum over the customers in scope for whom both are known.

    Returns
    -------
    list of dict
        Per snapshot date, oldest first: ``as_of``; ``customers`` (scored customers in
        scope, not deleted); ``avg_<name>`` for each of
        :data:`~rapport.reports.snapshots.AVERAGED` (the mean over the customers for whom it
        is known; null when it is known for none); ``diamonds``; ``valued`` (customers
        with a churn risk and a predicted CLV), ``predicted_clv`` (their CLV summed),
        ``value_at_risk`` (Σ churn risk × predicted CLV), ``share`` (value at risk /
        predicted CLV, a fraction; null when the CLV sums to 0), ``at_risk`` and
        ``at_risk_value`` (the customers at or above ``min_risk``, their value at risk).
        Sums over no customer are 0.
    """
    if limit < 1:
        raise ValidationFailed(
            "limit {limit}: at least one snapshot",
            field="limit",
            hint="use 1 or more",
            key="overview_limit",
            params={"limit": limit},
            hint_key="limit_positive.hint",
        )
    if not 0 <= min_risk <= 1:
        raise ValidationFailed(
            "min_risk {min_risk}: a probability",
            field="min_risk",
            hint="use 0 … 1",
            key="min_risk_range",
            params={"min_risk": min_risk},
        )
    latest = sa.select(_s.as_of).distinct().order_by(_s.as_of.desc()).limit(limit)
    chosen = list(days) if days is not None else latest.scalar_subquery()
    source, conditions = covered(session, schema.customer_scores, _s.customer_id, scope)
    valued = sa.and_(_s.churn_risk.is_not(None), _s.predicted_clv.is_not(None))
    risk = _s.churn_risk * _s.predicted_clv
    high = sa.and_(valued, _s.churn_risk >= min_risk)
    stmt = (
        sa.select(
            _s.as_of,
            sa.func.count().label("customers"),
            *(sa.func.avg(_s[name]).label(f"avg_{name}") for name in AVERAGED),
            sa.func.count(sa.case((_s.value_tier == ValueTier.DIAMOND.value, 1))).label("diamonds"),
            sa.func.count(sa.case((valued, 1))).label("valued"),
            sa.func.sum(sa.case((valued, _s.predicted_clv))).label("predicted_clv"),
            sa.func.sum(sa.case((valued, risk))).label("value_at_risk"),
            sa.func.count(sa.case((high, 1))).label("at_risk"),
            sa.func.sum(sa.case((high, risk))).label("at_risk_value"),
        )
        .select_from(source)
        .where(_s.as_of.in_(chosen), *conditions)
        .group_by(_s.as_of)
        .order_by(_s.as_of)
    )
    out = []
    for row in session.execute(stmt).mappings():
        clv = _float(row["predicted_clv"]) or 0.0
        total = _float(row["value_at_risk"]) or 0.0
        out.append(
            {
                "as_of": row["as_of"],
                "customers": row["customers"],
                **{f"avg_{n}": _float(row[f"avg_{n}"]) for n in AVERAGED},
                "diamonds": row["diamonds"],
                "valued": row["valued"],
                "predicted_clv": clv,
                "value_at_risk": total,
                "share": total / clv if clv else None,
                "at_risk": row["at_risk"],
                "at_risk_value": _float(row["at_risk_value"]) or 0.0,
            }
        )
    return out


# --- metrics -----------------------------------------------------------------------------------


def metric_periods(
    period: str, as_of: dt.datetime, tz: str | ZoneInfo, months: int = SERIES_MONTHS
) -> tuple[Period, Period, Period]:
    """The periods of :func:`metric_overview`: ``period`` ending at ``as_of``, the period
    of the same length just before it, and the last ``months`` calendar months up to
    ``as_of`` (the current month to ``as_of``).

    Raises
    ------
    ValidationFailed
        When ``period`` is not one of :data:`PERIODS`.
    """
    if period not in PERIODS:
        raise ValidationFailed(
            "period {period!r}",
            field="period",
            hint="use one of: {choices}",
            key="overview_period",
            params={"period": period, "choices": ", ".join(PERIODS)},
            hint_key="option_value_unknown.hint",
        )
    zone = tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz)
    current = Period.parse(period, as_of=as_of, tz=zone)
    previous = Period.parse(period, as_of=current.start, tz=zone)
    local = to_local(as_of - dt.timedelta(microseconds=1), zone)
    first = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    index = first.year * 12 + first.month - 1 - (months - 1)
    start = first.replace(year=index // 12, month=index % 12 + 1)
    return current, previous, Period(to_utc(start, zone), as_of)


def metric_overview(
    settings: Settings,
    rules: Rules,
    *,
    as_of: dt.datetime,
    period: str = PERIODS[0],
    months: int = SERIES_MONTHS,
    engine: str | None = None,
    analytics: tuple[Any, Any] | None = None,
) -> dict[str, Any]:
    """The headline metrics over ``period`` ending at ``as_of`` (naive UTC) against the
    period before it, and the monthly series of the headline and trend metrics; on
    ``analytics`` (an open engine and its sources) when given, as
    :func:`rapport.analyses.metric_values`, else on one connection to ``engine`` (the
    configured engine by default) for its three queries.

    Returns
    -------
    dict
        ``engine``; ``as_of``; ``current`` and ``previous`` (``start``, ``end`` of each
        period, naive UTC); ``headline``: per id of :data:`HEADLINE`, ``value`` and
        ``previous`` (null where not measured: an empty denominator); ``months``: the
        ``start`` and ``end`` of each month of the series; ``series``: per id of
        :data:`HEADLINE` and :data:`TRENDS`, one value per month (null where not measured).
    """
    from rapport.analyses import metric_values
    from rapport.analytics.connect import connect
    from rapport.analytics.sources import Sources

    tz = settings.tz
    current, previous, window = metric_periods(period, as_of, tz, months)
    ids = list(dict.fromkeys((*HEADLINE, *TRENDS)))
    with contextlib.ExitStack() as stack:
        if analytics is None:  # one connection of this call's own for the three queries
            eng = stack.enter_context(connect(settings, engine=engine))
            analytics = (eng, Sources(eng, rules=rules))
        values_of = functools.partial(metric_values, settings, rules, analytics=analytics)
        name, now = values_of(list(HEADLINE), current, as_of=as_of)
        _, before = values_of(list(HEADLINE), previous, as_of=current.start)
        _, monthly = values_of(ids, window, as_of=as_of, granularity="month")
    values = {r["metric"]: _float(r["value"]) for r in now.to_pylist()}
    earlier = {r["metric"]: _float(r["value"]) for r in before.to_pylist()}
    spans = buckets(window, "month", tz=tz)
    starts = {b.start: i for i, b in enumerate(spans)}
    series: dict[str, list[float | None]] = {m: [None] * len(spans) for m in ids}
    for row in monthly.to_pylist():
        position = starts.get(row["bucket_start"])
        if position is not None:
            series[row["metric"]][position] = _float(row["value"])
    return {
        "engine": name,
        "as_of": as_of,
        "current": {"start": current.start, "end": current.end},
        "previous": {"start": previous.start, "end": previous.end},
        "headline": {m: {"value": values.get(m), "previous": earlier.get(m)} for m in HEADLINE},
        "months": [{"start": b.start, "end": b.end} for b in spans],
        "series": series,
    }


def change(value: float | None, previous: float | None) -> float | None:
    """``value - previous``, null when either is not measured."""
    if value is None or previous is None:
        return None
    return value - previous
