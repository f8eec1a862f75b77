"""The Alembic migrations build exactly the canonical schema, and take it down again."""

from __future__ import annotations

import contextlib
import datetime as dt
import warnings
from collections.abc import Iterator
from functools import partial
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import Engine

from rapport.errors import StoreUnavailable
from rapport.store.db import (
    create_engine,
    current_revision,
    downgrade,
    ensure_current,
    head_revision,
    upgrade,
)
from rapport.store.schema import SQLITE_SEARCH_INDEX, metadata

LEDGER_TRIGGER_MESSAGE = "append-only"


@pytest.fixture
def bare_engine(empty_url: str) -> Iterator[Engine]:
    eng = create_engine(empty_url)
    yield eng
    eng.dispose()


@contextlib.contextmanager
def _expression_indexes_unreflected() -> Iterator[None]:
    """SQLite cannot reflect the indexes on an expression (the birthday's month and day):
    its comparison leaves them out (test_worklist_indexes_come_with_0012… checks them)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Skipped unsupported reflection of expression-based")
        warnings.filterwarnings("ignore", "autogenerate skipping metadata-specified expression")
        yield


def _schema_diff(engine: Engine) -> list:
    with engine.connect() as conn, _expression_indexes_unreflected():
        context = MigrationContext.configure(
            conn,
            opts={
                "compare_type": True,
                "compare_server_default": True,
                "include_object": partial(_declared_for, engine.dialect.name),
            },
        )
        # The filters: an object declared for one backend alone (``ddl_if``, PostgreSQL's
        # trigram index) is compared there alone; SQLite's full-text index of the search
        # (virtual tables and theirs, outside the metadata) is checked on its own below.
        # Neither backend reports comment or type noise for this schema (comments and the
        # UTCDateTime/JSONB variants compare equal), so any difference is a real one.
        return compare_metadata(context, metadata)


def _declared_for(dialect: str, obj: Any, name: Any, kind: str, reflected: bool, _: Any) -> bool:
    if kind == "table" and reflected and _search_index_table(name):
        return False
    only = getattr(obj, "_ddl_if", None)
    return only is None or only.dialect is None or only.dialect == dialect


def _search_index_table(name: str) -> bool:
    return name.startswith(SQLITE_SEARCH_INDEX)


def _tables(engine: Engine) -> set[str]:
    """The store's tables, SQLite's full-text index of the search apart."""
    return {t for t in sa.inspect(engine).get_table_names() if not _search_index_table(t)}


def _triggers(engine: Engine, table: str | None = None) -> set[str]:
    """The store's triggers (of ``table`` alone when given)."""
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            rows = conn.execute(
                sa.text(
                    "SELECT name FROM sqlite_master WHERE type = 'trigger' "
                    "AND (:table IS NULL OR tbl_name = :table)"
                ),
                {"table": table},
            ).scalars()
        else:
            rows = conn.execute(
                sa.text(
                    "SELECT t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                    "WHERE NOT t.tgisinternal AND (CAST(:table AS text) IS NULL "
                    "OR c.relname = :table)"
                ),
                {"table": table},
            ).scalars()
        return set(rows)


def _ledger_functions(engine: Engine) -> set[str]:
    if engine.dialect.name == "sqlite":
        return set()
    with engine.connect() as conn:
        return set(
            conn.exec_driver_sql(
                "SELECT p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
                "WHERE n.nspname = 'public' AND NOT EXISTS (SELECT 1 FROM pg_depend d "
                "WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')"
            ).scalars()
        )


def test_upgrade_downgrade_upgrade(bare_engine: Engine) -> None:
    assert current_revision(bare_engine) is None

    upgrade(bare_engine)
    assert current_revision(bare_engine) == head_revision(bare_engine)
    assert _tables(bare_engine) == set(metadata.tables) | {"alembic_version"}
    assert _triggers(bare_engine)

    downgrade(bare_engine)
    assert current_revision(bare_engine) is None
    assert set(sa.inspect(bare_engine).get_table_names()) == {"alembic_version"}
    assert _triggers(bare_engine) == set()
    assert _ledger_functions(bare_engine) == set()

    upgrade(bare_engine)
    assert current_revision(bare_engine) == head_revision(bare_engine)
    assert _tables(bare_engine) == set(metadata.tables) | {"alembic_version"}
    assert _schema_diff(bare_engine) == []


def test_ensure_current_refuses_an_uninitialised_database(bare_engine: Engine) -> None:
    with pytest.raises(StoreUnavailable, match="not initialised"):
        ensure_current(bare_engine)
    upgrade(bare_engine)
    ensure_current(bare_engine)


def test_migrated_schema_matches_metadata(fresh_engine: Engine) -> None:
    assert _schema_diff(fresh_engine) == []


def test_every_table_and_column_of_metadata_exists(fresh_engine: Engine) -> None:
    inspector = sa.inspect(fresh_engine)
    for table in metadata.sorted_tables:
        columns = {c["name"]: c for c in inspector.get_columns(table.name)}
        assert set(columns) == set(table.c.keys()), table.name
        for column in table.c:
            assert columns[column.name]["nullable"] == column.nullable, (
                f"{table.name}.{column.name}"
            )


def test_check_constraints_of_metadata_exist(fresh_engine: Engine) -> None:
    # compare_metadata does not look at CHECK constraints; they carry the enums and ranges.
    inspector = sa.inspect(fresh_engine)
    for table in metadata.sorted_tables:
        expected = {
            c.name for c in table.constraints if isinstance(c, sa.CheckConstraint) and c.name
        }
        found = {c["name"] for c in inspector.get_check_constraints(table.name)}
        assert expected <= found, (table.name, expected - found)


def test_foreign_keys_keep_their_delete_rules(fresh_engine: Engine) -> None:
    inspector = sa.inspect(fresh_engine)
    for table in metadata.sorted_tables:
        found = {
            (tuple(fk["constrained_columns"]), fk["referred_table"]): (
                (fk.get("options") or {}).get("ondelete") or None
            )
            for fk in inspector.get_foreign_keys(table.name)
        }
        for fk in table.foreign_keys:
            key = ((fk.parent.name,), fk.column.table.name)
            assert key in found, (table.name, key)
            expected = fk.ondelete.upper() if fk.ondelete else None
            actual = found[key].upper() if found[key] else None
            # PostgreSQL reports the default rule as NO ACTION, SQLite as nothing.
            assert (actual or "NO ACTION") == (expected or "NO ACTION"), (table.name, key)


def _ledger_row(conn: sa.Connection) -> int:
    customers = metadata.tables["customers"]
    ledger = metadata.tables["loyalty_ledger"]
    now = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    customer_id = conn.execute(
        sa.insert(customers)
        .values(external_id="C-ledger", created_at=now, updated_at=now)
        .returning(customers.c.id)
    ).scalar_one()
    return conn.execute(
        sa.insert(ledger)
        .values(customer_id=customer_id, points=100, reason="bonus", occurred_at=now)
        .returning(ledger.c.id)
    ).scalar_one()


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE loyalty_ledger SET points = 1 WHERE id = :id",
        "DELETE FROM loyalty_ledger WHERE id = :id",
    ],
    ids=["update", "delete"],
)
def test_ledger_triggers_refuse_update_and_delete(fresh_engine: Engine, statement: str) -> None:
    with fresh_engine.begin() as conn:
        entry_id = _ledger_row(conn)
    with (
        pytest.raises(sa.exc.DBAPIError, match=LEDGER_TRIGGER_MESSAGE),
        fresh_engine.begin() as conn,
    ):
        conn.execute(sa.text(statement), {"id": entry_id})
    with fresh_engine.connect() as conn:
        points = conn.execute(
            sa.text("SELECT points FROM loyalty_ledger WHERE id = :id"), {"id": entry_id}
        ).scalar_one()
    assert points == 100


def test_ledger_accepts_inserts_after_a_refused_update(fresh_engine: Engine) -> None:
    with fresh_engine.begin() as conn:
        entry_id = _ledger_row(conn)
    with pytest.raises(sa.exc.DBAPIError), fresh_engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM loyalty_ledger WHERE id = :id"), {"id": entry_id})
    with fresh_engine.begin() as conn:
        customer_id = conn.execute(
            sa.text("SELECT customer_id FROM loyalty_ledger WHERE id = :id"), {"id": entry_id}
        ).scalar_one()
        conn.execute(
            sa.insert(metadata.tables["loyalty_ledger"]).values(
                customer_id=customer_id,
                points=-100,
                reason="adjust",
                occurred_at=dt.datetime(2024, 1, 2, tzinfo=dt.UTC),
            )
        )
        total = conn.execute(sa.text("SELECT SUM(points) FROM loyalty_ledger")).scalar_one()
    assert total == 0


def test_schema_comparison_detects_a_drift(fresh_engine: Engine) -> None:
    drifted = sa.MetaData(naming_convention=metadata.naming_convention)
    for table in metadata.sorted_tables:
        table.to_metadata(drifted)
    drifted.tables["customers"].append_column(sa.Column("nickname", sa.String(32)))
    drifted.remove(drifted.tables["audit_log"])
    with fresh_engine.connect() as conn, _expression_indexes_unreflected():
        diff = compare_metadata(MigrationContext.configure(conn), drifted)
    kinds = {(d[0], getattr(d[-1], "name", None)) for d in diff if isinstance(d, tuple)}
    assert ("add_column", "nickname") in kinds
    assert ("remove_table", "audit_log") in kinds


def test_widening_order_statuses_keeps_every_row_and_reference(bare_engine: Engine) -> None:
    # 0004 rebuilds orders and interactions on SQLite: rows pointing at them (order items,
    # with ON DELETE CASCADE) must survive the rebuild, and the new values be accepted.
    upgrade(bare_engine, "0004-1")
    now = dt.datetime(2024, 5, 1, tzinfo=dt.UTC)
    with bare_engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO customers (id, external_id, country, marketing_consent, "
            "marketing_opt_out, created_at, updated_at) VALUES (1, 'C1', 'CN', false, false, "
            ":t, :t)".replace(":t", f"'{now.isoformat()}'")
        )
        conn.exec_driver_sql(
            "INSERT INTO products (id, sku, name, currency, is_active, created_at, updated_at) "
            f"VALUES (1, 'P1', 'tea', 'CNY', true, '{now.isoformat()}', '{now.isoformat()}')"
        )
        conn.exec_driver_sql(
            "INSERT INTO orders (id, external_id, customer_id, status, ordered_at, "
            "discount_amount, refunded_amount, net_amount, currency, created_at, updated_at) "
            f"VALUES (1, 'O1', 1, 'completed', '{now.isoformat()}', 0, 0, 10, 'CNY', "
            f"'{now.isoformat()}', '{now.isoformat()}')"
        )
        conn.exec_driver_sql(
            "INSERT INTO order_items (order_id, line_no, product_id, quantity, unit_price, "
            "net_amount) VALUES (1, 1, 1, 1, 10, 10)"
        )
    upgrade(bare_engine)
    with bare_engine.begin() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM order_items").scalar_one() == 1
        conn.exec_driver_sql("UPDATE orders SET status = 'shipped' WHERE id = 1")
        with pytest.raises(sa.exc.IntegrityError), conn.begin_nested():
            conn.exec_driver_sql("UPDATE orders SET status = 'lost in the post' WHERE id = 1")
    downgrade(bare_engine, "0004-1")
    with bare_engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT status FROM orders").scalar_one() == "completed"
        assert conn.exec_driver_sql("SELECT count(*) FROM order_items").scalar_one() == 1


def test_import_jobs_come_with_0005_and_go_with_its_downgrade(bare_engine: Engine) -> None:
    upgrade(bare_engine, "0004")
    assert "import_jobs" not in sa.inspect(bare_engine).get_table_names()
    upgrade(bare_engine, "0005")
    inspector = sa.inspect(bare_engine)
    assert "import_jobs" in inspector.get_table_names()
    assert {i["name"] for i in inspector.get_indexes("import_jobs")} == {
        "ix_import_jobs_submitted_at",
        "ix_import_jobs_submitted_by_id",
    }
    now = dt.datetime(2024, 5, 1, tzinfo=dt.UTC).isoformat()
    with bare_engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO users (id, username, display_name, role, is_active, created_at, "
            "updated_at) "
            f"VALUES (1, 'admin', 'Admin', 'admin', true, '{now}', '{now}')"
        )
        insert = (
            "INSERT INTO import_jobs (id, entity, file, directory, size, strict, submitted_by, "
            "submitted_by_id, submitted_at, status, heartbeat_at) VALUES "
            "('{id}', 'customers', 'c.csv', '/tmp/x', 10, false, 'admin', 1, '{t}', '{s}', '{t}')"
        )
        conn.exec_driver_sql(insert.format(id="a" * 32, t=now, s="queued"))
        with pytest.raises(sa.exc.IntegrityError), conn.begin_nested():
            conn.exec_driver_sql(insert.format(id="b" * 32, t=now, s="lost"))
    downgrade(bare_engine, "0004")
    assert current_revision(bare_engine) == "0004"
    assert "import_jobs" not in sa.inspect(bare_engine).get_table_names()


def test_0006_moves_the_notes_out_of_extra_and_its_downgrade_puts_them_back(
    bare_engine: Engine,
) -> None:
    upgrade(bare_engine, "0005")
    now = dt.datetime(2024, 5, 1, tzinfo=dt.UTC).isoformat()
    valid = {"at": "2024-05-02T08:00:00+00:00", "by": 1, "text": "回访:对新品感兴趣"}
    gone_author = {"at": "2024-05-03T08:00:00+00:00", "by": 99, "text": "second"}
    not_a_note = {"text": "  "}
    extras = {
        1: {"会员卡号": "M-1", "notes": [valid, gone_author, not_a_note]},
        2: {"notes": [valid]},
        3: {"会员卡号": "M-3", "remarks": "notes are elsewhere"},
        4: None,
    }
    with bare_engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO users (id, username, display_name, role, is_active, created_at, "
            f"updated_at) VALUES (1, 'wang', 'Wang', 'sales', true, '{now}', '{now}')"
        )
        for cid, extra in extras.items():
            conn.execute(
                sa.text(
                    "INSERT INTO customers (id, external_id, country, marketing_consent, "
                    "marketing_opt_out, extra, created_at, updated_at) VALUES "
                    "(:id, :ext, 'CN', false, false, :extra, :t, :t)"
                ).bindparams(
                    sa.bindparam("extra", type_=metadata.tables["customers"].c.extra.type)
                ),
                {"id": cid, "ext": f"C{cid}", "extra": extra, "t": now},
            )
    upgrade(bare_engine, "0006")
    inspector = sa.inspect(bare_engine)
    assert {i["name"] for i in inspector.get_indexes("customer_notes")} == {
        "ix_customer_notes_customer_id_created_at"
    }
    customers = metadata.tables["customers"]
    notes = metadata.tables["customer_notes"]
    with bare_engine.connect() as conn:
        moved = conn.execute(
            sa.select(
                notes.c.customer_id, notes.c.author_id, notes.c.body, notes.c.created_at
            ).order_by(notes.c.customer_id, notes.c.created_at)
        ).all()
        extra = dict(conn.execute(sa.select(customers.c.id, customers.c.extra)).all())
    assert [tuple(r) for r in moved] == [
        (1, 1, "回访:对新品感兴趣", dt.datetime(2024, 5, 2, 8, tzinfo=dt.UTC)),
        (1, None, "second", dt.datetime(2024, 5, 3, 8, tzinfo=dt.UTC)),
        (2, 1, "回访:对新品感兴趣", dt.datetime(2024, 5, 2, 8, tzinfo=dt.UTC)),
    ]
    assert extra == {
        1: {"会员卡号": "M-1", "notes": [not_a_note]},  # what is no note stays
        2: None,
        3: extras[3],
        4: None,
    }
    with bare_engine.begin() as conn, pytest.raises(sa.exc.IntegrityError):
        conn.execute(
            sa.insert(notes).values(customer_id=3, body="", created_at=dt.datetime.now(dt.UTC))
        )

    downgrade(bare_engine, "0005")
    assert "customer_notes" not in sa.inspect(bare_engine).get_table_names()
    with bare_engine.connect() as conn:
        extra = dict(conn.execute(sa.select(customers.c.id, customers.c.extra)).all())
    assert extra[1] == {
        "会员卡号": "M-1",
        "notes": [not_a_note, valid, {**gone_author, "by": None}],
    }
    assert extra[2] == {"notes": [valid]}
    assert extra[3] == extras[3] and extra[4] is None


def test_0007_keeps_the_ledger_and_its_guards_and_accepts_clawbacks(bare_engine: Engine) -> None:
    # 0007 rebuilds loyalty_ledger on SQLite: its rows stay, the append-only triggers are
    # back afterwards, and clawback entries with an available_at are accepted.
    upgrade(bare_engine, "0006")
    now = dt.datetime(2024, 5, 1, tzinfo=dt.UTC).isoformat()
    with bare_engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO customers (id, external_id, country, marketing_consent, "
            f"marketing_opt_out, created_at, updated_at) VALUES (1, 'C1', 'CN', false, false, "
            f"'{now}', '{now}')"
        )
        conn.exec_driver_sql(
            "INSERT INTO loyalty_ledger (customer_id, points, reason, reference, occurred_at) "
            f"VALUES (1, 120, 'purchase', 'order:O1', '{now}')"
        )
    before = _triggers(bare_engine, "loyalty_ledger")
    upgrade(bare_engine)
    assert _triggers(bare_engine, "loyalty_ledger") == before
    with bare_engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO loyalty_ledger (customer_id, points, reason, reference, occurred_at, "
            f"available_at) VALUES (1, -20, 'clawback', 'order:O1', '{now}', '{now}')"
        )
        assert conn.exec_driver_sql("SELECT sum(points) FROM loyalty_ledger").scalar_one() == 100
        with pytest.raises(sa.exc.DBAPIError), conn.begin_nested():
            conn.exec_driver_sql("DELETE FROM loyalty_ledger")
        with pytest.raises(sa.exc.IntegrityError), conn.begin_nested():
            conn.exec_driver_sql(
                "INSERT INTO loyalty_ledger (customer_id, points, reason, occurred_at) "
                f"VALUES (1, 5, 'lottery', '{now}')"
            )
    with pytest.raises(RuntimeError, match="clawback"):
        downgrade(bare_engine, "0006")


def _indexes(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            sql = "SELECT name FROM sqlite_master WHERE type = 'index'"
        else:
            sql = "SELECT indexname FROM pg_indexes WHERE schemaname = 'public'"
        return set(conn.exec_driver_sql(sql).scalars())


WORKLIST_INDEXES = {
    "ix_customers_birthday_md",
    "ix_customers_owner_id_birthday_md",
    "ix_customer_scores_as_of_predicted_clv",
}


def test_worklist_indexes_come_with_0012_over_existing_customers(bare_engine: Engine) -> None:
    # 0012 indexes the birthdays already in the store; those written after are the index's
    # expression of the new date
    from rapport.store.schema import birthday_md, customers

    upgrade(bare_engine, "0011")
    assert not WORKLIST_INDEXES & _indexes(bare_engine)
    now = dt.datetime(2024, 5, 1, tzinfo=dt.UTC).isoformat()
    born = {1: "1990-03-14", 2: "1984-02-29", 3: None, 4: "2001-12-31"}
    with bare_engine.begin() as conn:
        for cid, day in born.items():
            conn.execute(
                sa.text(
                    "INSERT INTO customers (id, external_id, country, marketing_consent, "
                    "marketing_opt_out, birthday, created_at, updated_at) VALUES "
                    "(:id, :ext, 'CN', false, false, :born, :t, :t)"
                ),
                {"id": cid, "ext": f"C{cid}", "t": now, "born": day and dt.date.fromisoformat(day)},
            )
    upgrade(bare_engine, "0012")
    assert _indexes(bare_engine) >= WORKLIST_INDEXES
    with bare_engine.begin() as conn:
        conn.execute(
            customers.update().where(customers.c.id == 3).values(birthday=dt.date(1975, 3, 14))
        )
        conn.execute(
            customers.update().where(customers.c.id == 1).values(birthday=dt.date(1990, 3, 15))
        )
        found = dict(conn.execute(sa.select(customers.c.id, birthday_md)).all())
        assert found == {1: 315, 2: 229, 3: 314, 4: 1231}
        on = sa.select(customers.c.id).where(birthday_md.in_([314, 229])).order_by(customers.c.id)
        assert conn.execute(on).scalars().all() == [2, 3]
    downgrade(bare_engine, "0011")
    assert not WORKLIST_INDEXES & _indexes(bare_engine)


def test_the_snapshot_reports_index_comes_with_0015_in_place_of_the_as_of_index(
    bare_engine: Engine,
) -> None:
    # 0015 indexes the snapshots already in the store; its downgrade puts the index on
    # as_of back
    from rapport.store.schema import customer_scores

    upgrade(bare_engine, "0014")
    assert "ix_customer_scores_as_of" in _indexes(bare_engine)
    now = dt.datetime(2024, 5, 1, tzinfo=dt.UTC).isoformat()
    with bare_engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO customers (id, external_id, country, marketing_consent, "
                "marketing_opt_out, created_at, updated_at) VALUES (1, 'C1', 'CN', false, "
                "false, :t, :t)"
            ),
            {"t": now},
        )
        conn.execute(
            sa.text(
                "INSERT INTO customer_scores (customer_id, as_of, value_tier, loyalty, "
                "computed_at) VALUES (1, :day, 'gold', 40, :t)"
            ),
            {"day": dt.date(2024, 4, 30), "t": now},
        )
    upgrade(bare_engine, "0015")
    found = _indexes(bare_engine)
    assert "ix_customer_scores_as_of_reports" in found
    assert "ix_customer_scores_as_of" not in found
    with bare_engine.connect() as conn:
        s = customer_scores.c
        day = s.as_of == dt.date(2024, 4, 30)
        assert [tuple(r) for r in conn.execute(sa.select(s.value_tier, s.loyalty).where(day))] == [
            ("gold", 40.0)
        ]
    downgrade(bare_engine, "0014")
    found = _indexes(bare_engine)
    assert "ix_customer_scores_as_of" in found
    assert "ix_customer_scores_as_of_reports" not in found


def test_0017_fills_the_churn_source_of_the_snapshots_already_stored(bare_engine: Engine) -> None:
    # the column holds the components document's churn.source, and none without a risk;
    # the downgrade drops it and its index, and 0018's list indexes come and go with it
    from rapport.store.schema import customer_scores

    upgrade(bare_engine, "0016")
    now = dt.datetime(2024, 5, 1, tzinfo=dt.UTC)
    day = dt.date(2024, 4, 30)
    documents: dict[int, tuple[float | None, dict | None]] = {
        1: (0.8, {"churn": {"source": "classifier", "reasons": []}}),
        2: (0.3, {"churn": {"source": "mbgnbd"}, "prediction": {"clv_low": 1.0}}),
        3: (None, {"rfm": {"r": 2}}),
        4: (None, None),
    }
    with bare_engine.begin() as conn:
        for i in documents:
            conn.execute(
                sa.text(
                    "INSERT INTO customers (id, external_id, country, marketing_consent, "
                    "marketing_opt_out, created_at, updated_at) VALUES (:i, :e, 'CN', false, "
                    "false, :t, :t)"
                ),
                {"i": i, "e": f"C{i}", "t": now.isoformat()},
            )
        s = customer_scores.c
        for i, (risk, doc) in documents.items():
            conn.execute(
                sa.insert(customer_scores).values(
                    {s.customer_id: i, s.as_of: day, s.churn_risk: risk, s.components: doc}
                    | {s.computed_at: now}
                )
            )
    upgrade(bare_engine, "0018")
    found = _indexes(bare_engine)
    assert {
        "ix_customer_scores_as_of_churn_risk",
        "ix_customer_scores_as_of_relationship_index",
        "ix_customers_name_key",
        "ix_customers_owner_id_name_key",
    } <= found
    with bare_engine.connect() as conn:
        s = customer_scores.c
        stored = dict(conn.execute(sa.select(s.customer_id, s.churn_source)).all())
    assert stored == {1: "classifier", 2: "mbgnbd", 3: None, 4: None}
    downgrade(bare_engine, "0016")
    assert "ix_customer_scores_as_of_churn_risk" not in _indexes(bare_engine)
    assert "ix_customers_name_key" not in _indexes(bare_engine)
    columns = {c["name"] for c in sa.inspect(bare_engine).get_columns("customer_scores")}
    assert "churn_source" not in columns and "churn_risk" in columns


def test_0019_fills_the_searched_text_of_the_customers_stored(bare_engine: Engine) -> None:
    # every stored customer gets a row of customer_search (lower-cased fields joined by the
    # unit separator, the tags' JSON text), the triggers keep it from then on, and the
    # downgrade takes table, triggers and function away
    upgrade(bare_engine, "0018")
    now = dt.datetime(2024, 5, 1, tzinfo=dt.UTC).isoformat()
    pg = bare_engine.dialect.name == "postgresql"
    tags_value = "CAST(:tags AS jsonb)" if pg else ":tags"
    with bare_engine.begin() as conn:
        for i, name, phone, tags in (
            (1, "Wang 王芳", "+8613812345678", '["VIP", "老客户"]'),
            (2, None, None, None),
        ):
            conn.execute(
                sa.text(
                    "INSERT INTO customers (id, external_id, name, phone, tags, country, "
                    "marketing_consent, marketing_opt_out, created_at, updated_at) VALUES "
                    f"(:i, :e, :n, :p, {tags_value}, 'CN', false, false, :t, :t)"
                ),
                {"i": i, "e": f"C{i}", "n": name, "p": phone, "t": now, "tags": tags},
            )
    upgrade(bare_engine, "0019")
    with bare_engine.connect() as conn:
        docs = dict(conn.exec_driver_sql("SELECT customer_id, doc FROM customer_search").all())
        tags_text = conn.exec_driver_sql("SELECT CAST(tags AS TEXT) FROM customers WHERE id = 1")
        written = tags_text.scalar_one().lower()
    assert docs == {
        1: "".join(f"{v}\x1f" for v in ["wang 王芳", "+8613812345678", "", "c1", written]),
        2: "\x1f\x1f\x1fc2\x1f\x1f",
    }
    with bare_engine.begin() as conn:
        conn.exec_driver_sql("UPDATE customers SET name = 'Li' WHERE id = 2")
        assert (
            conn.exec_driver_sql(
                "SELECT doc FROM customer_search WHERE customer_id = 2"
            ).scalar_one()
            == "li\x1f\x1f\x1fc2\x1f\x1f"
        )
    assert _triggers(bare_engine, "customers") == (
        {"customers_search"}
        if pg
        else {"customers_search_insert", "customers_search_update", "customers_search_delete"}
    )
    downgrade(bare_engine, "0018")
    assert "customer_search" not in sa.inspect(bare_engine).get_table_names()
    assert _triggers(bare_engine, "customers") == set()
    assert "customers_search_doc" not in _ledger_functions(bare_engine)
