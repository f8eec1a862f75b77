"""Import jobs run in the background of a server process: the uploaded files' folder, the
file name an upload is stored under, and the worker that runs queued jobs with
:func:`rapport.ingest.importer.import_file` — the same function, reports and reject files
as ``rapport import`` — and records their outcome in the store's ``import_jobs`` table
(:mod:`rapport.store.import_jobs`).

Both the API (``POST /api/v1/imports/{entity}``) and the web workspace's Data page queue
their jobs here, so a job runs, beats and fails the same way whichever adapter took the
upload. One worker thread per process runs the jobs it queued, one at a time, on an engine
of its own on the configured store (committed batch by batch, so a job's rows are visible
while it runs); a second thread refreshes the heartbeat of the jobs it holds, so that a job
whose process stopped is failed (``interrupted``) on the next read.

A job's outcome is stored as documents: the report (:func:`report_document`, the fields of
the API's ``ImportReportPublic``) and, when it failed, the error (``code``, ``message``,
``field``, ``hint``).

The same worker and table run *scoring jobs* (``entity`` :data:`SCORING`): the scoring
pipeline (:func:`rapport.scoring.run`, what ``rapport score`` runs) as of a day, queued
behind the imports before it, so that scores follow the data just imported. The engine
never runs in the server process (:mod:`rapport.workers` says why): the worker thread hands
the run to an analytics worker process, which writes the step it is on to the job's folder
(:func:`scoring_step`). Only one scoring job is unfinished at a time (:func:`submit_scoring`).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import threading
import time
import unicodedata
import uuid
from dataclasses import dataclass
from pathlib import Path
from queue import Queue
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from rapport.access import Principal
from rapport.config import Rules, Settings
from rapport.domain import AuditAction, ImportJobStatus, Role
from rapport.errors import Conflict, RapportError, ValidationFailed
from rapport.ingest.importer import import_file
from rapport.ingest.report import ImportReport
from rapport.ingest.scope import UNLIMITED, ImportScope
from rapport.store import audit, import_jobs, schema
from rapport.store.db import engine_from_settings, lock_for_upsert, session_scope
from rapport.store.repository import Row, utcnow
from rapport.workers import run_in_worker, store_settings

log = logging.getLogger("rapport.imports")

JOBS_DIR = "imports"
#: The name of a job's own record in its folder before the store kept jobs; never an upload's.
JOB_FILE = "job.json"
CHUNK_BYTES = 1 << 20
MAX_NAME_CHARS = 120
_FORBIDDEN_CHARS = frozenset('<>:"|?*')

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


def jobs_root(settings: Settings) -> Path:
    """Where the uploads of ``settings`` go: ``<data_dir>/imports/<job id>/``."""
    return Path(settings.data_dir) / JOBS_DIR


def safe_file_name(raw: str | None) -> str:
    """The upload's name as stored: no folders, no leading dot, printable, not too long.

    Raises
    ------
    ValidationFailed
        For names that try to leave the job's folder (``field`` is ``file``).
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
        raise ValidationFailed(
            "refused file name {name!r}",
            field="file",
            value=raw,
            hint="send the file under a plain name such as customers.csv "
            "(no folders, not starting with a dot)",
            key="import_file_name",
            params={"name": raw},
        )
    name = "".join("_" if c in _FORBIDDEN_CHARS or not c.isprintable() else c for c in name)
    if len(name) > MAX_NAME_CHARS:
        stem, suffix = os.path.splitext(name)
        suffix = suffix[:16]
        name = stem[: MAX_NAME_CHARS - len(suffix)] + suffix
    return name


def job_error(
    code: str, message: str, *, field: str | None = None, hint: str | None = None
) -> dict[str, Any]:
    """A failed job's error document."""
    return {"code": code, "message": message, "field": field, "hint": hint}


def report_document(report: ImportReport) -> dict[str, Any]:
    """What a job keeps of the importer's report (file names without their folder)."""
    return {
        "format": report.format,
        "encoding": report.encoding,
        "read": report.read,
        "inserted": report.inserted,
        "updated": report.updated,
        "unchanged": report.unchanged,
        "rejected": report.rejected,
        "seconds": round(report.seconds, 3),
        "reject_reasons": report.reject_reasons,
        "rejects_file": Path(report.reject_file).name if report.reject_file else None,
        "mapping": report.mapping,
        "unknown_columns": report.unknown_columns,
        "warnings": report.warnings,
        "warning_reasons": report.warning_reasons,
        "warnings_file": Path(report.warning_file).name if report.warning_file else None,
        "defaults": report.defaults,
    }


def _record(engine: sa.Engine, job_id: str, **values: Any) -> None:
    """Write ``values`` to the job's row, in a transaction of their own."""
    with session_scope(engine, writing=True) as session:
        import_jobs.update(session=session, id=job_id, values=values)


# --- the worker ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ImportTask:
    """A queued job: its id and folder, the store and rules it runs with, the uploader's
    address (for the audit entry) and row-level scope."""

    job_id: str
    job_dir: Path
    settings: Settings
    rules: Rules
    client_address: str | None
    scope: ImportScope = UNLIMITED  # the uploader's row-level scope


@dataclass(frozen=True)
class ScoringTask:
    """A queued scoring job: its id and folder, the store it scores, the day, and the
    submitter's address (for the audit entry)."""

    job_id: str
    job_dir: Path
    settings: Settings
    as_of: dt.date
    client_address: str | None


class ImportWorker:
    """One thread per process running queued jobs in order, and one refreshing the
    heartbeat of the jobs it holds (queued or running); both (re)started on demand."""

    def __init__(self) -> None:
        self.queue: Queue[ImportTask | ScoringTask] = Queue()
        self.thread: threading.Thread | None = None
        self.beating: threading.Thread | None = None
        self.held: dict[str, ImportTask | ScoringTask] = {}  # job id → task, until it ends
        self.lock = threading.Lock()

    def submit(self, task: ImportTask | ScoringTask) -> None:
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
                run_scoring(task) if isinstance(task, ScoringTask) else run_job(task)
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
                by_store: dict[str, list[ImportTask | ScoringTask]] = {}
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


WORKER = ImportWorker()


def _relative(text: str | None, job_dir: Path) -> str | None:
    """The importer names files by their full path; show the user the file name only."""
    if text is None:
        return None
    return text.replace(f"{job_dir}{os.sep}", "")


def _error_of(exc: RapportError, job_dir: Path) -> dict[str, Any]:
    name = type(exc).__name__
    code = "".join(f"_{c.lower()}" if c.isupper() else c for c in name).lstrip("_")
    return job_error(
        code,
        _relative(exc.message, job_dir) or name,
        field=exc.field,
        hint=_relative(exc.hint, job_dir),
    )


def _start(engine: sa.Engine, job_id: str) -> None:
    """Mark a queued job running (its start and first heartbeat now)."""
    now = utcnow()
    _record(engine, job_id, status=ImportJobStatus.RUNNING.value, started_at=now, heartbeat_at=now)


def run_job(task: ImportTask) -> None:
    """Run one queued job to ``done`` or ``failed`` — whatever happens, it ends finished."""
    engine = engine_from_settings(task.settings)
    try:
        _start(engine, task.job_id)
        crashed = job_error("internal_error", "the import stopped on an internal error")
        outcome: dict[str, Any] = {"status": ImportJobStatus.FAILED.value, "error": crashed}
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


def _import(task: ImportTask, doc: Row, engine: sa.Engine) -> dict[str, Any]:
    job_dir = task.job_dir
    failed = ImportJobStatus.FAILED.value
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
        outcome = {"status": failed, "error": _error_of(exc, job_dir)}
    except sa.exc.SQLAlchemyError as exc:
        log.error("import job %s: store error: %s", job_dir.name, exc)
        error = job_error(
            "store_unavailable",
            f"the store failed during the import ({type(exc).__name__})",
            hint="retry later: rows already imported are found and reported unchanged",
        )
        outcome = {"status": failed, "error": error}
    else:
        public = report_document(report)
        outcome = {
            "status": ImportJobStatus.DONE.value,
            "report": {k: v for k, v in public.items() if k not in import_jobs.COUNTS},
            **{f"rows_{k}": public[k] for k in import_jobs.COUNTS},
            "error": None,
        }
        if doc.get("strict") and report.rejected:
            error = job_error(
                "rows_rejected",
                f"{report.rejected} of {report.read} rows were rejected (strict)",
                hint="the valid rows were imported; fix the reject file and upload it again",
            )
            outcome.update(status=failed, error=error)
    finally:
        _audit_outcome(engine, task, doc, report)
    return outcome


def _audit_outcome(
    engine: sa.Engine, task: ImportTask, doc: Row, report: ImportReport | None
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


# --- who reads which job -------------------------------------------------------------------


def submitter(user: Principal) -> int | None:
    """Whose jobs ``user`` reads: their own (their id), or everyone's (``None``) for an
    administrator."""
    return None if user.role is Role.ADMIN else user.user_id


def visible_job(
    *, session: Session, job_id: str, user: Principal, scoring: bool | None = None
) -> Row:
    """The job ``job_id`` as stored, when ``user`` reads it (:func:`submitter`) and it is of
    the kind asked: a scoring job (``scoring`` true), an import (false), either (``None``).

    Raises
    ------
    NotFound
        :func:`rapport.store.import_jobs.not_found` ("no import job with id …", "no scoring
        job …" when ``scoring``): a job missing, another's and one of the other kind alike.
    """
    row = import_jobs.get(session=session, id=job_id) if import_jobs.ID.fullmatch(job_id) else None
    mine = submitter(user)
    if (
        row is None
        or (mine is not None and row["submitted_by_id"] != mine)
        or (scoring is not None and (row["entity"] == SCORING) is not scoring)
    ):
        raise import_jobs.not_found(job_id, entity="scoring job" if scoring else "import job")
    return row


# --- scoring jobs --------------------------------------------------------------------------

#: The ``entity`` of a scoring job's row in ``import_jobs`` (its ``file`` is the day scored).
SCORING = "scoring"
#: Where a scoring job's worker process writes the step it is on, in the job's folder.
PROGRESS_FILE = "progress.json"
#: The steps of a scoring run, in order (:func:`rapport.scoring.run` and the models' fit);
#: the demand model's step is left out when it has too little history.
SCORING_STEPS = (
    "copy",
    "models",
    "purchase summary",
    "purchase and spend models",
    "churn model",
    "demand model",
    "compute",
    "metrics",
    "prepare",
    "write",
    "reports",
)
#: Seconds a scoring job may take in its worker process before it fails.
SCORING_TIMEOUT = 3600.0


def unfinished_scoring(*, session: Any) -> Row | None:
    """The scoring job that is queued or running (its process alive), or ``None``."""
    for row in import_jobs.unfinished(session=session, entity=SCORING):
        if not import_jobs.is_stale(row):
            return row
    return None


def submit_scoring(
    *,
    session: Any,
    settings: Settings,
    engine: sa.Engine,
    actor: str,
    actor_user_id: int,
    as_of: dt.date | None = None,
    client_address: str | None = None,
    via: str | None = None,
) -> ScoringTask:
    """Record a scoring job of the store ``engine`` serves (as of ``as_of``, default today
    in the business time zone) and its audit entry in ``session``; returns the task to hand
    to :data:`WORKER` once the session is committed.

    The check and the new row are one step for concurrent submitters: on PostgreSQL the
    jobs table is locked against other writers until ``session`` ends
    (:func:`~rapport.store.db.lock_for_upsert`); on SQLite the writer's transaction holds
    the store's write lock.

    Raises
    ------
    Conflict
        While another scoring job is queued or running (``field`` is ``scoring``).
    """
    lock_for_upsert(session.connection(), schema.import_jobs)
    running = unfinished_scoring(session=session)
    if running is not None:
        raise Conflict(
            "scoring job {job} is already {status}",
            field="scoring",
            hint="wait for it to end: its page shows its progress",
            key="scoring_running",
            params={"job": running["id"], "status": running["status"]},
        )
    from rapport.scoring import today

    day = as_of or today(settings.tz)
    job_id = uuid.uuid4().hex
    folder = jobs_root(settings) / job_id
    folder.mkdir(parents=True, exist_ok=True)
    values = {
        "id": job_id,
        "entity": SCORING,
        "file": day.isoformat(),
        "directory": str(folder.resolve()),
        "size": 0,
        "sheet": None,
        "strict": False,
        "submitted_by": actor,
        "submitted_by_id": actor_user_id,
        "submitted_at": utcnow(),
    }
    import_jobs.create(session=session, values=values)
    detail: dict[str, Any] = {"as_of": day.isoformat()}
    if via is not None:
        detail["via"] = via
    audit.record(
        session=session,
        actor=actor,
        actor_user_id=actor_user_id,
        action=AuditAction.CREATE,
        entity=SCORING,
        entity_id=job_id,
        detail=detail,
        client_address=client_address,
    )
    return ScoringTask(job_id, folder, store_settings(settings, engine), day, client_address)


def scoring_step(row: Row) -> tuple[str, int] | None:
    """The step a running scoring job is on and its place in :data:`SCORING_STEPS` (from
    1), or ``None`` before the first step and once the job is not running."""
    if row["entity"] != SCORING or row["status"] != ImportJobStatus.RUNNING.value:
        return None
    try:
        step = json.loads((Path(row["directory"]) / PROGRESS_FILE).read_text("utf-8"))["step"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if step not in SCORING_STEPS:
        return None
    return step, SCORING_STEPS.index(step) + 1


def _score(settings: Settings, as_of: dt.date, progress: str) -> dict[str, Any]:
    """In an analytics worker process: score the store as of ``as_of``, writing each step
    to the file ``progress``; returns the job's report."""
    from rapport.scoring import run

    path = Path(progress)

    def on_step(name: str) -> None:
        part = path.with_suffix(".part")
        part.write_text(json.dumps({"step": name}), "utf-8")
        part.replace(path)

    result = run(settings, as_of=as_of, on_step=on_step)
    notes = list(map(str, result.models.notes)) if result.models is not None else []
    return {
        "as_of": result.as_of.isoformat(),
        "rows": result.rows,
        "seconds": {k: round(v, 3) for k, v in result.seconds.items()},
        "notes": notes,
    }


def run_scoring(task: ScoringTask) -> None:
    """Run one queued scoring job to ``done`` or ``failed`` — whatever happens, it ends
    finished, and its outcome is audited."""
    engine = engine_from_settings(task.settings)
    try:
        _start(engine, task.job_id)
        failed = ImportJobStatus.FAILED.value
        crashed = job_error("internal_error", "scoring stopped on an internal error")
        outcome: dict[str, Any] = {"status": failed, "error": crashed}
        try:
            report = run_in_worker(
                _score,
                task.settings,
                task.as_of,
                str(task.job_dir / PROGRESS_FILE),
                what="scoring",
                hint="run `rapport score` on the server, which has no time limit",
                timeout=SCORING_TIMEOUT,
            )
            outcome = {
                "status": ImportJobStatus.DONE.value,
                "rows_read": report["rows"],
                "report": report,
                "error": None,
            }
        except RapportError as exc:
            outcome = {"status": failed, "error": _error_of(exc, task.job_dir)}
        except Exception:
            log.exception("scoring job %s crashed", task.job_id)
        finally:
            _finish_scoring(engine, task, {"finished_at": utcnow(), **outcome})
    finally:
        engine.dispose()


def _finish_scoring(engine: sa.Engine, task: ScoringTask, values: dict[str, Any]) -> None:
    """Record the job's outcome and its audit entry together (whoever sees the job ended
    finds the entry); the outcome alone when the entry cannot be written."""
    detail: dict[str, Any] = {"job": task.job_id, "as_of": task.as_of.isoformat()}
    if values["status"] == ImportJobStatus.DONE.value:
        detail["rows"] = values["rows_read"]
    else:
        detail["failed"] = True
    try:
        with session_scope(engine, writing=True) as session:
            import_jobs.update(session=session, id=task.job_id, values=values)
            row = import_jobs.get(session=session, id=task.job_id)
            assert row is not None, f"scoring job {task.job_id} vanished"
            audit.record(
                session=session,
                actor=row["submitted_by"],
                actor_user_id=row["submitted_by_id"],
                action=AuditAction.UPDATE,
                entity=SCORING,
                entity_id=task.job_id,
                detail=detail,
                client_address=task.client_address,
            )
    except (sa.exc.SQLAlchemyError, RapportError) as exc:
        log.warning("scoring job %s: audit entry not written: %s", task.job_id, exc)
        _record(engine, task.job_id, **values)
