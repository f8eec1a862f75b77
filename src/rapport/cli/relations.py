"""``rapport relations``: how the four degrees relate in a snapshot
(:mod:`rapport.analytics.relations`), with ``--format table|json|csv``."""

from __future__ import annotations

import math
from typing import Annotated

import typer

from rapport.analytics.sources import Sources
from rapport.cli.common import console
from rapport.cli.options import EngineOption
from rapport.cli.options import SnapshotAsOfOption as AsOfOption
from rapport.cli.output import Column, FormatOption, OutputFormat, emit, render_table
from rapport.cli.scores import (
    missing,
    no_snapshot,
    parse_date,
    share,
    snapshot_day,
)
from rapport.config import get_settings
from rapport.i18n.labels import t


def relations_command(
    as_of: AsOfOption = None,
    high: Annotated[
        float | None,
        typer.Option(min=0, max=100, help="High scorer from this score (default: top quartile)."),
    ] = None,
    engine: EngineOption = None,
    fmt: FormatOption = OutputFormat.table,
) -> None:
    """How the four degrees relate in a snapshot: their correlation matrix and, along
    satisfaction → loyalty → engagement → advocacy, the share of each degree's high scorers
    that are high on the next, beside the base rate.

    With --format json: the correlations (one entry per pair of degrees) and the chain;
    with --format csv: the correlations.
    """
    from rapport.analytics.connect import connect
    from rapport.analytics.relations import snapshot_relations

    settings = get_settings()
    locale = settings.locale
    day = snapshot_day(parse_date(as_of))
    with connect(settings, engine=engine) as eng:
        rel = snapshot_relations(Sources(eng), day, high=high, con=eng.con)
    if rel is None:
        raise no_snapshot(as_of)
    pairs = [
        {
            "degree": a,
            "other": b,
            "correlation": None if math.isnan(rel.correlation[i, j]) else rel.correlation[i, j],
            "customers": int(rel.pairs[i, j]),
        }
        for i, a in enumerate(rel.degrees)
        for j, b in enumerate(rel.degrees)
    ]
    chain = [
        {
            "source": link.source,
            "target": link.target,
            "high_source": link.high_source,
            "share": link.share,
            "base_rate": link.base_rate,
            "lift": link.lift,
        }
        for link in rel.links
    ]
    if fmt != OutputFormat.table:
        pair_columns = [Column(key, key) for key in ("degree", "other", "correlation", "customers")]
        meta = {"as_of": day, "high": high, "cuts": rel.cuts, "chain": chain}
        emit(pairs, pair_columns, fmt, key="correlations", meta=meta, locale=locale)
        return
    matrix = [
        {
            "degree": t(a, locale),
            **{b: rel.correlation[i, j] for j, b in enumerate(rel.degrees)},
        }
        for i, a in enumerate(rel.degrees)
    ]
    counts = [int(n) for n in rel.pairs.ravel()]  # the customers of every pair above
    columns = [
        Column("degree", ""),
        *(
            Column(b, t(b, locale), numeric=True, text=lambda v: "—" if missing(v) else f"{v:.2f}")
            for b in rel.degrees
        ),
    ]
    caption = t("relations_pairs", locale).format(low=f"{min(counts):,}", high=f"{max(counts):,}")
    title = f"{t('relations_title', locale)} — {day}"
    console.print(render_table(matrix, columns, title=title, caption=caption, locale=locale))
    how = (
        t("relations_high_from", locale).format(score=f"{high:g}")
        if high is not None
        else t("relations_top_quartile", locale)
    )
    chain_columns = [
        Column("source", t("chain.source", locale), text=lambda v: t(v, locale)),
        Column("target", t("chain.target", locale), text=lambda v: t(v, locale)),
        Column("high_source", t("chain.high_source", locale), numeric=True),
        Column("share", t("chain.share", locale), numeric=True, text=share),
        Column("base_rate", t("chain.base_rate", locale), numeric=True, text=share),
        Column(
            "lift",
            t("chain.lift", locale),
            numeric=True,
            text=lambda v: "—" if v is None else f"{v:.2f}×",
        ),
    ]
    chain_title = t("relations_chain", locale).format(high=how)
    console.print(render_table(chain, chain_columns, title=chain_title, locale=locale))
