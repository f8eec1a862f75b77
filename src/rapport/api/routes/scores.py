"""The per-customer scores of the snapshots ``rapport score`` writes (``customer_scores``):
one customer's scores and history, group summaries of a snapshot (RFM segments, value
tiers, lifecycle stages), and the lists staff act on — diamond customers, churn warnings
by value at risk, the highest predicted CLV.

Everything is read from the stored snapshot rows through the request's session (the rows
are precomputed, as the web app reads them), never recomputed.

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
book's; for admins and analysts they equal ``rapport tiers``). Lists leave out deleted
customers; every row says whether the customer may receive marketing (``marketable``:
consent given, not opted out, not erased), and ``?marketable=true`` keeps only those — a
list taken for a campaign never holds anyone else. Lists showing unmasked names are
audited like customer reads.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from decimal import Decimal
from typing import Annotated, Any

import sqlalchemy as sa
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
from rapport.api.masking import mask_identifier, mask_name
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
from rapport.domain import LifecycleStage, ValueTier
from rapport.errors import NotFound
from rapport.i18n.enums import label
from rapport.i18n.labels import t
from rapport.store import schema

router = APIRouter(tags=["scores"])

_s = schema.customer_scores.c
_c = schema.customers.c
ENTITY = "customers"
#: Churn warnings read before the reasons are checked (value at risk is ordered in SQL).
CANDIDATES = 500
AVERAGED = ("satisfaction", "loyalty", "engagement", "advocacy", "relationship_index")
HISTORY_KEYS = tuple(ScoreHistoryEntry.model_fields)

READ = [Depends(require_scope("scores:read"))]
CustomerId = Annotated[int, Path(ge=1, description="The customer's id.")]
AsOf = Annotated[
    dt.date | None, Query(description="The snapshot's date (default: the latest stored).")
]
Limit = Annotated[int, Query(ge=1, le=500, description="Rows (highest first).")]
Marketable = Annotated[
    bool | None,
    Query(description="true: only customers who may receive marketing; false: only others."),
]
Lang = Annotated[
    str | None,
    Query(pattern="^(zh_CN|en)$", description="Language of the reasons (default: RAPPORT_LOCALE)."),
]


def _float(value: Any) -> float | None:
    if value is None:
        return None
    value = float(value) if isinstance(value, Decimal | int | float) else value
    return None if isinstance(value, float) and not math.isfinite(value) else value


def _components(value: Any) -> dict[str, Any]:
    if isinstance(value, str):
        return json.loads(value)
    return value or {}


def _enum_value(value: Any) -> Any:
    return getattr(value, "value", value)


def _marketable() -> sa.ColumnElement[bool]:
    return sa.and_(
        _c.marketing_consent.is_(True), _c.marketing_opt_out.is_(False), _c.erased_at.is_(None)
    )


def _snapshot_day(session: Session, as_of: dt.date | None) -> dt.date:
    """``as_of``, or the latest snapshot date; 404 when there is no such snapshot."""
    if as_of is None:
        day = session.execute(sa.select(sa.func.max(_s.as_of))).scalar()
    else:
        day = session.execute(
            sa.select(_s.as_of).where(_s.as_of == as_of).limit(1)
        ).scalar_one_or_none()
    if day is None:
        raise NotFound(
            "no score snapshot" + (f" dated {as_of}" if as_of else ""),
            table="customer_scores",
            field="as_of",
            value=str(as_of) if as_of else None,
            hint="run `rapport score` first" if as_of is None else "omit as_of for the latest",
        )
    return day


def _where(scope: CustomerScope, day: dt.date, marketable: bool | None) -> list[Any]:
    """Conditions of a list: the snapshot, customers in scope, not deleted, marketability."""
    conditions: list[Any] = [_s.as_of == day, _c.deleted_at.is_(None)]
    clause = scope.clause()
    if clause is not None:
        conditions.append(clause)
    if marketable is not None:
        conditions.append(_marketable() if marketable else sa.not_(_marketable()))
    return conditions


def _who(row: dict[str, Any], scope: CustomerScope) -> dict[str, Any]:
    return {
        "customer_id": row["customer_id"],
        "external_id": mask_identifier(row["external_id"]) if scope.masked else row["external_id"],
        "name": mask_name(row["name"]) if scope.masked else row["name"],
        "city": row["city"],
        "marketable": bool(row["marketable"]),
        "value_tier": _enum_value(row["value_tier"]),
        "lifecycle_stage": _enum_value(row["lifecycle_stage"]),
    }


_WHO = (
    _s.customer_id,
    _c.external_id,
    _c.name,
    _c.city,
    sa.case((_marketable(), True), else_=False).label("marketable"),
    _s.value_tier,
    _s.lifecycle_stage,
)


def _audit(auditor: Auditor, scope: CustomerScope, ids: list[int], route: str) -> None:
    if not scope.masked:
        auditor.read_personal_data(ENTITY, ids, route=route)


# --- one customer --------------------------------------------------------------------------


@router.get(
    "/customers/{customer_id}/scores",
    response_model=CustomerScores,
    dependencies=READ,
    responses={**COMMON_RESPONSES, **NOT_FOUND_RESPONSE},
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
    scope.get(session=session, id=customer_id)
    stmt = sa.select(schema.customer_scores).where(_s.customer_id == customer_id)
    if as_of is not None:
        stmt = stmt.where(_s.as_of == as_of)
    latest = session.execute(stmt.order_by(_s.as_of.desc()).limit(1)).mappings().first()
    entries: list[ScoreHistoryEntry] = []
    if history:
        columns = [_s[k] for k in HISTORY_KEYS]
        rows = session.execute(
            sa.select(*columns)
            .where(_s.customer_id == customer_id)
            .order_by(_s.as_of.desc())
            .limit(history)
        ).mappings()
        entries = [
            ScoreHistoryEntry(
                **{k: _float(v) if isinstance(v, Decimal) else _enum_value(v) for k, v in r.items()}
            )
            for r in rows
        ]
    snapshot = None
    if latest is not None:
        values = {k: _enum_value(v) for k, v in latest.items()}
        values["monetary"] = _float(values["monetary"])
        values["predicted_clv"] = _float(values["predicted_clv"])
        snapshot = ScoreSnapshot.model_validate(values)
    return CustomerScores(customer_id=customer_id, scores=snapshot, history=entries)


# --- group summaries -----------------------------------------------------------------------


def _labels(by: str, value: str | None) -> tuple[str | None, str | None]:
    if value is None:
        return None, None
    try:
        if by == "rfm_segment":
            return t(f"segment.{value}", "zh_CN"), t(f"segment.{value}", "en")
        member = ValueTier(value) if by == "value_tier" else LifecycleStage(value)
    except ValueError:
        return value, value
    return label(member, "zh_CN"), label(member, "en")


def _order(by: str, rules: Rules) -> list[str]:
    if by == "rfm_segment":
        return list(dict.fromkeys(rule.id for rule in rules.scores.rfm.segments))
    if by == "value_tier":
        return [v.value for v in ValueTier]
    return [v.value for v in LifecycleStage]


def group_summary(
    *, session: Session, scope: CustomerScope, by: str, day: dt.date, rules: Rules
) -> list[GroupSummary]:
    """:func:`rapport.analytics.snapshots.group_summary` over the snapshot rows of the
    customers in ``scope``, in SQL: per group the customers, their share, the window
    revenue and its share, and the mean of each degree (over customers for whom it is
    known)."""
    column = _s[by]
    stmt = (
        sa.select(
            column.label("group"),
            sa.func.count().label("customers"),
            sa.func.coalesce(sa.func.sum(_s.monetary), 0).label("revenue"),
            *(sa.func.avg(_s[name]).label(f"avg_{name}") for name in AVERAGED),
        )
        .select_from(schema.customer_scores.join(schema.customers, _c.id == _s.customer_id))
        .where(_s.as_of == day)
        .group_by(column)
    )
    clause = scope.clause()
    if clause is not None:
        stmt = stmt.where(clause)
    rows = [dict(r) for r in session.execute(stmt).mappings()]
    total = sum(r["customers"] for r in rows)
    revenue = sum(float(r["revenue"]) for r in rows)
    rank = {value: i for i, value in enumerate(_order(by, rules))}
    out = []
    for r in rows:
        group = _enum_value(r["group"])
        zh, en = _labels(by, group)
        out.append(
            GroupSummary(
                group=group,
                label_zh=zh,
                label_en=en,
                customers=r["customers"],
                customer_share=r["customers"] * 100 / total,
                revenue=float(r["revenue"]),
                revenue_share=float(r["revenue"]) * 100 / revenue if revenue else None,
                **{f"avg_{n}": _float(r[f"avg_{n}"]) for n in AVERAGED},
            )
        )
    out.sort(key=lambda g: rank.get(g.group, len(rank)) if g.group else len(rank) + 1)
    return out


def _summaries(
    by: str, session: Session, scope: CustomerScope, rules: Rules, as_of: dt.date | None
) -> GroupSummaries:
    day = _snapshot_day(session, as_of)
    data = group_summary(session=session, scope=scope, by=by, day=day, rules=rules)
    return GroupSummaries(as_of=day, by=by, data=data)


_SUMMARY = {
    "response_model": GroupSummaries,
    "dependencies": READ,
    "responses": {**COMMON_RESPONSES, **NOT_FOUND_RESPONSE},
}


@router.get("/scores/segments", **_SUMMARY)
def score_segments(
    session: SessionDep, scope: CustomerScopeDep, rules: RulesDep, as_of: AsOf = None
) -> GroupSummaries:
    """RFM segments of a snapshot: customers, revenue and their shares, mean degrees."""
    return _summaries("rfm_segment", session, scope, rules, as_of)


@router.get("/scores/tiers", **_SUMMARY)
def score_tiers(
    session: SessionDep, scope: CustomerScopeDep, rules: RulesDep, as_of: AsOf = None
) -> GroupSummaries:
    """Value tiers (diamond, gold, silver, bronze) of a snapshot."""
    return _summaries("value_tier", session, scope, rules, as_of)


@router.get("/scores/stages", **_SUMMARY)
def score_stages(
    session: SessionDep, scope: CustomerScopeDep, rules: RulesDep, as_of: AsOf = None
) -> GroupSummaries:
    """Lifecycle stages of a snapshot."""
    return _summaries("lifecycle_stage", session, scope, rules, as_of)


# --- lists ---------------------------------------------------------------------------------

_LIST = {"dependencies": READ, "responses": {**COMMON_RESPONSES, **NOT_FOUND_RESPONSE}}


@router.get("/scores/diamonds", response_model=Diamonds, **_LIST)
def score_diamonds(
    session: SessionDep,
    scope: CustomerScopeDep,
    auditor: AuditorDep,
    rules: RulesDep,
    settings: SettingsDep,
    as_of: AsOf = None,
    limit: Limit = 50,
    marketable: Marketable = None,
    lang: Lang = None,
) -> Diamonds:
    """The diamond customers 钻石客户 of a snapshot, highest window revenue first, with the
    checks that make them diamond."""
    from rapport.cli.scores import tier_reasons

    day = _snapshot_day(session, as_of)
    stmt = (
        sa.select(
            *_WHO,
            _s.monetary,
            _s.frequency,
            _s.recency_days,
            *(_s[n] for n in AVERAGED),
            _s.rfm_segment,
            _s.churn_risk,
            _s.predicted_clv,
            _s.components,
        )
        .join(schema.customers, _c.id == _s.customer_id)
        .where(*_where(scope, day, marketable), _s.value_tier == ValueTier.DIAMOND.value)
        .order_by(_s.monetary.desc(), _s.customer_id)
        .limit(limit)
    )
    locale = lang or settings.locale
    data = []
    for row in session.execute(stmt).mappings():
        r = dict(row)
        r["components"] = _components(r["components"])
        met, _ = tier_reasons({**r, "value_tier": ValueTier.DIAMOND.value}, rules, locale)
        data.append(
            Diamond(
                **_who(r, scope),
                monetary=_float(r["monetary"]),
                frequency=r["frequency"],
                recency_days=r["recency_days"],
                **{n: _float(r[n]) for n in AVERAGED},
                rfm_segment=r["rfm_segment"],
                churn_risk=_float(r["churn_risk"]),
                predicted_clv=_float(r["predicted_clv"]),
                reasons=met,
            )
        )
    _audit(auditor, scope, [d.customer_id for d in data], "scores.diamonds")
    return Diamonds(as_of=day, masked=scope.masked, count=len(data), data=data)


@router.get("/scores/at-risk", response_model=ChurnWarnings, **_LIST)
def score_at_risk(
    session: SessionDep,
    scope: CustomerScopeDep,
    auditor: AuditorDep,
    as_of: AsOf = None,
    limit: Limit = 50,
    min_risk: Annotated[float, Query(ge=0, le=1, description="Lowest churn risk listed.")] = 0.5,
    marketable: Marketable = None,
) -> ChurnWarnings:
    """The churn warnings 流失预警 of a snapshot: customers the churn classifier rates at
    or above ``min_risk``, by value at risk (churn risk × predicted CLV), with the reasons
    that raise their risk most."""
    day = _snapshot_day(session, as_of)
    value_at_risk = (_s.churn_risk * _s.predicted_clv).label("value_at_risk")
    stmt = (
        sa.select(*_WHO, _s.churn_risk, _s.predicted_clv, value_at_risk, _s.components)
        .join(schema.customers, _c.id == _s.customer_id)
        .where(
            *_where(scope, day, marketable),
            _s.churn_risk >= min_risk,
            _s.predicted_clv.is_not(None),
        )
        .order_by(value_at_risk.desc(), _s.customer_id)
    )
    data: list[ChurnWarning] = []
    # Only the classifier's warnings count (a heuristic risk has no reasons); read in
    # batches until ``limit`` are found, at most CANDIDATES rows.
    for row in session.execute(stmt.limit(max(CANDIDATES, limit))).mappings():
        churn = _components(row["components"]).get("churn") or {}
        if churn.get("source") != "classifier":
            continue
        reasons = [r for r in churn.get("reasons") or [] if r.get("direction") == "raises"]
        data.append(
            ChurnWarning(
                **_who(dict(row), scope),
                churn_risk=float(row["churn_risk"]),
                predicted_clv=float(row["predicted_clv"]),
                value_at_risk=float(row["value_at_risk"]),
                reasons=reasons,
            )
        )
        if len(data) >= limit:
            break
    _audit(auditor, scope, [d.customer_id for d in data], "scores.at_risk")
    return ChurnWarnings(as_of=day, masked=scope.masked, count=len(data), data=data)


@router.get("/scores/clv", response_model=ClvList, **_LIST)
def score_clv(
    session: SessionDep,
    scope: CustomerScopeDep,
    auditor: AuditorDep,
    as_of: AsOf = None,
    limit: Limit = 50,
    marketable: Marketable = None,
) -> ClvList:
    """The customers with the highest predicted CLV in a snapshot, with its 95 % interval
    and P(alive)."""
    day = _snapshot_day(session, as_of)
    stmt = (
        sa.select(*_WHO, _s.p_alive, _s.expected_purchases_90d, _s.predicted_clv, _s.components)
        .join(schema.customers, _c.id == _s.customer_id)
        .where(*_where(scope, day, marketable), _s.predicted_clv.is_not(None))
        .order_by(_s.predicted_clv.desc(), _s.customer_id)
        .limit(limit)
    )
    data = []
    for row in session.execute(stmt).mappings():
        prediction = _components(row["components"]).get("prediction") or {}
        data.append(
            ClvEntry(
                **_who(dict(row), scope),
                predicted_clv=float(row["predicted_clv"]),
                clv_low=_float(prediction.get("clv_low")),
                clv_high=_float(prediction.get("clv_high")),
                p_alive=_float(row["p_alive"]),
                expected_purchases_90d=_float(row["expected_purchases_90d"]),
            )
        )
    _audit(auditor, scope, [d.customer_id for d in data], "scores.clv")
    return ClvList(as_of=day, masked=scope.masked, count=len(data), data=data)
