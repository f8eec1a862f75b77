"""``Idempotency-Key``: a retried write creates nothing twice and gets the same answer.

One ASGI middleware (:class:`Idempotency`) serves every ``POST``, ``PUT``, ``PATCH`` and
``DELETE`` under ``/api/v1`` that carries the header, so a route gets it without any code
of its own. The rules:

* A key is scoped by the caller's credential (the SHA-256 of the ``Authorization`` header
  value — the same key sent with another token is another request), the method and the
  path; it is 1 … 255 visible ASCII characters (a UUID is a good key).
* The first request claims the key (a row of ``idempotency_keys`` holding the SHA-256 of
  the body); once answered, the status and body of its response are stored with it.
* A retry with the same key and the same body gets the stored answer again — same status,
  same body, and the header ``Idempotent-Replayed: true`` — and the route does not run.
* The same key with another body: 422 naming ``header.Idempotency-Key``.
* A retry while the first request still runs: 409 ``idempotency_in_progress`` with
  ``Retry-After: 1``. Two identical requests at once: the store's unique constraint on
  (key, credential, method, path) lets exactly one run; the other gets that 409 (or, once
  the first is answered, the replay).
* Not stored, so a retry runs again: 5xx answers (the failure may be transient), 401
  answers (the caller is not known), and the answers of ``/auth`` routes (they carry
  secrets). A request whose route raised leaves no key behind either.
* Keys expire :data:`KEY_TTL` (24 hours) after the first request: later, the same key is
  a new request. A key still "running" after :data:`IN_PROGRESS_TIMEOUT` (the server
  stopped mid-request) is taken over by the next retry.

The claim and the stored answer are written in transactions of their own, beside the
route's: if the server dies between the route's commit and the storing of its answer, the
retry after :data:`IN_PROGRESS_TIMEOUT` runs the route again — bulk routes de-duplicate
by natural key, so even then they create nothing twice.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import re
import time
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers, MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rapport.api.errors import ApiError, ErrorDetail, error_response
from rapport.store import schema
from rapport.store.db import rowcount

log = logging.getLogger("rapport.api.idempotency")

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
FIELD = f"header.{HEADER}"
METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
PREFIX = "/api/v1/"
#: Paths whose answers are never stored (they carry secrets such as log-in tokens).
NOT_STORED_PREFIXES = ("/api/v1/auth/",)
#: How long a key is remembered after its first request.
KEY_TTL = dt.timedelta(hours=24)
#: A key "in progress" for longer than this was abandoned (the server stopped).
IN_PROGRESS_TIMEOUT = dt.timedelta(minutes=10)
#: Expired keys are purged at most this often (seconds), by the request that notices.
PURGE_EVERY_SECONDS = 300.0
_KEY_PATTERN = re.compile(r"^[\x21-\x7e]{1,255}$")
_MAX_PATH = 255

_k = schema.idempotency_keys.c


@dataclass(frozen=True)
class _Claim:
    key: str
    actor: str
    method: str
    path: str
    request_hash: str

    def where(self) -> sa.ColumnElement[bool]:
        return sa.and_(
            _k.key == self.key,
            _k.actor == self.actor,
            _k.method == self.method,
            _k.path == self.path,
        )


@dataclass(frozen=True)
class _Stored:
    request_hash: str
    status: int | None
    body: Any
    created_at: dt.datetime


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _as_utc(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


class IdempotencyStore:
    """The ``idempotency_keys`` rows of one app, each operation its own transaction."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    def claim(self, claim: _Claim) -> _Stored | None:
        """Claim the key (``None``: ours now) or return the row that holds it."""
        for _attempt in range(3):
            with self.sessions() as session:
                try:
                    session.execute(
                        sa.insert(schema.idempotency_keys).values(
                            key=claim.key,
                            actor=claim.actor,
                            method=claim.method,
                            path=claim.path,
                            request_hash=claim.request_hash,
                            response_status=None,
                            response_body=None,
                            created_at=_now(),
                        )
                    )
                    session.commit()
                    return None
                except sa.exc.IntegrityError:
                    session.rollback()
                row = session.execute(
                    sa.select(
                        _k.id, _k.request_hash, _k.response_status, _k.response_body, _k.created_at
                    ).where(claim.where())
                ).first()
                if row is None:  # removed meanwhile: claim again
                    continue
                stored = _Stored(
                    row.request_hash,
                    row.response_status,
                    row.response_body,
                    _as_utc(row.created_at),
                )
                age = _now() - stored.created_at
                stale = age > KEY_TTL or (stored.status is None and age > IN_PROGRESS_TIMEOUT)
                if not stale:
                    return stored
                # expired or abandoned: remove exactly that row (a racing retry that
                # removed it first just claims below), then claim again
                session.execute(sa.delete(schema.idempotency_keys).where(_k.id == row.id))
                session.commit()
        raise ApiError(
            409,
            "idempotency_in_progress",
            f"a request with this {HEADER} is being processed",
            field=FIELD,
            hint="retry in a moment",
            headers={"Retry-After": "1"},
        )

    def finish(self, claim: _Claim, status: int, body: Any) -> None:
        with self.sessions() as session:
            session.execute(
                sa.update(schema.idempotency_keys)
                .where(claim.where())
                .values(response_status=status, response_body=body)
            )
            session.commit()

    def release(self, claim: _Claim) -> None:
        with self.sessions() as session:
            session.execute(sa.delete(schema.idempotency_keys).where(claim.where()))
            session.commit()

    def purge(self, before: dt.datetime) -> int:
        """Remove keys first used before ``before``; how many were removed."""
        with self.sessions() as session:
            result = session.execute(
                sa.delete(schema.idempotency_keys).where(_k.created_at < before)
            )
            session.commit()
            return rowcount(result)


def _error(status: int, code: str, message: str, hint: str, **headers: str) -> Any:
    detail = ErrorDetail(code=code, message=message, field=FIELD, hint=hint)
    return error_response(status, detail, headers=headers or None)


def _stored_body(content_type: str, body: bytes) -> Any:
    """What ``response_body`` keeps: the JSON document, or the text with its media type."""
    if content_type.startswith("application/json"):
        try:
            return {"json": json.loads(body)} if body else {"json": None, "empty": True}
        except ValueError:
            pass
    return {"text": body.decode("utf-8", "replace"), "media_type": content_type or None}


def _replay_parts(stored: Any) -> tuple[bytes, str | None]:
    if isinstance(stored, dict) and "json" in stored:
        if stored.get("empty"):
            return b"", None
        return json.dumps(stored["json"], ensure_ascii=False).encode(), "application/json"
    if isinstance(stored, dict) and "text" in stored:
        return str(stored["text"]).encode(), stored.get("media_type")
    return b"", None


class Idempotency:
    """ASGI middleware honouring ``Idempotency-Key`` on the API's writes (module doc)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._last_purge = 0.0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in METHODS:
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        headers = Headers(scope=scope)
        key = headers.get(HEADER)
        if key is None or not path.startswith(PREFIX):
            await self.app(scope, receive, send)
            return
        if not _KEY_PATTERN.match(key):
            response = _error(
                422,
                "validation_failed",
                f"{FIELD}: 1 to 255 visible ASCII characters",
                "use a fresh UUID for each distinct request",
            )
            await response(scope, receive, send)
            return
        try:
            body = await _read_body(receive)
        except StarletteHTTPException as exc:  # the body limit, refused while reading
            message = exc.detail if isinstance(exc.detail, str) else "request refused"
            detail = ErrorDetail(
                code=getattr(exc, "code", "error"),
                message=getattr(exc, "message", message),
                hint=getattr(exc, "hint", None),
            )
            await error_response(exc.status_code, detail)(scope, receive, send)
            return
        credential = headers.get("authorization", "")
        if len(path) > _MAX_PATH:
            path = "sha256:" + hashlib.sha256(path.encode()).hexdigest()
        claim = _Claim(
            key=key,
            actor=hashlib.sha256(credential.encode("utf-8", "replace")).hexdigest(),
            method=scope["method"],
            path=path,
            request_hash=hashlib.sha256(body).hexdigest(),
        )
        store = IdempotencyStore(scope["app"].state.sessions)
        try:
            held = await run_in_threadpool(store.claim, claim)
        except ApiError as exc:
            response = _error(
                exc.status_code, exc.code, exc.message, exc.hint or "", **(exc.headers or {})
            )
            await response(scope, receive, send)
            return
        except sa.exc.OperationalError as exc:
            log.error("idempotency store unavailable: %s", exc)
            detail = ErrorDetail(
                code="store_unavailable",
                message="the database is unavailable or busy",
                hint="retry in a moment",
            )
            await error_response(503, detail, headers={"Retry-After": "1"})(scope, receive, send)
            return
        if held is not None:
            await self._answer_held(held, claim, scope, receive, send)
            return
        await self._maybe_purge(store)
        await self._run_first(store, claim, body, scope, receive, send)

    async def _answer_held(
        self, held: _Stored, claim: _Claim, scope: Scope, receive: Receive, send: Send
    ) -> None:
        if held.request_hash != claim.request_hash:
            response = _error(
                422,
                "idempotency_key_reused",
                f"this {HEADER} was used for a request with another body",
                "send a new key for a new request; a retry must repeat the body exactly",
            )
        elif held.status is None:
            response = _error(
                409,
                "idempotency_in_progress",
                f"a request with this {HEADER} is being processed",
                "retry in a moment",
                **{"Retry-After": "1"},
            )
        else:
            content, media_type = _replay_parts(held.body)
            raw = [(REPLAYED_HEADER.lower().encode(), b"true")]
            if media_type:
                raw.append((b"content-type", media_type.encode()))
            raw.append((b"content-length", str(len(content)).encode()))
            await send({"type": "http.response.start", "status": held.status, "headers": raw})
            await send({"type": "http.response.body", "body": content})
            return
        await response(scope, receive, send)

    async def _run_first(
        self,
        store: IdempotencyStore,
        claim: _Claim,
        body: bytes,
        scope: Scope,
        receive: Receive,
        send: Send,
    ) -> None:
        sent_body = False

        async def replayed() -> Message:
            nonlocal sent_body
            if not sent_body:
                sent_body = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()  # waits for the client to go away

        start: Message | None = None
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        # The answer is held until the app has finished — the route's transaction is
        # committed when its session dependency exits, after the route "sent" its answer —
        # and it is stored before the client sees it: a client that has the answer and
        # retries gets the replay, never "in progress", and never a replay of a write
        # that did not commit.
        try:
            await self.app(scope, replayed, capture)
        except BaseException:
            await run_in_threadpool(store.release, claim)
            raise
        if start is None:  # the app answered nothing
            await run_in_threadpool(store.release, claim)
            return
        content = b"".join(chunks)
        await run_in_threadpool(self._settle, store, claim, start, content)
        await send(start)
        await send({"type": "http.response.body", "body": content})

    @staticmethod
    def _settle(store: IdempotencyStore, claim: _Claim, start: Message, content: bytes) -> None:
        """Store the answer, or release the key when the answer is not to be replayed."""
        status: int = start["status"]
        headers = MutableHeaders(raw=list(start.get("headers", [])))
        no_store = "no-store" in headers.get("cache-control", "")
        if status >= 500 or status == 401 or no_store or claim.path.startswith(NOT_STORED_PREFIXES):
            store.release(claim)
        else:
            store.finish(claim, status, _stored_body(headers.get("content-type", ""), content))

    async def _maybe_purge(self, store: IdempotencyStore) -> None:
        moment = time.monotonic()
        if moment - self._last_purge < PURGE_EVERY_SECONDS:
            return
        self._last_purge = moment
        try:
            await run_in_threadpool(store.purge, _now() - KEY_TTL)
        except sa.exc.OperationalError as exc:  # busy store: the next purge will do it
            log.warning("purging expired idempotency keys failed: %s", exc)


async def _read_body(receive: Receive) -> bytes:
    parts: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.request":
            parts.append(message.get("body", b""))
            if not message.get("more_body", False):
                return b"".join(parts)
        elif message["type"] == "http.disconnect":
            return b"".join(parts)
