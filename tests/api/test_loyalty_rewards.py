"""The rewards catalogue and vouchers over the API: who may change the catalogue, redeem
and use a voucher, the customer's scope, the price spent, stock and single use."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from .conftest import Book, People

REWARDS = "/api/v1/loyalty/rewards"
MUG = {"name_zh": "马克杯", "name_en": "Mug", "kind": "gift", "points": 300, "stock": 1}


def _earn(client: TestClient, people: People, customer_id: int, points: int) -> None:
    response = client.post(
        f"/api/v1/customers/{customer_id}/loyalty/earn",
        json={"points": points, "reason": "bonus"},
        headers=people.headers("admin"),
    )
    assert response.status_code == 201, response.text


def _redeem(client: TestClient, people: People, role: str, customer_id: int) -> object:
    return client.post(
        f"/api/v1/customers/{customer_id}/loyalty/vouchers",
        json={"reward": "MUG"},
        headers=people.headers(role),
    )


@pytest.mark.parametrize("role", ["admin", "manager", "sales", "service", "analyst"])
def test_the_catalogue_is_read_by_all_and_written_by_admins_and_managers(
    client: TestClient, people: People, role: str
) -> None:
    written = client.put(f"{REWARDS}/MUG", json=MUG, headers=people.headers(role))
    assert written.status_code == (200 if role in {"admin", "manager"} else 403), written.text
    if written.status_code == 403:
        client.put(f"{REWARDS}/MUG", json=MUG, headers=people.headers("admin"))
    listed = client.get(REWARDS, headers=people.headers(role))
    assert listed.status_code == 200
    assert [(r["code"], r["points"], r["stock"]) for r in listed.json()] == [("MUG", 300, 1)]


def test_redeem_in_scope_spend_the_price_use_once_and_the_stock_runs_out(
    client: TestClient, people: People, book: Book
) -> None:
    client.put(f"{REWARDS}/MUG", json=MUG, headers=people.headers("admin"))
    own, west = book.own["id"], book.west["id"]
    _earn(client, people, own, 500)
    _earn(client, people, west, 500)
    assert _redeem(client, people, "analyst", own).status_code == 403
    outside = _redeem(client, people, "sales", west)
    assert outside.status_code == 404  # another owner's customer: as if missing
    voucher = _redeem(client, people, "sales", own)
    assert voucher.status_code == 201, voucher.text
    body = voucher.json()
    assert body["code"].startswith("RV-") and (body["points"], body["balance"]) == (300, 200)
    again = _redeem(client, people, "manager", own)
    assert again.status_code == 409 and "out of stock" in again.json()["error"]["message"]
    use = f"/api/v1/loyalty/vouchers/{body['code']}/use"
    assert client.post(use, headers=people.headers("service")).status_code == 404  # not theirs
    used = client.post(use, headers=people.headers("sales"))
    assert used.status_code == 200 and used.json()["used_at"] is not None
    twice = client.post(use, headers=people.headers("sales"))
    assert twice.status_code == 409 and "was used" in twice.json()["error"]["message"]


def test_a_reward_beyond_the_points_available_writes_nothing(
    client: TestClient, people: People, book: Book
) -> None:
    client.put(f"{REWARDS}/MUG", json={**MUG, "stock": None}, headers=people.headers("admin"))
    _earn(client, people, book.own["id"], 100)
    refused = _redeem(client, people, "sales", book.own["id"])
    assert refused.status_code == 409
    card = client.get(
        f"/api/v1/customers/{book.own['id']}/loyalty", headers=people.headers("sales")
    ).json()
    assert card["balance"] == 100
    listed = client.get(REWARDS, headers=people.headers("sales")).json()
    assert listed[0]["stock"] is None
