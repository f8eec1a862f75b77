"""``/alerts``: the alerts a caller sees (:class:`~rapport.access.AlertScope`: sales only
those of their customers), acknowledged and resolved (:mod:`rapport.actions.alerts`).

An alert outside the caller's scope is a 404, exactly like a missing one. Every change is
audited in the request's transaction.

=================================  =================================  ============
route                              roles                              scope
=================================  =================================  ============
GET /alerts                        all (scoped)                       alerts:read
POST /alerts/{id}/acknowledge      admin, manager, sales, service     alerts:write
POST /alerts/{id}/resolve          admin, manager, sales, service     alerts:write
=================================  =================================  ============
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Request

from rapport.access import WRITERS
from rapport.actions import alerts as work
from rapport.actions.acting import Actor
from rapport.api.deps import CurrentUser, SessionDep, client_address, require_role, require_scope
from rapport.api.errors import COMMON_RESPONSES, CONFLICT_RESPONSE, NOT_FOUND_RESPONSE
from rapport.api.pagination import PageDep
from rapport.api.schemas.alerts import AlertPublic, AlertsPublic
from rapport.api.schemas.common import MAX_INT32
from rapport.domain import AlertKind, AlertSeverity, AlertStatus
from rapport.store.alerts import AlertFilter
from rapport.store.repository import utcnow

router = APIRouter(prefix="/alerts", tags=["alerts"])

AlertId = Annotated[int, Path(ge=1, description="The alert's id.")]
READ = [Depends(require_scope("alerts:read"))]
WRITE = [Depends(require_scope("alerts:write")), Depends(require_role(*WRITERS["alerts"]))]
WRITE_RESPONSES = {**COMMON_RESPONSES, **NOT_FOUND_RESPONSE, **CONFLICT_RESPONSE}


@router.get("", response_model=AlertsPublic, dependencies=READ, responses=COMMON_RESPONSES)
def list_alerts(
    session: SessionDep,
    user: CurrentUser,
    page: PageDep,
    status: Annotated[
        AlertStatus | Literal["unresolved"] | None,
        Query(description="open, acknowledged, resolved, or unresolved (the first two)."),
    ] = None,
    kind: Annotated[AlertKind | None, Query()] = None,
    severity: Annotated[AlertSeverity | None, Query()] = None,
    customer_id: Annotated[int | None, Query(ge=1, le=MAX_INT32)] = None,
) -> AlertsPublic:
    """The alerts in your scope, newest raised first, one page at a time."""
    filters = AlertFilter(status=status, kind=kind, severity=severity, customer_id=customer_id)
    found = work.alert_page(session=session, principal=user, page=page, filters=filters)
    return AlertsPublic(
        data=[AlertPublic.model_validate(r) for r in found.data],
        count=found.count,
        next_cursor=found.next_cursor,
    )


@router.post(
    "/{alert_id}/acknowledge",
    response_model=AlertPublic,
    dependencies=WRITE,
    responses=WRITE_RESPONSES,
)
def acknowledge_alert(
    alert_id: AlertId, request: Request, session: SessionDep, user: CurrentUser
) -> AlertPublic:
    """Say someone is on it (idempotent); 409 when it is resolved."""
    actor = Actor.staff(user, address=client_address(request))
    row = work.acknowledge_alert(session=session, actor=actor, alert_id=alert_id, at=utcnow())
    return AlertPublic.model_validate(row)


@router.post(
    "/{alert_id}/resolve",
    response_model=AlertPublic,
    dependencies=WRITE,
    responses=WRITE_RESPONSES,
)
def resolve_alert(
    alert_id: AlertId, request: Request, session: SessionDep, user: CurrentUser
) -> AlertPublic:
    """Resolve it; 409 when it is resolved already. It opens again by itself if the alert
    run finds its condition again."""
    actor = Actor.staff(user, address=client_address(request))
    row = work.resolve_alert(session=session, actor=actor, alert_id=alert_id, at=utcnow())
    return AlertPublic.model_validate(row)
