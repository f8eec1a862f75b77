"""``/tasks``: the tasks a caller sees (:class:`~rapport.access.TaskScope`), a task made by
hand, and a task worked: done, skipped, reassigned, moved (:mod:`rapport.actions.tasks`).

A task outside the caller's scope is a 404, exactly like a missing one. Every write is
audited in the request's transaction, and so is every read that returned unmasked tasks (they
name their customer).

=====================  ==========================================  ===========
route                  roles                                       scope
=====================  ==========================================  ===========
GET /tasks             all (scoped; analysts: note and skip        tasks:read
                       reason removed, names masked)
GET /tasks/{id}        all (scoped)                                tasks:read
POST /tasks            admin, manager, sales, service              tasks:write
PATCH /tasks/{id}      admin, manager, sales, service (done,       tasks:write
                       skipped); admin, manager (assignee, team);
                       also the assignee (due_at)
=====================  ==========================================  ===========
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request

from rapport.access import WRITERS
from rapport.actions import tasks as work
from rapport.actions.acting import Actor
from rapport.api.audit import AuditorDep
from rapport.api.deps import (
    CurrentUser,
    CustomerScopeDep,
    SessionDep,
    client_address,
    named_customer,
    require_role,
    require_scope,
)
from rapport.api.errors import (
    COMMON_RESPONSES,
    CONFLICT_RESPONSE,
    NOT_FOUND_RESPONSE,
)
from rapport.api.pagination import PageDep
from rapport.api.schemas.common import MAX_INT32, Text, Time
from rapport.api.schemas.tasks import TaskCreate, TaskPublic, TasksPublic, TaskUpdate
from rapport.domain import TaskStatus
from rapport.store.repository import Row, utcnow
from rapport.store.tasks import NewTask, TaskFilter

router = APIRouter(prefix="/tasks", tags=["tasks"])

ENTITY = "tasks"

TaskId = Annotated[int, Path(ge=1, description="The task's id.")]
IdFilter = Annotated[int | None, Query(ge=1, le=MAX_INT32)]
READ = [Depends(require_scope("tasks:read"))]
WRITE = [Depends(require_scope("tasks:write")), Depends(require_role(*WRITERS["tasks"]))]


def _public(row: Row, masked: bool) -> TaskPublic:
    return TaskPublic.model_validate({**row, "masked": masked})


def _actor(request: Request, user: CurrentUser) -> Actor:
    return Actor.staff(user, address=client_address(request))


@router.get("", response_model=TasksPublic, dependencies=READ, responses=COMMON_RESPONSES)
def list_tasks(
    session: SessionDep,
    scope: CustomerScopeDep,
    auditor: AuditorDep,
    page: PageDep,
    status: Annotated[TaskStatus | None, Query()] = None,
    assignee_id: IdFilter = None,
    team: Annotated[
        Annotated[str, Text(64, 1)] | None, Query(description="Tasks of this team's queue.")
    ] = None,
    customer_id: IdFilter = None,
    due_after: Annotated[Time | None, Query(description="Due at or after (inclusive).")] = None,
    due_before: Annotated[Time | None, Query(description="Due before (exclusive).")] = None,
) -> TasksPublic:
    """The tasks in your scope, soonest due first, one page at a time."""
    filters = TaskFilter(
        status=status,
        assignee_id=assignee_id,
        team=team,
        customer_id=customer_id,
        due_after=due_after,
        due_before=due_before,
    )
    found = work.task_page(session=session, principal=scope.principal, page=page, filters=filters)
    auditor.listed(ENTITY, found.data, masked=scope.masked)
    return TasksPublic(
        data=[_public(r, scope.masked) for r in found.data],
        count=found.count,
        next_cursor=found.next_cursor,
    )


@router.get(
    "/{task_id}",
    response_model=TaskPublic,
    dependencies=READ,
    responses={**COMMON_RESPONSES, **NOT_FOUND_RESPONSE},
)
def get_task(
    task_id: TaskId, session: SessionDep, scope: CustomerScopeDep, auditor: AuditorDep
) -> TaskPublic:
    """One task."""
    row = work.task_detail(session=session, principal=scope.principal, task_id=task_id)
    auditor.read_personal_data(ENTITY, [row["id"]], route="get", masked=scope.masked)
    return _public(row, scope.masked)


@router.post(
    "",
    response_model=TaskPublic,
    status_code=201,
    dependencies=WRITE,
    responses={**COMMON_RESPONSES, **NOT_FOUND_RESPONSE},
)
def add_task(
    body: TaskCreate,
    request: Request,
    session: SessionDep,
    scope: CustomerScopeDep,
    user: CurrentUser,
) -> TaskPublic:
    """Make a task by hand for a customer in your scope (201)."""
    named_customer(session, scope, body.customer_id)
    task = NewTask(**body.model_dump())
    row = work.add_task(session=session, actor=_actor(request, user), task=task, at=utcnow())
    return _public(row, scope.masked)


@router.patch(
    "/{task_id}",
    response_model=TaskPublic,
    dependencies=WRITE,
    responses={**COMMON_RESPONSES, **NOT_FOUND_RESPONSE, **CONFLICT_RESPONSE},
)
def update_task(
    task_id: TaskId,
    body: TaskUpdate,
    request: Request,
    session: SessionDep,
    scope: CustomerScopeDep,
    user: CurrentUser,
) -> TaskPublic:
    """Work an open task: done (with the call's result), skipped (with a reason), given to
    someone, moved. 409 when it is no longer open."""
    sent = body.model_fields_set
    values = body.model_dump(include=sent)
    change = work.TaskChange(**values, fields=frozenset(sent))
    row = work.change_task(
        session=session, actor=_actor(request, user), task_id=task_id, change=change, at=utcnow()
    )
    return _public(row, scope.masked)
