"""``/campaigns``: campaigns (create, read, change, delete) and their deliveries (list,
record), and the campaign's audience export — honouring consent and opt-out.

==========================================  ===========================  ===============
route                                       roles                        scope
==========================================  ===========================  ===============
GET /campaigns, GET /campaigns/{id}         all                          campaigns:read
POST /campaigns, PATCH /{id}, DELETE /{id}  admin, manager               campaigns:write
GET /campaigns/{id}/deliveries              all (deliveries to           campaigns:read
                                            customers in scope)
POST /campaigns/{id}/deliveries             admin, manager               campaigns:write
GET /campaigns/{id}/audience                admin, manager, sales        campaigns:read
==========================================  ===========================  ===============

**Consent.** A delivery may be recorded only for a customer who may receive marketing:
consent given, no opt-out, not erased. Any other customer refuses the whole batch with
409 naming the customer (``body.deliveries.<i>.customer_id``) and the reason. The
audience export lists only the campaign's contacted (not held-out) customers who are
marketable *now* — a customer who opted out after the delivery is left out.
Campaigns hold no personal data; deliveries show customer ids only, within the caller's
:class:`~rapport.api.deps.CustomerScope`.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Path, Query, Response
from sqlalchemy.orm import Session

from rapport.api.audit import AuditorDep
from rapport.api.deps import (
    CustomerScope,
    CustomerScopeDep,
    SessionDep,
    named_customer,
    require_role,
    require_scope,
)
from rapport.api.errors import (
    COMMON_RESPONSES,
    CONFLICT_RESPONSE,
    NOT_FOUND_RESPONSE,
    ApiError,
)
from rapport.api.exports import CSV_RESPONSE, customers_csv
from rapport.api.pagination import PageDep, paginate
from rapport.api.schemas.campaigns import (
    CampaignCreate,
    CampaignPublic,
    CampaignsPublic,
    CampaignUpdate,
    DeliveriesCreate,
    DeliveriesPublic,
    DeliveryPublic,
)
from rapport.domain import AuditAction, CampaignChannel, Role
from rapport.errors import Conflict
from rapport.store import campaigns, customers, schema
from rapport.store.repository import Row

router = APIRouter(prefix="/campaigns", tags=["campaigns"])

ENTITY = "campaigns"
_k = schema.campaigns.c
_d = schema.campaign_deliveries.c
_c = schema.customers.c
CampaignId = Annotated[int, Path(ge=1, description="The campaign's id.")]
READ = [Depends(require_scope("campaigns:read"))]
WRITE = [Depends(require_scope("campaigns:write"))]
MAY_WRITE = Depends(require_role(Role.ADMIN, Role.MANAGER))
MAY_EXPORT = Depends(require_role(Role.ADMIN, Role.MANAGER, Role.SALES))


def _get(session: Session, campaign_id: int) -> Row:
    return campaigns.repo.get(session=session, id=campaign_id)


def _check_period(started_at: Any, ended_at: Any) -> None:
    if started_at is not None and ended_at is not None and ended_at < started_at:
        raise ApiError(
            422,
            "validation_failed",
            "body.ended_at: before started_at",
            field="body.ended_at",
            value=ended_at,
            hint="a campaign ends at or after it starts",
        )


# --- campaigns -----------------------------------------------------------------------------


@router.get("", response_model=CampaignsPublic, dependencies=READ, responses=COMMON_RESPONSES)
def list_campaigns(
    session: SessionDep,
    page: PageDep,
    channel: Annotated[CampaignChannel | None, Query()] = None,
) -> CampaignsPublic:
    """Campaigns in id order, one page at a time."""
    stmt = sa.select(schema.campaigns)
    if channel is not None:
        stmt = stmt.where(_k.channel == channel)
    rows = paginate(session, stmt, page, key=_k.id)
    return rows.as_page(CampaignsPublic, CampaignPublic.model_validate)


@router.get(
    "/{campaign_id}",
    response_model=CampaignPublic,
    dependencies=READ,
    responses={**COMMON_RESPONSES, **NOT_FOUND_RESPONSE},
)
def get_campaign(campaign_id: CampaignId, session: SessionDep) -> CampaignPublic:
    return CampaignPublic.model_validate(_get(session, campaign_id))


@router.post(
    "",
    response_model=CampaignPublic,
    status_code=201,
    dependencies=[*WRITE, MAY_WRITE],
    responses={**COMMON_RESPONSES, **CONFLICT_RESPONSE},
)
def create_campaign(
    body: CampaignCreate, session: SessionDep, auditor: AuditorDep
) -> CampaignPublic:
    values = body.model_dump(exclude_unset=True)
    _check_period(body.started_at, body.ended_at)
    values.setdefault("holdout_share", body.holdout_share)
    if values.get("external_id") is None:
        values["external_id"] = f"CMP-{uuid.uuid4().hex[:16]}"
    row = campaigns.repo.create(session=session, values=values)
    auditor.wrote(AuditAction.CREATE, ENTITY, row["id"], body.model_dump(exclude_unset=True))
    return CampaignPublic.model_validate(row)


@router.patch(
    "/{campaign_id}",
    response_model=CampaignPublic,
    dependencies=[*WRITE, MAY_WRITE],
    responses={**COMMON_RESPONSES, **NOT_FOUND_RESPONSE, **CONFLICT_RESPONSE},
)
def update_campaign(
    campaign_id: CampaignId, body: CampaignUpdate, session: SessionDep, auditor: AuditorDep
) -> CampaignPublic:
    """Change the fields sent, and only those (``null`` clears an optional field)."""
    existing = _get(session, campaign_id)
    values = body.model_dump(exclude_unset=True)
    merged = {**existing, **values}
    _check_period(merged["started_at"], merged["ended_at"])
    row = campaigns.repo.update(session=session, id=campaign_id, values=values)
    auditor.updated(ENTITY, campaign_id, existing, row, values)
    return CampaignPublic.model_validate(row)


@router.delete(
    "/{campaign_id}",
    status_code=204,
    dependencies=[*WRITE, MAY_WRITE],
    responses={**COMMON_RESPONSES, **NOT_FOUND_RESPONSE, **CONFLICT_RESPONSE},
    response_class=Response,
)
def delete_campaign(campaign_id: CampaignId, session: SessionDep, auditor: AuditorDep) -> Response:
    """Delete a campaign that has no deliveries (409 otherwise: its deliveries are the
    history that uplift analysis reads)."""
    _get(session, campaign_id)
    delivered = session.execute(
        sa.select(sa.func.count()).where(_d.campaign_id == campaign_id)
    ).scalar_one()
    if delivered:
        raise Conflict(
            "campaign {id} has {deliveries} deliveries; it cannot be deleted",
            table=ENTITY,
            field="id",
            value=campaign_id,
            hint="end it instead: PATCH ended_at",
            key="campaign_delivered",
            params={"id": campaign_id, "deliveries": delivered},
        )
    campaigns.repo.delete(session=session, id=campaign_id)
    auditor.wrote(AuditAction.DELETE, ENTITY, campaign_id)
    return Response(status_code=204)


# --- deliveries ----------------------------------------------------------------------------


@router.get(
    "/{campaign_id}/deliveries",
    response_model=DeliveriesPublic,
    dependencies=READ,
    responses={**COMMON_RESPONSES, **NOT_FOUND_RESPONSE},
)
def list_deliveries(
    campaign_id: CampaignId,
    session: SessionDep,
    scope: CustomerScopeDep,
    page: PageDep,
    holdout: Annotated[
        bool | None, Query(description="Only held-out (true) or sent (false).")
    ] = None,
) -> DeliveriesPublic:
    """The campaign's deliveries to customers in your scope, in id order."""
    _get(session, campaign_id)
    stmt = sa.select(schema.campaign_deliveries).where(
        _d.campaign_id == campaign_id, scope.visible(_d.customer_id)
    )
    if holdout is not None:
        stmt = stmt.where(_d.holdout.is_(holdout))
    rows = paginate(session, stmt, page, key=_d.id)
    return rows.as_page(DeliveriesPublic, DeliveryPublic.model_validate)


def _check_audience(session: Session, scope: CustomerScope, body: DeliveriesCreate) -> None:
    """Every customer of the batch is in scope (else 422, like a missing customer), listed
    once, and may receive marketing (else 409 naming the customer and the reason)."""
    seen: dict[int, int] = {}
    for i, item in enumerate(body.deliveries):
        field = f"body.deliveries.{i}.customer_id"
        if item.customer_id in seen:
            raise ApiError(
                422,
                "validation_failed",
                f"{field}: customer {item.customer_id} is listed twice "
                f"(also at deliveries.{seen[item.customer_id]})",
                field=field,
                value=item.customer_id,
            )
        seen[item.customer_id] = i
        if item.holdout and item.sent_at is not None:
            raise ApiError(
                422,
                "validation_failed",
                f"body.deliveries.{i}.sent_at: a held-out customer is not sent anything",
                field=f"body.deliveries.{i}.sent_at",
            )
        customer = named_customer(session, scope, item.customer_id, field)
        reason = customers.marketing_refusal(customer)
        if reason is not None:
            raise ApiError(
                409,
                "conflict",
                f"{field}: customer {item.customer_id} {reason}; no campaign may reach them",
                field=field,
                value=item.customer_id,
                hint="record deliveries only for marketable customers "
                "(GET /api/v1/customers?marketable=true); nothing of this batch was recorded",
            )


@router.post(
    "/{campaign_id}/deliveries",
    response_model=DeliveriesPublic,
    status_code=201,
    dependencies=[*WRITE, MAY_WRITE],
    responses={**COMMON_RESPONSES, **NOT_FOUND_RESPONSE, **CONFLICT_RESPONSE},
)
def record_deliveries(
    campaign_id: CampaignId,
    body: DeliveriesCreate,
    session: SessionDep,
    scope: CustomerScopeDep,
    auditor: AuditorDep,
) -> DeliveriesPublic:
    """Record deliveries (or hold-outs) of the campaign, all or nothing. A customer without
    marketing consent, opted out or erased refuses the batch (409); so does a customer who
    already has a delivery of this campaign."""
    _get(session, campaign_id)
    _check_audience(session, scope, body)
    rows = []
    with campaigns.deliveries_repo.writing(session):
        for item in body.deliveries:
            values = {**item.model_dump(exclude_unset=True), "campaign_id": campaign_id}
            rows.append(campaigns.deliveries_repo.create(session=session, values=values))
    auditor.record(
        AuditAction.CREATE,
        "campaign_deliveries",
        campaign_id,
        {"campaign_id": campaign_id, "count": len(rows), "ids": [r["id"] for r in rows][:500]},
    )
    return DeliveriesPublic(
        data=[DeliveryPublic.model_validate(r) for r in rows], count=len(rows), next_cursor=None
    )


@router.get(
    "/{campaign_id}/audience",
    dependencies=[*READ, MAY_EXPORT],
    responses={**CSV_RESPONSE, **COMMON_RESPONSES, **NOT_FOUND_RESPONSE},
    response_class=Response,
)
def export_audience(
    campaign_id: CampaignId, session: SessionDep, scope: CustomerScopeDep, auditor: AuditorDep
) -> Response:
    """The customers to contact for this campaign, as CSV: its deliveries that are not
    held out, to customers in your scope who may receive marketing now (consent given,
    not opted out, not erased, not deleted)."""
    _get(session, campaign_id)
    conditions = [
        *scope.current(),
        customers.marketable_clause(),
        _c.id.in_(
            sa.select(_d.customer_id).where(_d.campaign_id == campaign_id, _d.holdout.is_(False))
        ),
    ]
    response, count = customers_csv(session, conditions, f"campaign-{campaign_id}.csv")
    auditor.record(
        AuditAction.EXPORT, ENTITY, campaign_id, {"route": "campaign_audience", "count": count}
    )
    return response
