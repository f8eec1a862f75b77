"""The customer list and the 360 card over plain HTTP: scope, masking, audit, search,
filters, keyset paging and the query plans that keep it fast."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from rapport.access import CustomerScope, Principal
from rapport.domain import AuditAction, Role, ValueTier
from rapport.store import schema
from rapport.web.customer_list import (
    SORTS,
    CustomerQuery,
    filters_of,
    latest_snapshot,
    list_customers,
    page_statement,
)
from tests.web.conftest import WebStore, http_login

_c = schema.customers.c
ROW_ID = re.compile(r'data-customer-id="(\d+)"')


def ids_on(html: str) -> list[int]:
    return [int(i) for i in ROW_ID.findall(html)]


def admin_scope() -> CustomerScope:
    return CustomerScope(Principal(user_id=0, username="t", role=Role.ADMIN, team=None, via="t"))


def owned_by(store: WebStore, user_id: int) -> list[int]:
    rows = store.rows(sa.select(_c.id).where(_c.owner_id == user_id).order_by(_c.id))
    return [r["id"] for r in rows]


def test_a_sales_user_sees_only_their_customers(server: str, web_store: WebStore) -> None:
    mine = owned_by(web_store, web_store.ids["sales"])
    theirs = owned_by(web_store, web_store.ids["other_sales"])
    assert mine and theirs
    client = http_login(server, "wang.fang")
    listed = client.get("/customers")
    assert set(ids_on(listed.text)) == set(mine[:25])
    assert f"共 {len(mine)} 位客户" in listed.text
    card = client.get(f"/customers/{theirs[0]}")
    missing = client.get("/customers/999999")
    assert card.status_code == missing.status_code == 404
    # nothing tells "not yours" from "no such customer" (but the page's own address)
    here = card.text.replace(f"/customers/{theirs[0]}", "/customers/N")
    assert here == missing.text.replace("/customers/999999", "/customers/N")
    assert client.get(f"/customers/{mine[0]}").status_code == 200
    # nor does a search or an owner filter reach the other's customers
    other_name = web_store.scalar(sa.select(_c.name).where(_c.id == theirs[0]))
    found = client.get("/customers", params={"q": other_name, "owner": theirs[0]})
    assert not set(ids_on(found.text)) - set(mine)


def test_an_analyst_sees_masked_names_and_may_not_search(server: str, web_store: WebStore) -> None:
    client = http_login(server, "gao.peng")
    first = web_store.rows(sa.select(_c.id, _c.name, _c.phone).order_by(_c.id).limit(3))
    page = client.get("/customers")
    assert page.status_code == 200 and "个人信息已脱敏" in page.text
    for row in first:
        assert row["name"] not in page.text
        assert f"{row['name'][0]}*" in page.text
    card = client.get(f"/customers/{first[0]['id']}")
    assert first[0]["name"] not in card.text and first[0]["phone"] not in card.text
    searched = client.get("/customers", params={"q": first[0]["name"]})
    assert 'id="q" name="q" disabled' in searched.text
    assert "共 200 位客户" in searched.text  # the text is ignored, not searched


def test_unmasked_reads_are_audited(server: str, web_store: WebStore) -> None:
    client = http_login(server, "admin")
    customer = owned_by(web_store, web_store.ids["other_sales"])[0]
    assert client.get(f"/customers/{customer}").status_code == 200
    a = schema.audit_log
    entries = web_store.rows(
        sa.select(a.c.detail, a.c.actor).where(
            a.c.action == AuditAction.READ_PII, a.c.entity == "customers", a.c.entity_id == customer
        )
    )
    assert any("web.360" in str(e["detail"]) and e["actor"] == "admin" for e in entries)


def test_a_search_in_chinese_finds_names_phones_and_customer_numbers(
    server: str, web_store: WebStore
) -> None:
    client = http_login(server, "admin")
    row = web_store.rows(sa.select(_c.id, _c.name, _c.phone, _c.external_id).where(_c.id == 7))[0]
    for text in (row["name"], row["phone"][-8:], row["external_id"]):
        page = client.get("/customers", params={"q": text})
        assert row["id"] in ids_on(page.text), text
    surname = row["name"][0]
    page = client.get("/customers", params={"q": surname})
    names = web_store.rows(sa.select(_c.id, _c.name).where(_c.id.in_(ids_on(page.text))))
    assert names and all(surname in n["name"] for n in names)


def test_filters_stay_in_the_url_and_htmx_gets_only_the_results(server: str) -> None:
    client = http_login(server, "admin")
    full = client.get("/customers", params={"tier": "gold", "sort": "churn_risk"})
    assert '<option value="gold" selected>' in full.text and "<html" in full.text
    partial = client.get(
        "/customers", params={"tier": "gold", "sort": "churn_risk"}, headers={"HX-Request": "true"}
    )
    assert "<html" not in partial.text and 'id="customer-table"' in partial.text
    assert ids_on(partial.text) == ids_on(full.text)
    # an unknown value is ignored, never an error page
    assert client.get("/customers", params={"tier": "платина", "sort": "x"}).status_code == 200


@pytest.mark.parametrize("sort", list(SORTS))
def test_keyset_pages_cover_every_customer_once_in_order(web_store: WebStore, sort: str) -> None:
    engine = web_store.engine()
    seen: list[dict] = []
    try:
        with engine.connect() as conn:
            from sqlalchemy.orm import Session

            session = Session(bind=conn)
            after = None
            while True:
                query = CustomerQuery(sort=sort, after=after, limit=37)
                page = list_customers(session=session, scope=admin_scope(), query=query)
                seen.extend(page.rows)
                if page.next_cursor is None:
                    break
                after = page.next_cursor
    finally:
        engine.dispose()
    assert page.count == len(seen) == len({r["id"] for r in seen}) == 200
    descending, _ = SORTS[sort]
    keys = [(r["sort_key"], r["id"]) for r in seen]
    expected = sorted(keys, key=lambda k: ((-k[0] if descending else k[0]), k[1]))
    if sort == "name":
        expected = sorted(keys)
    assert keys == expected


def _plan(web_store: WebStore, query: CustomerQuery, scope: CustomerScope) -> str:
    engine = web_store.engine()
    try:
        from sqlalchemy.orm import Session

        with Session(engine) as session:
            as_of = latest_snapshot(session)
            filters, _, _ = filters_of(session, scope, query, as_of)
            clause = scope.clause()
            stmt = page_statement(filters if clause is None else [clause, *filters], query, as_of)
            sql = stmt.compile(engine, compile_kwargs={"literal_binds": True})
            rows = session.execute(sa.text(f"EXPLAIN QUERY PLAN {sql}")).all()
    finally:
        engine.dispose()
    return "\n".join(str(r[-1]) for r in rows)


def test_a_page_reads_indexes_not_the_whole_table(web_store: WebStore) -> None:
    """Sorted by id, the next page is a range of the primary key and the scores come by
    their primary key: no scan of customers, no sort, whatever the page."""
    from rapport.web.customer_list import encode_cursor

    cursor = encode_cursor("id", 120, 120)
    plan = _plan(web_store, CustomerQuery(after=cursor), admin_scope())
    assert "SEARCH customers USING INTEGER PRIMARY KEY (rowid>?)" in plan, plan
    assert "TEMP B-TREE" not in plan, plan
    assert re.search(r"SEARCH customer_scores USING (INDEX|PRIMARY KEY)", plan), plan
    sales = CustomerScope(
        Principal(user_id=web_store.ids["sales"], username="s", role=Role.SALES, team=None, via="t")
    )
    plan = _plan(web_store, CustomerQuery(), sales)
    assert "USING INDEX ix_customers_owner_id" in plan, plan
    plan = _plan(web_store, CustomerQuery(city="上海市"), admin_scope())
    assert "ix_customers_city" in plan, plan
    # a filter on the snapshot still reads customers in id order, checking each one's row
    plan = _plan(web_store, CustomerQuery(tier=ValueTier.GOLD, after=cursor), admin_scope())
    assert "SEARCH customers USING INTEGER PRIMARY KEY (rowid>?)" in plan, plan
    assert "TEMP B-TREE" not in plan, plan
