"""Formula injection in the files the API hands out: the marketing export, the campaign
audience export and an import job's reject file neutralise text a spreadsheet would run
(``=…``, ``+…``, ``-…``, ``@…``, tab, CR) and leave phone numbers and plain numbers alone."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from rapport.domain import CampaignChannel
from rapport.store import campaigns, customers

from .conftest import Book, People
from .test_imports import Real, csv_bytes, real  # noqa: F401  (the fixture)

CMD = "=cmd|' /C calc'!A0"
SUM = "@SUM(1)"


def _rows(content: bytes) -> list[dict[str, str]]:
    assert content.startswith("\ufeff".encode())
    return list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"))))


@pytest.fixture
def hostile(db: Session, book: Book) -> dict[str, dict[str, Any]]:
    """Two marketable customers whose text would run as formulas in a spreadsheet."""
    values = {"marketing_consent": True, "phone": "+8613800000000", "owner_id": None}
    out = {
        "cmd": customers.repo.create(
            session=db,
            values={**values, "external_id": "-1-2", "name": CMD, "city": "\t=1", "tags": ["+x"]},
        ),
        "sum": customers.repo.create(
            session=db, values={**values, "external_id": "X-2", "name": SUM, "city": "-12.50"}
        ),
    }
    db.commit()
    return out


def _check(rows: list[dict[str, str]]) -> None:
    by_id = {r["external_id"]: r for r in rows}
    cmd, sums = by_id["'-1-2"], by_id["X-2"]
    assert (cmd["name"], cmd["city"], cmd["tags"]) == ("'" + CMD, "'\t=1", "'+x")
    assert (sums["name"], sums["city"]) == ("'" + SUM, "-12.50")
    assert {r["phone"] for r in (cmd, sums)} == {"+8613800000000"}
    for row in rows:
        for value in row.values():
            assert not value.startswith(("=", "@", "\t", "\r")), row


def test_marketing_export_neutralises_formulas(
    client: TestClient, people: People, hostile: dict[str, Any]
) -> None:
    response = client.get("/api/v1/customers/export", headers=people.headers("admin"))
    assert response.status_code == 200
    _check(_rows(response.content))


def test_audience_export_neutralises_formulas(
    client: TestClient, people: People, db: Session, hostile: dict[str, dict[str, Any]]
) -> None:
    campaign = campaigns.repo.create(
        session=db,
        values={"external_id": "CMP-X", "name": "=1+1", "channel": CampaignChannel.SMS},
    )
    for row in hostile.values():
        campaigns.deliveries_repo.create(
            session=db,
            values={"campaign_id": campaign["id"], "customer_id": row["id"], "holdout": False},
        )
    db.commit()
    response = client.get(
        f"/api/v1/campaigns/{campaign['id']}/audience", headers=people.headers("manager")
    )
    assert response.status_code == 200
    rows = _rows(response.content)
    assert len(rows) == 2
    _check(rows)


def test_import_job_rejects_download_is_neutralised(real: Real) -> None:  # noqa: F811
    content = csv_bytes(
        [
            ["客户编号", "姓名", "手机号", "备注"],
            ["", CMD, "+8613800000000", "-12.50"],  # no key: rejected
            ["", SUM, "+8613800000001", "+1+1"],
        ]
    )
    job = real.run("customers", "hostile.csv", content)
    assert job["status"] == "done", job
    answer = real.client.get(f"/api/v1/imports/{job['id']}/rejects", headers=real.headers("admin"))
    assert answer.status_code == 200
    rows = _rows(answer.content)
    assert [r["姓名"] for r in rows] == ["'" + CMD, "'" + SUM]
    assert [r["手机号"] for r in rows] == ["+8613800000000", "+8613800000001"]
    assert [r["备注"] for r in rows] == ["-12.50", "'+1+1"]
