"""Time inside the simulation: the window, local days, seasonality and the daily rhythm.

The simulation measures time ``x`` in local days since the window's first midnight
(float64); ``x = days`` is the window's end, exclusive. :meth:`Window.utc_seconds` turns
``x`` into UTC epoch seconds using each local day's real UTC offset, so daylight saving
time (en_US) is respected.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np

#: Chinese New Year (Spring Festival) dates; years outside the table get no CNY effect.
CHINESE_NEW_YEAR = {
    2015: date(2015, 2, 19),
    2016: date(2016, 2, 8),
    2017: date(2017, 1, 28),
    2018: date(2018, 2, 16),
    2019: date(2019, 2, 5),
    2020: date(2020, 1, 25),
    2021: date(2021, 2, 12),
    2022: date(2022, 2, 1),
    2023: date(2023, 1, 22),
    2024: date(2024, 2, 10),
    2025: date(2025, 1, 29),
    2026: date(2026, 2, 17),
    2027: date(2027, 2, 6),
    2028: date(2028, 1, 26),
    2029: date(2029, 2, 13),
    2030: date(2030, 2, 3),
    2031: date(2031, 1, 23),
    2032: date(2032, 2, 11),
    2033: date(2033, 1, 31),
    2034: date(2034, 2, 19),
    2035: date(2035, 2, 8),
}

#: Relative order intensity by local hour (0-23).
HOURLY = {
    "zh_CN": (
        0.9, 0.5, 0.25, 0.15, 0.1, 0.1, 0.2, 0.5, 0.9, 1.2, 1.5, 1.5,
        1.4, 1.3, 1.3, 1.3, 1.3, 1.3, 1.4, 1.6, 2.0, 2.3, 2.1, 1.5,
    ),
    "en_US": (
        0.4, 0.25, 0.15, 0.1, 0.1, 0.15, 0.3, 0.6, 0.9, 1.2, 1.4, 1.5,
        1.6, 1.5, 1.4, 1.4, 1.4, 1.5, 1.6, 1.8, 2.0, 1.9, 1.5, 0.9,
    ),
}  # fmt: skip


def months_before(end: date, months: int) -> date:
    """The date ``months`` calendar months before ``end`` (day clipped to the month)."""
    total = end.year * 12 + (end.month - 1) - months
    year, month = divmod(total, 12)
    month += 1
    day = end.day
    while True:
        try:
            return date(year, month, day)
        except ValueError:
            day -= 1


@dataclass(frozen=True)
class Window:
    """The simulated period ``[start, end)`` in a time zone."""

    start: date
    end: date
    tz: str
    days: int
    #: UTC epoch seconds of each local midnight, ``days + 1`` values.
    midnight_utc: np.ndarray

    @classmethod
    def build(cls, end: date, months: int, tz: str) -> Window:
        start = months_before(end, months)
        days = (end - start).days
        zone = ZoneInfo(tz)
        midnights = [
            int(datetime.combine(start + timedelta(days=d), datetime.min.time(), zone).timestamp())
            for d in range(days + 1)
        ]
        return cls(start, end, tz, days, np.asarray(midnights, dtype=np.int64))

    @property
    def end_utc_seconds(self) -> int:
        return int(self.midnight_utc[-1])

    def utc_seconds(self, x: np.ndarray) -> np.ndarray:
        """UTC epoch seconds of local times ``x`` (non-finite values give garbage: mask them).

        A day's fraction spans that day's real length (23 or 25 hours on daylight saving
        days), so the mapping is monotonic.
        """
        x = np.asarray(x, dtype=np.float64)
        safe = np.clip(np.where(np.isfinite(x), x, 0.0), 0.0, float(self.days))
        day = np.minimum(np.floor(safe).astype(np.int64), self.days - 1)
        length = self.midnight_utc[day + 1] - self.midnight_utc[day]
        return self.midnight_utc[day] + np.floor((safe - day) * length).astype(np.int64)

    def dates(self) -> list[date]:
        return [self.start + timedelta(days=d) for d in range(self.days)]

    def day_of(self, when: date) -> int:
        return (when - self.start).days


def _bump(weights: np.ndarray, window: Window, day: date, factor: float) -> None:
    i = window.day_of(day)
    if 0 <= i < window.days:
        weights[i] *= factor


def _bump_range(window: Window, weights: np.ndarray, a: date, b: date, factor: float) -> None:
    i, j = max(window.day_of(a), 0), min(window.day_of(b), window.days)
    if i < j:
        weights[i:j] *= factor


def seasonality(window: Window, locale: str) -> np.ndarray:
    """Daily purchase intensity multipliers, mean 1 over the window.

    zh_CN: 618 (June 1-18 x1.4, June 18 x4), Double 11 (Nov 1-10 x1.5, Nov 11 x6,
    Nov 12 x1.5), Double 12 (x2), Women's day March 8 (x2), 520 (x1.5), the three weeks
    before Chinese New Year x1.4 and its holiday week x0.5. en_US: Valentine's (Feb 7-14
    x1.2), Mother's day week x1.4, mid-July summer sale (x2), Black Friday (x5), Cyber
    Monday (x3), Thanksgiving weekend x2, December 1-23 x1.4, December 24-26 x0.6.
    Weekends x1.1 in both.
    """
    w = np.ones(window.days)
    dates = window.dates()
    weekday = np.array([d.weekday() for d in dates])
    w[weekday >= 5] *= 1.1
    years = range(window.start.year, window.end.year + 1)
    for y in years:
        if locale == "zh_CN":
            _bump_range(window, w, date(y, 6, 1), date(y, 6, 18), 1.4)
            _bump(w, window, date(y, 6, 18), 4.0)
            _bump_range(window, w, date(y, 11, 1), date(y, 11, 11), 1.5)
            _bump(w, window, date(y, 11, 11), 6.0)
            _bump(w, window, date(y, 11, 12), 1.5)
            _bump(w, window, date(y, 12, 12), 2.0)
            _bump(w, window, date(y, 3, 8), 2.0)
            _bump(w, window, date(y, 5, 20), 1.5)
            cny = CHINESE_NEW_YEAR.get(y)
            if cny is not None:
                _bump_range(window, w, cny - timedelta(days=21), cny - timedelta(days=1), 1.4)
                _bump_range(window, w, cny, cny + timedelta(days=7), 0.5)
        else:
            _bump_range(window, w, date(y, 2, 7), date(y, 2, 15), 1.2)
            may1 = date(y, 5, 1)
            mothers = may1 + timedelta(days=(6 - may1.weekday()) % 7 + 7)
            _bump_range(window, w, mothers - timedelta(days=7), mothers, 1.4)
            _bump_range(window, w, date(y, 7, 15), date(y, 7, 18), 2.0)
            nov1 = date(y, 11, 1)
            thanksgiving = nov1 + timedelta(days=(3 - nov1.weekday()) % 7 + 21)
            black_friday = thanksgiving + timedelta(days=1)
            _bump(w, window, black_friday, 5.0)
            _bump_range(
                window, w, black_friday + timedelta(days=1), black_friday + timedelta(days=3), 2.0
            )
            _bump(w, window, black_friday + timedelta(days=3), 3.0)
            _bump_range(window, w, date(y, 12, 1), date(y, 12, 24), 1.4)
            _bump_range(window, w, date(y, 12, 24), date(y, 12, 27), 0.6)
    return w / w.mean()


class Clock:
    """Samplers of local times built on a window, its seasonality and the daily rhythm."""

    def __init__(self, window: Window, locale: str, *, seasonal: bool = True) -> None:
        self.window = window
        self.season = (
            seasonality(window, locale) if seasonal else np.ones(window.days, dtype=np.float64)
        )
        # cumulative seasonal intensity at day boundaries: warped time for the processes
        self.warp = np.concatenate([[0.0], np.cumsum(self.season)])
        self.grid = np.arange(window.days + 1, dtype=np.float64)
        hourly = np.asarray(HOURLY[locale], dtype=np.float64)
        self.hour_cdf = np.cumsum(hourly) / hourly.sum()

    def warped(self, x: np.ndarray) -> np.ndarray:
        return np.interp(x, self.grid, self.warp)

    def unwarp(self, w: np.ndarray) -> np.ndarray:
        return np.interp(w, self.warp, self.grid)

    def time_of_day(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """Fractions of a day following the daily rhythm."""
        hour = np.searchsorted(self.hour_cdf, rng.random(n), side="right")
        return (np.minimum(hour, 23) + rng.random(n)) / 24.0

    def at_time_of_day(self, rng: np.random.Generator, x: np.ndarray) -> np.ndarray:
        """Keep each time's day, redraw its time of day."""
        return np.floor(x) + self.time_of_day(rng, len(x))

    def acquisition_days(
        self, rng: np.random.Generator, n: int, growth: float, limit: np.ndarray | None = None
    ) -> np.ndarray:
        """Days of acquisition: seasonal (square root) with a linear growth trend.

        ``limit`` (shares of the window, per draw) confines a draw to the window's first
        part.
        """
        days = self.window.days
        trend = 1.0 + growth * np.arange(days) / max(days - 1, 1)
        weights = np.sqrt(self.season) * trend
        cdf = np.cumsum(weights)
        cdf /= cdf[-1]
        u = rng.random(n)
        if limit is not None:
            cut = np.maximum(np.floor(limit * days).astype(np.int64), 1)
            u = u * cdf[cut - 1]
        return np.minimum(np.searchsorted(cdf, u, side="right"), days - 1)
