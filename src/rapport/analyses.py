"""The analyses a user reaches from the CLI and the API: metrics, cohorts, funnel, demand
forecast.

Each function runs one analysis end to end on the configured analytics engine (or reads
the fitted demand forecaster from the model registry) and returns plain rows — the same
figures in ``rapport metrics|cohorts|funnel|demand`` and in ``GET /metrics``,
``/metrics/cohorts``, ``/metrics/funnel`` and ``/forecast/demand``. The adapters parse
input, call one of these and render (the server runs them in a worker process,
:mod:`rapport.api.workers`).

* :func:`metric_values` — the metrics of docs/metrics.md (:mod:`rapport.analytics.metrics`),
  over the period or per bucket, overall or per group (:mod:`rapport.reports.groups`).
* :func:`cohort_rows` — :func:`rapport.analytics.cohorts.cohort_matrix` (同期群留存).
* :func:`funnel_rows` — :func:`rapport.analytics.funnel.funnel` (转化漏斗).
* :func:`demand_forecast` — the next periods of the category demand forecaster that
  ``rapport models fit`` saves (:func:`rapport.models.pipeline.fit_demand_model`, 需求预测).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from rapport.analytics.periods import Period
from rapport.config import Rules, Settings
from rapport.errors import NotFound, ValidationFailed

#: Periods a demand forecast may reach ahead.
MAX_DEMAND_HORIZON = 52


def _rows(expr: Any, eng: Any) -> list[dict[str, Any]]:
    from rapport.analytics.metrics import execute

    return execute(expr, eng.con).to_pylist()


def metric_values(
    settings: Settings,
    rules: Rules,
    metric_ids: list[str],
    period: Period,
    *,
    as_of: dt.datetime,
    granularity: str | None = None,
    by: str | None = None,
    engine: str | None = None,
    analytics: tuple[Any, Any] | None = None,
) -> tuple[str, Any]:
    """The metrics ``metric_ids`` over ``period``.

    Parameters
    ----------
    as_of
        When the analysis runs (naive UTC): the day a grouping by age reads the age on.
    granularity
        ``day`` … ``year``: one value per bucket (:func:`~rapport.analytics.metrics.series`).
    by
        A grouping of :data:`rapport.reports.groups.GROUP_BY`: one value per group.
    analytics
        An open engine and its :class:`~rapport.analytics.sources.Sources` to run on (the
        scoring run's working copy, :mod:`rapport.analytics.working_copy`) instead of a
        connection of this call's own to the configured engine.

    Returns
    -------
    tuple
        The engine's name and the Arrow table of
        :func:`~rapport.analytics.metrics.evaluate` (or ``series``): ``metric``,
        ``numerator``, ``denominator``, ``value`` and, as asked, ``bucket_start``,
        ``bucket_end`` (naive UTC) and ``segment`` (the group).
    """
    from rapport.analytics.connect import connect
    from rapport.analytics.sources import Sources

    if analytics is not None:
        eng, src = analytics
        return eng.kind, _metric_table(
            eng, src, settings, rules, metric_ids, period, as_of, granularity, by
        )
    with connect(settings, engine=engine) as eng:
        src = Sources(eng, rules=rules)
        return eng.kind, _metric_table(
            eng, src, settings, rules, metric_ids, period, as_of, granularity, by
        )


def _metric_table(
    eng: Any,
    src: Any,
    settings: Settings,
    rules: Rules,
    metric_ids: list[str],
    period: Period,
    as_of: dt.datetime,
    granularity: str | None,
    by: str | None,
) -> Any:
    """:func:`metric_values`' table, on ``eng`` reading ``src``."""
    from rapport.analytics.metrics import evaluate, series
    from rapport.reports.groups import grouping

    groups = grouping(src, by, as_of=as_of, tz=settings.tz) if by else None
    if granularity:
        return series(
            metric_ids,
            src,
            period,
            granularity,
            rules=rules,
            by=groups,
            con=eng.con,
            tz=settings.tz,
        )
    return evaluate(metric_ids, src, period, rules=rules, by=groups, con=eng.con)


def metric_rows(
    settings: Settings,
    rules: Rules,
    metric_ids: list[str],
    period: Period,
    moment: dt.datetime,
    granularity: str | None,
    by: str | None,
) -> tuple[str, list[dict[str, Any]]]:
    """:func:`metric_values` as plain rows: what an analytics worker process
    (:mod:`rapport.workers`) sends back to the API's ``GET /metrics`` and the web's pages."""
    kind, table = metric_values(
        settings, rules, metric_ids, period, as_of=moment, granularity=granularity, by=by
    )
    return kind, table.to_pylist()


def cohort_rows(
    settings: Settings, rules: Rules, period: Period, *, engine: str | None = None
) -> tuple[str, list[dict[str, Any]]]:
    """The monthly cohort retention matrix over ``period``.

    Returns
    -------
    tuple
        The engine's name and the rows of
        :func:`~rapport.analytics.cohorts.cohort_matrix`: ``cohort`` (``YYYY-MM``),
        ``cohort_start`` (naive UTC), ``month_offset``, ``customers``, ``active``,
        ``share`` (percent), by cohort and offset.
    """
    from rapport.analytics.cohorts import cohort_matrix
    from rapport.analytics.connect import connect
    from rapport.analytics.sources import Sources

    with connect(settings, engine=engine) as eng:
        src = Sources(eng, rules=rules)
        return eng.kind, _rows(cohort_matrix(src, period, rules=rules, tz=settings.tz), eng)


def funnel_rows(
    settings: Settings, rules: Rules, period: Period, *, engine: str | None = None
) -> tuple[str, list[dict[str, Any]]]:
    """The acquisition funnel of the leads created in ``period``.

    Returns
    -------
    tuple
        The engine's name and the rows of :func:`~rapport.analytics.funnel.funnel`:
        ``stage``, ``position``, ``count``, ``share_of_leads``, ``share_of_previous``.
    """
    from rapport.analytics.connect import connect
    from rapport.analytics.funnel import funnel
    from rapport.analytics.sources import Sources

    with connect(settings, engine=engine) as eng:
        src = Sources(eng, rules=rules)
        return eng.kind, _rows(funnel(src, period, rules=rules), eng)


def analysis_rows(
    name: str, settings: Settings, rules: Rules, period: Period
) -> tuple[str, list[dict[str, Any]]]:
    """:func:`cohort_rows` or :func:`funnel_rows` by ``name`` (for a worker process)."""
    return {"cohorts": cohort_rows, "funnel": funnel_rows}[name](settings, rules, period)


# --- demand --------------------------------------------------------------------------------


@dataclass(frozen=True)
class DemandForecast:
    """The forecasts of a saved demand forecaster and where they come from."""

    version: str
    created_at: str
    granularity: str
    value: str
    history_start: dt.datetime
    history_end: dt.datetime
    rows: list[dict[str, Any]]

    def meta(self) -> dict[str, Any]:
        return {
            "model_version": self.version,
            "fitted_at": self.created_at,
            "granularity": self.granularity,
            "value": self.value,
            "history_start": self.history_start,
            "history_end": self.history_end,
        }


def demand_forecast(
    settings: Settings, *, horizon: int, version: str | None = None
) -> DemandForecast:
    """The next ``horizon`` periods of the saved demand forecaster, per category.

    Parameters
    ----------
    horizon
        Periods ahead, 1 … :data:`MAX_DEMAND_HORIZON`.
    version
        A saved version (default: the latest).

    Returns
    -------
    DemandForecast
        ``rows``: ``category``, ``period_start``, ``period_end`` (naive UTC, the local
        weeks or months after the history), ``forecast``, by category and period.

    Raises
    ------
    NotFound
        When no demand forecaster is saved (hint: ``rapport models fit``).
    ValidationFailed
        For a horizon out of range.
    """
    from rapport.models.demand import DemandForecaster
    from rapport.models.registry import registry

    if not 1 <= horizon <= MAX_DEMAND_HORIZON:
        raise ValidationFailed(
            "horizon {horizon}: a forecast reaches 1 to {maximum} periods ahead",
            field="horizon",
            value=horizon,
            key="demand_horizon",
            params={"horizon": horizon, "maximum": MAX_DEMAND_HORIZON},
        )
    try:
        record = registry(settings).load("demand", version)
    except NotFound as exc:
        if version is not None:
            raise  # names the saved versions
        raise NotFound(
            "no demand forecast model is saved",
            hint="fit it with `rapport models fit` (it fits the demand model with the others)",
            key="demand_not_saved",
        ) from exc
    model = DemandForecaster.from_dict(record.model)
    n = model.n_periods_
    starts, _ = model.timeline(model._check_fitted(), n + horizon + 1)
    ends = dict(zip(starts[n:-1], starts[n + 1 :], strict=True))
    rows = [
        {
            "category": r["category"],
            "period_start": r["period_start"].to_pydatetime(),
            "period_end": ends[r["period_start"].to_pydatetime()],
            "forecast": round(float(r["forecast"]), 2),
        }
        for r in model.predict(horizon).to_dict(orient="records")
    ]
    rows.sort(key=lambda r: (r["category"], r["period_start"]))
    return DemandForecast(
        version=record.version,
        created_at=record.created_at,
        granularity=model.granularity,
        value=model.value,
        history_start=starts[0],
        history_end=starts[n],
        rows=rows,
    )


__all__ = [
    "MAX_DEMAND_HORIZON",
    "DemandForecast",
    "analysis_rows",
    "cohort_rows",
    "demand_forecast",
    "funnel_rows",
    "metric_values",
]
