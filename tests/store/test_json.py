"""JSON columns: ``None`` is SQL NULL (not the JSON text 'null'), documents round-trip."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Session

from rapport.store import customers, schema


def test_none_is_sql_null_and_documents_round_trip(session: Session) -> None:
    now = dt.datetime(2024, 3, 5, tzinfo=dt.UTC)
    a = customers.repo.create(
        session=session,
        values={"external_id": "J-1", "tags": None, "created_at": now, "updated_at": now},
    )
    b = customers.repo.create(
        session=session,
        values={"external_id": "J-2", "tags": ["VIP", "新客"], "extra": {"等级": "金卡"}},
    )
    c = schema.customers.c
    nulls = session.execute(
        sa.select(c.external_id).where(c.tags.is_(None)).where(c.id.in_([a["id"], b["id"]]))
    ).scalars()
    assert list(nulls) == ["J-1"]
    assert customers.repo.get(session=session, id=b["id"])["tags"] == ["VIP", "新客"]
    assert customers.repo.get(session=session, id=b["id"])["extra"] == {"等级": "金卡"}
