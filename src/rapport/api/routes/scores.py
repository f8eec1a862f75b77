"""The per-customer scores of the snapshots ``rapport score`` writes (``customer_scores``):
one customer's scores and history, group summaries of a snapshot (RFM segments, value
tiers, lifecycle stages), and the lists staff act on — diamond customers, churn warnings
by value at risk, the highest predicted CLV.

Every route calls one report of :mod:`rapport.reports.snapshots` with the caller's scope,
through the request's session (the snapshot rows are precomputed, as the web app reads
them, never recomputed; names masked for analysts) and audits the names it shows; the
reports and ``rapport segments|tiers|stages|diamonds|clv|at-risk`` are the same functions.

==========================================  ====================  ============
route                                       roles                 scope
==========================================  ====================  ============
GET /customers/{id}/scores                  all (scoped)          scores:read
GET /scores/segments | tiers | stages       all (scoped)          scores:read
GET /scores/diamonds | at-risk | clv        all (scoped; analysts  scores:read
                                            see external ids and
                                            names masked)
==========================================  ====================  ============

Row-level access is :class:`~rapport.api.deps.CustomerScope`'s: a customer outside the
caller's scope is a 404 exactly like a missing one, the lists hold only customers in
scope, and the group summaries count only them (so a sales user's tiers are their own
book's; for admins and analysts they equal ``rapport tiers``). Deleted customers are in
no report, summaries and lists alike. Every list row says whether the customer may
receive marketing (``marketable``: consent given, not opted out, not erased), and
``?marketable=true`` keeps only those — a list taken for a campaign never holds anyone
else. The lists page as every list does (:mod:`rapport.api.pagination`: ``limit``,
``cursor``, ``next_cursor``, ``count`` of all), in their own order, ties by customer id.
Lists showing unmasked names are audited like customer reads.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Path, Query
from sqlalchemy.orm import Session

from rapport.api.audit import Auditor, AuditorDep
from rapport.api.deps import (
    CustomerScope,
    CustomerScopeDep,
    RulesDep,
    SessionDep,
    SettingsDep,
    require_scope,
)
from rapport.api.errors import COMMON_RESPONSES, NOT_FOUND_RESPONSE
from rapport.api.pagination import PageDep
from rapport.api.schemas.customers import ScoreSnapshot
from rapport.api.schemas.scores import (
    ChurnWarning,
    ChurnWarnings,
    ClvEntry,
    ClvList,
    CustomerScores,
    Diamond,
    Diamonds,
    GroupSummaries,
    GroupSummary,
    ScoreHistoryEntry,
)
from rapport.config import Rules
from rapport.reports import snapshots as reports

router = APIRouter(tags=["scores"])

ENTITY = "customers"
L = TypeVar("L", Diamonds, ChurnWarnings, ClvList)

READ = [Depends(require_scope("scores:read"))]
RESPONSES = {**COMMON_RESPONSES, **NOT_FOUND_RESPONSE}
CustomerId = Annotated[int, Path(ge=1, description="The customer's id.")]
AsOf = Annotated[
    dt.date | None, Query(description="The snapshot's date (default: the latest stored).")
]
Marketable = Annotated[
    bool | None,
    Query(description="true: only customers who may receive marketing; false: only others."),
]
Lang = Annotated[
    str | None,
    Query(pattern="^(zh_CN|en)$", description="Language of the reasons (default: RAPPORT_LOCALE)."),
]


def _snapshot_page(
    model: type[L],
    item: Callable[..., Any],
    found: Any,
    *,
    day: dt.date,
    scope: CustomerScope,
    auditor: Auditor,
    route: str,
) -> L:
    """A page of a snapshot's list of customers (``found``: a report's page of rows, each
    shown as ``item``), its read of personal data audited unless masked."""
    data = [item(**r) for r in found.rows]
    ids = [d.customer_id for d in data]
    auditor.read_personal_data(ENTITY, ids, route=route, masked=scope.masked)
    return model(
        as_of=day, masked=scope.masked, data=data, count=found.total, next_cursor=found.next_cursor
    )


# --- one customer --------------------------------------------------------------------------


@router.get(
    "/customers/{customer_id}/scores",
    response_model=CustomerScores,
    dependencies=READ,
    responses=RESPONSES,
)
def get_customer_scores(
    customer_id: CustomerId,
    session: SessionDep,
    scope: CustomerScopeDep,
    as_of: AsOf = None,
    history: Annotated[int, Query(ge=0, le=500, description="Snapshots in history.")] = 24,
) -> CustomerScores:
    """The customer's latest score snapshot (or the one dated ``as_of``) with the
    components behind each score, and the headline scores of their snapshots, newest
    first."""
    found = reports.customer_scores(
        session, customer_id=customer_id, as_of=as_of, history=history, scope=scope
    )
    snapshot = found["scores"]
    return CustomerScores(
        customer_id=customer_id,
        scores=None if snapshot is None else ScoreSnapshot.model_validate(snapshot),
        history=[ScoreHistoryEntry(**entry) for entry in found["history"]],
    )


# --- group summaries -----------------------------------------------------------------------


def _summaries(
    by: str, session: Session, scope: CustomerScope, rules: Rules, as_of: dt.date | None
) -> GroupSummaries:
    day = reports.snapshot_day(session, as_of)
    rows = reports.group_summary(session, by=by, day=day, rules=rules, scope=scope)
    data = [
        GroupSummary(
            **r,
            label_zh=reports.group_label(by, r["group"], "zh_CN"),
            label_en=reports.group_label(by, r["group"], "en"),
        )
        for r in rows
    ]
    return GroupSummaries(as_of=day, by=by, data=data)


@router.get(
    "/scores/segments", response_model=GroupSummaries, dependencies=READ, responses=RESPONSES
)
def score_segments(
    session: SessionDep, scope: CustomerScopeDep, rules: RulesDep, as_of: AsOf = None
) -> GroupSummaries:
    """RFM segments of a snapshot: customers, revenue and their shares, mean degrees."""
    return _summaries("rfm_segment", session, scope, rules, as_of)


@router.get("/scores/tiers", response_model=GroupSummaries, dependencies=READ, responses=RESPONSES)
def score_tiers(
    session: SessionDep, scope: CustomerScopeDep, rules: RulesDep, as_of: AsOf = None
) -> GroupSummaries:
    """Value tiers (diamond, gold, silver, bronze) of a snapshot."""
    return _summaries("value_tier", session, scope, rules, as_of)


@router.get("/scores/stages", response_model=GroupSummaries, dependencies=READ, responses=RESPONSES)
def score_stages(
    session: SessionDep, scope: CustomerScopeDep, rules: RulesDep, as_of: AsOf = None
) -> GroupSummaries:
    """Lifecycle stages of a snapshot."""
    return _summaries("lifecycle_stage", session, scope, rules, as_of)


# --- lists ---------------------------------------------------------------------------------


@router.get("/scores/diamonds", response_model=Diamonds, dependencies=READ, responses=RESPONSES)
def score_diamonds(
    session: SessionDep,
    scope: CustomerScopeDep,
    auditor: AuditorDep,
    rules: RulesDep,
    settings: SettingsDep,
    page: PageDep,
    as_of: AsOf = None,
    marketable: Marketable = None,
    lang: Lang = None,
) -> Diamonds:
    """The diamond customers 钻石客户 of a snapshot, highest window revenue first, with the
    checks that make them diamond; one page at a time (follow ``next_cursor``)."""
    day = reports.snapshot_day(session, as_of)
    found = reports.diamonds(
        session,
        day=day,
        rules=rules,
        locale=lang or settings.locale,
        scope=scope,
        marketable_only=marketable,
        page=page,
    )
    return _snapshot_page(
        Diamonds, Diamond, found, day=day, scope=scope, auditor=auditor, route="scores.diamonds"
    )


@router.get("/scores/at-risk", response_model=ChurnWarnings, dependencies=READ, responses=RESPONSES)
def score_at_risk(
    session: SessionDep,
    scope: CustomerScopeDep,
    auditor: AuditorDep,
    page: PageDep,
    as_of: AsOf = None,
    min_risk: Annotated[float, Query(ge=0, le=1, description="Lowest churn risk listed.")] = 0.5,
    marketable: Marketable = None,
) -> ChurnWarnings:
    """The churn warnings 流失预警 of a snapshot: customers the churn classifier rates at
    or above ``min_risk``, by value at risk (churn risk × predicted CLV), with the reasons
    that raise their risk most; one page at a time (follow ``next_cursor``)."""
    day = reports.snapshot_day(session, as_of)
    found = reports.churn_warnings(
        session, day=day, min_risk=min_risk, scope=scope, marketable_only=marketable, page=page
    )
    return _snapshot_page(
        ChurnWarnings,
        ChurnWarning,
        found,
        day=day,
        scope=scope,
        auditor=auditor,
        route="scores.at_risk",
    )


@router.get("/scores/clv", response_model=ClvList, dependencies=READ, responses=RESPONSES)
def score_clv(
    session: SessionDep,
    scope: CustomerScopeDep,
    auditor: AuditorDep,
    page: PageDep,
    as_of: AsOf = None,
    marketable: Marketable = None,
) -> ClvList:
    """The customers with the highest predicted CLV in a snapshot, with its 95 % interval
    and P(alive); one page at a time (follow ``next_cursor``)."""
    day = reports.snapshot_day(session, as_of)
    found = reports.top_clv(session, day=day, scope=scope, marketable_only=marketable, page=page)
    return _snapshot_page(
        ClvList, ClvEntry, found, day=day, scope=scope, auditor=auditor, route="scores.clv"
    )
