"""Busy stores: every writer waits its turn for the write lock instead of failing.

On SQLite and on PostgreSQL (``fresh_engine``: a store of its own per test):

* an import of 60,000 orders (``rapport import`` in a process of its own) while a client
  posts bulk events back to back to a real API server on the same store;
* the same import while the client posts bulk orders with the import's own keys (a
  concurrent upsert of the same keys: no unique-key failure, no deadlock, every key
  created exactly once);
* an import job of the API while a client posts bulk events;
* two overlapping imports of the same entity whose files share some keys;
* scoring while an import runs.

Each import's report adds up (read = inserted + updated + unchanged + rejected) and every
posted item is stored.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import polars as pl
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from rapport.api.app import create_app
from rapport.api.security import create_access_token
from rapport.config import Settings
from rapport.domain import Role
from rapport.ingest.importer import import_file
from rapport.scoring import score
from rapport.store import schema, users
from rapport.store.db import session_scope
from tests.helpers import count_rows, live_server

pytestmark = pytest.mark.slow  # a real server, imports of 60,000 rows: 5-30 s each

CUSTOMERS = 2_000
ORDERS = 60_000
BATCH = 10_000  # six import transactions, interleaved with the client's
EVENTS_PER_POST = 200
SECRET = "test-secret-key-of-at-least-32-characters"
CLI = "from rapport.cli.main import run; run()"


def _url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def _customers_csv(path: Path) -> Path:
    pl.DataFrame(
        {
            "external_id": [f"C{i:05d}" for i in range(CUSTOMERS)],
            "name": [f"客户{i}" for i in range(CUSTOMERS)],
        }
    ).write_csv(path)
    return path


def _orders_csv(path: Path, first: int, count: int) -> Path:
    """Orders ``SO-<first>`` … ``SO-<first + count - 1>``; an order's values depend on its
    number only, so two files that share numbers share identical rows."""
    numbers = range(first, first + count)
    pl.DataFrame(
        {
            "external_id": [f"SO-{n:06d}" for n in numbers],
            "customer_external_id": [f"C{n % CUSTOMERS:05d}" for n in numbers],
            "ordered_at": [f"2024-03-{1 + n % 28:02d} 10:00" for n in numbers],
            "net_amount": [f"{10 + n % 90}.50" for n in numbers],
            "status": ["已完成"] * count,
            "currency": ["CNY"] * count,
        }
    ).write_csv(path)
    return path


@pytest.fixture
def store(fresh_engine: Engine, tmp_path: Path) -> Engine:
    """A migrated store of its own holding the customers the orders name."""
    report = import_file(
        "customers", _customers_csv(tmp_path / "customers.csv"), engine=fresh_engine
    )
    assert report.inserted == CUSTOMERS
    return fresh_engine


def _start_import(engine: Engine, path: Path, data_dir: Path) -> subprocess.Popen[str]:
    """``rapport import orders <path> --json`` in a process of its own."""
    env = {**os.environ, "RAPPORT_DATABASE_URL": _url(engine), "RAPPORT_DATA_DIR": str(data_dir)}
    return subprocess.Popen(
        [sys.executable, "-c", CLI, "import", "orders", str(path), "--json",
         "--batch-rows", str(BATCH), "--rejects", str(path.with_suffix(".rejects.csv"))],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip


def _finish_import(process: subprocess.Popen[str]) -> dict[str, Any]:
    """The import's report, once it exited 0."""
    out, err = process.communicate(timeout=600)
    assert process.returncode == 0, f"exit {process.returncode}: {err[-2000:]}"
    report = json.loads(out)
    assert report["read"] == (
        report["inserted"] + report["updated"] + report["unchanged"] + report["rejected"]
    ), report
    return report


# --- a real server and a client posting back to back ---------------------------------------


@dataclass
class Live:
    base_url: str
    headers: dict[str, str]
    settings: Settings


@pytest.fixture
def live(store: Engine, tmp_path: Path) -> Iterator[Live]:
    """A real uvicorn server (in a thread) on the store."""
    settings = Settings(
        _env_file=None,
        database_url=_url(store),
        data_dir=tmp_path / "server",
        secret_key=SECRET,
    )
    with session_scope(store) as session:
        admin = users.create_user(session=session, username="admin", role=Role.ADMIN)
    token = create_access_token(user_id=admin["id"], role=admin["role"], settings=settings)
    with live_server(create_app(settings, engine=store)) as url:
        yield Live(
            base_url=f"{url}/api/v1",
            headers={"Authorization": f"Bearer {token.token}"},
            settings=settings,
        )


@dataclass
class Poster:
    """A client posting bulk batches back to back until stopped (in a thread)."""

    live: Live
    route: str
    make: Any  # (request number) -> list of items
    answers: list[tuple[float, float, int, dict[str, Any]]] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    error: BaseException | None = None

    def run(self) -> None:
        try:
            with httpx.Client(base_url=self.live.base_url, timeout=300) as client:
                n = 0
                while not self.stop.is_set():
                    items = self.make(n)
                    if not items:
                        return
                    sent = time.monotonic()
                    response = client.post(self.route, json=items, headers=self.live.headers)
                    body = response.json() if response.content else {}
                    self.answers.append((sent, time.monotonic(), response.status_code, body))
                    n += 1
        except BaseException as exc:  # reported by the test
            self.error = exc

    def __enter__(self) -> Poster:
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 60
        while not self.answers and self.thread.is_alive():  # the client is under way
            assert time.monotonic() < deadline, "the client got no answer"
            time.sleep(0.01)
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        self.thread.join(timeout=300)

    def check(self, during: tuple[float, float]) -> None:
        """Every answer a 200; some requests overlapped the window ``during``."""
        assert self.error is None, repr(self.error)
        bad = [(status, body) for _, _, status, body in self.answers if status != 200]
        assert not bad, bad[:3]
        overlapping = [a for a in self.answers if a[0] < during[1] and a[1] > during[0]]
        assert len(overlapping) >= 2, "the client's requests did not overlap the import"

    def counts(self) -> dict[str, int]:
        out = {"created": 0, "duplicates": 0, "failed": 0}
        for _, _, _, body in self.answers:
            for name in out:
                out[name] += body[name]
        return out


def _event_batch(n: int) -> list[dict[str, Any]]:
    return [
        {
            "external_id": f"E-{n:05d}-{i:03d}",
            "customer_external_id": f"C{(n * EVENTS_PER_POST + i) % CUSTOMERS:05d}",
            "kind": "page_view",
            "occurred_at": "2024-03-01T10:00:00Z",
            "session_id": f"s-{n}",
        }
        for i in range(EVENTS_PER_POST)
    ]


def _report_line(name: str, engine: Engine, report: dict[str, Any], seconds: float) -> None:
    keys = ("read", "inserted", "updated", "unchanged", "rejected", "batches")
    counts = ", ".join(f"{k} {report[k]}" for k in keys)
    print(f"\n{engine.dialect.name} {name}: {counts}; {seconds:.1f} s")


# --- the tests -----------------------------------------------------------------------------


def test_an_import_while_a_client_posts_bulk_events(
    store: Engine, live: Live, tmp_path: Path
) -> None:
    orders = _orders_csv(tmp_path / "orders.csv", 0, ORDERS)
    with Poster(live, "/events/bulk", _event_batch) as poster:
        started = time.monotonic()
        report = _finish_import(_start_import(store, orders, tmp_path / "cli"))
        ended = time.monotonic()
        time.sleep(0.2)  # one more request after the import
    poster.check((started, ended))
    assert (report["read"], report["inserted"], report["rejected"]) == (ORDERS, ORDERS, 0)
    assert count_rows(store, schema.orders) == ORDERS
    posted = len(poster.answers) * EVENTS_PER_POST
    assert poster.counts() == {"created": posted, "duplicates": 0, "failed": 0}
    assert count_rows(store, schema.events) == posted
    _report_line("import", store, report, ended - started)
    waits = [end - sent for sent, end, _, _ in poster.answers]
    print(
        f"{len(poster.answers)} bulk posts of {EVENTS_PER_POST} events, longest {max(waits):.2f} s"
    )


def test_an_import_and_api_bulk_orders_with_the_same_keys(
    store: Engine, live: Live, tmp_path: Path
) -> None:
    """The client posts orders of the import's own numbers, from the end of the file
    backwards, 500 a request: each key is created exactly once, by one or the other."""
    orders = _orders_csv(tmp_path / "orders.csv", 0, ORDERS)
    rows = pl.read_csv(orders, infer_schema=False).reverse()
    per_post = 500

    def batch(n: int) -> list[dict[str, Any]]:
        return rows.slice(n * per_post, per_post).to_dicts()

    with Poster(live, "/orders/bulk", batch) as poster:
        started = time.monotonic()
        report = _finish_import(_start_import(store, orders, tmp_path / "cli"))
        ended = time.monotonic()
    poster.check((started, ended))
    api = poster.counts()
    assert api["failed"] == 0
    assert report["read"] == ORDERS and report["rejected"] == 0
    assert report["inserted"] + api["created"] == ORDERS  # each key created once
    assert report["inserted"] + report["updated"] + report["unchanged"] == ORDERS
    assert count_rows(store, schema.orders) == ORDERS
    _report_line("import", store, report, ended - started)
    print(f"API: {api['created']} orders created, {api['duplicates']} found stored")


def test_an_import_job_while_a_client_posts_bulk_events(
    store: Engine, live: Live, tmp_path: Path
) -> None:
    orders = _orders_csv(tmp_path / "orders.csv", 0, ORDERS)
    with (
        Poster(live, "/events/bulk", _event_batch) as poster,
        httpx.Client(base_url=live.base_url, headers=live.headers, timeout=60) as client,
    ):
        started = time.monotonic()
        with orders.open("rb") as upload:
            accepted = client.post("/imports/orders", files={"file": ("orders.csv", upload)})
        assert accepted.status_code == 202, accepted.text
        deadline = time.monotonic() + 600
        while (job := client.get(accepted.json()["poll"].removeprefix("/api/v1")).json())[
            "status"
        ] in ("queued", "running"):
            assert time.monotonic() < deadline, job
            time.sleep(0.2)
        ended = time.monotonic()
    assert job["status"] == "done", job
    report = job["report"]
    assert (report["read"], report["inserted"], report["rejected"]) == (ORDERS, ORDERS, 0)
    poster.check((started, ended))
    posted = len(poster.answers) * EVENTS_PER_POST
    assert poster.counts()["created"] == posted == count_rows(store, schema.events)
    assert count_rows(store, schema.orders) == ORDERS


def test_two_overlapping_imports_of_one_entity(store: Engine, tmp_path: Path) -> None:
    """Files a (orders 0 … 39,999) and b (20,000 … 59,999) at once: 20,000 orders in
    both, identical — whichever writes them second finds them unchanged."""
    half = ORDERS // 3
    a = _orders_csv(tmp_path / "a.csv", 0, 2 * half)
    b = _orders_csv(tmp_path / "b.csv", half, 2 * half)
    started = time.monotonic()
    first = _start_import(store, a, tmp_path / "cli-a")
    second = _start_import(store, b, tmp_path / "cli-b")
    one, two = _finish_import(first), _finish_import(second)
    seconds = time.monotonic() - started
    for report in (one, two):
        assert (report["read"], report["rejected"], report["updated"]) == (2 * half, 0, 0)
    assert one["inserted"] + two["inserted"] == ORDERS
    assert one["unchanged"] + two["unchanged"] == half
    assert count_rows(store, schema.orders) == ORDERS
    _report_line("import a", store, one, seconds)
    _report_line("import b", store, two, seconds)


def test_scoring_while_an_import_runs(store: Engine, tmp_path: Path) -> None:
    orders = _orders_csv(tmp_path / "orders.csv", 0, ORDERS)
    settings = Settings(_env_file=None, database_url=_url(store), data_dir=tmp_path / "scoring")
    importing = _start_import(store, orders, tmp_path / "cli")
    deadline = time.monotonic() + 120
    while count_rows(store, schema.orders) == 0:  # a first batch is in
        assert importing.poll() is None, importing.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.05)
    runs = []
    while importing.poll() is None or not runs:
        rows = score(settings, as_of=dt.date(2024, 4, 1), models=False)
        runs.append(rows)
    report = _finish_import(importing)
    assert report["inserted"] == ORDERS
    assert runs and all(rows == CUSTOMERS for rows in runs)
    with store.connect() as conn:
        stored = conn.execute(
            sa.select(sa.func.count()).select_from(schema.customer_scores)
        ).scalar_one()
    assert stored == CUSTOMERS  # one snapshot of the day, replaced by each run
    print(f"\n{store.dialect.name}: {len(runs)} scoring runs during the import")
