"""``POST /auth/login`` (username and password → a short-lived bearer token) and
``GET /auth/me``.

A wrong password and an unknown username get the same 401, with the same message, after
the same work (the same throttle bookkeeping and one Argon2 verification), so the answer
does not reveal which usernames exist.

Failed log-ins are throttled per account and per client address
(:mod:`rapport.store.login_throttle`, counters in the store shared by every worker):
after ``RAPPORT_LOGIN_MAX_FAILURES`` failures of one account (default 5), or
``RAPPORT_LOGIN_ADDRESS_MAX_FAILURES`` from one address (default 20), log-ins are refused
with 429 and ``Retry-After`` — the password is not even checked — for
``RAPPORT_LOGIN_LOCKOUT_SECONDS`` (default 60), doubled by every further failure up to
``RAPPORT_LOGIN_LOCKOUT_MAX_SECONDS`` (default 900). Unknown usernames are throttled the
same way. A successful log-in clears its account's count.

Audited: ``login``, ``login_failed`` (with the lock-out it starts, if any) and
``login_locked`` (an attempt refused by a lock-out).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from rapport.access import log_in
from rapport.api.deps import CurrentUser, SessionDep, SettingsDep, client_address
from rapport.api.errors import COMMON_RESPONSES, ErrorBody, ErrorDetail, error_response
from rapport.api.schemas.auth import LoginRequest, MePublic, TokenPublic
from rapport.api.security import create_access_token
from rapport.domain import LoginThrottleKind
from rapport.store import users
from rapport.store.login_throttle import ThrottlePolicy

router = APIRouter(prefix="/auth", tags=["auth"])

LOGIN_FAILED = "wrong username or password"
LOCKED_CODE = "too_many_failed_logins"
_WHOSE = {
    LoginThrottleKind.ACCOUNT: "for this account",
    LoginThrottleKind.ADDRESS: "from this address",
}

_LOGIN_RESPONSES = {
    **{k: v for k, v in COMMON_RESPONSES.items() if k != 403},
    429: {
        "model": ErrorBody,
        "description": "Too many failed log-ins of the account or from the address; "
        "wait the seconds of Retry-After",
        "headers": {
            "Retry-After": {"description": "Seconds to wait", "schema": {"type": "integer"}}
        },
    },
}


def _locked(kind: LoginThrottleKind, retry_after: int, policy: ThrottlePolicy) -> JSONResponse:
    longest = policy.lockout_max_seconds
    detail = ErrorDetail(
        code=LOCKED_CODE,
        message=f"too many failed log-ins {_WHOSE[kind]}; try again in {retry_after} seconds",
        hint=f"wait {retry_after} seconds (Retry-After); every further failure doubles the "
        f"wait, up to {longest} seconds. An administrator can lift it: rapport users unlock",
    )
    return error_response(429, detail, headers={"Retry-After": str(retry_after)})


@router.post("/login", response_model=TokenPublic, responses=_LOGIN_RESPONSES)
def login(
    body: LoginRequest, request: Request, session: SessionDep, settings: SettingsDep
) -> TokenPublic | JSONResponse:
    """Exchange a username and password for a bearer token (valid
    ``RAPPORT_ACCESS_TOKEN_MINUTES``, default 30). Too many failures of the account or
    from the address: 429 with ``Retry-After``."""
    address = client_address(request)
    policy = ThrottlePolicy.from_settings(settings)
    outcome = log_in(
        session=session,
        username=body.username,
        password=body.password,
        address=address,
        policy=policy,
    )
    # Answered, not raised: the session commits, so a refusal stays audited.
    if outcome.locked is not None:
        return _locked(outcome.locked, outcome.retry_after, policy)
    user = outcome.user
    if user is None:
        return error_response(
            401,
            ErrorDetail(code="invalid_credentials", message=LOGIN_FAILED),
            headers={"WWW-Authenticate": "Bearer"},
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
