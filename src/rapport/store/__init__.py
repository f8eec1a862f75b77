"""The operational store: canonical schema, migrations, sessions and per-aggregate access.

``store`` never imports analytics, models or the API.
"""

from rapport.store.db import create_engine, session_scope
from rapport.store.repository import Repository, UpsertOutcome

__all__ = ["Repository", "UpsertOutcome", "create_engine", "session_scope"]
