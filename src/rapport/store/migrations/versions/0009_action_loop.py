"""The action loop: playbooks, their enrolments, tasks, alerts, the outbox and the daily runs.

``playbooks`` holds each playbook's current definition (trigger, audience filter,
eligibility, actions, outcome) and whether it runs, ``playbook_versions`` every definition it
has had; ``playbook_enrolments`` records each customer a playbook enrolled on an occasion, in
which arm (treated, holdout, global control), and the outcome measured after its window.
``tasks`` is work for staff, ``alerts`` warnings deduplicated by a key, ``outbox`` the
messages waiting to leave (one per idempotency key), ``pipeline_runs`` the daily pipeline's
steps (one per day and step) and ``store_locks`` named leases shared by every process.
Downgrading drops them all.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import rapport.store.types

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pipeline_runs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("run_date", sa.Date(), nullable=False, comment="the business day it ran for"),
        sa.Column(
            "step",
            sa.String(length=32),
            nullable=False,
            comment="score, playbooks, alerts, messages",
        ),
        sa.Column(
            "status",
            sa.Enum(
                "running",
                "done",
                "failed",
                name="run_status",
                native_enum=False,
                create_constraint=True,
                length=15,
            ),
            nullable=False,
        ),
        sa.Column("started_at", rapport.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", rapport.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("heartbeat_at", rapport.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "summary",
            sa.JSON(none_as_null=True).with_variant(
                postgresql.JSONB(none_as_null=True, astext_type=sa.Text()), "postgresql"
            ),
            nullable=True,
            comment="what the step did: counts, figures",
        ),
        sa.Column(
            "error",
            sa.JSON(none_as_null=True).with_variant(
                postgresql.JSONB(none_as_null=True, astext_type=sa.Text()), "postgresql"
            ),
            nullable=True,
            comment="why it failed: code, message",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pipeline_runs")),
        sa.UniqueConstraint("run_date", "step", name=op.f("uq_pipeline_runs_run_date_step")),
        comment="the daily pipeline's steps, once per day each",
    )
    op.create_table(
        "playbooks",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column(
            "version", sa.Integer(), nullable=False, comment="the current definition's version"
        ),
        sa.Column("enabled", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column(
            "source",
            sa.Enum(
                "builtin",
                "rules",
                "api",
                name="playbook_source",
                native_enum=False,
                create_constraint=True,
                length=15,
            ),
            nullable=False,
        ),
        sa.Column(
            "definition",
            sa.JSON(none_as_null=True).with_variant(
                postgresql.JSONB(none_as_null=True, astext_type=sa.Text()), "postgresql"
            ),
            nullable=False,
            comment="trigger, audience filter, eligibility, actions, outcome (docs/actions.md)",
        ),
        sa.Column("created_at", rapport.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", rapport.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=128), nullable=False),
        sa.CheckConstraint("version >= 1", name=op.f("ck_playbooks_version_positive")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_playbooks")),
        sa.UniqueConstraint("code", name=op.f("uq_playbooks_code")),
        comment="playbooks as data: their current definition and whether they run",
    )
    op.create_table(
        "store_locks",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column(
            "holder", sa.String(length=128), nullable=False, comment="host:pid of the holder"
        ),
        sa.Column("acquired_at", rapport.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "expires_at",
            rapport.store.types.UTCDateTime(timezone=True),
            nullable=False,
            comment="a lease: renewed while held",
        ),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_store_locks")),
        comment="named leases shared by every process (one daily pipeline at a time)",
    )
    op.create_table(
        "playbook_versions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("playbook_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column(
            "definition",
            sa.JSON(none_as_null=True).with_variant(
                postgresql.JSONB(none_as_null=True, astext_type=sa.Text()), "postgresql"
            ),
            nullable=False,
        ),
        sa.Column("created_at", rapport.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=128), nullable=False),
        sa.ForeignKeyConstraint(
            ["playbook_id"],
            ["playbooks.id"],
            name=op.f("fk_playbook_versions_playbook_id_playbooks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_playbook_versions")),
        sa.UniqueConstraint(
            "playbook_id", "version", name=op.f("uq_playbook_versions_playbook_id_version")
        ),
        comment="every definition a playbook has had, append-only",
    )
    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "churn_risk",
                "diamond_downgraded",
                "nps_detractor",
                "sla_at_risk",
                "sla_breached",
                "metric_out_of_band",
                name="alert_kind",
                native_enum=False,
                create_constraint=True,
                length=26,
            ),
            nullable=False,
        ),
        sa.Column(
            "dedup_key",
            sa.String(length=200),
            nullable=False,
            comment="one alert per condition: raising it again only updates last_seen_at",
        ),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column(
            "severity",
            sa.Enum(
                "info",
                "warning",
                "critical",
                name="alert_severity",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column(
            "status",
            sa.Enum(
                "open",
                "acknowledged",
                "resolved",
                name="alert_status",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column(
            "details",
            sa.JSON(none_as_null=True).with_variant(
                postgresql.JSONB(none_as_null=True, astext_type=sa.Text()), "postgresql"
            ),
            nullable=True,
            comment="the evidence: scores, thresholds, ticket, metric",
        ),
        sa.Column("raised_at", rapport.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", rapport.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("acknowledged_at", rapport.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_by", sa.Integer(), nullable=True),
        sa.Column("resolved_at", rapport.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("resolved_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["acknowledged_by"],
            ["users.id"],
            name=op.f("fk_alerts_acknowledged_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_alerts_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["resolved_by"],
            ["users.id"],
            name=op.f("fk_alerts_resolved_by_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alerts")),
        sa.UniqueConstraint("dedup_key", name=op.f("uq_alerts_dedup_key")),
        comment="warnings for staff, deduplicated, acknowledged and resolved",
    )
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.create_index("ix_alerts_customer_id", ["customer_id"], unique=False)
        batch_op.create_index("ix_alerts_status_raised_at", ["status", "raised_at"], unique=False)

    op.create_table(
        "playbook_enrolments",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("playbook_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False, comment="the definition it ran under"),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column(
            "occasion",
            sa.String(length=128),
            nullable=False,
            comment="what triggered it (e.g. 2026-12-01, ticket:42, birthday:2026): once each",
        ),
        sa.Column(
            "arm",
            sa.Enum(
                "treated",
                "holdout",
                "control",
                name="enrolment_arm",
                native_enum=False,
                create_constraint=True,
                length=15,
            ),
            nullable=False,
        ),
        sa.Column(
            "run_date", sa.Date(), nullable=False, comment="the pipeline day that enrolled it"
        ),
        sa.Column("enrolled_at", rapport.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "reason",
            sa.JSON(none_as_null=True).with_variant(
                postgresql.JSONB(none_as_null=True, astext_type=sa.Text()), "postgresql"
            ),
            nullable=True,
            comment="the trigger's evidence, shown to staff",
        ),
        sa.Column(
            "outcome_due_at",
            rapport.store.types.UTCDateTime(timezone=True),
            nullable=True,
            comment="end of the outcome window",
        ),
        sa.Column("outcome_success", sa.Boolean(), nullable=True, comment="NULL until measured"),
        sa.Column(
            "outcome_value",
            sa.Numeric(precision=14, scale=2),
            nullable=True,
            comment="revenue in the outcome window",
        ),
        sa.Column(
            "cost",
            sa.Numeric(precision=14, scale=2),
            nullable=True,
            comment="what the actions cost (costs unit prices)",
        ),
        sa.Column("measured_at", rapport.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_playbook_enrolments_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["playbook_id"],
            ["playbooks.id"],
            name=op.f("fk_playbook_enrolments_playbook_id_playbooks"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_playbook_enrolments")),
        sa.UniqueConstraint(
            "playbook_id",
            "customer_id",
            "occasion",
            name=op.f("uq_playbook_enrolments_playbook_id_customer_id_occasion"),
        ),
        comment="who a playbook enrolled, in which arm, and the measured outcome",
    )
    with op.batch_alter_table("playbook_enrolments", schema=None) as batch_op:
        batch_op.create_index(
            "ix_playbook_enrolments_customer_id_enrolled_at",
            ["customer_id", "enrolled_at"],
            unique=False,
        )
        batch_op.create_index(
            "ix_playbook_enrolments_playbook_id_run_date", ["playbook_id", "run_date"], unique=False
        )

    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column(
            "idempotency_key",
            sa.String(length=200),
            nullable=False,
            comment="one message per key, sent with it (Message-ID, Idempotency-Key header)",
        ),
        sa.Column(
            "channel",
            sa.Enum(
                "email",
                "sms",
                "wechat",
                "app_push",
                "webhook",
                name="message_channel",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column(
            "recipient", sa.String(length=320), nullable=False, comment="address, number or URL"
        ),
        sa.Column("customer_id", sa.Integer(), nullable=True),
        sa.Column("enrolment_id", sa.Integer(), nullable=True),
        sa.Column("alert_id", sa.Integer(), nullable=True),
        sa.Column("subject", sa.String(length=300), nullable=True),
        sa.Column("body", sa.Text(), nullable=True),
        sa.Column(
            "payload",
            sa.JSON(none_as_null=True).with_variant(
                postgresql.JSONB(none_as_null=True, astext_type=sa.Text()), "postgresql"
            ),
            nullable=True,
            comment="the webhook's JSON body, or the message's data",
        ),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "sending",
                "sent",
                "dead",
                name="outbox_status",
                native_enum=False,
                create_constraint=True,
                length=15,
            ),
            nullable=False,
        ),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column(
            "next_attempt_at", rapport.store.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "claimed_until",
            rapport.store.types.UTCDateTime(timezone=True),
            nullable=True,
            comment="a sender's lease while sending",
        ),
        sa.Column("last_error", sa.String(length=1000), nullable=True),
        sa.Column("created_at", rapport.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", rapport.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint("attempts >= 0", name=op.f("ck_outbox_attempts_non_negative")),
        sa.ForeignKeyConstraint(
            ["alert_id"], ["alerts.id"], name=op.f("fk_outbox_alert_id_alerts"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_outbox_customer_id_customers"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["enrolment_id"],
            ["playbook_enrolments.id"],
            name=op.f("fk_outbox_enrolment_id_playbook_enrolments"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_outbox_idempotency_key")),
        comment="messages waiting to leave, and what became of them: each sent once",
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index(
            "ix_outbox_customer_id_created_at", ["customer_id", "created_at"], unique=False
        )
        batch_op.create_index(
            "ix_outbox_status_next_attempt_at", ["status", "next_attempt_at"], unique=False
        )

    op.create_table(
        "tasks",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column(
            "assignee_id",
            sa.Integer(),
            nullable=True,
            comment="the staff member it is for (NULL: the team queue)",
        ),
        sa.Column(
            "team",
            sa.String(length=64),
            nullable=True,
            comment="the queue of a team when no one is assigned",
        ),
        sa.Column(
            "enrolment_id",
            sa.Integer(),
            nullable=True,
            comment="the playbook enrolment that made it (NULL: made by hand)",
        ),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column(
            "script",
            sa.Text(),
            nullable=True,
            comment="what to say: the playbook's suggested script",
        ),
        sa.Column(
            "priority",
            sa.Enum(
                "low",
                "normal",
                "high",
                "urgent",
                name="task_priority",
                native_enum=False,
                create_constraint=True,
                length=14,
            ),
            nullable=False,
        ),
        sa.Column(
            "status",
            sa.Enum(
                "open",
                "done",
                "skipped",
                "expired",
                name="task_status",
                native_enum=False,
                create_constraint=True,
                length=15,
            ),
            nullable=False,
        ),
        sa.Column("due_at", rapport.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "result",
            sa.String(length=64),
            nullable=True,
            comment="the call's result (reached, no_answer …)",
        ),
        sa.Column("note", sa.String(length=2000), nullable=True),
        sa.Column("skip_reason", sa.String(length=500), nullable=True),
        sa.Column("created_at", rapport.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", rapport.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("completed_at", rapport.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("completed_by", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "status <> 'skipped' OR skip_reason IS NOT NULL",
            name=op.f("ck_tasks_skipped_has_reason"),
        ),
        sa.ForeignKeyConstraint(
            ["assignee_id"],
            ["users.id"],
            name=op.f("fk_tasks_assignee_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["completed_by"],
            ["users.id"],
            name=op.f("fk_tasks_completed_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_tasks_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["enrolment_id"],
            ["playbook_enrolments.id"],
            name=op.f("fk_tasks_enrolment_id_playbook_enrolments"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tasks")),
        comment="work for staff: a call, a visit, a gift — by hand or from a playbook",
    )
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.create_index(
            "ix_tasks_assignee_id_status_due_at", ["assignee_id", "status", "due_at"], unique=False
        )
        batch_op.create_index("ix_tasks_customer_id", ["customer_id"], unique=False)
        batch_op.create_index("ix_tasks_status_due_at", ["status", "due_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.drop_index("ix_tasks_status_due_at")
        batch_op.drop_index("ix_tasks_customer_id")
        batch_op.drop_index("ix_tasks_assignee_id_status_due_at")

    op.drop_table("tasks")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_status_next_attempt_at")
        batch_op.drop_index("ix_outbox_customer_id_created_at")

    op.drop_table("outbox")
    with op.batch_alter_table("playbook_enrolments", schema=None) as batch_op:
        batch_op.drop_index("ix_playbook_enrolments_playbook_id_run_date")
        batch_op.drop_index("ix_playbook_enrolments_customer_id_enrolled_at")

    op.drop_table("playbook_enrolments")
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_index("ix_alerts_status_raised_at")
        batch_op.drop_index("ix_alerts_customer_id")

    op.drop_table("alerts")
    op.drop_table("playbook_versions")
    op.drop_table("store_locks")
    op.drop_table("playbooks")
    op.drop_table("pipeline_runs")
