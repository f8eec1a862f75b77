"""A free port and a live uvicorn server: :mod:`tests.helpers` holds them."""

from tests.helpers import free_port, live_server

__all__ = ["free_port", "live_server"]
