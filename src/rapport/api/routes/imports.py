"""Import jobs: upload a file, poll the report — the importer of ``rapport import``.

``POST /imports/{entity}`` streams the upload (multipart field ``file``) to
``<data_dir>/imports/<job id>/<file name>``, records the job in the store's ``import_jobs``
table (:mod:`rapport.store.import_jobs`) and answers 202 at once; one worker thread per
server process (:mod:`rapport.imports`, shared with the web workspace's Data page) runs the
jobs it queued, one at a time, with
:func:`rapport.ingest.importer.import_file` — the same function, reports and reject files
as the CLI — on an engine of its own on the configured store (committed batch by batch, so
a job's rows are visible while it runs). Every server process reads every job from the
store, and finds its files in the folder the job names.

A job is ``queued``, ``running``, then ``done`` or ``failed``. It fails — never hangs, never
answers 500 — when the file cannot be read (encoding, not a spreadsheet, empty), when its
columns cannot be mapped, when the store fails, with ``strict`` when any row was rejected
(the valid rows are written all the same, as ``rapport import --strict`` does), and when
the server process holding it stops before the job ends: that process refreshes the
job's heartbeat while it holds it, and a job whose heartbeat has gone stale is failed
(``interrupted``) on the next read.

=============================  ==============  ==============
route                          roles           API token scope
=============================  ==============  ==============
POST /imports/{entity}         admin, manager  imports:write
GET  /imports                  admin, manager  imports:read
GET  /imports/{id}             admin, manager  imports:read
GET  /imports/{id}/rejects     admin, manager  imports:read
GET  /imports/{id}/warnings    admin, manager  imports:read
=============================  ==============  ==============

A job runs with its uploader's row-level scope (a manager's: their team's customers and
unowned ones): rows that would change a record outside it, attach to one, or give a
customer to a user outside the team are rejected like rows naming an unknown record.

Managers see their own jobs, admins every job (another's job reads like a missing one).
Only admins may import ``users`` (accounts and roles). Submitting, finishing and
downloading rejects are audited.
"""

from __future__ import annotations

import logging
import shutil
import uuid
from pathlib import Path
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, File, Form, Query, Request, Response, UploadFile
from fastapi import Path as PathParam
from fastapi.responses import FileResponse
from sqlalchemy.orm import Session

from rapport import imports
from rapport.api.audit import AuditorDep
from rapport.api.deps import (
    CurrentUser,
    CustomerScope,
    Principal,
    SessionDep,
    SettingsDep,
    require_role,
    require_scope,
)
from rapport.api.errors import COMMON_RESPONSES, NOT_FOUND_RESPONSE, ApiError, forbidden
from rapport.api.schemas.imports import (
    ImportEntity,
    ImportJob,
    ImportJobAccepted,
    ImportJobsPublic,
    ImportReportPublic,
    JobStatus,
)
from rapport.api.workers import served_settings
from rapport.domain import AuditAction, Role
from rapport.errors import NotFound, ValidationFailed
from rapport.store import import_jobs
from rapport.store.db import engine_of, session_scope
from rapport.store.repository import Row, utcnow

router = APIRouter(prefix="/imports", tags=["imports"])
log = logging.getLogger("rapport.api.imports")

#: A name no upload may take (the job document of earlier versions).
ENTITY = "imports"
DEFAULT_LIST = 50
MAX_LIST = 500
#: Media types of the reject files, by suffix (a reject file has its input's format).

_ROLES = Depends(require_role(Role.ADMIN, Role.MANAGER))
_READ = [Depends(require_scope("imports:read")), _ROLES]
_WRITE = [Depends(require_scope("imports:write")), _ROLES]

JobId = Annotated[str, PathParam(max_length=64, description="The job's id (32 hex digits).")]


# --- the jobs in the store -----------------------------------------------------------------


def job_of(row: Row) -> ImportJob:
    """The API's view of a job row (its report's counts come from their own columns)."""
    report = None
    if row["report"] is not None:
        report = {**row["report"], **{k: row[f"rows_{k}"] for k in import_jobs.COUNTS}}
    return ImportJob(
        id=row["id"],
        entity=row["entity"],
        file=row["file"],
        size=row["size"],
        sheet=row["sheet"],
        strict=row["strict"],
        submitted_by=row["submitted_by"],
        submitted_by_id=row["submitted_by_id"],
        submitted_at=row["submitted_at"],
        status=row["status"],
        started_at=row["started_at"],
        finished_at=row["finished_at"],
        report=None if report is None else ImportReportPublic.model_validate(report),
        error=row["error"],
    )


def _settle(session: Session, row: Row) -> Row:
    """``row`` as it reads; a stale job is recorded as failed, in a transaction of its own
    (best effort: the answer says failed either way)."""
    if not import_jobs.is_stale(row):
        return row
    try:
        with session_scope(engine_of(session), writing=True) as own:
            import_jobs.fail_stale(session=own)
    except sa.exc.SQLAlchemyError as exc:
        log.warning("import job %s: could not record it as interrupted: %s", row["id"], exc)
    return import_jobs.settled(row)


def job_row(session: Session, job_id: str, user: Principal, *, scoring: bool = False) -> Row:
    """The job's row (:func:`rapport.imports.visible_job`: an import, or a scoring job when
    ``scoring``), settled; 404 naming the path's id when unknown or not the caller's."""
    try:
        row = imports.visible_job(session=session, job_id=job_id, user=user, scoring=scoring)
    except NotFound as exc:
        raise ApiError(404, "not_found", exc.message, field="path.job_id") from None
    return _settle(session, row)


# --- the routes ----------------------------------------------------------------------------


def safe_file_name(raw: str | None) -> str:
    """The upload's name as stored (:func:`rapport.imports.safe_file_name`).

    Raises
    ------
    ApiError
        422 naming ``body.file`` for names that try to leave the job's folder.
    """
    try:
        return imports.safe_file_name(raw)
    except ValidationFailed as exc:
        raise ApiError(
            422,
            "validation_failed",
            f"body.file: refused file name {raw!r}",
            field="body.file",
            value=raw,
            hint=exc.hint,
        ) from exc


_ACCEPTED: dict[int | str, dict[str, Any]] = {
    **COMMON_RESPONSES,
    202: {"description": "Queued; poll the job at the Location header"},
}


@router.post(
    "/{entity}",
    status_code=202,
    response_model=ImportJobAccepted,
    dependencies=_WRITE,
    responses=_ACCEPTED,
    name="create_import_job",
)
def create_import_job(
    entity: ImportEntity,
    file: Annotated[UploadFile, File(description="CSV/TSV, XLSX, Parquet or JSON Lines.")],
    request: Request,
    response: Response,
    user: CurrentUser,
    session: SessionDep,
    auditor: AuditorDep,
    settings: SettingsDep,
    sheet: Annotated[
        str | None, Form(max_length=100, description="XLSX sheet (default: all).")
    ] = None,
    strict: Annotated[bool, Form(description="Fail the job when any row is rejected.")] = False,
) -> ImportJobAccepted:
    """Upload a file to import as ``entity``; the import runs in the background (202)."""
    if entity.value == "users" and user.role is not Role.ADMIN:
        raise forbidden("only an admin may import users (accounts and roles)", field="path.entity")
    name = safe_file_name(file.filename)
    job_id = uuid.uuid4().hex
    job_dir = imports.jobs_root(settings) / job_id
    job_dir.mkdir(parents=True)
    try:
        with (job_dir / name).open("wb") as out:
            shutil.copyfileobj(file.file, out, imports.CHUNK_BYTES)
            size = out.tell()
    except BaseException:
        shutil.rmtree(job_dir, ignore_errors=True)
        raise
    import_jobs.create(
        session=session,
        values={
            "id": job_id,
            "entity": entity.value,
            "file": name,
            "directory": str(job_dir.resolve()),
            "size": size,
            "sheet": sheet,
            "strict": strict,
            "submitted_by": user.actor,
            "submitted_by_id": user.user_id,
            "submitted_at": utcnow(),
        },
    )
    auditor.record(
        AuditAction.IMPORT,
        ENTITY,
        job_id,
        {"entity": entity.value, "file": name, "size": size, "strict": strict},
    )
    # committed before the worker starts: on SQLite the job's first batch would otherwise
    # wait for this request's write lock
    session.commit()
    scope = CustomerScope(user).import_scope()
    imports.WORKER.submit(
        imports.ImportTask(
            job_id,
            job_dir,
            served_settings(request, settings),
            request.app.state.rules,
            auditor.address,
            scope,
        )
    )
    poll = request.app.url_path_for("get_import_job", job_id=job_id)
    response.headers["Location"] = str(poll)
    return ImportJobAccepted(id=job_id, status=JobStatus.QUEUED, poll=str(poll))


@router.get(
    "",
    response_model=ImportJobsPublic,
    dependencies=_READ,
    responses=COMMON_RESPONSES,
    name="list_import_jobs",
)
def list_import_jobs(
    user: CurrentUser,
    session: SessionDep,
    settings: SettingsDep,
    limit: Annotated[int, Query(ge=1, le=MAX_LIST, description="Most jobs to return.")] = (
        DEFAULT_LIST
    ),
) -> ImportJobsPublic:
    """Recent import jobs, newest first: your own (admins: everyone's)."""
    rows, count = import_jobs.recent(
        session=session,
        submitted_by_id=imports.submitter(user),
        limit=min(limit, settings.max_page_size),
        except_entity=imports.SCORING,  # scoring jobs are at /jobs/scoring
    )
    if any(import_jobs.is_stale(row) for row in rows):
        rows = [_settle(session, row) for row in rows]
    return ImportJobsPublic(data=[job_of(row) for row in rows], count=count)


@router.get(
    "/{job_id}",
    response_model=ImportJob,
    dependencies=_READ,
    responses={**COMMON_RESPONSES, **NOT_FOUND_RESPONSE},
    name="get_import_job",
)
def get_import_job(job_id: JobId, user: CurrentUser, session: SessionDep) -> ImportJob:
    """One import job: its status, timings, and once finished its report or error."""
    return job_of(job_row(session, job_id, user))


@router.get(
    "/{job_id}/rejects",
    dependencies=_READ,
    response_class=FileResponse,
    responses={
        200: {
            "content": {
                media: {"schema": {"type": "string", "format": "binary"}}
                for media in sorted({*imports.MEDIA_TYPES.values(), imports.OTHER_MEDIA_TYPE})
            },
            "description": "The rejected rows, in the uploaded file's format, with _row, "
            "_column, _reason and _raw columns",
        },
        **COMMON_RESPONSES,
        **NOT_FOUND_RESPONSE,
    },
    name="get_import_rejects",
)
def get_import_rejects(
    job_id: JobId, user: CurrentUser, session: SessionDep, auditor: AuditorDep
) -> FileResponse:
    """Download the rejected rows of a job (404 when no row was rejected)."""
    return _download(job_id, user, session, auditor, "rejects_file", "rejects")


@router.get(
    "/{job_id}/warnings",
    dependencies=_READ,
    response_class=FileResponse,
    responses={
        200: {
            "content": {
                imports.MEDIA_TYPES[".csv"]: {"schema": {"type": "string", "format": "binary"}}
            },
            "description": "The values dropped from kept rows: _row, _column, _value, _reason",
        },
        **COMMON_RESPONSES,
        **NOT_FOUND_RESPONSE,
    },
    name="get_import_warnings",
)
def get_import_warnings(
    job_id: JobId, user: CurrentUser, session: SessionDep, auditor: AuditorDep
) -> FileResponse:
    """Download the warnings of a job (404 when no value was dropped)."""
    return _download(job_id, user, session, auditor, "warnings_file", "warnings")


def _download(
    job_id: str, user: Principal, session: Session, auditor: Any, report_key: str, route: str
) -> FileResponse:
    """One of a job's files named in its report; audited; 404 when there is none."""
    row = job_row(session, job_id, user)
    job_dir = Path(row["directory"])
    name = ((row["report"] or {}).get(report_key)) or None
    path = job_dir / name if name else None
    if path is None or path.parent != job_dir or not path.is_file():
        raise ApiError(
            404, "not_found", f"import job {job_id} has no {route} file", field="path.job_id"
        )
    auditor.record(AuditAction.EXPORT, ENTITY, job_id, {"file": name, "route": route})
    media = imports.MEDIA_TYPES.get(path.suffix.lower(), imports.OTHER_MEDIA_TYPE)
    return FileResponse(path, media_type=media, filename=name)
