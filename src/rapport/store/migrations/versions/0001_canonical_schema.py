"""canonical schema: customers, leads, products, orders, events, interactions, surveys,
tickets, referrals, campaigns, loyalty, users, audit log, score snapshots.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import rapport.store.types

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "campaigns",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("external_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column(
            "channel",
            sa.Enum(
                "email",
                "sms",
                "wechat",
                "app_push",
                "phone",
                "direct_mail",
                name="campaign_channel",
                native_enum=False,
                create_constraint=True,
                length=19,
            ),
            nullable=False,
        ),
        sa.Column(
            "objective",
            sa.String(length=64),
            nullable=True,
            comment="e.g. win_back, upsell, nps_survey",
        ),
        sa.Column("started_at", rapport.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("ended_at", rapport.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("budget", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("holdout_share", sa.Float(), server_default="0", nullable=False),
        sa.Column(
            "extra",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("created_at", rapport.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", rapport.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("budget >= 0", name=op.f("ck_campaigns_budget_non_negative")),
        sa.CheckConstraint(
            "ended_at IS NULL OR started_at IS NULL OR ended_at >= started_at",
            name=op.f("ck_campaigns_period_order"),
        ),
        sa.CheckConstraint(
            "holdout_share >= 0 AND holdout_share < 1",
            name=op.f("ck_campaigns_holdout_share_range"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaigns")),
        sa.UniqueConstraint("external_id", name=op.f("uq_campaigns_external_id")),
    )
    op.create_table(
        "loyalty_tiers",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name_zh", sa.String(length=64), nullable=False),
        sa.Column("name_en", sa.String(length=64), nullable=False),
        sa.Column("min_points", sa.Integer(), nullable=False),
        sa.Column(
            "benefits",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.CheckConstraint(
            "min_points >= 0", name=op.f("ck_loyalty_tiers_min_points_non_negative")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_loyalty_tiers")),
        sa.UniqueConstraint("code", name=op.f("uq_loyalty_tiers_code")),
    )
    op.create_table(
        "products",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("category", sa.String(length=64), nullable=True),
        sa.Column("price", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("is_active", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column(
            "extra",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("created_at", rapport.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", rapport.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("price >= 0", name=op.f("ck_products_price_non_negative")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_products")),
        sa.UniqueConstraint("sku", name=op.f("uq_products_sku")),
    )
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.create_index("ix_products_category", ["category"], unique=False)

    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("display_name", sa.String(length=128), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column(
            "role",
            sa.Enum(
                "admin",
                "manager",
                "sales",
                "service",
                "analyst",
                name="role",
                native_enum=False,
                create_constraint=True,
                length=15,
            ),
            nullable=False,
        ),
        sa.Column("team", sa.String(length=64), nullable=True),
        sa.Column("password_hash", sa.String(length=255), nullable=True),
        sa.Column("is_active", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("created_at", rapport.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", rapport.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("username", name=op.f("uq_users_username")),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("occurred_at", rapport.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("actor_user_id", sa.Integer(), nullable=True),
        sa.Column(
            "actor", sa.String(length=128), nullable=False, comment="username, token name or system"
        ),
        sa.Column(
            "action",
            sa.Enum(
                "create",
                "update",
                "delete",
                "read_pii",
                "export",
                "erase",
                "login",
                "login_failed",
                "import",
                name="audit_action",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("entity", sa.String(length=64), nullable=False),
        sa.Column("entity_id", sa.String(length=64), nullable=True),
        sa.Column(
            "detail",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("client_address", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["actor_user_id"],
            ["users.id"],
            name=op.f("fk_audit_log_actor_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index(
            "ix_audit_log_entity_entity_id", ["entity", "entity_id"], unique=False
        )
        batch_op.create_index("ix_audit_log_occurred_at", ["occurred_at"], unique=False)

    op.create_table(
        "customers",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("external_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=True),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column(
            "phone", sa.String(length=32), nullable=True, comment="E.164, e.g. +8613812345678"
        ),
        sa.Column("wechat_id", sa.String(length=64), nullable=True),
        sa.Column(
            "social_handles",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
            comment='{"weibo": "...", "douyin": "..."}',
        ),
        sa.Column("country", sa.String(length=2), nullable=True, comment="ISO 3166-1 alpha-2"),
        sa.Column("province", sa.String(length=64), nullable=True),
        sa.Column("city", sa.String(length=64), nullable=True),
        sa.Column("district", sa.String(length=64), nullable=True),
        sa.Column("street", sa.String(length=255), nullable=True),
        sa.Column("postal_code", sa.String(length=16), nullable=True),
        sa.Column("birthday", sa.Date(), nullable=True),
        sa.Column(
            "gender",
            sa.Enum(
                "female",
                "male",
                "other",
                "unknown",
                name="gender",
                native_enum=False,
                create_constraint=True,
                length=15,
            ),
            nullable=True,
        ),
        sa.Column("occupation", sa.String(length=64), nullable=True),
        sa.Column("income_band", sa.String(length=32), nullable=True),
        sa.Column("source_channel", sa.String(length=32), nullable=True),
        sa.Column("owner_id", sa.Integer(), nullable=True),
        sa.Column("marketing_consent", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("marketing_opt_out", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column(
            "loyalty_joined_at", rapport.store.types.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column(
            "tags",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
            comment="list of strings",
        ),
        sa.Column(
            "extra",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
            comment="source columns without a canonical place",
        ),
        sa.Column("created_at", rapport.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", rapport.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "deleted_at",
            rapport.store.types.UTCDateTime(timezone=True),
            nullable=True,
            comment="soft delete",
        ),
        sa.Column(
            "erased_at",
            rapport.store.types.UTCDateTime(timezone=True),
            nullable=True,
            comment="personal data anonymized on request",
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["users.id"],
            name=op.f("fk_customers_owner_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customers")),
        sa.UniqueConstraint("external_id", name=op.f("uq_customers_external_id")),
    )
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.create_index("ix_customers_city", ["city"], unique=False)
        batch_op.create_index("ix_customers_email", ["email"], unique=False)
        batch_op.create_index("ix_customers_owner_id", ["owner_id"], unique=False)
        batch_op.create_index("ix_customers_phone", ["phone"], unique=False)

    op.create_table(
        "customer_scores",
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("satisfaction", sa.Float(), nullable=True),
        sa.Column("loyalty", sa.Float(), nullable=True),
        sa.Column("engagement", sa.Float(), nullable=True),
        sa.Column("advocacy", sa.Float(), nullable=True),
        sa.Column("relationship_index", sa.Float(), nullable=True),
        sa.Column("recency_days", sa.Integer(), nullable=True),
        sa.Column("frequency", sa.Integer(), nullable=True),
        sa.Column("monetary", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("r_score", sa.SmallInteger(), nullable=True),
        sa.Column("f_score", sa.SmallInteger(), nullable=True),
        sa.Column("m_score", sa.SmallInteger(), nullable=True),
        sa.Column("rfm_segment", sa.String(length=32), nullable=True),
        sa.Column(
            "value_tier",
            sa.Enum(
                "diamond",
                "gold",
                "silver",
                "bronze",
                name="value_tier",
                native_enum=False,
                create_constraint=True,
                length=15,
            ),
            nullable=True,
        ),
        sa.Column(
            "lifecycle_stage",
            sa.Enum(
                "prospect",
                "new",
                "active",
                "growing",
                "at_risk",
                "churned",
                "reactivated",
                name="lifecycle_stage",
                native_enum=False,
                create_constraint=True,
                length=19,
            ),
            nullable=True,
        ),
        sa.Column("p_alive", sa.Float(), nullable=True),
        sa.Column("expected_purchases_90d", sa.Float(), nullable=True),
        sa.Column("predicted_clv", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("churn_risk", sa.Float(), nullable=True),
        sa.Column(
            "components",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
            comment="inputs and reasons behind each score",
        ),
        sa.Column("computed_at", rapport.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "advocacy BETWEEN 0 AND 100", name=op.f("ck_customer_scores_advocacy_range")
        ),
        sa.CheckConstraint(
            "churn_risk BETWEEN 0 AND 1", name=op.f("ck_customer_scores_churn_risk_range")
        ),
        sa.CheckConstraint(
            "engagement BETWEEN 0 AND 100", name=op.f("ck_customer_scores_engagement_range")
        ),
        sa.CheckConstraint(
            "f_score BETWEEN 1 AND 5", name=op.f("ck_customer_scores_f_score_range")
        ),
        sa.CheckConstraint(
            "loyalty BETWEEN 0 AND 100", name=op.f("ck_customer_scores_loyalty_range")
        ),
        sa.CheckConstraint(
            "m_score BETWEEN 1 AND 5", name=op.f("ck_customer_scores_m_score_range")
        ),
        sa.CheckConstraint(
            "p_alive BETWEEN 0 AND 1", name=op.f("ck_customer_scores_p_alive_range")
        ),
        sa.CheckConstraint(
            "r_score BETWEEN 1 AND 5", name=op.f("ck_customer_scores_r_score_range")
        ),
        sa.CheckConstraint(
            "relationship_index BETWEEN 0 AND 100",
            name=op.f("ck_customer_scores_relationship_index_range"),
        ),
        sa.CheckConstraint(
            "satisfaction BETWEEN 0 AND 100", name=op.f("ck_customer_scores_satisfaction_range")
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_customer_scores_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("customer_id", "as_of", name=op.f("pk_customer_scores")),
    )
    with op.batch_alter_table("customer_scores", schema=None) as batch_op:
        batch_op.create_index("ix_customer_scores_as_of", ["as_of"], unique=False)

    op.create_table(
        "events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("external_id", sa.String(length=64), nullable=True),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "page_view",
                "product_view",
                "search",
                "add_to_cart",
                "checkout",
                "email_open",
                "email_click",
                "sms_click",
                "social_like",
                "social_comment",
                "social_share",
                "event_attend",
                "app_open",
                "review",
                "login",
                name="event_kind",
                native_enum=False,
                create_constraint=True,
                length=22,
            ),
            nullable=False,
        ),
        sa.Column("occurred_at", rapport.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("session_id", sa.String(length=64), nullable=True),
        sa.Column("channel", sa.String(length=32), nullable=True),
        sa.Column("product_id", sa.Integer(), nullable=True),
        sa.Column("campaign_id", sa.Integer(), nullable=True),
        sa.Column("dwell_seconds", sa.Float(), nullable=True),
        sa.Column(
            "properties",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.CheckConstraint("dwell_seconds >= 0", name=op.f("ck_events_dwell_non_negative")),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_events_campaign_id_campaigns"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_events_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name=op.f("fk_events_product_id_products"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_events")),
        sa.UniqueConstraint("external_id", name=op.f("uq_events_external_id")),
    )
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.create_index(
            "ix_events_customer_id_occurred_at", ["customer_id", "occurred_at"], unique=False
        )
        batch_op.create_index("ix_events_occurred_at", ["occurred_at"], unique=False)

    op.create_table(
        "interactions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("external_id", sa.String(length=64), nullable=True),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column(
            "channel",
            sa.Enum(
                "phone",
                "email",
                "chat",
                "visit",
                "social",
                "after_sales",
                name="interaction_channel",
                native_enum=False,
                create_constraint=True,
                length=19,
            ),
            nullable=False,
        ),
        sa.Column(
            "direction",
            sa.Enum(
                "inbound",
                "outbound",
                name="direction",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("staff_id", sa.Integer(), nullable=True),
        sa.Column("occurred_at", rapport.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("duration_seconds", sa.Integer(), nullable=True),
        sa.Column("subject", sa.String(length=255), nullable=True),
        sa.Column("summary", sa.Text(), nullable=True),
        sa.Column(
            "extra",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.CheckConstraint(
            "duration_seconds >= 0", name=op.f("ck_interactions_duration_non_negative")
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_interactions_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(
            ["staff_id"],
            ["users.id"],
            name=op.f("fk_interactions_staff_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_interactions")),
        sa.UniqueConstraint("external_id", name=op.f("uq_interactions_external_id")),
    )
    with op.batch_alter_table("interactions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_interactions_customer_id_occurred_at", ["customer_id", "occurred_at"], unique=False
        )
        batch_op.create_index("ix_interactions_occurred_at", ["occurred_at"], unique=False)

    op.create_table(
        "leads",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("external_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=True),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("phone", sa.String(length=32), nullable=True),
        sa.Column("company", sa.String(length=128), nullable=True),
        sa.Column("source", sa.String(length=32), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "new",
                "qualified",
                "converted",
                "lost",
                name="lead_status",
                native_enum=False,
                create_constraint=True,
                length=17,
            ),
            nullable=False,
        ),
        sa.Column("owner_id", sa.Integer(), nullable=True),
        sa.Column("converted_customer_id", sa.Integer(), nullable=True),
        sa.Column("converted_at", rapport.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "extra",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("created_at", rapport.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", rapport.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(status = 'converted') = (converted_at IS NOT NULL)",
            name=op.f("ck_leads_converted_has_time"),
        ),
        sa.ForeignKeyConstraint(
            ["converted_customer_id"],
            ["customers.id"],
            name=op.f("fk_leads_converted_customer_id_customers"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.id"], name=op.f("fk_leads_owner_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_leads")),
        sa.UniqueConstraint("external_id", name=op.f("uq_leads_external_id")),
    )
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.create_index(
            "ix_leads_converted_customer_id", ["converted_customer_id"], unique=False
        )
        batch_op.create_index("ix_leads_created_at", ["created_at"], unique=False)

    op.create_table(
        "loyalty_ledger",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("external_id", sa.String(length=64), nullable=True),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column(
            "points", sa.Integer(), nullable=False, comment="positive earns, negative spends"
        ),
        sa.Column(
            "reason",
            sa.Enum(
                "purchase",
                "redeem",
                "bonus",
                "referral",
                "birthday",
                "review",
                "expire",
                "adjust",
                name="loyalty_reason",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column(
            "reference",
            sa.String(length=128),
            nullable=True,
            comment="e.g. order:SO123, campaign:C9",
        ),
        sa.Column("occurred_at", rapport.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.CheckConstraint("points <> 0", name=op.f("ck_loyalty_ledger_points_non_zero")),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.id"],
            name=op.f("fk_loyalty_ledger_created_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_loyalty_ledger_customer_id_customers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_loyalty_ledger")),
        sa.UniqueConstraint("external_id", name=op.f("uq_loyalty_ledger_external_id")),
        comment="append-only: triggers refuse UPDATE and DELETE",
    )
    with op.batch_alter_table("loyalty_ledger", schema=None) as batch_op:
        batch_op.create_index(
            "ix_loyalty_ledger_customer_id_occurred_at",
            ["customer_id", "occurred_at"],
            unique=False,
        )

    op.create_table(
        "orders",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("external_id", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "completed",
                "cancelled",
                "refunded",
                name="order_status",
                native_enum=False,
                create_constraint=True,
                length=17,
            ),
            nullable=False,
        ),
        sa.Column("ordered_at", rapport.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("gross_amount", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column(
            "discount_amount", sa.Numeric(precision=14, scale=2), server_default="0", nullable=False
        ),
        sa.Column(
            "refunded_amount", sa.Numeric(precision=14, scale=2), server_default="0", nullable=False
        ),
        sa.Column(
            "net_amount",
            sa.Numeric(precision=14, scale=2),
            nullable=False,
            comment="after discounts and refunds",
        ),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=True),
        sa.Column("store", sa.String(length=64), nullable=True),
        sa.Column(
            "extra",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("created_at", rapport.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", rapport.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "discount_amount >= 0", name=op.f("ck_orders_discount_amount_non_negative")
        ),
        sa.CheckConstraint("gross_amount >= 0", name=op.f("ck_orders_gross_amount_non_negative")),
        sa.CheckConstraint("net_amount >= 0", name=op.f("ck_orders_net_amount_non_negative")),
        sa.CheckConstraint(
            "refunded_amount >= 0", name=op.f("ck_orders_refunded_amount_non_negative")
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_orders_customer_id_customers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_orders")),
        sa.UniqueConstraint("external_id", name=op.f("uq_orders_external_id")),
    )
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.create_index(
            "ix_orders_customer_id_ordered_at", ["customer_id", "ordered_at"], unique=False
        )
        batch_op.create_index("ix_orders_ordered_at", ["ordered_at"], unique=False)

    op.create_table(
        "tickets",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("external_id", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "complaint",
                "suggestion",
                "inquiry",
                "praise",
                "service_request",
                name="ticket_kind",
                native_enum=False,
                create_constraint=True,
                length=23,
            ),
            nullable=False,
        ),
        sa.Column("channel", sa.String(length=32), nullable=True),
        sa.Column(
            "priority",
            sa.Enum(
                "low",
                "normal",
                "high",
                "urgent",
                name="ticket_priority",
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
                "in_progress",
                "waiting_customer",
                "resolved",
                "closed",
                name="ticket_status",
                native_enum=False,
                create_constraint=True,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("subject", sa.String(length=255), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("assignee_id", sa.Integer(), nullable=True),
        sa.Column("opened_at", rapport.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "first_response_at", rapport.store.types.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column("resolved_at", rapport.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("closed_at", rapport.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "first_response_due_at", rapport.store.types.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column(
            "resolution_due_at", rapport.store.types.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column(
            "satisfaction_rating", sa.Integer(), nullable=True, comment="1–5, the customer's rating"
        ),
        sa.Column(
            "extra",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("created_at", rapport.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", rapport.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "first_response_at IS NULL OR first_response_at >= opened_at",
            name=op.f("ck_tickets_response_after_open"),
        ),
        sa.CheckConstraint(
            "resolved_at IS NULL OR resolved_at >= opened_at",
            name=op.f("ck_tickets_resolved_after_open"),
        ),
        sa.CheckConstraint(
            "satisfaction_rating BETWEEN 1 AND 5", name=op.f("ck_tickets_satisfaction_rating_range")
        ),
        sa.ForeignKeyConstraint(
            ["assignee_id"],
            ["users.id"],
            name=op.f("fk_tickets_assignee_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_tickets_customer_id_customers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tickets")),
        sa.UniqueConstraint("external_id", name=op.f("uq_tickets_external_id")),
    )
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.create_index("ix_tickets_assignee_id", ["assignee_id"], unique=False)
        batch_op.create_index("ix_tickets_customer_id", ["customer_id"], unique=False)
        batch_op.create_index("ix_tickets_opened_at", ["opened_at"], unique=False)
        batch_op.create_index("ix_tickets_status", ["status"], unique=False)

    op.create_table(
        "campaign_deliveries",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("external_id", sa.String(length=64), nullable=True),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("holdout", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("sent_at", rapport.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("delivered_at", rapport.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("opened_at", rapport.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("clicked_at", rapport.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("converted_at", rapport.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("order_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "NOT (holdout AND sent_at IS NOT NULL)",
            name=op.f("ck_campaign_deliveries_holdout_not_sent"),
        ),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_campaign_deliveries_campaign_id_campaigns"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_campaign_deliveries_customer_id_customers"),
        ),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["orders.id"],
            name=op.f("fk_campaign_deliveries_order_id_orders"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign_deliveries")),
        sa.UniqueConstraint(
            "campaign_id",
            "customer_id",
            name=op.f("uq_campaign_deliveries_campaign_id_customer_id"),
        ),
        sa.UniqueConstraint("external_id", name=op.f("uq_campaign_deliveries_external_id")),
    )
    with op.batch_alter_table("campaign_deliveries", schema=None) as batch_op:
        batch_op.create_index("ix_campaign_deliveries_customer_id", ["customer_id"], unique=False)
        batch_op.create_index("ix_campaign_deliveries_sent_at", ["sent_at"], unique=False)

    op.create_table(
        "order_items",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("unit_price", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("net_amount", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.CheckConstraint("line_no > 0", name=op.f("ck_order_items_line_no_positive")),
        sa.CheckConstraint("net_amount >= 0", name=op.f("ck_order_items_net_amount_non_negative")),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_order_items_quantity_positive")),
        sa.CheckConstraint("unit_price >= 0", name=op.f("ck_order_items_unit_price_non_negative")),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["orders.id"],
            name=op.f("fk_order_items_order_id_orders"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["product_id"], ["products.id"], name=op.f("fk_order_items_product_id_products")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_items")),
        sa.UniqueConstraint("order_id", "line_no", name=op.f("uq_order_items_order_id_line_no")),
    )
    with op.batch_alter_table("order_items", schema=None) as batch_op:
        batch_op.create_index("ix_order_items_product_id", ["product_id"], unique=False)

    op.create_table(
        "referrals",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("external_id", sa.String(length=64), nullable=True),
        sa.Column("referrer_customer_id", sa.Integer(), nullable=False),
        sa.Column("referred_lead_id", sa.Integer(), nullable=True),
        sa.Column("referred_customer_id", sa.Integer(), nullable=True),
        sa.Column("referred_at", rapport.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=True),
        sa.Column("converted", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("converted_at", rapport.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "referred_customer_id IS NULL OR referred_customer_id <> referrer_customer_id",
            name=op.f("ck_referrals_not_self"),
        ),
        sa.CheckConstraint(
            "referred_lead_id IS NOT NULL OR referred_customer_id IS NOT NULL",
            name=op.f("ck_referrals_has_referred_party"),
        ),
        sa.ForeignKeyConstraint(
            ["referred_customer_id"],
            ["customers.id"],
            name=op.f("fk_referrals_referred_customer_id_customers"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["referred_lead_id"],
            ["leads.id"],
            name=op.f("fk_referrals_referred_lead_id_leads"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["referrer_customer_id"],
            ["customers.id"],
            name=op.f("fk_referrals_referrer_customer_id_customers"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_referrals")),
        sa.UniqueConstraint("external_id", name=op.f("uq_referrals_external_id")),
    )
    with op.batch_alter_table("referrals", schema=None) as batch_op:
        batch_op.create_index("ix_referrals_referred_at", ["referred_at"], unique=False)
        batch_op.create_index(
            "ix_referrals_referrer_customer_id", ["referrer_customer_id"], unique=False
        )

    op.create_table(
        "survey_responses",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("external_id", sa.String(length=64), nullable=True),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "csat",
                "nps",
                "ces",
                "perceived_value",
                "expectation",
                name="survey_kind",
                native_enum=False,
                create_constraint=True,
                length=23,
            ),
            nullable=False,
        ),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("scale_min", sa.Float(), nullable=False),
        sa.Column("scale_max", sa.Float(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("channel", sa.String(length=32), nullable=True),
        sa.Column("responded_at", rapport.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("campaign_id", sa.Integer(), nullable=True),
        sa.CheckConstraint("scale_max > scale_min", name=op.f("ck_survey_responses_scale_order")),
        sa.CheckConstraint(
            "score >= scale_min AND score <= scale_max",
            name=op.f("ck_survey_responses_score_in_scale"),
        ),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_survey_responses_campaign_id_campaigns"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_survey_responses_customer_id_customers"),
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
            name=op.f("fk_survey_responses_ticket_id_tickets"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_survey_responses")),
        sa.UniqueConstraint("external_id", name=op.f("uq_survey_responses_external_id")),
    )
    with op.batch_alter_table("survey_responses", schema=None) as batch_op:
        batch_op.create_index(
            "ix_survey_responses_customer_id_responded_at",
            ["customer_id", "responded_at"],
            unique=False,
        )
        batch_op.create_index(
            "ix_survey_responses_kind_responded_at", ["kind", "responded_at"], unique=False
        )

    op.create_table(
        "ticket_status_history",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column(
            "from_status",
            sa.Enum(
                "open",
                "in_progress",
                "waiting_customer",
                "resolved",
                "closed",
                name="from_status",
                native_enum=False,
                create_constraint=True,
                length=24,
            ),
            nullable=True,
        ),
        sa.Column(
            "to_status",
            sa.Enum(
                "open",
                "in_progress",
                "waiting_customer",
                "resolved",
                "closed",
                name="to_status",
                native_enum=False,
                create_constraint=True,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("changed_at", rapport.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("changed_by", sa.Integer(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["changed_by"],
            ["users.id"],
            name=op.f("fk_ticket_status_history_changed_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
            name=op.f("fk_ticket_status_history_ticket_id_tickets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_status_history")),
    )
    with op.batch_alter_table("ticket_status_history", schema=None) as batch_op:
        batch_op.create_index(
            "ix_ticket_status_history_ticket_id_changed_at",
            ["ticket_id", "changed_at"],
            unique=False,
        )

    _create_ledger_guards()


APPEND_ONLY_MESSAGE = "loyalty_ledger is append-only: add a correcting entry instead"


def _create_ledger_guards() -> None:
    """Refuse UPDATE and DELETE on loyalty_ledger in the database itself."""
    if op.get_context().dialect.name == "sqlite":
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER loyalty_ledger_no_{verb.lower()} BEFORE {verb} ON loyalty_ledger "
                f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY_MESSAGE}'); END"
            )
    else:
        op.execute(
            "CREATE FUNCTION loyalty_ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS "
            f"$$ BEGIN RAISE EXCEPTION '{APPEND_ONLY_MESSAGE}'; END $$"
        )
        op.execute(
            "CREATE TRIGGER loyalty_ledger_append_only BEFORE UPDATE OR DELETE ON loyalty_ledger "
            "FOR EACH ROW EXECUTE FUNCTION loyalty_ledger_append_only()"
        )


def _drop_ledger_guards() -> None:
    if op.get_context().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS loyalty_ledger_no_update")
        op.execute("DROP TRIGGER IF EXISTS loyalty_ledger_no_delete")
    else:
        op.execute("DROP TRIGGER IF EXISTS loyalty_ledger_append_only ON loyalty_ledger")
        op.execute("DROP FUNCTION IF EXISTS loyalty_ledger_append_only()")


def downgrade() -> None:
    _drop_ledger_guards()
    with op.batch_alter_table("ticket_status_history", schema=None) as batch_op:
        batch_op.drop_index("ix_ticket_status_history_ticket_id_changed_at")

    op.drop_table("ticket_status_history")
    with op.batch_alter_table("survey_responses", schema=None) as batch_op:
        batch_op.drop_index("ix_survey_responses_kind_responded_at")
        batch_op.drop_index("ix_survey_responses_customer_id_responded_at")

    op.drop_table("survey_responses")
    with op.batch_alter_table("referrals", schema=None) as batch_op:
        batch_op.drop_index("ix_referrals_referrer_customer_id")
        batch_op.drop_index("ix_referrals_referred_at")

    op.drop_table("referrals")
    with op.batch_alter_table("order_items", schema=None) as batch_op:
        batch_op.drop_index("ix_order_items_product_id")

    op.drop_table("order_items")
    with op.batch_alter_table("campaign_deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_campaign_deliveries_sent_at")
        batch_op.drop_index("ix_campaign_deliveries_customer_id")

    op.drop_table("campaign_deliveries")
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_index("ix_tickets_status")
        batch_op.drop_index("ix_tickets_opened_at")
        batch_op.drop_index("ix_tickets_customer_id")
        batch_op.drop_index("ix_tickets_assignee_id")

    op.drop_table("tickets")
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_index("ix_orders_ordered_at")
        batch_op.drop_index("ix_orders_customer_id_ordered_at")

    op.drop_table("orders")
    with op.batch_alter_table("loyalty_ledger", schema=None) as batch_op:
        batch_op.drop_index("ix_loyalty_ledger_customer_id_occurred_at")

    op.drop_table("loyalty_ledger")
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.drop_index("ix_leads_created_at")
        batch_op.drop_index("ix_leads_converted_customer_id")

    op.drop_table("leads")
    with op.batch_alter_table("interactions", schema=None) as batch_op:
        batch_op.drop_index("ix_interactions_occurred_at")
        batch_op.drop_index("ix_interactions_customer_id_occurred_at")

    op.drop_table("interactions")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index("ix_events_occurred_at")
        batch_op.drop_index("ix_events_customer_id_occurred_at")

    op.drop_table("events")
    with op.batch_alter_table("customer_scores", schema=None) as batch_op:
        batch_op.drop_index("ix_customer_scores_as_of")

    op.drop_table("customer_scores")
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_index("ix_customers_phone")
        batch_op.drop_index("ix_customers_owner_id")
        batch_op.drop_index("ix_customers_email")
        batch_op.drop_index("ix_customers_city")

    op.drop_table("customers")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_log_occurred_at")
        batch_op.drop_index("ix_audit_log_entity_entity_id")

    op.drop_table("audit_log")
    op.drop_table("users")
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.drop_index("ix_products_category")

    op.drop_table("products")
    op.drop_table("loyalty_tiers")
    op.drop_table("campaigns")
