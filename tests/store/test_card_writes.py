"""What the 360 card reads and writes in the store besides the repositories: the newest
loyalty entries, and a customer's tags and notes (kept in ``customers`` itself)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.orm import Session

from rapport.domain import LoyaltyReason
from rapport.errors import ValidationFailed
from rapport.store import customers, loyalty
from rapport.store.customers import (
    MAX_NOTE_LENGTH,
    MAX_TAG_LENGTH,
    MAX_TAGS,
    NOTES_KEY,
    TagProblem,
    notes_of,
    tag_problem,
    with_note,
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


def test_notes_append_to_extra_and_keep_its_other_keys(session: Session) -> None:
    row = customer(session, extra={"会员卡号": "M-1"})
    extra = with_note(row["extra"], text="  回访:对新品感兴趣 ", at=T0, by=7)
    extra = with_note(extra, text="second", at=T0 + dt.timedelta(hours=1), by=8)
    customers.repo.update(session=session, id=row["id"], values={"extra": extra})
    stored = customers.repo.get(session=session, id=row["id"])
    assert stored["extra"]["会员卡号"] == "M-1"
    notes = notes_of(stored)
    assert [n["text"] for n in notes] == ["回访:对新品感兴趣", "second"]
    assert notes[0]["by"] == 7
    assert dt.datetime.fromisoformat(notes[0]["at"]) == T0
    assert set(stored["extra"]) == {"会员卡号", NOTES_KEY}
    for bad in ("   ", "x" * (MAX_NOTE_LENGTH + 1)):
        with pytest.raises(ValidationFailed):
            with_note(extra, text=bad, at=T0, by=7)
    assert notes_of({"extra": None}) == [] and notes_of({"extra": {"notes": "x"}}) == []
