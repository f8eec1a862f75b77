"""The period of an analysis request: ``period`` or ``last`` ending at ``as_of`` — the
query parameters ``GET /metrics``, ``/metrics/cohorts`` and ``/metrics/funnel`` share — and
the UTC times their bodies carry."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import Query

from rapport.analytics.periods import Period
from rapport.api.errors import ApiError
from rapport.config import Settings
from rapport.errors import RapportError, ValidationFailed

PeriodQuery = Annotated[
    str | None,
    Query(
        max_length=64,
        description="2024-01..2024-12, 2024Q1, 2024-03, 2024-03-15, or relative 90d/12w/6m/1y"
        " (default 12m).",
    ),
]
LastQuery = Annotated[
    str | None, Query(max_length=16, description="90d, 12w, 6m, 1y ending at as_of.")
]
AsOfQuery = Annotated[
    dt.date | None,
    Query(description="A local date: the analysis runs as of its end (default: now)."),
]


def invalid(field: str, message: str, value: Any = None, hint: str | None = None) -> ApiError:
    """A 422 naming the query parameter ``field``."""
    return ApiError(
        422, "validation_failed", f"{field}: {message}", field=field, value=value, hint=hint
    )


def as_of_moment(day: dt.date | None, settings: Settings) -> dt.datetime:
    """The end of the local day ``day`` (the next local midnight), or now; naive UTC."""
    if day is None:
        return dt.datetime.now(dt.UTC).replace(tzinfo=None)
    try:
        local = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=settings.tz)
    except OverflowError as exc:
        raise invalid("query.as_of", "out of range", value=str(day)) from exc
    return local.astimezone(dt.UTC).replace(tzinfo=None)


def parse_period(period: str | None, last: str | None, moment: dt.datetime, tz: Any) -> Period:
    """The half-open period of ``period`` or ``last`` (default ``12m``) at ``moment``; 422
    naming the parameter when it is not one."""
    if period is not None and last is not None:
        raise invalid("query.period", "give period or last, not both", value=period)
    field, text = ("query.last", last) if last is not None else ("query.period", period or "12m")
    try:
        return Period.parse(text, as_of=moment, tz=tz)
    except (ValidationFailed, ValueError, OverflowError) as exc:
        message = exc.message if isinstance(exc, RapportError) else "not a period"
        hint = exc.hint if isinstance(exc, RapportError) else None
        raise invalid(
            field,
            message,
            value=text,
            hint=hint or "e.g. 2024-01..2024-12, 2024Q1, 2024-03, or 90d, 12w, 6m, 1y",
        ) from exc


def utc(value: Any) -> Any:
    """A naive-UTC time of the engines made aware (bodies say it is UTC)."""
    return value.replace(tzinfo=dt.UTC) if isinstance(value, dt.datetime) else value
