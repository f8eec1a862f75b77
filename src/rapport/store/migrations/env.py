"""Alembic environment: runs the packaged migrations against the engine Rapport passes in."""

from __future__ import annotations

from alembic import context

from rapport.store.db import create_engine
from rapport.store.schema import metadata

config = context.config


def run_migrations() -> None:
    engine = config.attributes.get("engine") or create_engine(
        config.get_main_option("sqlalchemy.url")
    )
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported; run `rapport init`")
run_migrations()
