"""Typed dependencies every route uses: settings, the session, the caller, their scope.

* :data:`SessionDep` — one session per request, committed when the route succeeds and
  rolled back when it raises.
* :data:`CurrentUser` — the caller (:class:`Principal`): a log-in token (JWT) or an API
  token (``rpt_…``) acting as its user, limited to its scopes. 401 otherwise.
* :func:`require_role` / :func:`require_scope` — 403 when the role, or the token's scopes,
  may not use the route.
* :data:`CustomerScopeDep` — row-level access to customers, encoded once here
  (:class:`CustomerScope`); routes never repeat ownership checks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from rapport.api.errors import forbidden, unauthorized
from rapport.api.security import InvalidToken, decode_access_token
from rapport.config import Rules, Settings
from rapport.domain import Role
from rapport.errors import NotFound
from rapport.ingest.scope import ImportScope
from rapport.store import customers, schema, tokens, users
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
    connection committed). A reading request's own transaction never writes: the few
    writes a read causes (its audit entry, the token's last use) go through
    :func:`write_apart`.
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


@dataclass(frozen=True)
class Principal:
    """Who is calling: a user, through a log-in token or one of their API tokens."""

    user_id: int
    username: str
    role: Role
    team: str | None
    via: str  # "login" or "api_token"
    token_id: int | None = None
    token_name: str | None = None
    scopes: frozenset[str] | None = None  # None: a log-in, limited by the role alone

    @property
    def actor(self) -> str:
        """How the audit log names the caller."""
        if self.via == "api_token":
            return f"{self.username} (token {self.token_name})"[:128]
        return self.username

    def may(self, scope: str) -> bool:
        return self.scopes is None or tokens.allows(self.scopes, scope)


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


# --- row-level access to customers ---------------------------------------------------------

_c = schema.customers.c


def owner_clause(p: Principal, owner_id: sa.ColumnElement[Any]) -> sa.ColumnElement[bool] | None:
    """The owner rule of every owned record (customers, leads) on its ``owner_id`` column:
    ``None`` (everything) for admin and analyst, their own for sales, their team's and
    unowned ones for a manager (their own and unowned without a team), nothing for others."""
    if p.role in (Role.ADMIN, Role.ANALYST):
        return None
    if p.role is Role.SALES:
        return owner_id == p.user_id
    if p.role is Role.MANAGER:
        u = schema.users
        if p.team is None:
            team = owner_id == p.user_id
        else:
            team = owner_id.in_(sa.select(u.c.id).where(u.c.team == p.team))
        return sa.or_(owner_id.is_(None), team)
    return sa.false()


@dataclass(frozen=True)
class CustomerScope:
    """Which customers the caller may see, and whether they see them masked.

    ========  ==============================================================================
    admin     every customer
    manager   customers owned by a user of the manager's team, and unowned customers (the
              pool a manager assigns from); a manager without a team: their own and unowned
    sales     customers they own
    service   customers with a ticket assigned to them
    analyst   every customer, personal data masked
    ========  ==============================================================================

    A customer outside the scope is reported exactly like a missing one (404).
    """

    principal: Principal

    @property
    def masked(self) -> bool:
        return self.principal.role is Role.ANALYST

    def clause(self) -> sa.ColumnElement[bool] | None:
        """The SQL condition on ``customers`` of this scope (``None``: every customer)."""
        p = self.principal
        if p.role is not Role.SERVICE:
            return owner_clause(p, _c.owner_id)
        t = schema.tickets
        return (
            sa.select(sa.literal(1))
            .select_from(t)
            .where(t.c.customer_id == _c.id, t.c.assignee_id == p.user_id)
            .exists()
        )

    def where(self, stmt: sa.Select) -> sa.Select:
        clause = self.clause()
        return stmt if clause is None else stmt.where(clause)

    def covers(self, customer_id: sa.ColumnElement[Any]) -> sa.ColumnElement[bool] | None:
        """The SQL condition that the customer whose id is in ``customer_id`` (a column of
        another table, such as ``referrals.referred_customer_id``) lies in this scope;
        ``None``: every customer. Deleted customers count as in scope here: the caller
        decides whether a record pointing at one is shown."""
        clause = self.clause()
        if clause is None:
            return None
        # correlate(None): the sub-select reads customers of its own, even inside a
        # statement that joins customers for another column
        inside = sa.select(_c.id).where(clause).correlate(None)
        return customer_id.in_(inside)

    def visible_ids(self, session: Session, ids: list[int]) -> set[int]:
        """The ids among ``ids`` this scope may see."""
        clause = self.clause()
        if clause is None:
            return set(ids)
        found: set[int] = set()
        for start in range(0, len(ids), 1000):
            chunk = ids[start : start + 1000]
            stmt = sa.select(_c.id).where(_c.id.in_(chunk), clause)
            found.update(session.execute(stmt).scalars())
        return found

    def get(self, *, session: Session, id: int, include_deleted: bool = False) -> Row:
        """The customer ``id`` if in scope; otherwise the same :class:`NotFound` as a
        missing customer."""
        row = customers.repo.get(session=session, id=id, include_deleted=include_deleted)
        clause = self.clause()
        if clause is not None:
            inside = session.execute(
                sa.select(sa.literal(1)).where(_c.id == row["id"], clause)
            ).first()
            if inside is None:
                raise NotFound(f"no customer with id {id}", table="customers", field="id", value=id)
        return row

    def import_scope(self) -> ImportScope:
        """This scope as the importer's conditions: an import job runs with it."""
        p = self.principal
        return ImportScope(
            customers=self.clause(),
            owners=owner_clause(p, schema.users.c.id),
            leads=owner_clause(p, schema.leads.c.owner_id),
        )

    def check_owner(self, session: Session, owner_id: int | None) -> None:
        """403 unless the caller may give a customer to ``owner_id``."""
        p = self.principal
        if p.role is Role.ADMIN:
            return
        if p.role is Role.SALES:
            if owner_id != p.user_id:
                raise forbidden(
                    "sales users can only own their customers themselves",
                    field="owner_id",
                    hint=f"leave owner_id out or set it to your user id {p.user_id}",
                )
            return
        if p.role is Role.MANAGER:
            if owner_id is None or owner_id == p.user_id:
                return
            u = schema.users
            owner_team = session.execute(
                sa.select(u.c.team).where(u.c.id == owner_id)
            ).scalar_one_or_none()
            if p.team is None or owner_team != p.team:
                raise forbidden(
                    "a manager can only give customers to users of their team",
                    field="owner_id",
                    value=owner_id,
                )
            return
        raise forbidden(f"the {p.role.value} role may not assign customers", field="owner_id")


def get_customer_scope(user: CurrentUser) -> CustomerScope:
    return CustomerScope(user)


CustomerScopeDep = Annotated[CustomerScope, Depends(get_customer_scope)]


def client_address(request: Request) -> str | None:
    """The caller's address as the server sees it (behind a proxy, run uvicorn with
    ``--proxy-headers`` so that this is the client's, not the proxy's)."""
    return request.client.host if request.client else None
