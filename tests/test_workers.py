"""The analytics worker processes of a server (:mod:`rapport.workers`) end with the server,
even when it is killed and cannot stop them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from rapport.errors import StoreUnavailable, ValidationFailed
from rapport.workers import Beside

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


# --- Beside: one piece of work in a process of its own ---------------------------------------


def _refused(value: int) -> int:
    raise ValidationFailed(f"value {value} refused", field="value")


def _exits(code: int) -> None:
    os._exit(code)


def test_beside_runs_the_work_in_another_process_and_ends_it_with_the_result() -> None:
    with Beside(os.getpid, what="test") as work:
        pid = work.result()
        assert pid != os.getpid()
        assert not _alive(pid)  # the result is in: nothing of it stays


def test_beside_raises_the_works_domain_error_again() -> None:
    with Beside(_refused, 7, what="test") as work, pytest.raises(ValidationFailed) as raised:
        work.result()
    assert raised.value.field == "value" and "7" in str(raised.value)


def test_beside_names_a_process_that_stopped_without_a_result() -> None:
    with Beside(_exits, 3, what="test work") as work, pytest.raises(StoreUnavailable) as raised:
        work.result()
    assert "test work" in str(raised.value) and "exit code 3" in str(raised.value)


def test_leaving_beside_early_stops_its_process() -> None:
    with Beside(time.sleep, 60, what="test") as work:
        pid = work._process.pid
        assert pid is not None and _alive(pid)
    assert not _alive(pid)
