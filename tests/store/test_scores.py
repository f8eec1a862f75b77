"""Dated score snapshots: one row per customer and date, replaced atomically, history kept."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session

from rapport.domain import LifecycleStage, ValueTier
from rapport.errors import NotFound, RapportError, ValidationFailed
from rapport.store import scores
from rapport.store.components import compact
from rapport.store.db import create_engine
from rapport.store.schema import customer_scores

from .factories import customer
from .test_components import keyed as keyed_components

D1, D2, D3 = dt.date(2024, 1, 31), dt.date(2024, 2, 29), dt.date(2024, 3, 31)
NOW = dt.datetime(2024, 4, 1, tzinfo=dt.UTC)


def snapshot(session: Session, as_of: dt.date) -> dict[int, dict[str, Any]]:
    rows = session.execute(
        sa.select(customer_scores).where(customer_scores.c.as_of == as_of)
    ).mappings()
    return {r["customer_id"]: dict(r) for r in rows}


def row(customer_id: int, **values: Any) -> dict[str, Any]:
    return {
        "customer_id": customer_id,
        "satisfaction": 80.0,
        "loyalty": 70.0,
        "engagement": 60.0,
        "advocacy": 50.0,
        "relationship_index": 65.0,
        "recency_days": 12,
        "frequency": 4,
        "monetary": Decimal("5120.00"),
        "r_score": 5,
        "f_score": 4,
        "m_score": 5,
        "rfm_segment": "冠军客户",
        "value_tier": ValueTier.DIAMOND,
        "lifecycle_stage": LifecycleStage.ACTIVE,
        "p_alive": 0.93,
        "churn_risk": 0.07,
        "components": {"满意度": {"csat": 4.6}},
        **values,
    }


def test_write_snapshot_stores_the_rows(session: Session) -> None:
    a, b = customer(session), customer(session)
    written = scores.write_snapshot(
        session=session, as_of=D1, rows=[row(a["id"]), row(b["id"], satisfaction=20.0)]
    )
    assert written == 2
    stored = snapshot(session, D1)
    assert set(stored) == {a["id"], b["id"]}
    assert stored[b["id"]]["satisfaction"] == 20.0
    assert stored[a["id"]]["monetary"] == Decimal("5120.00")
    assert stored[a["id"]]["value_tier"] == ValueTier.DIAMOND
    assert stored[a["id"]]["components"] == {"满意度": {"csat": 4.6}}
    assert stored[a["id"]]["computed_at"].utcoffset() == dt.timedelta(0)


def test_rewriting_a_date_replaces_its_rows_and_keeps_other_dates(session: Session) -> None:
    a, b, c = customer(session), customer(session), customer(session)
    scores.write_snapshot(session=session, as_of=D1, rows=[row(a["id"]), row(b["id"])])
    scores.write_snapshot(session=session, as_of=D2, rows=[row(a["id"]), row(b["id"])])
    d2_before = snapshot(session, D2)

    scores.write_snapshot(
        session=session, as_of=D1, rows=[row(b["id"], loyalty=10.0), row(c["id"])]
    )

    d1 = snapshot(session, D1)
    assert set(d1) == {b["id"], c["id"]}  # a's row of that date is gone
    assert d1[b["id"]]["loyalty"] == 10.0
    assert snapshot(session, D2) == d2_before
    assert scores.snapshot_dates(session=session) == [D1, D2]


def test_an_empty_snapshot_clears_the_date(session: Session) -> None:
    a = customer(session)
    scores.write_snapshot(session=session, as_of=D1, rows=[row(a["id"])])
    scores.write_snapshot(session=session, as_of=D2, rows=[row(a["id"])])
    assert scores.write_snapshot(session=session, as_of=D1, rows=[]) == 0
    assert snapshot(session, D1) == {}
    assert scores.snapshot_dates(session=session) == [D2]


def test_a_failed_rewrite_keeps_the_old_snapshot(session: Session) -> None:
    a, b = customer(session), customer(session)
    scores.write_snapshot(session=session, as_of=D1, rows=[row(a["id"]), row(b["id"])])
    before = snapshot(session, D1)
    with pytest.raises(RapportError):  # the database refuses the second row for a's key
        scores.write_snapshot(session=session, as_of=D1, rows=[row(a["id"]), row(a["id"])])
    assert snapshot(session, D1) == before
    with pytest.raises(RapportError):  # the database refuses an unknown customer
        scores.write_snapshot(session=session, as_of=D1, rows=[row(a["id"]), row(987654)])
    assert snapshot(session, D1) == before


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("satisfaction", 100.5),
        ("loyalty", -0.1),
        ("engagement", 101),
        ("advocacy", -1),
        ("relationship_index", 1000.0),
        ("churn_risk", 1.2),
        ("p_alive", -0.01),
        ("r_score", 0),
        ("m_score", 6),
    ],
)
def test_values_out_of_range_are_refused_and_nothing_changes(
    session: Session, field: str, value: Any
) -> None:
    a, b = customer(session), customer(session)
    scores.write_snapshot(session=session, as_of=D1, rows=[row(a["id"])])
    before = snapshot(session, D1)
    with pytest.raises(ValidationFailed) as info:
        scores.write_snapshot(
            session=session, as_of=D1, rows=[row(a["id"]), row(b["id"], **{field: value})]
        )
    assert info.value.location == f"customer_scores.{field}"
    assert snapshot(session, D1) == before


@pytest.mark.parametrize("value", [0, 0.0, 100, 100.0])
def test_the_range_bounds_are_accepted(session: Session, value: float) -> None:
    a = customer(session)
    scores.write_snapshot(
        session=session,
        as_of=D1,
        rows=[row(a["id"], **{f: value for f in ("satisfaction", "relationship_index")})],
    )
    assert snapshot(session, D1)[a["id"]]["satisfaction"] == value


def test_unknown_tier_is_refused(session: Session) -> None:
    a = customer(session)
    with pytest.raises(ValidationFailed) as info:
        scores.write_snapshot(session=session, as_of=D1, rows=[row(a["id"], value_tier="钻石")])
    assert info.value.field == "value_tier"
    for tier in ValueTier:
        assert tier.value in (info.value.hint or "")


def test_for_customer_returns_the_newest_first(session: Session) -> None:
    a = customer(session)
    for as_of, loyalty in ((D2, 50.0), (D1, 40.0), (D3, 60.0)):
        scores.write_snapshot(session=session, as_of=as_of, rows=[row(a["id"], loyalty=loyalty)])
    latest = scores.for_customer(session=session, customer_id=a["id"])
    assert [(r["as_of"], r["loyalty"]) for r in latest] == [(D3, 60.0), (D2, 50.0)]
    everything = scores.for_customer(session=session, customer_id=a["id"], limit=10)
    assert [r["as_of"] for r in everything] == [D3, D2, D1]


def test_rows_with_different_fields_are_all_stored(session: Session) -> None:
    a, b = customer(session), customer(session)
    scores.write_snapshot(
        session=session,
        as_of=D1,
        rows=[
            {"customer_id": a["id"], "satisfaction": 50.0},
            {"customer_id": b["id"], "satisfaction": 60.0, "loyalty": 70.0},
        ],
    )
    assert snapshot(session, D1)[b["id"]]["loyalty"] == 70.0


def test_a_field_missing_from_a_later_row_is_stored_as_null(session: Session) -> None:
    a, b = customer(session), customer(session)
    scores.write_snapshot(
        session=session,
        as_of=D1,
        rows=[
            {"customer_id": a["id"], "satisfaction": 50.0, "loyalty": 70.0},
            {"customer_id": b["id"], "satisfaction": 60.0},
        ],
    )
    assert snapshot(session, D1)[b["id"]]["loyalty"] is None


def test_nan_score_is_refused(session: Session) -> None:
    a = customer(session)
    with pytest.raises(ValidationFailed) as info:
        scores.write_snapshot(
            session=session, as_of=D1, rows=[row(a["id"], satisfaction=float("nan"))]
        )
    assert info.value.location == "customer_scores.satisfaction"


@pytest.mark.parametrize("value", [float("inf"), float("-inf"), Decimal("Infinity"), 10**400])
def test_infinite_score_is_refused(session: Session, value: Any) -> None:
    a = customer(session)
    with pytest.raises(ValidationFailed) as info:
        scores.write_snapshot(session=session, as_of=D1, rows=[row(a["id"], churn_risk=value)])
    assert info.value.location == "customer_scores.churn_risk"
    assert snapshot(session, D1) == {}


def test_integer_score_beyond_smallint_is_refused(session: Session) -> None:
    a = customer(session)
    with pytest.raises(ValidationFailed) as info:
        scores.write_snapshot(session=session, as_of=D1, rows=[row(a["id"], r_score=2**15)])
    assert info.value.location == "customer_scores.r_score"
    assert "16-bit" in info.value.message


def test_rows_with_different_fields_keep_unset_json_as_null(session: Session) -> None:
    a, b = customer(session), customer(session)
    scores.write_snapshot(
        session=session,
        as_of=D1,
        rows=[
            {"customer_id": a["id"], "components": {"satisfaction": ["NPS 9"]}},
            {"customer_id": b["id"], "satisfaction": 60.0},
        ],
    )
    stored = snapshot(session, D1)
    assert stored[a["id"]]["components"] == {"satisfaction": ["NPS 9"]}
    assert stored[a["id"]]["satisfaction"] is None
    assert stored[b["id"]]["satisfaction"] == 60.0
    null_components = session.execute(
        sa.select(customer_scores.c.customer_id).where(
            customer_scores.c.as_of == D1, customer_scores.c.components.is_(None)
        )
    ).scalars()
    assert list(null_components) == [b["id"]]


def _stored_text(session: Session, customer_id: int) -> Any:
    """The ``components`` of a customer's row as the database holds it (parsed JSON)."""
    raw = sa.select(sa.cast(customer_scores.c.components, sa.Text)).where(
        customer_scores.c.customer_id == customer_id
    )
    return json.loads(session.execute(raw).scalar_one())


def test_a_document_of_the_layout_is_stored_compact_and_read_keyed(session: Session) -> None:
    """Written through the rows (``write_snapshot``) or a statement, the scoring run's
    document is stored compact (rapport.store.components) and every read gets it keyed."""
    a, b = customer(session), customer(session)
    document = keyed_components()
    scores.write_snapshot(
        session=session, as_of=D1, rows=[row(a["id"], components=json.dumps(document))]
    )
    session.execute(
        sa.insert(customer_scores).values(
            customer_id=b["id"], as_of=D1, components=document, computed_at=NOW
        )
    )
    for who in (a["id"], b["id"]):
        assert _stored_text(session, who) == compact(document)
        assert snapshot(session, D1)[who]["components"] == document
        assert scores.for_customer(session=session, customer_id=who)[0]["components"] == document


def test_a_document_stored_keyed_before_is_read_as_it_was(session: Session) -> None:
    """Rows written keyed by earlier versions (or a client's own document) read back
    unchanged."""
    a = customer(session)
    document = keyed_components()
    text: Any = sa.literal(json.dumps(document), sa.Text)  # past the column's type
    if session.get_bind().dialect.name == "postgresql":
        text = sa.cast(text, JSONB)
    session.execute(
        sa.insert(customer_scores).values(
            customer_id=a["id"], as_of=D1, components=text, computed_at=NOW
        )
    )
    assert _stored_text(session, a["id"]) == document
    assert scores.for_customer(session=session, customer_id=a["id"])[0]["components"] == document


def test_require_snapshot_names_the_dates_that_exist(session: Session) -> None:
    with pytest.raises(NotFound, match="no score snapshot"):
        scores.require_snapshot(session=session, as_of=D1)
    a = customer(session)
    scores.write_snapshot(session=session, as_of=D1, rows=[row(a["id"])])
    scores.write_snapshot(session=session, as_of=D3, rows=[row(a["id"])])
    assert scores.require_snapshot(session=session, as_of=None) == D3
    assert scores.require_snapshot(session=session, as_of=D1) == D1
    with pytest.raises(ValidationFailed) as info:
        scores.require_snapshot(session=session, as_of=D2, field="--from")
    assert info.value.field == "--from" and info.value.value == "2024-02-29"
    assert "2024-01-31, 2024-03-31 (2 in all)" in str(info.value)


def test_many_snapshot_dates_are_elided_in_the_middle() -> None:
    days = [D1 + dt.timedelta(days=n) for n in range(20)]
    with pytest.raises(ValidationFailed) as info:
        scores.check_snapshot_date(days, dt.date(2030, 1, 1))
    hint = str(info.value.hint)
    assert hint.startswith("snapshots exist on 2024-01-31, 2024-02-01, 2024-02-02, …, ")
    assert "2024-02-19 (20 in all)" in hint


def test_snapshot_dates_are_each_date_once_oldest_first(session: Session) -> None:
    assert scores.snapshot_dates(session=session) == []
    ids = [customer(session)["id"] for _ in range(3)]
    for day in (D3, D1, D2):  # written out of order, several rows each
        scores.write_snapshot(session=session, as_of=day, rows=[row(i) for i in ids])
    assert scores.snapshot_dates(session=session) == [D1, D2, D3]
    assert all(type(d) is dt.date for d in scores.snapshot_dates(session=session))


def test_snapshot_dates_step_down_the_index_instead_of_reading_every_row(
    sqlite_start: Path, tmp_path: Path
) -> None:
    """SQLite's plan: each step a search of the index on ``as_of``, no scan of the
    snapshots' rows (what the ``DISTINCT`` before did)."""
    path = tmp_path / "plan.db"
    shutil.copy(sqlite_start, path)
    engine = create_engine(f"sqlite:///{path}")
    try:
        sql = scores.dates_statement().compile(engine, compile_kwargs={"literal_binds": True})
        with engine.connect() as conn:
            plan = " | ".join(
                str(r[-1]) for r in conn.execute(sa.text(f"EXPLAIN QUERY PLAN {sql}"))
            )
    finally:
        engine.dispose()
    assert "SEARCH customer_scores USING COVERING INDEX ix_customer_scores_as_of" in plan, plan
    assert "SCAN customer_scores" not in plan, plan
