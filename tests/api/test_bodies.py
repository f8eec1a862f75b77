"""Bad JSON bodies never cause a 500: unpaired surrogates in any string (or key) of any
JSON body, and bodies nested far too deep (JSON arrays, NDJSON lines, documents inside
items), in every route that takes a JSON body — each a 422 in the usual error shape that
names the field; paired surrogates and text that merely looks like an escape still pass."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from rapport.api.app import create_app
from rapport.api.bodies import json_depth
from rapport.api.errors import ErrorDetail, error_response
from rapport.config import Settings
from rapport.store import customers

from .conftest import Book, People

CUSTOMERS = "/api/v1/customers"
EVENTS = "/api/v1/events/bulk"
BULK = ("/api/v1/events/bulk", "/api/v1/orders/bulk", "/api/v1/interactions/bulk")
JSON = {"Content-Type": "application/json"}
NDJSON = {"Content-Type": "application/x-ndjson"}
LONE = "\\ud800"  # a JSON escape of an unpaired high surrogate
DEEP = 1000


def _error(response: Any, status: int = 422) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) <= {"error", "errors"}
    assert set(body["error"]) == {"code", "message", "field", "value", "hint"}
    return body["error"]


def _nested(depth: int, leaf: str = "1") -> str:
    return '{"a":' * depth + leaf + "}" * depth


def _write_routes(client: TestClient) -> list[tuple[str, str]]:
    """(method, path) of every route whose OpenAPI operation takes a JSON request body."""
    routes = []
    for path, operations in client.get("/openapi.json").json()["paths"].items():
        for method, operation in operations.items():
            content = operation.get("requestBody", {}).get("content", {})
            if any("json" in media for media in content):
                routes.append((method.upper(), re.sub(r"\{[^}]+\}", "1", path)))
    return routes


# --- every route ------------------------------------------------------------------------------


def test_every_json_route_answers_4xx_to_surrogates_and_deep_nesting(
    client: TestClient, people: People, book: Book
) -> None:
    routes = _write_routes(client)
    assert len(routes) >= 20, routes
    headers = {**people.headers("admin"), **JSON}
    bodies = {
        "surrogate value": f'{{"external_id": "{LONE}", "name": "a{LONE}b"}}',
        "surrogate key": f'{{"extra": {{"{LONE}": 1}}}}',
        "surrogate in a list": f'[{{"external_id": "x"}}, {{"note": ["ok", "{LONE}"]}}]',
        "deep object": _nested(DEEP),
        "deep array": "[" * DEEP + "]" * DEEP,
    }
    for method, path in routes:
        for what, body in bodies.items():
            response = client.request(method, path, content=body.encode(), headers=headers)
            assert 400 <= response.status_code < 500, (method, path, what, response.text)
            error = _error(response, response.status_code)
            assert error["code"] == "validation_failed", (method, path, what)


@pytest.mark.parametrize(
    ("body", "field", "value"),
    [
        ({"external_id": "C-1", "name": "\ud800"}, "body.name", "\\ud800"),
        ({"external_id": "x\udc00y"}, "body.external_id", "x\\udc00y"),
        ({"external_id": "C-1", "tags": ["ok", "\udfff"]}, "body.tags.1", "\\udfff"),
        ({"external_id": "C-1", "extra": {"note": {"k": "\ud83d"}}}, "body.extra.note.k", None),
        ({"external_id": "C-1", "extra": {"\ud800": 1}}, "body.extra.\\ud800", "\\ud800"),
    ],
)
def test_a_surrogate_is_422_naming_its_field_and_echoing_it_escaped(
    client: TestClient, people: People, body: Any, field: str, value: str | None
) -> None:
    raw = json.dumps(body)  # ensure_ascii: the lone surrogate travels as \udXXX
    headers = {**people.headers("admin"), **JSON}
    error = _error(client.post(CUSTOMERS, content=raw.encode(), headers=headers))
    assert error["field"] == field
    assert "unpaired surrogate" in error["message"] and error["hint"]
    if value is not None:
        assert error["value"] == value


def test_a_surrogate_in_a_password_is_never_echoed(client: TestClient) -> None:
    raw = '{"username": "li.na", "password": "secret\\ud800"}'
    error = _error(client.post("/api/v1/auth/login", content=raw.encode(), headers=JSON))
    assert error["field"] == "body.password" and error["value"] == "***"


def test_raw_surrogate_bytes_and_other_encodings_are_422(
    client: TestClient, people: People
) -> None:
    headers = {**people.headers("admin"), **JSON}
    raw = b'{"external_id": "C-1", "name": "a\xed\xa0\x80b"}'  # UTF-8 bytes of U+D800
    assert _error(client.post(CUSTOMERS, content=raw, headers=headers))["field"] == "body.name"
    utf16 = '{"external_id": "C-1", "name": "\ud800"}'.encode("utf-16-le", "surrogatepass")
    assert _error(client.post(CUSTOMERS, content=utf16, headers=headers))["field"] == "body.name"


def test_without_a_content_type_the_body_is_still_checked(
    client: TestClient, people: People
) -> None:
    raw = f'{{"external_id": "{LONE}"}}'.encode()
    response = client.post(CUSTOMERS, content=raw, headers=people.headers("admin"))
    assert _error(response)["field"] == "body.external_id"


# --- bulk bodies ------------------------------------------------------------------------------


@pytest.mark.parametrize("url", BULK)
@pytest.mark.parametrize("shape", ["array", "object", "inside an item"])
def test_bulk_bodies_nested_1000_deep_are_422(
    client: TestClient, people: People, url: str, shape: str
) -> None:
    bodies = {
        "array": "[" * DEEP + "]" * DEEP,
        "object": "[" + _nested(DEEP) + "]",
        "inside an item": '[{"customer_id": 1, "properties": ' + _nested(DEEP) + "}]",
    }
    response = client.post(
        url, content=bodies[shape].encode(), headers={**people.headers("admin"), **JSON}
    )
    error = _error(response)
    assert error["field"] == "body" and "levels deep" in error["message"]
    assert "RAPPORT_MAX_JSON_DEPTH" in error["hint"]


@pytest.mark.parametrize("url", BULK)
def test_ndjson_lines_nested_1000_deep_are_422(
    client: TestClient, people: People, url: str
) -> None:
    good = json.dumps({"customer_id": 1, "kind": "page_view"})
    raw = "\n".join([good, "[" * DEEP + "]" * DEEP, good]).encode()
    error = _error(client.post(url, content=raw, headers={**people.headers("admin"), **NDJSON}))
    assert error["field"] == "body" and "a line" in error["message"]


def test_ndjson_surrogates_name_their_line(client: TestClient, people: People) -> None:
    good = json.dumps({"customer_id": 1, "kind": "page_view"})
    bad = '{"customer_external_id": "' + LONE + '", "kind": "page_view"}'
    raw = "\n".join([good, "", bad]).encode()
    error = _error(client.post(EVENTS, content=raw, headers={**people.headers("admin"), **NDJSON}))
    assert error["field"] == "body.line3.customer_external_id"


def test_a_json_string_holding_a_line_separator_stays_one_ndjson_line(
    client: TestClient, people: People, book: Book
) -> None:
    # U+2028 may stand as it is in a JSON string; it does not end an NDJSON line, so the
    # brackets in the string stay text (they would nest 2000 deep on a line of their own)
    item = {
        "customer_external_id": book.own["external_id"],
        "kind": "page_view",
        "occurred_at": "2024-03-01T10:00:00Z",
        "session_id": "s\u2028" + "[" * 2000,
    }
    raw = json.dumps(item, ensure_ascii=False).encode()
    response = client.post(EVENTS, content=raw, headers={**people.headers("admin"), **NDJSON})
    assert response.status_code == 200, response.text
    (result,) = response.json()["results"]
    assert result["status"] == "error" and result["error"]["field"] == "items[0].session_id"


def test_bulk_items_with_a_surrogate_are_refused_whole(client: TestClient, people: People) -> None:
    raw = f'[{{"customer_id": 1, "kind": "page_view", "session_id": "{LONE}"}}]'.encode()
    response = client.post(EVENTS, content=raw, headers={**people.headers("admin"), **JSON})
    assert _error(response)["field"] == "body.0.session_id"


# --- what still passes ------------------------------------------------------------------------


def test_paired_surrogates_and_escaped_backslashes_pass(
    client: TestClient, people: People, db: Session
) -> None:
    headers = {**people.headers("admin"), **JSON}
    raw = '{"external_id": "C-emoji", "name": "\\ud83d\\ude00 \\\\ud800 张伟"}'
    response = client.post(CUSTOMERS, content=raw.encode(), headers=headers)
    assert response.status_code == 201, response.text
    stored = customers.repo.get(session=db, id=response.json()["id"])
    assert stored["name"] == "😀 \\ud800 张伟"


def test_documents_up_to_the_limit_pass(client: TestClient, people: People) -> None:
    headers = {**people.headers("admin"), **JSON}
    # the body, "extra" and 60 levels inside it: 62 of the 64 allowed
    raw = '{"external_id": "C-deep", "extra": ' + _nested(61) + "}"
    response = client.post(CUSTOMERS, content=raw.encode(), headers=headers)
    assert response.status_code == 201, response.text
    raw = '{"external_id": "C-deeper", "extra": ' + _nested(64) + "}"
    assert (
        "65 levels"
        in _error(client.post(CUSTOMERS, content=raw.encode(), headers=headers))["message"]
    )


def test_the_depth_limit_is_a_setting(engine: Engine, api_settings: Settings) -> None:
    app = create_app(api_settings.model_copy(update={"max_json_depth": 3}), engine=engine)
    with TestClient(app) as small:
        raw = b'{"external_id": "C-x", "extra": {"a": {"b": []}}}'
        error = _error(small.post(CUSTOMERS, content=raw, headers=JSON))
        assert "4 levels deep; at most 3" in error["message"]


def test_bodies_that_are_not_json_go_through_untouched(client: TestClient, people: People) -> None:
    headers = {**people.headers("admin"), **JSON}
    response = client.post(CUSTOMERS, content=b'{"external_id": ', headers=headers)
    assert _error(response)["code"] == "validation_failed"  # FastAPI's json_invalid, as before
    form = client.post(
        CUSTOMERS,
        content=b"external_id=\xed\xa0\x80",
        headers={**people.headers("admin"), "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert 400 <= form.status_code < 500


# --- the pieces -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "per_line", "depth"),
    [
        (b"", False, 0),
        (b"1", False, 0),
        (b"[]", False, 1),
        (b'{"a": [1, {"b": []}]}', False, 4),
        (b'["[[[[", "]]"]', False, 1),  # brackets in strings do not count
        (b'["\\"[[[", {"k\\\\": [[]]}]', False, 4),  # escaped quotes and backslashes
        (b"[[[]]]\n[]\n[[]]", True, 3),
        (b"[[[\n[[]]", True, 3),  # an unclosed line does not lift the next one
        (b"]]]]\n[[[[]]]]", True, 4),  # nor does one closing too much lower it
        (b"[[[\n[[]]", False, 5),
    ],
)
def test_json_depth(raw: bytes, per_line: bool, depth: int) -> None:
    assert json_depth(raw, per_line=per_line) == depth


def test_an_error_echoing_a_surrogate_still_renders() -> None:
    detail = ErrorDetail(code="x", message="bad \ud800", field="body.\udc00", value=["\ud800"])
    response = error_response(422, detail, errors=[detail])
    body = json.loads(response.body)
    assert body["error"]["message"] == "bad \\ud800"
    assert body["error"]["field"] == "body.\\udc00" and body["errors"][0]["value"] == ["\\ud800"]
