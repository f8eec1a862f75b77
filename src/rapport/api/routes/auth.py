"""``POST /auth/login`` (username and password → a short-lived bearer token) and
``GET /auth/me``.

A wrong password and an unknown username get the same 401, with the same message, after
the same work (one Argon2 verification), so the answer does not reveal which usernames
exist. Both outcomes are audited (``login``, ``login_failed``).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from rapport.api.deps import CurrentUser, SessionDep, SettingsDep, client_address
from rapport.api.errors import COMMON_RESPONSES, ErrorDetail, error_response
from rapport.api.schemas.auth import LoginRequest, MePublic, TokenPublic
from rapport.api.security import create_access_token
from rapport.domain import AuditAction
from rapport.store import audit, users

router = APIRouter(prefix="/auth", tags=["auth"])

LOGIN_FAILED = "wrong username or password"


@router.post(
    "/login",
    response_model=TokenPublic,
    responses={k: v for k, v in COMMON_RESPONSES.items() if k != 403},
)
def login(
    body: LoginRequest, request: Request, session: SessionDep, settings: SettingsDep
) -> TokenPublic | JSONResponse:
    """Exchange a username and password for a bearer token (valid
    ``RAPPORT_ACCESS_TOKEN_MINUTES``, default 30)."""
    user = users.authenticate(session=session, username=body.username, password=body.password)
    address = client_address(request)
    if user is None:
        # Answered, not raised: the session commits, so the failed attempt stays audited.
        audit.record(
            session=session,
            actor=body.username[:128],
            action=AuditAction.LOGIN_FAILED,
            entity="users",
            client_address=address,
        )
        return error_response(
            401,
            ErrorDetail(code="invalid_credentials", message=LOGIN_FAILED),
            headers={"WWW-Authenticate": "Bearer"},
        )
    audit.record(
        session=session,
        actor=user["username"],
        actor_user_id=user["id"],
        action=AuditAction.LOGIN,
        entity="users",
        entity_id=user["id"],
        client_address=address,
    )
    token = create_access_token(user_id=user["id"], role=user["role"], settings=settings)
    return TokenPublic(
        access_token=token.token, expires_in=token.expires_in, expires_at=token.expires_at
    )


@router.get("/me", response_model=MePublic, responses=COMMON_RESPONSES)
def me(user: CurrentUser, session: SessionDep) -> MePublic:
    """The authenticated user, their role, and the token's scopes when an API token is used."""
    row = users.get(session=session, id=user.user_id)
    return MePublic(
        **{k: row[k] for k in ("id", "username", "display_name", "email", "role", "team")},
        is_active=row["is_active"],
        via=user.via,  # type: ignore[arg-type]
        token_name=user.token_name,
        scopes=sorted(user.scopes) if user.scopes is not None else None,
    )
