"""Bodies of ``/audit``: the entries of the audit log."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from rapport.api.schemas.common import Page
from rapport.domain import AuditAction


class AuditEntryPublic(BaseModel):
    """Who did what to which record, when and from where (never the personal data)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    occurred_at: dt.datetime = Field(description="UTC.")
    actor: str = Field(description="The user name; 'name (token T)' through an API token.")
    actor_user_id: int | None = Field(description="The user's id; null once deleted.")
    action: AuditAction
    entity: str = Field(description="The table of the record, e.g. customers, orders.")
    entity_id: str | None = Field(description="The record's id; null for several records.")
    detail: dict[str, Any] | None = Field(
        description="Route, changed field names, ids read … (never the values)."
    )
    client_address: str | None


class AuditEntriesPublic(Page[AuditEntryPublic]):
    """One page of the audit log, newest first: ``next_cursor`` leads to older entries."""
