"""How the analysis page shows the behavioural clusters (:func:`rapport.web.views.analysis.
clusters_of`): their table, descriptions, demographics, candidate scores and the heatmap of
their features' mean z-scores, in the reader's language."""

from __future__ import annotations

from typing import Any

from rapport.models import clusters as clustering
from rapport.web.figures.analysis import as_json, diverging_scale
from rapport.web.i18n import Formatter


def clusters_context(found: dict[str, Any], fmt: Formatter) -> dict[str, Any]:
    """The clusters of :meth:`rapport.models.clusters.Clustering.summary` for the page."""
    clusters = found["clusters"]
    k = len(clusters)
    demographics = []
    for name, rows in found["demographics"].items():
        values, grid = clustering.demography_grid(rows, k, name=name)
        demographics.append(
            {
                "name": name,
                "values": [
                    fmt.t("analysis.no_group") if v is None else fmt.value("customers", name, v)
                    for v in values
                ],
                "rows": [
                    {"cluster": c + 1, "shares": [fmt.percent(v, 0) for v in grid[c]]}
                    for c in range(k)
                ],
            }
        )
    return {
        "found": found,
        "k": found["k"],
        "criterion": fmt.t(f"analysis.criterion_{found['criterion']}"),
        "score": fmt.number(found["score"], 3),
        "sample": fmt.number(found["sample"]),
        "customers": fmt.number(found["customers"]),
        "candidates": [
            {
                "k": key,
                "score": fmt.number(value, 3),
                "chosen": key == found["k"],
                "excluded": key in found["excluded"],
            }
            for key, value in found["silhouettes"].items()
        ],
        "clusters": [
            {
                "id": c["id"] + 1,
                "size": fmt.number(c["size"]),
                "share": fmt.percent(c["share"], 1),
                "description": clustering.description(
                    [(name, v) for name, v in c["distinguishing"]], fmt.locale
                ),
            }
            for c in clusters
        ],
        "chart": as_json(_cluster_chart(clusters, fmt)),
        "demographics": demographics,
    }


def _cluster_chart(clusters: list[dict[str, Any]], fmt: Formatter) -> dict[str, Any]:
    """The clusters' mean z-score of every feature as a heatmap (a cluster per row)."""
    features = clustering.FEATURES
    names = [fmt.t("analysis.cluster_n", n=c["id"] + 1) for c in clusters]
    return {
        "animation": False,
        "tooltip": {"position": "top"},
        "grid": {"left": 8, "right": 16, "top": 28, "bottom": 84, "containLabel": True},
        "xAxis": {
            "type": "category",
            "data": [clustering.feature_label(f, fmt.locale) for f in features],
            "axisLabel": {"interval": 0, "rotate": 20},
        },
        "yAxis": {"type": "category", "data": names, "inverse": True},
        "visualMap": diverging_scale(-2, 2),
        "series": [
            {
                "type": "heatmap",
                "name": fmt.t("analysis.cluster_z"),
                "data": [
                    [j, i, round(c["z"][f], 2)]
                    for i, c in enumerate(clusters)
                    for j, f in enumerate(features)
                ],
                "label": {"show": True},
            }
        ],
    }
