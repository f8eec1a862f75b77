"""Notes about a customer: free text staff write on the 360 card, append-only.

Notes live in ``customer_notes``, apart from the customer's row, so that an import or an
API ``PATCH`` of ``customers.extra`` cannot lose them. They are not interactions: they do
not count as contacts (the engagement degree, "last contacted"), and the analytics never
read them. Analysts never see their text (the card and the timeline leave it out for a
masked scope); the data-subject export lists them and an erasure deletes them
(:mod:`rapport.api.privacy`).
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Session

from rapport.errors import ValidationFailed
from rapport.store import schema
from rapport.store.db import rowcount
from rapport.store.repository import Repository, Row, utcnow

repo = Repository(schema.customer_notes, entity="customer note", key=None)

#: The longest note, in characters (the column's length).
MAX_NOTE_LENGTH = schema.NOTE_LENGTH

_n = schema.customer_notes.c


def clean_body(text: str) -> str:
    """A note's text as stored (trimmed); :class:`ValidationFailed` when it is empty, longer
    than :data:`MAX_NOTE_LENGTH` or not text."""
    body = text.strip()
    if not body or len(body) > MAX_NOTE_LENGTH or "\x00" in body:
        raise ValidationFailed(
            "customer_notes.body: a note is 1 to {maximum} characters of text (got {length})",
            table="customer_notes",
            field="body",
            value=body[:40],
            hint="write the note again in at most {maximum} characters",
            key="note_length",
            params={"maximum": MAX_NOTE_LENGTH, "length": len(body)},
        )
    return body


def add(
    *,
    session: Session,
    customer_id: int,
    body: str,
    author_id: int | None,
    at: dt.datetime | None = None,
) -> Row:
    """Write one note about the customer ``customer_id`` (trimmed; see :func:`clean_body`)
    by the user ``author_id``, at ``at`` (default now); returns the stored row."""
    values = {
        "customer_id": customer_id,
        "author_id": author_id,
        "body": clean_body(body),
        "created_at": at or utcnow(),
    }
    return repo.create(session=session, values=values)


def for_customer(*, session: Session, customer_id: int, limit: int = 50) -> list[Row]:
    """The customer's newest ``limit`` notes, newest first."""
    stmt = (
        sa.select(schema.customer_notes)
        .where(_n.customer_id == customer_id)
        .order_by(_n.created_at.desc(), _n.id.desc())
        .limit(limit)
    )
    return [dict(r) for r in session.execute(stmt).mappings()]


def delete_for_customer(*, session: Session, customer_id: int) -> int:
    """Delete every note about the customer (an erasure on request); returns how many."""
    with repo.writing(session):
        result = session.execute(
            sa.delete(schema.customer_notes).where(_n.customer_id == customer_id)
        )
    return rowcount(result)
