"""An index of a snapshot's narrow columns for the snapshot reports, in place of the index
on ``customer_scores.as_of`` alone.

The snapshot reports (group summaries by tier, stage and segment, the RFM grid, the
degrees' correlations and chain, the headline history, the diamonds, the movements between
two snapshots: :mod:`rapport.reports.snapshots`, :mod:`rapport.reports.analysis`,
:mod:`rapport.reports.overview`) each read a whole snapshot of ``customer_scores``. On
SQLite a row carries its ``components`` document (~1.4 kB), so reading a snapshot of
1,000,000 customers read ~1.4 GB of table pages for a few numbers a customer.
``ix_customer_scores_as_of_reports`` holds the snapshot date, the value tier, the customer
and every other column those reports read (stage, segment, R and F scores, window revenue,
predicted CLV, churn risk, the four degrees and the relationship index; ~120 bytes an
entry): they read the index alone, and the diamonds list the diamonds' range of it.

``ix_customer_scores_as_of`` goes: this index and ``ix_customer_scores_as_of_predicted_clv``
both start with ``as_of`` and serve every read by date (the snapshot dates, a snapshot's
replacement), and each index costs every snapshot's write.

Creating the index reads every snapshot's rows once (the upgrade's cost grows with the
store: see docs/benchmarks.md).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05
"""

from __future__ import annotations

from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

#: The index's columns, in order (as rapport.store.schema declares them).
COLUMNS = [
    "as_of",
    "value_tier",
    "customer_id",
    "lifecycle_stage",
    "rfm_segment",
    "r_score",
    "f_score",
    "monetary",
    "predicted_clv",
    "churn_risk",
    "satisfaction",
    "loyalty",
    "engagement",
    "advocacy",
    "relationship_index",
]


def upgrade() -> None:
    op.create_index("ix_customer_scores_as_of_reports", "customer_scores", COLUMNS)
    op.drop_index("ix_customer_scores_as_of", table_name="customer_scores")


def downgrade() -> None:
    op.create_index("ix_customer_scores_as_of", "customer_scores", ["as_of"])
    op.drop_index("ix_customer_scores_as_of_reports", table_name="customer_scores")
