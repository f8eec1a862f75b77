"""Points earned from orders by rule: what each order earned, clawbacks, a pending period.

``loyalty_ledger.reason`` gains ``clawback`` (the points an order earned, taken back when it
is cancelled or refunded), and the ledger gains ``available_at``: the moment points earned
by an order may be spent (the returns window); ``NULL`` for entries spendable at once, as
every entry written before. The reason's CHECK constraint is widened, so existing rows stay
valid. On SQLite the table is rebuilt for that, and its append-only triggers are created
again afterwards. ``loyalty_order_points`` records, once per order, the net amount it earned
on and the points it earned: the basis of a later clawback. Downgrading refuses while clawback entries exist (the ledger cannot
change them into anything else truthfully).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import rapport.store.types

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_OLD = ("purchase", "redeem", "bonus", "referral", "birthday", "review", "expire", "adjust")
_NEW = (*_OLD, "clawback")
APPEND_ONLY_MESSAGE = "loyalty_ledger is append-only: add a correcting entry instead"


def _enum(values: tuple[str, ...]) -> sa.Enum:
    return sa.Enum(
        *values, name="loyalty_reason", native_enum=False, create_constraint=True, length=16
    )


def _sqlite() -> bool:
    return op.get_context().dialect.name == "sqlite"


def _drop_sqlite_guards() -> None:
    op.execute("DROP TRIGGER IF EXISTS loyalty_ledger_no_update")
    op.execute("DROP TRIGGER IF EXISTS loyalty_ledger_no_delete")


def _create_sqlite_guards() -> None:
    for verb in ("UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER loyalty_ledger_no_{verb.lower()} BEFORE {verb} ON loyalty_ledger "
            f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY_MESSAGE}'); END"
        )


def upgrade() -> None:
    if _sqlite():
        _drop_sqlite_guards()
    with op.batch_alter_table("loyalty_ledger", schema=None) as batch_op:
        batch_op.alter_column(
            "reason", existing_type=_enum(_OLD), type_=_enum(_NEW), existing_nullable=False
        )
        batch_op.add_column(
            sa.Column(
                "available_at",
                rapport.store.types.UTCDateTime(timezone=True),
                nullable=True,
                comment="when earned points may be spent; NULL: at once",
            )
        )
    if _sqlite():
        _create_sqlite_guards()
    op.create_table(
        "loyalty_order_points",
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column(
            "basis",
            sa.Numeric(precision=14, scale=2),
            nullable=False,
            comment="the order's net amount when it earned",
        ),
        sa.Column("points", sa.Integer(), nullable=False, comment="the points it earned then"),
        sa.Column("posted_at", rapport.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("basis >= 0", name=op.f("ck_loyalty_order_points_basis_non_negative")),
        sa.CheckConstraint("points >= 0", name=op.f("ck_loyalty_order_points_points_non_negative")),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["orders.id"],
            name=op.f("fk_loyalty_order_points_order_id_orders"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("order_id", name=op.f("pk_loyalty_order_points")),
        comment="what each order earned, once: the basis of its clawbacks (docs/loyalty.md)",
    )


def downgrade() -> None:
    ledger = sa.table("loyalty_ledger", sa.column("reason", sa.String))
    count = op.get_bind().execute(
        sa.select(sa.func.count()).select_from(ledger).where(ledger.c.reason == "clawback")
    )
    if count.scalar_one():
        raise RuntimeError(
            "loyalty_ledger holds clawback entries, which revision 0006 cannot store; "
            "export the ledger first (rapport export) if you must downgrade"
        )
    op.drop_table("loyalty_order_points")
    if _sqlite():
        _drop_sqlite_guards()
    with op.batch_alter_table("loyalty_ledger", schema=None) as batch_op:
        batch_op.drop_column("available_at")
        batch_op.alter_column(
            "reason", existing_type=_enum(_NEW), type_=_enum(_OLD), existing_nullable=False
        )
    if _sqlite():
        _create_sqlite_guards()
