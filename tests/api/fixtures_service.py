"""Shared helpers of the service-side API tests (tickets, interactions, surveys,
campaigns, events): the expected scope by role and audit look-ups."""

from __future__ import annotations

from typing import Any

from tests.helpers import audit_entries as audit  # noqa: F401 (the test modules take it from here)

from .conftest import VISIBLE, Book

MISSING_ID = 987_654
#: Roles that may write customer activity (interactions, tickets, surveys).
STAFF_WRITERS = ("admin", "manager", "sales", "service")


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
