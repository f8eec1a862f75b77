"""GET /customers/{id}/360: profile, the merged timeline (newest first, across sources),
the latest score snapshot and the one before — the pieces of ``rapport customer ID``."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from rapport.domain import (
    Direction,
    EventKind,
    InteractionChannel,
    OrderStatus,
    SurveyKind,
)
from rapport.store import events, interactions, orders, scores, surveys

from .conftest import T0, Book, People

URL = "/api/v1/customers"


@pytest.fixture
def activity(db: Session, book: Book) -> None:
    cid = book.own["id"]
    day = dt.timedelta(days=1)
    orders.create(
        session=db,
        values={
            "external_id": "SO-360",
            "customer_id": cid,
            "status": OrderStatus.COMPLETED,
            "ordered_at": T0,
            "net_amount": Decimal("88.50"),
            "currency": "CNY",
            "channel": "tmall",
        },
    )
    interactions.repo.create(
        session=db,
        values={
            "customer_id": cid,
            "channel": InteractionChannel.PHONE,
            "direction": Direction.OUTBOUND,
            "occurred_at": T0 + 2 * day,
            "subject": "回访 张伟",
        },
    )
    surveys.repo.create(
        session=db,
        values={
            "customer_id": cid,
            "kind": SurveyKind.NPS,
            "score": 9,
            "scale_min": 0,
            "scale_max": 10,
            "responded_at": T0 + 3 * day,
        },
    )
    for i in range(3):
        events.repo.create(
            session=db,
            values={
                "customer_id": cid,
                "kind": EventKind.PAGE_VIEW,
                "occurred_at": T0 + (4 + i) * day,
                "channel": "app",
            },
        )
    for as_of, loyalty in ((dt.date(2024, 3, 31), 55.0), (dt.date(2024, 4, 30), 61.5)):
        scores.write_snapshot(
            session=db,
            as_of=as_of,
            rows=[
                {
                    "customer_id": cid,
                    "loyalty": loyalty,
                    "value_tier": "gold",
                    "components": {"loyalty": {"repeat": 0.5}},
                }
            ],
        )
    db.commit()


def test_360_merges_the_sources_newest_first_with_the_latest_scores(
    client: TestClient, people: People, book: Book, activity: None
) -> None:
    response = client.get(f"{URL}/{book.own['id']}/360", headers=people.headers("sales"))
    assert response.status_code == 200, response.text
    card = response.json()
    assert card["customer"]["name"] == "张伟"
    timeline = card["timeline"]
    assert [e["source"] for e in timeline] == [
        "events",
        "events",
        "events",
        "survey_responses",
        "interactions",
        "orders",
    ]
    times = [dt.datetime.fromisoformat(e["at"]) for e in timeline]
    assert times == sorted(times, reverse=True)
    assert times[-1] == T0
    order = timeline[-1]
    assert order["kind"] == "completed" and order["detail"] == "tmall" and order["value"] == 88.5
    assert timeline[3]["detail"] == "0–10" and timeline[3]["value"] == 9
    assert timeline[4]["detail"] == "回访 张伟"
    assert card["scores"]["as_of"] == "2024-04-30" and card["scores"]["loyalty"] == 61.5
    assert card["scores"]["components"] == {"loyalty": {"repeat": 0.5}}
    assert card["previous_scores"]["as_of"] == "2024-03-31"


def test_360_limits_the_timeline_to_the_newest_entries(
    client: TestClient, people: People, book: Book, activity: None
) -> None:
    url = f"{URL}/{book.own['id']}/360"
    card = client.get(url, params={"entries": 4}, headers=people.headers("admin")).json()
    assert [e["source"] for e in card["timeline"]] == ["events"] * 3 + ["survey_responses"]
    assert (
        client.get(url, params={"entries": 0}, headers=people.headers("admin")).status_code == 422
    )


def test_360_for_analysts_is_masked_including_interaction_subjects(
    client: TestClient, people: People, book: Book, activity: None
) -> None:
    card = client.get(f"{URL}/{book.own['id']}/360", headers=people.headers("analyst")).json()
    assert card["customer"]["masked"] is True and card["customer"]["name"] == "张*"
    subjects = [e["detail"] for e in card["timeline"] if e["source"] == "interactions"]
    assert subjects == [None]
    assert card["scores"]["loyalty"] == 61.5


def test_360_of_a_customer_without_history(client: TestClient, people: People, book: Book) -> None:
    card = client.get(f"{URL}/{book.pool['id']}/360", headers=people.headers("admin")).json()
    assert card["timeline"] == [] and card["scores"] is None and card["previous_scores"] is None
