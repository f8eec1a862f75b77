"""Shared helpers of the service-side API tests (tickets, interactions, surveys,
campaigns, events): the expected scope by role and audit look-ups."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from rapport.store import schema

from .conftest import VISIBLE, Book

MISSING_ID = 987_654
#: Roles that may write customer activity (interactions, tickets, surveys).
STAFF_WRITERS = ("admin", "manager", "sales", "service")


def audit(
    db: Session, action: str | None = None, entity: str | None = None
) -> list[dict[str, Any]]:
    a = schema.audit_log
    stmt = sa.select(a).order_by(a.c.id)
    if action is not None:
        stmt = stmt.where(a.c.action == action)
    if entity is not None:
        stmt = stmt.where(a.c.entity == entity)
    return [dict(r) for r in db.execute(stmt).mappings()]


def visible_customers(book: Book, role: str) -> set[int]:
    return {book.ids()[name] for name in VISIBLE[role]}


def not_found(entity: str, record_id: int) -> dict[str, Any]:
    return {
        "error": {
            "code": "not_found",
            "message": f"no {entity} with id {record_id}",
            "field": "id",
            "value": record_id,
            "hint": None,
        }
    }
