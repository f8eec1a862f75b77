"""Sample generator benchmark: the demo company to CSV, and a large company to Parquet.

    .venv/bin/python -m benchmarks.sample_generate [--customers 20000] [--large 1000000]

Each run happens in a child process so its peak resident memory is its own.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile

CHILD = """
import json, resource, sys, time
from rapport.sample.generator import generate, generate_to_dir
from rapport.sample.company import write
mode, customers, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
start = time.perf_counter()
if mode == "csv":
    company = generate(customers=customers, months=24, seed=42)
    write(company, out, format="csv")
    rows = company.row_counts()
else:
    rows = generate_to_dir(out, customers=customers, months=24, seed=42, format="parquet")
print(json.dumps({"seconds": time.perf_counter() - start, "rows": rows,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def run(mode: str, customers: int) -> dict:
    with tempfile.TemporaryDirectory() as out:
        done = subprocess.run(
            [sys.executable, "-c", CHILD, mode, str(customers), out],
            check=True,
            capture_output=True,
            text=True,
        )
        return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--large", type=int, default=1_000_000, help="0 skips the large run")
    args = parser.parse_args()
    runs = [("csv", args.customers)] + ([("parquet", args.large)] if args.large else [])
    for mode, customers in runs:
        r = run(mode, customers)
        rows = r["rows"]
        print(
            f"{customers:,} customers × 24 months → {mode}: {r['seconds']:.1f} s, "
            f"peak {r['peak_mb']:,.0f} MB, {sum(rows.values()):,} rows "
            f"(orders {rows['orders']:,}, events {rows['events']:,})"
        )


if __name__ == "__main__":
    main()
