"""The BG/NBD sufficient statistics on the fixture company, on every engine.

Completed purchases of the fixture in UTC (see tests.analytics.test_rfm) and their local
day in Asia/Shanghai (UTC+8):

    c1   2023-03-10 12:00 100, 2023-09-15 12:00 200, 2024-02-10 12:00 150,
         2024-05-20 12:00 250                     → the same dates locally
    c2   2023-02-01 80
    c3   2021-05-01 120, 2024-03-03 90
    c4   2024-01-25 60, 2024-04-12 40 (70 paid, 30 refunded)
    c5   2024-06-01 300 (its cancelled and refunded orders are not purchases)
    c6   2023-12-31 16:00 UTC 50                  → 2024-01-01 00:00 local
    c7   2023-08-20 70
    c9   2022-11-15 30, 2024-06-30 16:00 UTC 500  → 2024-07-01 00:00 local
    c10  2024-06-30 15:59:59 UTC 20               → 2024-06-30 23:59:59 local

The calibration ends at END = 2024-06-30 16:00 UTC = 2024-07-01 00:00 local, so its last
day is 2024-06-30; the holdout ends at AS_OF = 2024-09-01 00:00 UTC = 08:00 local, its last
day 2024-09-01: 63 days after 2024-06-30.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from rapport.analytics.purchase_summary import SUMMARY_COLUMNS, local_day, purchase_summary
from rapport.analytics.sources import Sources
from rapport.errors import ValidationFailed
from tests.analytics import fixture_data as fx
from tests.analytics.conftest import execute

SHANGHAI = 8 * 3600
LAST = date(2024, 6, 30)


def days(a: date, b: date) -> float:
    return float((b - a).days)


def summary(sources: tuple[Sources, Any], **kwargs: Any) -> dict[int, dict[str, Any]]:
    src, con = sources
    rows = execute(con, purchase_summary(src, fx.END, **kwargs))
    return {r["customer_id"]: r for r in rows}


def row(first: date, x: int, last: date, monetary: float | None, hf=0, hm=0.0, hd=0.0):
    return {
        "first_day": (first - date(1970, 1, 1)).days,
        "frequency": x,
        "recency_days": days(first, last),
        "age_days": days(first, LAST),
        "monetary_value": monetary,
        "holdout_frequency": hf,
        "holdout_monetary": hm,
        "holdout_days": hd,
    }


def test_summary_in_local_days_with_holdout(sources):
    got = summary(sources, utc_offset_seconds=SHANGHAI, observation_end=fx.AS_OF)
    hd = days(LAST, date(2024, 9, 1))  # 63
    assert hd == 63
    expected = {
        # x = 3 repeat days; mean repeat value (200 + 150 + 250) / 3
        1: row(date(2023, 3, 10), 3, date(2024, 5, 20), 200.0, hd=hd),
        2: row(date(2023, 2, 1), 0, date(2023, 2, 1), None, hd=hd),
        3: row(date(2021, 5, 1), 1, date(2024, 3, 3), 90.0, hd=hd),
        # the repeat purchase's net amount after its partial refund
        4: row(date(2024, 1, 25), 1, date(2024, 4, 12), 40.0, hd=hd),
        5: row(date(2024, 6, 1), 0, date(2024, 6, 1), None, hd=hd),
        # 16:00 UTC on New Year's Eve is New Year's Day in Shanghai
        6: row(date(2024, 1, 1), 0, date(2024, 1, 1), None, hd=hd),
        7: row(date(2023, 8, 20), 0, date(2023, 8, 20), None, hd=hd),
        # the purchase at the calibration's end is the holdout's first day
        9: row(date(2022, 11, 15), 0, date(2022, 11, 15), None, hf=1, hm=500.0, hd=hd),
        # a second before the end: the last calibration day, so T = t_x = 0
        10: row(LAST, 0, LAST, None, hd=hd),
    }
    assert set(got) == set(expected)  # c8 never bought
    for cid, want in expected.items():
        have = {k: got[cid][k] for k in want}
        assert have == pytest.approx(want), cid
    assert list(next(iter(got.values()))) == list(SUMMARY_COLUMNS)


def test_summary_days_follow_the_utc_offset(sources):
    # In UTC, c6's purchase is on 2023-12-31 and c10's last calibration day is 2024-06-29:
    # the calibration ends at END = 2024-06-30 16:00 UTC, so its last UTC day is 06-30.
    got = summary(sources, utc_offset_seconds=0)
    assert got[6]["first_day"] == (date(2023, 12, 31) - date(1970, 1, 1)).days
    assert got[6]["age_days"] == days(date(2023, 12, 31), LAST)
    # no holdout: nothing counted after the calibration, and c9's purchase at END is out
    assert got[9]["holdout_frequency"] == 0
    assert got[9]["holdout_monetary"] == 0.0
    assert got[9]["holdout_days"] == 0.0


def test_holdout_must_end_after_calibration(sources):
    src, _ = sources
    with pytest.raises(ValidationFailed, match="holdout must end after"):
        purchase_summary(src, fx.END, observation_end=fx.END)


def test_local_day_numbers():
    from datetime import datetime

    assert local_day(datetime(1970, 1, 1, 15, 59), SHANGHAI) == 0
    assert local_day(datetime(1970, 1, 1, 16, 0), SHANGHAI) == 1
    assert local_day(datetime(1969, 12, 31, 23, 0), 0) == -1


def test_exact_resolution_keeps_times(sources):
    # Every purchase at its own instant; T runs to END = 2024-06-30 16:00 UTC itself.
    from datetime import datetime

    got = summary(sources, resolution="exact", observation_end=fx.AS_OF)

    def span(a: datetime, b: datetime) -> float:
        return (b - a).total_seconds() / 86400

    c1_first = datetime(2023, 3, 10, 12)
    assert got[1]["frequency"] == 3
    assert got[1]["recency_days"] == pytest.approx(span(c1_first, datetime(2024, 5, 20, 12)))
    assert got[1]["age_days"] == pytest.approx(span(c1_first, fx.END))  # … + 4 hours
    assert got[1]["monetary_value"] == pytest.approx(200.0)
    # one second before the end
    assert got[10]["age_days"] == pytest.approx(1 / 86400)
    # the purchase exactly at END is the holdout's
    assert got[9]["holdout_frequency"] == 1
    assert got[9]["holdout_monetary"] == 500.0
    assert got[9]["holdout_days"] == pytest.approx(span(fx.END, fx.AS_OF))  # 62 d 8 h
    assert got[6]["first_day"] == (date(2023, 12, 31) - date(1970, 1, 1)).days  # UTC day


def test_unknown_resolution(sources):
    src, _ = sources
    with pytest.raises(ValidationFailed, match="unknown time resolution"):
        purchase_summary(src, fx.END, resolution="hour")
