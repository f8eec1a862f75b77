"""Alert bodies: ``AlertPublic`` and ``AlertsPublic`` (a page)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, Field

from rapport.api.schemas.common import Page
from rapport.domain import AlertKind, AlertSeverity, AlertStatus


class AlertPublic(BaseModel):
    """An alert: what it warns of, its evidence, and who acknowledged or resolved it
    (``resolved_by`` null on a resolved alert: resolved by the alert run, its condition
    gone)."""

    id: int
    kind: AlertKind
    dedup_key: str = Field(description="The condition: one alert per key.")
    customer_id: int | None
    severity: AlertSeverity
    status: AlertStatus
    details: dict[str, Any] | None
    raised_at: dt.datetime
    last_seen_at: dt.datetime = Field(description="The last run that found the condition.")
    acknowledged_at: dt.datetime | None
    acknowledged_by: int | None
    resolved_at: dt.datetime | None
    resolved_by: int | None


class AlertsPublic(Page[AlertPublic]):
    """A page of alerts, newest raised first."""
