"""``/reports``: the monthly management report 月度客户关系报告 as a file.

=================================  ================================  ============
route                              roles                             scope
=================================  ================================  ============
GET /reports/monthly               admin, manager, analyst           metrics:read
=================================  ================================  ============

The report's figures are :func:`rapport.reports.monthly.monthly_report` within the
caller's customer scope (a manager's team; an analyst's lists masked), its metrics
:func:`~rapport.reports.monthly.month_metrics` (company-wide, which is why sales and
service users get 403, as for ``GET /metrics``) run in an analytics worker process; the
file is :func:`rapport.reports.monthly_render.render` — the same file ``rapport report``
writes. Naming the diamonds gained and lost, the report is a read of their personal data,
audited as the other lists are (not for analysts, who see them masked).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from rapport.api.audit import AuditorDep
from rapport.api.deps import (
    CustomerScopeDep,
    RulesDep,
    SessionDep,
    SettingsDep,
    require_role,
    require_scope,
)
from rapport.api.errors import COMMON_RESPONSES
from rapport.api.workers import run_in_worker, served_settings
from rapport.domain import Role
from rapport.i18n.locale import requested_locale
from rapport.reports import monthly
from rapport.reports.monthly_render import (
    FORMATS,
    MEDIA_TYPES,
    check_format,
    file_name,
    render,
)
from rapport.store.scores import snapshot_dates

router = APIRouter(prefix="/reports", tags=["reports"])

READ = [
    Depends(require_scope("metrics:read")),
    Depends(require_role(Role.ADMIN, Role.MANAGER, Role.ANALYST)),
]


@router.get(
    "/monthly",
    dependencies=READ,
    responses={
        **COMMON_RESPONSES,
        200: {"content": {MEDIA_TYPES[f].split(";")[0]: {} for f in FORMATS}},
    },
    response_class=Response,
)
def monthly_report(
    request: Request,
    settings: SettingsDep,
    rules: RulesDep,
    session: SessionDep,
    scope: CustomerScopeDep,
    auditor: AuditorDep,
    month: Annotated[str, Query(max_length=7, description="The month, e.g. 2026-11.")],
    format: Annotated[str, Query(description="pdf, html or xlsx.")] = "pdf",
    lang: Annotated[
        str | None, Query(max_length=8, description="zh_CN or en (default: the server's).")
    ] = None,
) -> Response:
    """The monthly management report of ``month`` as a PDF, HTML or XLSX file: the month's
    score snapshot against the latest before the month, the calendar month's metrics
    against the month before. A month without a snapshot is a 404 naming the months that
    have one."""
    check_format(format)
    locale = settings.locale if lang is None else requested_locale(lang, option="lang")
    monthly.report_snapshots(snapshot_dates(session=session), month)
    metrics = run_in_worker(
        monthly.month_metrics,
        served_settings(request, settings),
        rules,
        month,
        what="monthly report's metrics",
        hint="retry when the server is less busy",
    )
    report = monthly.monthly_report(
        session, month=month, rules=rules, locale=locale, metrics=metrics, scope=scope
    )
    if not scope.masked:  # the diamonds gained and lost are named
        ids = [m["customer_id"] for m in report["diamonds"]["movers"]]
        auditor.read_personal_data("customers", ids, route="reports.monthly")
    data = render(report, format, locale=locale, tz=settings.tz)
    return Response(
        content=data,
        media_type=MEDIA_TYPES[format],
        headers={"Content-Disposition": f'attachment; filename="{file_name(report, format)}"'},
    )
