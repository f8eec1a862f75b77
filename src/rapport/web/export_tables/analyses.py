"""The overview's metrics and the analysis page's analyses run in a worker (the explorer,
cohorts, the chain of the degrees, clusters), as downloads: each the fragment's own
result, kept or from a worker."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from fastapi import Request

from rapport.access import CustomerScope, Principal
from rapport.analytics.metrics import METRICS
from rapport.i18n.playbooks import text as playbook_text
from rapport.models import clusters as clustering
from rapport.reports import overview as overview_figures
from rapport.reports.tables import TableColumn
from rapport.web.export_tables import Exported, fraction
from rapport.web.figures import analysis as analysis_ui
from rapport.web.figures import overview as overview_ui
from rapport.web.i18n import Formatter
from rapport.web.views import analysis as analysis_view
from rapport.web.views import overview as overview_view
from rapport.web.views import playbooks as playbooks_view


def read_headline(request: Request, user: Principal, fmt: Formatter, limit: int) -> Exported:
    """The overview's headline metrics of its ``period`` (:func:`rapport.reports.overview.
    metric_overview`, the company's, as the page shows them): each metric's value, the
    previous period's and the change, in the metric's unit (percent metrics 0–100)."""
    result = overview_view.headline_metrics(request)
    rows = [
        {
            "metric": overview_ui.metric_label(metric_id, fmt),
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
    label = analysis_ui.metric_label(q["metric"], fmt)
    columns = [TableColumn("metric", fmt.t("exports.metric"), value=lambda r: label)]
    if q["by"]:
        columns.append(
            TableColumn(
                "segment",
                fmt.t(f"analysis.by_{q['by']}"),
                value=lambda r: analysis_ui.segment_label(q["by"], r.get("segment"), fmt),
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


def read_trends(request: Request, user: Principal, fmt: Formatter, limit: int) -> Exported:
    """The overview's monthly series of its ``period`` (:func:`rapport.reports.overview.
    metric_overview`'s ``series``, the page's kept result or a worker): the trends chart and
    table (retention, churn, NPS, CSAT) and the headline cards' sparklines, one row per
    month, a column per metric in its unit (percent metrics 0–100)."""
    result = overview_view.headline_metrics(request)
    ids = list(dict.fromkeys((*overview_figures.TRENDS, *overview_figures.HEADLINE)))
    rows = [
        {"month": month["start"], **{m: result["series"][m][i] for m in ids}}
        for i, month in enumerate(result["months"])
    ]
    columns = [
        TableColumn(
            "month",
            fmt.t("overview.month"),
            "date",
            value=lambda r: r["month"].replace(tzinfo=dt.UTC).astimezone(fmt.zone).date(),
        )
    ]
    columns += [
        TableColumn(
            m,
            f"{overview_ui.metric_label(m, fmt)} ({fmt.t(f'exports.unit_{METRICS[m].unit}')})",
            "number",
        )
        for m in ids
    ]
    return Exported(columns, rows, CustomerScope(user).masked)


def read_accuracy(request: Request, user: Principal, fmt: Formatter, limit: int) -> Exported:
    """The analysis page's model accuracy: the latest saved fit of each model
    (:func:`rapport.web.views.analysis.model_fits`), when it was fitted, the data's last
    day, its customers and log-likelihood."""
    rows = analysis_view.model_fits(request)

    def last_day(row: Mapping[str, Any]) -> dt.date | None:
        moment = row["data_until"]
        return None if moment is None else moment.replace(tzinfo=dt.UTC).astimezone(fmt.zone).date()

    columns = [
        TableColumn(
            "kind", fmt.t("analysis.model"), value=lambda r: fmt.t(f"analysis.model.{r['kind']}")
        ),
        TableColumn("fitted_at", fmt.t("analysis.fitted_at"), "datetime"),
        TableColumn("data_until", fmt.t("analysis.data_as_of"), "date", value=last_day),
        TableColumn("customers", fmt.t("analysis.model_rows"), "integer"),
        TableColumn("log_likelihood", fmt.t("analysis.log_likelihood"), "number"),
    ]
    return Exported(columns, rows, CustomerScope(user).masked)


def read_demographics(request: Request, user: Principal, fmt: Formatter, limit: int) -> Exported:
    """The analysis page's demographics of the clusters (:func:`rapport.web.views.analysis.
    clusters_of`, :func:`rapport.models.clusters.demography_grid`): one row per cluster,
    demographic and value the page shows, with the share of the cluster's customers."""
    found = analysis_view.clusters_of(request)
    rows: list[dict[str, Any]] = []
    if found:
        k = len(found["clusters"])
        for name, breakdown in found["demographics"].items():
            values, grid = clustering.demography_grid(breakdown, k, name=name)
            rows += [
                {"cluster": c, "name": name, "value": v, "share": grid[c][i]}
                for c in range(k)
                for i, v in enumerate(values)
            ]

    def value(row: Mapping[str, Any]) -> str:
        if row["value"] is None:
            return fmt.t("analysis.no_group")
        return fmt.value("customers", row["name"], row["value"])

    columns = [
        TableColumn(
            "cluster",
            fmt.t("cluster"),
            value=lambda r: fmt.t("analysis.cluster_n", n=r["cluster"] + 1),
        ),
        TableColumn("name", fmt.t("exports.demographic"), value=lambda r: fmt.t(r["name"])),
        TableColumn("value", fmt.t("exports.demographic_value"), value=value),
        TableColumn("share", fmt.t("customer_share"), "percent"),
    ]
    return Exported(columns, rows, CustomerScope(user).masked)


def read_cluster_scores(request: Request, user: Principal, fmt: Formatter, limit: int) -> Exported:
    """The analysis page's candidate numbers of clusters and their scores under the
    clustering's criterion (:func:`rapport.web.views.analysis.clusters_of`), which was
    chosen and which were excluded."""
    found = analysis_view.clusters_of(request)
    rows = []
    if found:
        rows = [
            {"k": k, "score": score, "chosen": k == found["k"], "excluded": k in found["excluded"]}
            for k, score in found["silhouettes"].items()
        ]

    def verdict(row: Mapping[str, Any]) -> str | None:
        if row["chosen"]:
            return fmt.t("analysis.clusters_chosen")
        return fmt.t("analysis.clusters_excluded") if row["excluded"] else None

    criterion = fmt.t(f"analysis.criterion_{found['criterion']}") if found else ""
    columns = [
        TableColumn("k", fmt.t("exports.clusters_k"), "integer"),
        TableColumn("score", criterion or fmt.t("exports.value"), "number"),
        TableColumn("chosen", fmt.t("exports.clusters_choice"), value=verdict),
    ]
    return Exported(columns, rows, CustomerScope(user).masked)


def read_playbooks(request: Request, user: Principal, fmt: Formatter, limit: int) -> Exported:
    """The playbooks page's table (:func:`rapport.web.views.playbooks.playbook_rows`): each
    playbook, whether it runs, its trigger and actions, its enrolments, the latest day's
    figures and its measured effect with the intervals (rates as fractions)."""
    _, rows = playbooks_view.playbook_rows(request, fmt.locale)

    def pt(key: str) -> str:
        return playbook_text(key, fmt.locale)

    def day(key: str) -> Any:
        return lambda r: (r["day"] or {}).get(key)

    def effect(path: str) -> Any:
        def value(row: Mapping[str, Any]) -> Any:
            found: Any = row["effect"]
            for name in path.split("."):
                found = None if found is None else getattr(found, name)
            return found

        return value

    on = fmt.t("playbooks_web.on")
    off = fmt.t("playbooks_web.off")
    columns = [
        TableColumn("code", pt("playbooks.code")),
        TableColumn("name", pt("playbooks.name")),
        TableColumn(
            "enabled", pt("playbooks.enabled"), value=lambda r: on if r["enabled"] else off
        ),
        TableColumn("trigger", pt("playbooks.trigger")),
        TableColumn("actions", pt("playbooks.actions")),
        TableColumn("enrolled", pt("playbooks.enrolled"), "integer"),
        TableColumn("treated", fmt.t("exports.treated"), "integer"),
        TableColumn("held_out", fmt.t("exports.held_out"), "integer"),
    ]
    columns += [
        TableColumn(
            f"day_{k}", f"{pt('run.' + k)} ({fmt.t('playbooks_web.last_run')})", "integer", day(k)
        )
        for k in playbooks_view.DAY_FIGURES
    ]
    columns += [
        TableColumn("treated_rate", pt("effect.treated_rate"), "percent", effect("treated.rate")),
        TableColumn("holdout_rate", pt("effect.holdout_rate"), "percent", effect("holdout.rate")),
        TableColumn("uplift", pt("effect.uplift"), "percent", effect("rate_difference")),
        TableColumn(
            "uplift_low",
            fmt.t("exports.interval_low"),
            "percent",
            effect("rate_difference_interval.low"),
        ),
        TableColumn(
            "uplift_high",
            fmt.t("exports.interval_high"),
            "percent",
            effect("rate_difference_interval.high"),
        ),
        TableColumn(
            "incremental_revenue",
            pt("effect.incremental_revenue"),
            "money",
            effect("incremental_revenue"),
        ),
        TableColumn(
            "incremental_revenue_low",
            fmt.t("exports.interval_low"),
            "money",
            effect("incremental_revenue_interval.low"),
        ),
        TableColumn(
            "incremental_revenue_high",
            fmt.t("exports.interval_high"),
            "money",
            effect("incremental_revenue_interval.high"),
        ),
        TableColumn("net_return", pt("effect.net_return"), "money", effect("net_return")),
    ]
    return Exported(columns, rows, CustomerScope(user).masked)
