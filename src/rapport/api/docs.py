"""Interactive API documentation at ``/docs``, served from files inside the package.

FastAPI's default ``/docs`` page loads Swagger UI from a CDN and is blank offline. Here the
page points at a vendored copy of ``swagger-ui-dist`` (see ``static/swagger-ui/README.md``)
mounted at :data:`ASSETS_PATH`; Swagger UI's online validator badge is switched off, so the
page makes no request outside the server. ReDoc is not offered (``redoc_url=None``).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

DOCS_PATH = "/docs"
OAUTH2_REDIRECT_PATH = "/docs/oauth2-redirect"
ASSETS_PATH = "/docs/assets"
ASSETS_DIR = Path(__file__).parent / "static" / "swagger-ui"
SWAGGER_UI_VERSION = "5.35.0"
#: Sent to Swagger UI: no validator badge (it would call validator.swagger.io).
SWAGGER_UI_PARAMETERS = {"validatorUrl": None}


def install_docs(app: FastAPI) -> None:
    """Add ``/docs`` (Swagger UI on the app's OpenAPI document) and its assets to ``app``.

    The app must be built with ``docs_url=None`` so that FastAPI's CDN page is not added.
    """
    if app.openapi_url is None:
        return
    openapi_path = app.openapi_url
    title = f"{app.title} - Swagger UI"
    app.mount(ASSETS_PATH, StaticFiles(directory=ASSETS_DIR), name="swagger-ui")

    async def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "").rstrip("/")
        return get_swagger_ui_html(
            openapi_url=root + openapi_path,
            title=title,
            swagger_js_url=f"{root}{ASSETS_PATH}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{ASSETS_PATH}/swagger-ui.css",
            swagger_favicon_url=f"{root}{ASSETS_PATH}/favicon-32x32.png",
            oauth2_redirect_url=root + OAUTH2_REDIRECT_PATH,
            swagger_ui_parameters=SWAGGER_UI_PARAMETERS,
        )

    async def oauth2_redirect(_request: Request) -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    app.add_route(DOCS_PATH, swagger_ui, include_in_schema=False)
    app.add_route(OAUTH2_REDIRECT_PATH, oauth2_redirect, include_in_schema=False)
