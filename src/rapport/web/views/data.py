"""The page 数据 Data: import a file (preview first, then a job), follow the job, read its
report and download its rejects; run scoring in the background; the history of the jobs.

An import goes the way ``POST /api/v1/imports/{entity}`` goes, with the pieces the API uses
(:mod:`rapport.imports`): the upload is kept under ``<data_dir>/imports/<job id>/`` under
the same safe file name; the preview
(:func:`rapport.ingest.preview.preview_file`) reads its first rows with the importer's
reader, mapping and checks, writing nothing; on confirmation the job is recorded in the
store (:mod:`rapport.store.import_jobs`, seen by every server process) and queued on the
process's import worker, which runs :func:`rapport.ingest.importer.import_file` with the uploader's
row-level scope. Submitting and downloading rejects are audited as the API audits them,
with ``via: web``.

An upload waiting for confirmation is a folder with a ``.staged.json`` note (who uploaded
it, as what) and no job row: a name no upload can take (the API refuses leading dots).

*Run scoring* queues a scoring job (:func:`rapport.imports.submit_scoring`, the job of
``POST /api/v1/jobs/scoring``) on the same worker, behind the imports before it; its page
shows the step it is on, then the snapshot written. A second one is refused while one is
unfinished.

The page is for admins and managers (as the API's import routes); managers see their own
jobs, admins everyone's; only admins import ``users``.
"""

from __future__ import annotations

import json
import re
import shutil
import uuid
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import FileResponse, Response

from rapport.access import CustomerScope, Principal
from rapport.domain import AuditAction, ImportJobStatus, Role
from rapport.errors import Conflict, NotFound, RapportError, ValidationFailed
from rapport.i18n.errors import error_text
from rapport.i18n.labels import t as label
from rapport.i18n.reasons import localize_reason
from rapport.imports import (
    CHUNK_BYTES,
    MEDIA_TYPES,
    OTHER_MEDIA_TYPE,
    SCORING,
    SCORING_STEPS,
    WORKER,
    ImportTask,
    jobs_root,
    safe_file_name,
    scoring_step,
    submit_scoring,
    submitter,
    visible_job,
)
from rapport.ingest.entities import IMPORT_ORDER
from rapport.ingest.preview import Preview, preview_file
from rapport.ingest.readers import open_source
from rapport.store import audit, import_jobs
from rapport.store.repository import Row, utcnow
from rapport.web import render
from rapport.web.auth import CSRF, VIA, client_address, roles, writing
from rapport.web.nav import NavEntry
from rapport.workers import store_settings

router = APIRouter(include_in_schema=False)
PAGE_ROLES = (Role.ADMIN, Role.MANAGER)
NAV = NavEntry(path="/data", key="nav.data", order=80, roles=frozenset(PAGE_ROLES))
DataUser = Annotated[Principal, Depends(roles(*PAGE_ROLES))]
#: The audit entity of import jobs (as the API's).
ENTITY = "imports"
#: The note of an upload waiting for confirmation.
STAGED = ".staged.json"
#: How many jobs the history shows, and rejects the report shows.
HISTORY = 50
FIRST_REJECTS = 20
#: How often the job page asks for the job's state while it runs (seconds).
POLL_SECONDS = 1
_ID = re.compile(r"^[0-9a-f]{32}$")
#: How the encodings the reader detects are named to people (GB18030 is GBK's superset).
ENCODING_NAMES = {"gb18030": "GBK / GB18030", "gbk": "GBK", "utf-8": "UTF-8", "utf-8-sig": "UTF-8"}


def _entities(user: Principal) -> list[str]:
    return [e for e in IMPORT_ORDER if e != "users" or user.role is Role.ADMIN]


def _locale(request: Request) -> str:
    return render.formatter(request).locale


def _context(request: Request) -> dict[str, Any]:
    locale = _locale(request)
    return {
        "entity_label": lambda name: label(name, locale),
        "encoding_name": lambda enc: ENCODING_NAMES.get((enc or "").lower(), enc or ""),
        "reason": lambda text: localize_reason(text, locale),
        "statuses": ImportJobStatus,
        "scoring": SCORING,
        "scoring_steps": len(SCORING_STEPS),
        "scoring_step": scoring_step,
        "step_label": lambda step: render.formatter(request).t(
            "data.step." + step.replace(" ", "_")
        ),
    }


def _audit(request: Request, user: Principal, action: AuditAction, job_id: str, detail: Any):
    def write(session: Any) -> None:
        audit.record(
            session=session,
            actor=user.actor,
            actor_user_id=user.user_id,
            action=action,
            entity=ENTITY,
            entity_id=job_id,
            detail={"via": VIA, **detail},
            client_address=client_address(request),
        )

    return write


def _is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true" and not request.headers.get(
        "hx-history-restore-request"
    )


# --- the page ------------------------------------------------------------------------------


def job_history(request: Request, user: Principal, limit: int = HISTORY) -> tuple[list[Row], int]:
    """The latest ``limit`` jobs the user sees (a manager their own, an admin everyone's),
    newest first, each as it reads (a stale one failed), and how many there are in all."""
    with request.app.state.sessions() as session:
        rows, count = import_jobs.recent(
            session=session,
            submitted_by_id=submitter(user),
            limit=limit,
        )
    return [import_jobs.settled(r) for r in rows], count


def _home(
    request: Request, user: Principal, *, error: str | None = None, status: int = 200
) -> Response:
    jobs, count = job_history(request, user)
    context = {
        **_context(request),
        "entities": _entities(user),
        "jobs": jobs,
        "job_count": count,
        "error": error,
    }
    return render.page(request, "data.html", context, status=status)


@router.get("/data")
def data_page(request: Request, user: DataUser) -> Response:
    return _home(request, user)


# --- upload and preview --------------------------------------------------------------------


def _staged_dir(request: Request, staged: str) -> Path | None:
    if not _ID.fullmatch(staged):
        return None
    folder = jobs_root(request.app.state.settings) / staged
    return folder if (folder / STAGED).is_file() else None


def _staged_note(folder: Path, user: Principal) -> dict[str, Any] | None:
    """The note of a staged upload, when it is ``user``'s."""
    try:
        note = json.loads((folder / STAGED).read_text("utf-8"))
    except (OSError, ValueError):
        return None
    return note if note.get("user_id") == user.user_id else None


def staged_upload(
    request: Request, user: Principal, staged: str
) -> tuple[Path, dict[str, Any]] | None:
    """The folder and the note (``entity``, ``file``, ``size``) of the upload ``staged``
    waiting for confirmation, when it is ``user``'s; ``None`` otherwise."""
    folder = _staged_dir(request, staged)
    note = None if folder is None else _staged_note(folder, user)
    return None if folder is None or note is None else (folder, note)


def read_preview(request: Request, entity: str, path: Path) -> Preview:
    """What the import of the file ``path`` as ``entity`` would do: its encoding, mapping,
    first rows and their problems (:func:`rapport.ingest.preview.preview_file`)."""
    return preview_file(
        entity, path, settings=request.app.state.settings, rules=request.app.state.rules
    )


@router.post("/data/preview", dependencies=CSRF)
def upload(
    request: Request,
    user: DataUser,
    entity: Annotated[str, Form(max_length=64)],
    file: Annotated[UploadFile, File()],
) -> Response:
    """Keep the upload, read its first rows, show what the import would do."""
    fmt = render.formatter(request)
    if entity not in _entities(user):
        return _home(request, user, error=fmt.t("data.error.entity"), status=422)
    try:
        name = safe_file_name(file.filename)
    except ValidationFailed:
        return _home(request, user, error=fmt.t("data.error.file_name"), status=422)
    staged = uuid.uuid4().hex
    folder = jobs_root(request.app.state.settings) / staged
    folder.mkdir(parents=True)
    try:
        with (folder / name).open("wb") as out:
            shutil.copyfileobj(file.file, out, CHUNK_BYTES)
            size = out.tell()
        note = {"user_id": user.user_id, "entity": entity, "file": name, "size": size}
        (folder / STAGED).write_text(json.dumps(note), "utf-8")
        preview = read_preview(request, entity, folder / name)
    except RapportError as exc:
        shutil.rmtree(folder, ignore_errors=True)
        message = error_text(exc, fmt.locale).replace(f"{folder}/", "")
        return _home(request, user, error=message, status=422)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    context = {
        **_context(request),
        "preview": preview,
        "staged": staged,
        "size": size,
        "mapping_error": (
            error_text(preview.mapping_error, fmt.locale) if preview.mapping_error else None
        ),
    }
    template = "data_preview_body.html" if _is_htmx(request) else "data_preview.html"
    return render.page(request, template, context)


@router.post("/data/discard", dependencies=CSRF)
def discard(request: Request, user: DataUser, staged: Annotated[str, Form()]) -> Response:
    """Forget an upload that was not confirmed."""
    folder = _staged_dir(request, staged)
    if folder is not None and _staged_note(folder, user) is not None:
        shutil.rmtree(folder, ignore_errors=True)
    return render.redirect(request, "/data")


@router.post("/data/imports", dependencies=CSRF)
def confirm(request: Request, user: DataUser, staged: Annotated[str, Form()]) -> Response:
    """Record the job of a previewed upload and queue it, as ``POST /imports/{entity}``."""
    folder = _staged_dir(request, staged)
    note = _staged_note(folder, user) if folder is not None else None
    if folder is None or note is None or note["entity"] not in _entities(user):
        fmt = render.formatter(request)
        return _home(request, user, error=fmt.t("data.error.staged"), status=404)
    settings = request.app.state.settings
    job_id = staged
    values = {
        "id": job_id,
        "entity": note["entity"],
        "file": note["file"],
        "directory": str(folder.resolve()),
        "size": note["size"],
        "sheet": None,
        "strict": False,
        "submitted_by": user.actor,
        "submitted_by_id": user.user_id,
        "submitted_at": utcnow(),
    }
    detail = {"entity": note["entity"], "file": note["file"], "size": note["size"]}

    def work(session: Any) -> None:
        import_jobs.create(session=session, values=values)
        _audit(request, user, AuditAction.IMPORT, job_id, {**detail, "strict": False})(session)

    # committed before the worker starts (on SQLite its first batch would wait for this lock)
    writing(request, work)
    (folder / STAGED).unlink(missing_ok=True)
    scope = CustomerScope(user).import_scope()
    # the store this server serves (its engine may have been given apart from the settings)
    served = store_settings(settings, request.app.state.engine)
    task = ImportTask(
        job_id, folder, served, request.app.state.rules, client_address(request), scope
    )
    WORKER.submit(task)
    return render.redirect(request, f"/data/jobs/{job_id}")


# --- scoring -------------------------------------------------------------------------------


@router.post("/data/scoring", dependencies=CSRF)
def start_scoring(request: Request, user: DataUser) -> Response:
    """Queue a scoring job of today, as ``POST /api/v1/jobs/scoring``; refused (409) while
    another is unfinished."""

    def work(session: Any) -> Any:
        return submit_scoring(
            session=session,
            settings=request.app.state.settings,
            engine=request.app.state.engine,
            actor=user.actor,
            actor_user_id=user.user_id,
            client_address=client_address(request),
            via=VIA,
        )

    try:
        task = writing(request, work)
    except Conflict:
        fmt = render.formatter(request)
        return _home(request, user, error=fmt.t("data.error.scoring_running"), status=409)
    WORKER.submit(task)
    return render.redirect(request, f"/data/jobs/{task.job_id}")


# --- a job ---------------------------------------------------------------------------------


def _job(request: Request, user: Principal, job_id: str) -> Row | None:
    """The job as it reads (:func:`rapport.imports.visible_job`, an import or a scoring
    job), or ``None`` when unknown or not the user's."""
    try:
        with request.app.state.sessions() as session:
            row = visible_job(session=session, job_id=job_id, user=user)
    except NotFound:
        return None
    return import_jobs.settled(row)


def _first_rejects(row: Row) -> list[dict[str, Any]]:
    """The first rows of the job's reject file: spreadsheet row, column, reason."""
    name = (row["report"] or {}).get("rejects_file")
    if not name:
        return []
    path = Path(row["directory"]) / name
    if not path.is_file():
        return []
    try:
        source = open_source(path)
        batch = next(iter(source.batches(FIRST_REJECTS)), None)
    except RapportError:
        return []
    if batch is None:
        return []
    frame = batch.frame.head(FIRST_REJECTS)
    return [
        {"row": r["_row"], "column": r["_column"], "reason": r["_reason"]}
        for r in frame.select("_row", "_column", "_reason").iter_rows(named=True)
    ]


@router.get("/data/jobs/{job_id}")
def job_page(request: Request, user: DataUser, job_id: str) -> Response:
    row = _job(request, user, job_id)
    if row is None:
        return render.page(request, "not_found.html", status=404)
    finished = row["status"] not in import_jobs.UNFINISHED
    context = {
        **_context(request),
        "job": row,
        "finished": finished,
        "rejects": _first_rejects(row) if finished else [],
        "poll": POLL_SECONDS,
        "now_utc": utcnow(),
    }
    template = "data_job_status.html" if _is_htmx(request) else "data_job.html"
    return render.page(request, template, context)


@router.get("/data/jobs/{job_id}/{kind}")
def job_file(request: Request, user: DataUser, job_id: str, kind: str) -> Response:
    """The job's reject or warning file, audited as the API's download."""
    row = _job(request, user, job_id)
    key = {"rejects": "rejects_file", "warnings": "warnings_file"}.get(kind)
    name = ((row["report"] or {}).get(key) if row is not None and key else None) or None
    folder = Path(row["directory"]) if row is not None else None
    path = folder / name if folder is not None and name else None
    if path is None or path.parent != folder or not path.is_file():
        return render.page(request, "not_found.html", status=404)
    writing(
        request, _audit(request, user, AuditAction.EXPORT, job_id, {"file": name, "route": kind})
    )
    media = MEDIA_TYPES.get(path.suffix.lower(), OTHER_MEDIA_TYPE)
    return render.with_cookie(request, FileResponse(path, media_type=media, filename=name))
