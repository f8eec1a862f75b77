"""``rapport serve``: the REST API on uvicorn.

Refuses to start (exit code 3, one line) with the default or a short secret key outside
development, and (exit code 4) on a store that is not at the current schema version.
"""

from __future__ import annotations

from typing import Annotated

import typer

from rapport.cli.common import err_console
from rapport.config import get_settings


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
    uvicorn.run(
        app,
        host=host,
        port=port,
        proxy_headers=proxy_headers,
        forwarded_allow_ips="*" if proxy_headers else None,
        log_level="info",
    )
