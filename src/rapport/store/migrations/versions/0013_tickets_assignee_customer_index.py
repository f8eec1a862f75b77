"""An index on ``tickets(assignee_id, customer_id)``.

A service agent sees the customers with a ticket assigned to them
(:class:`rapport.access.CustomerScope`): their customer list, its owners and their queue
start from those customers' ids, one range of this index, with no read of the tickets
themselves. Without it each of the agent's tickets is looked up in the table (tens of
thousands at 1,000,000 customers), on every request.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05
"""

from __future__ import annotations

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_tickets_assignee_id_customer_id", "tickets", ["assignee_id", "customer_id"])


def downgrade() -> None:
    op.drop_index("ix_tickets_assignee_id_customer_id", table_name="tickets")
