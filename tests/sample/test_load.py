"""The sample company passes the importer with zero rejects, on both backends."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from rapport.ingest.entities import IMPORT_ORDER
from rapport.sample.generator import generate
from rapport.sample.load import load_company
from rapport.store import schema


def test_generated_company_imports_without_rejects(fresh_engine: Engine) -> None:
    company = generate(customers=600, months=9, seed=11)
    seen: list[str] = []
    reports = load_company(company, engine=fresh_engine, on_entity=lambda e, n: seen.append(e))
    assert seen == [e for e in IMPORT_ORDER if company.row_counts().get(e)]
    for report in reports:
        assert report.rejected == 0, (report.entity, report.reject_reasons)
        assert report.inserted == company.row_counts()[report.entity]
    with fresh_engine.connect() as conn:
        for name, rows in company.row_counts().items():
            stored = conn.execute(
                sa.select(sa.func.count()).select_from(schema.metadata.tables[name])
            )
            assert stored.scalar_one() == rows, name
    # loading the same company again changes nothing
    again = load_company(company, engine=fresh_engine)
    assert all(r.inserted == r.updated == 0 for r in again), [
        (r.entity, r.inserted, r.updated) for r in again if r.inserted or r.updated
    ]


def test_cdnow_loads_through_the_importer(fresh_engine: Engine) -> None:
    from rapport.sample.cdnow import load_cdnow

    reports = {r.entity: r for r in load_company(load_cdnow("sample"), engine=fresh_engine)}
    assert reports["customers"].inserted == 2357
    assert reports["orders"].inserted == 6919
    assert all(r.rejected == 0 for r in reports.values())
