"""Shared helpers of the service-side API tests (tickets, interactions, surveys,
campaigns, events): the roles that write customer activity and the expected scope by role."""

from __future__ import annotations

from .conftest import VISIBLE, Book

#: Roles that may write customer activity (interactions, tickets, surveys).
STAFF_WRITERS = ("admin", "manager", "sales", "service")


def visible_customers(book: Book, role: str) -> set[int]:
    return {book.ids()[name] for name in VISIBLE[role]}
