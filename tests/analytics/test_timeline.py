"""A customer's timeline merged from orders, interactions, tickets, surveys and events, on
every engine."""

from __future__ import annotations

from datetime import datetime

from rapport.analytics.timeline import timeline


def test_timeline_merges_the_sources_newest_first(sources) -> None:
    src, con = sources
    rows = con.to_pyarrow(timeline(src, 1, limit=6)).to_pylist()
    got = [(r["at"], r["source"], r["kind"], r["detail"], r["value"], r["entry_id"]) for r in rows]
    D = datetime
    assert got == [
        (D(2024, 5, 20, 12), "orders", "completed", "tmall", 250.0, 4),
        (D(2024, 5, 10, 12), "survey_responses", "csat", "1–5", 3.0, 9),
        # the same instant: interactions before survey answers (the order of SOURCES)
        (D(2024, 5, 1, 12), "interactions", "visit", "咨询", None, 3),
        (D(2024, 5, 1, 12), "survey_responses", "nps", "0–10", 10.0, 2),
        (D(2024, 3, 1, 12), "survey_responses", "perceived_value", "0–10", 8.0, 15),
        (D(2024, 2, 20, 8), "tickets", "complaint", "resolved", None, 1),
    ]


def test_timeline_before_a_moment_and_of_a_customer_without_rows(sources) -> None:
    src, con = sources
    rows = con.to_pyarrow(timeline(src, 4, limit=10, before=datetime(2024, 1, 1))).to_pylist()
    assert [(r["source"], r["entry_id"]) for r in rows] == [("interactions", 7), ("tickets", 6)]
    assert con.to_pyarrow(timeline(src, 999)).num_rows == 0
