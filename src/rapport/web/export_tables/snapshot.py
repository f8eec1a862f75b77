"""The tables of a score snapshot the overview and the analysis page show (groups,
movements, RFM grid, CLV distribution, correlations, the degrees per snapshot), as
downloads: figures about groups, naming nobody."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import Request
from sqlalchemy.orm import Session

from rapport.access import CustomerScope, Principal
from rapport.reports import analysis as distributions
from rapport.reports import overview as overview_figures
from rapport.reports import snapshots
from rapport.reports.movers import previous_snapshot
from rapport.reports.prepared import latest_snapshot
from rapport.reports.tables import TableColumn
from rapport.web.export_tables import Exported, fraction
from rapport.web.i18n import Formatter


def _snapshot_table(
    request: Request, user: Principal, read: Callable[[Session, Any, Any, CustomerScope], Any]
) -> list[dict[str, Any]]:
    """``read(session, latest, previous, scope)`` on the latest snapshot (and the one
    before), or no rows without a snapshot."""
    scope = CustomerScope(user)
    with request.app.state.sessions() as session:
        latest = latest_snapshot(session)
        if latest is None:
            return []
        previous = previous_snapshot(session, latest)
        return list(read(session, latest, previous, scope) or [])


def _grouping(request: Request, name: str, default: str) -> str:
    value = request.query_params.get(name)
    return value if value in snapshots.GROUPINGS else default


def _group_label(by: str, fmt: Formatter) -> Callable[[Any], str]:
    def label(value: Any) -> str:
        if value is None:
            return fmt.t("analysis.no_group")
        return snapshots.group_label(by, value, fmt.locale) or str(value)

    return label


def read_groups(request: Request, user: Principal, fmt: Formatter, limit: int) -> Exported:
    """The analysis page's table of a grouping (``by``: RFM segments, value tiers or
    lifecycle stages; :func:`rapport.reports.snapshots.group_summary`)."""
    by = _grouping(request, "by", snapshots.GROUPINGS[0])
    rules = request.app.state.rules
    rows = _snapshot_table(
        request,
        user,
        lambda session, latest, _, scope: snapshots.group_summary(
            session, by=by, day=latest, rules=rules, scope=scope
        ),
    )
    label = _group_label(by, fmt)
    columns = [
        TableColumn("group", fmt.t(by), value=lambda r: label(r["group"])),
        TableColumn("customers", fmt.t("customers"), "integer"),
        TableColumn(
            "customer_share", fmt.t("customer_share"), "percent", fraction("customer_share")
        ),
        TableColumn("revenue", fmt.t("revenue"), "money"),
        TableColumn("revenue_share", fmt.t("revenue_share"), "percent", fraction("revenue_share")),
        TableColumn("avg_relationship_index", fmt.t("degree.relationship_index"), "number"),
    ]
    return Exported(columns, rows, CustomerScope(user).masked)


def read_movements(request: Request, user: Principal, fmt: Formatter, limit: int) -> Exported:
    """The analysis page's movements between the two latest snapshots (``move_by``, as on
    the page; :func:`rapport.reports.snapshots.movements`)."""
    by = _grouping(request, "move_by", snapshots.GROUPINGS[1])
    rows = _snapshot_table(
        request,
        user,
        lambda session, latest, previous, scope: (
            snapshots.movements(session, by=by, before=previous, after=latest, scope=scope)
            if previous
            else []
        ),
    )
    label = _group_label(by, fmt)
    columns = [
        TableColumn("from", fmt.t("analysis.from"), value=lambda r: label(r["from"])),
        TableColumn("to", fmt.t("analysis.to"), value=lambda r: label(r["to"])),
        TableColumn("customers", fmt.t("customers"), "integer"),
    ]
    return Exported(columns, rows, CustomerScope(user).masked)


def read_rfm_grid(request: Request, user: Principal, fmt: Formatter, limit: int) -> Exported:
    """The analysis page's RFM grid, one row per cell holding customers
    (:func:`rapport.reports.analysis.rfm_grid`)."""
    rows = _snapshot_table(
        request,
        user,
        lambda session, latest, _, scope: distributions.rfm_grid(session, day=latest, scope=scope),
    )
    columns = [
        TableColumn("r_score", fmt.t("analysis.r_score"), "integer"),
        TableColumn("f_score", fmt.t("analysis.f_score"), "integer"),
        TableColumn("customers", fmt.t("customers"), "integer"),
        TableColumn("revenue", fmt.t("revenue"), "money"),
    ]
    return Exported(columns, rows, CustomerScope(user).masked)


def read_clv_bins(request: Request, user: Principal, fmt: Formatter, limit: int) -> Exported:
    """The analysis page's predicted CLV distribution
    (:func:`rapport.reports.analysis.clv_distribution`): each bin's bounds, customers and
    predicted CLV."""
    rows = _snapshot_table(
        request,
        user,
        lambda session, latest, _, scope: distributions.clv_distribution(
            session, day=latest, scope=scope
        ),
    )
    columns = [
        TableColumn("low", fmt.t("exports.from_value"), "money"),
        TableColumn("high", fmt.t("exports.below_value"), "money"),
        TableColumn("customers", fmt.t("customers"), "integer"),
        TableColumn("clv", fmt.t("analysis.clv_sum"), "money"),
    ]
    return Exported(columns, rows, CustomerScope(user).masked)


def read_correlations(request: Request, user: Principal, fmt: Formatter, limit: int) -> Exported:
    """The analysis page's correlations of the four degrees and the relationship index, one
    row per pair as the report gives them (:func:`rapport.reports.analysis.degree_correlations`;
    the page shows the same figures as a square)."""
    rows = _snapshot_table(
        request,
        user,
        lambda session, latest, _, scope: distributions.degree_correlations(
            session, day=latest, scope=scope
        ),
    )
    columns = [
        TableColumn("x", fmt.t("exports.degree_x"), value=lambda r: fmt.t(f"degree.{r['x']}")),
        TableColumn("y", fmt.t("exports.degree_y"), value=lambda r: fmt.t(f"degree.{r['y']}")),
        TableColumn("r", fmt.t("exports.pearson_r"), "number"),
        TableColumn("customers", fmt.t("customers"), "integer"),
    ]
    return Exported(columns, rows, CustomerScope(user).masked)


def read_degrees_history(request: Request, user: Principal, fmt: Formatter, limit: int) -> Exported:
    """The overview's four degrees and relationship index averaged per snapshot
    (:func:`rapport.reports.overview.snapshot_history`, the latest 24, oldest first)."""
    scope = CustomerScope(user)
    with request.app.state.sessions() as session:
        rows = overview_figures.snapshot_history(session, scope=scope)
    columns = [TableColumn("as_of", fmt.t("overview.snapshot_date"), "date")]
    columns += [
        TableColumn(f"avg_{name}", fmt.t(f"degree.{name}"), "number") for name in snapshots.AVERAGED
    ]
    columns += [
        TableColumn("customers", fmt.t("customers"), "integer"),
        TableColumn("diamonds", fmt.t("exports.diamonds"), "integer"),
    ]
    return Exported(columns, rows, scope.masked)


def read_value_at_risk(request: Request, user: Principal, fmt: Formatter, limit: int) -> Exported:
    """The overview's value at risk per snapshot (:func:`rapport.reports.overview.
    snapshot_history`, the latest 24, oldest first; the page shows the latest): the
    customers valued, their predicted CLV, the value at risk and its share of the CLV, and
    the customers at risk with theirs. Not measured where no customer has both inputs, as
    on the page."""
    scope = CustomerScope(user)
    with request.app.state.sessions() as session:
        rows = overview_figures.snapshot_history(session, scope=scope)

    def measured(key: str) -> Callable[[Any], Any]:
        return lambda r: r[key] if r["valued"] else None

    level = fmt.percent(overview_figures.AT_RISK)
    columns = [
        TableColumn("as_of", fmt.t("overview.snapshot_date"), "date"),
        TableColumn("valued", fmt.t("exports.valued"), "integer"),
        TableColumn("predicted_clv", fmt.t("column.predicted_clv"), "money"),
        TableColumn("value_at_risk", fmt.t("value_at_risk"), "money", measured("value_at_risk")),
        TableColumn("share", fmt.t("exports.var_share"), "percent", measured("share")),
        TableColumn("at_risk", fmt.t("exports.at_risk_count", level=level), "integer"),
        TableColumn("at_risk_value", fmt.t("exports.at_risk_value", level=level), "money"),
    ]
    return Exported(columns, rows, scope.masked)
