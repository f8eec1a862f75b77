"""Bodies of ``/metrics``: the metrics of docs/metrics.md with their inputs and definitions."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, Field


class MetricDefinition(BaseModel):
    """A metric of docs/metrics.md: its id, labels, unit and formula."""

    id: str = Field(description="The id of docs/metrics.md, e.g. retention_rate.")
    label_zh: str
    label_en: str
    unit: str = Field(description="percent, count, currency, hours, per_month, score or ratio.")
    formula: str


class MetricDefinitions(BaseModel):
    data: list[MetricDefinition]
    count: int


class MetricValue(MetricDefinition):
    """One metric over the period (or one bucket of it), for one group when ``by`` is
    given, with the inputs it was computed from."""

    segment: str | None = Field(
        default=None, description="The group (with ?by=); null: customers without one."
    )
    bucket_start: dt.datetime | None = Field(
        default=None, description="Start of the bucket (with ?granularity=), UTC."
    )
    bucket_end: dt.datetime | None = Field(
        default=None, description="End of the bucket (exclusive), UTC."
    )
    numerator: float | None
    denominator: float | None
    value: float | None = Field(description="null when the denominator is empty (docs/metrics.md).")


class MetricsPeriod(BaseModel):
    start: dt.datetime = Field(description="Inclusive, UTC.")
    end: dt.datetime = Field(description="Exclusive, UTC.")
    timezone: str = Field(description="The business time zone that bounds calendar periods.")


class MetricsResult(BaseModel):
    """Metrics over a half-open period ``[start, end)``."""

    period: MetricsPeriod
    as_of: dt.datetime = Field(description="When the analysis runs (end of relative periods).")
    granularity: str | None
    by: str | None
    engine: str = Field(description="The analytics engine that computed the values.")
    data: list[MetricValue] = Field(
        description="In the order of ?metrics=, then by bucket and segment."
    )
