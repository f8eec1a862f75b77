"""``rapport.store.db.one_of``: a column among a list of values bound as one parameter
(PostgreSQL: an array; SQLite: the values listed, or one JSON array beyond
``SQLITE_LISTED``), on SQLite and PostgreSQL: the same rows as Python's ``in``."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from rapport.store import db, schema

from .factories import customer

_c = schema.customers.c


def _found(session: Session, column: sa.ColumnElement, values: list) -> set[int]:
    dialect = session.get_bind().dialect.name
    stmt = sa.select(_c.id).where(db.one_of(column, values, dialect=dialect))
    return set(session.execute(stmt).scalars())


@pytest.mark.parametrize("listed", [db.SQLITE_LISTED, 2])
def test_one_of_finds_the_rows_holding_a_listed_value(
    session: Session, monkeypatch: pytest.MonkeyPatch, listed: int
) -> None:
    monkeypatch.setattr(db, "SQLITE_LISTED", listed)
    made = [customer(session, name=name) for name in ("王芳", "李娜", "O'Brien", "100%")]
    ids = [row["id"] for row in made]
    numbers = [row["external_id"] for row in made]
    assert _found(session, _c.id, [*ids[:3], -1, 2**31 - 1]) == set(ids[:3])
    assert _found(session, _c.id, [ids[3]]) == {ids[3]}
    assert _found(session, _c.id, []) == set()
    assert _found(session, _c.external_id, [*numbers[1:], "nobody"]) == set(ids[1:])
    assert _found(session, _c.name, ["王芳", "100%", "O'Brien"]) >= {ids[0], ids[2], ids[3]}
    # the same condition twice in one statement: each list bound on its own
    dialect = session.get_bind().dialect.name
    both = sa.select(_c.id).where(
        db.one_of(_c.id, ids[:2], dialect=dialect), db.one_of(_c.id, ids[1:], dialect=dialect)
    )
    assert set(session.execute(both).scalars()) == {ids[1]}


def test_one_of_binds_the_list_as_one_parameter(session: Session) -> None:
    bind = session.get_bind()
    values = list(range(5))
    compiled = sa.select(_c.id).where(db.one_of(_c.id, values, dialect=bind.dialect.name))
    sql = str(compiled.compile(bind))
    if bind.dialect.name == "postgresql":
        assert "any(" in sql.lower() and sql.count("%(") == 1
    else:
        assert "json_each" not in sql  # up to SQLITE_LISTED, listed
        many = list(range(db.SQLITE_LISTED + 1))
        beyond = sa.select(_c.id).where(db.one_of(_c.id, many, dialect="sqlite"))
        assert "json_each" in str(beyond.compile(bind))
        assert session.execute(beyond.with_only_columns(sa.func.count())).scalar_one() >= 0
