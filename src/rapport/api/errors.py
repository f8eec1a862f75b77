"""Errors → HTTP: one JSON shape for every 4xx and 5xx the API sends.

Every error body is ``{"error": {"code", "message", "field", "value", "hint"}}``; request
validation adds ``"errors"`` with every problem found (the first is also ``"error"``).
``field`` is a path: ``body.email``, ``query.limit``, ``path.customer_id`` for problems of
the request; the resource's field (``email``, ``owner_id``) for rules of the store.

Statuses, chosen so that nobody can probe for records they may not see:

* 401 — no credentials, or invalid, expired or revoked ones (with ``WWW-Authenticate``);
* 403 — authenticated, but the role (or the API token's scopes) may not use this route;
* 404 — the record does not exist *or* lies outside the caller's row-level scope: the two
  answers are identical, body included;
* 409 — a conflict with stored data (duplicate key, illegal state change);
* 413 — the body is larger than ``RAPPORT_MAX_BODY_BYTES``;
* 422 — a value breaks a rule (the body names the field path and the problem);
* 503 — the store is unavailable. Bad input never causes a 500.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

import sqlalchemy as sa
from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rapport.errors import (
    ConfigError,
    Conflict,
    FitFailed,
    Forbidden,
    NotFitted,
    NotFound,
    RapportError,
    StoreUnavailable,
    UnsupportedBackend,
    ValidationFailed,
)

log = logging.getLogger("rapport.api")

#: HTTP status of each domain error (the most specific class in the MRO wins).
STATUS: dict[type[RapportError], int] = {
    NotFound: 404,
    Forbidden: 403,
    Conflict: 409,
    ValidationFailed: 422,
    NotFitted: 409,
    StoreUnavailable: 503,
    UnsupportedBackend: 501,
    ConfigError: 500,
    FitFailed: 500,
    RapportError: 400,
}

#: Fields whose values are never echoed back in an error body.
_SECRET_FIELDS = ("password", "secret", "token")
_MAX_VALUE_CHARS = 200


class ErrorDetail(BaseModel):
    """One problem: what, where and what to do."""

    code: str = Field(description="Machine-readable kind, e.g. not_found, validation_failed.")
    message: str = Field(description="One sentence a person can act on.")
    field: str | None = Field(
        default=None, description="Where: body.email, query.limit, or a resource field."
    )
    value: Any = Field(default=None, description="The offending value, when safe to echo.")
    hint: str | None = Field(default=None, description="What to do about it.")


class ErrorBody(BaseModel):
    """The body of every error response."""

    error: ErrorDetail
    errors: list[ErrorDetail] | None = Field(
        default=None, description="All problems found (request validation)."
    )


class ApiError(StarletteHTTPException):
    """An HTTP-level error raised by the API itself (authentication, permissions, limits)."""

    def __init__(
        self,
        status_code: int,
        code: str,
        message: str,
        *,
        field: str | None = None,
        value: Any = None,
        hint: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(status_code=status_code, detail=message, headers=headers)
        self.code = code
        self.message = message
        self.field = field
        self.value = value
        self.hint = hint


def unauthorized(message: str, *, invalid_token: bool = False) -> ApiError:
    """401 with the ``WWW-Authenticate`` challenge of bearer tokens (RFC 6750)."""
    challenge = 'Bearer error="invalid_token"' if invalid_token else "Bearer"
    return ApiError(
        401,
        "not_authenticated",
        message,
        hint="log in at POST /api/v1/auth/login and send Authorization: Bearer <token>",
        headers={"WWW-Authenticate": challenge},
    )


def forbidden(
    message: str, *, field: str | None = None, value: Any = None, hint: str | None = None
) -> ApiError:
    return ApiError(403, "forbidden", message, field=field, value=value, hint=hint)


def unknown_reference(field: str, entity: str, id: Any) -> ApiError:
    """422 for a request body naming at ``field`` a record that is missing or outside the
    caller's scope (the same answer for both): ``body.customer_id: no customer with id 7``."""
    return ApiError(
        422, "validation_failed", f"{field}: no {entity} with id {id}", field=field, value=id
    )


def error_response(
    status_code: int,
    detail: ErrorDetail,
    *,
    errors: list[ErrorDetail] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """The JSON answer of an error. Text that UTF-8 cannot carry (an unpaired surrogate
    echoed from the request) is written as its escape (``\\ud800``), so the error itself
    never fails to render."""
    body: dict[str, Any] = {"error": detail.model_dump()}
    if errors is not None:
        body["errors"] = [e.model_dump() for e in errors]
    return JSONResponse(
        _encodable(jsonable_encoder(body)), status_code=status_code, headers=headers
    )


def _encodable(value: Any) -> Any:
    """``value`` with every string (and key) made encodable as UTF-8."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return value.encode("utf-8", "backslashreplace").decode("utf-8")
        return value
    if isinstance(value, dict):
        return {_encodable(k): _encodable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_encodable(v) for v in value]
    return value


def api_error_response(exc: ApiError) -> JSONResponse:
    """The answer of an :class:`ApiError` (for middleware, outside the exception handlers)."""
    detail = ErrorDetail(
        code=exc.code,
        message=exc.message,
        field=exc.field,
        value=safe_value(exc.field, exc.value),
        hint=exc.hint,
    )
    return error_response(exc.status_code, detail, headers=getattr(exc, "headers", None))


def safe_value(field: str | None, value: Any) -> Any:
    """``value`` as JSON, shortened, and never the value of a secret field."""
    if value is None:
        return None
    if field and any(word in field.lower() for word in _SECRET_FIELDS):
        return "***"
    try:
        value = jsonable_encoder(value)
    except (TypeError, ValueError):
        value = str(value)
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if isinstance(value, dict | list) and len(repr(value)) > _MAX_VALUE_CHARS:
        return None
    if isinstance(value, str) and len(value) > _MAX_VALUE_CHARS:
        return value[:_MAX_VALUE_CHARS] + "…"
    return value


def _code(error: RapportError) -> str:
    name = type(error).__name__
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name).lstrip("_")


def status_of(error: RapportError) -> int:
    for cls in type(error).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 500


def _loc_path(loc: tuple[Any, ...] | list[Any]) -> str:
    return ".".join(str(part) for part in loc)


async def _rapport_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RapportError)
    status = status_of(exc)
    if status >= 500:
        log.error("%s: %s", type(exc).__name__, exc)
    detail = ErrorDetail(
        code=_code(exc),
        message=exc.message,
        field=exc.field,
        value=safe_value(exc.field, exc.value),
        hint=exc.hint,
    )
    return error_response(status, detail)


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    details = []
    for problem in exc.errors():
        field = _loc_path(problem.get("loc", ()))
        message = problem.get("msg", "invalid value")
        details.append(
            ErrorDetail(
                code="validation_failed",
                message=f"{field}: {message}" if field else message,
                field=field or None,
                value=safe_value(field, problem.get("input")),
                hint=_hint(problem),
            )
        )
    if not details:
        details.append(ErrorDetail(code="validation_failed", message="invalid request"))
    return error_response(422, details[0], errors=details)


def _hint(problem: dict[str, Any]) -> str | None:
    kind = problem.get("type", "")
    ctx = problem.get("ctx") or {}
    if kind == "json_invalid":
        return f"send valid JSON ({ctx.get('error', 'decode error')})"
    if kind == "missing":
        return "add the field"
    if kind == "extra_forbidden":
        return "remove the field; see the schema at /openapi.json"
    if "expected" in ctx:
        return f"expected {ctx['expected']}"
    return None


async def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if isinstance(exc, ApiError):
        return api_error_response(exc)
    try:
        phrase = HTTPStatus(exc.status_code).phrase
    except ValueError:
        phrase = "error"
    code = phrase.lower().replace(" ", "_").replace("-", "_")
    message = exc.detail if isinstance(exc.detail, str) else phrase
    detail = ErrorDetail(code=code, message=message)
    return error_response(exc.status_code, detail, headers=getattr(exc, "headers", None))


async def _store_unavailable(_request: Request, exc: Exception) -> JSONResponse:
    log.error("database error: %s", exc)
    detail = ErrorDetail(
        code="store_unavailable",
        message="the database is unavailable or busy",
        hint="retry in a moment",
    )
    return error_response(503, detail, headers={"Retry-After": "1"})


async def _internal_error(_request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error", exc_info=exc)
    detail = ErrorDetail(code="internal_error", message="internal error")
    return error_response(500, detail)


def _too_large(max_body_bytes: int) -> ApiError:
    return ApiError(
        413,
        "content_too_large",
        f"the request body is larger than {max_body_bytes} bytes",
        hint="send less per request (bulk routes take batches) or raise RAPPORT_MAX_BODY_BYTES",
    )


class BodyLimit:
    """Refuse request bodies over ``max_body_bytes`` with a JSON 413: at once when the
    declared ``Content-Length`` is too large, else while the body is read (chunked
    uploads), through the error handlers like every other error."""

    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.max_body_bytes
        declared = Headers(scope=scope).get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            error = _too_large(limit)
            detail = ErrorDetail(code=error.code, message=error.message, hint=error.hint)
            await error_response(413, detail)(scope, receive, send)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise _too_large(limit)
            return message

        await self.app(scope, counted, send)


def install_error_handlers(app: FastAPI) -> None:
    """Register the translation of every error to its status and JSON body."""
    app.add_exception_handler(RapportError, _rapport_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(sa.exc.OperationalError, _store_unavailable)
    # no free connection in the pool within its timeout: busy, not broken
    app.add_exception_handler(sa.exc.TimeoutError, _store_unavailable)
    app.add_exception_handler(Exception, _internal_error)


#: Error responses every route documents (the OpenAPI schema lists them).
COMMON_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "Missing, invalid, expired or revoked credentials"},
    403: {"model": ErrorBody, "description": "The role or token scopes may not use this route"},
    413: {"model": ErrorBody, "description": "Request body too large"},
    422: {"model": ErrorBody, "description": "A value breaks a rule; names the field path"},
    503: {"model": ErrorBody, "description": "The store is unavailable"},
}
NOT_FOUND_RESPONSE: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorBody, "description": "No such record, or outside your scope"}
}
CONFLICT_RESPONSE: dict[int | str, dict[str, Any]] = {
    409: {"model": ErrorBody, "description": "Conflicts with stored data"}
}
