"""Indexes for the customer list sorted by name or by relationship index.

The workspace's customer list (:mod:`rapport.web.customer_list`) pages by keyset. Sorted by
id it reads ranges of the primary key or of the owner index; sorted by name or by a score
it read and sorted every customer in scope (at 1,000,000 customers: 0.3–1.8 s by name,
0.6–3.4 s by a score, per page). With these indexes a page is read in order and stops when
it is full:

* ``ix_customers_name_key`` and ``ix_customers_owner_id_name_key``: the name (``''`` for
  none: :data:`rapport.store.schema.name_key`) and the id, of everyone and of one owner. A
  manager's list reads one range of the second per owner of the scope and merges them, as
  the id order does with the owner index;
* ``ix_customer_scores_as_of_relationship_index``: a snapshot by relationship index,
  highest first, then customer. (By predicted CLV and by churn risk, the indexes of
  migrations 0012 and 0017 serve.)

Creating them reads the customers and the scores once (the upgrade's cost grows with the
store: see docs/benchmarks.md).

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    name = sa.func.coalesce(sa.column("name", sa.String), sa.literal_column("''", sa.String))
    op.create_index("ix_customers_name_key", "customers", [name, "id"])
    op.create_index("ix_customers_owner_id_name_key", "customers", ["owner_id", name, "id"])
    op.create_index(
        "ix_customer_scores_as_of_relationship_index",
        "customer_scores",
        ["as_of", sa.desc(sa.column("relationship_index")), "customer_id"],
    )


def downgrade() -> None:
    op.drop_index("ix_customer_scores_as_of_relationship_index", table_name="customer_scores")
    op.drop_index("ix_customers_owner_id_name_key", table_name="customers")
    op.drop_index("ix_customers_name_key", table_name="customers")
