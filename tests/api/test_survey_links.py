"""Survey links: created by staff within their scope, answered once without a login,
refused when used (410), expired (410) or unknown (404); nothing personal shown."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from rapport.store import schema

from .conftest import ROLES, VISIBLE, Book, People

URL = "/api/v1/survey-links"


def _create(client: TestClient, people: People, customer_id: int, who: str = "admin", **extra):
    body = {"customer_id": customer_id, "kind": "nps", **extra}
    return client.post(URL, json=body, headers=people.headers(who))


def _path(url: str) -> str:
    return url[url.index("/api/v1/") :]


def test_a_link_is_answered_once(
    client: TestClient, people: People, book: Book, db: Session
) -> None:
    created = _create(client, people, book.own["id"])
    assert created.status_code == 201, created.text
    link = created.json()
    assert "/api/v1/public/surveys/" in link["url"]
    path = _path(link["url"])
    question = client.get(path)
    assert question.status_code == 200
    assert question.json()["kind"] == "nps"
    assert (question.json()["scale_min"], question.json()["scale_max"]) == (0, 10)
    text = question.text
    assert "张伟" not in text and "example.com" not in text and "C-own" not in text
    answer = client.post(path, json={"score": 9, "comment": "很好"})
    assert answer.status_code == 201, answer.text
    row = db.execute(sa.select(schema.survey_responses)).mappings().one()
    assert row["customer_id"] == book.own["id"] and row["score"] == 9
    assert (row["scale_min"], row["scale_max"], row["comment"]) == (0, 10, "很好")
    assert client.post(path, json={"score": 8}).status_code == 410
    assert client.get(path).status_code == 410
    stored = db.execute(sa.select(schema.survey_links)).mappings().one()
    assert stored["used_at"] is not None
    assert path.rsplit("/", 1)[1] not in str(dict(stored))  # only the hash is kept


def test_scores_outside_the_scale_are_422(client: TestClient, people: People, book: Book) -> None:
    path = _path(_create(client, people, book.own["id"], kind="csat").json()["url"])
    for score in (0, 6, 5.5e9):
        response = client.post(path, json={"score": score})
        assert response.status_code == 422
        assert response.json()["error"]["field"] == "body.score"
    assert client.post(path, json={"score": "x"}).status_code == 422
    assert client.post(path, json={"score": 5}).status_code == 201


def test_expired_links_are_410(client: TestClient, people: People, book: Book, db: Session) -> None:
    path = _path(_create(client, people, book.own["id"]).json()["url"])
    db.execute(
        sa.update(schema.survey_links).values(
            expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
        )
    )
    db.commit()
    assert client.get(path).status_code == 410
    assert client.post(path, json={"score": 9}).status_code == 410


def test_unknown_or_forged_tokens_are_404(client: TestClient) -> None:
    path = "/api/v1/public/surveys/" + "A" * 43
    assert client.get(path).status_code == 404
    assert client.post(path, json={"score": 1}).status_code == 404
    assert client.get("/api/v1/public/surveys/short").status_code == 422


@pytest.mark.parametrize("role", ROLES)
def test_staff_create_links_only_for_customers_in_scope(
    client: TestClient, people: People, book: Book, role: str
) -> None:
    for name, customer_id in book.ids().items():
        response = _create(client, people, customer_id, who=role)
        if role in ("service", "analyst"):
            assert response.status_code == 403
        elif name in VISIBLE[role]:
            assert response.status_code == 201, response.text
        else:
            assert response.status_code == 404


def test_bad_link_requests(client: TestClient, people: People, book: Book) -> None:
    bad = _create(client, people, book.own["id"], kind="mood")
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "body.kind"
    days = _create(client, people, book.own["id"], valid_days=365)
    assert days.status_code == 422 and days.json()["error"]["field"] == "body.valid_days"
    assert _create(client, people, book.own["id"], campaign_id=99).status_code == 404
    assert client.post(URL, json={"customer_id": 1, "kind": "nps"}).status_code == 401
