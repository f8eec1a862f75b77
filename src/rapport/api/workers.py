"""The API's side of the analytics workers: the pool itself is :mod:`rapport.workers` (why
the server never attaches DuckDB, and how a worker runs), shared with the web workspace."""

from __future__ import annotations

from fastapi import Request

from rapport.config import Settings
from rapport.workers import (
    TIMEOUT_SECONDS,
    WORKERS,
    run_in_worker,
    shutdown_workers,
    store_settings,
)

__all__ = ["TIMEOUT_SECONDS", "WORKERS", "run_in_worker", "served_settings", "shutdown_workers"]


def served_settings(request: Request, settings: Settings) -> Settings:
    """``settings`` pointing at the store the server serves (the app's engine may have been
    given apart from the settings): what a worker connects to."""
    return store_settings(settings, request.app.state.engine)
