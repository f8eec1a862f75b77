"""The overview's metrics and the analysis page's analyses run in a worker (the explorer,
cohorts, the chain of the degrees, clusters), as downloads: each the fragment's own
result, kept or from a worker."""

from __future__ import annotations

import datetime as dt

from fastapi import Request

from rapport.access import CustomerScope, Principal
from rapport.analytics.metrics import METRICS
from rapport.models import clusters as clustering
from rapport.reports import overview as overview_figures
from rapport.reports.tables import TableColumn
from rapport.web.export_tables import Exported, fraction
from rapport.web.i18n import Formatter
from rapport.web.views import analysis as analysis_view
from rapport.web.views import overview as overview_view


def read_headline(request: Request, user: Principal, fmt: Formatter, limit: int) -> Exported:
    """The overview's headline metrics of its ``period`` (:func:`rapport.reports.overview.
    metric_overview`, the company's, as the page shows them): each metric's value, the
    previous period's and the change, in the metric's unit (percent metrics 0–100)."""
    result = overview_view.headline_metrics(request)
    rows = [
        {
            "metric": overview_view.metric_label(metric_id, fmt),
            "unit": METRICS[metric_id].unit,
            "value": result["headline"][metric_id]["value"],
            "previous": result["headline"][metric_id]["previous"],
            "change": overview_figures.change(
                result["headline"][metric_id]["value"], result["headline"][metric_id]["previous"]
            ),
        }
        for metric_id in overview_figures.HEADLINE
    ]
    columns = [
        TableColumn("metric", fmt.t("exports.metric")),
        TableColumn(
            "unit", fmt.t("exports.unit"), value=lambda r: fmt.t(f"exports.unit_{r['unit']}")
        ),
        TableColumn("value", fmt.t("exports.value"), "number"),
        TableColumn("previous", fmt.t("exports.previous"), "number"),
        TableColumn("change", fmt.t("exports.change"), "number"),
    ]
    return Exported(columns, rows, CustomerScope(user).masked)


def read_explorer(request: Request, user: Principal, fmt: Formatter, limit: int) -> Exported:
    """The analysis page's metrics explorer: the metric of the address's question over its
    period, by its segment and granularity (:func:`rapport.web.views.analysis.
    explorer_rows`), each row's numerator, denominator and value (percent metrics 0–100)."""
    q = analysis_view.question(request)
    _, rows = analysis_view.explorer_rows(request, q)
    label = analysis_view.metric_label(q["metric"], fmt)
    columns = [TableColumn("metric", fmt.t("exports.metric"), value=lambda r: label)]
    if q["by"]:
        columns.append(
            TableColumn(
                "segment",
                fmt.t(f"analysis.by_{q['by']}"),
                value=lambda r: analysis_view.segment_label(q["by"], r.get("segment"), fmt),
            )
        )
    if q["granularity"]:
        columns.append(
            TableColumn(
                "bucket_start",
                fmt.t("analysis.bucket"),
                "date",
                value=lambda r: (
                    r["bucket_start"]
                    and r["bucket_start"].replace(tzinfo=dt.UTC).astimezone(fmt.zone).date()
                ),
            )
        )
    columns += [
        TableColumn("numerator", fmt.t("analysis.numerator"), "number"),
        TableColumn("denominator", fmt.t("analysis.denominator"), "number"),
        TableColumn("value", fmt.t("analysis.value"), "number"),
    ]
    return Exported(columns, rows, CustomerScope(user).masked)


def read_cohorts(request: Request, user: Principal, fmt: Formatter, limit: int) -> Exported:
    """The analysis page's cohort retention, one row per cohort and month after its first
    purchase (:func:`rapport.web.views.analysis.cohort_rows`; the page shows a square)."""
    _, rows = analysis_view.cohort_rows(request)
    columns = [
        TableColumn("cohort", fmt.t("analysis.cohort")),
        TableColumn("month_offset", fmt.t("analysis.month_offset"), "integer"),
        TableColumn("customers", fmt.t("analysis.cohort_size"), "integer"),
        TableColumn("active", fmt.t("exports.active"), "integer"),
        TableColumn("share", fmt.t("analysis.retention_share"), "percent", fraction("share")),
    ]
    return Exported(columns, rows, CustomerScope(user).masked)


def read_chain(request: Request, user: Principal, fmt: Formatter, limit: int) -> Exported:
    """The analysis page's chain of the degrees within the user's scope
    (:func:`rapport.web.views.analysis.chain_of`), one row per link."""
    chain = analysis_view.chain_of(request, user)
    rows = chain["links"] if chain else []
    columns = [
        TableColumn(
            "source", fmt.t("chain.source"), value=lambda r: fmt.t(f"degree.{r['source']}")
        ),
        TableColumn(
            "target", fmt.t("chain.target"), value=lambda r: fmt.t(f"degree.{r['target']}")
        ),
        TableColumn("high_source", fmt.t("chain.high_source"), "integer"),
        TableColumn("share", fmt.t("chain.share"), "percent"),
        TableColumn("base_rate", fmt.t("chain.base_rate"), "percent"),
        TableColumn("lift", fmt.t("chain.lift"), "number"),
        TableColumn("customers", fmt.t("analysis.chain_customers"), "integer"),
    ]
    return Exported(columns, rows, CustomerScope(user).masked)


def read_clusters(request: Request, user: Principal, fmt: Formatter, limit: int) -> Exported:
    """The analysis page's behavioural clusters (:func:`rapport.web.views.analysis.
    clusters_of`, every customer's): each cluster's size, share and description."""
    found = analysis_view.clusters_of(request)
    rows = found["clusters"] if found else []
    columns = [
        TableColumn(
            "id", fmt.t("cluster"), value=lambda r: fmt.t("analysis.cluster_n", n=r["id"] + 1)
        ),
        TableColumn("size", fmt.t("customers"), "integer"),
        TableColumn("share", fmt.t("customer_share"), "percent"),
        TableColumn(
            "description",
            fmt.t("cluster_features"),
            value=lambda r: clustering.description(
                [(name, v) for name, v in r["distinguishing"]], fmt.locale
            ),
        ),
    ]
    return Exported(columns, rows, CustomerScope(user).masked)
