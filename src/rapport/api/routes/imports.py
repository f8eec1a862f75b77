"""Import jobs: upload a file, poll the report — the importer of ``rapport import``.

``POST /imports/{entity}`` streams the upload (multipart field ``file``) to
``<data_dir>/imports/<job id>/<file name>``, writes the job document ``job.json`` beside it
and answers 202 at once; one worker thread per server process runs the queued jobs, one
at a time, with :func:`rapport.ingest.importer.import_file` — the same function, reports
and reject files as the CLI — on an engine of its own on the configured store (committed
batch by batch, so a job's rows are visible while it runs). Jobs are JSON files, not
rows: nothing is added to the store's schema.

A job is ``queued``, ``running``, then ``done`` or ``failed``. It fails — never hangs, never
answers 500 — when the file cannot be read (encoding, not a spreadsheet, empty), when its
columns cannot be mapped, when the store fails, with ``strict`` when any row was rejected
(the valid rows are written all the same, as ``rapport import --strict`` does), and when
the server process stops before the job ends (noticed on the next read of the job).

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

import contextlib
import datetime as dt
import json
import logging
import os
import re
import shutil
import socket
import threading
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
    FINISHED,
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
from rapport.store import audit
from rapport.store.db import engine_from_settings, session_scope

router = APIRouter(prefix="/imports", tags=["imports"])
log = logging.getLogger("rapport.api.imports")

JOBS_DIR = "imports"
JOB_FILE = "job.json"
ENTITY = "imports"
CHUNK_BYTES = 1 << 20
MAX_NAME_CHARS = 120
DEFAULT_LIST = 50
MAX_LIST = 500
HOST = socket.gethostname()
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


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# --- the job documents ---------------------------------------------------------------------

_docs_lock = threading.Lock()


def jobs_root(settings: Settings) -> Path:
    """Where the jobs of ``settings`` live: ``<data_dir>/imports``."""
    return Path(settings.data_dir) / JOBS_DIR


def _write_doc(job_dir: Path, doc: dict[str, Any]) -> None:
    """Replace ``job.json`` atomically: a reader sees the old or the new document."""
    tmp = job_dir / f"{JOB_FILE}.{threading.get_ident()}.tmp"
    tmp.write_text(json.dumps(doc, default=str, indent=1), encoding="utf-8")
    os.replace(tmp, job_dir / JOB_FILE)


def _read_doc(job_dir: Path) -> dict[str, Any] | None:
    try:
        return json.loads((job_dir / JOB_FILE).read_text("utf-8"))
    except (OSError, ValueError):
        return None


def _update(job_dir: Path, **changes: Any) -> dict[str, Any]:
    with _docs_lock:
        doc = _read_doc(job_dir) or {}
        doc.update(changes)
        _write_doc(job_dir, doc)
        return doc


def _alive(pid: int) -> bool:
    if os.name != "posix":  # signal 0 means something else on Windows: assume alive
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, owned by another user
        return True
    return True


def _settle(job_dir: Path, doc: dict[str, Any]) -> dict[str, Any]:
    """A job left unfinished by a server process that has since stopped is failed."""
    pid = doc.get("pid")
    if (
        doc.get("status") not in FINISHED
        and doc.get("host") == HOST
        and isinstance(pid, int)
        and pid != os.getpid()
        and not _alive(pid)
    ):
        error = JobError(
            code="interrupted",
            message="the server stopped before the import finished",
            hint="upload the file again: rows already imported are found and reported unchanged",
        )
        return _update(
            job_dir,
            status=JobStatus.FAILED.value,
            finished_at=_now().isoformat(),
            error=error.model_dump(),
        )
    return doc


def _visible(doc: dict[str, Any], user: Principal) -> bool:
    return user.role is Role.ADMIN or doc.get("submitted_by_id") == user.user_id


def _job_dir(settings: Settings, job_id: str, user: Principal) -> tuple[Path, dict[str, Any]]:
    """The job's folder and document; 404 when unknown or not the caller's."""
    if _JOB_ID.fullmatch(job_id):
        job_dir = jobs_root(settings) / job_id
        doc = _read_doc(job_dir)
        if doc is not None and _visible(doc, user):
            return job_dir, _settle(job_dir, doc)
    raise ApiError(404, "not_found", f"no import job with id {job_id}", field="path.job_id")


# --- the worker ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Task:
    job_dir: Path
    settings: Settings
    rules: Rules
    client_address: str | None
    scope: ImportScope = UNLIMITED  # the uploader's row-level scope


class _Worker:
    """One thread per process running queued jobs in order; (re)started on demand."""

    def __init__(self) -> None:
        self.queue: Queue[_Task] = Queue()
        self.thread: threading.Thread | None = None
        self.lock = threading.Lock()

    def submit(self, task: _Task) -> None:
        with self.lock:
            if self.thread is None or not self.thread.is_alive():
                self.thread = threading.Thread(
                    target=self._loop, name="rapport-import-jobs", daemon=True
                )
                self.thread.start()
            self.queue.put(task)

    def _loop(self) -> None:
        while True:
            task = self.queue.get()
            try:
                run_job(task)
            except Exception:  # run_job records its own failures; never stop the loop
                log.exception("import job %s: could not record its outcome", task.job_dir.name)
            finally:
                self.queue.task_done()


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
    job_dir = task.job_dir
    doc = _update(
        job_dir,
        status=JobStatus.RUNNING.value,
        started_at=_now().isoformat(),
        pid=os.getpid(),
        host=HOST,
    )
    crashed = JobError(code="internal_error", message="the import stopped on an internal error")
    outcome: dict[str, Any] = {"status": JobStatus.FAILED.value, "error": crashed.model_dump()}
    try:
        outcome = _import(task, doc)
    except Exception:
        log.exception("import job %s crashed", job_dir.name)
    finally:
        _update(job_dir, finished_at=_now().isoformat(), **outcome)


def _import(task: _Task, doc: dict[str, Any]) -> dict[str, Any]:
    job_dir = task.job_dir
    failed = JobStatus.FAILED.value
    engine = None
    report: ImportReport | None = None
    try:
        engine = engine_from_settings(task.settings)
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
        public = public_report(report)
        outcome = {"status": JobStatus.DONE.value, "report": public.model_dump(), "error": None}
        if doc.get("strict") and report.rejected:
            error = JobError(
                code="rows_rejected",
                message=f"{report.rejected} of {report.read} rows were rejected (strict)",
                hint="the valid rows were imported; fix the reject file and upload it again",
            )
            outcome.update(status=failed, error=error.model_dump())
    finally:
        if engine is not None:
            _audit_outcome(engine, task, doc, report)
            engine.dispose()
    return outcome


def _audit_outcome(
    engine: sa.Engine, task: _Task, doc: dict[str, Any], report: ImportReport | None
) -> None:
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
    job = ImportJob(
        id=job_id,
        entity=entity,
        file=name,
        size=size,
        sheet=sheet,
        strict=strict,
        submitted_by=user.actor,
        submitted_by_id=user.user_id,
        submitted_at=_now(),
        status=JobStatus.QUEUED,
    )
    _write_doc(job_dir, {**job.model_dump(mode="json"), "pid": os.getpid(), "host": HOST})
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
    WORKER.submit(_Task(job_dir, settings, request.app.state.rules, auditor.address, scope))
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
    settings: SettingsDep,
    limit: Annotated[int, Query(ge=1, le=MAX_LIST, description="Most jobs to return.")] = (
        DEFAULT_LIST
    ),
) -> ImportJobsPublic:
    """Recent import jobs, newest first: your own (admins: everyone's)."""
    root = jobs_root(settings)
    docs: list[dict[str, Any]] = []
    if root.is_dir():
        for job_dir in root.iterdir():
            if not _JOB_ID.fullmatch(job_dir.name):
                continue
            doc = _read_doc(job_dir)
            if doc is not None and _visible(doc, user):
                docs.append(_settle(job_dir, doc))
    docs.sort(key=lambda d: str(d.get("submitted_at", "")), reverse=True)
    limit = min(limit, settings.max_page_size)
    jobs = []
    for doc in docs[:limit]:
        with contextlib.suppress(ValueError):
            jobs.append(ImportJob.model_validate(doc))
    return ImportJobsPublic(data=jobs, count=len(docs))


@router.get(
    "/{job_id}",
    response_model=ImportJob,
    dependencies=_READ,
    responses={**COMMON_RESPONSES, **NOT_FOUND_RESPONSE},
    name="get_import_job",
)
def get_import_job(job_id: JobId, user: CurrentUser, settings: SettingsDep) -> ImportJob:
    """One import job: its status, timings, and once finished its report or error."""
    _dir, doc = _job_dir(settings, job_id, user)
    return ImportJob.model_validate(doc)


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
    job_id: JobId, user: CurrentUser, settings: SettingsDep, auditor: AuditorDep
) -> FileResponse:
    """Download the rejected rows of a job (404 when no row was rejected)."""
    return _download(job_id, user, settings, auditor, "rejects_file", "rejects")


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
    job_id: JobId, user: CurrentUser, settings: SettingsDep, auditor: AuditorDep
) -> FileResponse:
    """Download the warnings of a job (404 when no value was dropped)."""
    return _download(job_id, user, settings, auditor, "warnings_file", "warnings")


def _download(
    job_id: str, user: Principal, settings: Settings, auditor: Any, report_key: str, route: str
) -> FileResponse:
    """One of a job's files named in its report; audited; 404 when there is none."""
    job_dir, doc = _job_dir(settings, job_id, user)
    name = ((doc.get("report") or {}).get(report_key)) or None
    path = job_dir / name if name else None
    if path is None or path.parent != job_dir or not path.is_file():
        raise ApiError(
            404, "not_found", f"import job {job_id} has no {route} file", field="path.job_id"
        )
    auditor.record(AuditAction.EXPORT, ENTITY, job_id, {"file": name, "route": route})
    media = MEDIA_TYPES.get(path.suffix.lower(), OTHER_MEDIA_TYPE)
    return FileResponse(path, media_type=media, filename=name)
