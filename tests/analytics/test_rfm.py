"""RFM values on the fixture company, worked out by hand (see tests.analytics.fixture_data).

Completed purchases (net amount) of the fixture, in UTC:

    c1   2023-03-10 12:00 100, 2023-09-15 12:00 200, 2024-02-10 12:00 150, 2024-05-20 12:00 250
    c2   2023-02-01 12:00 80
    c3   2021-05-01 12:00 120, 2024-03-03 12:00 90
    c4   2024-01-25 12:00 60, 2024-04-12 12:00 40 (70 paid, 30 refunded)
    c5   2024-06-01 12:00 300 (its cancelled and refunded orders are not purchases)
    c6   2023-12-31 16:00:00 50 (= PERIOD.start)
    c7   2023-08-20 12:00 70
    c8   none (one cancelled order)
    c9   2022-11-15 12:00 30, 2024-06-30 16:00:00 500 (= PERIOD.end)
    c10  2024-06-30 15:59:59 20

recency_days counts calendar days (UTC) from the day of the last purchase to the day of
as_of; the window is [as_of - window_days, as_of).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import ibis.expr.datatypes as dt
import pytest

from rapport.analytics.rfm import rfm_values
from rapport.analytics.sources import Sources
from rapport.errors import ValidationFailed
from tests.analytics import fixture_data as fx
from tests.analytics.conftest import execute
from tests.analytics.memory import memory_sources
from tests.analytics.test_metrics import (
    test_metric_code_is_engine_blind_and_runs_nothing_outside_execute as engine_blind,
)

COLUMNS = ("customer_id", "recency_days", "frequency", "monetary")


def rfm(sources: tuple[Sources, Any], as_of: datetime, window_days: int) -> list[tuple]:
    src, con = sources
    rows = execute(con, rfm_values(src, as_of, window_days=window_days))
    return sorted(tuple(r[c] for c in COLUMNS) for r in rows)


def test_rfm_one_year_to_period_end(sources):
    # as_of = 2024-06-30 16:00, window [2023-07-01 16:00, 2024-06-30 16:00): the E base.
    # c1: 200 + 150 + 250 (2023-03-10 is before the window); last 2024-05-20:
    #     May 20 → May 31 = 11, + 30 days of June = 41
    # c3: 90 (2021 is outside); Mar 3 → Mar 31 = 28, + 30 + 31 + 30 = 119
    # c4: 60 + 40 = 100; Apr 12 → Apr 30 = 18, + 31 + 30 = 79
    # c5: 300 only (cancelled and refunded orders do not count); Jun 1 → Jun 30 = 29
    # c6: 50 on 2023-12-31; 31 + 29 + 31 + 30 + 31 + 30 = 182
    # c7: 70 on 2023-08-20; 11 + 30 + 31 + 30 + 31 + 31 + 29 + 31 + 30 + 31 + 30 = 315
    # c10: 20 a second before as_of, the same UTC day: 0
    # c9's purchase at exactly as_of has not happened yet; c2, c8: no purchase in the window.
    assert rfm(sources, fx.PERIOD.end, 365) == [
        (1, 41, 3, 600.0),
        (3, 119, 1, 90.0),
        (4, 79, 2, 100.0),
        (5, 29, 1, 300.0),
        (6, 182, 1, 50.0),
        (7, 315, 1, 70.0),
        (10, 0, 1, 20.0),
    ]


def test_rfm_window_start_is_inclusive(sources):
    # 182 days before 2024-06-30 16:00 is 2023-12-31 16:00 = c6's purchase: in the window,
    # which is PERIOD. c7 (2023-08-20) and c1's 2023-09-15 purchase fall out.
    # 8 purchases, 960.00, by 6 buyers — as in test_metrics.
    rows = rfm(sources, fx.PERIOD.end, 182)
    assert rows == [
        (1, 41, 2, 400.0),
        (3, 119, 1, 90.0),
        (4, 79, 2, 100.0),
        (5, 29, 1, 300.0),
        (6, 182, 1, 50.0),
        (10, 0, 1, 20.0),
    ]
    assert sum(r[2] for r in rows) == 8
    assert sum(r[3] for r in rows) == 960.0


def test_rfm_recency_in_calendar_days(sources):
    # as_of = AS_OF = 2024-09-01 00:00, window [2023-09-02, 2024-09-01).
    # c1: 200 + 150 + 250; May 20 → Sep 1 = 11 + 30 + 31 + 31 + 1 = 104
    # c3: Mar 3 → Sep 1 = 28 + 30 + 31 + 30 + 31 + 31 + 1 = 182
    # c4: Apr 12 → Sep 1 = 18 + 31 + 30 + 31 + 31 + 1 = 142
    # c5: Jun 1 → Sep 1 = 29 + 31 + 31 + 1 = 92
    # c6: Dec 31 → Sep 1 = 31 + 29 + 31 + 30 + 31 + 30 + 31 + 31 + 1 = 245
    # c9: 500 on 2024-06-30 16:00 and c10: 20 on 2024-06-30 15:59:59 — the same day, so
    #     both 63 (Jun 30 → Sep 1 = 31 + 31 + 1) although one bought 1 s before the other
    # c7 (2023-08-20) is before the window; c9's 2022 purchase too.
    assert rfm(sources, fx.AS_OF, 365) == [
        (1, 104, 3, 600.0),
        (3, 182, 1, 90.0),
        (4, 142, 2, 100.0),
        (5, 92, 1, 300.0),
        (6, 245, 1, 50.0),
        (9, 63, 1, 500.0),
        (10, 63, 1, 20.0),
    ]


def test_rfm_empty_window(sources):
    # Nothing was bought in [2029-12-02, 2030-01-01): no rows, not zeros.
    assert rfm(sources, datetime(2030, 1, 1), 30) == []


def test_rfm_aware_as_of_is_utc():
    # 2024-07-01 00:00 in Shanghai is 2024-06-30 16:00 UTC: the first test's as_of.
    shanghai = fx.PERIOD.end.replace(tzinfo=UTC).astimezone(ZoneInfo(fx.TZ))
    assert rfm(memory_sources(), shanghai, 365) == rfm(memory_sources(), fx.PERIOD.end, 365)


def test_rfm_schema():
    src, _ = memory_sources()
    schema = rfm_values(src, fx.AS_OF, window_days=365).schema()
    assert tuple(schema.names) == COLUMNS
    assert [t.copy(nullable=True) for t in schema.types] == [
        dt.int64,
        dt.int64,
        dt.int64,
        dt.float64,
    ]


@pytest.mark.parametrize("window_days", [0, -30])
def test_rfm_needs_a_positive_window(window_days):
    src, _ = memory_sources()
    with pytest.raises(ValidationFailed, match="positive number of days"):
        rfm_values(src, fx.AS_OF, window_days=window_days)


def test_rfm_code_is_engine_blind_and_runs_nothing():
    engine_blind("rfm.py")
