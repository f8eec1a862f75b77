"""The score routes × every role: one customer's scores (404 outside the scope, exactly
like a missing customer), group summaries over the caller's customers, and the diamond,
churn-warning and CLV lists holding only customers in scope, masked for analysts,
filtered by marketing consent, audited when names are shown. Rows are written straight
into ``customer_scores``, as ``rapport score`` writes them."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from rapport.store import schema, scores, tokens
from tests.helpers import audit_entries

from .conftest import MISSING_ID, ROLES, VISIBLE, Book, People

OLD, NEW = dt.date(2024, 6, 30), dt.date(2024, 12, 31)
#: Window revenue and predicted CLV of each book customer (all diamond in NEW).
MONETARY = {"own": 4000, "peer": 3000, "west": 2000, "pool": 1000}
CLV = {"own": 1000, "peer": 2000, "west": 3000, "pool": 4000}
#: Whose churn risk comes from the classifier (pool's is a heuristic: no warning).
CLASSIFIED = {"own", "peer", "west"}


def _components(name: str) -> dict[str, Any]:
    source = "classifier" if name in CLASSIFIED else "heuristic"
    return {
        "rfm": {"revenue_rank": 0.99},
        "value_tier": {"next": None, "missing": []},
        "prediction": {"clv_low": CLV[name] * 0.5, "clv_high": CLV[name] * 1.5},
        "churn": {
            "source": source,
            "reasons": [
                {"feature": "recency_days", "value": 200.0, "contribution": 0.9,
                 "direction": "raises"},
                {"feature": "frequency", "value": 9.0, "contribution": -0.3,
                 "direction": "lowers"},
            ],
        },
    }  # fmt: skip


@pytest.fixture
def scored(db: Session, book: Book) -> Book:
    """Two snapshots: OLD (everyone gold, active) and NEW (everyone diamond, at risk)."""
    for day, tier, stage in ((OLD, "gold", "active"), (NEW, "diamond", "at_risk")):
        rows = []
        for name, customer_id in book.ids().items():
            rows.append(
                {
                    "customer_id": customer_id,
                    "satisfaction": 80.0,
                    "loyalty": 90.0,
                    "engagement": 70.0,
                    "advocacy": None,
                    "relationship_index": 80.0 if day == NEW else 60.0,
                    "recency_days": 200,
                    "frequency": 9,
                    "monetary": MONETARY[name],
                    "r_score": 2,
                    "f_score": 5,
                    "m_score": 5,
                    "rfm_segment": "at_risk",
                    "value_tier": tier,
                    "lifecycle_stage": stage,
                    "p_alive": 0.4,
                    "expected_purchases_90d": 0.5,
                    "predicted_clv": CLV[name],
                    "churn_risk": 0.7,
                    "components": _components(name),
                }
            )
        scores.write_snapshot(session=db, as_of=day, rows=rows)
    db.commit()
    return book


def _names(book: Book) -> dict[int, str]:
    return {v: k for k, v in book.ids().items()}


# --- one customer --------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("target", ["own", "peer", "west", "pool"])
def test_customer_scores_are_404_outside_the_scope_like_a_missing_customer(
    client: TestClient, people: People, scored: Book, role: str, target: str
) -> None:
    customer_id = scored.ids()[target]
    response = client.get(f"/api/v1/customers/{customer_id}/scores", headers=people.headers(role))
    if target in VISIBLE[role]:
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["customer_id"] == customer_id
        assert body["scores"]["as_of"] == NEW.isoformat()
        assert body["scores"]["value_tier"] == "diamond"
        assert body["scores"]["predicted_clv"] == CLV[target]
        assert body["scores"]["components"]["prediction"]["clv_low"] == CLV[target] * 0.5
        assert [h["as_of"] for h in body["history"]] == [NEW.isoformat(), OLD.isoformat()]
        assert [h["value_tier"] for h in body["history"]] == ["diamond", "gold"]
    else:
        assert response.status_code == 404
        missing = client.get(f"/api/v1/customers/{MISSING_ID}/scores", headers=people.headers(role))
        assert missing.status_code == 404
        assert response.json()["error"] == {
            **missing.json()["error"],
            "message": f"no customer with id {customer_id}",
            "value": customer_id,
        }


def test_customer_scores_of_a_date_and_of_an_unscored_customer(
    client: TestClient, people: People, scored: Book, db: Session
) -> None:
    headers = people.headers("admin")
    own = scored.own["id"]
    body = client.get(
        f"/api/v1/customers/{own}/scores", params={"as_of": OLD, "history": 1}, headers=headers
    ).json()
    assert body["scores"]["as_of"] == OLD.isoformat()
    assert body["scores"]["relationship_index"] == 60.0
    assert len(body["history"]) == 1
    db.execute(sa.delete(schema.customer_scores).where(schema.customer_scores.c.customer_id == own))
    db.commit()
    body = client.get(f"/api/v1/customers/{own}/scores", headers=headers).json()
    assert body == {"customer_id": own, "scores": None, "history": []}


# --- group summaries -----------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_tiers_count_the_customers_in_scope(
    client: TestClient, people: People, scored: Book, role: str
) -> None:
    response = client.get("/api/v1/scores/tiers", headers=people.headers(role))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["as_of"] == NEW.isoformat() and body["by"] == "value_tier"
    (diamond,) = body["data"]
    seen = VISIBLE[role]
    assert diamond["group"] == "diamond"
    assert (diamond["label_zh"], diamond["label_en"]) == ("钻石", "Diamond")
    assert diamond["customers"] == len(seen)
    assert diamond["customer_share"] == 100.0
    assert diamond["revenue"] == sum(MONETARY[n] for n in seen)
    assert diamond["avg_loyalty"] == 90.0 and diamond["avg_advocacy"] is None


def test_stages_and_segments_of_an_earlier_snapshot(
    client: TestClient, people: People, scored: Book
) -> None:
    headers = people.headers("manager")
    stages = client.get("/api/v1/scores/stages", params={"as_of": OLD}, headers=headers).json()
    assert stages["as_of"] == OLD.isoformat()
    assert [(g["group"], g["customers"]) for g in stages["data"]] == [("active", 3)]
    segments = client.get("/api/v1/scores/segments", headers=headers).json()
    (group,) = segments["data"]
    assert group["group"] == "at_risk" and group["label_en"]
    assert group["revenue_share"] == 100.0


@pytest.mark.parametrize("path", ["tiers", "stages", "segments", "diamonds", "at-risk", "clv"])
def test_without_a_snapshot_404(client: TestClient, people: People, book: Book, path: str) -> None:
    response = client.get(f"/api/v1/scores/{path}", headers=people.headers("admin"))
    assert response.status_code == 404
    assert response.json()["error"]["message"] == "no score snapshot"
    assert "rapport score" in response.json()["error"]["hint"]


def test_a_snapshot_date_never_written_is_404(
    client: TestClient, people: People, scored: Book
) -> None:
    response = client.get(
        "/api/v1/scores/tiers", params={"as_of": "2020-01-01"}, headers=people.headers("admin")
    )
    assert response.status_code == 404
    assert response.json()["error"]["field"] == "as_of"


# --- lists ---------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_lists_hold_only_customers_in_scope_masked_for_analysts(
    client: TestClient, people: People, scored: Book, role: str
) -> None:
    headers = people.headers(role)
    names = _names(scored)
    expected = {
        "diamonds": ([n for n in MONETARY if n in VISIBLE[role]]),  # by window revenue
        "clv": [n for n in sorted(CLV, key=lambda n: -CLV[n]) if n in VISIBLE[role]],
        "at-risk": [  # by value at risk = 0.7 × CLV; pool's risk is no classifier's
            n for n in sorted(CLV, key=lambda n: -CLV[n]) if n in VISIBLE[role] & CLASSIFIED
        ],
    }
    for path, order in expected.items():
        response = client.get(f"/api/v1/scores/{path}", headers=headers)
        assert response.status_code == 200, (path, response.text)
        body = response.json()
        assert [names[r["customer_id"]] for r in body["data"]] == order, path
        assert body["count"] == len(order)
        assert body["masked"] is (role == "analyst")
        for row in body["data"]:
            if role == "analyst":
                assert row["name"].endswith("*") and len(row["name"]) == 2
            else:
                assert row["name"] in ("张伟", "王芳", "陈杰", "刘洋")


def test_list_rows_carry_their_figures_and_reasons(
    client: TestClient, people: People, scored: Book
) -> None:
    headers = people.headers("admin")
    pool = scored.pool["id"]
    clv = client.get("/api/v1/scores/clv", params={"limit": 1}, headers=headers).json()
    assert clv["count"] == len(CLV) and clv["next_cursor"]  # one page of all four
    (top,) = clv["data"]
    assert top["customer_id"] == pool
    assert (top["predicted_clv"], top["clv_low"], top["clv_high"]) == (4000, 2000, 6000)
    assert top["p_alive"] == 0.4 and top["value_tier"] == "diamond"
    risk = client.get("/api/v1/scores/at-risk", headers=headers).json()["data"][0]
    assert risk["customer_id"] == scored.west["id"]
    assert risk["value_at_risk"] == pytest.approx(0.7 * 3000)
    assert [r["feature"] for r in risk["reasons"]] == ["recency_days"]  # only what raises it
    diamond = client.get("/api/v1/scores/diamonds", params={"lang": "en"}, headers=headers).json()[
        "data"
    ][0]
    assert diamond["customer_id"] == scored.own["id"] and diamond["monetary"] == 4000
    assert any("P99.0" in reason for reason in diamond["reasons"])
    high = client.get("/api/v1/scores/at-risk", params={"min_risk": 0.8}, headers=headers).json()
    assert high["data"] == []


def test_marketable_filter_honours_consent_and_opt_out(
    client: TestClient, people: People, scored: Book
) -> None:
    headers = people.headers("admin")
    names = _names(scored)
    for path in ("diamonds", "clv", "at-risk"):
        yes = client.get(f"/api/v1/scores/{path}", params={"marketable": True}, headers=headers)
        no = client.get(f"/api/v1/scores/{path}", params={"marketable": False}, headers=headers)
        got_yes = {names[r["customer_id"]] for r in yes.json()["data"]}
        got_no = {names[r["customer_id"]] for r in no.json()["data"]}
        # own and pool consented; peer did not consent; west opted out
        assert got_yes == {"own", "pool"} & ({"own", "pool"} if path != "at-risk" else CLASSIFIED)
        assert got_no == {"peer", "west"}
        assert all(r["marketable"] for r in yes.json()["data"])
        assert not any(r["marketable"] for r in no.json()["data"])


def test_deleted_customers_leave_the_lists(
    client: TestClient, people: People, scored: Book
) -> None:
    headers = people.headers("admin")
    assert (
        client.delete(f"/api/v1/customers/{scored.pool['id']}", headers=headers).status_code == 204
    )
    for path in ("diamonds", "clv"):
        ids = {
            r["customer_id"]
            for r in client.get(f"/api/v1/scores/{path}", headers=headers).json()["data"]
        }
        assert scored.pool["id"] not in ids


def test_lists_with_names_are_audited_and_masked_ones_not(
    client: TestClient, people: People, scored: Book, db: Session
) -> None:
    client.get("/api/v1/scores/clv", headers=people.headers("sales"))
    client.get("/api/v1/scores/clv", headers=people.headers("analyst"))
    client.get("/api/v1/scores/tiers", headers=people.headers("admin"))
    entries = [e for e in audit_entries(db) if e["action"] == "read_pii"]
    assert len(entries) == 1
    (entry,) = entries
    assert entry["actor"] == "li.na" and entry["entity_id"] == str(scored.own["id"])
    assert entry["detail"]["route"] == "scores.clv"


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("diamonds", {"limit": 0}, "query.limit"),
        ("clv", {"limit": 501}, "query.limit"),
        ("at-risk", {"min_risk": 1.5}, "query.min_risk"),
        ("diamonds", {"lang": "fr"}, "query.lang"),
        ("tiers", {"as_of": "2024-13-01"}, "query.as_of"),
    ],
)
def test_bad_parameters_are_422(
    client: TestClient, people: People, scored: Book, path: str, params: dict, field: str
) -> None:
    response = client.get(f"/api/v1/scores/{path}", params=params, headers=people.headers("admin"))
    assert response.status_code == 422
    assert response.json()["error"]["field"] == field


def test_api_tokens_need_the_scores_scope(
    client: TestClient, people: People, scored: Book, db: Session
) -> None:
    without, _ = tokens.issue(
        session=db, user_id=people.admin["id"], name="crm", scopes=["customers:read"]
    )
    with_scope, _ = tokens.issue(
        session=db, user_id=people.admin["id"], name="bi", scopes=["scores:read"]
    )
    db.commit()
    own = scored.own["id"]
    for path in ("/api/v1/scores/tiers", f"/api/v1/customers/{own}/scores"):
        refused = client.get(path, headers={"Authorization": f"Bearer {without}"})
        assert refused.status_code == 403
        assert "scores:read" in refused.json()["error"]["message"]
        allowed = client.get(path, headers={"Authorization": f"Bearer {with_scope}"})
        assert allowed.status_code == 200


def test_without_credentials_401(client: TestClient, scored: Book) -> None:
    for path in (
        "/api/v1/scores/tiers",
        "/api/v1/scores/clv",
        f"/api/v1/customers/{scored.own['id']}/scores",
    ):
        assert client.get(path).status_code == 401
