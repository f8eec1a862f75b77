"""How the workspace joins the server: :func:`install_web` adds its pages at ``/`` (every
page module of :func:`rapport.web.nav.page_modules`) and its vendored assets at ``/static``
to the FastAPI application that :func:`rapport.api.app.create_app` builds (one hunk
there), so ``rapport serve`` serves the API under ``/api/v1`` and the workspace from the
same process, and several uvicorn workers serve both (the session is a signed cookie;
what a process keeps — the snapshot reports, :mod:`rapport.web.warmup` — it can always
compute again).

Every page answers with a Content-Security-Policy that allows only this server's scripts,
styles, images and connections (:data:`rapport.web.render.CONTENT_SECURITY_POLICY`): the
pages work offline and make no request elsewhere.
"""

from __future__ import annotations

from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles

from rapport.web import auth, nav, render, warmup
from rapport.web.session import IDLE_SECONDS


async def _login_required(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, auth.LoginRequired)
    target = "/login?" + ("expired=1&" if exc.expired else "")
    target += "next=" + quote(render.safe_next(_here(request)), safe="/")
    return render.redirect(request, target)


def _here(request: Request) -> str:
    if request.method != "GET":
        return "/"
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


async def _csrf_refused(request: Request, _exc: Exception) -> Response:
    return render.page(request, "csrf.html", status=403)


async def _role_refused(request: Request, _exc: Exception) -> Response:
    return render.page(request, "forbidden.html", status=403)


def install_web(
    app: FastAPI, *, idle_seconds: int = IDLE_SECONDS, warm_seconds: float = warmup.INTERVAL
) -> None:
    """Add the workspace's pages, assets and error pages to ``app``; sessions end after
    ``idle_seconds`` without a request; a new score snapshot's reports are computed within
    ``warm_seconds`` of it (:mod:`rapport.web.warmup`, once a page has been asked for)."""
    app.state.web_idle_seconds = idle_seconds
    app.state.web_warmer = warmup.Warmer(app, interval=warm_seconds)
    app.mount(render.STATIC_PATH, StaticFiles(directory=render.STATIC_DIR), name="web-static")
    app.include_router(auth.router)
    for module in nav.page_modules():
        app.include_router(module.router)
    app.add_exception_handler(auth.LoginRequired, _login_required)
    app.add_exception_handler(auth.CsrfRefused, _csrf_refused)
    app.add_exception_handler(auth.RoleRefused, _role_refused)
