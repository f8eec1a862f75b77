"""API tokens: long-lived, scoped, revocable credentials for integrations.

A token's secret is ``rpt_`` followed by 43 URL-safe characters (256 random bits). Only its
SHA-256 is stored. A fast hash is right here, unlike for passwords: nobody can find a
256-bit random secret from its hash by trying candidates, and a fast hash keeps the
look-up on every request cheap and lets the hash be a unique, indexed column.

A token acts as its user — the user's role and row-level access — further limited to its
scopes: ``<resource>:read`` / ``<resource>:write`` (see :data:`RESOURCES`), or ``*``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.orm import Session

from rapport.errors import ValidationFailed
from rapport.store import schema
from rapport.store.repository import Repository, Row, utcnow

repo = Repository(schema.api_tokens, entity="API token", key="token_hash")

TOKEN_PREFIX = "rpt_"
#: Characters of the secret kept for display (``rpt_`` and 8 more).
DISPLAY_PREFIX_LENGTH = 12
#: ``last_used_at`` is written at most this often per token (no write on every request).
TOUCH_INTERVAL = dt.timedelta(seconds=60)

#: The resources of the REST API a scope can name.
RESOURCES = (
    "customers",
    "leads",
    "products",
    "orders",
    "events",
    "interactions",
    "surveys",
    "tickets",
    "referrals",
    "campaigns",
    "loyalty",
    "metrics",
    "scores",
    "imports",
    "users",
    "audit",
    "tasks",
    "alerts",
    "playbooks",
)
ACTIONS = ("read", "write")
ALL_SCOPES = "*"
#: Every scope a token may carry.
SCOPES: frozenset[str] = frozenset(
    {ALL_SCOPES, *(f"{resource}:{action}" for resource in RESOURCES for action in ACTIONS)}
)


def hash_secret(secret: str) -> str:
    """The SHA-256 of ``secret`` as 64 hex digits (what ``token_hash`` stores)."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def check_scopes(scopes: Iterable[str]) -> list[str]:
    """The scopes, checked, without repeats, sorted; :class:`ValidationFailed` otherwise."""
    if isinstance(scopes, str):
        scopes = [scopes]
    clean = sorted(set(scopes))
    if not clean:
        raise ValidationFailed(
            "an API token needs at least one scope",
            table="api_tokens",
            field="scopes",
            hint="e.g. customers:read, orders:write, or * for everything the user may do",
            key="token_no_scope",
        )
    for scope in clean:
        if scope not in SCOPES:
            raise ValidationFailed(
                "api_tokens.scopes: unknown scope {scope!r}",
                table="api_tokens",
                field="scopes",
                value=scope,
                hint="use <resource>:read or <resource>:write with a resource of {resources}; or *",
                key="token_scope_unknown",
                params={"scope": scope, "resources": ", ".join(RESOURCES)},
            )
    return clean


def allows(scopes: Iterable[str], needed: str) -> bool:
    """Whether a token with ``scopes`` may do ``needed`` (``write`` does not imply ``read``)."""
    granted = set(scopes)
    return ALL_SCOPES in granted or needed in granted


def issue(
    *,
    session: Session,
    user_id: int,
    name: str,
    scopes: Iterable[str],
    expires_at: dt.datetime | None = None,
) -> tuple[str, Row]:
    """Create a token for ``user_id``; returns ``(secret, row)``.

    The secret is returned this once and never stored: show it to the user now.
    """
    clean = check_scopes(scopes)
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = repo.create(
        session=session,
        values={
            "user_id": user_id,
            "name": name,
            "token_hash": hash_secret(secret),
            "prefix": secret[:DISPLAY_PREFIX_LENGTH],
            "scopes": clean,
            "created_at": utcnow(),
            "expires_at": expires_at,
        },
    )
    return secret, row


def is_token(secret: str) -> bool:
    """Whether ``secret`` looks like an API token (as opposed to a log-in JWT)."""
    return secret.startswith(TOKEN_PREFIX)


def verify(*, session: Session, secret: str, now: dt.datetime | None = None) -> Row | None:
    """The live token whose secret is ``secret``, or ``None`` (unknown, revoked, expired)."""
    if not is_token(secret):
        return None
    t = schema.api_tokens
    row = (
        session.execute(sa.select(t).where(t.c.token_hash == hash_secret(secret)))
        .mappings()
        .first()
    )
    if row is None or row["revoked_at"] is not None:
        return None
    now = now or utcnow()
    if row["expires_at"] is not None and row["expires_at"] <= now:
        return None
    return dict(row)


def touch_due(token: Row, at: dt.datetime | None = None) -> bool:
    """Whether :func:`touch` would write for ``token`` now (its last use is older than
    :data:`TOUCH_INTERVAL`)."""
    last = token.get("last_used_at")
    return last is None or (at or utcnow()) - last >= TOUCH_INTERVAL


def touch(*, session: Session, token: Row, at: dt.datetime | None = None) -> bool:
    """Record that ``token`` was used at ``at`` (now); at most once per :data:`TOUCH_INTERVAL`.

    Returns whether a write happened.
    """
    at = at or utcnow()
    if not touch_due(token, at):
        return False
    t = schema.api_tokens
    session.execute(sa.update(t).where(t.c.id == token["id"]).values(last_used_at=at))
    return True


def revoke(*, session: Session, token_id: int, at: dt.datetime | None = None) -> Row:
    """Revoke a token (it answers 401 from now on); revoking twice keeps the first time."""
    token = repo.get(session=session, id=token_id)
    if token["revoked_at"] is not None:
        return token
    return repo.update(session=session, id=token_id, values={"revoked_at": at or utcnow()})


def list_tokens(*, session: Session, user_id: int | None = None) -> list[Row]:
    """Tokens (all, or of one user) in id order; rows carry the hash, never the secret."""
    t = schema.api_tokens
    stmt = sa.select(t).order_by(t.c.id)
    if user_id is not None:
        stmt = stmt.where(t.c.user_id == user_id)
    return [dict(r) for r in session.execute(stmt).mappings()]
