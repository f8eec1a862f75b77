"""The stored score snapshots (``customer_scores``) as an Ibis table, for the analyses that
compute from a snapshot on the analytics engine (coverage after scoring, clusters,
relations).

A snapshot is read as of its date; without a date, the latest one stored. The reports on
snapshots (group summaries, movements, lists) are :mod:`rapport.reports.snapshots`.
"""

from __future__ import annotations

import datetime as dt

import ibis
import ibis.expr.types as ir

from rapport.analytics.sources import Sources


def snapshot(src: Sources, as_of: dt.date | None = None) -> ir.Table:
    """The rows of the snapshot dated ``as_of`` (default: the latest date stored)."""
    s = src.customer_scores
    if as_of is None:
        return s.filter(s.as_of == s.as_of.max())
    return s.filter(s.as_of == ibis.literal(as_of, type="date"))
