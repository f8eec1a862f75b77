"""Page speed of the web workspace: every page and the fragments it loads, for each role,
over HTTP against a real ``rapport serve``.

    .venv/bin/python -m benchmarks.web_pages --data /tmp/rapport-webbench [--runs 20]
        [--database-url postgresql+psycopg://…] [--json FILE]

1. **Store.** ``--database-url``, or ``DATA/rapport.db`` (``rapport demo`` run in ``DATA``
   makes the 20,000-customer demo there). One active user of each role is chosen from the
   store (the sales user owning the most customers) and given the password
   :data:`PASSWORD` — the benchmark *changes those users' passwords*: run it on a copy.
2. **Server.** ``rapport serve`` (one process) on a free loopback port
   (:func:`benchmarks.api_load.start_server`, development mode: the cookie is not Secure).
3. **Pages.** Each role logs in through the form, then asks for every page of its menu
   (:func:`rapport.web.nav.visible`) and a customer's 360 card (the first customer its list
   shows); on each page, the fragments it loads itself (``hx-get`` with
   ``hx-trigger="load"``) are the page's *data requests*. Every page and fragment is asked
   once to warm up, then ``--runs`` times one after another; the customer list is also
   asked for the texts of :data:`SEARCHES` (data requests, as its search box sends them).
   The time is the client's, from sending the request to reading the whole answer (on
   loopback, on the same cores as the server). Targets: a page's p95 under 150 ms, a data
   request's under 300 ms.
4. **Weight.** The first page a browser gets after logging in (the admin's landing page):
   its HTML, every stylesheet, script and image it names, and its fragments — bytes as
   sent (``Content-Length`` or the body) and as read. Target: under 1.5 MB.

Prints one line per role and path and, with ``--json FILE``, writes the figures. Nothing
here is a unit test.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import statistics
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urljoin, urlsplit

import httpx
import sqlalchemy as sa

from benchmarks.api_load import start_server
from rapport.domain import Role
from rapport.store import schema, users
from rapport.store.db import create_engine, session_scope
from rapport.web import nav

PASSWORD = "bench web pages"
PAGE_TARGET_MS = 150.0
DATA_TARGET_MS = 300.0
FIRST_PAGE_TARGET_BYTES = 1_500_000
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
#: An element loading a fragment when the page loads: its ``hx-get``.
LOADED = re.compile(r'<[^>]*\bhx-get="([^"]+)"[^>]*\bhx-trigger="load"[^>]*>')
ASSETS = re.compile(r'(?:<link[^>]*\bhref|<script[^>]*\bsrc|<img[^>]*\bsrc)="([^"]+)"')
CARD = re.compile(r'href="(/customers/\d+)"')
#: Texts searched in the customer list (a data request each): a surname, a whole name, four
#: digits of a phone, a customer number of the benchmark company, a text nobody has.
#: The customer list's searches: a surname (one Chinese character), a whole name, a phone's
#: last digits, a customer number, nobody's text, a Latin letter few customers' e-mails
#: hold, and a digit most phones hold.
SEARCHES = ("郭", "郭伟", "4567", "C00500000", "无此客户xyz", "v", "9")


def bench_users(url: str) -> dict[Role, str]:
    """One active user of each role (sales: the one owning the most customers), each given
    :data:`PASSWORD`."""
    engine = create_engine(url)
    u, c = schema.users.c, schema.customers.c
    chosen: dict[Role, str] = {}
    try:
        with session_scope(engine) as session:
            owners = (
                sa.select(c.owner_id, sa.func.count().label("n")).group_by(c.owner_id).subquery()
            )
            for role in Role:
                stmt = (
                    sa.select(u.id, u.username)
                    .outerjoin(owners, owners.c.owner_id == u.id)
                    .where(u.role == role, u.is_active.is_(True))
                    .order_by(sa.func.coalesce(owners.c.n, 0).desc(), u.id)
                    .limit(1)
                )
                row = session.execute(stmt).first()
                if row is None:
                    print(f"  no active {role.value} user in the store: skipped", flush=True)
                    continue
                users.set_password(session=session, user_id=row.id, password=PASSWORD)
                chosen[role] = row.username
    finally:
        engine.dispose()
    return chosen


def log_in(base: str, username: str) -> httpx.Client:
    client = httpx.Client(base_url=base, follow_redirects=False, timeout=300)
    form = client.get("/login").text
    token = CSRF.search(form)
    assert token, "no CSRF field on the log-in page"
    answer = client.post(
        "/login", data={"username": username, "password": PASSWORD, "csrf_token": token.group(1)}
    )
    if answer.status_code != 303:
        raise SystemExit(f"log-in of {username} answered {answer.status_code}")
    return client


def timed(client: httpx.Client, path: str, *, htmx: bool) -> tuple[float, httpx.Response]:
    headers = {"HX-Request": "true"} if htmx else {}
    sent = time.perf_counter()
    answer = client.get(path, headers=headers)
    answer.read()
    return (time.perf_counter() - sent) * 1000, answer


def fragments(html: str) -> list[str]:
    """The fragments a page loads by itself (in order, without repeats)."""
    return list(dict.fromkeys(m.replace("&amp;", "&") for m in LOADED.findall(html)))


def measure(client: httpx.Client, path: str, runs: int, *, htmx: bool) -> dict[str, Any]:
    """``runs`` timed requests of ``path`` after one to warm up; a request the server
    does not answer counts as status 0 (and its time until the error)."""
    times, statuses, size = [], set(), 0
    for n in range(runs + 1):
        sent = time.perf_counter()
        try:
            ms, answer = timed(client, path, htmx=htmx)
        except httpx.HTTPError:
            ms, status = (time.perf_counter() - sent) * 1000, 0
        else:
            status, size = answer.status_code, len(answer.content)
        if n:
            times.append(ms)
            statuses.add(status)
    times.sort()
    p95 = times[min(len(times) - 1, max(0, round(0.95 * len(times)) - 1))]
    return {
        "path": path,
        "kind": "data" if htmx else "page",
        "runs": runs,
        "p50_ms": round(statistics.median(times), 1),
        "p95_ms": round(p95, 1),
        "max_ms": round(times[-1], 1),
        "statuses": sorted(statuses),
        "bytes": size,
    }


def role_pages(client: httpx.Client, role: Role) -> list[str]:
    """The pages of the role's menu (where a menu entry redirects, the page it sends to)
    and the first card its customer list links to."""
    pages = []
    for entry in nav.visible(role):
        answer = client.get(entry.path)
        location = answer.headers.get("location", "")
        pages.append(location if answer.is_redirect and location.startswith("/") else entry.path)
    listed = client.get("/customers").text
    card = CARD.search(listed)
    if card:
        pages.append(card.group(1))
    return pages


def first_page(base: str, username: str) -> dict[str, Any]:
    """The bytes of the landing page after logging in, with its assets and fragments."""
    client = log_in(base, username)
    try:
        landing = client.get("/")
        while landing.is_redirect:
            landing = client.get(landing.headers["location"])
        html = landing.text
        parts: list[tuple[str, httpx.Response]] = [(str(landing.url.path), landing)]
        for src in dict.fromkeys(ASSETS.findall(html)):
            if urlsplit(src).netloc:
                continue
            parts.append((src, client.get(urljoin(str(landing.url), src))))
        for path in fragments(html):
            parts.append((path, client.get(path, headers={"HX-Request": "true"})))
        sent = sum(a.num_bytes_downloaded for _, a in parts)
        read = sum(len(a.content) for _, a in parts)
        return {
            "page": str(landing.url.path),
            "requests": len(parts),
            "bytes_sent": sent,
            "bytes_read": read,
            "largest": sorted(((len(a.content), p) for p, a in parts), reverse=True)[:5],
        }
    finally:
        client.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="Folder of the store.")
    parser.add_argument("--database-url", help="The store (default: DATA/rapport.db).")
    parser.add_argument("--runs", type=int, default=20, help="Timed requests per path.")
    parser.add_argument("--json", type=Path, help="Write the figures here.")
    parser.add_argument(
        "--roles", nargs="+", choices=[r.value for r in Role], help="Only these roles."
    )
    args = parser.parse_args(argv)
    url = args.database_url or f"sqlite:///{args.data.resolve() / 'rapport.db'}"
    who = bench_users(url)
    if args.roles:
        who = {role: name for role, name in who.items() if role.value in args.roles}
    print(f"store {url.split('@')[-1]}, users {', '.join(who.values())}", flush=True)
    load_before = os.getloadavg()
    server = start_server(url, args.data, secrets.token_urlsafe(36), timeout_s=120)
    results: list[dict[str, Any]] = []
    try:
        for role, username in who.items():
            client = log_in(server.base, username)
            try:
                for page in role_pages(client, role):
                    row = measure(client, page, args.runs, htmx=False)
                    results.append({"role": role.value, **row})
                    report(results[-1])
                    try:
                        html = client.get(page).text
                    except httpx.HTTPError:
                        html = ""
                    for fragment in fragments(html):
                        row = measure(client, fragment, args.runs, htmx=True)
                        results.append({"role": role.value, "page": page, **row})
                        report(results[-1])
                    if page == "/customers":
                        for text in SEARCHES:  # the list's answer to a search
                            path = f"/customers?{urlencode({'q': text})}"
                            row = measure(client, path, args.runs, htmx=True)
                            results.append({"role": role.value, "page": page, **row})
                            report(results[-1])
            finally:
                client.close()
        weight = first_page(server.base, who.get(Role.ADMIN) or next(iter(who.values())))
    finally:
        server.stop()
    load_after = os.getloadavg()
    over = [r for r in results if r["p95_ms"] > target(r) or r["statuses"] != [200]]
    print(
        f"first page {weight['page']}: {weight['requests']} requests, "
        f"{weight['bytes_sent']:,} bytes sent, {weight['bytes_read']:,} read "
        f"(target {FIRST_PAGE_TARGET_BYTES:,})"
    )
    print(f"over target: {len(over)} of {len(results)}")
    for r in over:
        shown = f"p95 {r['p95_ms']} ms (target {target(r):g}), statuses {r['statuses']}"
        print(f"  {r['role']:8} {r['path']} {shown}")
    print(f"load average before {load_before}, after {load_after}")
    if args.json:
        doc = {
            "store": url.split("@")[-1],
            "runs": args.runs,
            "results": results,
            "first_page": weight,
            "load_before": load_before,
            "load_after": load_after,
        }
        args.json.write_text(json.dumps(doc, indent=1, ensure_ascii=False), "utf-8")


def target(row: dict[str, Any]) -> float:
    return DATA_TARGET_MS if row["kind"] == "data" else PAGE_TARGET_MS


def report(row: dict[str, Any]) -> None:
    flag = "  OVER" if row["p95_ms"] > target(row) else ""
    flag += "" if row["statuses"] == [200] else "  NOT 200"
    print(
        f"  {row['role']:8} {row['kind']:4} {row['path'][:60]:60} p50 {row['p50_ms']:7.1f} "
        f"p95 {row['p95_ms']:7.1f} ms  {row['bytes']:>9,} B  {row['statuses']}{flag}",
        flush=True,
    )


if __name__ == "__main__":
    main()
