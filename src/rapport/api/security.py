"""Passwords and log-in tokens.

* Passwords: Argon2id through argon2-cffi's ``PasswordHasher``, kept in
  :mod:`rapport.store.users` (the CLI creates users too) and re-exported here.
* Log-in tokens: JWTs signed with HS256 and ``RAPPORT_SECRET_KEY`` (PyJWT), short-lived
  (``RAPPORT_ACCESS_TOKEN_MINUTES``, default 30). Claims: ``sub`` (the user id), ``role``,
  ``iat``, ``exp``, ``iss``. The role claim is informative only: every request reloads the
  user, so a disabled account or a changed role takes effect at once.
* API tokens (``rpt_…``) for integrations live in :mod:`rapport.store.tokens`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

import jwt

from rapport.config import Settings
from rapport.store.repository import utcnow
from rapport.store.users import hash_password, verify_password

__all__ = [
    "ALGORITHM",
    "AccessToken",
    "InvalidToken",
    "create_access_token",
    "decode_access_token",
    "hash_password",
    "verify_password",
]

ALGORITHM = "HS256"
ISSUER = "rapport"


class InvalidToken(Exception):
    """A log-in token that is malformed, badly signed or expired (the message says which)."""


@dataclass(frozen=True)
class AccessToken:
    token: str
    expires_at: dt.datetime
    expires_in: int  # seconds


def create_access_token(
    *, user_id: int, role: str, settings: Settings, now: dt.datetime | None = None
) -> AccessToken:
    """A signed log-in token for ``user_id``, valid ``settings.access_token_minutes``."""
    now = (now or utcnow()).replace(microsecond=0)
    lifetime = dt.timedelta(minutes=settings.access_token_minutes)
    expires_at = now + lifetime
    claims = {
        "sub": str(user_id),
        "role": role,
        "iat": int(now.timestamp()),
        "exp": int(expires_at.timestamp()),
        "iss": ISSUER,
    }
    token = jwt.encode(claims, _key(settings), algorithm=ALGORITHM)
    return AccessToken(token, expires_at, int(lifetime.total_seconds()))


def decode_access_token(token: str, settings: Settings) -> int:
    """The user id of a valid log-in token.

    Raises
    ------
    InvalidToken
        When the token is expired, badly signed or malformed.
    """
    try:
        claims = jwt.decode(
            token,
            _key(settings),
            algorithms=[ALGORITHM],
            issuer=ISSUER,
            options={"require": ["exp", "iat", "sub"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise InvalidToken("the log-in token has expired") from exc
    except jwt.PyJWTError as exc:
        raise InvalidToken("invalid log-in token") from exc
    try:
        return int(claims["sub"])
    except (TypeError, ValueError) as exc:
        raise InvalidToken("invalid log-in token") from exc


def _key(settings: Settings) -> bytes:
    """The HMAC key: the SHA-256 of ``RAPPORT_SECRET_KEY``, always 32 bytes (RFC 7518 §3.2
    asks for at least the hash's size; the settings refuse short secrets outside
    development, where the short default would otherwise make PyJWT warn)."""
    return hashlib.sha256(settings.secret_key.encode("utf-8")).digest()
