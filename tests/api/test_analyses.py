"""``/metrics/cohorts``, ``/metrics/funnel`` and ``/forecast/demand`` × roles over the
hand-built company of ``tests.analytics.fixture_data``, on SQLite and PostgreSQL: the figures
of the analytics functions (run here on the same rows in memory), the documented schema,
403 for the roles bound to a slice of the customers and for tokens without the scope, 404
with the way out when no demand model is saved."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pyarrow as pa
import pytest

from rapport.analytics.cohorts import cohort_matrix
from rapport.analytics.funnel import STAGES, funnel
from rapport.analytics.metrics import execute
from rapport.models.demand import DemandForecaster
from rapport.models.registry import registry
from rapport.store import tokens
from rapport.store.db import create_engine, session_scope
from tests.analytics import fixture_data
from tests.analytics.memory import memory_sources

from .fixtures_analytics import AnalyticsApi, analytics_api_fixture  # noqa: F401

PERIOD = {"period": "2024-01..2024-06"}


def _get(api: AnalyticsApi, url: str, role: str = "admin", **params: Any) -> Any:
    return api.client.get(f"/api/v1{url}", params=params, headers=api.headers(role))


def _utc(value: dt.datetime) -> str:
    return value.replace(tzinfo=dt.UTC).isoformat().replace("+00:00", "Z")


@pytest.mark.parametrize("role", ["admin", "manager", "analyst"])
def test_cohorts_are_the_cohort_matrix(analytics_api: AnalyticsApi, role: str) -> None:
    response = _get(analytics_api, "/metrics/cohorts", role, **PERIOD)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["period"] == {
        "start": "2023-12-31T16:00:00Z",
        "end": "2024-06-30T16:00:00Z",
        "timezone": "Asia/Shanghai",
    }
    assert body["engine"] == "duckdb"
    src, con = memory_sources()
    want = execute(cohort_matrix(src, fixture_data.PERIOD, tz=fixture_data.TZ), con).to_pylist()
    assert want, "the fixture company has cohorts in the period"
    got = body["data"]
    assert [(r["cohort"], r["month_offset"]) for r in got] == [
        (r["cohort"], r["month_offset"]) for r in want
    ]
    for g, w in zip(got, want, strict=True):
        assert (g["customers"], g["active"]) == (w["customers"], w["active"])
        assert g["share"] == pytest.approx(w["share"])
        assert g["cohort_start"] == _utc(w["cohort_start"])


@pytest.mark.parametrize("role", ["admin", "analyst"])
def test_funnel_is_the_funnel(analytics_api: AnalyticsApi, role: str) -> None:
    response = _get(analytics_api, "/metrics/funnel", role, **PERIOD)
    assert response.status_code == 200, response.text
    body = response.json()
    src, con = memory_sources()
    want = {r["stage"]: r for r in execute(funnel(src, fixture_data.PERIOD), con).to_pylist()}
    assert [s["stage"] for s in body["data"]] == list(STAGES)
    for stage in body["data"]:
        w = want[stage["stage"]]
        assert stage["count"] == w["count"]
        assert stage["position"] == w["position"]
        for key in ("share_of_leads", "share_of_previous"):
            assert stage[key] == (None if w[key] is None else pytest.approx(w[key]))
        assert stage["label_zh"] and stage["label_en"] and stage["label_zh"] != stage["label_en"]
    assert body["data"][0]["count"] > 0
    assert body["data"][0]["share_of_previous"] is None


@pytest.mark.parametrize("url", ["/metrics/cohorts", "/metrics/funnel", "/forecast/demand"])
@pytest.mark.parametrize("role", ["sales", "service"])
def test_roles_bound_to_a_slice_of_customers_get_403(
    analytics_api: AnalyticsApi, url: str, role: str
) -> None:
    response = _get(analytics_api, url, role, **({} if "forecast" in url else PERIOD))
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"


def test_a_token_without_metrics_read_gets_403(analytics_api: AnalyticsApi) -> None:
    engine = create_engine(analytics_api.url)
    try:
        with session_scope(engine) as session:
            secret, _ = tokens.issue(
                session=session,
                user_id=analytics_api.users["admin"]["id"],
                name="no-metrics",
                scopes=["customers:read"],
            )
    finally:
        engine.dispose()
    response = analytics_api.client.get(
        "/api/v1/metrics/funnel", params=PERIOD, headers={"Authorization": f"Bearer {secret}"}
    )
    assert response.status_code == 403
    assert "metrics:read" in response.json()["error"]["message"]


def test_a_bad_period_names_the_parameter(analytics_api: AnalyticsApi) -> None:
    response = _get(analytics_api, "/metrics/cohorts", period="2024-13")
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "query.period"
    response = _get(analytics_api, "/metrics/funnel", period="2024", last="6m")
    assert response.status_code == 422


def _weekly_series(weeks: int) -> pa.Table:
    """Whole local weeks (Monday first, Shanghai) with a seasonal pattern per category."""
    first = dt.datetime(2023, 1, 1, 16)  # Monday 2023-01-02 00:00 Shanghai
    rng = np.random.default_rng(1)
    rows: dict[str, list[Any]] = {"category": [], "period_start": [], "orders": []}
    for name, base in (("护肤", 40.0), ("食品", 15.0)):
        for i in range(weeks):
            rows["category"].append(name)
            rows["period_start"].append(first + dt.timedelta(weeks=i))
            rows["orders"].append(base * (1 + 0.3 * np.sin(i / 52 * 2 * np.pi)) + rng.poisson(3))
    return pa.table(rows)


def test_demand_forecast_is_the_saved_models(analytics_api: AnalyticsApi) -> None:
    settings = analytics_api.settings
    response = _get(analytics_api, "/forecast/demand")
    if response.status_code == 404:
        assert "rapport models fit" in response.json()["error"]["hint"]
    model = DemandForecaster("week", tz=fixture_data.TZ).fit(_weekly_series(60))
    record = registry(settings).save("demand", model.to_dict())
    response = _get(analytics_api, "/forecast/demand", "manager", horizon=4)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["model_version"] == record.version
    assert (body["granularity"], body["value"]) == ("week", "orders")
    assert body["history_start"] == "2023-01-01T16:00:00Z"
    assert body["history_end"] == _utc(dt.datetime(2023, 1, 1, 16) + dt.timedelta(weeks=60))
    want = model.predict(4)
    assert len(body["data"]) == len(want) == 8
    expected = {
        (r.category, _utc(r.period_start.to_pydatetime())): r.forecast for r in want.itertuples()
    }
    for row in body["data"]:
        assert row["forecast"] == pytest.approx(
            expected[(row["category"], row["period_start"])], abs=0.005
        )
    assert body["data"][0]["period_start"] == body["history_end"]

    assert _get(analytics_api, "/forecast/demand", horizon=0).status_code == 422
    assert _get(analytics_api, "/forecast/demand", horizon=53).status_code == 422
    missing = _get(analytics_api, "/forecast/demand", version="20000101T000000000000Z-abcdef")
    assert missing.status_code == 404
    assert _get(analytics_api, "/forecast/demand", version="../../x").status_code == 422


def test_openapi_documents_the_analyses(analytics_api: AnalyticsApi) -> None:
    paths = analytics_api.client.get("/openapi.json").json()["paths"]
    for path in ("/api/v1/metrics/cohorts", "/api/v1/metrics/funnel", "/api/v1/forecast/demand"):
        get = paths[path]["get"]
        assert {"200", "403"} <= set(get["responses"])
    assert "404" in paths["/api/v1/forecast/demand"]["get"]["responses"]
