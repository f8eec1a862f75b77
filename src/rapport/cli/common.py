"""What every CLI command shares: consoles, the store engine, error reporting."""

from __future__ import annotations

from rich.console import Console
from sqlalchemy.engine import Engine

from rapport.config import get_settings
from rapport.store.db import create_engine, ensure_current

console = Console()
err_console = Console(stderr=True, soft_wrap=True)


def store_engine(*, require_current: bool = True) -> Engine:
    """The engine of the configured store; checks the schema version unless told not to."""
    engine = create_engine(get_settings().database_url)
    if require_current:
        ensure_current(engine)
    return engine
