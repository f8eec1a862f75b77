"""What every CLI command shares: consoles, the store engine, error reporting."""

from __future__ import annotations

from rich.console import Console
from sqlalchemy.engine import Engine

from rapport.config import get_settings
from rapport.store.db import create_engine, ensure_current, ensure_exists

console = Console()
err_console = Console(stderr=True, soft_wrap=True)


def store_engine(*, require_current: bool = True, create: bool = False) -> Engine:
    """The engine of the configured store; checks the schema version unless told not to.

    Only commands that create the store (``init``, ``demo``, ``sample`` into the store) pass
    ``create=True``; for every other command a missing or empty SQLite file is an error
    (exit code 4, "run `rapport init`") and no file is created.
    """
    url = get_settings().database_url
    if not create:
        ensure_exists(url)
    engine = create_engine(url)
    if require_current:
        ensure_current(engine)
    return engine
