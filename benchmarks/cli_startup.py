"""Start-up time of the ``rapport`` command: ``--version``, ``--help`` and one command's help.

Runs each command ``--runs`` times in a fresh process (after ``--warmup`` unmeasured runs,
so the file cache is warm) and prints min / median / max wall seconds, like ``hyperfine``.

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


def timed(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--script", help="run this Python file instead of the rapport script")
    options = parser.parse_args()
    base = entry_point(options.script)
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}, runs {options.runs}")
    print(f"{'command':<24} {'min s':>7} {'median s':>9} {'max s':>7}")
    for args in CASES:
        command = [*base, *args]
        for _ in range(options.warmup):
            timed(command)
        seconds = [timed(command) for _ in range(options.runs)]
        label = "rapport " + " ".join(args)
        print(
            f"{label:<24} {min(seconds):>7.3f} {statistics.median(seconds):>9.3f} "
            f"{max(seconds):>7.3f}"
        )


if __name__ == "__main__":
    main()
