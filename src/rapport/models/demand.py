"""Demand forecast (需求预测): per customer from a purchase model, per category by Holt-Winters.

Per customer, :func:`expected_customer_purchases` asks a fitted purchase model (BG/NBD) for
the expected purchases in a horizon. Per product category and week or month
(:func:`rapport.analytics.demand.category_demand`), :class:`DemandForecaster` fits a
multiplicative Holt-Winters model with a damped additive trend to each category::

    forecast(t + h) = (level_t + (phi + ... + phi^h) * trend_t) * season[position(t + h)]

with ``alpha``, ``beta``, ``gamma``, ``phi`` chosen from :data:`GRID` by the mean absolute
one-step error after the first season, each category's initial seasonal indices pooled
with the total's (Withycombe 1989), and retail events aligned year to year
(:func:`season_positions`). The baseline is the seasonal naive forecast
(:func:`seasonal_naive`); :func:`backtest_demand` compares both on a holdout. The method,
its choices and the figures measured on the sample company: ``docs/demand.md``.

References
----------
Winters, P. R. (1960). Forecasting sales by exponentially weighted moving averages.
*Management Science* 6(3), 324-342.
Gardner, E. S. & McKenzie, E. (1985). Forecasting trends in time series. *Management
Science* 31(10), 1237-1246 (the damped trend).
Withycombe, R. (1989). Forecasting with combined seasonal indices. *International Journal
of Forecasting* 5(4), 547-552.
Hyndman, R. J. & Koehler, A. B. (2006). Another look at measures of forecast accuracy.
*International Journal of Forecasting* 22(4), 679-688 (MAPE and zero actuals).
"""

from __future__ import annotations

import itertools
from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Protocol

import numpy as np
import pandas as pd

from rapport.analytics.periods import DEFAULT_TZ, _floor, _shift, _zone, to_local, to_utc
from rapport.errors import NotFitted, ValidationFailed
from rapport.models.units import Duration

#: Periods in one season, per granularity.
SEASON_LENGTHS = {"week": 52, "month": 12}
#: Seasonal indices are clipped to this range.
SEASON_BOUNDS = (0.05, 20.0)
#: The smoothing parameters searched per series (every combination).
GRID = {
    "alpha": (0.05, 0.1, 0.2, 0.35, 0.5),
    "beta": (0.0, 0.03, 0.1, 0.2),
    "gamma": (0.0, 0.05, 0.15, 0.3),
    "phi": (0.8, 0.9, 0.98),
}
#: Scope names of the backtest errors besides the categories.
TOTAL, ALL = "(total)", "(all)"
FORMAT, FORMAT_VERSION = "rapport.demand.holt_winters", 1
#: The settings of a forecaster, saved with it.
SETTINGS = ("granularity", "value", "pooling", "events", "tz")
#: Chinese New Year, 2015-2035 (month-day).
CHINESE_NEW_YEAR = {
    2015: "02-19", 2016: "02-08", 2017: "01-28", 2018: "02-16", 2019: "02-05", 2020: "01-25",
    2021: "02-12", 2022: "02-01", 2023: "01-22", 2024: "02-10", 2025: "01-29", 2026: "02-17",
    2027: "02-06", 2028: "01-26", 2029: "02-13", 2030: "02-03", 2031: "01-23", 2032: "02-11",
    2033: "01-31", 2034: "02-19", 2035: "02-08",
}  # fmt: skip


class PurchaseModel(Protocol):
    """A fitted model of repeat purchases (BG/NBD, Pareto/NBD) in its ``time_unit``."""

    time_unit: str

    def expected_purchases(
        self, horizon: Duration, frequency: Any, recency: Any, T: Any
    ) -> np.ndarray: ...


def expected_customer_purchases(
    purchase_model: PurchaseModel,
    frequency: Any,
    recency: Any,
    T: Any,
    *,
    horizon: Duration,
) -> np.ndarray:
    """Expected purchases of each customer in the next ``horizon`` (per-customer demand).

    Parameters
    ----------
    purchase_model
        A fitted model with ``expected_purchases(horizon, frequency, recency, T)``.
    frequency, recency, T
        Repeat purchases ``x``, age at the last purchase ``t_x`` and age ``T`` of each
        customer, in the model's ``time_unit``.
    horizon
        The forecast horizon, with its unit.

    Returns
    -------
    numpy.ndarray
        One expectation per customer.
    """
    return np.asarray(purchase_model.expected_purchases(horizon, frequency, recency, T), float)


# --- calendars: periods and events -----------------------------------------------------------


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> date:
    first = date(year, month, 1)
    return first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))


def event_calendar(name: str) -> dict[str, list[date]]:
    """The retail events of calendar ``name``, 2015-2035.

    ``zh_CN``: 38 (March 8), 520, 618 with its presale (June 4, 11, 18), Double 11 with its
    presale (Nov 4, 11), Double 12, and Chinese New Year as five anchors (21, 14 and 7 days
    before it, the day, a week after). ``en_US``: Mother's Day, Black Friday, Cyber Monday,
    Christmas. ``none``: no event.
    """
    years = range(2015, 2036)
    if name == "zh_CN":
        fixed = {"38": (3, 8), "520": (5, 20), "618-14": (6, 4), "618-7": (6, 11), "618": (6, 18),
                 "1111-7": (11, 4), "1111": (11, 11), "1212": (12, 12)}  # fmt: skip
        out = {k: [date(y, mo, d) for y in years] for k, (mo, d) in fixed.items()}
        cny = [date.fromisoformat(f"{y}-{md}") for y, md in CHINESE_NEW_YEAR.items()]
        for offset in (-21, -14, -7, 0, 7):
            out[f"cny{offset:+d}"] = [d + timedelta(days=offset) for d in cny]
        return out
    if name == "en_US":
        friday = [_nth_weekday(y, 11, 3, 4) + timedelta(days=1) for y in years]
        return {
            "mothers_day": [_nth_weekday(y, 5, 6, 2) for y in years],
            "black_friday": friday,
            "cyber_monday": [d + timedelta(days=3) for d in friday],
            "christmas": [date(y, 12, 25) for y in years],
        }
    if name == "none":
        return {}
    raise ValidationFailed(
        "unknown event calendar {name!r}",
        field="events",
        hint="use zh_CN, en_US or none",
        key="demand_calendar_unknown",
        params={"name": name},
    )


def season_positions(
    bounds: list[date], m: int, events: dict[str, list[date]] | None = None
) -> np.ndarray:
    """The seasonal position (``0..m-1``) of each period, events aligned year to year.

    Positions run ``t % m``. Then, in time order, a period holding an event takes the
    position of the period that held it the year before, swapping with the nearby period
    (at most ``m // 8 + 1`` away) that had it; the first season and periods already
    aligned are never moved.

    Parameters
    ----------
    bounds
        Local dates bounding consecutive periods: ``n + 1`` dates for ``n`` periods.
    m
        Season length.
    events
        Event name → its dates (see :func:`event_calendar`).
    """
    n, reach = len(bounds) - 1, m // 8 + 1
    pos = np.arange(n) % m
    pairs = []
    for dates in (events or {}).values():
        found = sorted({bisect_right(bounds, d) - 1 for d in dates if bounds[0] <= d < bounds[-1]})
        pairs += [
            (cur, prev) for prev, cur in itertools.pairwise(found) if abs(cur - prev - m) < reach
        ]
    locked: set[int] = set()
    for cur, prev in sorted(pairs):
        if cur < m or cur in locked:
            continue
        near = [t for t in range(max(m, cur - reach), min(n, cur + reach + 1))
                if pos[t] == pos[prev] and t not in locked]  # fmt: skip
        if near and pos[cur] != pos[prev]:
            other = min(near, key=lambda t: abs(t - cur))
            pos[cur], pos[other] = pos[other], pos[cur]
        locked.add(cur)
    return pos


# --- the baseline and the model of one series ------------------------------------------------


def seasonal_naive(history: Any, horizon: int, season_length: int) -> np.ndarray:
    """Seasonal-naive forecast of the next ``horizon`` periods.

    ``y[n + h - 1 - m * ceil(h / m)]`` for ``h = 1..horizon`` (the same period one season
    ago, repeated beyond a season); the last value when the history is shorter than a
    season; zeros without history.
    """
    y = np.asarray(history, dtype=float)
    n, m = len(y), season_length
    if n == 0:
        return np.zeros(horizon)
    if n < m:
        return np.full(horizon, y[-1])
    h = np.arange(1, horizon + 1)
    return y[n + h - 1 - m * np.ceil(h / m).astype(int)]


@dataclass
class SeriesState:
    """The fitted state of one series; ``season`` is indexed by seasonal position (empty for
    a non-seasonal fit)."""

    level: float
    trend: float
    season: list[float]
    alpha: float
    beta: float
    gamma: float
    phi: float

    def forecast(self, positions: Any) -> np.ndarray:
        """Forecasts (never negative) of the next periods, given their seasonal positions."""
        h = np.arange(1, len(positions) + 1)
        base = self.level + np.cumsum(self.phi**h) * self.trend
        if self.season:
            base = base * np.asarray(self.season)[np.asarray(positions, dtype=int)]
        return np.maximum(base, 0.0)


def initial_state(y: np.ndarray, m: int, pos: np.ndarray) -> tuple[float, float, np.ndarray, int]:
    """Seasonal indices by position, and the level and trend where the recursion starts.

    Classical multiplicative decomposition: a centred moving average of one season
    (``2 x m`` for even ``m``) is the local level, defined from period ``m // 2`` to
    ``n - 1 - m // 2``; a position's index is the mean ratio of its periods to that level.
    A position never inside that range takes its latest ratio to the level extrapolated
    with the local slope (the last ``m // 4`` periods of the average). Indices are
    normalized to mean 1 and clipped. Ratios to a local level, not to one straight line,
    keep a launch ramp or a change of growth out of the seasonal indices.

    Returns
    -------
    level, trend, season, start
        The level and trend just before period ``start = m // 2`` (where the moving
        average begins and the recursion starts) and the indices by position.
    """
    n, half = len(y), m // 2
    kernel = np.r_[0.5, np.ones(m - 1), 0.5] / m if m % 2 == 0 else np.ones(m) / m
    average = np.convolve(y, kernel, mode="valid")  # average[i] is centred on i + half
    k = max(1, min(len(average) - 1, m // 4))
    slope_start = (average[k] - average[0]) / k if len(average) > 1 else 0.0
    slope_end = (average[-1] - average[-1 - k]) / k if len(average) > 1 else 0.0
    t = np.arange(n)
    inside = (t >= half) & (t < half + len(average))
    level = np.where(
        t < half,
        average[0] + (t - half) * slope_start,
        average[-1] + (t - half - len(average) + 1) * slope_end,
    )
    level[inside] = average
    ratio = np.divide(y, level, out=np.full(n, np.nan), where=level > 0)
    season = np.full(m, np.nan)
    for p in range(m):
        mine = ratio[inside & (pos[:n] == p)]
        if len(mine) and not np.isnan(mine).all():
            season[p] = np.nanmean(mine)
    for i in range(n - 1, -1, -1):  # the latest extrapolated ratio for the others
        if np.isnan(season[pos[i]]) and not np.isnan(ratio[i]):
            season[pos[i]] = ratio[i]
    season = np.where(np.isnan(season), 1.0, season)
    season = season / season.mean() if season.mean() > 0 else np.ones(m)
    start_level = float(average[0] - slope_start)
    return start_level, float(slope_start), np.clip(season, *SEASON_BOUNDS), half


def fit_series(
    y: Any, m: int, pos: np.ndarray | None = None, season0: np.ndarray | None = None
) -> SeriesState:
    """Fit Holt-Winters (damped Holt for a history of at most ``m`` periods) to one series.

    Parameters
    ----------
    y
        The history, oldest first, non-negative.
    m
        Season length.
    pos
        Seasonal position of each period (:func:`season_positions`); default ``t % m``.
    season0
        Initial seasonal indices by position, instead of the series' own (pooled ones).
    """
    y = np.asarray(y, dtype=float)
    n = len(y)
    if n <= 1 or not y.any():
        return SeriesState(float(y[-1]) if n else 0.0, 0.0, [], 1.0, 0.0, 0.0, 1.0)
    seasonal = n > m
    if seasonal:
        pos = np.arange(n) % m if pos is None else np.asarray(pos[:n])
        level0, trend0, own, start = initial_state(y, m, pos)
        s0 = own if season0 is None else np.clip(season0, *SEASON_BOUNDS)
        start_eval = m if n - m >= 3 else start + 1
    else:
        pos, level0, trend0, s0 = np.zeros(n, int), y[0], y[1] - y[0], np.ones(1)
        start, start_eval = 1, 1
    grid = np.array(list(itertools.product(*GRID.values())))
    if not seasonal:
        grid = grid[grid[:, 2] == 0]  # no season to smooth
    alpha, beta, gamma, phi = (grid[:, [i]] for i in range(4))
    level, trend = np.full_like(alpha, level0), np.full_like(alpha, trend0)
    season = np.tile(s0, (len(grid), 1))
    error = np.zeros_like(alpha)
    for t in range(start, n):
        s = season[:, pos[t] : pos[t] + 1]
        expected = level + phi * trend
        if t >= start_eval:
            error += np.abs(y[t] - np.maximum(expected * s, 0.0))
        new_level = np.maximum(alpha * y[t] / s + (1 - alpha) * expected, 1e-9)
        trend = beta * (new_level - level) + (1 - beta) * phi * trend
        level = new_level
        if seasonal:
            update = gamma * y[t] / level + (1 - gamma) * s
            season[:, pos[t] : pos[t] + 1] = np.clip(update, *SEASON_BOUNDS)
    best = int(np.argmin(error[:, 0]))
    kept = [float(v) for v in season[best]] if seasonal else []
    a, b, g, p = (float(v) for v in grid[best])
    return SeriesState(float(level[best, 0]), float(trend[best, 0]), kept, a, b, g, p)


# --- the forecaster of every category ---------------------------------------------------------


def series_matrix(series: Any, value: str) -> tuple[list[str], list[datetime], np.ndarray]:
    """Categories, period starts and the ``(categories, periods)`` matrix of ``value``.

    ``series`` is a table (pyarrow or pandas) with ``category``, ``period_start`` and
    ``value``, as :func:`rapport.analytics.demand.category_demand` returns; a missing
    ``(category, period)`` pair counts as 0.
    """
    frame = series.to_pandas() if hasattr(series, "to_pandas") else pd.DataFrame(series)
    missing = [c for c in ("category", "period_start", value) if c not in frame.columns]
    if missing:
        raise ValidationFailed(
            "the demand series lacks the columns {missing}",
            field="series",
            hint="use rapport.analytics.demand.category_demand",
            key="demand_series_columns",
            params={"missing": missing},
        )
    wide = frame.pivot_table(
        index="category", columns="period_start", values=value, aggfunc="sum", fill_value=0
    )
    periods = [pd.Timestamp(p).to_pydatetime() for p in wide.columns]
    return [str(c) for c in wide.index], periods, wide.to_numpy(dtype=float)


@dataclass
class DemandForecaster:
    """Holt-Winters per category with pooled seasonal indices and aligned events.

    Parameters
    ----------
    granularity
        ``"week"`` (season of 52) or ``"month"`` (12).
    value
        The column forecast: ``"orders"`` or ``"revenue"``.
    pooling
        Weight of the total's initial seasonal indices in each category's (0: own only,
        1: the total's).
    events
        Event calendar aligned year to year: ``"zh_CN"``, ``"en_US"`` or ``"none"``.
    tz
        The business time zone of the periods' local calendar.

    Examples
    --------
    >>> forecaster = DemandForecaster("month").fit(series)  # doctest: +SKIP
    >>> forecaster.predict(3)  # doctest: +SKIP
    """

    granularity: str = "week"
    value: str = "orders"
    pooling: float = 0.5
    events: str = "zh_CN"
    tz: str = DEFAULT_TZ
    states_: dict[str, SeriesState] = field(default_factory=dict)
    first_period_start_: datetime | None = None
    n_periods_: int = 0

    def __post_init__(self) -> None:
        if self.granularity not in SEASON_LENGTHS:
            raise ValidationFailed(
                "the demand forecast is weekly or monthly, not {granularity!r}",
                field="granularity",
                hint="use one of: {choices}",
                key="demand_granularity",
                params={"granularity": self.granularity, "choices": ", ".join(SEASON_LENGTHS)},
                hint_key="option_value_unknown.hint",
            )
        if not 0.0 <= self.pooling <= 1.0:
            raise ValidationFailed(
                "pooling must be in [0, 1], not {pooling!r}",
                field="pooling",
                key="demand_pooling",
                params={"pooling": self.pooling},
            )
        event_calendar(self.events)  # refuses an unknown calendar now

    @property
    def season_length(self) -> int:
        """Periods in one season: 52 weeks or 12 months."""
        return SEASON_LENGTHS[self.granularity]

    def timeline(self, first: datetime, count: int) -> tuple[list[datetime], np.ndarray]:
        """Starts (naive UTC) and seasonal positions of ``count`` periods from ``first``.

        Positions are computed a season further, so a period's position never depends on
        how far the timeline reaches (a swap moves periods at most ``m // 8 + 1`` apart).
        """
        zone, events, m = _zone(self.tz), event_calendar(self.events), self.season_length
        local = [_shift(to_local(first, zone), i, self.granularity) for i in range(count + m + 1)]
        pos = season_positions([w.date() for w in local], m, events)[:count]
        return [to_utc(w, zone) for w in local[:count]], pos

    def _matrix(self, series: Any) -> tuple[list[str], list[datetime], np.ndarray, np.ndarray]:
        """:func:`series_matrix` and the positions, checked to be whole consecutive periods."""
        categories, periods, matrix = series_matrix(series, self.value)
        whole = False
        if periods:
            starts, pos = self.timeline(periods[0], len(periods))
            first = to_local(periods[0], _zone(self.tz))
            whole = starts == periods and _floor(first, self.granularity) == first
        if not whole:
            raise ValidationFailed(
                "the demand series is not a run of whole {granularity}s in {tz}",
                field="series",
                hint="give category_demand a start and an end on period boundaries",
                key="demand_series_periods",
                params={"granularity": self.granularity, "tz": self.tz},
            )
        return categories, periods, matrix, pos

    def fit(self, series: Any) -> DemandForecaster:
        """Fit every category of ``series`` (see :func:`series_matrix`); returns ``self``."""
        categories, periods, matrix, pos = self._matrix(series)
        self.states_ = self._fit_matrix(categories, matrix, pos)
        self.first_period_start_, self.n_periods_ = periods[0], len(periods)
        return self

    def _fit_matrix(
        self, categories: list[str], matrix: np.ndarray, pos: np.ndarray
    ) -> dict[str, SeriesState]:
        m = self.season_length
        total = matrix.sum(axis=0)
        pooled = initial_state(total, m, pos)[2] if len(total) > m else None
        states = {}
        for name, y in zip(categories, matrix, strict=True):
            season0 = None
            if pooled is not None and not y[:m].any():
                season0 = pooled  # launched after the first season: no index of its own
            elif pooled is not None and self.pooling > 0:
                season0 = (1 - self.pooling) * initial_state(y, m, pos)[2] + self.pooling * pooled
            states[name] = fit_series(y, m, pos, season0)
        return states

    def _check_fitted(self) -> datetime:
        if self.first_period_start_ is None:
            raise NotFitted(
                "the demand forecaster is not fitted",
                hint="call fit(series) first",
                key="demand_not_fitted",
            )
        return self.first_period_start_

    def predict(self, horizon: int) -> pd.DataFrame:
        """Forecasts of the next ``horizon`` periods after the history.

        Returns
        -------
        pandas.DataFrame
            ``category``, ``period_start`` (naive UTC), ``forecast``; by category, period.
        """
        n = self.n_periods_
        starts, pos = self.timeline(self._check_fitted(), n + horizon)
        rows = [
            (name, start, float(v))
            for name, state in self.states_.items()
            for start, v in zip(starts[n:], state.forecast(pos[n:]), strict=True)
        ]
        return pd.DataFrame(rows, columns=["category", "period_start", "forecast"])

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe document of the fitted forecaster (read by :meth:`from_dict`)."""
        first = self._check_fitted()
        return {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            **{key: getattr(self, key) for key in SETTINGS},
            "first_period_start": first.isoformat(),
            "n_periods": self.n_periods_,
            "categories": {name: vars(state).copy() for name, state in self.states_.items()},
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DemandForecaster:
        """The forecaster saved by :meth:`to_dict`; :class:`ValidationFailed` for a document
        of another format or version."""
        if data.get("format") != FORMAT or data.get("version") != FORMAT_VERSION:
            raise ValidationFailed(
                "not a demand forecaster of version {reads}: format={format!r}, "
                "version={version!r}",
                field="format",
                hint="refit the forecaster",
                key="demand_document",
                params={
                    "reads": FORMAT_VERSION,
                    "format": data.get("format"),
                    "version": data.get("version"),
                },
            )
        out = cls(**{key: data[key] for key in SETTINGS})
        out.states_ = {name: SeriesState(**s) for name, s in data["categories"].items()}
        out.first_period_start_ = datetime.fromisoformat(data["first_period_start"])
        out.n_periods_ = int(data["n_periods"])
        return out


# --- accuracy and the backtest ----------------------------------------------------------------


def wape(actual: Any, forecast: Any) -> float | None:
    """Weighted absolute percentage error ``100 * sum|actual - forecast| / sum|actual|``;
    ``None`` when every actual is 0 (an empty denominator)."""
    a, f = np.asarray(actual, float), np.asarray(forecast, float)
    denominator = np.abs(a).sum()
    return float(100 * np.abs(a - f).sum() / denominator) if denominator > 0 else None


def mape(actual: Any, forecast: Any) -> float | None:
    """Mean absolute percentage error ``100 * mean(|actual - forecast| / |actual|)`` over
    the periods whose actual is not 0 (skipped: their percentage error is undefined);
    ``None`` when there is none."""
    a, f = np.asarray(actual, float), np.asarray(forecast, float)
    keep = a != 0
    return float(100 * np.mean(np.abs(a[keep] - f[keep]) / np.abs(a[keep]))) if keep.any() else None


@dataclass
class DemandBacktest:
    """The holdout forecasts of the model and the seasonal-naive baseline, and their errors.

    Attributes
    ----------
    table
        ``category``, ``period_start``, ``actual``, ``forecast`` (the model),
        ``baseline`` (seasonal naive): one row per category and holdout period.
    errors
        ``scope`` (a category; ``"(total)"``: the sum of the categories per period;
        ``"(all)"``: every category-period row pooled), ``method`` (``"model"`` or
        ``"seasonal_naive"``), ``wape`` and ``mape`` (percent, ``None`` when undefined),
        ``mape_periods`` (rows with a non-zero actual) and ``actual`` (their sum).
    """

    granularity: str
    value: str
    holdout_periods: int
    history_periods: int
    table: pd.DataFrame
    errors: pd.DataFrame

    def error(self, method: str, scope: str = ALL) -> dict[str, Any]:
        """The error row of ``method`` (``"model"``, ``"seasonal_naive"``) over ``scope``."""
        rows = self.errors[(self.errors.method == method) & (self.errors.scope == scope)]
        if rows.empty:
            raise ValidationFailed(
                "no errors of {method!r} over {scope!r}",
                field="scope",
                key="demand_no_errors",
                params={"method": method, "scope": scope},
            )
        return rows.iloc[0].to_dict()

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe: the settings, ``rows`` (``period`` as ISO text) and ``errors`` — the
        ``demand`` section of :func:`rapport.models.report.render_backtest_report`."""
        rows = self.table.assign(period=[p.isoformat() for p in self.table.period_start])
        rows = rows[["category", "period", "actual", "forecast", "baseline"]]
        errors = self.errors.astype(object).where(self.errors.notna(), None)
        return {
            "granularity": self.granularity,
            "value": self.value,
            "holdout_periods": self.holdout_periods,
            "history_periods": self.history_periods,
            "rows": rows.to_dict(orient="records"),
            "errors": errors.to_dict(orient="records"),
        }


def _errors(table: pd.DataFrame) -> pd.DataFrame:
    total = table.groupby("period_start")[["actual", "forecast", "baseline"]].sum()
    scopes = [*table.groupby("category", sort=True), (TOTAL, total), (ALL, table)]
    return pd.DataFrame(
        {
            "scope": scope,
            "method": method,
            "wape": wape(part.actual, part[column]),
            "mape": mape(part.actual, part[column]),
            "mape_periods": int((part.actual != 0).sum()),
            "actual": float(part.actual.sum()),
        }
        for scope, part in scopes
        for method, column in (("model", "forecast"), ("seasonal_naive", "baseline"))
    )


def backtest_demand(
    series: Any,
    *,
    granularity: str,
    holdout_periods: int,
    value: str = "orders",
    forecaster: DemandForecaster | None = None,
) -> DemandBacktest:
    """Forecast the last ``holdout_periods`` of ``series`` from the periods before them.

    A single holdout: the model and the seasonal-naive baseline see only the history
    before it and forecast all of it from there (horizons ``1..holdout_periods``).

    Parameters
    ----------
    series
        A complete demand series of whole periods
        (:func:`rapport.analytics.demand.category_demand`).
    granularity
        ``"week"`` or ``"month"``.
    holdout_periods
        Periods held out: at least 1, fewer than the series has.
    value
        ``"orders"`` or ``"revenue"``.
    forecaster
        An unfitted :class:`DemandForecaster` with the settings to test (pooling, events,
        tz); default ``DemandForecaster(granularity, value)``.

    Returns
    -------
    DemandBacktest
    """
    model = forecaster or DemandForecaster(granularity, value)
    if (model.granularity, model.value) != (granularity, value):
        raise ValueError("the forecaster's granularity or value is not the backtest's")
    categories, periods, matrix, pos = model._matrix(series)
    if not 1 <= holdout_periods < len(periods):
        raise ValidationFailed(
            "holdout_periods must be in 1..{maximum}, not {holdout}",
            field="holdout_periods",
            hint="a longer history leaves room for a longer holdout",
            key="demand_holdout",
            params={"maximum": len(periods) - 1, "holdout": holdout_periods},
        )
    cut = len(periods) - holdout_periods
    states = model._fit_matrix(categories, matrix[:, :cut], pos)
    rows: list[tuple[Any, ...]] = []
    for name, y in zip(categories, matrix, strict=True):
        forecast = states[name].forecast(pos[cut:])
        baseline = seasonal_naive(y[:cut], holdout_periods, model.season_length)
        rows += zip(
            [name] * holdout_periods, periods[cut:], y[cut:], forecast, baseline, strict=True
        )
    table = pd.DataFrame(
        rows, columns=["category", "period_start", "actual", "forecast", "baseline"]
    )
    return DemandBacktest(granularity, value, holdout_periods, cut, table, _errors(table))
