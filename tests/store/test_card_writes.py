"""What the 360 card reads and writes in the store besides the repositories: the newest
loyalty entries, and a customer's tags (kept in ``customers`` itself; notes are
tests/store/test_notes.py's)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.orm import Session

from rapport.domain import LoyaltyReason
from rapport.errors import ValidationFailed
from rapport.store import customers, loyalty
from rapport.store.customers import (
    MAX_TAG_LENGTH,
    MAX_TAGS,
    TagProblem,
    tag_problem,
    with_tag,
    without_tag,
)

from .factories import T0, customer


def test_latest_entries_are_the_customers_newest_first(session: Session) -> None:
    a, b = customer(session), customer(session)
    for days, points in ((0, 100), (2, 50), (1, 70), (2, 5)):
        loyalty.append(
            session=session,
            values={
                "customer_id": a["id"],
                "points": points,
                "reason": LoyaltyReason.PURCHASE,
                "occurred_at": T0 + dt.timedelta(days=days),
            },
        )
    loyalty.append(
        session=session,
        values={
            "customer_id": b["id"],
            "points": 999,
            "reason": LoyaltyReason.BONUS,
            "occurred_at": T0 + dt.timedelta(days=9),
        },
    )
    latest = loyalty.latest_entries(session=session, customer_id=a["id"], limit=3)
    # the two entries of day 2 newest id first, then day 1; b's entry never
    assert [e["points"] for e in latest] == [5, 50, 70]
    assert all(e["customer_id"] == a["id"] for e in latest)
    assert (
        loyalty.latest_entries(session=session, customer_id=a["id"], limit=10)[-1]["points"] == 100
    )
    assert loyalty.balance(session=session, customer_id=a["id"]) == sum(
        e["points"] for e in loyalty.latest_entries(session=session, customer_id=a["id"])
    )


def test_tags_are_trimmed_kept_once_and_limited() -> None:
    assert with_tag(None, "  高价值   客户 ") == ["高价值 客户"]
    assert with_tag(["VIP"], " VIP ") == ["VIP"]  # already there: unchanged
    assert with_tag(["VIP"], "生日月") == ["VIP", "生日月"]
    assert without_tag(["VIP", "生日月"], " VIP") == ["生日月"]
    assert tag_problem([], "   ") is TagProblem.EMPTY
    assert tag_problem([], "x" * (MAX_TAG_LENGTH + 1)) is TagProblem.TOO_LONG
    assert tag_problem([], "x" * MAX_TAG_LENGTH) is None
    full = [f"t{i}" for i in range(MAX_TAGS)]
    assert tag_problem(full, "one more") is TagProblem.TOO_MANY
    assert tag_problem(full, "t3") is None  # a tag it has: no change, no problem
    assert tag_problem([], "a\x00b") is TagProblem.NOT_TEXT
    with pytest.raises(ValidationFailed) as refused:
        with_tag(full, "one more")
    assert refused.value.field == "tags"


def test_a_tag_list_round_trips_through_the_customer_update(session: Session) -> None:
    row = customer(session, tags=["VIP"])
    tags = with_tag(row["tags"], " 生日月 ")
    updated = customers.repo.update(session=session, id=row["id"], values={"tags": tags})
    assert customers.repo.get(session=session, id=row["id"])["tags"] == ["VIP", "生日月"]
    found = customers.search(session=session, text="生日月")
    assert [r["id"] for r in found] == [updated["id"]]
