"""Behaviour events (page views, carts, email opens, social actions …)."""

from __future__ import annotations

from rapport.store import schema
from rapport.store.repository import Repository

repo = Repository(schema.events, entity="event")
