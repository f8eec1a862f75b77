"""Log-in throttle: counters of failed log-ins per account and per client address.

``login_throttle`` holds one row per counted account (username, known or not) or client
address, shared by every API worker; ``audit_log.action`` gains ``login_locked`` (an
attempt refused while a lock-out runs). Downgrading drops the table and turns
``login_locked`` entries into ``login_failed`` ones (they were refused log-ins).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import rapport.store.types

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_OLD_ACTIONS = (
    "create",
    "update",
    "delete",
    "read_pii",
    "export",
    "erase",
    "login",
    "login_failed",
    "import",
)
_NEW_ACTIONS = (*_OLD_ACTIONS[:8], "login_locked", "import")


def _actions(values: tuple[str, ...]) -> sa.Enum:
    return sa.Enum(
        *values, name="audit_action", native_enum=False, create_constraint=True, length=20
    )


def _retype_actions(old: tuple[str, ...], new: tuple[str, ...]) -> None:
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.alter_column(
            "action", existing_type=_actions(old), type_=_actions(new), existing_nullable=False
        )


def _time() -> rapport.store.types.UTCDateTime:
    return rapport.store.types.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "login_throttle",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "account",
                "address",
                name="login_throttle_kind",
                native_enum=False,
                create_constraint=True,
                length=15,
            ),
            nullable=False,
        ),
        sa.Column(
            "subject",
            sa.String(length=128),
            nullable=False,
            comment="the username (case-folded, known or not) or the client address",
        ),
        sa.Column("failures", sa.Integer(), nullable=False, comment="failed log-ins in a row"),
        sa.Column("last_failed_at", _time(), nullable=True, comment="NULL: no failure counted yet"),
        sa.Column(
            "locked_until", _time(), nullable=True, comment="log-ins refused (429) until then"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_throttle")),
        sa.UniqueConstraint("kind", "subject", name=op.f("uq_login_throttle_kind_subject")),
        comment="failed log-in counters, shared by every API worker",
    )
    with op.batch_alter_table("login_throttle", schema=None) as batch_op:
        batch_op.create_index("ix_login_throttle_last_failed_at", ["last_failed_at"], unique=False)
    _retype_actions(_OLD_ACTIONS, _NEW_ACTIONS)


def downgrade() -> None:
    audit_log = sa.table("audit_log", sa.column("action", sa.String))
    op.execute(
        audit_log.update().where(audit_log.c.action == "login_locked").values(action="login_failed")
    )
    _retype_actions(_NEW_ACTIONS, _OLD_ACTIONS)
    with op.batch_alter_table("login_throttle", schema=None) as batch_op:
        batch_op.drop_index("ix_login_throttle_last_failed_at")
    op.drop_table("login_throttle")
