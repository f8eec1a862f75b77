"""Typed dependencies every route uses: settings, the session, the caller, their scope.

* :data:`SessionDep` — one session per request, committed when the route succeeds and
  rolled back when it raises. This is the API's one transaction protocol: a writing
  request's transaction begins as a writer, and the commit happens before the answer is
  sent (the dependency's ``scope="function"``), so a client told 201 finds its write
  stored. Routes never begin or commit transactions themselves.
* :data:`CurrentUser` — the caller (:class:`Principal`): a log-in token (JWT) or an API
  token (``rpt_…``) acting as its user, limited to its scopes. 401 otherwise.
* :func:`require_role` / :func:`require_scope` — 403 when the role, or the token's scopes,
  may not use the route.
* :data:`CustomerScopeDep` — row-level access to customers, encoded once here
  (:class:`CustomerScope`); routes never repeat ownership checks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from rapport.access import CustomerScope, Principal
from rapport.api.errors import forbidden, unauthorized, unknown_reference
from rapport.api.security import InvalidToken, decode_access_token
from rapport.config import Rules, Settings
from rapport.domain import Role
from rapport.errors import NotFound
from rapport.store import tokens, users
from rapport.store.db import begin_writing
from rapport.store.repository import Row

# --- settings and session ------------------------------------------------------------------


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


SettingsDep = Annotated[Settings, Depends(get_settings)]


def get_rules(request: Request) -> Rules:
    """The business rules, read once when the app was built."""
    return request.app.state.rules


RulesDep = Annotated[Rules, Depends(get_rules)]


#: Methods whose requests write: their transaction begins as a writer.
WRITING_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def writes(request: Request) -> bool:
    """Whether ``request``'s own transaction is a writer's (its method changes data)."""
    return request.method in WRITING_METHODS


def get_session(request: Request) -> Iterator[Session]:
    """A session for this request: commit on success, roll back on any error.

    A writing request's transaction begins as a writer (on SQLite ``BEGIN IMMEDIATE``: it
    waits for the write lock instead of failing when it reads, then writes, after another
    connection committed), so a route may read, lock and write in any order within it. A
    reading request's own transaction never writes: the few writes a read causes (its
    audit entry, the token's last use) go through :func:`write_apart`.
    """
    session: Session = request.app.state.sessions()
    try:
        if writes(request):
            begin_writing(session)
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


SessionDep = Annotated[Session, Depends(get_session, scope="function")]  # commit before answering


def write_apart(request: Request, session: Session, work: Callable[[Session], Any]) -> Any:
    """Run ``work`` — a small write — in the request's transaction when that is a writer's,
    else in a transaction of its own, begun as a writer and committed at once."""
    if writes(request):
        return work(session)
    with request.app.state.sessions() as own:
        begin_writing(own)
        result = work(own)
        own.commit()
        return result


# --- the caller ----------------------------------------------------------------------------


_bearer = HTTPBearer(auto_error=False, description="A log-in token or an API token (rpt_…)")


def _principal_of(user: Row, **extra: Any) -> Principal:
    return Principal(
        user_id=user["id"],
        username=user["username"],
        role=Role(user["role"]),
        team=user["team"],
        **extra,
    )


def get_current_user(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The authenticated caller; 401 when credentials are missing or not valid."""
    if credentials is None or not credentials.credentials:
        raise unauthorized("authentication required")
    secret = credentials.credentials
    if tokens.is_token(secret):
        token = tokens.verify(session=session, secret=secret)
        user = _active_user(session, token["user_id"]) if token is not None else None
        if token is None or user is None:
            raise unauthorized("invalid, expired or revoked API token", invalid_token=True)
        if tokens.touch_due(token):
            write_apart(request, session, lambda s: tokens.touch(session=s, token=token))
        principal = _principal_of(
            user,
            via="api_token",
            token_id=token["id"],
            token_name=token["name"],
            scopes=frozenset(token["scopes"] or ()),
        )
    else:
        try:
            user_id = decode_access_token(secret, settings)
        except InvalidToken as exc:
            raise unauthorized(str(exc), invalid_token=True) from exc
        user = _active_user(session, user_id)
        if user is None:
            raise unauthorized("invalid log-in token", invalid_token=True)
        principal = _principal_of(user, via="login")
    request.state.principal = principal
    return principal


def _active_user(session: Session, user_id: int) -> Row | None:
    try:
        user = users.get(session=session, id=user_id)
    except NotFound:
        return None
    return user if user["is_active"] else None


CurrentUser = Annotated[Principal, Depends(get_current_user)]


def require_role(*roles: Role) -> Callable[[Principal], Principal]:
    """A dependency allowing only ``roles`` (403 for the others)."""
    allowed = frozenset(roles)

    def check(user: CurrentUser) -> Principal:
        if user.role not in allowed:
            names = ", ".join(sorted(r.value for r in allowed))
            raise forbidden(
                f"the {user.role.value} role may not use this route",
                hint=f"allowed roles: {names}",
            )
        return user

    return check


def require_scope(scope: str) -> Callable[[Principal], Principal]:
    """A dependency refusing API tokens without ``scope`` (403); log-ins pass."""
    if scope not in tokens.SCOPES:
        raise ValueError(f"unknown scope {scope!r}")

    def check(user: CurrentUser) -> Principal:
        if not user.may(scope):
            raise forbidden(
                f"this API token lacks the scope {scope}",
                field="scopes",
                hint=f"issue a token with {scope}: rapport users token USER --scope {scope}",
            )
        return user

    return check


def get_customer_scope(user: CurrentUser) -> CustomerScope:
    return CustomerScope(user)


CustomerScopeDep = Annotated[CustomerScope, Depends(get_customer_scope)]


def named_customer(
    session: Session, scope: CustomerScope, customer_id: int, field: str = "body.customer_id"
) -> Row:
    """The customer a request body names at ``field``, if in ``scope``; otherwise 422
    naming the field — the same answer for a missing customer and one outside the scope."""
    try:
        return scope.get(session=session, id=customer_id)
    except NotFound as exc:
        raise unknown_reference(field, "customer", customer_id) from exc


def check_new_owner(session: Session, scope: CustomerScope, values: dict[str, Any]) -> None:
    """The owner of a record about to be created from ``values`` (a customer, a lead):
    sales users own what they create unless they name another owner, and an owner named
    must be one the caller may give records to (:meth:`CustomerScope.check_owner`)."""
    if scope.principal.role is Role.SALES:
        values.setdefault("owner_id", scope.principal.user_id)
    if "owner_id" in values:
        scope.check_owner(session, values["owner_id"])


def client_address(request: Request) -> str | None:
    """The caller's address as the server sees it (behind a proxy, run uvicorn with
    ``--proxy-headers`` so that this is the client's, not the proxy's)."""
    return request.client.host if request.client else None
