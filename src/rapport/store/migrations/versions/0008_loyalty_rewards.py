"""The loyalty rewards catalogue and the vouchers of redeemed rewards.

``loyalty_rewards`` lists what points buy (a coupon, a gift or a discount, with its price in
points and the stock left, ``NULL`` for unlimited); ``loyalty_vouchers`` holds one voucher per
redemption: its code, the reward, the customer, the ledger entry that paid for it, when it was
issued and used. Downgrading drops both tables (the ledger keeps the redemptions).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import rapport.store.types

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def _time() -> rapport.store.types.UTCDateTime:
    return rapport.store.types.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "loyalty_rewards",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name_zh", sa.String(length=128), nullable=False),
        sa.Column("name_en", sa.String(length=128), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "coupon",
                "gift",
                "discount",
                name="reward_kind",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("points", sa.Integer(), nullable=False, comment="the price in points"),
        sa.Column("stock", sa.Integer(), nullable=True, comment="vouchers left; NULL: unlimited"),
        sa.Column("active", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("created_at", _time(), nullable=False),
        sa.Column("updated_at", _time(), nullable=False),
        sa.CheckConstraint("points > 0", name=op.f("ck_loyalty_rewards_points_positive")),
        sa.CheckConstraint(
            "stock IS NULL OR stock >= 0", name=op.f("ck_loyalty_rewards_stock_non_negative")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_loyalty_rewards")),
        sa.UniqueConstraint("code", name=op.f("uq_loyalty_rewards_code")),
        comment="the rewards catalogue: what points buy",
    )
    op.create_table(
        "loyalty_vouchers",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("reward_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column(
            "ledger_id", sa.Integer(), nullable=False, comment="the redemption that paid for it"
        ),
        sa.Column("issued_at", _time(), nullable=False),
        sa.Column("used_at", _time(), nullable=True),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_loyalty_vouchers_customer_id_customers"),
        ),
        sa.ForeignKeyConstraint(
            ["ledger_id"],
            ["loyalty_ledger.id"],
            name=op.f("fk_loyalty_vouchers_ledger_id_loyalty_ledger"),
        ),
        sa.ForeignKeyConstraint(
            ["reward_id"],
            ["loyalty_rewards.id"],
            name=op.f("fk_loyalty_vouchers_reward_id_loyalty_rewards"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_loyalty_vouchers")),
        sa.UniqueConstraint("code", name=op.f("uq_loyalty_vouchers_code")),
        sa.UniqueConstraint("ledger_id", name=op.f("uq_loyalty_vouchers_ledger_id")),
        comment="a reward redeemed: its voucher code, once usable",
    )
    with op.batch_alter_table("loyalty_vouchers", schema=None) as batch_op:
        batch_op.create_index("ix_loyalty_vouchers_customer_id", ["customer_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("loyalty_vouchers", schema=None) as batch_op:
        batch_op.drop_index("ix_loyalty_vouchers_customer_id")
    op.drop_table("loyalty_vouchers")
    op.drop_table("loyalty_rewards")
