"""Staff users: accounts, roles and argon2-hashed passwords.

Passwords are hashed with Argon2id (argon2-cffi's :class:`~argon2.PasswordHasher`, its
default cost: 64 MiB, 3 passes) — slow on purpose, because people choose guessable
passwords. :func:`authenticate` costs one hash verification whether the user exists or
not (an unknown user is checked against a dummy hash), so the time of a failed log-in does
not tell whether the username exists. Plain passwords are never stored or logged.
"""

from __future__ import annotations

import contextlib
from typing import Any

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.orm import Session

from rapport.domain import Role
from rapport.errors import ValidationFailed
from rapport.store import schema
from rapport.store.repository import Repository, Row

repo = Repository(schema.users, entity="user", key="username")

#: The hasher of new passwords. Tests swap in a cheap one (``argon2.profiles.CHEAPEST``).
password_hasher = PasswordHasher()

MIN_PASSWORD_LENGTH = 8

#: A dummy hash per hasher, verified when the username is unknown (same cost, same time).
_dummy_hashes: dict[int, str] = {}


def _dummy_hash(hasher: PasswordHasher) -> str:
    key = id(hasher)
    if key not in _dummy_hashes:
        _dummy_hashes[key] = hasher.hash("not a password of anyone")
    return _dummy_hashes[key]


def hash_password(password: str) -> str:
    """An Argon2id hash of ``password``; refuses passwords shorter than 8 characters."""
    if not isinstance(password, str) or len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationFailed(
            f"a password needs at least {MIN_PASSWORD_LENGTH} characters",
            table="users",
            field="password",
            hint="choose a longer password (a passphrase of a few words is best)",
        )
    return password_hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches ``password_hash``; one hash verification either way."""
    hasher = password_hasher
    if not password_hash:  # spend the same time as a real check, then refuse
        with contextlib.suppress(VerificationError, InvalidHashError):
            hasher.verify(_dummy_hash(hasher), password)
        return False
    try:
        return hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def create_user(
    *,
    session: Session,
    username: str,
    role: Role | str,
    password: str | None = None,
    display_name: str | None = None,
    email: str | None = None,
    team: str | None = None,
) -> Row:
    """Create a staff account (active). Without a password the user can only use API tokens.

    Raises
    ------
    Conflict
        When the username is taken.
    ValidationFailed
        When a field breaks the schema (unknown role, too long) or the password is too short.
    """
    if not isinstance(username, str) or not username.strip() or username != username.strip():
        raise ValidationFailed(
            f"users.username = {username!r}: must be non-empty, without surrounding spaces",
            table="users",
            field="username",
            value=username,
        )
    values: dict[str, Any] = {
        "username": username,
        "display_name": display_name or username,
        "email": email,
        "role": role,
        "team": team,
        "is_active": True,
    }
    repo.validate(values)  # the schema's errors before the cost of hashing
    if password is not None:
        values["password_hash"] = hash_password(password)
    return repo.create(session=session, values=values)


def authenticate(*, session: Session, username: str, password: str) -> Row | None:
    """The active user with this username and password, or ``None``.

    Unknown users, users without a password, disabled users and wrong passwords all cost
    one Argon2 verification and all give ``None``. A hash made with older parameters is
    replaced by one with the current parameters on a successful log-in.
    """
    user = repo.find(session=session, key=username) if isinstance(username, str) else None
    stored = user.get("password_hash") if user is not None else None
    if not verify_password(stored, password if isinstance(password, str) else ""):
        return None
    assert user is not None
    if not user["is_active"]:
        return None
    if password_hasher.check_needs_rehash(stored):
        user = repo.update(
            session=session, id=user["id"], values={"password_hash": password_hasher.hash(password)}
        )
    return user


def set_password(*, session: Session, user_id: int, password: str) -> Row:
    return repo.update(
        session=session, id=user_id, values={"password_hash": hash_password(password)}
    )


def get(*, session: Session, id: int) -> Row:
    """The user with ``id``; :class:`~rapport.errors.NotFound` otherwise."""
    return repo.get(session=session, id=id)


def get_by_username(*, session: Session, username: str) -> Row:
    return repo.get_by_key(session=session, key=username)


def disable(*, session: Session, username: str) -> Row:
    """Deactivate an account: it can no longer log in or use its API tokens; history stays."""
    user = repo.get_by_key(session=session, key=username)
    return repo.update(session=session, id=user["id"], values={"is_active": False})


def list_users(*, session: Session, include_inactive: bool = True) -> list[Row]:
    """Users in username order."""
    u = schema.users
    stmt = sa.select(u).order_by(u.c.username)
    if not include_inactive:
        stmt = stmt.where(u.c.is_active.is_(True))
    return [dict(r) for r in session.execute(stmt).mappings()]
