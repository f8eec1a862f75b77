"""Programme tiers: each member's tier now, and the history of tier changes.

``loyalty_member_tiers`` holds one row per member evaluated: the tier, since when (local
date), the next review date, the end of a grace period running, the rolling basis when last
evaluated. ``loyalty_tier_changes`` records every change of tier (from, to, when, why:
initial, upgrade, downgrade, mapping). ``loyalty_tiers`` gains ``min_spend`` (the threshold
of rolling spend), NULL until the configured tiers are synced. Downgrading drops the two
tables and the column (the tiers are decided again by the next evaluation).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import rapport.store.types

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def _time() -> rapport.store.types.UTCDateTime:
    return rapport.store.types.UTCDateTime(timezone=True)


def _money() -> sa.Numeric:
    return sa.Numeric(precision=14, scale=2)


def upgrade() -> None:
    with op.batch_alter_table("loyalty_tiers", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "min_spend",
                _money(),
                nullable=True,
                comment="threshold of rolling spend; NULL until synced",
            )
        )
    op.create_table(
        "loyalty_member_tiers",
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column(
            "tier", sa.String(length=32), nullable=False, comment="a code of [[loyalty.tiers]]"
        ),
        sa.Column("since", sa.Date(), nullable=False, comment="local date the tier began"),
        sa.Column("review_on", sa.Date(), nullable=False, comment="the next review date (local)"),
        sa.Column(
            "grace_until",
            sa.Date(),
            nullable=True,
            comment="below the tier since a review: kept until",
        ),
        sa.Column(
            "basis_value", _money(), nullable=False, comment="the rolling basis when evaluated"
        ),
        sa.Column("evaluated_at", _time(), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_loyalty_member_tiers_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("customer_id", name=op.f("pk_loyalty_member_tiers")),
        comment="each member's programme tier now (docs/loyalty.md)",
    )
    with op.batch_alter_table("loyalty_member_tiers", schema=None) as batch_op:
        batch_op.create_index("ix_loyalty_member_tiers_tier", ["tier"], unique=False)
    op.create_table(
        "loyalty_tier_changes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column(
            "from_tier",
            sa.String(length=32),
            nullable=True,
            comment="NULL: the member's first tier",
        ),
        sa.Column("to_tier", sa.String(length=32), nullable=False),
        sa.Column(
            "reason",
            sa.Enum(
                "initial",
                "upgrade",
                "downgrade",
                "mapping",
                name="tier_change_reason",
                native_enum=False,
                create_constraint=True,
                length=17,
            ),
            nullable=False,
        ),
        sa.Column("changed_on", sa.Date(), nullable=False, comment="local date of the change"),
        sa.Column("changed_at", _time(), nullable=False),
        sa.Column("basis_value", _money(), nullable=False, comment="the rolling basis then"),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_loyalty_tier_changes_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_loyalty_tier_changes")),
        comment="the history of programme tier changes: initial, upgrade, downgrade, mapping",
    )
    with op.batch_alter_table("loyalty_tier_changes", schema=None) as batch_op:
        batch_op.create_index(
            "ix_loyalty_tier_changes_customer_id_changed_at",
            ["customer_id", "changed_at"],
            unique=False,
        )
        batch_op.create_index("ix_loyalty_tier_changes_changed_on", ["changed_on"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("loyalty_tier_changes", schema=None) as batch_op:
        batch_op.drop_index("ix_loyalty_tier_changes_changed_on")
        batch_op.drop_index("ix_loyalty_tier_changes_customer_id_changed_at")
    op.drop_table("loyalty_tier_changes")
    with op.batch_alter_table("loyalty_member_tiers", schema=None) as batch_op:
        batch_op.drop_index("ix_loyalty_member_tiers_tier")
    op.drop_table("loyalty_member_tiers")
    with op.batch_alter_table("loyalty_tiers", schema=None) as batch_op:
        batch_op.drop_column("min_spend")
