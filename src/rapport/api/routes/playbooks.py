"""``/playbooks``: the action loop's playbooks, their versions, a run and the measured
effect; a customer's next best actions (docs/actions.md).

Definitions are checked (422 naming the field), versioned (a version only when the
definition changes) and audited. A playbook written or switched here belongs to the API
from then on: the rules file no longer changes it.

=====================================  ==============================  ================
route                                  roles                           scope
=====================================  ==============================  ================
GET /playbooks                         all                             playbooks:read
GET /playbooks/{code}                  all                             playbooks:read
PUT /playbooks/{code}                  admin, manager                  playbooks:write
POST /playbooks/{code}/enabled         admin, manager                  playbooks:write
GET /playbooks/{code}/effect           admin, manager, analyst         playbooks:read
POST /playbooks/run                    admin, manager; analyst: dry    playbooks:write
GET /customers/{id}/next-best-actions  all (scoped like the customer)  playbooks:read
=====================================  ==============================  ================
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path, Query, Request

from rapport.actions import playbook_registry as registry
from rapport.actions.effect_report import effect_in_session
from rapport.actions.engine import run_in_session
from rapport.actions.next_best import next_best_in_session
from rapport.api.deps import (
    CurrentUser,
    CustomerScopeDep,
    RulesDep,
    SessionDep,
    SettingsDep,
    client_address,
    require_role,
    require_scope,
)
from rapport.api.errors import COMMON_RESPONSES, NOT_FOUND_RESPONSE
from rapport.api.schemas.playbooks import (
    NextBestActionPublic,
    PlaybookDetail,
    PlaybookEnabled,
    PlaybookRunRequest,
    PlaybookSummary,
)
from rapport.domain import Role
from rapport.errors import Forbidden
from rapport.store.repository import utcnow

router = APIRouter(tags=["playbooks"])

Code = Annotated[
    str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_]+$", description="The code.")
]
CustomerId = Annotated[int, Path(ge=1, le=2**31 - 1, description="The customer's id.")]
READ = [Depends(require_scope("playbooks:read"))]
EFFECT = [*READ, Depends(require_role(Role.ADMIN, Role.MANAGER, Role.ANALYST))]
WRITE = [Depends(require_scope("playbooks:write")), Depends(require_role(Role.ADMIN, Role.MANAGER))]
RUN = [
    Depends(require_scope("playbooks:write")),
    Depends(require_role(Role.ADMIN, Role.MANAGER, Role.ANALYST)),
]


@router.get(
    "/playbooks",
    response_model=list[PlaybookSummary],
    dependencies=READ,
    responses=COMMON_RESPONSES,
)
def list_playbooks(session: SessionDep, rules: RulesDep) -> list[dict[str, Any]]:
    """Every playbook by priority, with whether it runs and its enrolments."""
    return registry.overview(session=session, rules=rules)


@router.get(
    "/playbooks/{code}",
    response_model=PlaybookDetail,
    dependencies=READ,
    responses={**COMMON_RESPONSES, **NOT_FOUND_RESPONSE},
)
def get_playbook(code: Code, session: SessionDep, rules: RulesDep) -> dict[str, Any]:
    """A playbook's definition and its versions, newest first."""
    return registry.detail(session=session, rules=rules, code=code)


@router.put(
    "/playbooks/{code}",
    response_model=PlaybookDetail,
    dependencies=WRITE,
    responses=COMMON_RESPONSES,
)
def put_playbook(
    code: Code,
    session: SessionDep,
    rules: RulesDep,
    user: CurrentUser,
    request: Request,
    definition: Annotated[dict[str, Any], Body(description="The definition (docs/actions.md).")],
) -> dict[str, Any]:
    """Create or change a playbook (checked, a new version when it changed, audited)."""
    now = utcnow()
    registry.sync_playbooks(session=session, rules=rules, at=now)
    registry.put_playbook(
        session=session,
        code=code,
        definition=definition,
        actor=user.actor,
        at=now,
        actor_user_id=user.user_id,
        client_address=client_address(request),
    )
    return registry.detail(session=session, rules=rules, code=code)


@router.post(
    "/playbooks/{code}/enabled",
    response_model=PlaybookDetail,
    dependencies=WRITE,
    responses={**COMMON_RESPONSES, **NOT_FOUND_RESPONSE},
)
def switch_playbook(
    code: Code,
    body: PlaybookEnabled,
    session: SessionDep,
    rules: RulesDep,
    user: CurrentUser,
    request: Request,
) -> dict[str, Any]:
    """Switch a playbook on or off (audited)."""
    now = utcnow()
    registry.sync_playbooks(session=session, rules=rules, at=now)
    registry.set_enabled(
        session=session,
        code=code,
        enabled=body.enabled,
        actor=user.actor,
        at=now,
        actor_user_id=user.user_id,
        client_address=client_address(request),
    )
    return registry.detail(session=session, rules=rules, code=code)


@router.get(
    "/playbooks/{code}/effect",
    dependencies=EFFECT,
    responses={**COMMON_RESPONSES, **NOT_FOUND_RESPONSE},
)
def playbook_effect(
    code: Code,
    session: SessionDep,
    start: Annotated[dt.date | None, Query(description="First run day counted.")] = None,
    end: Annotated[dt.date | None, Query(description="Last run day counted.")] = None,
) -> dict[str, Any]:
    """The measured effect: treated against held out, with 95 % intervals."""
    [report] = effect_in_session(session=session, code=code, start=start, end=end)
    return report.to_dict()


@router.post("/playbooks/run", dependencies=RUN, responses=COMMON_RESPONSES)
def run_playbooks(
    body: PlaybookRunRequest,
    session: SessionDep,
    settings: SettingsDep,
    rules: RulesDep,
    user: CurrentUser,
) -> dict[str, Any]:
    """Run every enabled playbook for a day (``dry_run``, the default, writes nothing;
    analysts may only dry-run)."""
    if not body.dry_run and user.role == Role.ANALYST:
        raise Forbidden(
            "analysts may only dry-run the playbooks",
            field="dry_run",
            hint="send dry_run = true, or ask a manager to run them",
            key="playbooks_dry_only",
        )
    now = utcnow()
    day = body.day or now.astimezone(settings.tz).date()
    result = run_in_session(
        session=session, settings=settings, rules=rules, day=day, now=now, dry_run=body.dry_run
    )
    return result.to_dict()


@router.get(
    "/customers/{customer_id}/next-best-actions",
    response_model=list[NextBestActionPublic],
    dependencies=READ,
    responses={**COMMON_RESPONSES, **NOT_FOUND_RESPONSE},
)
def next_best_actions(
    customer_id: CustomerId,
    session: SessionDep,
    settings: SettingsDep,
    scope: CustomerScopeDep,
    limit: Annotated[int, Query(ge=1, le=20)] = 3,
) -> list[dict[str, Any]]:
    """The playbooks the customer is eligible for, by expected incremental value, with the
    reason (404 outside the caller's scope, as for a missing customer)."""
    scope.get(session=session, id=customer_id)
    day = utcnow().astimezone(settings.tz).date()
    actions = next_best_in_session(
        session=session, settings=settings, customer_id=customer_id, day=day, limit=limit
    )
    return [a.to_dict() for a in actions]
