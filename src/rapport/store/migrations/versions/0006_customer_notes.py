"""Notes about a customer in their own table.

``customer_notes`` holds one row per note staff write on the 360 card: the customer, the
author (``NULL`` once the user is removed), the text (1 to 2,000 characters) and when it
was written. Until now notes were a list under the ``notes`` key of ``customers.extra``,
which an import with extra columns or an API ``PATCH`` of ``extra`` replaces whole, losing
them. The upgrade moves every note found there into the table (the author kept when that
user still exists) and removes the key from ``extra`` (``extra`` becomes ``NULL`` when
nothing else was in it). An entry that is no note (not an object with a text, an empty or
too long text, a time that cannot be read) stays where it was, so nothing written before
is lost. Downgrading puts the notes back under ``extra["notes"]``, oldest first, and drops
the table.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import rapport.store.types

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

NOTE_LENGTH = 2000
KEY = "notes"


def _time() -> rapport.store.types.UTCDateTime:
    return rapport.store.types.UTCDateTime(timezone=True)


def _json() -> sa.types.TypeEngine:
    return sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


_customers = sa.table("customers", sa.column("id", sa.Integer), sa.column("extra", _json()))
_users = sa.table("users", sa.column("id", sa.Integer))
_notes = sa.table(
    "customer_notes",
    sa.column("id", sa.Integer),
    sa.column("customer_id", sa.Integer),
    sa.column("author_id", sa.Integer),
    sa.column("body", sa.String),
    sa.column("created_at", _time()),
)


def _with_notes() -> list[tuple[int, dict[str, Any]]]:
    """The customers whose ``extra`` is an object with a ``notes`` key."""
    # A cheap text filter first: most customers have no notes (or no extra at all).
    text = sa.cast(_customers.c.extra, sa.Text)
    stmt = sa.select(_customers.c.id, _customers.c.extra).where(
        _customers.c.extra.is_not(None), text.like(f'%"{KEY}"%')
    )
    rows = op.get_bind().execute(stmt.order_by(_customers.c.id)).all()
    return [(r.id, r.extra) for r in rows if isinstance(r.extra, dict) and KEY in r.extra]


def _note(entry: Any, authors: set[int]) -> dict[str, Any] | None:
    """The row of ``customer_notes`` an entry of ``extra["notes"]`` becomes, or ``None``
    when it is no note that fits the table."""
    if not isinstance(entry, dict) or not isinstance(entry.get("text"), str):
        return None
    body = entry["text"].strip()
    if not body or len(body) > NOTE_LENGTH or "\x00" in body:
        return None
    try:
        at = dt.datetime.fromisoformat(entry["at"])
    except (KeyError, TypeError, ValueError):
        return None
    if at.tzinfo is None:  # the card always wrote UTC
        at = at.replace(tzinfo=dt.UTC)
    by = entry.get("by")
    author = by if isinstance(by, int) and not isinstance(by, bool) and by in authors else None
    return {"author_id": author, "body": body, "created_at": at}


def upgrade() -> None:
    op.create_table(
        "customer_notes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column(
            "author_id",
            sa.Integer(),
            nullable=True,
            comment="the staff member who wrote it (NULL: removed since, or written before "
            "notes had authors)",
        ),
        sa.Column("body", sa.String(length=NOTE_LENGTH), nullable=False),
        sa.Column("created_at", _time(), nullable=False),
        sa.CheckConstraint(
            f"length(body) BETWEEN 1 AND {NOTE_LENGTH}",
            name=op.f("ck_customer_notes_body_length"),
        ),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["users.id"],
            name=op.f("fk_customer_notes_author_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_customer_notes_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_notes")),
        comment="free-text notes of staff about a customer, append-only; not interactions",
    )
    with op.batch_alter_table("customer_notes", schema=None) as batch_op:
        batch_op.create_index(
            "ix_customer_notes_customer_id_created_at",
            ["customer_id", "created_at"],
            unique=False,
        )

    bind = op.get_bind()
    found = _with_notes()
    if not found:
        return
    authors = set(bind.execute(sa.select(_users.c.id)).scalars())
    for customer_id, extra in found:
        entries = extra[KEY] if isinstance(extra[KEY], list) else [extra[KEY]]
        moved, kept = [], []
        for entry in entries:
            note = _note(entry, authors)
            if note is None:
                kept.append(entry)
            else:
                moved.append({"customer_id": customer_id, **note})
        if moved:
            bind.execute(sa.insert(_notes), moved)
        rest = {k: v for k, v in extra.items() if k != KEY}
        if kept:
            rest[KEY] = kept
        bind.execute(
            sa.update(_customers).where(_customers.c.id == customer_id).values(extra=rest or None)
        )


def downgrade() -> None:
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(_notes).order_by(_notes.c.customer_id, _notes.c.created_at, _notes.c.id)
    ).all()
    by_customer: dict[int, list[dict[str, Any]]] = {}
    for r in rows:
        by_customer.setdefault(r.customer_id, []).append(
            {"at": r.created_at.astimezone(dt.UTC).isoformat(), "by": r.author_id, "text": r.body}
        )
    for customer_id, notes in by_customer.items():
        extra = bind.execute(
            sa.select(_customers.c.extra).where(_customers.c.id == customer_id)
        ).scalar_one()
        out = dict(extra) if isinstance(extra, dict) else {}
        earlier = out.get(KEY)
        out[KEY] = [*(earlier if isinstance(earlier, list) else []), *notes]
        bind.execute(sa.update(_customers).where(_customers.c.id == customer_id).values(extra=out))
    with op.batch_alter_table("customer_notes", schema=None) as batch_op:
        batch_op.drop_index("ix_customer_notes_customer_id_created_at")
    op.drop_table("customer_notes")
