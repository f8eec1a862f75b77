"""An index on ``tickets(assignee_id, status)`` in place of the one on ``assignee_id``.

A service agent's queue (:func:`rapport.reports.service_queue.ticket_queue`, "mine") asks
for their open tickets. With an index on ``assignee_id`` alone the store read every ticket
the agent ever had (tens of thousands at 1,000,000 customers) to keep the few open ones;
with the status beside it, they are one range of the index. The new index also serves every
look-up by assignee the old one did (and the foreign key's ``SET NULL`` on deleting a
user), so the old one goes.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-05
"""

from __future__ import annotations

from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_tickets_assignee_id_status", "tickets", ["assignee_id", "status"])
    op.drop_index("ix_tickets_assignee_id", table_name="tickets")


def downgrade() -> None:
    op.create_index("ix_tickets_assignee_id", "tickets", ["assignee_id"])
    op.drop_index("ix_tickets_assignee_id_status", table_name="tickets")
