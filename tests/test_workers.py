"""The analytics worker processes of a server (:mod:`rapport.workers`) end with the server,
even when it is killed and cannot stop them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

#: A "server": starts the pool, prints its worker's pid, then waits to be killed.
SERVER = """
import os, sys, time
from rapport.workers import run_in_worker
print(run_in_worker(os.getpid, what="test", hint="none"), flush=True)
time.sleep(600)
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
        return stat.read().split(") ", 1)[1][0] != "Z"  # a zombie has ended


def test_a_killed_servers_workers_end_within_seconds() -> None:
    server = subprocess.Popen([sys.executable, "-c", SERVER], stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        worker = int(server.stdout.readline())
        assert worker != server.pid
        time.sleep(1.5)  # more than one check of the parent: a live server keeps its worker
        assert _alive(worker)
    finally:
        server.send_signal(signal.SIGKILL)
        server.wait()
    deadline = time.monotonic() + 15
    while _alive(worker) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(worker), f"worker {worker} outlived its killed server"
