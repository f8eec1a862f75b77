"""``/alerts`` × every role: sales see the alerts of their customers only, an alert about no
customer goes to admins, managers and analysts, 404 outside the scope as for a missing
alert; acknowledged and resolved (409 once resolved), analysts read only, and the audit
trail — on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from rapport.domain import AlertKind, AlertSeverity
from rapport.store import alerts
from tests.helpers import audit_entries

from .conftest import MISSING_ID, ROLES, T0, Book, People

URL = "/api/v1/alerts"
#: Which alert of :func:`raised` each role sees.
SEES = {
    "admin": {"own", "peer", "west", "pool", "metric"},
    "analyst": {"own", "peer", "west", "pool", "metric"},
    "manager": {"own", "peer", "pool", "metric"},
    "sales": {"own"},
    "service": {"west"},
}


@pytest.fixture
def raised(db: Session, book: Book) -> dict[str, int]:
    """A churn-risk alert per book customer and a metric alert about no customer."""
    out = {}
    for name, customer_id in book.ids().items():
        out[name], _ = alerts.raise_alert(
            session=db,
            kind=AlertKind.CHURN_RISK,
            dedup_key=f"churn_risk:{customer_id}:2024-02-29",
            severity=AlertSeverity.WARNING,
            customer_id=customer_id,
            details={"churn_risk": 0.7},
            at=T0,
        )
    out["metric"], _ = alerts.raise_alert(
        session=db,
        kind=AlertKind.METRIC_OUT_OF_BAND,
        dedup_key="metric_out_of_band:revenue:2024-02-29",
        severity=AlertSeverity.WARNING,
        customer_id=None,
        details={"metric": "revenue"},
        at=T0,
    )
    db.commit()
    return out


@pytest.mark.parametrize("role", ROLES)
def test_each_role_lists_its_alerts(
    client: TestClient, people: People, raised: dict[str, int], role: str
) -> None:
    found = client.get(URL, headers=people.headers(role))
    assert found.status_code == 200, found.text
    names = {v: k for k, v in raised.items()}
    assert {names[r["id"]] for r in found.json()["data"]} == SEES[role]
    assert found.json()["count"] == len(SEES[role])
    for name, alert_id in raised.items():
        ack = client.post(f"{URL}/{alert_id}/acknowledge", headers=people.headers(role))
        if name not in SEES[role]:
            assert ack.status_code == 404
        else:
            assert ack.status_code == (403 if role == "analyst" else 200)


def test_acknowledge_resolve_and_the_audit(
    client: TestClient, db: Session, people: People, raised: dict[str, int]
) -> None:
    sales = people.headers("sales")
    own = raised["own"]
    ack = client.post(f"{URL}/{own}/acknowledge", headers=sales)
    assert ack.status_code == 200
    body: dict[str, Any] = ack.json()
    assert (body["status"], body["acknowledged_by"]) == ("acknowledged", people.sales["id"])
    assert client.post(f"{URL}/{own}/acknowledge", headers=sales).status_code == 200
    done = client.post(f"{URL}/{own}/resolve", headers=sales)
    assert done.status_code == 200
    assert (done.json()["status"], done.json()["resolved_by"]) == ("resolved", people.sales["id"])
    assert client.post(f"{URL}/{own}/resolve", headers=sales).status_code == 409
    assert client.post(f"{URL}/{own}/acknowledge", headers=sales).status_code == 409
    assert client.post(f"{URL}/{MISSING_ID}/resolve", headers=sales).status_code == 404
    entries = audit_entries(db, entity="alerts")
    # the second acknowledgement changed nothing and wrote nothing
    assert [(e["entity_id"], e["detail"]["to"]) for e in entries] == [
        (str(own), "acknowledged"),
        (str(own), "resolved"),
    ]


def test_filters(client: TestClient, people: People, raised: dict[str, int]) -> None:
    admin = people.headers("admin")
    client.post(f"{URL}/{raised['own']}/resolve", headers=admin)
    unresolved = client.get(URL, params={"status": "unresolved"}, headers=admin).json()
    assert raised["own"] not in {r["id"] for r in unresolved["data"]}
    assert unresolved["count"] == len(raised) - 1
    metric = client.get(URL, params={"kind": "metric_out_of_band"}, headers=admin).json()
    assert [r["id"] for r in metric["data"]] == [raised["metric"]]
    bad = client.get(URL, params={"status": "gone"}, headers=admin)
    assert bad.status_code == 422
