"""The table ``kept_reports``: snapshot reports computed ahead, shared by every process.

The pages' snapshot reports (tiers, stages, segments, the RFM grid, the CLV distribution,
the degrees' correlations, movements, diamonds, churn warnings, the headline history) are
written here by the scoring run right after its snapshot and by any server process that
computes one (:mod:`rapport.store.kept_reports`), so the first request after a new
snapshot, a restart or in another worker reads them instead of scanning the snapshot
(tens of seconds at 1,000,000 customers). A cache: nothing else reads it, and emptying it
loses nothing.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import rapport.store.types

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "kept_reports",
        sa.Column("key", sa.String(64), primary_key=True, comment="SHA-256 of the report's key"),
        sa.Column("as_of", sa.Date, nullable=False, comment="the snapshot the report reads"),
        sa.Column("report", sa.String(64), nullable=False, comment="which report"),
        sa.Column(
            "generation",
            sa.String(64),
            nullable=False,
            comment="SHA-256 of the snapshot's and the customers' state it was computed in",
        ),
        sa.Column("payload", sa.Text, nullable=False, comment="the result, as JSON"),
        sa.Column("created_at", rapport.store.types.UTCDateTime(timezone=True), nullable=False),
        comment="snapshot reports computed ahead for the pages: a cache, safe to empty",
    )
    op.create_index(
        "ix_kept_reports_as_of_report_generation",
        "kept_reports",
        ["as_of", "report", "generation"],
    )


def downgrade() -> None:
    op.drop_index("ix_kept_reports_as_of_report_generation", table_name="kept_reports")
    op.drop_table("kept_reports")
