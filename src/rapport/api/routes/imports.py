"""Import jobs: upload a file, poll the report — the importer of ``rapport import``.

``POST /imports/{entity}`` streams the upload (multipart field ``file``) to
``<data_dir>/imports/<job id>/<file name>``, records the job in the store's ``import_jobs``
table (:mod:`rapport.store.import_jobs`) and answers 202 at once; one worker thread per
server process runs the jobs it queued, one at a time, with
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
import os
import re
import shutil
import threading
import time
import unicodedata
import uuid
from dataclasses import dataclass
from pathlib import Path
from queue import Queue
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, File, Form, Query, Request, Response, UploadFile
from fastapi import Path as PathParam
from fastapi.responses import FileResponse
from sqlalchemy.orm import Session

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
    JobError,
    JobStatus,
)
from rapport.config import Rules, Settings
from rapport.domain import AuditAction, Role
from rapport.errors import RapportError
from rapport.ingest.importer import import_file
from rapport.ingest.report import ImportReport
from rapport.ingest.scope import UNLIMITED, ImportScope
from rapport.store import audit, import_jobs
from rapport.store.db import engine_from_settings, engine_of, session_scope
from rapport.store.repository import Row, utcnow

router = APIRouter(prefix="/imports", tags=["imports"])
log = logging.getLogger("rapport.api.imports")

JOBS_DIR = "imports"
#: A name no upload may take (the job document of earlier versions).
JOB_FILE = "job.json"
ENTITY = "imports"
CHUNK_BYTES = 1 << 20
MAX_NAME_CHARS = 120
DEFAULT_LIST = 50
MAX_LIST = 500
_JOB_ID = re.compile(r"^[0-9a-f]{32}$")
_FORBIDDEN_CHARS = frozenset('<>:"|?*')
#: Media types of the reject files, by suffix (a reject file has its input's format).
MEDIA_TYPES = {
    ".csv": "text/csv; charset=utf-8",
    ".tsv": "text/tab-separated-values; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    ".jsonl": "application/x-ndjson",
    ".ndjson": "application/x-ndjson",
    ".json": "application/x-ndjson",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".parquet": "application/vnd.apache.parquet",
}
OTHER_MEDIA_TYPE = "application/octet-stream"

_ROLES = Depends(require_role(Role.ADMIN, Role.MANAGER))
_READ = [Depends(require_scope("imports:read")), _ROLES]
_WRITE = [Depends(require_scope("imports:write")), _ROLES]

JobId = Annotated[str, PathParam(max_length=64, description="The job's id (32 hex digits).")]


# --- the jobs in the store -----------------------------------------------------------------


def jobs_root(settings: Settings) -> Path:
    """Where the uploads of ``settings`` go: ``<data_dir>/imports/<job id>/``."""
    return Path(settings.data_dir) / JOBS_DIR


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


def _visible(row: Row, user: Principal) -> bool:
    return user.role is Role.ADMIN or row["submitted_by_id"] == user.user_id


def _job(session: Session, job_id: str, user: Principal) -> Row:
    """The job's row, settled; 404 when unknown or not the caller's."""
    if _JOB_ID.fullmatch(job_id):
        row = import_jobs.get(session=session, id=job_id)
        if row is not None and _visible(row, user):
            return _settle(session, row)
    raise ApiError(404, "not_found", f"no import job with id {job_id}", field="path.job_id")


def _record(engine: sa.Engine, job_id: str, **values: Any) -> None:
    """Write ``values`` to the job's row, in a transaction of their own."""
    with session_scope(engine, writing=True) as session:
        import_jobs.update(session=session, id=job_id, values=values)


# --- the worker ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Task:
    job_id: str
    job_dir: Path
    settings: Settings
    rules: Rules
    client_address: str | None
    scope: ImportScope = UNLIMITED  # the uploader's row-level scope


class _Worker:
    """One thread per process running queued jobs in order, and one refreshing the
    heartbeat of the jobs it holds (queued or running); both (re)started on demand."""

    def __init__(self) -> None:
        self.queue: Queue[_Task] = Queue()
        self.thread: threading.Thread | None = None
        self.beating: threading.Thread | None = None
        self.held: dict[str, _Task] = {}  # job id → task, until the job ends
        self.lock = threading.Lock()

    def submit(self, task: _Task) -> None:
        with self.lock:
            self.held[task.job_id] = task
            if self.thread is None or not self.thread.is_alive():
                self.thread = threading.Thread(
                    target=self._loop, name="rapport-import-jobs", daemon=True
                )
                self.thread.start()
            if self.beating is None or not self.beating.is_alive():
                self.beating = threading.Thread(
                    target=self._beat, name="rapport-import-heartbeat", daemon=True
                )
                self.beating.start()
            self.queue.put(task)

    def _loop(self) -> None:
        while True:
            task = self.queue.get()
            try:
                run_job(task)
            except Exception:  # run_job records its own failures; never stop the loop
                log.exception("import job %s: could not record its outcome", task.job_id)
            finally:
                with self.lock:
                    self.held.pop(task.job_id, None)
                self.queue.task_done()

    def _beat(self) -> None:
        """Every :data:`~rapport.store.import_jobs.HEARTBEAT`, refresh the heartbeat of the
        held jobs, store by store; end when no job is held."""
        while True:
            time.sleep(import_jobs.HEARTBEAT.total_seconds())
            with self.lock:
                if not self.held:
                    self.beating = None
                    return
                by_store: dict[str, list[_Task]] = {}
                for task in self.held.values():
                    by_store.setdefault(task.settings.database_url, []).append(task)
            for tasks in by_store.values():
                _beat(tasks[0].settings, [task.job_id for task in tasks])


def _beat(settings: Settings, job_ids: list[str]) -> None:
    engine = engine_from_settings(settings)
    try:
        with session_scope(engine, writing=True) as session:
            import_jobs.beat(session=session, ids=job_ids)
    except (sa.exc.SQLAlchemyError, RapportError) as exc:
        log.warning("import jobs %s: heartbeat not written: %s", ", ".join(job_ids), exc)
    finally:
        engine.dispose()


WORKER = _Worker()


def _relative(text: str | None, job_dir: Path) -> str | None:
    """The importer names files by their full path; show the user the file name only."""
    if text is None:
        return None
    return text.replace(f"{job_dir}{os.sep}", "")


def _error_of(exc: RapportError, job_dir: Path) -> JobError:
    name = type(exc).__name__
    code = "".join(f"_{c.lower()}" if c.isupper() else c for c in name).lstrip("_")
    return JobError(
        code=code,
        message=_relative(exc.message, job_dir) or name,
        field=exc.field,
        hint=_relative(exc.hint, job_dir),
    )


def public_report(report: ImportReport) -> ImportReportPublic:
    return ImportReportPublic(
        format=report.format,
        encoding=report.encoding,
        read=report.read,
        inserted=report.inserted,
        updated=report.updated,
        unchanged=report.unchanged,
        rejected=report.rejected,
        seconds=round(report.seconds, 3),
        reject_reasons=report.reject_reasons,
        rejects_file=Path(report.reject_file).name if report.reject_file else None,
        mapping=report.mapping,
        unknown_columns=report.unknown_columns,
        warnings=report.warnings,
        warning_reasons=report.warning_reasons,
        warnings_file=Path(report.warning_file).name if report.warning_file else None,
        defaults=report.defaults,
    )


def run_job(task: _Task) -> None:
    """Run one queued job to ``done`` or ``failed`` — whatever happens, it ends finished."""
    engine = engine_from_settings(task.settings)
    try:
        now = utcnow()
        _record(
            engine,
            task.job_id,
            status=JobStatus.RUNNING.value,
            started_at=now,
            heartbeat_at=now,
        )
        crashed = JobError(code="internal_error", message="the import stopped on an internal error")
        outcome: dict[str, Any] = {"status": JobStatus.FAILED.value, "error": crashed.model_dump()}
        try:
            with session_scope(engine) as session:
                row = import_jobs.get(session=session, id=task.job_id)
            assert row is not None, f"import job {task.job_id} vanished"
            outcome = _import(task, row, engine)
        except Exception:
            log.exception("import job %s crashed", task.job_id)
        finally:
            _record(engine, task.job_id, finished_at=utcnow(), **outcome)
    finally:
        engine.dispose()


def _import(task: _Task, doc: Row, engine: sa.Engine) -> dict[str, Any]:
    job_dir = task.job_dir
    failed = JobStatus.FAILED.value
    report: ImportReport | None = None
    outcome: dict[str, Any]
    try:
        report = import_file(
            doc["entity"],
            job_dir / doc["file"],
            engine=engine,
            sheet=doc.get("sheet"),
            settings=task.settings,
            rules=task.rules,
            strict=bool(doc.get("strict")),
            scope=task.scope,
        )
    except RapportError as exc:
        outcome = {"status": failed, "error": _error_of(exc, job_dir).model_dump()}
    except sa.exc.SQLAlchemyError as exc:
        log.error("import job %s: store error: %s", job_dir.name, exc)
        error = JobError(
            code="store_unavailable",
            message=f"the store failed during the import ({type(exc).__name__})",
            hint="retry later: rows already imported are found and reported unchanged",
        )
        outcome = {"status": failed, "error": error.model_dump()}
    else:
        public = public_report(report).model_dump()
        outcome = {
            "status": JobStatus.DONE.value,
            "report": {k: v for k, v in public.items() if k not in import_jobs.COUNTS},
            **{f"rows_{k}": public[k] for k in import_jobs.COUNTS},
            "error": None,
        }
        if doc.get("strict") and report.rejected:
            error = JobError(
                code="rows_rejected",
                message=f"{report.rejected} of {report.read} rows were rejected (strict)",
                hint="the valid rows were imported; fix the reject file and upload it again",
            )
            outcome.update(status=failed, error=error.model_dump())
    finally:
        _audit_outcome(engine, task, doc, report)
    return outcome


def _audit_outcome(engine: sa.Engine, task: _Task, doc: Row, report: ImportReport | None) -> None:
    """Who imported what, and what came of it — in the store the rows went to."""
    detail: dict[str, Any] = {"job": doc["id"], "file": doc["file"], "entity": doc["entity"]}
    if report is not None:
        for name in ("read", "inserted", "updated", "unchanged", "rejected"):
            detail[name] = getattr(report, name)
    else:
        detail["failed"] = True
    try:
        with session_scope(engine, writing=True) as session:
            audit.record(
                session=session,
                actor=doc["submitted_by"],
                actor_user_id=doc["submitted_by_id"],
                action=AuditAction.IMPORT,
                entity=doc["entity"],
                detail=detail,
                client_address=task.client_address,
            )
    except (sa.exc.SQLAlchemyError, RapportError) as exc:
        log.warning("import job %s: audit entry not written: %s", doc["id"], exc)


# --- the routes ----------------------------------------------------------------------------


def safe_file_name(raw: str | None) -> str:
    """The upload's name as stored: no folders, no leading dot, printable, not too long.

    Raises
    ------
    ApiError
        422 naming ``body.file`` for names that try to leave the job's folder.
    """
    name = unicodedata.normalize("NFC", raw or "").strip()
    if (
        not name
        or "/" in name
        or "\\" in name
        or "\x00" in name
        or name.startswith(".")
        or name.lower().startswith(JOB_FILE)
    ):
        raise ApiError(
            422,
            "validation_failed",
            f"body.file: refused file name {raw!r}",
            field="body.file",
            value=raw,
            hint="send the file under a plain name such as customers.csv "
            "(no folders, not starting with a dot)",
        )
    name = "".join("_" if c in _FORBIDDEN_CHARS or not c.isprintable() else c for c in name)
    if len(name) > MAX_NAME_CHARS:
        stem, suffix = os.path.splitext(name)
        suffix = suffix[:16]
        name = stem[: MAX_NAME_CHARS - len(suffix)] + suffix
    return name


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
    job_dir = jobs_root(settings) / job_id
    job_dir.mkdir(parents=True)
    try:
        with (job_dir / name).open("wb") as out:
            shutil.copyfileobj(file.file, out, CHUNK_BYTES)
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
    WORKER.submit(_Task(job_id, job_dir, settings, request.app.state.rules, auditor.address, scope))
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
        submitted_by_id=None if user.role is Role.ADMIN else user.user_id,
        limit=min(limit, settings.max_page_size),
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
    return job_of(_job(session, job_id, user))


@router.get(
    "/{job_id}/rejects",
    dependencies=_READ,
    response_class=FileResponse,
    responses={
        200: {
            "content": {
                media: {"schema": {"type": "string", "format": "binary"}}
                for media in sorted({*MEDIA_TYPES.values(), OTHER_MEDIA_TYPE})
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
            "content": {MEDIA_TYPES[".csv"]: {"schema": {"type": "string", "format": "binary"}}},
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
    row = _job(session, job_id, user)
    job_dir = Path(row["directory"])
    name = ((row["report"] or {}).get(report_key)) or None
    path = job_dir / name if name else None
    if path is None or path.parent != job_dir or not path.is_file():
        raise ApiError(
            404, "not_found", f"import job {job_id} has no {route} file", field="path.job_id"
        )
    auditor.record(AuditAction.EXPORT, ENTITY, job_id, {"file": name, "route": route})
    media = MEDIA_TYPES.get(path.suffix.lower(), OTHER_MEDIA_TYPE)
    return FileResponse(path, media_type=media, filename=name)
