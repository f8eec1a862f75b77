"""``rapport clusters``: behavioural clusters of a snapshot (k-means on standardized
behaviour, :mod:`rapport.models.clusters`), with ``--format table|json|csv``."""

from __future__ import annotations

from typing import Any

from rich.table import Table

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
from rapport.i18n.enums import value_label
from rapport.i18n.labels import t


def clusters_command(
    as_of: AsOfOption = None, engine: EngineOption = None, fmt: FormatOption = OutputFormat.table
) -> None:
    """Behavioural clusters of a snapshot (k-means on standardized behaviour, k by the best
    silhouette over 2..8): size, share and distinguishing features of each cluster, and
    its customers by age band, gender, city and income band."""
    from rapport.models.clusters import FEATURES, feature_label, snapshot_clusters

    settings = get_settings()
    locale = settings.locale
    day = snapshot_day(parse_date(as_of))
    result = snapshot_clusters(settings, day, engine=engine)
    if result is None:
        raise no_snapshot(as_of)
    sil = result.silhouettes[result.k]
    rows = [
        {
            "cluster": c.id + 1,
            "customers": c.size,
            "share": c.share,
            **{f"z_{name}": c.z[name] for name in FEATURES},
            "description": c.description(locale),
        }
        for c in result.clusters
    ]
    # At 80 columns: the cluster, its size, share and description always show; the
    # z-scores go from the last feature to the first.
    columns = [
        Column("cluster", t("cluster", locale), numeric=True),
        Column("customers", t("customers", locale), numeric=True),
        Column("share", t("customer_share", locale), numeric=True, text=share),
        *(
            Column(
                f"z_{name}",
                f"z {feature_label(name, locale)}",
                numeric=True,
                text=lambda v: "—" if missing(v) else f"{v:+.2f}",
                keep=len(FEATURES) - i,
            )
            for i, name in enumerate(FEATURES)
        ),
        Column("description", t("cluster_features", locale)),
    ]
    demographics = {name: demo.to_pylist() for name, demo in result.demographics.items()}
    title = (
        f"{t('clusters_title', locale)} — {day} "
        f"(k = {result.k}, {t('silhouette', locale)} {sil:.3f})"
    )
    meta = {
        "as_of": day,
        "k": result.k,
        "criterion": result.criterion,
        "silhouette": sil,
        "silhouettes": {str(k): v for k, v in sorted(result.silhouettes.items())},
        "silhouette_sample": result.sample,
        "excluded": {str(k): why for k, why in result.excluded.items()},
        "demographics": demographics,
    }
    emit(rows, columns, fmt, title=title, key="clusters", meta=meta, locale=locale)
    if fmt == OutputFormat.table:
        for name, demography in demographics.items():
            console.print(_demography(name, demography, result.clusters, locale))


def _demography(name: str, rows: list[dict], clusters: list[Any], locale: str) -> Table:
    """The share of each cluster's customers per value of one demographic (the largest
    cities only)."""
    from rapport.models.clusters import demography_grid

    values, grid = demography_grid(rows, len(clusters), name=name)
    shown = [value_label("customers", name, v, locale) if v is not None else "—" for v in values]
    lines = [
        {"cluster": c.id + 1, **{f"v{i}": s for i, s in enumerate(grid[c.id])}} for c in clusters
    ]
    columns = [
        Column("cluster", t("cluster", locale), numeric=True),
        *(Column(f"v{i}", header, numeric=True, text=share) for i, header in enumerate(shown)),
    ]
    return render_table(lines, columns, title=t(name, locale), locale=locale)
