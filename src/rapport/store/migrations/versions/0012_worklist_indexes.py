"""The worklist's indexes: customers by birthday's month and day, a snapshot by predicted CLV.

The worklist (:mod:`rapport.reports.worklist`) lists the birthdays of a week and the
customers not contacted for some days, the most valuable first. Without these indexes both
read every customer in scope on each request (seconds at 1,000,000 customers):

* ``ix_customers_birthday_md`` and ``ix_customers_owner_id_birthday_md``: the month and day
  of ``customers.birthday`` (:class:`rapport.store.schema.month_day`, an expression of the
  date, so no write path has anything to keep) and the customer id, of everyone and of one
  owner: a day's birthdays are one range of the index, in id order;
* ``ix_customer_scores_as_of_predicted_clv``: a snapshot's rows by predicted CLV,
  highest first, then customer id: the customers not contacted are read in that order,
  each checked for a recent interaction, until a page is full.

Creating them reads the customers and the scores once (the upgrade's cost grows with
the store: see docs/benchmarks.md).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from rapport.store.schema import month_day

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    birthday = month_day(sa.column("birthday"))
    op.create_index("ix_customers_birthday_md", "customers", [birthday, "id"])
    op.create_index("ix_customers_owner_id_birthday_md", "customers", ["owner_id", birthday, "id"])
    op.create_index(
        "ix_customer_scores_as_of_predicted_clv",
        "customer_scores",
        ["as_of", sa.desc(sa.column("predicted_clv")), "customer_id"],
    )


def downgrade() -> None:
    op.drop_index("ix_customer_scores_as_of_predicted_clv", table_name="customer_scores")
    op.drop_index("ix_customers_owner_id_birthday_md", table_name="customers")
    op.drop_index("ix_customers_birthday_md", table_name="customers")
