"""What rated a snapshot's churn risk as a column (``customer_scores.churn_source``), and an
index of a snapshot by churn risk.

The churn warnings (:func:`rapport.reports.snapshots.churn_warnings`) are the customers the
churn classifier rates at or above a risk. Which model rated the risk was only in the
``components`` document (``churn.source``), so the warnings read the document of every
customer at risk: at 1,000,000 customers, 459,370 documents and 11–12 s a request. The
column holds the same value (``classifier``, or the purchase model's kind; ``NULL`` with no
churn risk), and ``ix_customer_scores_as_of_churn_risk`` (the date, the risk highest first,
the customer, the source and the predicted CLV) holds all the warnings read: one range of
it, without the rows. The customer list sorted by churn risk walks the same index in order.

The upgrade fills the column of the snapshots already in the store from their documents
and creates the index: it reads every snapshot once (the cost grows with the store: see
docs/benchmarks.md). The downgrade drops both; the documents still hold the source.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "customer_scores",
        sa.Column(
            "churn_source",
            sa.String(32),
            comment="what rated the churn risk: classifier, or the purchase model's kind",
        ),
    )
    if op.get_bind().dialect.name == "postgresql":
        source = "components -> 'churn' ->> 'source'"
    else:  # SQLite: JSON1
        source = "json_extract(components, '$.churn.source')"
    op.execute(
        f"UPDATE customer_scores SET churn_source = {source} "
        "WHERE components IS NOT NULL AND churn_risk IS NOT NULL"
    )
    op.create_index(
        "ix_customer_scores_as_of_churn_risk",
        "customer_scores",
        ["as_of", sa.desc(sa.column("churn_risk")), "customer_id", "churn_source", "predicted_clv"],
    )


def downgrade() -> None:
    op.drop_index("ix_customer_scores_as_of_churn_risk", table_name="customer_scores")
    op.drop_column("customer_scores", "churn_source")
