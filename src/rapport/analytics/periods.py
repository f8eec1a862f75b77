"""Analysis periods: half-open ``[start, end)`` intervals of naive UTC instants.

Calendar periods ("2024", "2024Q1", "2024-03", "2024-01..2024-12") start and end at local
midnight in the business time zone (default Asia/Shanghai) and are stored converted to UTC,
so "March 2024" in Shanghai is ``[2024-02-29 16:00, 2024-03-31 16:00)`` UTC. Relative
periods ("90d", "12w", "6m", "1y") end exactly at ``as_of`` and start the same number of
local calendar days, weeks, months or years earlier.

Examples
--------
>>> from datetime import datetime
>>> Period.parse("2024Q1", as_of=datetime(2024, 6, 1), tz="UTC")
Period(start=datetime.datetime(2024, 1, 1, 0, 0), end=datetime.datetime(2024, 4, 1, 0, 0))
>>> quarter = Period.parse("2024Q1", tz="UTC")
>>> [b.start.month for b in buckets(quarter, "month", tz="UTC")]
[1, 2, 3]
>>> Period.parse("2024-03", tz="Asia/Shanghai").start
datetime.datetime(2024, 2, 29, 16, 0)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from rapport.errors import ValidationFailed

DEFAULT_TZ = "Asia/Shanghai"
#: Mean length of a Gregorian month in days (365.25 / 12).
DAYS_PER_MONTH = 30.4375
GRANULARITIES = ("day", "week", "month", "quarter", "year")
RELATIVE_UNITS = {"d": "day", "w": "week", "m": "month", "y": "year"}
ACCEPTED_FORMS = (
    "2024 (a year), 2024Q1 (a quarter), 2024-03 (a month), 2024-03-15 (a day), "
    "FROM..TO of those forms, both ends inclusive (2024-01..2024-12, "
    "2024-01-01..2024-03-31), or the last N days/weeks/months/years ending at as_of "
    "(90d, 12w, 6m, 1y)"
)

_YEAR = re.compile(r"^(\d{4})$")
_QUARTER = re.compile(r"^(\d{4})-?[Qq]([1-4])$")
_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")
_DAY = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_RELATIVE = re.compile(r"^(\d+)\s*([dwmy])$", re.IGNORECASE)


def _zone(tz: str | ZoneInfo) -> ZoneInfo:
    if isinstance(tz, ZoneInfo):
        return tz
    try:
        return ZoneInfo(tz)
    except (KeyError, ValueError) as exc:
        raise ValidationFailed(
            "unknown time zone {tz!r}",
            field="tz",
            value=tz,
            hint="use an IANA name",
            key="timezone_unknown",
            params={"tz": tz},
        ) from exc


def to_utc(local: datetime, zone: ZoneInfo) -> datetime:
    """A naive local wall time in ``zone`` as a naive UTC instant."""
    return local.replace(tzinfo=zone).astimezone(UTC).replace(tzinfo=None)


def day_end(day: date, tz: str | ZoneInfo) -> datetime:
    """The end of the local day ``day`` in ``tz`` (the next local midnight) as naive UTC:
    the as-of moment of a snapshot of that day and of a report about it."""
    zone = tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz)
    return to_utc(datetime.combine(day + timedelta(days=1), time()), zone)


def to_local(instant: datetime, zone: ZoneInfo) -> datetime:
    """A naive UTC instant as a naive local wall time in ``zone``."""
    return instant.replace(tzinfo=UTC).astimezone(zone).replace(tzinfo=None)


def _naive_utc(value: datetime) -> datetime:
    """Aware datetimes are converted to UTC; naive ones are taken as UTC already."""
    if value.tzinfo is None:
        return value
    return value.astimezone(UTC).replace(tzinfo=None)


def _add_months(value: datetime, months: int) -> datetime:
    """``value`` moved by whole calendar months, the day clipped to the month's length."""
    index = value.year * 12 + value.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    next_first = date(year + (month == 12), month % 12 + 1, 1)
    last_day = (next_first - timedelta(days=1)).day
    return value.replace(year=year, month=month, day=min(value.day, last_day))


def _shift(local: datetime, n: int, unit: str) -> datetime:
    """Local wall time ``local`` moved by ``n`` units (negative: back in time)."""
    if unit == "day":
        return local + timedelta(days=n)
    if unit == "week":
        return local + timedelta(weeks=n)
    if unit == "month":
        return _add_months(local, n)
    if unit == "quarter":
        return _add_months(local, 3 * n)
    if unit == "year":
        return _add_months(local, 12 * n)
    raise _granularity_error(unit)


def _floor(local: datetime, unit: str) -> datetime:
    """Start of the calendar ``unit`` containing local wall time ``local``."""
    day = local.replace(hour=0, minute=0, second=0, microsecond=0)
    if unit == "day":
        return day
    if unit == "week":
        return day - timedelta(days=day.weekday())
    if unit == "month":
        return day.replace(day=1)
    if unit == "quarter":
        return day.replace(month=(day.month - 1) // 3 * 3 + 1, day=1)
    if unit == "year":
        return day.replace(month=1, day=1)
    raise _granularity_error(unit)


def _granularity_error(unit: str) -> ValidationFailed:
    return ValidationFailed(
        "unknown granularity {unit!r}",
        field="granularity",
        value=unit,
        hint="use one of: {choices}",
        key="granularity_unknown",
        params={"unit": unit, "choices": ", ".join(GRANULARITIES)},
    )


def _bad_period(text: str, why: str | None = None) -> ValidationFailed:
    # ``why`` (Python's reason for a date that does not exist, or ours) is shown in Chinese
    # through rapport.i18n.errors.TEXTS
    return ValidationFailed(
        "cannot read the period {text!r}: {why}" if why else "cannot read the period {text!r}",
        field="period",
        value=text,
        hint="use {forms}",
        key="period_unreadable_because" if why else "period_unreadable",
        params={"text": text, "why": why, "forms": ACCEPTED_FORMS},
        hint_key="period.hint",
    )


def _calendar(part: str, text: str) -> tuple[datetime, datetime]:
    """Local ``[first, after_last)`` wall times of one calendar form (year … day)."""
    try:
        if m := _YEAR.match(part):
            first = datetime(int(m[1]), 1, 1)
            return first, _add_months(first, 12)
        if m := _QUARTER.match(part):
            first = datetime(int(m[1]), 3 * int(m[2]) - 2, 1)
            return first, _add_months(first, 3)
        if m := _MONTH.match(part):
            first = datetime(int(m[1]), int(m[2]), 1)
            return first, _add_months(first, 1)
        if m := _DAY.match(part):
            first = datetime(int(m[1]), int(m[2]), int(m[3]))
            return first, first + timedelta(days=1)
    except ValueError as exc:  # month 13, February 30 …
        raise _bad_period(text, str(exc)) from exc
    raise _bad_period(text)


@dataclass(frozen=True, slots=True)
class Period:
    """A half-open interval ``[start, end)`` of naive UTC datetimes.

    Parameters
    ----------
    start, end
        Naive datetimes in UTC (aware ones are converted), ``start <= end``. A period with
        ``start == end`` is empty: every count over it is 0 and every rate null.
    """

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        object.__setattr__(self, "start", _naive_utc(self.start))
        object.__setattr__(self, "end", _naive_utc(self.end))
        if self.end < self.start:
            raise ValidationFailed(
                "period ends ({end}) before it starts ({start})",
                field="period",
                hint="give the earlier time first",
                key="period_reversed",
                params={"end": self.end, "start": self.start},
            )

    @property
    def days(self) -> float:
        """Length in days (fractional)."""
        return (self.end - self.start).total_seconds() / 86400

    @property
    def months(self) -> float:
        """Length in mean months: ``days / 30.4375``."""
        return self.days / DAYS_PER_MONTH

    def __str__(self) -> str:
        return f"[{self.start.isoformat()}, {self.end.isoformat()})"

    @classmethod
    def parse(
        cls,
        text: str,
        *,
        as_of: datetime | None = None,
        tz: str | ZoneInfo = DEFAULT_TZ,
    ) -> Period:
        """Read a period written as in the CLI and the API.

        Parameters
        ----------
        text
            ``"2024"``, ``"2024Q1"``, ``"2024-03"``, ``"2024-03-15"``, a range ``FROM..TO`` of
            those forms with both ends inclusive (``"2024-01..2024-12"`` is
            ``[2024-01-01, 2025-01-01)`` local), or a relative ``"90d"``, ``"12w"``, ``"6m"``,
            ``"1y"`` ending at ``as_of``.
        as_of
            End of relative periods (naive UTC or aware); default: now.
        tz
            The business time zone whose midnights bound calendar periods.

        Returns
        -------
        Period
            With UTC boundaries.

        Raises
        ------
        ValidationFailed
            Naming the text and the accepted forms.
        """
        zone = _zone(tz)
        clean = text.strip() if isinstance(text, str) else ""
        if not clean:
            raise _bad_period(str(text))
        if m := _RELATIVE.match(clean):
            if int(m[1]) <= 0:
                raise _bad_period(text, "a relative period needs a positive length")
            return cls.last(int(m[1]), RELATIVE_UNITS[m[2].lower()], as_of=as_of, tz=zone)
        if ".." in clean:
            left, _, right = clean.partition("..")
            first, _ = _calendar(left.strip(), text)
            _, after = _calendar(right.strip(), text)
            if after <= first:
                raise _bad_period(text, "the range ends before it starts")
        else:
            first, after = _calendar(clean, text)
        return cls(to_utc(first, zone), to_utc(after, zone))

    @classmethod
    def last(
        cls,
        n: int,
        unit: str,
        *,
        as_of: datetime | None = None,
        tz: str | ZoneInfo = DEFAULT_TZ,
    ) -> Period:
        """The last ``n`` days, weeks, months, quarters or years ending at ``as_of``.

        The start is ``as_of`` moved back ``n`` local calendar units (a month back from
        March 31 is February 29 or 28); the end is ``as_of`` itself.
        """
        unit = RELATIVE_UNITS.get(unit, unit)
        if unit not in GRANULARITIES:
            raise _granularity_error(unit)
        if n <= 0:
            raise ValidationFailed(
                "a relative period needs a positive length, not {n}",
                field="period",
                value=n,
                hint="use {forms}",
                key="period_not_positive",
                params={"n": n, "forms": ACCEPTED_FORMS},
                hint_key="period.hint",
            )
        zone = _zone(tz)
        end = _naive_utc(as_of) if as_of is not None else datetime.now(UTC).replace(tzinfo=None)
        start = to_utc(_shift(to_local(end, zone), -n, unit), zone)
        return cls(start, end)


def buckets(period: Period, granularity: str, *, tz: str | ZoneInfo = DEFAULT_TZ) -> list[Period]:
    """Split ``period`` at the local calendar boundaries of ``granularity``.

    Parameters
    ----------
    period
        The period to split.
    granularity
        ``day``, ``week`` (ISO weeks, starting Monday), ``month``, ``quarter`` or ``year``.
    tz
        The zone whose local midnights are the boundaries.

    Returns
    -------
    list[Period]
        Consecutive, non-overlapping periods covering ``period`` exactly; the first and last
        are clipped to it. Empty for an empty period.
    """
    if granularity not in GRANULARITIES:
        raise _granularity_error(granularity)
    zone = _zone(tz)
    out: list[Period] = []
    local = _floor(to_local(period.start, zone), granularity)
    while True:
        lo = to_utc(local, zone)
        if lo >= period.end:
            break
        local = _shift(local, 1, granularity)
        lo, hi = max(lo, period.start), min(to_utc(local, zone), period.end)
        if lo < hi:
            out.append(Period(lo, hi))
    return out
