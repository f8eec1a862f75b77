"""``/metrics`` × every role over the hand-built company of ``tests.analytics.fixture_data``
(values worked out in tests/analytics/test_metrics.py), on SQLite and PostgreSQL: values with
their inputs and definitions, series, segments, null on empty denominators, 422 naming the
parameter, 403 for the roles bound to a slice of the customers."""

from __future__ import annotations

import concurrent.futures
import time
from typing import Any

import httpx
import pytest

from rapport.analytics.metrics import METRICS
from rapport.api.app import create_app
from tests.helpers import live_server

from .fixtures_analytics import AnalyticsApi, analytics_api_fixture  # noqa: F401

URL = "/api/v1/metrics"
#: 2024-01..2024-06 in Shanghai: fixture_data.PERIOD.
PERIOD = {"period": "2024-01..2024-06"}
approx = pytest.approx


def _get(api: AnalyticsApi, role: str = "admin", **params: Any) -> Any:
    return api.client.get(URL, params=params, headers=api.headers(role))


def _retrying(send: Any, attempts: int = 5) -> Any:
    """``send()`` again while it answers 503 (a SQLite store busy with another write
    answers 503 with ``Retry-After``; a well-behaved client retries)."""
    for _ in range(attempts - 1):
        response = send()
        if response.status_code != 503:
            return response
        time.sleep(float(response.headers.get("Retry-After", "1")))
    return send()


def _by_id(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {row["id"]: row for row in body["data"]}


@pytest.mark.parametrize("role", ["admin", "manager", "analyst"])
def test_values_with_their_inputs_and_definition(analytics_api: AnalyticsApi, role: str) -> None:
    response = _get(analytics_api, role, metrics="retention_rate,nps,customers_end", **PERIOD)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["period"] == {
        "start": "2023-12-31T16:00:00Z",
        "end": "2024-06-30T16:00:00Z",
        "timezone": "Asia/Shanghai",
    }
    assert [row["id"] for row in body["data"]] == ["retention_rate", "nps", "customers_end"]
    rows = _by_id(body)
    # (E - N) / S * 100 = (7 - 4) / 3 * 100
    retention = rows["retention_rate"]
    assert (retention["numerator"], retention["denominator"]) == (3, 3)
    assert retention["value"] == approx(100.0)
    assert retention["label_zh"] == "客户留存率"
    assert retention["label_en"] == "Retention rate"
    assert retention["unit"] == "percent"
    assert retention["formula"] == "(E - N) / S * 100"
    assert rows["nps"]["value"] == approx(25.0)
    assert (rows["nps"]["numerator"], rows["nps"]["denominator"]) == (1, 4)
    assert rows["customers_end"]["value"] == 7
    assert body["engine"] == "duckdb"
    assert body["by"] is None and body["granularity"] is None


@pytest.mark.parametrize("role", ["sales", "service"])
def test_roles_bound_to_a_slice_of_customers_get_403(
    analytics_api: AnalyticsApi, role: str
) -> None:
    response = _get(analytics_api, role, **PERIOD)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"
    assert "admin, analyst, manager" in response.json()["error"]["hint"]


@pytest.mark.parametrize("role", ["admin", "manager", "sales", "service", "analyst"])
def test_every_role_reads_the_definitions(analytics_api: AnalyticsApi, role: str) -> None:
    response = analytics_api.client.get(f"{URL}/definitions", headers=analytics_api.headers(role))
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == len(METRICS) == len(body["data"])
    assert [d["id"] for d in body["data"]] == list(METRICS)
    nps = _by_id(body)["nps"]
    assert nps["label_zh"] == "净推荐值" and nps["unit"] == "score" and nps["formula"]


def test_without_credentials_401(analytics_api: AnalyticsApi) -> None:
    assert analytics_api.client.get(URL).status_code == 401
    assert analytics_api.client.get(f"{URL}/definitions").status_code == 401


def test_empty_denominators_are_null(analytics_api: AnalyticsApi) -> None:
    body = _get(analytics_api, metrics="retention_rate,nps,customers_new", period="2030-01").json()
    rows = _by_id(body)
    assert rows["retention_rate"]["value"] is None
    assert rows["retention_rate"]["denominator"] == 0
    assert rows["nps"]["value"] is None
    assert rows["customers_new"]["value"] == 0


def test_per_segment(analytics_api: AnalyticsApi) -> None:
    body = _get(analytics_api, metrics="customers_end,retention_rate", by="city", **PERIOD).json()
    assert body["by"] == "city"
    end = {r["segment"]: r["value"] for r in body["data"] if r["id"] == "customers_end"}
    assert end == {"上海": 2, "北京": 2, "广州": 2, None: 1}
    retention = {r["segment"]: r["value"] for r in body["data"] if r["id"] == "retention_rate"}
    assert retention["上海"] == approx(200 / 3)
    assert retention["北京"] is None  # S = 0 in 北京


def test_series_by_month(analytics_api: AnalyticsApi) -> None:
    body = _get(analytics_api, metrics="customers_new", granularity="month", **PERIOD).json()
    assert body["granularity"] == "month"
    starts = [r["bucket_start"] for r in body["data"]]
    assert len(starts) == 6 and starts[0] == "2023-12-31T16:00:00Z"
    assert body["data"][-1]["bucket_end"] == "2024-06-30T16:00:00Z"
    # first purchases: c4 January, c6 at the start of January, c5 June, c10 June
    assert sum(r["value"] for r in body["data"]) == 4


def test_relative_period_ends_at_as_of(analytics_api: AnalyticsApi) -> None:
    body = _get(analytics_api, metrics="customers_end", last="6m", as_of="2024-06-30").json()
    assert body["period"]["end"] == "2024-06-30T16:00:00Z"
    assert body["period"]["start"] == "2023-12-31T16:00:00Z"
    assert body["data"][0]["value"] == 7


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"metrics": "retention,nps"}, "query.metrics"),
        ({"metrics": ","}, "query.metrics"),
        ({"period": "2024-13"}, "query.period"),
        ({"period": "2024-06..2024-01"}, "query.period"),
        ({"period": "next year"}, "query.period"),
        ({"last": "0m"}, "query.last"),
        ({"last": "12x"}, "query.last"),
        ({"period": "2024", "last": "6m"}, "query.period"),
        ({"as_of": "2024-02-30"}, "query.as_of"),
        ({"granularity": "hour"}, "query.granularity"),
        ({"granularity": "day", "period": "2000..2024"}, "query.granularity"),
        ({"by": "password_hash"}, "query.by"),
    ],
)
def test_bad_parameters_are_422_naming_the_parameter(
    analytics_api: AnalyticsApi, params: dict[str, str], field: str
) -> None:
    response = _get(analytics_api, **params)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "validation_failed"
    assert error["field"] == field
    assert error["message"].startswith(field)


def test_unknown_metric_error_lists_the_ids(analytics_api: AnalyticsApi) -> None:
    error = _get(analytics_api, metrics="retention").json()["error"]
    assert error["message"] == "query.metrics: unknown metric retention"
    assert "retention_rate" in error["hint"]


@pytest.mark.slow  # a real server or worker, waiting on real time
def test_concurrent_requests_while_the_server_uses_the_store(analytics_api: AnalyticsApi) -> None:
    """Metrics (in the worker, DuckDB attached to the store) while the server's own
    connections open, read, write and close the same store: every request answers, the
    values stay right, and the server lives on (on SQLite, DuckDB attached inside the
    server process would crash it with SIGBUS sooner or later)."""
    client = analytics_api.client
    admin, analyst = analytics_api.headers("admin"), analytics_api.headers("analyst")

    def metrics(_i: int) -> Any:
        return _get(analytics_api, metrics="customers_end", **PERIOD)

    def read(_i: int) -> Any:  # masked reads write no audit entry: no write-lock waits
        return client.get("/api/v1/customers", params={"limit": 5}, headers=analyst)

    def writes(n: int) -> list[Any]:  # one writer: SQLite takes one at a time anyway
        return [
            _retrying(
                lambda i=i: client.post(
                    "/api/v1/customers", json={"external_id": f"conc-{i}"}, headers=admin
                )
            )
            for i in range(n)
        ]

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        writer = pool.submit(writes, 10)
        futures = [pool.submit(f, i) for i in range(8) for f in (metrics, read)]
        responses = [f.result() for f in futures]
        written = writer.result()
    assert all(r.status_code == 200 for r in responses), [r.text for r in responses]
    assert all(r.status_code == 201 for r in written), [r.text for r in written]
    assert {r.json()["data"][0]["value"] for r in responses[::2]} == {7}
    assert client.get(f"{URL}/definitions", headers=admin).status_code == 200


@pytest.mark.slow  # a real server or worker, waiting on real time
def test_a_real_server_answers_metrics_among_concurrent_reads_and_writes(
    analytics_api: AnalyticsApi,
) -> None:
    """uvicorn serving the app on a free port; 12 threads with their own HTTP clients
    send metrics, customer reads (audited admin reads and masked ones) and writes at
    once. Every metrics answer is right and the server still answers afterwards."""
    admin, analyst = analytics_api.headers("admin"), analytics_api.headers("analyst")

    def metrics(i: int) -> int:
        with httpx.Client(timeout=120) as http:
            response = http.get(
                f"{base}/metrics",
                params={
                    "metrics": "customers_end,nps",
                    **PERIOD,
                    **({"by": "city"} if i % 2 else {}),
                },
                headers=analyst,
            )
            assert response.status_code == 200, response.text
            values = [r["value"] for r in response.json()["data"] if r["id"] == "customers_end"]
            assert sum(values) == 7
            return response.status_code

    def reads(_i: int) -> list[int]:
        with httpx.Client(timeout=60) as http:
            return [
                http.get(f"{base}/customers/{cid}", headers=analyst).status_code
                for cid in range(1, 11)
            ]

    def writes(i: int) -> list[int]:  # one writer thread: SQLite takes one writer at a time
        with httpx.Client(timeout=60) as http:
            return [
                _retrying(
                    lambda k=k: http.post(
                        f"{base}/customers", json={"external_id": f"srv-{i}-{k}"}, headers=admin
                    )
                ).status_code
                for k in range(5)
            ]

    with live_server(create_app(analytics_api.settings), lifespan="on") as url:
        base = f"{url}/api/v1"
        with concurrent.futures.ThreadPoolExecutor(12) as pool:
            jobs = [pool.submit(metrics, i) for i in range(6)]
            jobs += [pool.submit(reads, i) for i in range(5)]
            jobs.append(pool.submit(writes, 0))
            results = [job.result() for job in jobs]
        assert results[:6] == [200] * 6
        assert all(status == 200 for statuses in results[6:11] for status in statuses)
        assert results[11] == [201] * 5
        with httpx.Client(timeout=30) as http:
            assert http.get(f"{base}/metrics/definitions", headers=admin).status_code == 200
