"""The 360 card's loyalty panel shows the programme tier of store/loyalty_tiers: the tier and
its next review, the next tier and what is missing, the tier's benefits; a customer outside
the programme is said to be no member. Plain HTTP over the shared web store."""

from __future__ import annotations

import re
from html import unescape

import sqlalchemy as sa

from rapport.config import load_rules
from rapport.store import loyalty_tiers, schema
from rapport.store.db import session_scope
from rapport.store.repository import utcnow
from tests.web.conftest import WebStore, http_login

_c = schema.customers.c


def _dd(html: str, element: str) -> str | None:
    found = re.search(rf'<dd id="{element}">(.*?)</dd>', html, re.S)
    if found is None:
        return None
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", "", found.group(1)))).strip()


def _customers(store: WebStore, *, members: bool) -> list[int]:
    joined = _c.loyalty_joined_at.is_not(None) if members else _c.loyalty_joined_at.is_(None)
    rows = store.rows(
        sa.select(_c.id).where(_c.owner_id == store.ids["sales"], joined).order_by(_c.id)
    )
    return [r["id"] for r in rows]


def test_the_panel_shows_the_programme_tier_what_is_missing_and_the_benefits(
    server: str, web_store: WebStore
) -> None:
    members = _customers(web_store, members=True)
    outsiders = _customers(web_store, members=False)
    assert members and outsiders
    customer_id = members[0]
    engine = web_store.engine()
    try:
        with session_scope(engine) as session:
            card = loyalty_tiers.tier_card(
                session, customer_id=customer_id, rules=load_rules(), at=utcnow()
            )
    finally:
        engine.dispose()
    assert card is not None
    client = http_login(server, "wang.fang")
    html = client.get(f"/customers/{customer_id}").text
    tier = _dd(html, "loyalty-tier")
    assert tier is not None and tier.startswith(card["tier"]["name_zh"])
    review = card["review_on"]
    assert f"下次复核 {review.year}年{review.month}月{review.day}日" in tier
    benefits = _dd(html, "loyalty-benefits")
    assert benefits is not None and "积分 ×" in benefits and "服务优先级" in benefits
    if card["next_tier"] is not None:
        following = _dd(html, "loyalty-next-tier")
        assert following is not None and following.startswith(card["next_tier"]["name_zh"])
        assert "还差" in following
    outsider = client.get(f"/customers/{outsiders[0]}").text
    assert _dd(outsider, "loyalty-tier") == "非会员"
    assert _dd(outsider, "loyalty-benefits") is None
