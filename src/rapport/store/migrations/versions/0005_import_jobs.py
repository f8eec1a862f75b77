"""Import jobs in the store: every server process sees every job.

``import_jobs`` holds one row per file uploaded to ``POST /imports/{entity}``: who sent
what, its state (queued, running, done, failed), when it started and finished, the counts
and the rest of the importer's report, the error of a failed job, and the heartbeat of the
process holding an unfinished job (a job whose heartbeat stops is failed as interrupted).
Until now jobs were JSON files beside their uploads; those are not carried over (a job
finished before the upgrade is no longer listed; its files stay in place). Downgrading
drops the table.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import rapport.store.types

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def _time() -> rapport.store.types.UTCDateTime:
    return rapport.store.types.UTCDateTime(timezone=True)


def _json() -> sa.types.TypeEngine:
    return sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "import_jobs",
        sa.Column("id", sa.String(length=32), nullable=False, comment="32 hex digits"),
        sa.Column(
            "entity", sa.String(length=32), nullable=False, comment="what the file is imported as"
        ),
        sa.Column(
            "file", sa.String(length=128), nullable=False, comment="the upload's (sanitized) name"
        ),
        sa.Column(
            "directory",
            sa.String(length=1024),
            nullable=False,
            comment="folder of the upload and of its reject and warning files",
        ),
        sa.Column("size", sa.BigInteger(), nullable=False, comment="bytes uploaded"),
        sa.Column("sheet", sa.String(length=100), nullable=True, comment="XLSX sheet (NULL: all)"),
        sa.Column("strict", sa.Boolean(), nullable=False),
        sa.Column(
            "submitted_by",
            sa.String(length=128),
            nullable=False,
            comment="username, and token if any",
        ),
        sa.Column("submitted_by_id", sa.Integer(), nullable=False),
        sa.Column("submitted_at", _time(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "queued",
                "running",
                "done",
                "failed",
                name="import_job_status",
                native_enum=False,
                create_constraint=True,
                length=15,
            ),
            nullable=False,
        ),
        sa.Column("started_at", _time(), nullable=True),
        sa.Column("finished_at", _time(), nullable=True),
        sa.Column(
            "heartbeat_at",
            _time(),
            nullable=False,
            comment="last sign of life of the process holding the unfinished job",
        ),
        sa.Column("rows_read", sa.Integer(), nullable=True),
        sa.Column("rows_inserted", sa.Integer(), nullable=True),
        sa.Column("rows_updated", sa.Integer(), nullable=True),
        sa.Column("rows_unchanged", sa.Integer(), nullable=True),
        sa.Column("rows_rejected", sa.Integer(), nullable=True),
        sa.Column(
            "report", _json(), nullable=True, comment="the rest of the importer's report, once done"
        ),
        sa.Column(
            "error",
            _json(),
            nullable=True,
            comment="why the job failed: code, message, field, hint",
        ),
        sa.CheckConstraint("size >= 0", name=op.f("ck_import_jobs_size_non_negative")),
        sa.ForeignKeyConstraint(
            ["submitted_by_id"],
            ["users.id"],
            name=op.f("fk_import_jobs_submitted_by_id_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_jobs")),
        comment="import jobs of the API, shared by every server process",
    )
    with op.batch_alter_table("import_jobs", schema=None) as batch_op:
        batch_op.create_index("ix_import_jobs_submitted_at", ["submitted_at"], unique=False)
        batch_op.create_index("ix_import_jobs_submitted_by_id", ["submitted_by_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("import_jobs", schema=None) as batch_op:
        batch_op.drop_index("ix_import_jobs_submitted_by_id")
        batch_op.drop_index("ix_import_jobs_submitted_at")
    op.drop_table("import_jobs")
