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
"""

from __future__ import annotations

import logging
import os
import threading
import time
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from queue import Queue
from typing import Any

import sqlalchemy as sa

from rapport.config import Rules, Settings
from rapport.domain import AuditAction, ImportJobStatus
from rapport.errors import RapportError, ValidationFailed
from rapport.ingest.importer import import_file
from rapport.ingest.report import ImportReport
from rapport.ingest.scope import UNLIMITED, ImportScope
from rapport.store import audit, import_jobs
from rapport.store.db import engine_from_settings, session_scope
from rapport.store.repository import Row, utcnow

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


class ImportWorker:
    """One thread per process running queued jobs in order, and one refreshing the
    heartbeat of the jobs it holds (queued or running); both (re)started on demand."""

    def __init__(self) -> None:
        self.queue: Queue[ImportTask] = Queue()
        self.thread: threading.Thread | None = None
        self.beating: threading.Thread | None = None
        self.held: dict[str, ImportTask] = {}  # job id → task, until the job ends
        self.lock = threading.Lock()

    def submit(self, task: ImportTask) -> None:
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
                by_store: dict[str, list[ImportTask]] = {}
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


def run_job(task: ImportTask) -> None:
    """Run one queued job to ``done`` or ``failed`` — whatever happens, it ends finished."""
    engine = engine_from_settings(task.settings)
    try:
        now = utcnow()
        _record(
            engine,
            task.job_id,
            status=ImportJobStatus.RUNNING.value,
            started_at=now,
            heartbeat_at=now,
        )
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
