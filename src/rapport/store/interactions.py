"""Interactions between staff and customers (calls, emails, chats, visits …)."""

from __future__ import annotations

from rapport.store import schema
from rapport.store.repository import Repository

repo = Repository(schema.interactions, entity="interaction")
