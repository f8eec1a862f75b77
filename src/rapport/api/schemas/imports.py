"""Bodies of the import jobs: a job (a row of the store's ``import_jobs``) and the answers
of the routes."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from pydantic import BaseModel, Field

from rapport.domain import ImportJobStatus
from rapport.ingest.entities import IMPORT_ORDER

#: The entities a file can be imported as, in an order that satisfies every reference.
ImportEntity = StrEnum("ImportEntity", {name: name for name in IMPORT_ORDER})  # type: ignore[misc]


#: queued → running → done | failed (the store's enumeration).
JobStatus = ImportJobStatus

#: Statuses a job never leaves.
FINISHED = frozenset({JobStatus.DONE, JobStatus.FAILED})


class ImportReportPublic(BaseModel):
    """What the importer did; ``read == inserted + updated + unchanged + rejected``."""

    format: str = Field(description="csv, xlsx, parquet or jsonl, as detected.")
    encoding: str | None = Field(default=None, description="The text encoding detected.")
    read: int
    inserted: int
    updated: int
    unchanged: int
    rejected: int
    seconds: float
    reject_reasons: dict[str, int] = Field(
        default_factory=dict, description="Rejected rows per reason (column: problem)."
    )
    rejects_file: str | None = Field(
        default=None, description="Name of the reject file (download it at …/rejects)."
    )
    mapping: dict[str, str] = Field(default_factory=dict, description="File column → import field.")
    unknown_columns: list[str] = Field(
        default_factory=list, description="File columns that map to no field."
    )
    warnings: int = Field(
        default=0,
        description="Bad optional values dropped from kept rows (a bad e-mail, phone, birthday…).",
    )
    warning_reasons: dict[str, int] = Field(
        default_factory=dict, description="Dropped values per reason (column: problem)."
    )
    warnings_file: str | None = Field(
        default=None, description="Name of the warnings file (download it at …/warnings)."
    )
    defaults: dict[str, str] = Field(
        default_factory=dict,
        description="Fields the file has no column for → what the import filled in.",
    )


class JobError(BaseModel):
    """Why a job failed: the importer's own message."""

    code: str = Field(description="unreadable_file, validation_failed, rows_rejected …")
    message: str
    field: str | None = None
    hint: str | None = None


class ImportJob(BaseModel):
    """One import job, as the store's ``import_jobs`` keeps it."""

    id: str
    entity: ImportEntity
    file: str = Field(description="The uploaded file's (sanitized) name.")
    size: int = Field(description="Bytes uploaded.")
    sheet: str | None = None
    strict: bool = False
    submitted_by: str = Field(description="Who uploaded it (username, and token if any).")
    submitted_by_id: int
    submitted_at: dt.datetime
    status: JobStatus
    started_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None
    report: ImportReportPublic | None = None
    error: JobError | None = None


class ImportJobAccepted(BaseModel):
    """A job was queued: poll ``poll`` until its status is done or failed."""

    id: str
    status: JobStatus
    poll: str


class ImportJobsPublic(BaseModel):
    """Recent jobs, newest first; ``count`` is every job you may see."""

    data: list[ImportJob]
    count: int
