"""Normalizer benchmark: the vectorized forms on 1,000,000 mixed-format strings.

    .venv/bin/python -m benchmarks.normalizers [--rows 1000000]

Inputs mix the formats real exports have (¥ and 元, thousands separators, full-width
digits, Chinese and ISO and slash dates, Excel serials) with ~1 % invalid and ~1 % empty.
Prints the best of three runs per normalizer.
"""

from __future__ import annotations

import argparse
import time
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl

from rapport.ingest import normalize as nz

FULL = str.maketrans("0123456789.,", "０１２３４５６７８９．，")


def money_inputs(rng: np.random.Generator, n: int) -> pl.Series:
    amounts = np.round(rng.gamma(2.0, 300.0, n), 2)
    styles = rng.integers(0, 6, n)
    out = []
    for a, s in zip(amounts.tolist(), styles.tolist(), strict=True):
        text = (
            f"¥{a:,.2f}元",
            f"{a:.2f}",
            f"RMB {a:,.2f}",
            f"{a:,.2f}".translate(FULL),
            f"{a:.2f}元",
            "abc",
        )[s if rng.random() > 0.01 else 5]
        out.append(text)
    return pl.Series(out)


def date_inputs(rng: np.random.Generator, n: int) -> pl.Series:
    seconds = rng.integers(0, 3 * 365 * 86400, n)
    base = np.datetime64("2023-01-01T00:00:00", "s")
    stamps = (base + seconds.astype("timedelta64[s]")).astype("datetime64[s]").astype(str)
    styles = rng.integers(0, 5, n)
    out = []
    for t, s in zip(stamps.tolist(), styles.tolist(), strict=True):
        y, mo, d, hm = t[:4], t[5:7], t[8:10], t[11:16]
        out.append(
            (
                t.replace("T", " "),
                f"{y}年{int(mo)}月{int(d)}日 {hm}",
                f"{y}/{mo}/{d}",
                t + "+08:00",
                f"{y}{mo}{d}",
            )[s]
        )
    return pl.Series(out)


def best(fn, *args) -> float:
    times = []
    for _ in range(3):
        start = time.perf_counter()
        fn(*args)
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    rng = np.random.default_rng(3)
    money = money_inputs(rng, args.rows)
    dates = date_inputs(rng, args.rows)
    tz = ZoneInfo("Asia/Shanghai")
    print(f"{'normalizer':<18}{'rows':>12}{'seconds':>10}{'rows/s':>14}")
    for name, fn, data in (
        ("money_series", nz.money_series, (money,)),
        ("datetime_series", nz.datetime_series, (dates, tz)),
        ("date_series", nz.date_series, (dates,)),
    ):
        seconds = best(fn, *data)
        print(f"{name:<18}{args.rows:>12,}{seconds:>10.2f}{args.rows / seconds:>14,.0f}")


if __name__ == "__main__":
    main()
