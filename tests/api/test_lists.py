"""Every list route answers one envelope and pages one way, and every route reads
customer-owned records through the caller's customer scope.

* Walking a list with ``next_cursor`` (two rows a page) returns every row exactly once, in
  id order (the audit log: newest first; the score lists highest first, ties by customer
  id), every page with the same keys (``data``, ``count``, ``next_cursor``; the score
  lists also ``as_of`` and ``masked``) and the same ``count``; the last page's cursor is
  null.
* Per role, the lists of tickets, orders, interactions and referrals hold exactly the
  records of the customers that role sees; one record of a customer outside the scope
  is a 404 like a missing one; the records of a deleted customer leave every list.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from rapport.domain import Direction, InteractionChannel, LoyaltyReason, TicketKind, TicketPriority
from rapport.store import customers, interactions, loyalty, schema, scores, tickets

from .conftest import MISSING_ID, ROLES, SLA, T0, VISIBLE, Book, People, not_found
from .fixtures_sales import Sales, sales  # noqa: F401 (a fixture)

PAGE = 2
ENVELOPE = {"data", "count", "next_cursor"}
#: The lists of a score snapshot: their rows are customers, their pages name the snapshot.
SCORE_LISTS = {"diamonds", "at-risk", "clv"}
SNAPSHOT = dt.date(2024, 12, 31)


@dataclass
class World:
    client: TestClient
    db: Session
    people: People
    book: Book
    sales: Sales

    @property
    def admin(self) -> dict[str, str]:
        return self.people.headers("admin")

    def post(self, url: str, body: dict[str, Any]) -> dict[str, Any]:
        response = self.client.post(url, json=body, headers=self.admin)
        assert response.status_code == 201, response.text
        return response.json()

    def ids(self, table: sa.Table, *where: sa.ColumnElement[bool]) -> list[int]:
        stmt = sa.select(table.c.id).where(*where).order_by(table.c.id)
        return list(self.db.execute(stmt).scalars())


@pytest.fixture
def world(client: TestClient, db: Session, people: People, book: Book, sales: Sales) -> World:  # noqa: F811
    return World(client=client, db=db, people=people, book=book, sales=sales)


# --- one case per list route: seed rows, then (url, the key of the page, expected ids) ---

Case = Callable[[World], tuple[str, str | None, list[int]]]


def _customers(w: World) -> tuple[str, str | None, list[int]]:
    return "/api/v1/customers", None, w.ids(schema.customers)


def _tickets(w: World) -> tuple[str, str | None, list[int]]:
    for customer_id in (w.book.own["id"], w.book.pool["id"]):
        w.post("/api/v1/tickets", {"customer_id": customer_id, "kind": "inquiry"})
    return "/api/v1/tickets", None, w.ids(schema.tickets)


def _interactions(w: World) -> tuple[str, str | None, list[int]]:
    for customer_id in w.book.ids().values():
        w.post("/api/v1/interactions", {"customer_id": customer_id, "channel": "phone"})
    return "/api/v1/interactions", None, w.ids(schema.interactions)


def _surveys(w: World) -> tuple[str, str | None, list[int]]:
    for customer_id in w.book.ids().values():
        w.post("/api/v1/surveys", {"customer_id": customer_id, "kind": "nps", "score": 8})
    return "/api/v1/surveys", None, w.ids(schema.survey_responses)


def _events(w: World) -> tuple[str, str | None, list[int]]:
    own = w.book.own["id"]
    for customer_id in (own, own, own, w.book.pool["id"]):
        w.post("/api/v1/events", {"customer_id": customer_id, "kind": "page_view"})
    e = schema.events
    return f"/api/v1/events?customer_id={own}", None, w.ids(e, e.c.customer_id == own)


def _campaigns(w: World) -> tuple[str, str | None, list[int]]:
    for n in range(3):
        w.post("/api/v1/campaigns", {"name": f"春季 {n}", "channel": "wechat"})
    return "/api/v1/campaigns", None, w.ids(schema.campaigns)


def _deliveries(w: World) -> tuple[str, str | None, list[int]]:
    campaign = w.post("/api/v1/campaigns", {"name": "春季", "channel": "sms"})
    other = w.post("/api/v1/campaigns", {"name": "夏季", "channel": "sms"})
    extra = customers.repo.create(
        session=w.db, values={"external_id": "C-extra", "name": "孙丽", "marketing_consent": True}
    )
    w.db.commit()
    marketable = [w.book.own["id"], w.book.pool["id"], extra["id"]]
    for kid, who in ((campaign["id"], marketable), (other["id"], marketable[:1])):
        body = {"deliveries": [{"customer_id": c} for c in who]}
        w.post(f"/api/v1/campaigns/{kid}/deliveries", body)
    d = schema.campaign_deliveries
    expected = w.ids(d, d.c.campaign_id == campaign["id"])
    return f"/api/v1/campaigns/{campaign['id']}/deliveries", None, expected


def _orders(w: World) -> tuple[str, str | None, list[int]]:
    return "/api/v1/orders", None, w.ids(schema.orders)


def _leads(w: World) -> tuple[str, str | None, list[int]]:
    return "/api/v1/leads", None, w.ids(schema.leads)


def _products(w: World) -> tuple[str, str | None, list[int]]:
    w.post("/api/v1/products", {"sku": "SKU-POT", "name": "茶壶", "price": "99.00"})
    return "/api/v1/products", None, w.ids(schema.products)


def _referrals(w: World) -> tuple[str, str | None, list[int]]:
    return "/api/v1/referrals", None, w.ids(schema.referrals)


def _ledger(w: World) -> tuple[str, str | None, list[int]]:
    own = w.book.own["id"]
    for n in range(2):
        loyalty.append(
            session=w.db,
            values={
                "customer_id": own,
                "points": 10 + n,
                "reason": LoyaltyReason.BONUS,
                "occurred_at": T0,
            },
        )
    w.db.commit()
    ledger = schema.loyalty_ledger
    expected = w.ids(ledger, ledger.c.customer_id == own)
    return f"/api/v1/customers/{own}/loyalty", "ledger", expected


def _audit(w: World) -> tuple[str, str | None, list[int]]:
    for n in range(3):
        w.post("/api/v1/products", {"sku": f"SKU-{n}", "name": "杯", "price": "9.90"})
    return "/api/v1/audit", None, w.ids(schema.audit_log)[::-1]


def _score(w: World) -> dict[int, dict[str, Any]]:
    """A snapshot of every customer, its figures repeating so that each list has ties
    (broken by customer id) and leaves some customers out: every fifth is gold (no
    diamond), every fifth from the second has a heuristic churn risk (no warning)."""
    for n in range(3):
        customers.repo.create(session=w.db, values={"external_id": f"C-score-{n}", "name": "赵敏"})
    rows = {}
    for i, customer_id in enumerate(w.ids(schema.customers)):
        rows[customer_id] = {
            "customer_id": customer_id,
            "monetary": (3000, 3000, 1000, 3000, 500)[i % 5],
            "predicted_clv": Decimal((2000, 4000, 2000, 2000, 1000)[i % 5]) + Decimal("0.25"),
            "churn_risk": 0.7,
            "value_tier": "gold" if i % 5 == 4 else "diamond",
            "lifecycle_stage": "at_risk",
            "components": {"churn": {"source": "heuristic" if i % 5 == 1 else "classifier"}},
        }
    scores.write_snapshot(session=w.db, as_of=SNAPSHOT, rows=list(rows.values()))
    w.db.commit()
    return rows


def _ranked(rows: list[dict[str, Any]], value: Callable[[dict[str, Any]], Any]) -> list[int]:
    """Customer ids, highest ``value`` first, ties by id."""
    return [r["customer_id"] for r in sorted(rows, key=lambda r: (-value(r), r["customer_id"]))]


def _diamonds(w: World) -> tuple[str, str | None, list[int]]:
    rows = [r for r in _score(w).values() if r["value_tier"] == "diamond"]
    return "/api/v1/scores/diamonds", None, _ranked(rows, lambda r: r["monetary"])


def _at_risk(w: World) -> tuple[str, str | None, list[int]]:
    rows = [r for r in _score(w).values() if r["components"]["churn"]["source"] == "classifier"]

    def value_at_risk(row: dict[str, Any]) -> float:
        return row["churn_risk"] * float(row["predicted_clv"])

    return "/api/v1/scores/at-risk", None, _ranked(rows, value_at_risk)


def _clv(w: World) -> tuple[str, str | None, list[int]]:
    rows = list(_score(w).values())
    return "/api/v1/scores/clv", None, _ranked(rows, lambda r: r["predicted_clv"])


CASES: dict[str, Case] = {
    "customers": _customers,
    "tickets": _tickets,
    "interactions": _interactions,
    "surveys": _surveys,
    "events": _events,
    "campaigns": _campaigns,
    "deliveries": _deliveries,
    "orders": _orders,
    "leads": _leads,
    "products": _products,
    "referrals": _referrals,
    "loyalty ledger": _ledger,
    "audit": _audit,
    "diamonds": _diamonds,
    "at-risk": _at_risk,
    "clv": _clv,
}


def _walk(w: World, url: str, key: str | None) -> list[dict[str, Any]]:
    """Every page of the list at ``url``, following ``next_cursor`` until it is null."""
    pages: list[dict[str, Any]] = []
    cursor: str | None = None
    path, _, query = url.partition("?")
    while True:
        params: dict[str, Any] = {**dict(parse_qsl(query)), "limit": PAGE}
        if cursor is not None:
            params["cursor"] = cursor
        response = w.client.get(path, params=params, headers=w.admin)
        assert response.status_code == 200, response.text
        page = response.json()[key] if key else response.json()
        pages.append(page)
        cursor = page["next_cursor"]
        if cursor is None:
            return pages
        assert len(pages) < 50, "next_cursor never ends"


@pytest.mark.parametrize("name", list(CASES))
def test_every_list_pages_with_one_envelope_and_visits_every_row_once(
    world: World, name: str
) -> None:
    url, key, expected = CASES[name](world)
    assert len(expected) > PAGE, "the case must fill more than one page"
    pages = _walk(world, url, key)
    id_key = "customer_id" if name in SCORE_LISTS else "id"
    seen = [row[id_key] for page in pages for row in page["data"]]
    assert seen == expected  # each row once, in the list's order
    assert len(pages) == -(-len(expected) // PAGE)
    envelope = ENVELOPE | {"as_of", "masked"} if name in SCORE_LISTS else ENVELOPE
    for page in pages:
        assert set(page) == envelope
        assert page["count"] == len(expected)
    assert all(len(page["data"]) == PAGE for page in pages[:-1])
    assert pages[-1]["next_cursor"] is None
    assert all(page["next_cursor"] for page in pages[:-1])


@pytest.mark.parametrize(("issuer", "reader"), [("customers", "clv"), ("clv", "customers")])
def test_a_cursor_of_another_list_is_refused_naming_the_cursor(
    world: World, issuer: str, reader: str
) -> None:
    urls = {name: CASES[name](world)[0] for name in (issuer, reader)}
    first = world.client.get(urls[issuer], params={"limit": 1}, headers=world.admin).json()
    assert first["next_cursor"]
    response = world.client.get(
        urls[reader], params={"cursor": first["next_cursor"]}, headers=world.admin
    )
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert (error["code"], error["field"]) == ("validation_failed", "query.cursor")
    assert error["hint"] and error["value"] == first["next_cursor"]


# --- the customer scope, per role, on several record kinds -------------------------------


def _seed_activity(db: Session, book: Book, people: People) -> None:
    """A ticket (unassigned) and an interaction for every book customer."""
    for n, (name, customer_id) in enumerate(book.ids().items()):
        tickets.open_ticket(
            session=db,
            sla=SLA,
            values={
                "external_id": f"T-scope-{name}",
                "customer_id": customer_id,
                "kind": TicketKind.INQUIRY,
                "priority": TicketPriority.NORMAL,
                "opened_at": T0 + dt.timedelta(hours=n),
            },
        )
        interactions.repo.create(
            session=db,
            values={
                "customer_id": customer_id,
                "channel": InteractionChannel.PHONE,
                "direction": Direction.INBOUND,
                "staff_id": people.admin["id"],
                "occurred_at": T0,
            },
        )
    db.commit()


#: Record kinds owned by a customer: list URL, table, the table's customer column.
KINDS = {
    "tickets": ("/api/v1/tickets", schema.tickets, "customer_id"),
    "orders": ("/api/v1/orders", schema.orders, "customer_id"),
    "interactions": ("/api/v1/interactions", schema.interactions, "customer_id"),
    "referrals": ("/api/v1/referrals", schema.referrals, "referrer_customer_id"),
}


def _records(db: Session, kind: str, customer_ids: set[int]) -> set[int]:
    _, table, column = KINDS[kind]
    stmt = sa.select(table.c.id).where(table.c[column].in_(customer_ids))
    return set(db.execute(stmt).scalars())


def _listed(client: TestClient, url: str, headers: dict[str, str]) -> set[int]:
    response = client.get(url, params={"limit": 100}, headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["next_cursor"] is None
    assert body["count"] == len(body["data"])
    return {row["id"] for row in body["data"]}


@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("role", ROLES)
def test_lists_hold_the_records_of_the_customers_the_role_sees(
    client: TestClient,
    db: Session,
    people: People,
    book: Book,
    sales: Sales,  # noqa: F811
    role: str,
    kind: str,
) -> None:
    _seed_activity(db, book, people)
    seen = {book.ids()[name] for name in VISIBLE[role]}
    url = KINDS[kind][0]
    assert _listed(client, url, people.headers(role)) == _records(db, kind, seen)


#: Record kinds read one at a time: the URL of one record, the entity its 404 names.
ONE = {
    "tickets": ("/api/v1/tickets/{}", "ticket"),
    "orders": ("/api/v1/orders/{}", "order"),
    "referrals": ("/api/v1/referrals/{}", "referral"),
}


@pytest.mark.parametrize("kind", list(ONE))
@pytest.mark.parametrize("role", ["manager", "sales", "service"])
def test_a_record_outside_the_scope_is_a_404_like_a_missing_one(
    client: TestClient,
    db: Session,
    people: People,
    book: Book,
    sales: Sales,  # noqa: F811
    role: str,
    kind: str,
) -> None:
    _seed_activity(db, book, people)
    url, entity = ONE[kind]
    headers = people.headers(role)
    hidden = _records(db, kind, set(book.ids().values()) - {book.ids()[n] for n in VISIBLE[role]})
    assert hidden
    for record_id in [*hidden, MISSING_ID]:
        response = client.get(url.format(record_id), headers=headers)
        assert response.status_code == 404
        assert response.json() == not_found(entity, record_id)
    shown = _records(db, kind, {book.ids()[n] for n in VISIBLE[role]})
    for record_id in shown:
        assert client.get(url.format(record_id), headers=headers).status_code == 200


@pytest.mark.parametrize("kind", list(KINDS))
def test_records_of_a_deleted_customer_leave_every_list(
    client: TestClient,
    db: Session,
    people: People,
    book: Book,
    sales: Sales,  # noqa: F811
    kind: str,
) -> None:
    _seed_activity(db, book, people)
    url = KINDS[kind][0]
    before = _listed(client, url, people.headers("admin"))
    pool = book.pool["id"]
    gone = _records(db, kind, {pool})
    assert gone and gone <= before
    assert client.delete(f"/api/v1/customers/{pool}", headers=people.headers("admin")).is_success
    assert _listed(client, url, people.headers("admin")) == before - gone
