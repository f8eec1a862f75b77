"""Many clients at once against a real server (uvicorn in a thread, a store of its own on
SQLite and on PostgreSQL, every request in its own session and transaction):

* loyalty: 20 threads × 10 earn/redeem operations on one customer → the final balance is
  the sum of the accepted operations, the running balance never goes negative, every
  refused redeem is a 409;
* orders: 10 threads creating orders at once → every order and item stored, no 5xx;
* the same order sent twice at once (same ``external_id``) → one row; one request gets
  201, the other 409 (a retry of a created order is refused, never stored twice).
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from rapport.api.app import create_app
from rapport.config import Settings
from rapport.domain import Role
from rapport.store import customers, products, schema, users
from rapport.store.db import session_scope
from tests.helpers import live_server

from .conftest import bearer

THREADS = 20
OPERATIONS = 10
ORDER_THREADS = 10
ORDERS_PER_THREAD = 5
DUPLICATE_ROUNDS = 8


@dataclass
class Live:
    base_url: str
    headers: dict[str, str]
    customer_id: int
    product_id: int
    engine: Engine


@pytest.fixture
def live(fresh_engine: Engine, api_settings: Settings) -> Iterator[Live]:
    """A real server on a free port, on a store of its own (``fresh_engine``)."""
    with session_scope(fresh_engine) as session:
        admin = users.create_user(session=session, username="admin", role=Role.ADMIN)
        customer = customers.repo.create(
            session=session, values={"external_id": "C-busy", "name": "张伟"}
        )
        product = products.repo.create(
            session=session,
            values={"sku": "SKU-1", "name": "龙井茶", "price": "88.00", "currency": "CNY"},
        )
    with live_server(create_app(api_settings, engine=fresh_engine)) as url:
        yield Live(
            base_url=f"{url}/api/v1",
            headers=bearer(admin, api_settings),
            customer_id=customer["id"],
            product_id=product["id"],
            engine=fresh_engine,
        )


def _run_threads(count: int, work: Callable[[int, httpx.Client], Any]) -> list[Any]:
    """Run ``work(n, client)`` in ``count`` threads started together; their results."""
    barrier = threading.Barrier(count)

    def run(n: int) -> Any:
        with httpx.Client(timeout=120) as client:
            barrier.wait()
            return work(n, client)

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(run, range(count)))


def test_concurrent_earn_and_redeem_never_go_negative_nor_lose_a_write(live: Live) -> None:
    url = f"{live.base_url}/customers/{live.customer_id}/loyalty"

    def work(n: int, client: httpx.Client) -> list[tuple[str, int, int]]:
        rng = random.Random(n)
        done = []
        for i in range(OPERATIONS):
            kind = "earn" if rng.random() < 0.45 else "redeem"
            points = rng.randint(10, 50) if kind == "earn" else rng.randint(20, 80)
            response = client.post(
                f"{url}/{kind}",
                json={"points": points, "reference": f"t{n}-{i}"},
                headers=live.headers,
            )
            done.append((kind, points, response.status_code))
        return done

    results = [r for thread in _run_threads(THREADS, work) for r in thread]
    assert len(results) == THREADS * OPERATIONS
    statuses = {(kind, status) for kind, _, status in results}
    assert statuses <= {("earn", 201), ("redeem", 201), ("redeem", 409)}, statuses
    accepted = sum(p if k == "earn" else -p for k, p, s in results if s == 201)
    refused = sum(1 for _, _, s in results if s == 409)
    assert refused > 0, "the test should make some redeems exceed the balance"
    card = httpx.get(url, headers=live.headers).json()
    assert card["balance"] == accepted >= 0
    ledger = schema.loyalty_ledger
    with live.engine.connect() as conn:
        points = conn.execute(
            sa.select(ledger.c.points)
            .where(ledger.c.customer_id == live.customer_id)
            .order_by(ledger.c.id)
        ).scalars()
        running, lowest = 0, 0
        for value in points:
            running += value
            lowest = min(lowest, running)
    assert running == accepted and lowest >= 0
    assert card["ledger"]["count"] == sum(1 for _, _, s in results if s == 201)
    print(
        f"\n{live.engine.dialect.name}: {len(results)} operations, "
        f"{len(results) - refused} accepted, {refused} refused (409), final balance {accepted}"
    )


def _order(external_id: str, customer_id: int, product_id: int) -> dict[str, Any]:
    return {
        "external_id": external_id,
        "customer_id": customer_id,
        "ordered_at": "2024-05-01T10:00:00+08:00",
        "items": [
            {"product_id": product_id, "quantity": 2, "unit_price": "88.00"},
            {"product_id": product_id, "quantity": 1, "unit_price": "12.50"},
        ],
    }


def _counts(engine: Engine) -> tuple[int, int]:
    with engine.connect() as conn:
        return tuple(  # type: ignore[return-value]
            conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one()
            for t in (schema.orders, schema.order_items)
        )


def test_concurrent_order_creation_stores_every_order(live: Live) -> None:
    def work(n: int, client: httpx.Client) -> list[int]:
        return [
            client.post(
                f"{live.base_url}/orders",
                json=_order(f"SO-{n}-{i}", live.customer_id, live.product_id),
                headers=live.headers,
            ).status_code
            for i in range(ORDERS_PER_THREAD)
        ]

    statuses = [s for thread in _run_threads(ORDER_THREADS, work) for s in thread]
    assert statuses == [201] * ORDER_THREADS * ORDERS_PER_THREAD
    total = ORDER_THREADS * ORDERS_PER_THREAD
    assert _counts(live.engine) == (total, 2 * total)
    listed = httpx.get(f"{live.base_url}/orders", params={"limit": 1}, headers=live.headers).json()
    assert listed["count"] == total


def test_the_same_order_sent_twice_at_once_is_stored_once(live: Live) -> None:
    outcomes = []
    for round_no in range(DUPLICATE_ROUNDS):
        body = _order(f"SO-dup-{round_no}", live.customer_id, live.product_id)

        def work(_n: int, client: httpx.Client, body: dict[str, Any] = body) -> int:
            return client.post(
                f"{live.base_url}/orders", json=body, headers=live.headers
            ).status_code

        outcomes.append(sorted(_run_threads(2, work)))
    assert outcomes == [[201, 409]] * DUPLICATE_ROUNDS
    assert _counts(live.engine) == (DUPLICATE_ROUNDS, 2 * DUPLICATE_ROUNDS)
