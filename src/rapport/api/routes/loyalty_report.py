"""``GET /loyalty/report``: does the loyalty programme work?

=================================  ================================  ============
route                              roles                             scope
=================================  ================================  ============
GET /loyalty/report                admin, manager, analyst           metrics:read
=================================  ================================  ============

A programme-wide aggregate like ``GET /metrics`` and the monthly report: the roles bound
to a slice of the customers (sales, service) get 403. The engine's figures
(:func:`rapport.reports.loyalty.programme_figures`) run in an analytics worker process
(:mod:`rapport.api.workers`); the vouchers are read in the request's session. The figures
are those of ``rapport loyalty report``.
"""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from rapport.api.deps import RulesDep, SessionDep, SettingsDep, require_role, require_scope
from rapport.api.errors import COMMON_RESPONSES
from rapport.api.periods import AsOfQuery, as_of_moment, utc
from rapport.api.schemas.loyalty_report import LoyaltyReportPublic
from rapport.api.workers import run_in_worker, served_settings
from rapport.domain import Role
from rapport.i18n.loyalty_report import text
from rapport.reports.loyalty import loyalty_report, programme_figures

router = APIRouter(prefix="/loyalty", tags=["loyalty"])

READ = [
    Depends(require_scope("metrics:read")),
    Depends(require_role(Role.ADMIN, Role.MANAGER, Role.ANALYST)),
]


def _aware(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _aware(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_aware(v) for v in value]
    return utc(value)


@router.get(
    "/report", response_model=LoyaltyReportPublic, dependencies=READ, responses=COMMON_RESPONSES
)
def get_loyalty_report(
    request: Request,
    settings: SettingsDep,
    rules: RulesDep,
    session: SessionDep,
    as_of: AsOfQuery = None,
    window_months: Annotated[
        int | None,
        Query(
            ge=1, le=60, description="Months after joining compared (default [loyalty.evaluation])."
        ),
    ] = None,
) -> LoyaltyReportPublic:
    """Members against comparable non-members (matched on their behaviour before joining)
    on retention, purchases, order value and customer value with 95 % intervals; the
    programme's participation, points earned, redeemed and expired, redemption rate,
    breakage, liability and vouchers; members per tier month by month."""
    moment = as_of_moment(as_of, settings)
    months = window_months or rules.loyalty.evaluation.window_months
    figures = run_in_worker(
        programme_figures,
        served_settings(request, settings),
        rules,
        moment,
        months,
        what="loyalty report",
        hint="retry when the server is less busy",
    )
    report = loyalty_report(
        session, figures, settings=settings, rules=rules, as_of=moment, window_months=months
    )
    body = _aware(dataclasses.asdict(report))
    for outcome in body["outcomes"]:
        outcome["label_zh"] = text(f"outcome.{outcome['id']}", "zh_CN")
        outcome["label_en"] = text(f"outcome.{outcome['id']}", "en")
    return LoyaltyReportPublic.model_validate(body)
