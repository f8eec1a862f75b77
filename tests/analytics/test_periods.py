"""Periods: parsing, lengths, relative periods and calendar buckets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest

from rapport.analytics.periods import Period, buckets
from rapport.errors import ValidationFailed
from tests.analytics import fixture_data as fx

D = datetime
AS_OF = D(2024, 9, 1)
SH = "Asia/Shanghai"


def sh(*args: int) -> datetime:
    """A Shanghai wall time (UTC+8, no DST) as naive UTC."""
    return D(*args) - timedelta(hours=8)


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("2024", sh(2024, 1, 1), sh(2025, 1, 1)),
        ("2024Q1", sh(2024, 1, 1), sh(2024, 4, 1)),
        ("2024q4", sh(2024, 10, 1), sh(2025, 1, 1)),
        ("2024-Q2", sh(2024, 4, 1), sh(2024, 7, 1)),
        ("2024-03", sh(2024, 3, 1), sh(2024, 4, 1)),
        ("2024-02", sh(2024, 2, 1), sh(2024, 3, 1)),
        ("2024-03-15", sh(2024, 3, 15), sh(2024, 3, 16)),
        # month ranges include both months; day ranges both days
        ("2024-01..2024-12", sh(2024, 1, 1), sh(2025, 1, 1)),
        ("2024-01-01..2024-03-31", sh(2024, 1, 1), sh(2024, 4, 1)),
        (" 2023Q4 .. 2024-02 ", sh(2023, 10, 1), sh(2024, 3, 1)),
    ],
)
def test_calendar_periods_are_local_midnights_in_utc(text, start, end):
    assert Period.parse(text, as_of=AS_OF, tz=SH) == Period(start, end)


def test_the_fixture_period_is_the_first_half_of_2024_in_shanghai():
    assert Period.parse("2024-01..2024-06", as_of=fx.AS_OF, tz=fx.TZ) == fx.PERIOD
    assert fx.PERIOD.days == 182
    assert fx.PERIOD.months == pytest.approx(182 / 30.4375)


def test_the_zone_moves_the_boundaries():
    assert Period.parse("2024", tz="UTC") == Period(D(2024, 1, 1), D(2025, 1, 1))
    # New York: -5 h in January, -4 h (daylight saving) in July
    ny = Period.parse("2024-01..2024-06", tz="America/New_York")
    assert ny == Period(D(2024, 1, 1, 5), D(2024, 7, 1, 4))
    assert Period.parse("2024", tz=ZoneInfo("Asia/Shanghai")).start == sh(2024, 1, 1)


@pytest.mark.parametrize(
    ("text", "start"),
    [
        ("90d", D(2024, 6, 3, 10)),
        ("12w", D(2024, 6, 9, 10)),
        ("6m", D(2024, 3, 1, 10)),
        ("1y", D(2023, 9, 1, 10)),
        ("1M", D(2024, 8, 1, 10)),
    ],
)
def test_relative_periods_end_at_as_of(text, start):
    as_of = D(2024, 9, 1, 10)
    assert Period.parse(text, as_of=as_of, tz=SH) == Period(start, as_of)


def test_a_month_back_from_a_months_end_is_clipped():
    # 2024-03-31 12:00 local - 1 month → 2024-02-29 12:00 local
    as_of = sh(2024, 3, 31, 12)
    assert Period.last(1, "month", as_of=as_of, tz=SH).start == sh(2024, 2, 29, 12)
    assert Period.last(3, "m", as_of=as_of, tz=SH).start == sh(2023, 12, 31, 12)


def test_as_of_may_be_aware_and_defaults_to_now():
    aware = D(2024, 9, 1, 18, tzinfo=ZoneInfo(SH))
    assert Period.parse("7d", as_of=aware, tz=SH) == Period(D(2024, 8, 25, 10), D(2024, 9, 1, 10))
    before = datetime.now(UTC).replace(tzinfo=None)
    recent = Period.parse("1d", tz=SH)
    assert before <= recent.end <= datetime.now(UTC).replace(tzinfo=None)
    assert recent.days == pytest.approx(1)


def test_lengths():
    p = Period(D(2024, 1, 1), D(2024, 1, 2, 12))
    assert p.days == 1.5
    assert p.months == pytest.approx(1.5 / 30.4375)
    assert Period(D(2024, 1, 1), D(2024, 1, 1)).days == 0


@pytest.mark.parametrize(
    "text",
    ["", "2024-13", "2024-02-30", "2024Q5", "last year", "24-01", "2024-06..2024-01", "0d", "5x"],
)
def test_unreadable_periods_name_the_text_and_the_accepted_forms(text):
    with pytest.raises(ValidationFailed) as caught:
        Period.parse(text, as_of=AS_OF, tz=SH)
    error = caught.value
    assert error.field == "period"
    if text:
        assert repr(text) in error.message or str(error.value) == text
    assert "2024Q1" in str(error) and "90d" in str(error)


def test_a_period_may_not_end_before_it_starts():
    with pytest.raises(ValidationFailed, match="before it starts"):
        Period(D(2024, 2, 1), D(2024, 1, 1))


def test_an_unknown_zone_is_refused():
    with pytest.raises(ValidationFailed, match="time zone"):
        Period.parse("2024", tz="Mars/Olympus")


# --- buckets ----------------------------------------------------------------------------


def test_monthly_buckets_of_a_year():
    year = Period.parse("2024", tz=SH)
    months = buckets(year, "month", tz=SH)
    assert len(months) == 12
    assert months[0] == Period(sh(2024, 1, 1), sh(2024, 2, 1))
    assert months[1].end == sh(2024, 3, 1)  # leap February
    assert months[-1].end == year.end
    assert all(a.end == b.start for a, b in pairwise(months))


def test_buckets_are_clipped_to_the_period():
    # 2024-01-10 .. 2024-03-05 by month: [Jan 10, Feb 1), [Feb 1, Mar 1), [Mar 1, Mar 6)
    p = Period.parse("2024-01-10..2024-03-05", tz=SH)
    assert buckets(p, "month", tz=SH) == [
        Period(sh(2024, 1, 10), sh(2024, 2, 1)),
        Period(sh(2024, 2, 1), sh(2024, 3, 1)),
        Period(sh(2024, 3, 1), sh(2024, 3, 6)),
    ]


def test_weeks_are_iso_weeks_starting_monday():
    # 2024-01-01 is a Monday; 2024-01-01 .. 2024-01-17 → weeks of Jan 1, Jan 8, Jan 15 (clipped)
    p = Period.parse("2024-01-01..2024-01-17", tz=SH)
    weeks = buckets(p, "week", tz=SH)
    assert [w.start for w in weeks] == [sh(2024, 1, 1), sh(2024, 1, 8), sh(2024, 1, 15)]
    assert weeks[-1].end == sh(2024, 1, 18)
    # A period starting on a Wednesday: the first week is clipped to start there
    mid = Period.parse("2024-01-03..2024-01-09", tz=SH)
    assert buckets(mid, "week", tz=SH) == [
        Period(sh(2024, 1, 3), sh(2024, 1, 8)),
        Period(sh(2024, 1, 8), sh(2024, 1, 10)),
    ]


@pytest.mark.parametrize(
    ("granularity", "count"), [("day", 366), ("week", 53), ("quarter", 4), ("year", 1)]
)
def test_bucket_counts_of_2024(granularity, count):
    # 2024 is a leap year; Jan 1 is a Monday and Dec 30 starts the 53rd (clipped) week
    year = Period.parse("2024", tz=SH)
    got = buckets(year, granularity, tz=SH)
    assert len(got) == count
    assert got[0].start == year.start and got[-1].end == year.end


def test_buckets_of_a_relative_period_start_mid_day():
    p = Period(sh(2024, 3, 10, 15), sh(2024, 3, 12, 9))
    assert buckets(p, "day", tz=SH) == [
        Period(sh(2024, 3, 10, 15), sh(2024, 3, 11)),
        Period(sh(2024, 3, 11), sh(2024, 3, 12)),
        Period(sh(2024, 3, 12), sh(2024, 3, 12, 9)),
    ]


def test_buckets_of_an_empty_period_and_an_unknown_granularity():
    assert buckets(Period(D(2024, 1, 1), D(2024, 1, 1)), "month") == []
    with pytest.raises(ValidationFailed, match="granularity") as caught:
        buckets(fx.PERIOD, "fortnight")
    assert "quarter" in caught.value.hint
