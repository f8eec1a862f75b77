"""``/surveys``: survey answers (CSAT, NPS, CES, perceived value, expectation) of the
customers in your scope — list, and record one entered by staff. (Answers that customers
give through a signed survey link arrive through the public survey-link routes.)

=========================  ======================================  ===============
route                      roles                                   scope
=========================  ======================================  ===============
GET /surveys               all (scoped; analysts: comment          surveys:read
                           removed)
POST /surveys              admin, manager, sales, service          surveys:write
=========================  ======================================  ===============

An answer is visible when its customer is in the caller's
:class:`~rapport.api.deps.CustomerScope` and not deleted.
"""

from __future__ import annotations

from typing import Annotated

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Query

from rapport.api.audit import AuditorDep
from rapport.api.deps import (
    CustomerScope,
    CustomerScopeDep,
    SessionDep,
    named_customer,
    require_role,
    require_scope,
)
from rapport.api.errors import COMMON_RESPONSES, CONFLICT_RESPONSE, ApiError
from rapport.api.masking import shown
from rapport.api.pagination import PageDep, paginate, where_equal
from rapport.api.schemas.common import MAX_INT32
from rapport.api.schemas.surveys import (
    SurveyResponseCreate,
    SurveyResponsePublic,
    SurveyResponsesPublic,
)
from rapport.domain import SURVEY_SCALES, AuditAction, Role, SurveyKind
from rapport.store import schema, surveys
from rapport.store.repository import Row, utcnow

router = APIRouter(prefix="/surveys", tags=["surveys"])

ENTITY = "survey_responses"
_s = schema.survey_responses.c
IdFilter = Annotated[int | None, Query(ge=1, le=MAX_INT32)]
READ = [Depends(require_scope("surveys:read"))]
WRITE = [Depends(require_scope("surveys:write"))]
MAY_WRITE = Depends(require_role(Role.ADMIN, Role.MANAGER, Role.SALES, Role.SERVICE))


def _public(row: Row, scope: CustomerScope) -> SurveyResponsePublic:
    return SurveyResponsePublic.model_validate(shown(row, ("comment",), masked=scope.masked))


def _invalid(field: str, message: str, value: object) -> ApiError:
    return ApiError(422, "validation_failed", f"{field}: {message}", field=field, value=value)


@router.get("", response_model=SurveyResponsesPublic, dependencies=READ, responses=COMMON_RESPONSES)
def list_survey_responses(
    session: SessionDep,
    scope: CustomerScopeDep,
    auditor: AuditorDep,
    page: PageDep,
    customer_id: IdFilter = None,
    kind: Annotated[SurveyKind | None, Query()] = None,
    ticket_id: IdFilter = None,
    campaign_id: IdFilter = None,
) -> SurveyResponsesPublic:
    """Survey answers of the customers in your scope, in id order, one page at a time."""
    stmt = where_equal(
        sa.select(schema.survey_responses).where(scope.visible(_s.customer_id)),
        (_s.customer_id, customer_id),
        (_s.kind, kind),
        (_s.ticket_id, ticket_id),
        (_s.campaign_id, campaign_id),
    )
    rows = paginate(session, stmt, page, key=_s.id)
    auditor.listed(ENTITY, rows.data, masked=scope.masked)
    return rows.as_page(SurveyResponsesPublic, lambda r: _public(r, scope))


@router.post(
    "",
    response_model=SurveyResponsePublic,
    status_code=201,
    dependencies=[*WRITE, MAY_WRITE],
    responses={**COMMON_RESPONSES, **CONFLICT_RESPONSE},
)
def create_survey_response(
    body: SurveyResponseCreate, session: SessionDep, scope: CustomerScopeDep, auditor: AuditorDep
) -> SurveyResponsePublic:
    """Record one answer of a customer in your scope. The scale defaults to the kind's
    usual one (CSAT 1–5, NPS 0–10, CES, perceived value, expectation 1–7)."""
    named_customer(session, scope, body.customer_id)
    values = body.model_dump(exclude_unset=True)
    low, high = SURVEY_SCALES[body.kind]
    if values.get("scale_min") is None:
        values["scale_min"] = low
    if values.get("scale_max") is None:
        values["scale_max"] = high
    if values["scale_max"] <= values["scale_min"]:
        raise _invalid(
            "body.scale_max",
            f"must be greater than scale_min ({values['scale_min']:g})",
            values["scale_max"],
        )
    if not values["scale_min"] <= body.score <= values["scale_max"]:
        raise _invalid(
            "body.score",
            f"outside the scale {values['scale_min']:g}–{values['scale_max']:g}",
            body.score,
        )
    if body.ticket_id is not None:
        t = schema.tickets.c
        same_customer = session.execute(
            sa.select(t.id).where(t.id == body.ticket_id, t.customer_id == body.customer_id)
        ).first()
        if same_customer is None:
            raise _invalid(
                "body.ticket_id", f"no ticket {body.ticket_id} of this customer", body.ticket_id
            )
    values.setdefault("responded_at", utcnow())
    row = surveys.repo.create(session=session, values=values)
    auditor.wrote(AuditAction.CREATE, ENTITY, row["id"], body.model_dump(exclude_unset=True))
    return _public(row, scope)
