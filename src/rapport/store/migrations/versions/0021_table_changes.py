"""A count of each copied table's changed rows, so the scoring run refreshes its copy.

The scoring run copies the columns it reads into a DuckDB file of its own
(:mod:`rapport.analytics.working_copy`): at 1,000,000 customers, 72 million rows read
through SQLite, 12–31 s of a run. Most of a store is appended to and never changed (the
events, the interactions, the ledger), so the copy is kept between runs and refreshed from
what changed: the rows added since (their ids are above the highest one copied, as a store
gives a new row the next id) and, for a table where any row was changed or deleted since,
the whole table again.

``table_changes`` holds one row per table the run copies: ``changes``, a count that
triggers on SQLite raise with every row updated or deleted (a foreign key's cascade
included; the loyalty ledger refuses both), and ``since``, a random key given when the row is made, so a store made again
at the same path is never taken for the one copied. On PostgreSQL the table is made alike
but has no triggers: ids there are handed out before their transactions commit, in any
order, so a row may appear below the highest id copied, and the run copies a PostgreSQL
store whole every time.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

#: The tables the scoring run copies (``rapport.analytics.working_copy.READ`` when this
#: migration was written; a table the run copies without a row here is copied whole).
TABLES = (
    "customers",
    "orders",
    "order_items",
    "products",
    "events",
    "interactions",
    "tickets",
    "survey_responses",
    "referrals",
    "campaigns",
    "campaign_deliveries",
    "loyalty_ledger",
)
#: Tables whose own triggers refuse every update and delete (append-only, migration 0007):
#: their count stays 0 without triggers of this migration.
APPEND_ONLY = ("loyalty_ledger",)


def upgrade() -> None:
    table = op.create_table(
        "table_changes",
        sa.Column("table_name", sa.String(64), primary_key=True),
        sa.Column(
            "changes",
            sa.Integer,
            nullable=False,
            comment="rows updated or deleted since the row was made (SQLite: by triggers)",
        ),
        sa.Column(
            "since",
            sa.String(32),
            nullable=False,
            comment="a random key given with the row: another store has another",
        ),
        comment="per table the scoring run copies, a count of its changed rows "
        "(migration 0021): the run refreshes its copy from what changed",
    )
    sqlite = op.get_context().dialect.name == "sqlite"
    since = "lower(hex(randomblob(16)))" if sqlite else "md5(random()::text || clock_timestamp())"
    for name in TABLES:
        op.execute(
            f"INSERT INTO {table.name} (table_name, changes, since) VALUES ('{name}', 0, {since})"
        )
        if not sqlite or name in APPEND_ONLY:
            continue
        for event in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {name}_changes_{event.lower()} AFTER {event} ON {name} BEGIN "
                f"UPDATE {table.name} SET changes = changes + 1 WHERE table_name = '{name}'; END"
            )


def downgrade() -> None:
    if op.get_context().dialect.name == "sqlite":
        for name in (t for t in TABLES if t not in APPEND_ONLY):
            for event in ("update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {name}_changes_{event}")
    op.drop_table("table_changes")
