"""Errors: one JSON shape naming the field path; 4xx for bad input, never a 500; the
session commits on success and rolls back on error; the app refuses unsafe settings."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from rapport.api.app import create_app
from rapport.api.deps import SessionDep
from rapport.config import DEFAULT_SECRET_KEY, Settings
from rapport.errors import ConfigError, Conflict, StoreUnavailable
from rapport.store import customers, schema

from .conftest import SECRET, Book, People, bearer

URL = "/api/v1/customers"


def _error(response: Any) -> dict[str, Any]:
    body = response.json()
    assert set(body) <= {"error", "errors"}
    assert set(body["error"]) == {"code", "message", "field", "value", "hint"}
    return body["error"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "body.external_id"),
        ({"external_id": ""}, "body.external_id"),
        ({"external_id": "C-1", "email": "bob@"}, "body.email"),
        ({"external_id": "C-1", "phone": "12345"}, "body.phone"),
        ({"external_id": "C-1", "nickname": "x"}, "body.nickname"),
        ({"external_id": "C-1", "tags": ["ok", "x" * 65]}, "body.tags.1"),
        ({"external_id": "C-1", "gender": "robot"}, "body.gender"),
        ({"external_id": "C-1", "birthday": "1990-02-30"}, "body.birthday"),
        (
            {"external_id": "C-1", "loyalty_joined_at": "2024-01-01T00:00:00"},
            "body.loyalty_joined_at",
        ),
        ({"external_id": "C-1", "owner_id": 0}, "body.owner_id"),
        ({"external_id": "C-1", "owner_id": 2**40}, "body.owner_id"),
        ({"external_id": "C-1", "name": "a\x00b"}, "body.name"),
        ({"external_id": "C-1", "country": "CHN"}, "body.country"),
        ({"external_id": "C-1", "extra": {"k": "\x00"}}, "body.extra"),
        ({"external_id": "C-1", "marketing_consent": "maybe"}, "body.marketing_consent"),
        (
            {"external_id": "C-1", "loyalty_joined_at": "0001-01-01T00:00:00+05:00"},
            "body.loyalty_joined_at",
        ),
        ([1, 2], "body"),
    ],
)
def test_422_names_the_field_path(
    client: TestClient, people: People, body: Any, field: str
) -> None:
    response = client.post(URL, json=body, headers=people.headers("admin"))
    assert response.status_code == 422, response.text
    error = _error(response)
    assert error["field"] == field
    assert error["code"] == "validation_failed"
    assert field in error["message"] or error["field"] == field


def test_query_and_path_errors_name_their_location(
    client: TestClient, people: People, book: Book
) -> None:
    headers = people.headers("admin")
    cases = {
        f"{URL}?limit=0": "query.limit",
        f"{URL}?limit=101": "query.limit",  # above RAPPORT_MAX_PAGE_SIZE (100 in tests)
        f"{URL}?limit=ten": "query.limit",
        f"{URL}?cursor=garbage!": "query.cursor",
        f"{URL}?marketable=perhaps": "query.marketable",
        f"{URL}/abc": "path.customer_id",
        f"{URL}/0": "path.customer_id",
        f"{URL}/1/360?entries=500": "query.entries",
    }
    for url, field in cases.items():
        response = client.get(url, headers=headers)
        assert response.status_code == 422, url
        assert _error(response)["field"] == field, url


def test_huge_ids_are_404_not_500(client: TestClient, people: People) -> None:
    for customer_id in (2**31, 2**63 - 1, 10**30):
        response = client.get(f"{URL}/{customer_id}", headers=people.headers("admin"))
        assert response.status_code == 404, customer_id


def test_invalid_json_is_422(client: TestClient, people: People) -> None:
    headers = {**people.headers("admin"), "Content-Type": "application/json"}
    response = client.post(URL, content=b'{"external_id": ', headers=headers)
    assert response.status_code == 422
    assert _error(response)["field"].startswith("body")


def test_duplicate_external_id_is_409_naming_the_field(
    client: TestClient, people: People, book: Book
) -> None:
    response = client.post(URL, json={"external_id": "C-own"}, headers=people.headers("admin"))
    assert response.status_code == 409
    error = _error(response)
    assert error["code"] == "conflict" and error["field"] == "external_id"
    assert error["value"] == "C-own"


def test_too_large_body_is_413(client: TestClient, people: People) -> None:
    big = {"external_id": "C-big", "extra": {"blob": "x" * (11 * 1024 * 1024)}}
    response = client.post(URL, json=big, headers=people.headers("admin"))
    assert response.status_code == 413
    assert _error(response)["code"] == "content_too_large"


def test_unknown_routes_and_methods_use_the_same_shape(client: TestClient, people: People) -> None:
    response = client.get("/api/v1/nothing-here", headers=people.headers("admin"))
    assert response.status_code == 404 and _error(response)["code"] == "not_found"
    response = client.put(URL, headers=people.headers("admin"))
    assert response.status_code == 405 and _error(response)["code"] == "method_not_allowed"


def test_role_refusal_is_403_and_names_the_allowed_roles(
    client: TestClient, people: People
) -> None:
    response = client.post(URL, json={"external_id": "C-a"}, headers=people.headers("analyst"))
    assert response.status_code == 403
    error = _error(response)
    assert error["code"] == "forbidden" and "admin, manager, sales" in error["hint"]


def test_openapi_and_docs_are_served(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert "/api/v1/customers/{customer_id}/360" in spec["paths"]
    assert spec["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    assert client.get("/docs").status_code == 200


# --- the app on a real engine: commit on success, roll back on error -------------------------


def _app_on(engine: Engine, settings: Settings) -> Any:
    app = create_app(settings, engine=engine)

    @app.post("/test/write-then-fail")
    def write_then_fail(session: SessionDep) -> None:
        customers.repo.create(session=session, values={"external_id": "C-rolled-back"})
        raise Conflict("refused after the write", table="customers")

    @app.post("/test/write")
    def write(session: SessionDep) -> None:
        customers.repo.create(session=session, values={"external_id": "C-kept"})

    return app


def test_session_commits_on_success_and_rolls_back_on_error(
    fresh_engine: Engine, api_settings: Settings
) -> None:
    with TestClient(_app_on(fresh_engine, api_settings)) as client:
        assert client.post("/test/write").status_code == 200
        assert client.post("/test/write-then-fail").status_code == 409
    with fresh_engine.connect() as conn:
        ids = set(conn.execute(sa.select(schema.customers.c.external_id)).scalars())
    assert ids == {"C-kept"}


def test_login_on_a_real_engine(fresh_engine: Engine, api_settings: Settings) -> None:
    from rapport.store import users
    from rapport.store.db import session_scope

    with session_scope(fresh_engine) as session:
        user = users.create_user(
            session=session, username="ops", role="admin", password="blue kettle orbit"
        )
    with TestClient(create_app(api_settings, engine=fresh_engine)) as client:
        token = client.post(
            "/api/v1/auth/login", json={"username": "ops", "password": "blue kettle orbit"}
        )
        assert token.status_code == 200
        me = client.get(
            "/api/v1/auth/me", headers={"Authorization": f"Bearer {token.json()['access_token']}"}
        )
        assert me.json()["id"] == user["id"]
        assert client.get("/api/v1/auth/me", headers=bearer(user, api_settings)).status_code == 200


# --- refusals at start -----------------------------------------------------------------------


def test_app_refuses_the_default_secret_outside_development(
    engine: Engine, api_settings: Settings
) -> None:
    unsafe = api_settings.model_copy(
        update={"environment": "production", "secret_key": DEFAULT_SECRET_KEY}
    )
    with pytest.raises(ConfigError, match="RAPPORT_SECRET_KEY"):
        create_app(unsafe, engine=engine)
    safe = api_settings.model_copy(update={"environment": "production", "secret_key": SECRET})
    create_app(safe, engine=engine)


def test_app_refuses_a_store_that_is_not_migrated(empty_url: str, api_settings: Settings) -> None:
    from rapport.store.db import create_engine

    bare = create_engine(empty_url)
    try:
        with pytest.raises(StoreUnavailable, match="rapport init"):
            create_app(api_settings, engine=bare)
    finally:
        bare.dispose()


def test_too_large_chunked_body_is_413(client: TestClient, people: People) -> None:
    def chunks() -> Any:
        for _ in range(12):
            yield b" " * (1024 * 1024)

    headers = {**people.headers("admin"), "Content-Type": "application/json"}
    response = client.post(URL, content=chunks(), headers=headers)
    assert response.status_code == 413
    assert _error(response)["code"] == "content_too_large"
