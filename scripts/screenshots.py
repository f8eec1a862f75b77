"""The README's screenshots of the web workspace, in zh-CN and en.

Builds a sample company in a temporary directory (``rapport demo``), gives the admin and a
sales user a password, starts ``rapport serve`` on a free loopback port and photographs the
main pages with Debian's Chromium driven by Playwright (1280×800, the viewport only)::

    .venv/bin/python scripts/screenshots.py [--customers 3000] [--out docs/images]

The images are ``<page>-<lang>.png`` in ``--out``. Nothing leaves the machine.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

CHROMIUM = "/usr/bin/chromium"
PASSWORD = "screenshots only"
#: (file name, user, path, what to wait for) of each picture.
PAGES = (
    ("overview", "admin", "/overview", "main"),
    ("customers", "admin", "/customers", "main"),
    ("card", "admin", None, "main"),  # the first diamond's 360 card
    ("worklist", "wang.fang", "/worklist", "main"),
    ("diamonds", "admin", "/diamonds", "main"),
    ("service", "admin", "/service", "main"),
    ("analysis", "admin", "/analysis", "main"),
)
LANGUAGES = {"zh": "zh-CN", "en": "en-US"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _run(args: list[str], env: dict[str, str], stdin: str | None = None) -> None:
    subprocess.run(args, env=env, input=stdin, text=True, check=True, stdout=subprocess.DEVNULL)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=3000)
    parser.add_argument("--out", type=Path, default=Path("docs/images"))
    options = parser.parse_args()
    from playwright.sync_api import sync_playwright

    bin_dir = Path(sys.executable).parent
    rapport = str(bin_dir / "rapport")
    options.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        env = {
            **os.environ,
            "RAPPORT_DATABASE_URL": f"sqlite:///{tmp}/rapport.db",
            "RAPPORT_DATA_DIR": f"{tmp}/data",
            "RAPPORT_LOCALE": "zh_CN",
        }
        _run([rapport, "demo", "--customers", str(options.customers)], env)
        for user in ("admin", "wang.fang"):
            _run([rapport, "users", "passwd", user, "--password-stdin"], env, PASSWORD + "\n")
        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        server = subprocess.Popen(
            [rapport, "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 90
            while True:
                try:
                    httpx.get(base + "/login", timeout=2)
                    break
                except httpx.HTTPError:
                    if time.monotonic() > deadline or server.poll() is not None:
                        raise SystemExit("rapport serve did not start") from None
                    time.sleep(0.5)
            with sync_playwright() as playwright:
                chromium = playwright.chromium.launch(
                    executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
                )
                for suffix, locale in LANGUAGES.items():
                    _photograph(chromium, base, locale, suffix, options.out)
                chromium.close()
        finally:
            server.terminate()
            server.wait(timeout=30)
    print(f"screenshots in {options.out}")
    return 0


def _photograph(chromium: object, base: str, locale: str, suffix: str, out: Path) -> None:
    contexts: dict[str, object] = {}
    for name, user, path, ready in PAGES:
        if user not in contexts:
            context = chromium.new_context(  # type: ignore[attr-defined]
                base_url=base, locale=locale, viewport={"width": 1280, "height": 800}
            )
            page = context.new_page()
            page.goto("/login")
            page.fill("#username", user)
            page.fill("#password", PASSWORD)
            page.click("#login-submit")
            page.wait_for_load_state("networkidle")
            contexts[user] = page
        page = contexts[user]
        if path is None:
            page.goto("/diamonds")
            page.wait_for_load_state("networkidle")
            page.click("main a[href^='/customers/']")
        else:
            page.goto(path)
        page.wait_for_selector(ready)
        page.wait_for_load_state("networkidle")
        page.wait_for_timeout(800)  # chart animations
        page.screenshot(path=str(out / f"{name}-{suffix}.png"))


if __name__ == "__main__":
    raise SystemExit(main())
