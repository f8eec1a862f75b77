"""Staff users: accounts, roles and argon2-hashed passwords.

Passwords are hashed with Argon2id (argon2-cffi's :class:`~argon2.PasswordHasher`, its
default cost: 64 MiB, 3 passes) — slow on purpose, because people choose guessable
passwords. Guessable ones are refused when set (:func:`check_password`, the policy of
``RAPPORT_PASSWORD_MIN_LENGTH`` and ``RAPPORT_PASSWORD_MIN_SCORE``): too short, one
character repeated, the username or a close variant of it, or too easy to guess by the
estimate of zxcvbn (zxcvbn-python: common passwords such as ``12345678`` or
``woaini1314``, keyboard walks, dates, names and words with predictable substitutions,
and the user's own username, name and e-mail).

:func:`authenticate` costs one hash verification whether the user exists or not (an
unknown user is checked against a dummy hash), so the time of a failed log-in does not tell
whether the username exists. Plain passwords are never stored or logged.
"""

from __future__ import annotations

import contextlib
import threading
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.orm import Session

from rapport.config import Settings, get_settings
from rapport.domain import Role
from rapport.errors import Conflict, ValidationFailed
from rapport.store import schema
from rapport.store.repository import Repository, Row

repo = Repository(schema.users, entity="user", key="username")

#: The hasher of new passwords. Tests swap in a cheap one (``argon2.profiles.CHEAPEST``).
password_hasher = PasswordHasher()

#: The shortest password any policy accepts.
MIN_PASSWORD_LENGTH = 8
#: zxcvbn rates at most this many characters (longer passwords: their first ones).
ZXCVBN_MAX_LENGTH = 72
#: zxcvbn keeps the user's words in a module-level dictionary: one evaluation at a time.
_zxcvbn_lock = threading.Lock()
#: Words of the product every password check treats as guessable.
_PRODUCT_WORDS = ("rapport", "客情")
PASSPHRASE = "a passphrase of three or four unrelated words is easy to remember and hard to guess"
PASSWORD_HINT = f"choose a longer, less predictable one: {PASSPHRASE}"

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
            "a password needs at least {length} characters",
            table="users",
            field="password",
            hint="choose a longer password (a passphrase of a few words is best)",
            key="password_short",
            params={"length": MIN_PASSWORD_LENGTH},
        )
    return password_hasher.hash(password)


@dataclass(frozen=True)
class PasswordPolicy:
    """What a password must be: at least ``min_length`` characters and a zxcvbn score of
    at least ``min_score`` (0 … 4)."""

    min_length: int = MIN_PASSWORD_LENGTH
    min_score: int = 3

    @classmethod
    def from_settings(cls, settings: Settings) -> PasswordPolicy:
        return cls(
            min_length=max(settings.password_min_length, MIN_PASSWORD_LENGTH),
            min_score=settings.password_min_score,
        )


def _letters(text: str) -> str:
    """``text`` case-folded, its letters and digits only (``Li.Na`` → ``lina``)."""
    return "".join(c for c in text.casefold() if c.isalnum())


def _user_words(username: str, display_name: str | None, email: str | None) -> list[str]:
    words = [username, _letters(username), *_PRODUCT_WORDS]
    words += [part for part in username.replace("_", ".").replace("-", ".").split(".") if part]
    if display_name:
        words += [display_name, _letters(display_name), *display_name.split()]
    if email:
        words += [email, email.partition("@")[0]]
    return [w for w in dict.fromkeys(words) if w]


def _close_to_username(password: str, username: str, min_length: int) -> bool:
    """Whether ``password`` is the username, a part of it, or the username (or its
    reverse) with fewer than ``min_length`` other characters."""
    name, word = _letters(username), _letters(password)
    if len(name) < 3 or not word:
        return False
    if word in name:
        return True
    return any(variant in word and len(word) - len(variant) < min_length
               for variant in (name, name[::-1]))  # fmt: skip


def check_password(
    password: str,
    *,
    username: str,
    display_name: str | None = None,
    email: str | None = None,
    policy: PasswordPolicy | None = None,
) -> None:
    """Refuse a weak password for the account ``username``.

    Raises
    ------
    ValidationFailed
        Naming what is wrong (too short, one repeated character, too close to the
        username, too easy to guess — with zxcvbn's warning) and what to do instead.
    """
    from zxcvbn import zxcvbn

    policy = policy or PasswordPolicy.from_settings(get_settings())
    if not isinstance(password, str) or len(password) < policy.min_length:
        raise ValidationFailed(
            "a password needs at least {length} characters",
            table="users",
            field="password",
            hint=PASSWORD_HINT,
            key="password_short",
            params={"length": policy.min_length},
            hint_key="password.hint",
        )
    if len(set(password)) == 1:
        raise ValidationFailed(
            "password refused: it is one character repeated",
            table="users",
            field="password",
            hint=PASSWORD_HINT,
            key="password_repeated",
            hint_key="password.hint",
        )
    if _close_to_username(password, username, policy.min_length):
        raise ValidationFailed(
            "password refused: it is the username or too close to it",
            table="users",
            field="password",
            hint="choose a password that has nothing to do with the username: {passphrase}",
            key="password_username",
            params={"passphrase": PASSPHRASE},
        )
    with _zxcvbn_lock:
        rating = zxcvbn(
            password[:ZXCVBN_MAX_LENGTH],
            user_inputs=_user_words(username, display_name, email),
            max_length=ZXCVBN_MAX_LENGTH,
        )
    if rating["score"] < policy.min_score:
        feedback = rating.get("feedback") or {}
        warning = (feedback.get("warning") or "").rstrip(".")
        tips = " ".join(feedback.get("suggestions") or [])
        # zxcvbn's warning and tips are English: rapport.i18n.errors has them in Chinese
        raise ValidationFailed(
            "password refused: it is too easy to guess ({warning})"
            if warning
            else "password refused: it is too easy to guess",
            table="users",
            field="password",
            hint="{advice}. {tips}" if tips else "{advice}",
            key="password_guessable_because" if warning else "password_guessable",
            params={
                "warning": f"{warning[:1].lower()}{warning[1:]}",
                "advice": PASSWORD_HINT,
                "tips": tips,
            },
            hint_key="password_tips.hint" if tips else "password.hint",
        )


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
        When a field breaks the schema (unknown role, too long) or the password is weak
        (:func:`check_password`).
    """
    if not isinstance(username, str) or not username.strip() or username != username.strip():
        raise ValidationFailed(
            "users.username = {username!r}: must be non-empty, without surrounding spaces",
            table="users",
            field="username",
            value=username,
            key="username_invalid",
            params={"username": username},
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
        check_password(password, username=username, display_name=display_name, email=email)
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
    assert user is not None and stored is not None
    if not user["is_active"]:
        return None
    if password_hasher.check_needs_rehash(stored):
        user = repo.update(
            session=session, id=user["id"], values={"password_hash": password_hasher.hash(password)}
        )
    return user


def set_password(*, session: Session, user_id: int, password: str) -> Row:
    """Give the user ``user_id`` a new password (refused when weak: :func:`check_password`)."""
    user = repo.get(session=session, id=user_id)
    check_password(
        password, username=user["username"], display_name=user["display_name"], email=user["email"]
    )
    return repo.update(
        session=session, id=user_id, values={"password_hash": hash_password(password)}
    )


def get(*, session: Session, id: int) -> Row:
    """The user with ``id``; :class:`~rapport.errors.NotFound` otherwise."""
    return repo.get(session=session, id=id)


def get_by_username(*, session: Session, username: str) -> Row:
    return repo.get_by_key(session=session, key=username)


def disable(*, session: Session, username: str) -> Row:
    """Deactivate an account: it can no longer log in or use its API tokens; history stays.
    The last active administrator is never disabled (:func:`keeps_an_admin`)."""
    user = repo.get_by_key(session=session, key=username)
    return set_active(session=session, user_id=user["id"], active=False)


def set_active(*, session: Session, user_id: int, active: bool) -> Row:
    """Disable (``active=False``) or enable again the account ``user_id``; the last active
    administrator stays active (:func:`keeps_an_admin`)."""
    user = repo.get(session=session, id=user_id)
    keeps_an_admin(session=session, user=user, role=Role(user["role"]), active=active)
    return repo.update(session=session, id=user_id, values={"is_active": active})


def change_role(*, session: Session, user_id: int, role: Role | str, team: str | None) -> Row:
    """Give the account ``user_id`` a role and a team (``None``: no team); the last active
    administrator keeps the admin role (:func:`keeps_an_admin`)."""
    user = repo.get(session=session, id=user_id)
    clean = repo.validate({"role": role, "team": team}, partial=True)
    keeps_an_admin(session=session, user=user, role=Role(clean["role"]), active=user["is_active"])
    return repo.update(session=session, id=user_id, values=clean)


def keeps_an_admin(*, session: Session, user: Row, role: Role, active: bool) -> None:
    """Refuse a change that would leave the store without an active administrator: ``user``
    is one and would stop being one (``role``, ``active`` after the change), and no other
    is. Nobody could then administer accounts except through the store itself.

    Raises
    ------
    Conflict
        Naming the account and what to do first.
    """
    if user["role"] != Role.ADMIN or not user["is_active"]:
        return
    if role is Role.ADMIN and active:
        return
    u = schema.users.c
    others = session.execute(
        sa.select(sa.func.count())
        .select_from(schema.users)
        .where(u.role == Role.ADMIN, u.is_active.is_(True), u.id != user["id"])
    ).scalar_one()
    if not others:
        raise Conflict(
            "{username} is the last active administrator",
            table="users",
            field="role" if active else "is_active",
            value=user["username"],
            hint="make another account an active administrator first",
            key="last_admin",
            params={"username": user["username"]},
        )


def list_users(*, session: Session, include_inactive: bool = True) -> list[Row]:
    """Users in username order."""
    u = schema.users
    stmt = sa.select(u).order_by(u.c.username)
    if not include_inactive:
        stmt = stmt.where(u.c.is_active.is_(True))
    return [dict(r) for r in session.execute(stmt).mappings()]
