"""The workspace's session: a signed cookie, no server-side state.

The cookie ``rapport_session`` holds a small JSON document signed with HMAC-SHA256 under a
key derived from ``RAPPORT_SECRET_KEY``, so that any worker of the server reads it:

* ``u`` — the user id, once logged in (absent before);
* ``i`` — when the user logged in, ``a`` — their last request (Unix seconds);
* ``c`` — the CSRF token of the session (random, 32 bytes);
* ``l`` — the language the user chose with the switch (absent: from ``Accept-Language``).

A session is valid for :data:`IDLE_SECONDS` after its last request (30 minutes) and at
most :data:`MAX_AGE_SECONDS` after the log-in (12 hours); every request re-issues the cookie
with the new last activity. Whether the user is still active, and their role and team,
are read from the store on every request, so a disabled account or a changed role takes
effect at once. The cookie is ``HttpOnly``, ``SameSite=Lax`` and, outside development,
``Secure``.

CSRF: every form and every HTMX request that changes something (``POST``, ``PUT``,
``PATCH``, ``DELETE``) carries the session's token — a hidden ``csrf_token`` field, or the
``X-CSRF-Token`` header that the pages add to HTMX requests — and is refused with 403 when
it does not match (:func:`check_csrf`). The log-in form is protected the same way: the
session exists, without a user, from the first page on.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass, replace
from typing import Any

from rapport.config import Settings

COOKIE_NAME = "rapport_session"
#: A session ends after this many seconds without a request.
IDLE_SECONDS = 30 * 60
#: A session ends this many seconds after the log-in, active or not.
MAX_AGE_SECONDS = 12 * 60 * 60
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_SALT = b"rapport.web.session.v1"


@dataclass(frozen=True)
class WebSession:
    """The content of the session cookie (see the module docstring)."""

    csrf: str
    user_id: int | None = None
    issued_at: int | None = None
    last_seen: int | None = None
    lang: str | None = None

    @classmethod
    def new(cls, lang: str | None = None) -> WebSession:
        return cls(csrf=secrets.token_urlsafe(32), lang=lang)

    def logged_in(self, user_id: int, now: int | None = None) -> WebSession:
        """A session of ``user_id`` from now, with a new CSRF token (the pre-log-in token
        is not carried over)."""
        now = int(time.time()) if now is None else now
        return WebSession(
            csrf=secrets.token_urlsafe(32),
            user_id=user_id,
            issued_at=now,
            last_seen=now,
            lang=self.lang,
        )

    def logged_out(self) -> WebSession:
        """A session without a user (the language kept)."""
        return WebSession.new(self.lang)

    def touched(self, now: int | None = None) -> WebSession:
        return replace(self, last_seen=int(time.time()) if now is None else now)

    def expired(
        self,
        now: int | None = None,
        *,
        idle_seconds: int = IDLE_SECONDS,
        max_age_seconds: int = MAX_AGE_SECONDS,
    ) -> bool:
        """Whether a logged-in session is past its idle time or its maximum age."""
        if self.user_id is None:
            return False
        now = int(time.time()) if now is None else now
        if self.last_seen is None or self.issued_at is None:
            return True
        return now - self.last_seen > idle_seconds or now - self.issued_at > max_age_seconds

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"c": self.csrf}
        for key, value in (
            ("u", self.user_id),
            ("i", self.issued_at),
            ("a", self.last_seen),
            ("l", self.lang),
        ):
            if value is not None:
                doc[key] = value
        return doc

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> WebSession:
        csrf = doc.get("c")
        if not isinstance(csrf, str) or len(csrf) < 32:
            raise ValueError("no CSRF token")
        ints = {k: doc.get(k) for k in ("u", "i", "a")}
        if any(
            v is not None and (not isinstance(v, int) or isinstance(v, bool)) for v in ints.values()
        ):
            raise ValueError("malformed session")
        lang = doc.get("l")
        return cls(
            csrf=csrf,
            user_id=ints["u"],
            issued_at=ints["i"],
            last_seen=ints["a"],
            lang=lang if isinstance(lang, str) else None,
        )


def _key(settings: Settings) -> bytes:
    """The signing key: HMAC of the secret key with a salt of its own, so that the cookie's
    signature is never a log-in token's."""
    return hmac.new(settings.secret_key.encode("utf-8"), _SALT, hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def encode(session: WebSession, settings: Settings) -> str:
    """The cookie value of ``session``: ``payload.signature``, both base64url."""
    payload = _b64(json.dumps(session.to_json(), separators=(",", ":")).encode("utf-8"))
    signature = hmac.new(_key(settings), payload.encode("ascii"), hashlib.sha256).digest()
    return f"{payload}.{_b64(signature)}"


def decode(value: str | None, settings: Settings) -> WebSession | None:
    """The session of a cookie value; ``None`` when missing, malformed or badly signed."""
    if not value or value.count(".") != 1 or len(value) > 4096:
        return None
    payload, signature = value.split(".")
    expected = hmac.new(_key(settings), payload.encode("ascii", "replace"), hashlib.sha256)
    try:
        if not hmac.compare_digest(expected.digest(), _unb64(signature)):
            return None
        doc = json.loads(_unb64(payload))
        return WebSession.from_json(doc) if isinstance(doc, dict) else None
    except (ValueError, UnicodeDecodeError):
        return None


def csrf_matches(session: WebSession, sent: str | None) -> bool:
    """Whether ``sent`` is the session's CSRF token (compared in constant time)."""
    return bool(sent) and hmac.compare_digest(session.csrf.encode(), str(sent).encode())


def cookie_options(settings: Settings) -> dict[str, Any]:
    """``HttpOnly``, ``SameSite=Lax``, ``Secure`` outside development; a browser-session
    cookie (expiry is enforced by the signed times, not by the browser)."""
    return {
        "key": COOKIE_NAME,
        "httponly": True,
        "samesite": "lax",
        "secure": settings.environment != "development",
        "path": "/",
    }
