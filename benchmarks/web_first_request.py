"""The first request of the web workspace's snapshot pages after a new score snapshot, for
each role, over HTTP against a real ``rapport serve``.

    .venv/bin/python -m benchmarks.web_first_request --data /tmp/rapport-webbench
        [--runs 5] [--wait 20] [--database-url …] [--json FILE]

The pages keep what they read of a snapshot (:mod:`rapport.reports.snapshot_cache`) until a
snapshot is written again; :mod:`rapport.web.warmup` computes it first. This measures what a
user meets then:

1. **Store and server** as :mod:`benchmarks.web_pages` (one user of each role, given its
   password — run it on a copy; one ``rapport serve`` process). Each role logs in and asks
   for every path of :data:`PATHS` once.
2. **Runs.** ``--runs`` times: the latest snapshot is written again as scoring writes it (its
   rows get a new ``computed_at``, so every kept report is stale), then — unless
   ``--no-prepare`` — what the scoring run does right after it writes a snapshot
   (:func:`rapport.scoring.prepare_pages`: the overview's metrics and the pages' first
   reports, kept in the store; its seconds are printed), ``--wait`` seconds pass (time for
   the server's warm-up; a user rarely opens a page the second a snapshot lands), then each
   role asks for each of its paths once (:data:`PATHS`; the admin also for the sales
   user's worklist through the owner filter, :data:`OWNER_PATHS`): the time of that first
   request, the client's.
   Targets as :mod:`benchmarks.web_pages`: a page's p95 under 150 ms, a data request's
   under 300 ms.

Nothing here is a unit test.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import secrets
import statistics
import time
from pathlib import Path

import sqlalchemy as sa

from benchmarks.api_load import start_server
from benchmarks.web_pages import DATA_TARGET_MS, PAGE_TARGET_MS, bench_users, log_in, timed
from rapport.domain import Role
from rapport.store import schema
from rapport.store.db import create_engine

#: The paths that read a snapshot's kept reports, with their kind, per role.
PATHS: dict[Role, tuple[tuple[str, str], ...]] = {
    Role.ADMIN: (
        ("/overview/metrics", "data"),
        ("/overview/groups", "data"),
        ("/overview/diamonds", "data"),
        ("/analysis/snapshot", "data"),
        ("/diamonds", "page"),
        ("/worklist", "page"),
    ),
    Role.MANAGER: (
        ("/overview/metrics", "data"),
        ("/overview/groups", "data"),
        ("/overview/diamonds", "data"),
        ("/analysis/snapshot", "data"),
        ("/diamonds", "page"),
        ("/worklist", "page"),
    ),
    Role.ANALYST: (
        ("/overview/metrics", "data"),
        ("/overview/groups", "data"),
        ("/overview/diamonds", "data"),
        ("/analysis/snapshot", "data"),
        ("/diamonds", "page"),
    ),
    Role.SALES: (("/diamonds", "page"), ("/worklist", "page")),
}
#: Paths naming the sales user measured (``{owner}``, their id): their worklist as an admin
#: sees it through the owner filter.
OWNER_PATHS: dict[Role, tuple[tuple[str, str], ...]] = {
    Role.ADMIN: (("/worklist?owner={owner}", "page"),),
}


def paths_of(url: str, who: dict[Role, str]) -> dict[Role, tuple[tuple[str, str], ...]]:
    """Each measured role's paths: :data:`PATHS`, and :data:`OWNER_PATHS` naming the sales
    user of ``who`` (when there is one)."""
    found = {role: PATHS[role] for role in who}
    if Role.SALES not in who:
        return found
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            u = schema.users.c
            owner = conn.execute(sa.select(u.id).where(u.username == who[Role.SALES])).scalar_one()
    finally:
        engine.dispose()
    for role, extra in OWNER_PATHS.items():
        if role in found:
            found[role] += tuple((path.format(owner=owner), kind) for path, kind in extra)
    return found


def rescore(url: str) -> None:
    """The latest snapshot written again: its rows' ``computed_at`` now."""
    s = schema.customer_scores.c
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            latest = conn.execute(sa.select(sa.func.max(s.as_of))).scalar_one()
            conn.execute(
                sa.update(schema.customer_scores)
                .where(s.as_of == latest)
                .values(computed_at=dt.datetime.now(dt.UTC))
            )
    finally:
        engine.dispose()


def prepare(url: str, data: Path) -> tuple[int, float]:
    """What the scoring run does after its snapshot (:func:`rapport.scoring.prepare_pages`),
    with the settings a server over ``data`` has: the reports asked for, and seconds."""
    from rapport.config import Settings, load_rules
    from rapport.scoring import prepare_pages

    settings = Settings(_env_file=None, database_url=url, data_dir=data / "server")
    started = time.perf_counter()
    asked = prepare_pages(settings, load_rules(settings))
    return asked, time.perf_counter() - started


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="Folder of the store.")
    parser.add_argument("--database-url", help="The store (default: DATA/rapport.db).")
    parser.add_argument("--runs", type=int, default=5, help="New snapshots measured.")
    parser.add_argument("--wait", type=float, default=20.0, help="Seconds after each.")
    parser.add_argument("--json", type=Path, help="Write the figures here.")
    parser.add_argument(
        "--no-prepare",
        action="store_true",
        help="Leave out what the scoring run computes after its snapshot.",
    )
    args = parser.parse_args(argv)
    url = args.database_url or f"sqlite:///{args.data.resolve() / 'rapport.db'}"
    who = {role: name for role, name in bench_users(url).items() if role in PATHS}
    paths = paths_of(url, who)
    print(f"store {url.split('@')[-1]}, users {', '.join(who.values())}", flush=True)
    load_before = os.getloadavg()
    server = start_server(url, args.data, secrets.token_urlsafe(36), timeout_s=120)
    times: dict[tuple[str, str, str], list[float]] = {}
    try:
        clients = {role: log_in(server.base, name) for role, name in who.items()}
        for role, client in clients.items():  # every page once: the server's own warm-up
            for path, kind in paths[role]:
                timed(client, path, htmx=kind == "data")
        prepared: list[float] = []
        for run in range(args.runs):
            rescore(url)
            if not args.no_prepare:
                asked, seconds = prepare(url, args.data)
                prepared.append(seconds)
                print(f"  run {run + 1}: prepared {asked} reports in {seconds:.1f} s", flush=True)
            time.sleep(args.wait)
            for role, client in clients.items():
                for path, kind in paths[role]:
                    ms, answer = timed(client, path, htmx=kind == "data")
                    assert answer.status_code == 200, (role, path, answer.status_code)
                    times.setdefault((role.value, path, kind), []).append(ms)
            print(f"  run {run + 1}: load {os.getloadavg()[0]:.1f}", flush=True)
        for client in clients.values():
            client.close()
    finally:
        server.stop()
    load_after = os.getloadavg()
    rows = []
    for (role, path, kind), found in times.items():
        found.sort()
        p95 = found[min(len(found) - 1, max(0, round(0.95 * len(found)) - 1))]
        row = {
            "role": role,
            "path": path,
            "kind": kind,
            "p50_ms": round(statistics.median(found), 1),
            "p95_ms": round(p95, 1),
            "times_ms": [round(t, 1) for t in found],
        }
        rows.append(row)
        limit = DATA_TARGET_MS if kind == "data" else PAGE_TARGET_MS
        flag = "  OVER" if p95 > limit else ""
        print(f"  {role:8} {kind:4} {path:22} p50 {row['p50_ms']:7.1f} p95 {p95:7.1f}{flag}")
    print(f"load average before {load_before}, after {load_after}")
    if args.json:
        doc = {
            "store": url.split("@")[-1],
            "runs": args.runs,
            "wait_s": args.wait,
            "prepared_s": [round(x, 1) for x in prepared],
            "results": rows,
            "load_before": load_before,
            "load_after": load_after,
        }
        args.json.write_text(json.dumps(doc, indent=1, ensure_ascii=False), "utf-8")


if __name__ == "__main__":
    main()
