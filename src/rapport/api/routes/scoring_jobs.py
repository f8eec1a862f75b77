"""Scoring jobs: run the scoring pipeline of ``rapport score`` in the server's background.

``POST /jobs/scoring`` records a job in the store's ``import_jobs`` table and queues it on
the process's import worker (:mod:`rapport.imports`, shared with the web workspace's Data
page), behind the imports queued before it; the scoring itself runs in an analytics worker
process. It answers 202 at once, or 409 while another scoring job is queued or running.

=============================  ==============  ==============
route                          roles           API token scope
=============================  ==============  ==============
POST /jobs/scoring             admin, manager  imports:write
GET  /jobs/scoring/{id}        admin, manager  imports:read
=============================  ==============  ==============

Managers see the jobs they started, admins every job (another's reads like a missing one).
Submitting and the outcome are audited (``create`` and ``update`` of ``scoring``).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi import Path as PathParam

from rapport import imports
from rapport.api.deps import (
    CurrentUser,
    SessionDep,
    SettingsDep,
    client_address,
    require_role,
    require_scope,
)
from rapport.api.errors import COMMON_RESPONSES, NOT_FOUND_RESPONSE
from rapport.api.routes.imports import job_row
from rapport.api.schemas.imports import JobStatus
from rapport.api.schemas.scoring_jobs import ScoringJob, ScoringJobAccepted
from rapport.domain import Role
from rapport.store.repository import Row

router = APIRouter(prefix="/jobs/scoring", tags=["imports"])

_ROLES = Depends(require_role(Role.ADMIN, Role.MANAGER))
_READ = [Depends(require_scope("imports:read")), _ROLES]
_WRITE = [Depends(require_scope("imports:write")), _ROLES]

JobId = Annotated[str, PathParam(max_length=64, description="The job's id (32 hex digits).")]


def job_of(row: Row) -> ScoringJob:
    """The API's view of a scoring job's row."""
    step = imports.scoring_step(row)
    return ScoringJob(
        id=row["id"],
        as_of=dt.date.fromisoformat(row["file"]),
        submitted_by=row["submitted_by"],
        submitted_by_id=row["submitted_by_id"],
        submitted_at=row["submitted_at"],
        status=row["status"],
        step=step[0] if step else None,
        started_at=row["started_at"],
        finished_at=row["finished_at"],
        report=row["report"],
        error=row["error"],
    )


@router.post(
    "",
    status_code=202,
    response_model=ScoringJobAccepted,
    dependencies=_WRITE,
    responses={
        **COMMON_RESPONSES,
        202: {"description": "Queued; poll the job at the Location header"},
    },
    name="create_scoring_job",
)
def create_scoring_job(
    request: Request,
    response: Response,
    user: CurrentUser,
    session: SessionDep,
    settings: SettingsDep,
    as_of: Annotated[
        dt.date | None, Query(description="The day to score (default: today).")
    ] = None,
) -> ScoringJobAccepted:
    """Score every customer as of ``as_of`` in the background, as ``rapport score`` (202)."""
    task = imports.submit_scoring(
        session=session,
        settings=settings,
        engine=request.app.state.engine,
        actor=user.actor,
        actor_user_id=user.user_id,
        as_of=as_of,
        client_address=client_address(request),
        via=user.via,
    )
    session.commit()  # before the worker reads the job
    imports.WORKER.submit(task)
    poll = str(request.app.url_path_for("get_scoring_job", job_id=task.job_id))
    response.headers["Location"] = poll
    return ScoringJobAccepted(id=task.job_id, status=JobStatus.QUEUED, poll=poll)


@router.get(
    "/{job_id}",
    response_model=ScoringJob,
    dependencies=_READ,
    responses={**COMMON_RESPONSES, **NOT_FOUND_RESPONSE},
    name="get_scoring_job",
)
def get_scoring_job(job_id: JobId, user: CurrentUser, session: SessionDep) -> ScoringJob:
    """One scoring job: its status, the step it is on, and once finished its report or
    error."""
    return job_of(job_row(session, job_id, user, scoring=True))
