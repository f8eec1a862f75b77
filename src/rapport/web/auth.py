"""Log-in, log-out, the language switch, who is calling, and the CSRF check.

Log-in goes through the same pieces as ``POST /api/v1/auth/login``: the password through
:func:`rapport.store.users.authenticate` (an unknown user costs the same as a wrong
password, and gets the same message), failures throttled per account and per address by
:mod:`rapport.store.login_throttle` (the same counters, so a lock-out holds for both), and
``login``, ``login_failed``, ``login_locked`` audited. Every later request reloads the user:
a disabled account is logged out at once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from rapport.access import LoginOutcome, Principal, log_in
from rapport.domain import AuditAction, Role
from rapport.errors import NotFound
from rapport.store import audit, users
from rapport.store.db import begin_writing
from rapport.store.login_throttle import ThrottlePolicy
from rapport.web import nav, render
from rapport.web import session as web_session
from rapport.web.i18n import choose

router = APIRouter(include_in_schema=False)
#: How the audit log and the principal name a log-in through the workspace.
VIA = "web"


class LoginRequired(Exception):
    """No valid session: the browser goes to the log-in page (``expired`` says why)."""

    def __init__(self, *, expired: bool = False) -> None:
        super().__init__("log-in required")
        self.expired = expired


class CsrfRefused(Exception):
    """An unsafe request without the session's CSRF token."""


class RoleRefused(Exception):
    """A page the logged-in user's role may not open (the forbidden page, 403)."""


def client_address(request: Request) -> str | None:
    return request.client.host if request.client else None


def writing(request: Request, work: Callable[[Session], Any]) -> Any:
    """Run ``work`` in a short transaction of its own, begun as a writer, committed at once
    (audit entries of a read, the log-in's bookkeeping)."""
    with request.app.state.sessions() as session:
        begin_writing(session)
        result = work(session)
        session.commit()
        return result


def audit_read(
    request: Request, user: Principal, ids: list[int], route: str, *, entity: str = "customers"
) -> None:
    """Record a read of unmasked personal data of the customers ``ids`` (or the records
    ``ids`` of ``entity``: ``tickets``) on the page ``route`` (``web.360``, ``web.list`` …),
    as the API records its reads: one entry, with the first 500 ids when there are several.
    Nothing is recorded for no records."""
    if not ids:
        return

    def write(session: Session) -> None:
        detail: dict[str, Any] = {"via": VIA, "route": route, "count": len(ids)}
        if len(ids) > 1:
            detail["ids"] = ids[:500]
        audit.record(
            session=session,
            actor=user.actor,
            actor_user_id=user.user_id,
            action=AuditAction.READ_PII,
            entity=entity,
            entity_id=ids[0] if len(ids) == 1 else None,
            detail=detail,
            client_address=client_address(request),
        )

    writing(request, write)


def idle_seconds(request: Request) -> int:
    return getattr(request.app.state, "web_idle_seconds", web_session.IDLE_SECONDS)


def current_user(request: Request) -> Principal:
    """The logged-in user of the request, still active; :class:`LoginRequired` otherwise.

    The session's last activity moves to now (the cookie is re-issued with the answer).
    """
    found = render.current_session(request)
    if found.user_id is None:
        raise LoginRequired()
    if found.expired(idle_seconds=idle_seconds(request)):
        render.set_session(request, found.logged_out())
        raise LoginRequired(expired=True)
    with request.app.state.sessions() as session:
        try:
            user = users.get(session=session, id=found.user_id)
        except NotFound:
            user = None
    if user is None or not user["is_active"]:
        render.set_session(request, found.logged_out())
        raise LoginRequired(expired=True)
    principal = Principal(
        user_id=user["id"],
        username=user["username"],
        role=Role(user["role"]),
        team=user["team"],
        via=VIA,
    )
    request.state.principal = principal
    request.state.display_name = user.get("display_name") or user["username"]
    warmer = getattr(request.app.state, "web_warmer", None)
    if warmer is not None:  # a page is in use: keep the snapshot reports warm
        warmer.asked()
    render.set_session(request, found.touched())
    return principal


WebUser = Annotated[Principal, Depends(current_user)]


def roles(*allowed: Role) -> Callable[[Principal], Principal]:
    """A dependency: the logged-in user when their role is one of ``allowed``, else
    :class:`RoleRefused`. A page guards itself with it; the menu only hides what it refuses.

    ``Annotated[Principal, Depends(roles(Role.ADMIN, Role.MANAGER))]``
    """
    permitted = frozenset(allowed)

    def check(user: WebUser) -> Principal:
        if user.role not in permitted:
            raise RoleRefused()
        return user

    return check


async def check_csrf(request: Request) -> None:
    """403 (:class:`CsrfRefused`) unless an unsafe request carries the session's token, in
    the ``csrf_token`` form field or the ``X-CSRF-Token`` header."""
    if request.method not in web_session.UNSAFE_METHODS:
        return
    sent = request.headers.get(web_session.CSRF_HEADER)
    if sent is None:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()
            value = form.get(web_session.CSRF_FIELD)
            sent = value if isinstance(value, str) else None
    if not web_session.csrf_matches(render.current_session(request), sent):
        raise CsrfRefused()


CSRF = [Depends(check_csrf)]


# --- pages ------------------------------------------------------------------------------------


@router.get("/")
def home(request: Request) -> Response:
    """The landing page of the user's role (:func:`rapport.web.nav.home`), or the log-in."""
    try:
        user = current_user(request)
    except LoginRequired:
        return render.redirect(request, "/login")
    return render.redirect(request, nav.home(user.role))


@router.get("/login")
def login_page(request: Request, next: str | None = None, expired: str | None = None) -> Response:
    found = render.current_session(request)
    if found.user_id is not None and not found.expired(idle_seconds=idle_seconds(request)):
        return render.redirect(request, render.safe_next(next))  # already logged in
    notice = "login.expired" if expired else None
    if request.query_params.get("bye"):
        notice = "login.logged_out"
    return render.page(
        request,
        "login.html",
        {"next": render.safe_next(next), "notice": notice, "error": None, "username": ""},
    )


@router.post("/login", dependencies=CSRF)
def login(
    request: Request,
    username: Annotated[str, Form(max_length=128)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    next: Annotated[str, Form(max_length=2048)] = "/",
) -> Response:
    settings = render.settings_of(request)
    address = client_address(request)
    policy = ThrottlePolicy.from_settings(settings)
    target = render.safe_next(next)

    def attempt(session: Session) -> LoginOutcome:
        return log_in(
            session=session,
            username=username,
            password=password,
            address=address,
            policy=policy,
            via=VIA,
        )

    outcome: LoginOutcome = writing(request, attempt)
    if outcome.user is not None:
        session = render.current_session(request).logged_in(outcome.user["id"])
        render.set_session(request, session)
        return render.redirect(request, target)
    fmt = render.formatter(request)
    locked = outcome.locked is not None
    error = fmt.t("login.locked", seconds=outcome.retry_after) if locked else fmt.t("login.failed")
    status = 429 if locked else 401
    response = render.page(
        request,
        "login.html",
        {"next": target, "notice": None, "error": error, "username": username},
        status=status,
    )
    if locked:
        response.headers["Retry-After"] = str(outcome.retry_after)
    return response


@router.post("/logout", dependencies=CSRF)
def logout(request: Request) -> Response:
    render.set_session(request, render.current_session(request).logged_out())
    return render.redirect(request, "/login?bye=1")


@router.post("/lang", dependencies=CSRF)
def switch_language(
    request: Request,
    lang: Annotated[str, Form(max_length=16)] = "",
    next: Annotated[str, Form(max_length=2048)] = "/",
) -> Response:
    """Keep the chosen language in the session cookie (an unknown one changes nothing)."""
    chosen = choose(lang)
    found = render.current_session(request)
    if chosen is not None:
        render.set_session(request, replace(found, lang=chosen))
    return render.redirect(request, render.safe_next(next))
