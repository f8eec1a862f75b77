"""``rapport serve``: the REST API on uvicorn.

Refuses to start (exit code 3, one line) with the default or a short secret key outside
development, and (exit code 4) on a store that is not at the current schema version. With
``--with-worker`` the server's process also runs the worker (the daily pipeline and the
outbox, :mod:`rapport.actions.worker`) in a background thread, stopped with the server.
"""

from __future__ import annotations

import threading
from typing import Annotated

import typer

from rapport.cli.common import err_console
from rapport.config import Settings, get_settings


def serve_command(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8000,
    proxy_headers: Annotated[
        bool,
        typer.Option(
            "--proxy-headers",
            help="Trust X-Forwarded-For from the proxy in front (client addresses in the audit).",
        ),
    ] = False,
    with_worker: Annotated[
        bool,
        typer.Option(
            "--with-worker",
            help="Also run the worker in this process: the daily pipeline and the messages.",
        ),
    ] = False,
) -> None:
    """Run the REST API (OpenAPI and interactive docs at /docs)."""
    import uvicorn

    from rapport.api.app import create_app

    settings = get_settings()
    settings.check_secrets()
    app = create_app(settings)
    from rapport.i18n.labels import t

    line = t("serve.listening", settings.locale).format(
        api=f"http://{host}:{port}/api/v1",
        docs=f"http://{host}:{port}/docs",
        environment=settings.environment,
        url=settings.safe_database_url(),
    )
    err_console.print(line, highlight=False)
    stop = threading.Event()
    worker = _start_worker(settings, stop) if with_worker else None
    try:
        uvicorn.run(
            app,
            host=host,
            port=port,
            proxy_headers=proxy_headers,
            forwarded_allow_ips="*" if proxy_headers else None,
            log_level="info",
        )
    finally:
        stop.set()
        if worker is not None:
            worker.join(timeout=30)


def _start_worker(settings: Settings, stop: threading.Event) -> threading.Thread:
    """The worker's loop in a daemon thread until ``stop`` is set."""
    from rapport.actions.worker import work
    from rapport.cli.worker import reporter, started_line

    err_console.print(started_line(settings), highlight=False)
    thread = threading.Thread(
        target=work,
        args=(settings,),
        kwargs={"stop": stop, "report": reporter(settings)},
        name="rapport-worker",
        daemon=True,
    )
    thread.start()
    return thread
