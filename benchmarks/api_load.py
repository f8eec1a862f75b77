"""Load benchmark of the REST API: a real server on loopback, a bounded load generator.

    .venv/bin/python -m benchmarks.api_load --customers 100000 [--data DIR]
        [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/rapport_bench]

1. **Store.** Under ``--data`` (default ``$TMPDIR/rapport-bench-api-load``) a SQLite store
   ``store.db``, or the PostgreSQL database of ``--database-url`` (created when missing),
   migrated by :func:`rapport.store.db.upgrade` and filled — when it holds fewer customers
   than asked — by direct inserts (SQLAlchemy ``executemany``), not the sample generator:
   ``--customers`` customers (Chinese names, cities, consent), two completed orders each,
   and one score snapshot row each, so that the 360 card has a timeline and ``/scores``
   rows to read. A store that already holds enough customers is reused as it is.
2. **Server.** ``rapport serve`` (the real CLI: uvicorn, one process) in a subprocess on a
   free loopback port, ``RAPPORT_ENVIRONMENT=development`` with a 48-character secret; an
   admin user ``bench-admin`` and a fresh API token with scope ``*``.
3. **Load** (httpx, asyncio, bounded concurrency, every phase bounded in requests and time):

   a. bulk event ingestion, ``POST /api/v1/events/bulk`` with JSON arrays of ``--batch``
      events from ``--ingest-clients`` concurrent clients, ``--events`` in total → events/s
      (skipped, and said so, when the server has no such route);
   b. ``GET /api/v1/customers/{id}/360`` of random customers from ``--clients`` concurrent
      clients, ``--requests`` requests or ``--seconds`` → requests/s, p50/p95/p99;
   c. the same for ``GET /api/v1/customers/{id}/scores``.

   Each of b and c starts with ``--warmup`` requests that are not counted. Latency is the
   time from sending a request to reading its whole response, measured by the client,
   which shares the machine's cores with the server.

Prints the figures (and, with ``--json FILE``, writes them). Nothing here is a unit test.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import random
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from rapport.api.security import create_access_token
from rapport.config import Settings
from rapport.domain import Role
from rapport.store import schema, tokens, users
from rapport.store.db import create_engine, session_scope, upgrade

CITIES = ("上海市", "北京市", "广州市", "深圳市", "杭州市", "成都市", "武汉市", "南京市")
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英"
TIERS = ("diamond", "gold", "silver", "bronze")
STAGES = ("new", "active", "growing", "at_risk", "churned")
EVENT_KINDS = ("page_view", "product_view", "search", "add_to_cart", "email_open")
CHUNK = 10_000
T0 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
SNAPSHOT = dt.date(2024, 12, 31)


# --- the store -----------------------------------------------------------------------------


def _customer(i: int, rng: random.Random, now: dt.datetime) -> dict[str, Any]:
    return {
        "external_id": f"B-{i:08d}",
        "name": rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(("", *GIVEN)),
        "phone": f"+86138{i:08d}",
        "email": f"c{i}@example.com",
        "city": rng.choice(CITIES),
        "country": "CN",
        "marketing_consent": rng.random() < 0.6,
        "marketing_opt_out": False,
        "created_at": now,
        "updated_at": now,
    }


def _orders(customer_id: int, rng: random.Random) -> list[dict[str, Any]]:
    out = []
    for k in range(2):
        amount = round(rng.uniform(20, 800), 2)
        at = T0 + dt.timedelta(minutes=rng.randrange(0, 525_600))
        out.append(
            {
                "external_id": f"BO-{customer_id:08d}-{k}",
                "customer_id": customer_id,
                "status": "completed",
                "ordered_at": at,
                "created_at": at,
                "updated_at": at,
                "gross_amount": amount,
                "net_amount": amount,
                "currency": "CNY",
                "channel": "web",
            }
        )
    return out


def _score(customer_id: int, rng: random.Random, now: dt.datetime) -> dict[str, Any]:
    degrees = {k: round(rng.uniform(20, 95), 1) for k in ("satisfaction", "loyalty", "engagement")}
    clv = round(rng.uniform(50, 5000), 2)
    return {
        "customer_id": customer_id,
        "as_of": SNAPSHOT,
        **degrees,
        "advocacy": None,
        "relationship_index": round(sum(degrees.values()) / 3, 1),
        "recency_days": rng.randrange(1, 365),
        "frequency": 2,
        "monetary": round(rng.uniform(40, 1600), 2),
        "r_score": rng.randrange(1, 6),
        "f_score": rng.randrange(1, 6),
        "m_score": rng.randrange(1, 6),
        "rfm_segment": "loyal",
        "value_tier": rng.choice(TIERS),
        "lifecycle_stage": rng.choice(STAGES),
        "p_alive": round(rng.random(), 3),
        "expected_purchases_90d": round(rng.uniform(0, 2), 3),
        "predicted_clv": clv,
        "churn_risk": round(rng.random(), 3),
        "components": {"prediction": {"clv_low": clv * 0.6, "clv_high": clv * 1.4}},
        "computed_at": now,
    }


def ensure_database(url: str) -> None:
    """Create the PostgreSQL database of ``url`` when it does not exist."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql":
        return
    admin = sa.create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            exists = conn.execute(
                sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": parsed.database}
            ).first()
            if not exists:
                conn.exec_driver_sql(f'CREATE DATABASE "{parsed.database}"')
    finally:
        admin.dispose()


def build_store(url: str, customers: int, seed: int = 42) -> tuple[int, int, float]:
    """Migrate and fill the store; returns the id range of its customers and the seconds
    spent filling (0 when reused)."""
    ensure_database(url)
    engine = create_engine(url)
    started = time.perf_counter()
    try:
        upgrade(engine)
        c = schema.customers
        with engine.connect() as conn:
            have = conn.execute(sa.select(sa.func.count()).select_from(c)).scalar_one()
        if have < customers:
            rng = random.Random(seed)
            now = dt.datetime.now(dt.UTC)
            for start in range(have, customers, CHUNK):
                stop = min(start + CHUNK, customers)
                with engine.begin() as conn:
                    rows = [_customer(i, rng, now) for i in range(start, stop)]
                    ids = list(conn.execute(c.insert().returning(c.c.id), rows).scalars())
                    orders = [o for cid in ids for o in _orders(cid, rng)]
                    conn.execute(schema.orders.insert(), orders)
                    conn.execute(
                        schema.customer_scores.insert(), [_score(cid, rng, now) for cid in ids]
                    )
                print(f"  store: {stop:,} / {customers:,} customers", flush=True)
            if engine.dialect.name == "postgresql":
                with engine.begin() as conn:
                    conn.exec_driver_sql("ANALYZE")
        filled = time.perf_counter() - started if have < customers else 0.0
        with engine.connect() as conn:
            low, high = conn.execute(sa.select(sa.func.min(c.c.id), sa.func.max(c.c.id))).one()
    finally:
        engine.dispose()
    return low, high, filled


def api_token(url: str, role: Role = Role.ADMIN) -> tuple[str, int]:
    """A fresh API token (scope ``*``) of the user ``bench-<role>``, and the user's id."""
    engine = create_engine(url)
    try:
        with session_scope(engine) as session:
            u = schema.users
            username = f"bench-{role.value}"
            user = session.execute(sa.select(u).where(u.c.username == username)).first()
            if user is None:
                user_id = users.create_user(session=session, username=username, role=role)["id"]
            else:
                user_id = user.id
            secret, _ = tokens.issue(
                session=session, user_id=user_id, name=f"bench-{int(time.time())}", scopes=["*"]
            )
    finally:
        engine.dispose()
    return secret, user_id


# --- the server ----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    process: subprocess.Popen
    base: str
    log: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_server(url: str, data_dir: Path, secret: str, timeout_s: float = 60.0) -> Server:
    """``rapport serve`` on a free loopback port, ready when /openapi.json answers."""
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("RAPPORT_")},
        "RAPPORT_DATABASE_URL": url,
        "RAPPORT_DATA_DIR": str(data_dir / "server"),
        "RAPPORT_ENVIRONMENT": "development",
        "RAPPORT_SECRET_KEY": secret,
    }
    log = data_dir / f"server-{port}.log"
    rapport = Path(sys.executable).with_name("rapport")
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(rapport), "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=data_dir,
        )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the server exited with {process.returncode}; see {log}")
        try:
            if httpx.get(f"{base}/openapi.json", timeout=2).status_code == 200:
                return Server(process, base, log)
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    process.kill()
    raise SystemExit(f"the server did not answer within {timeout_s:g} s; see {log}")


# --- the load ------------------------------------------------------------------------------


@dataclass
class Phase:
    name: str
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    seconds: float = 0.0
    items: int = 0  # events created (bulk)

    def count(self, status: int) -> None:
        """One answer more with ``status`` (0: the connection failed)."""
        self.statuses[status] = self.statuses.get(status, 0) + 1

    def summary(self) -> dict[str, Any]:
        n = len(self.latencies)
        out: dict[str, Any] = {
            "phase": self.name,
            "requests": n,
            "seconds": round(self.seconds, 2),
            "requests_per_s": round(n / self.seconds, 1) if self.seconds else None,
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
        }
        if n >= 2:
            q = statistics.quantiles(self.latencies, n=100, method="inclusive")
            out.update(
                p50_ms=round(1000 * statistics.median(self.latencies), 1),
                p95_ms=round(1000 * q[94], 1),
                p99_ms=round(1000 * q[98], 1),
                max_ms=round(1000 * max(self.latencies), 1),
            )
        if self.items:
            out["events"] = self.items
            out["events_per_s"] = round(self.items / self.seconds) if self.seconds else None
        return out


async def _reads(
    client: httpx.AsyncClient,
    path: str,
    ids: tuple[int, int],
    *,
    clients: int,
    requests: int,
    seconds: float,
    seed: int,
    name: str,
    headers: dict[str, str],
) -> Phase:
    phase = Phase(name)
    rng = random.Random(seed)
    remaining = requests
    deadline = time.monotonic() + seconds

    async def worker() -> None:
        nonlocal remaining
        while remaining > 0 and time.monotonic() < deadline:
            remaining -= 1
            customer_id = rng.randint(*ids)
            sent = time.perf_counter()
            try:
                response = await client.get(path.format(id=customer_id), headers=headers)
            except httpx.TransportError:
                phase.count(0)
                continue
            phase.latencies.append(time.perf_counter() - sent)
            phase.count(response.status_code)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(clients)))
    phase.seconds = time.perf_counter() - started
    return phase


async def _bulk(
    client: httpx.AsyncClient,
    ids: tuple[int, int],
    *,
    clients: int,
    events: int,
    batch: int,
    seconds: float,
    seed: int,
) -> Phase:
    phase = Phase("bulk events")
    rng = random.Random(seed)
    batches = [min(batch, events - start) for start in range(0, events, batch)]
    run = secrets.token_hex(4)
    deadline = time.monotonic() + seconds
    counter = 0

    def body(size: int) -> list[dict[str, Any]]:
        nonlocal counter
        out = []
        for _ in range(size):
            counter += 1
            out.append(
                {
                    "customer_id": rng.randint(*ids),
                    "kind": rng.choice(EVENT_KINDS),
                    "occurred_at": (
                        T0 + dt.timedelta(seconds=rng.randrange(0, 31_536_000))
                    ).isoformat(),
                    "external_id": f"bench-{run}-{counter}",
                    "channel": "web",
                    "properties": {"page": f"/p/{rng.randrange(1000)}"},
                }
            )
        return out

    async def worker() -> None:
        while batches and time.monotonic() < deadline:
            payload = json.dumps(body(batches.pop())).encode()
            sent = time.perf_counter()
            try:
                response = await client.post(
                    "/api/v1/events/bulk",
                    content=payload,
                    headers={"Content-Type": "application/json"},
                )
            except httpx.TransportError:
                phase.count(0)
                continue
            phase.latencies.append(time.perf_counter() - sent)
            phase.count(response.status_code)
            if response.status_code < 300:
                phase.items += int(response.json().get("created", 0))

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(clients)))
    phase.seconds = time.perf_counter() - started
    return phase


async def load(
    base: str, token: str, reader: str, ids: tuple[int, int], args: argparse.Namespace
) -> list:
    limits = httpx.Limits(max_connections=max(args.clients, args.ingest_clients))
    headers = {"Authorization": f"Bearer {token}"}
    as_reader = {"Authorization": f"Bearer {reader}"}
    results = []
    async with httpx.AsyncClient(
        base_url=base, headers=headers, limits=limits, timeout=120
    ) as client:
        probe = await client.post(
            "/api/v1/events/bulk", content=b"[]", headers={"Content-Type": "application/json"}
        )
        if probe.status_code in (404, 405):
            print("  (a) POST /api/v1/events/bulk: not on this server — skipped", flush=True)
            results.append({"phase": "bulk events", "skipped": "no such route"})
        elif args.events:
            print(f"  (a) bulk events: {args.events:,} in batches of {args.batch:,} …", flush=True)
            phase = await _bulk(
                client,
                ids,
                clients=args.ingest_clients,
                events=args.events,
                batch=args.batch,
                seconds=args.seconds,
                seed=args.seed,
            )
            results.append(phase.summary())
        for name, path in (
            ("customer 360", "/api/v1/customers/{id}/360"),
            ("customer scores", "/api/v1/customers/{id}/scores"),
        ):
            common = {"clients": args.clients, "seconds": args.seconds, "name": name}
            common["headers"] = as_reader
            await _reads(client, path, ids, requests=args.warmup, seed=0, **common)
            print(f"  ({name}) {args.requests:,} requests, {args.clients} clients …", flush=True)
            phase = await _reads(
                client, path, ids, requests=args.requests, seed=args.seed, **common
            )
            results.append(phase.summary())
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument(
        "--data", type=Path, default=Path(tempfile.gettempdir()) / "rapport-bench-api-load"
    )
    parser.add_argument("--database-url", help="A PostgreSQL store (default: DATA/store.db).")
    parser.add_argument("--events", type=int, default=200_000, help="Bulk events in total.")
    parser.add_argument("--batch", type=int, default=1_000, help="Events per bulk request.")
    parser.add_argument("--ingest-clients", type=int, default=4)
    parser.add_argument("--clients", type=int, default=50, help="Concurrent readers.")
    parser.add_argument("--requests", type=int, default=5_000, help="Requests per read phase.")
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=120.0, help="Time bound per phase.")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--role",
        choices=[r.value for r in Role],
        default="admin",
        help="Role of the readers' API token (admin reads are audited: a write each).",
    )
    parser.add_argument(
        "--auth",
        choices=["token", "login"],
        default="token",
        help="Readers send an API token (its last_used_at is written once a minute) or a "
        "log-in token.",
    )
    parser.add_argument("--json", type=Path, help="Also write the figures here.")
    args = parser.parse_args(argv)

    args.data.mkdir(parents=True, exist_ok=True)
    data_dir = args.data.resolve()
    url = args.database_url or f"sqlite:///{data_dir / 'store.db'}"
    shown = make_url(url).render_as_string(hide_password=True)
    print(f"store {shown}: {args.customers:,} customers", flush=True)
    low, high, filled = build_store(url, args.customers)
    if filled:
        print(f"  filled in {filled:.1f} s", flush=True)
    ids = (low, min(high, low + args.customers - 1))
    token, _ = api_token(url)
    reader, reader_id = api_token(url, Role(args.role))
    secret = secrets.token_urlsafe(36)
    if args.auth == "login":  # a log-in token (JWT): no api_tokens row to touch
        settings = Settings(_env_file=None, database_url=url, secret_key=secret)
        reader = create_access_token(user_id=reader_id, role=args.role, settings=settings).token
    server = start_server(url, data_dir, secret)
    print(f"server {server.base} (pid {server.process.pid}); load {os.getloadavg()}", flush=True)
    try:
        results = asyncio.run(load(server.base, token, reader, ids, args))
    finally:
        server.stop()
    load_avg = os.getloadavg()
    print(f"\nreaders: {args.role}, {'API token' if args.auth == 'token' else 'log-in token'}")
    print(f"load average after the run: {load_avg[0]:.2f} {load_avg[1]:.2f} {load_avg[2]:.2f}")
    for r in results:
        print(json.dumps(r, ensure_ascii=False))
    if args.json:
        payload = {
            "store": shown,
            "customers": args.customers,
            "clients": args.clients,
            "role": args.role,
            "auth": args.auth,
            "load_average": load_avg,
            "results": results,
        }
        args.json.write_text(json.dumps(payload, indent=2, ensure_ascii=False), encoding="utf-8")


if __name__ == "__main__":
    main()
