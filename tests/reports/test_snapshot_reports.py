"""Each snapshot report run both ways — the command line (``rapport … --format json``) and
the API (``GET /scores/…``) or a session of the store as the server has one — on the same
scored store, compared row for row, on SQLite and PostgreSQL; with a deleted customer (in
no report) and a sales user (their own customers only)."""

from __future__ import annotations

import json
from typing import Any

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from rapport.access import CustomerScope
from rapport.cli.common import console
from rapport.cli.main import app
from rapport.config import get_settings, load_rules
from rapport.masking import mask_identifier, mask_name
from rapport.reports import snapshots as reports
from rapport.store import schema
from rapport.store.db import session_scope

from .conftest import DAY, EARLIER, ReportStore

runner = CliRunner()
GROUPS = {"segments": "rfm_segment", "tiers": "value_tier", "stages": "lifecycle_stage"}


@pytest.fixture
def cli(report_store: ReportStore, monkeypatch: pytest.MonkeyPatch) -> Any:
    """``rapport <args> --format json`` on the report store, parsed."""
    monkeypatch.setenv("RAPPORT_DATABASE_URL", report_store.url)
    monkeypatch.setenv("RAPPORT_DATA_DIR", str(report_store.data_dir))
    monkeypatch.setenv("RAPPORT_SECRET_KEY", report_store.settings.secret_key)
    monkeypatch.setattr(console, "_width", 240)

    def invoke(*args: str) -> dict[str, Any]:
        get_settings.cache_clear()
        result = runner.invoke(app, [*args, "--format", "json"])
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)

    return invoke


def api(store: ReportStore, path: str, who: str = "admin", **params: Any) -> dict[str, Any]:
    response = store.client.get(f"/api/v1{path}", params=params, headers=store.headers(who))
    assert response.status_code == 200, response.text
    return response.json()


def same(left: list[dict[str, Any]], right: list[dict[str, Any]], keys: list[str]) -> None:
    """``left`` and ``right`` hold the same rows in the same order, on ``keys``."""
    assert len(left) == len(right)
    for a, b in zip(left, right, strict=True):
        for key in keys:
            if isinstance(a[key], float) or isinstance(b[key], float):
                assert a[key] == pytest.approx(b[key], rel=1e-9, abs=1e-9), key
            else:
                assert a[key] == b[key], key


def scoped(store: ReportStore, who: str) -> CustomerScope:
    return CustomerScope(store.principal(who))


def snapshot_rows(store: ReportStore, customer_ids: set[int] | None = None) -> int:
    """Snapshot rows of DAY of customers not deleted (of ``customer_ids``)."""
    s, c = schema.customer_scores.c, schema.customers.c
    stmt = (
        sa.select(sa.func.count())
        .select_from(schema.customer_scores.join(schema.customers, c.id == s.customer_id))
        .where(s.as_of == DAY, c.deleted_at.is_(None))
    )
    if customer_ids is not None:
        stmt = stmt.where(s.customer_id.in_(customer_ids))
    engine = store.engine()
    try:
        with engine.connect() as conn:
            return conn.execute(stmt).scalar_one()
    finally:
        engine.dispose()


# --- group summaries ---------------------------------------------------------------------------

GROUP_KEYS = [
    "group",
    "customers",
    "customer_share",
    "revenue",
    "revenue_share",
    "avg_satisfaction",
    "avg_loyalty",
    "avg_engagement",
    "avg_advocacy",
    "avg_relationship_index",
]


@pytest.mark.parametrize("command", list(GROUPS))
def test_group_summaries_agree_and_leave_out_the_deleted(
    report_store: ReportStore, cli: Any, command: str
) -> None:
    by = GROUPS[command]
    line = cli(command)
    web = api(report_store, f"/scores/{command}")
    assert line["as_of"] == web["as_of"] == DAY.isoformat() and line["by"] == web["by"] == by
    same(line["groups"], web["data"], GROUP_KEYS)
    # the deleted customer's row is in the snapshot but in no group
    assert sum(g["customers"] for g in line["groups"]) == snapshot_rows(report_store)
    assert sum(g["customer_share"] for g in line["groups"]) == pytest.approx(100)


def test_tiers_of_a_sales_user_are_their_own_book(report_store: ReportStore) -> None:
    web = api(report_store, "/scores/tiers", who="sales")["data"]
    engine = report_store.engine()
    try:
        with session_scope(engine) as session:
            rows = reports.group_summary(
                session,
                by="value_tier",
                day=DAY,
                rules=load_rules(report_store.settings),
                scope=scoped(report_store, "sales"),
            )
    finally:
        engine.dispose()
    same(rows, web, GROUP_KEYS)
    assert sum(g["customers"] for g in web) == snapshot_rows(report_store, report_store.sales_ids)


def test_movements_agree_and_leave_out_the_deleted(report_store: ReportStore, cli: Any) -> None:
    line = cli("movements", "--by", "value_tier")
    assert (line["from"], line["to"]) == (EARLIER.isoformat(), DAY.isoformat())
    engine = report_store.engine()
    try:
        with session_scope(engine) as session:
            everyone = reports.movements(session, by="value_tier", before=EARLIER, after=DAY)
            sales = reports.movements(
                session,
                by="value_tier",
                before=EARLIER,
                after=DAY,
                scope=scoped(report_store, "sales"),
            )
            s, c = schema.customer_scores.c, schema.customers.c
            stored = session.execute(
                sa.select(s.customer_id, s.as_of, s.value_tier, c.deleted_at).join(
                    schema.customers, c.id == s.customer_id
                )
            ).all()
    finally:
        engine.dispose()
    assert line["movements"] and line["movements"] == everyone
    # the same pairs counted from the stored rows, the deleted customer left out
    tiers: dict[int, dict[Any, Any]] = {}
    for customer_id, as_of, tier, deleted_at in stored:
        if deleted_at is None:
            tiers.setdefault(customer_id, {})[as_of] = getattr(tier, "value", tier)
    counted: dict[tuple[Any, Any], int] = {}
    for by_day in tiers.values():
        pair = (by_day.get(EARLIER), by_day.get(DAY))
        if pair[0] != pair[1]:
            counted[pair] = counted.get(pair, 0) + 1
    pairs = {(m["from"], m["to"]): m["customers"] for m in everyone}
    assert pairs == counted
    for m in sales:  # a sales user's movements are a part of everyone's
        assert m["customers"] <= pairs[(m["from"], m["to"])]
    assert 0 < sum(m["customers"] for m in sales) < sum(pairs.values())


# --- lists -------------------------------------------------------------------------------------

WHO = ["name", "external_id", "city", "marketable", "value_tier", "lifecycle_stage"]
DIAMOND_KEYS = [
    "customer_id",
    *WHO,
    "monetary",
    "frequency",
    "recency_days",
    "satisfaction",
    "loyalty",
    "engagement",
    "advocacy",
    "relationship_index",
    "rfm_segment",
    "churn_risk",
    "predicted_clv",
    "reasons",
]


def test_diamonds_agree_and_leave_out_the_deleted(report_store: ReportStore, cli: Any) -> None:
    line = cli("diamonds", "--limit", "500")
    web = api(report_store, "/scores/diamonds", limit=500)
    assert line["customers"], "the sample store has diamond customers"
    same(line["customers"], web["data"], DIAMOND_KEYS)
    assert line["diamonds"] == len(line["customers"])
    assert report_store.deleted_id not in {r["customer_id"] for r in line["customers"]}
    assert all(r["reasons"] for r in line["customers"])


def test_churn_warnings_agree(report_store: ReportStore, cli: Any) -> None:
    line = cli("at-risk", "--limit", "40")["customers"]
    web = api(report_store, "/scores/at-risk", limit=40)["data"]
    assert line, "the sample store has churn warnings"
    for row in line:
        row["customer_id"] = row.pop("id")
    keys = ["customer_id", *WHO, "churn_risk", "predicted_clv", "value_at_risk", "reasons"]
    same(line, web, keys)
    assert report_store.deleted_id not in {r["customer_id"] for r in line}


def test_top_clv_agrees(report_store: ReportStore, cli: Any) -> None:
    line = cli("clv", "--limit", "40")["customers"]
    web = api(report_store, "/scores/clv", limit=40)["data"]
    assert line
    for row in line:
        row["customer_id"] = row.pop("id")
    keys = ["customer_id", *WHO, "predicted_clv", "clv_low", "clv_high", "p_alive"]
    same(line, web, [*keys, "expected_purchases_90d"])
    assert report_store.deleted_id not in {r["customer_id"] for r in line}


@pytest.mark.parametrize("path", ["diamonds", "at-risk", "clv"])
def test_a_sales_users_lists_are_their_customers(report_store: ReportStore, path: str) -> None:
    web = api(report_store, f"/scores/{path}", who="sales", limit=500)["data"]
    rules = load_rules(report_store.settings)
    engine = report_store.engine()
    scope = scoped(report_store, "sales")
    try:
        with session_scope(engine) as session:
            if path == "diamonds":
                found = reports.diamonds(
                    session, day=DAY, rules=rules, locale="zh_CN", limit=500, scope=scope
                )
            elif path == "at-risk":
                found = reports.churn_warnings(session, day=DAY, limit=500, scope=scope)
            else:
                found = reports.top_clv(session, day=DAY, limit=500, scope=scope)
    finally:
        engine.dispose()
    assert web, f"the sales user has {path} customers"
    same(found.rows, web, list(found.rows[0]))
    ids = {r["customer_id"] for r in web}
    assert ids <= report_store.sales_ids - {report_store.deleted_id}


def test_analysts_see_the_same_lists_masked(report_store: ReportStore) -> None:
    admin = api(report_store, "/scores/diamonds", limit=20)["data"]
    analyst = api(report_store, "/scores/diamonds", who="analyst", limit=20)["data"]
    same(admin, analyst, ["customer_id", "monetary", "reasons"])
    assert [mask_name(a["name"]) for a in admin] == [b["name"] for b in analyst]
    assert [mask_identifier(a["external_id"]) for a in admin] == [b["external_id"] for b in analyst]


# --- one customer ------------------------------------------------------------------------------


def test_one_customers_scores_agree_and_a_deleted_one_is_not_found(
    report_store: ReportStore,
) -> None:
    s = schema.customer_scores.c
    engine = report_store.engine()
    try:
        with session_scope(engine) as session:
            customer_id = session.execute(
                sa.select(sa.func.min(s.customer_id)).where(
                    s.as_of == EARLIER,
                    s.customer_id.in_(report_store.sales_ids - {report_store.deleted_id}),
                )
            ).scalar_one()
            web = api(report_store, f"/customers/{customer_id}/scores", who="sales")
            found = reports.customer_scores(
                session, customer_id=customer_id, scope=scoped(report_store, "sales")
            )
    finally:
        engine.dispose()
    assert [h["as_of"] for h in web["history"]] == [DAY.isoformat(), EARLIER.isoformat()]
    same(
        [{**h, "as_of": h["as_of"].isoformat()} for h in found["history"]],
        web["history"],
        list(web["history"][0]),
    )
    assert web["scores"]["as_of"] == DAY.isoformat()
    for key in ("relationship_index", "monetary", "predicted_clv"):
        assert found["scores"][key] == pytest.approx(web["scores"][key]), key
    for key in ("value_tier", "lifecycle_stage", "components"):
        assert found["scores"][key] == web["scores"][key], key
    deleted = report_store.client.get(
        f"/api/v1/customers/{report_store.deleted_id}/scores",
        headers=report_store.headers("admin"),
    )
    assert deleted.status_code == 404
