"""The options several commands share, each defined once.

``--engine`` chooses the analytics engine that computes from the operational tables: the
store itself read by DuckDB attached to it (``duckdb``, the default of ``RAPPORT_ENGINE``),
PostgreSQL running the expressions, or DuckDB or Spark over the Parquet export
(:mod:`rapport.analytics.connect`). Only the commands that compute take it — ``score``,
``metrics``, ``cohorts``, ``funnel``, ``clusters``, ``relations``, ``models``. The
reports on stored snapshots (``segments``, ``tiers``, ``stages``, ``movements``,
``diamonds``, ``clv``, ``at-risk``) read the precomputed rows through the store's own
connection (:mod:`rapport.reports.snapshots`) and take no ``--engine``.

``--as-of`` means one of two things: the date of a score snapshot
(:data:`SnapshotAsOfOption`; each command says its default) or the local day an analysis
runs as of (:data:`AnalysisAsOfOption`, default now).
"""

from __future__ import annotations

from typing import Annotated

import typer

EngineOption = Annotated[
    str | None,
    typer.Option(
        help="Analytics engine: duckdb, postgres, parquet or spark (default: RAPPORT_ENGINE)."
    ),
]
SnapshotAsOfOption = Annotated[
    str | None,
    typer.Option("--as-of", help="Snapshot date (local), e.g. 2024-12-31."),
]
AnalysisAsOfOption = Annotated[
    str | None, typer.Option("--as-of", help="Local date the analysis runs as of; default now.")
]
PeriodOption = Annotated[
    str | None,
    typer.Option("--period", help="2024-01..2024-12, 2024Q1, 2024-03 … (default: --last 12m)."),
]
LastOption = Annotated[str | None, typer.Option("--last", help="90d, 12w, 6m, 1y before --as-of")]
LimitOption = Annotated[int, typer.Option(min=1, max=1000, help="Rows to show.")]
