"""JSON request bodies are checked once, before any route parses them.

:class:`JsonBodyGuard` (an ASGI middleware) reads every JSON or NDJSON body (and bodies
without a ``Content-Type``, which FastAPI reads as JSON) and answers 422, in the usual
error shape, when the body

* nests arrays and objects more than ``RAPPORT_MAX_JSON_DEPTH`` levels deep (default 64):
  Python's JSON decoder, and every walk over the parsed document, would otherwise run out
  of stack on a body such as ``[[[[…]]]]`` — the field is ``body``;
* holds an unpaired UTF-16 surrogate (``"\\ud800"``) in any string or key: no database
  stores one and no UTF-8 answer can echo one — the field is the path of the string
  (``body.name``, ``body.extra.note``; NDJSON: ``body.line3.name``).

Both checks are vectorized and cheap: the depth is a running sum over the body's brackets
once its string literals are cut out, and only a body holding a surrogate escape
(``\\uD800``–``\\uDFFF``), the UTF-8 bytes of a surrogate, or another encoding than UTF-8
is parsed here to find the strings at fault. Bodies that are not JSON at all go through
untouched: the routes answer those as they always did. Multipart uploads (import files)
are not JSON bodies and are never read here.
"""

from __future__ import annotations

import json
import re
from typing import Any

import numpy as np
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rapport.api.errors import ApiError, ErrorDetail, api_error_response, error_response, safe_value

#: Media types read as JSON documents (one per body) and as NDJSON (one per line).
JSON_TYPES = ("application/json",)
NDJSON_TYPES = ("application/x-ndjson", "application/jsonl", "application/jsonlines")
#: Most problems one answer lists.
MAX_PROBLEMS = 20

_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.S)
#: A surrogate written as a JSON escape, or as the (invalid) UTF-8 bytes of one.
_SURROGATE_HINT = re.compile(rb"\\u[dD][89a-fA-F][0-9a-fA-F]{2}|\xed[\xa0-\xbf]")
_STEP = np.zeros(256, dtype=np.int8)
_STEP[[ord("["), ord("{")]] = 1
_STEP[[ord("]"), ord("}")]] = -1
_NEWLINE = ord("\n")

SURROGATE_MESSAGE = "must be valid Unicode text (an unpaired surrogate is not)"
SURROGATE_HINT = (
    "send text as UTF-8; a character beyond U+FFFF is one pair of escapes (\\ud83d\\ude00)"
)


def body_kind(headers: Headers) -> str | None:
    """``"json"``, ``"ndjson"`` or ``None`` (not a JSON body) for a request's headers."""
    content_type = headers.get("content-type")
    if content_type is None:
        return "json"  # FastAPI reads a body without a Content-Type as JSON
    media = content_type.split(";")[0].strip().lower()
    if media in NDJSON_TYPES:
        return "ndjson"
    if media in JSON_TYPES or media.endswith("+json"):
        return "json"
    return None


def json_depth(raw: bytes, *, per_line: bool = False) -> int:
    """How deep arrays and objects nest in ``raw`` (``[]`` and ``{}`` count 1); with
    ``per_line``, the deepest of its lines (NDJSON). Brackets inside strings do not count.

    Vectorized: string literals are cut out, then the depth is the running sum of +1 per
    opening and -1 per closing bracket. For text that is not JSON the figure means little,
    but it never undercounts what a JSON decoder would reach before it fails.
    """
    stripped = _STRING.sub(b'""', raw) if b'"' in raw else raw
    if not stripped:
        return 0
    codes = np.frombuffer(stripped, dtype=np.uint8)
    depth = np.cumsum(_STEP[codes], dtype=np.int64)
    if per_line:
        newline = codes == _NEWLINE
        if newline.any():
            positions = np.where(newline, np.arange(len(codes)), -1)
            last = np.maximum.accumulate(positions)
            base = np.where(last >= 0, depth[np.maximum(last, 0)], 0)
            depth = depth - base
    return max(int(depth.max()), 0)


def _unicode_problems(document: Any, prefix: tuple[Any, ...]) -> list[tuple[str, str]]:
    """``(path, text)`` of the strings and keys of ``document`` that hold an unpaired
    surrogate (an iterative walk: the depth was checked before)."""
    problems: list[tuple[str, str]] = []
    stack: list[tuple[Any, tuple[Any, ...]]] = [(document, prefix)]
    while stack and len(problems) < MAX_PROBLEMS:
        node, path = stack.pop()
        if isinstance(node, str):
            if not _encodes(node):
                problems.append((".".join(str(p) for p in path), node))
        elif isinstance(node, dict):
            for key, value in reversed(node.items()):
                if not _encodes(key):
                    problems.append((".".join(str(p) for p in (*path, key)), key))
                stack.append((value, (*path, key)))
        elif isinstance(node, list):
            stack.extend((value, (*path, i)) for i, value in reversed(list(enumerate(node))))
    return problems


def _encodes(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _documents(raw: bytes, kind: str) -> list[tuple[Any, tuple[Any, ...]]]:
    """The parsed documents of ``raw`` with their path prefixes (what does not parse is
    left out: the route reports it)."""
    if kind == "json":
        try:
            return [(json.loads(raw), ("body",))]
        except (ValueError, RecursionError):
            return []
    try:
        text = raw.decode("utf-8-sig", "surrogatepass")
    except UnicodeDecodeError:
        return []
    out = []
    for number, line in enumerate(text.split("\n"), start=1):
        if line.strip():
            try:
                out.append((json.loads(line), ("body", f"line{number}")))
            except (ValueError, RecursionError):
                continue
    return out


def check_body(raw: bytes, kind: str, max_depth: int) -> list[ErrorDetail]:
    """The problems of a JSON (``kind="json"``) or NDJSON body; empty when it may pass."""
    depth = json_depth(raw, per_line=kind == "ndjson")
    if depth > max_depth:
        what = "a line" if kind == "ndjson" else "the body"
        return [
            ErrorDetail(
                code="validation_failed",
                message=f"body: {what} nests arrays and objects {depth} levels deep; "
                f"at most {max_depth} are accepted",
                field="body",
                value=depth,
                hint="send flatter documents (the limit is RAPPORT_MAX_JSON_DEPTH)",
            )
        ]
    suspicious = _SURROGATE_HINT.search(raw) is not None or (
        kind == "json" and json.detect_encoding(raw) != "utf-8"
    )
    if not suspicious:
        return []
    problems: list[tuple[str, str]] = []
    for document, prefix in _documents(raw, kind):
        problems.extend(_unicode_problems(document, prefix))
        if len(problems) >= MAX_PROBLEMS:
            break
    return [
        ErrorDetail(
            code="validation_failed",
            message=f"{path}: {SURROGATE_MESSAGE}",
            field=path,
            value=safe_value(path, text),
            hint=SURROGATE_HINT,
        )
        for path, text in problems[:MAX_PROBLEMS]
    ]


class JsonBodyGuard:
    """Refuse JSON bodies nested too deeply or holding unpaired surrogates (422), before
    authentication and before any route parses them; other bodies pass untouched."""

    def __init__(self, app: ASGIApp, max_depth: int) -> None:
        self.app = app
        self.max_depth = max_depth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        kind = body_kind(Headers(scope=scope))
        if kind is None:
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        try:
            while True:
                message = await receive()
                if message["type"] != "http.request":  # the client went away
                    return
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    break
        except ApiError as exc:  # the body limit, raised while reading
            await api_error_response(exc)(scope, receive, send)
            return
        raw = b"".join(chunks)
        problems = check_body(raw, kind, self.max_depth) if raw else []
        if problems:
            await error_response(422, problems[0], errors=problems)(scope, receive, send)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": raw, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)
