"""Masking of personal data for analysts: the mask functions, and every read route as an
analyst — no customer or lead external id, no loyalty ledger reference shown unmasked."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from rapport.api.masking import (
    mask_customer,
    mask_email,
    mask_identifier,
    mask_name,
    mask_phone,
    mask_reference,
)
from rapport.store import schema

from .conftest import Book, People
from .fixtures_sales import Sales, sales
from .test_scores import scored

__all__ = ["sales", "scored"]


@pytest.mark.parametrize(
    ("phone", "masked"),
    [
        ("+8613812345678", "138****5678"),
        ("13812345678", "138****5678"),
        ("+14155552671", "415***2671"),
        ("+861012345", "*****45"),  # 7 digits or fewer: only the last 2 kept
        (None, None),
        ("", ""),
        ("no digits", "***"),
    ],
)
def test_mask_phone(phone: str | None, masked: str | None) -> None:
    assert mask_phone(phone) == masked


@pytest.mark.parametrize(
    ("email", "masked"),
    [
        ("zhang@example.com", "z***@example.com"),
        ("a@b.cn", "a***@b.cn"),
        ("not-an-address", "n***"),
        (None, None),
    ],
)
def test_mask_email(email: str | None, masked: str | None) -> None:
    assert mask_email(email) == masked


@pytest.mark.parametrize(
    ("name", "masked"), [("张伟", "张*"), ("欧阳娜娜", "欧*"), ("Wei Zhang", "W*"), (None, None)]
)
def test_mask_name(name: str | None, masked: str | None) -> None:
    assert mask_name(name) == masked


def test_mask_customer_masks_personal_fields_and_keeps_the_rest() -> None:
    row = {
        "id": 7,
        "name": "张伟",
        "phone": "+8613812345678",
        "email": "zhang.wei@example.com",
        "wechat_id": "zw_1988",
        "street": "南京东路 100 号",
        "postal_code": "200001",
        "birthday": dt.date(1988, 5, 1),
        "social_handles": {"weibo": "zhangwei88"},
        "extra": {"id_card": "310101198805010000"},
        "city": "上海市",
        "gender": "male",
        "tags": ["vip"],
    }
    masked = mask_customer(row)
    assert masked == {
        "id": 7,
        "name": "张*",
        "phone": "138****5678",
        "email": "z***@example.com",
        "wechat_id": "z***",
        "street": "***",
        "postal_code": "***",
        "birthday": None,
        "social_handles": {"weibo": "z***"},
        "extra": None,
        "city": "上海市",
        "gender": "male",
        "tags": ["vip"],
    }
    assert row["name"] == "张伟"  # a copy


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("13812345678", "13*******78"),
        ("+8613812345678", "+8**********78"),
        ("M0012345", "M0****45"),
        ("C-own", "C***n"),
        ("abcd", "a**d"),
        ("abc", "***"),
        ("", ""),
        (None, None),
    ],
)
def test_mask_identifier(value: str | None, masked: str | None) -> None:
    assert mask_identifier(value) == masked


@pytest.mark.parametrize(
    ("reference", "masked"),
    [
        ("order:SO123", "order:S***3"),
        ("gift:杯子", "gift:**"),
        ("13812345678", "13*******78"),
        ("张伟:VIP", "张****P"),  # no kind prefix: masked whole
        (None, None),
    ],
)
def test_mask_reference_keeps_the_kind(reference: str | None, masked: str | None) -> None:
    assert mask_reference(reference) == masked


def test_mask_customer_masks_the_external_id() -> None:
    assert mask_customer({"external_id": "13812345678"})["external_id"] == "13*******78"


# --- every read route, as an analyst ----------------------------------------------------------

#: Read routes not about customers' records (or needing an engine of their own).
_SKIPPED = {"/api/v1/metrics", "/api/v1/public/surveys/{token}", "/api/v1/auth/me"}


def _read_urls(client: TestClient, ids: dict[str, list[int]]) -> list[str]:
    """Every GET route of the API, with each path parameter (and required query parameter)
    filled by every known id."""
    urls: list[str] = []
    for path, operations in client.get("/openapi.json").json()["paths"].items():
        if "get" not in operations or path in _SKIPPED:
            continue
        required = [
            p["name"]
            for p in operations["get"].get("parameters", [])
            if p["in"] == "query" and p.get("required")
        ]
        params = re.findall(r"\{(\w+)\}", path)
        if any(p not in ids for p in (*params, *required)):
            continue
        filled = [path]
        for param in params:
            filled = [u.replace(f"{{{param}}}", str(v)) for u in filled for v in ids[param]]
        for param in required:
            filled = [
                f"{u}{'&' if '?' in u else '?'}{param}={v}" for u in filled for v in ids[param]
            ]
        urls += filled
    return urls


def test_analysts_never_see_external_ids_or_ledger_references(
    client: TestClient, people: People, book: Book, sales: Sales, scored: Book, db: Session
) -> None:
    ticket_ids = list(db.execute(sa.select(schema.tickets.c.id)).scalars())
    ids = {
        "customer_id": list(book.ids().values()),
        "order_id": [o["id"] for o in sales.orders.values()],
        "lead_id": [lead["id"] for lead in sales.leads.values()],
        "referral_id": [r["id"] for r in sales.referrals.values()],
        "product_id": [p["id"] for p in sales.products],
        "ticket_id": ticket_ids,
    }
    urls = _read_urls(client, ids)
    assert len(urls) > 30, urls
    secrets = [
        *(c["external_id"] for c in (book.own, book.peer, book.west, book.pool)),
        *(lead["external_id"] for lead in sales.leads.values()),
        *(f"order:SO-{target}" for target in sales.orders),  # the ledger's references
    ]
    seen_by_admin: set[str] = set()
    for url in urls:
        admin = client.get(url, headers=people.headers("admin"))
        seen_by_admin.update(s for s in secrets if s in admin.text)
        analyst = client.get(url, headers=people.headers("analyst"))
        assert analyst.status_code in (200, 403, 404), (url, analyst.text)
        leaked = [s for s in secrets if s in analyst.text]
        assert not leaked, (url, leaked)
    assert seen_by_admin == set(secrets)  # the routes do show them, unmasked, to others


def test_analysts_see_masked_external_ids_where_customers_are_shown(
    client: TestClient, people: People, book: Book, sales: Sales, scored: Book
) -> None:
    headers = people.headers("analyst")
    own = book.own["id"]
    masked = mask_identifier("C-own")
    assert client.get(f"/api/v1/customers/{own}", headers=headers).json()["external_id"] == masked
    card = client.get(f"/api/v1/customers/{own}/360", headers=headers).json()
    assert card["customer"]["external_id"] == masked
    order = client.get(f"/api/v1/orders/{sales.orders['own']['id']}", headers=headers).json()
    assert order["customer"] == {"id": own, "external_id": masked, "name": "张*", "masked": True}
    diamonds = client.get("/api/v1/scores/diamonds", headers=headers).json()["data"]
    assert {r["external_id"] for r in diamonds} == {
        mask_identifier(c["external_id"]) for c in (book.own, book.peer, book.west, book.pool)
    }
    ledger = client.get(f"/api/v1/customers/{own}/loyalty", headers=headers).json()["ledger"]
    assert ledger["data"][0]["reference"] == "order:S****n"
    lead = client.get(f"/api/v1/leads/{sales.leads['own']['id']}", headers=headers).json()
    assert lead["external_id"] == mask_identifier("L-own") and lead["masked"] is True
    # others see them as they are
    admin = people.headers("admin")
    assert client.get(f"/api/v1/customers/{own}", headers=admin).json()["external_id"] == "C-own"
    ledger = client.get(f"/api/v1/customers/{own}/loyalty", headers=admin).json()["ledger"]
    assert ledger["data"][0]["reference"] == "order:SO-own"
