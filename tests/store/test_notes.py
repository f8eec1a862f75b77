"""Notes about a customer in their own table: written and read newest first, out of reach
of writes to ``customers.extra``, exported and erased with the customer, on the card's
timeline (never with their text for a masked scope). (That the analytics never read them,
so that they are no contacts, is tests/analytics/test_tables.py's.)"""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from rapport import customer360
from rapport.api.privacy import erase_customer, export_customer
from rapport.errors import ValidationFailed
from rapport.store import customers, interactions, notes, schema

from .factories import T0, customer, user


def test_notes_are_read_newest_first_with_their_author(session: Session) -> None:
    row = customer(session)
    author = user(session)
    first = notes.add(
        session=session, customer_id=row["id"], body="  回访:对新品感兴趣 ", author_id=author["id"]
    )
    later = notes.add(
        session=session,
        customer_id=row["id"],
        body="second\nline",
        author_id=None,
        at=dt.datetime.now(dt.UTC) + dt.timedelta(days=1),
    )
    assert first["body"] == "回访:对新品感兴趣"
    assert first["author_id"] == author["id"]
    read = notes.for_customer(session=session, customer_id=row["id"], limit=10)
    assert [n["id"] for n in read] == [later["id"], first["id"]]
    assert read[0]["created_at"] == later["created_at"] > first["created_at"]
    assert notes.for_customer(session=session, customer_id=row["id"], limit=1) == read[:1]
    assert notes.for_customer(session=session, customer_id=customer(session)["id"]) == []


@pytest.mark.parametrize("body", ["   ", "x" * (notes.MAX_NOTE_LENGTH + 1), "a\x00b"])
def test_a_note_is_one_to_2000_characters_of_text(session: Session, body: str) -> None:
    row = customer(session)
    with pytest.raises(ValidationFailed, match="1 to 2000 characters") as caught:
        notes.add(session=session, customer_id=row["id"], body=body, author_id=None)
    assert (caught.value.table, caught.value.field) == ("customer_notes", "body")
    assert notes.for_customer(session=session, customer_id=row["id"]) == []
    longest = "字" * notes.MAX_NOTE_LENGTH
    stored = notes.add(session=session, customer_id=row["id"], body=longest, author_id=None)
    assert stored["body"] == longest


def test_a_note_needs_an_existing_customer_and_author(session: Session) -> None:
    row = customer(session)
    with pytest.raises(ValidationFailed, match="no customers row"):
        notes.add(session=session, customer_id=row["id"] + 10_000, body="x", author_id=None)
    with pytest.raises(ValidationFailed, match="no users row"):
        notes.add(session=session, customer_id=row["id"], body="x", author_id=987_654)


def test_writing_extra_or_tags_keeps_the_notes(session: Session) -> None:
    row = customer(session, extra={"会员卡号": "M-1"})
    notes.add(session=session, customer_id=row["id"], body="keep me", author_id=None)
    customers.repo.update(session=session, id=row["id"], values={"extra": {"x": 1}})
    customers.repo.update(session=session, id=row["id"], values={"extra": None, "tags": ["VIP"]})
    assert [n["body"] for n in notes.for_customer(session=session, customer_id=row["id"])] == [
        "keep me"
    ]


def test_a_removed_author_leaves_the_note_without_one(session: Session) -> None:
    row = customer(session)
    author = user(session)
    note = notes.add(session=session, customer_id=row["id"], body="x", author_id=author["id"])
    session.execute(sa.delete(schema.users).where(schema.users.c.id == author["id"]))
    session.expire_all()
    (kept,) = notes.for_customer(session=session, customer_id=row["id"])
    assert kept["id"] == note["id"] and kept["author_id"] is None


def test_export_lists_the_notes_and_erasure_deletes_them(session: Session) -> None:
    row, other = customer(session), customer(session)
    mine = notes.add(session=session, customer_id=row["id"], body="住在三楼", author_id=None)
    theirs = notes.add(session=session, customer_id=other["id"], body="other", author_id=None)
    records = export_customer(session=session, customer_id=row["id"])["records"]
    assert [(n["id"], n["body"]) for n in records["customer_notes"]] == [(mine["id"], "住在三楼")]
    _, touched = erase_customer(session=session, customer_id=row["id"])
    assert touched["customer_notes"] == 1
    assert notes.for_customer(session=session, customer_id=row["id"]) == []
    assert [n["id"] for n in notes.for_customer(session=session, customer_id=other["id"])] == [
        theirs["id"]
    ]
    assert "customer_notes" not in erase_customer(session=session, customer_id=row["id"])[1]


def test_notes_join_the_timeline_without_their_text_for_a_masked_scope(
    session: Session,
) -> None:
    row = customer(session)
    call = interactions.repo.create(
        session=session,
        values={
            "customer_id": row["id"],
            "channel": "phone",
            "direction": "outbound",
            "subject": "回访",
            "occurred_at": T0,
        },
    )
    note = notes.add(
        session=session,
        customer_id=row["id"],
        body="喜欢周末送货",
        author_id=None,
        at=T0 + dt.timedelta(hours=1),
    )
    shown = customer360.customer_timeline(
        session=session, customer_id=row["id"], limit=10, masked=False
    )
    assert [(e["source"], e["entry_id"], e["detail"]) for e in shown] == [
        ("notes", note["id"], "喜欢周末送货"),
        ("interactions", call["id"], "回访"),
    ]
    assert shown[0]["at"] == (T0 + dt.timedelta(hours=1)).astimezone(dt.UTC)
    masked = customer360.customer_timeline(
        session=session, customer_id=row["id"], limit=10, masked=True
    )
    assert [(e["source"], e["detail"]) for e in masked] == [
        ("notes", None),
        ("interactions", None),
    ]
    newest = customer360.customer_timeline(
        session=session, customer_id=row["id"], limit=1, masked=False
    )
    assert [e["source"] for e in newest] == ["notes"]
