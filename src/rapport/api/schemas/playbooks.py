"""Bodies and answers of ``/playbooks`` (docs/actions.md)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class PlaybookSummary(BaseModel):
    """A playbook in the list: whether it runs, where it comes from, its enrolments."""

    code: str
    name_zh: str
    name_en: str
    enabled: bool
    source: str
    version: int | None = Field(description="Null: in the rules, stored at the next run.")
    priority: int | None
    trigger: str | None
    actions: str
    outcome: str
    enrolled: int
    treated: int
    held_out: int


class PlaybookVersion(BaseModel):
    version: int
    created_at: dt.datetime
    created_by: str
    definition: dict[str, Any]


class PlaybookDetail(BaseModel):
    """A playbook's current definition and every version it has had (newest first)."""

    code: str
    enabled: bool
    source: str
    version: int | None
    definition: dict[str, Any]
    versions: list[PlaybookVersion]


class PlaybookEnabled(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool


class PlaybookRunRequest(BaseModel):
    """A run of every enabled playbook for ``day`` (default: today, local)."""

    model_config = ConfigDict(extra="forbid")

    day: dt.date | None = Field(
        default=None, ge=dt.date(2000, 1, 1), le=dt.date(2999, 12, 31), description="Local day."
    )
    dry_run: bool = Field(default=True, description="Write nothing (the default).")


class NextBestActionPublic(BaseModel):
    code: str
    name: str
    expected_value: float
    uplift: float
    customer_value: float
    basis: str = Field(description="measured or prior")
    reason: str
