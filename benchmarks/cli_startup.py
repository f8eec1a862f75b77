"""Start-up time of the ``rapport`` command: ``--version``, ``--help`` and one command's help.

Runs each command ``--runs`` times in a fresh process (after ``--warmup`` unmeasured runs,
so the file cache is warm) and prints min / median / max wall seconds, like ``hyperfine``,
and the median CPU seconds (user + system), which a busy shared machine disturbs less.

    .venv/bin/python -m benchmarks.cli_startup --runs 20

``--script`` times another entry point (e.g. an older ``cli/main.py`` run as a script) for a
before/after comparison.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

CASES = (["--version"], ["--help"], ["score", "--help"])


def entry_point(script: str | None) -> list[str]:
    if script:
        return [sys.executable, script]
    beside = Path(sys.executable).parent / "rapport"
    found = str(beside) if beside.exists() else shutil.which("rapport")
    if not found:
        raise SystemExit("the rapport console script is not installed")
    return [found]


def timed(command: list[str]) -> tuple[float, float]:
    """Wall seconds and CPU seconds (user + system) of one run of ``command``.

    CPU time depends much less than wall time on what else the shared machine is doing.
    """
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise subprocess.CalledProcessError(process.returncode, command)
    return wall, usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--script", help="run this Python file instead of the rapport script")
    options = parser.parse_args()
    base = entry_point(options.script)
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}, runs {options.runs}")
    print(f"{'command':<24} {'min s':>7} {'median s':>9} {'max s':>7} {'CPU median s':>13}")
    for args in CASES:
        command = [*base, *args]
        for _ in range(options.warmup):
            timed(command)
        runs = [timed(command) for _ in range(options.runs)]
        wall = [w for w, _ in runs]
        cpu = statistics.median(c for _, c in runs)
        label = "rapport " + " ".join(args)
        print(
            f"{label:<24} {min(wall):>7.3f} {statistics.median(wall):>9.3f} "
            f"{max(wall):>7.3f} {cpu:>13.3f}"
        )


if __name__ == "__main__":
    main()
