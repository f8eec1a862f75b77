"""Order statuses of real shop exports, and interactions whose direction is unknown.

``orders.status`` gains ``pending``, ``paid``, ``shipped`` and ``refunding`` (which of them
count as purchases is the business rule ``[business] purchase_statuses``);
``interactions.direction`` gains ``unknown``. Both are widened CHECK constraints: existing
rows stay valid. Downgrading folds the new values back into the old ones (paid, shipped
and refunding orders become completed, pending ones cancelled; unknown directions become
inbound) — lossy, and said so.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_OLD_STATUSES = ("completed", "cancelled", "refunded")
_NEW_STATUSES = (
    "pending",
    "paid",
    "shipped",
    "completed",
    "cancelled",
    "refunding",
    "refunded",
)
_OLD_DIRECTIONS = ("inbound", "outbound")
_NEW_DIRECTIONS = ("inbound", "outbound", "unknown")


def _enum(values: tuple[str, ...], name: str, length: int) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=length)


def _retype(table: str, column: str, old: sa.Enum, new: sa.Enum) -> None:
    with op.batch_alter_table(table, schema=None) as batch_op:
        batch_op.alter_column(column, existing_type=old, type_=new, existing_nullable=False)


def upgrade() -> None:
    _retype(
        "orders",
        "status",
        _enum(_OLD_STATUSES, "order_status", 17),
        _enum(_NEW_STATUSES, "order_status", 17),
    )
    _retype(
        "interactions",
        "direction",
        _enum(_OLD_DIRECTIONS, "direction", 16),
        _enum(_NEW_DIRECTIONS, "direction", 16),
    )


def downgrade() -> None:
    orders = sa.table("orders", sa.column("status", sa.String))
    op.execute(
        orders.update()
        .where(orders.c.status.in_(("paid", "shipped", "refunding")))
        .values(status="completed")
    )
    op.execute(orders.update().where(orders.c.status == "pending").values(status="cancelled"))
    interactions = sa.table("interactions", sa.column("direction", sa.String))
    op.execute(
        interactions.update()
        .where(interactions.c.direction == "unknown")
        .values(direction="inbound")
    )
    _retype(
        "orders",
        "status",
        _enum(_NEW_STATUSES, "order_status", 17),
        _enum(_OLD_STATUSES, "order_status", 17),
    )
    _retype(
        "interactions",
        "direction",
        _enum(_NEW_DIRECTIONS, "direction", 16),
        _enum(_OLD_DIRECTIONS, "direction", 16),
    )
