"""Pages from templates, with the session cookie re-issued on every answer.

The templates (``web/templates``) receive ``fmt`` (a :class:`~rapport.web.i18n.Formatter`
of the request's language), ``t`` (its texts), ``csrf_token``, ``lang``, ``user`` (the
logged-in :class:`~rapport.access.Principal`, or ``None``), ``nav`` (the menu entries of
the user's role) and what the page passes.
Autoescaping is on: data is never markup.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from rapport.config import Settings
from rapport.errors import NotFound
from rapport.store import customers
from rapport.web import nav
from rapport.web import session as web_session
from rapport.web.i18n import HTML_LANG, LOCALES, Formatter, negotiate
from rapport.web.session import WebSession

TEMPLATES_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"
STATIC_PATH = "/static"
#: Only this server's scripts, styles, images and connections (ECharts sets inline styles).
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)

environment = Environment(
    loader=FileSystemLoader(TEMPLATES_DIR),
    autoescape=select_autoescape(("html",)),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def settings_of(request: Request) -> Settings:
    return request.app.state.settings


def current_session(request: Request) -> WebSession:
    """The request's session: from the cookie when it is valid, else a new one (the language
    of ``Accept-Language``)."""
    found = getattr(request.state, "web_session", None)
    if found is None:
        found = web_session.decode(
            request.cookies.get(web_session.COOKIE_NAME), settings_of(request)
        )
        if found is None:
            found = WebSession.new()
        request.state.web_session = found
    return found


def set_session(request: Request, session: WebSession) -> None:
    request.state.web_session = session


def language(request: Request) -> str:
    return negotiate(current_session(request).lang, request.headers.get("accept-language"))


def formatter(request: Request) -> Formatter:
    settings = settings_of(request)
    currency = request.app.state.rules.business.currency
    return Formatter(language(request), settings.timezone, currency)


def with_cookie(request: Request, response: Response) -> Response:
    """``response`` with the session cookie of the request (re-issued: new last activity)."""
    settings = settings_of(request)
    response.set_cookie(
        value=web_session.encode(current_session(request), settings),
        **web_session.cookie_options(settings),
    )
    response.headers.setdefault("Cache-Control", "no-store")
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    return response


def page(
    request: Request, template: str, context: dict[str, Any] | None = None, status: int = 200
) -> HTMLResponse:
    """``template`` rendered for the request, with the session cookie."""
    fmt = formatter(request)
    user = getattr(request.state, "principal", None)
    values = {
        "request": request,
        "fmt": fmt,
        "t": fmt.t,
        "lang": fmt.locale,
        "html_lang": HTML_LANG[fmt.locale],
        "locales": LOCALES,
        "csrf_token": current_session(request).csrf,
        "csrf_field": web_session.CSRF_FIELD,
        "csrf_header": web_session.CSRF_HEADER,
        "user": user,
        "nav": nav.visible(user.role) if user is not None else [],
        "static": STATIC_PATH,
        "path": request.url.path,
        "full_path": _local_path(request),
        **(context or {}),
    }
    html = environment.get_template(template).render(values)
    response = HTMLResponse(html, status_code=status)
    with_cookie(request, response)
    return response


def not_found(request: Request) -> HTMLResponse:
    """The not-found page (404): what the workspace answers for a record that is missing,
    outside the user's scope, or named by an address that names none — the store's
    :class:`~rapport.errors.NotFound`, which tells these apart no more than the page does."""
    return page(request, "not_found.html", status=404)


def whole_number(value: str | None) -> int | None:
    """``value`` as a record's number (ASCII digits, below 10 digits), else ``None``."""
    return int(value) if value and value.isascii() and value.isdigit() and len(value) < 10 else None


def record_number(text: str, not_found: Callable[[str], NotFound]) -> int:
    """The number of the record an address names (``/customers/{text}``, ``?ticket=text``).

    Raises
    ------
    NotFound
        ``not_found(text)``, the store's own of a missing record (:meth:`Repository.not_found
        <rapport.store.repository.Repository.not_found>`, ``tickets.not_found``), when
        ``text`` is no number, as the store's scoped reads raise for a record missing or
        outside the scope; :func:`not_found` is the page of either.
    """
    number = whole_number(text)
    if number is None:
        raise not_found(text)
    return number


def customer_number(text: str) -> int:
    """The customer number an address names (:func:`record_number`): text that is none is
    a customer not found, as :meth:`CustomerScope.get <rapport.access.CustomerScope.get>`
    raises for one missing or outside the scope."""
    return record_number(text, customers.repo.not_found)


def redirect(request: Request, url: str) -> Response:
    """A 303 to ``url`` (for HTMX requests, ``HX-Redirect`` so that the whole page goes)."""
    if request.headers.get("hx-request") == "true":
        response: Response = Response(status_code=200, headers={"HX-Redirect": url})
    else:
        response = RedirectResponse(url, status_code=303)
    return with_cookie(request, response)


def _local_path(request: Request) -> str:
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


def safe_next(url: str | None, default: str = "/") -> str:
    """``url`` when it is a path of this site (``/…``, not ``//…``), else ``default``: the
    ``next`` of a form never sends the browser elsewhere."""
    if not url or not url.startswith("/") or url.startswith("//") or "\\" in url:
        return default
    return url
