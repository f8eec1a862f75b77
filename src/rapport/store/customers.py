"""Customers: profiles, consent, ownership, soft delete."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from rapport.store import schema
from rapport.store.repository import Repository, Row

repo = Repository(schema.customers, entity="customer", soft_delete=True)

_c = schema.customers.c


def search(
    *, session: Session, text: str, limit: int = 50, owner_id: int | None = None
) -> list[Row]:
    """Customers whose name, phone, email, external id or a tag contains ``text``."""
    pattern = f"%{text}%"
    stmt = (
        sa.select(schema.customers)
        .where(_c.deleted_at.is_(None))
        .where(
            sa.or_(
                _c.name.like(pattern),
                _c.phone.like(pattern),
                _c.email.like(pattern),
                _c.external_id.like(pattern),
                sa.cast(_c.tags, sa.String).like(f'%"{text}"%'),
            )
        )
        .order_by(_c.id)
        .limit(limit)
    )
    if owner_id is not None:
        stmt = stmt.where(_c.owner_id == owner_id)
    return [dict(r) for r in session.execute(stmt).mappings()]
