"""Staff users (accounts and roles; passwords are hashed by the API layer)."""

from __future__ import annotations

from rapport.store import schema
from rapport.store.repository import Repository

repo = Repository(schema.users, entity="user", key="username")
