"""Bodies of the scoring jobs: a job (a row of the store's ``import_jobs`` whose entity is
``scoring``) and the answers of the routes."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, Field

from rapport.api.schemas.imports import JobError, JobStatus


class ScoringReportPublic(BaseModel):
    """What the scoring run did."""

    as_of: dt.date = Field(description="The day of the snapshot written.")
    rows: int = Field(description="Customers scored (one snapshot row each).")
    seconds: dict[str, float] = Field(
        default_factory=dict, description="Seconds per step (models, compute, prepare, write)."
    )
    notes: list[str] = Field(
        default_factory=list, description="Predictive models that could not be fitted, and why."
    )


class ScoringJob(BaseModel):
    """One scoring job."""

    id: str
    as_of: dt.date = Field(description="The day scored.")
    submitted_by: str = Field(description="Who started it (username, and token if any).")
    submitted_by_id: int
    submitted_at: dt.datetime
    status: JobStatus
    step: str | None = Field(
        default=None, description="While running: the step it is on (models, compute …)."
    )
    started_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None
    report: ScoringReportPublic | None = None
    error: JobError | None = None


class ScoringJobAccepted(BaseModel):
    """A scoring job was queued: poll ``poll`` until its status is done or failed."""

    id: str
    status: JobStatus
    poll: str
