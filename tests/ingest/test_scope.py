"""An import with a row-level scope touches only what its uploader may see."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from rapport.ingest.importer import import_file
from rapport.ingest.scope import ImportScope
from rapport.store import schema
from tests.ingest.test_importer import write_csv

u, c, ld = schema.users, schema.customers, schema.leads
TEAM_A = sa.select(u.c.id).where(u.c.team == "A").scalar_subquery()
#: a manager of team A: team A's customers and leads and unowned ones; owners of team A
MANAGER_A = ImportScope(
    customers=sa.or_(c.c.owner_id.is_(None), c.c.owner_id.in_(TEAM_A)),
    owners=u.c.id.in_(TEAM_A),
    leads=sa.or_(ld.c.owner_id.is_(None), ld.c.owner_id.in_(TEAM_A)),
)


@pytest.fixture
def store(fresh_engine: Engine, tmp_path: Path) -> Engine:
    staff = [
        ["username", "display_name", "role", "team"],
        ["ma", "经理A", "manager", "A"],
        ["sa", "销售A", "sales", "A"],
        ["sb", "销售B", "sales", "B"],
    ]
    import_file("users", write_csv(tmp_path / "u.csv", staff), engine=fresh_engine)
    people = [
        ["external_id", "name", "owner_username"],
        ["CA", "甲", "sa"],
        ["CB", "乙", "sb"],
        ["CU", "丙", ""],
    ]
    import_file("customers", write_csv(tmp_path / "c.csv", people), engine=fresh_engine)
    orders = [
        ["external_id", "customer_external_id", "ordered_at", "net_amount"],
        ["OB", "CB", "2024-03-01", "10.00"],
    ]
    import_file("orders", write_csv(tmp_path / "o.csv", orders), engine=fresh_engine)
    return fresh_engine


def _owners(engine: Engine) -> dict[str, tuple[str | None, str | None]]:
    stmt = sa.select(c.c.external_id, c.c.name, u.c.username).join_from(
        c, u, c.c.owner_id == u.c.id, isouter=True
    )
    with engine.connect() as conn:
        return {r.external_id: (r.name, r.username) for r in conn.execute(stmt)}


def test_customers_in_scope_change_and_others_are_refused(store: Engine, tmp_path: Path) -> None:
    rows = [
        ["external_id", "name", "owner_username"],
        ["CA", "甲改", "sa"],  # in scope: updated
        ["CB", "乙改", "sa"],  # another team's customer: refused
        ["CU", "丙改", "sb"],  # given to another team's user: refused like an unknown user
        ["CN", "丁", "sa"],  # new, given to the team: inserted
        ["CM", "戊", "sb"],  # new, given to another team: refused
    ]
    report = import_file(
        "customers", write_csv(tmp_path / "in.csv", rows), engine=store, scope=MANAGER_A
    )
    assert (report.inserted, report.updated, report.rejected) == (1, 1, 3), report
    assert report.adds_up
    owners = _owners(store)
    assert owners["CA"] == ("甲改", "sa") and owners["CN"] == ("丁", "sa")
    assert owners["CB"] == ("乙", "sb") and owners["CU"] == ("丙", None)
    assert "CM" not in owners
    reasons = " | ".join(report.reject_reasons)
    assert "outside your scope" in reasons and "no users row with username" in reasons


def test_orders_attach_only_to_customers_in_scope(store: Engine, tmp_path: Path) -> None:
    rows = [
        ["external_id", "customer_external_id", "ordered_at", "net_amount"],
        ["O1", "CA", "2024-03-02", "5.00"],  # in scope
        ["O2", "CB", "2024-03-02", "5.00"],  # another team's customer: like an unknown one
        ["OB", "CA", "2024-03-01", "10.00"],  # another team's order moved to CA: refused
    ]
    report = import_file(
        "orders", write_csv(tmp_path / "o2.csv", rows), engine=store, scope=MANAGER_A
    )
    assert (report.inserted, report.updated, report.rejected) == (1, 0, 2), report
    with store.connect() as conn:
        got = dict(
            conn.execute(
                sa.select(schema.orders.c.external_id, c.c.external_id).join_from(schema.orders, c)
            ).all()
        )
    assert got == {"O1": "CA", "OB": "CB"}
    assert report.reject_reasons == {
        "no customers row with external_id 'CB'": 1,
        "external_id 'OB' is used by a record outside your scope": 1,
    }


def test_without_a_scope_everything_is_reachable(store: Engine, tmp_path: Path) -> None:
    rows = [["external_id", "name", "owner_username"], ["CB", "乙改", "sa"]]
    report = import_file("customers", write_csv(tmp_path / "all.csv", rows), engine=store)
    assert report.updated == 1
    assert _owners(store)["CB"] == ("乙改", "sa")
