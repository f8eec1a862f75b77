"""Alembic environment: runs the packaged migrations against the engine Rapport passes in."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context

from rapport.store.db import create_engine, sqlite_foreign_keys
from rapport.store.schema import metadata

config = context.config


def run_migrations() -> None:
    engine = config.attributes.get("engine") or create_engine(
        config.get_main_option("sqlalchemy.url")
    )
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # SQLite changes a table by copying it into a new one and dropping the old
            # (batch mode). With foreign keys on, that drop would cascade into the rows
            # referring to it; SQLite's own procedure turns them off around the change
            # (outside any transaction) and checks every reference afterwards.
            sqlite_foreign_keys(connection, on=False)
        try:
            context.configure(
                connection=connection,
                target_metadata=metadata,
                render_as_batch=sqlite,
                compare_type=True,
            )
            with context.begin_transaction():
                context.run_migrations()
                if sqlite:
                    _check_references(connection)
        finally:
            if sqlite:
                sqlite_foreign_keys(connection, on=True)


def _check_references(connection: sa.Connection) -> None:
    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchmany(5)
    if broken:
        raise RuntimeError(f"the migration broke foreign keys (table, rowid, parent): {broken}")


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported; run `rapport init`")
run_migrations()
