"""Programme tiers through the API, on SQLite and PostgreSQL: an order created through the
API upgrades its member at once (and earns at the new tier's multiplier), the loyalty card
and the customer 360 card show the tier, its review, what is missing and its benefits, and
a non-member has none."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from rapport.config import LoyaltyMultipliers, LoyaltyRules, LoyaltyTierRule, load_rules
from rapport.store import customers, loyalty_tiers
from rapport.store.repository import utcnow

from .conftest import Book, People

TIERS = [
    LoyaltyTierRule(code="member", min_spend=0, min_points=0),
    LoyaltyTierRule(code="silver", min_spend=200, min_points=2000),
    LoyaltyTierRule(code="gold", min_spend=1000, min_points=10_000, sla_priority="high"),
    LoyaltyTierRule(code="platinum", min_spend=5000, min_points=50_000, gifts=["TEA"]),
]


def spend_rules(app: FastAPI) -> None:
    rules = load_rules(None)
    programme = LoyaltyRules.model_validate(
        rules.loyalty.model_dump()
        | {
            "tiers": TIERS,
            "tier_basis": "spend",
            "multipliers": LoyaltyMultipliers(tier={"gold": 2.0}),
        }
    )
    app.state.rules = rules.model_copy(update={"loyalty": programme})


def join(db: Session, customer_id: int) -> None:
    joined = utcnow() - dt.timedelta(days=400)
    customers.repo.update(session=db, id=customer_id, values={"loyalty_joined_at": joined})
    db.commit()


def test_an_api_order_upgrades_at_once_and_both_cards_show_the_tier(
    app: FastAPI, client: TestClient, people: People, book: Book, db: Session
) -> None:
    spend_rules(app)
    headers = people.headers("admin")
    cid = book.own["id"]
    assert client.get(f"/api/v1/customers/{cid}/360", headers=headers).json()["loyalty"] is None
    join(db, cid)
    fresh = client.get(f"/api/v1/customers/{cid}/loyalty", headers=headers).json()
    assert fresh["tier"]["code"] == "member" and fresh["programme"]["evaluated"] is False
    ordered = (utcnow() - dt.timedelta(days=1)).isoformat()
    body = {
        "external_id": "SO-TIER-1",
        "customer_id": cid,
        "ordered_at": ordered,
        "net_amount": "1200.00",
    }
    created = client.post("/api/v1/orders", json=body, headers=headers)
    assert created.status_code == 201, created.text
    card = client.get(f"/api/v1/customers/{cid}/loyalty", headers=headers).json()
    assert card["balance"] == 2400  # earned at gold's multiplier: upgraded before it earned
    programme = card["programme"]
    assert programme["evaluated"] is True and programme["tier"]["code"] == "gold"
    assert (
        programme["since"]
        == dt.datetime.now(dt.UTC).astimezone(app.state.settings.tz).date().isoformat()
    )
    assert Decimal(programme["basis_value"]) == Decimal("1200.00")
    assert programme["next_tier"]["code"] == "platinum"
    assert Decimal(programme["to_next_tier"]) == Decimal("3800.00")
    assert card["points_to_next_tier"] is None  # the basis is spend
    assert programme["benefits"] == {"earn_multiplier": 2.0, "sla_priority": "high", "gifts": []}
    history = loyalty_tiers.tier_history(session=db, customer_id=cid)
    assert [(h["from_tier"], h["to_tier"]) for h in history] == [(None, "gold")]
    card360 = client.get(f"/api/v1/customers/{cid}/360", headers=headers).json()
    assert card360["loyalty"] == programme
    # analysts see the tier too (it names no one)
    analyst = client.get(f"/api/v1/customers/{cid}/360", headers=people.headers("analyst"))
    assert analyst.status_code == 200 and analyst.json()["loyalty"]["tier"]["code"] == "gold"
