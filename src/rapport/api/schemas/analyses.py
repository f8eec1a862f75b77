"""Bodies of the analyses: ``/metrics/cohorts``, ``/metrics/funnel``, ``/forecast/demand``."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, Field

from rapport.api.schemas.metrics import MetricsPeriod


class CohortCell(BaseModel):
    """One cohort in one month since its first purchase."""

    cohort: str = Field(description="Local month of the first purchase, YYYY-MM.")
    cohort_start: dt.datetime = Field(
        description="Start of the cohort's month (clipped to the period), UTC."
    )
    month_offset: int = Field(description="Months since the cohort's month (0: its own).")
    customers: int = Field(description="Cohort size: buyers whose first purchase is in it.")
    active: int = Field(description="Of them, customers with a purchase in that month.")
    share: float = Field(description="active / customers * 100.")


class CohortsResult(BaseModel):
    """The monthly cohort retention matrix (同期群留存) over ``[start, end)``."""

    period: MetricsPeriod
    as_of: dt.datetime = Field(description="When the analysis runs (end of relative periods).")
    engine: str = Field(description="The analytics engine that computed the values.")
    data: list[CohortCell] = Field(description="By cohort, then month offset.")


class FunnelStage(BaseModel):
    """One stage of the acquisition funnel, a subset of the stage before."""

    stage: str = Field(description="leads, converted, purchased or repeat.")
    label_zh: str
    label_en: str
    position: int = Field(description="1 … 4.")
    count: int
    share_of_leads: float | None = Field(description="Percent of the leads; null without leads.")
    share_of_previous: float | None = Field(
        description="Percent of the stage before; null for the first stage or an empty base."
    )


class FunnelResult(BaseModel):
    """The conversion funnel (转化漏斗) of the leads created in ``[start, end)``."""

    period: MetricsPeriod
    as_of: dt.datetime
    engine: str
    data: list[FunnelStage] = Field(description="In funnel order.")


class DemandForecastRow(BaseModel):
    category: str = Field(description="Product category; (uncategorised) for lines without.")
    period_start: dt.datetime = Field(description="Start of the local week or month, UTC.")
    period_end: dt.datetime = Field(description="End (exclusive), UTC.")
    forecast: float = Field(description="Expected value (orders) in the period.")


class DemandForecastResult(BaseModel):
    """Per-category demand forecast (需求预测) of the saved demand model."""

    model_version: str = Field(description="The model registry version (rapport models fit).")
    fitted_at: str
    granularity: str = Field(description="week or month.")
    value: str = Field(description="What is forecast: orders or revenue.")
    history_start: dt.datetime = Field(description="Start of the data it was fitted on, UTC.")
    history_end: dt.datetime = Field(description="End (exclusive) of that data, UTC.")
    data: list[DemandForecastRow] = Field(description="By category, then period.")
