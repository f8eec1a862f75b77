"""CLV benchmark: BG/NBD and Gamma-Gamma fits and per-customer predictions at 1 M customers,
ours against ``lifetimes``.

    .venv/bin/python -m benchmarks.clv_fit [--customers 1000000] [--lifetimes-timeout 900]

Data (seed 42): a simulated BG/NBD population with the CDNOW parameters (r=0.243,
alpha=4.414 per week, a=0.793, b=2.426). First purchases are spread uniformly over the
first 12 weeks (84 days) of a 39-week calibration period; repeat purchases are a Poisson
process of the customer's rate, with drop-out after each purchase; times are whole days
expressed in weeks, as the engine's summary gives them. Spend: each repeat purchase is
Gamma(p=6.25, nu) with nu ~ Gamma(q=3.74, gamma=15.44) per customer (the CDNOW
Gamma-Gamma fit); ``monetary`` is the mean of the repeat purchases, in cents.

Measured, in one process (wall times, ``time.perf_counter``):

1. our BG/NBD fit (validation, compression to unique rows, fit, covariance);
   Our fits are timed ``--repeat`` times (median printed);
2. ``lifetimes.BetaGeoFitter.fit`` on the same arrays as a user would call it (one row a
   customer), in a child process killed after ``--lifetimes-timeout`` seconds; when it is
   killed, the figure printed is the timeout, a lower bound. Also ``BetaGeoFitter`` on our
   compressed rows with their weights (its own ``weights`` argument), to separate the
   optimizer from the data size;
3. per-customer predictions for every customer: P(alive), expected purchases in the next
   90 days, and 12-month CLV (monthly steps, 10 % a year, Gamma-Gamma spend);
4. Gamma-Gamma fit on the repeat buyers, ours and ``lifetimes.GammaGammaFitter``.

Peak resident memory (``ru_maxrss``) of this process is printed at the end (the lifetimes
children's is not included).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import resource
import statistics
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

from rapport.models.clv import (
    BetaGeoModel,
    GammaGammaModel,
    compress,
    customer_lifetime_value,
    repeat_buyers,
)
from rapport.models.units import Duration

SEED = 42
BGNBD = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
GG = {"p": 6.25, "q": 3.74, "gamma": 15.44}
CALIBRATION_DAYS = 273  # 39 weeks
COHORT_DAYS = 84


def simulate(customers: int, seed: int = SEED) -> dict[str, np.ndarray]:
    """A BG/NBD + Gamma-Gamma population's summary (see the module docstring)."""
    rng = np.random.default_rng(seed)
    first = rng.integers(0, COHORT_DAYS, size=customers)
    T_days = CALIBRATION_DAYS - 1 - first
    T = T_days / 7.0
    lam = rng.gamma(BGNBD["r"], 1 / BGNBD["alpha"], size=customers)
    drop = rng.beta(BGNBD["a"], BGNBD["b"], size=customers)
    x = np.zeros(customers)
    last = np.zeros(customers)
    now = np.zeros(customers)
    alive = np.arange(customers)
    while alive.size:
        now[alive] += rng.exponential(1.0, size=alive.size) / lam[alive]
        bought = now[alive] <= T[alive]
        alive = alive[bought]
        x[alive] += 1
        last[alive] = now[alive]
        alive = alive[rng.random(alive.size) >= drop[alive]]
    recency = np.floor(last * 7) / 7  # whole days, in weeks
    nu = rng.gamma(GG["q"], 1 / GG["gamma"], size=customers)
    total = rng.gamma(GG["p"] * np.maximum(x, 1), 1 / nu)
    monetary = np.where(x > 0, np.round(100 * total / np.maximum(x, 1)) / 100, 0.0)
    monetary = np.maximum(monetary, 0.01)
    return {"frequency": x, "recency": recency, "T": T, "monetary": np.where(x > 0, monetary, 0)}


def _lifetimes_child(path: str, kind: str, queue: mp.Queue) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import lifetimes

        data = np.load(path)
        began = time.perf_counter()
        if kind == "bgnbd":
            fitter = lifetimes.BetaGeoFitter().fit(data["x"], data["tx"], data["T"])
        elif kind == "bgnbd-weights":
            fitter = lifetimes.BetaGeoFitter().fit(
                data["x"], data["tx"], data["T"], weights=data["w"]
            )
        else:
            fitter = lifetimes.GammaGammaFitter().fit(data["x"], data["m"])
        seconds = time.perf_counter() - began
    queue.put((seconds, {k: float(v) for k, v in fitter.params_.items()}))


def run_lifetimes(kind: str, timeout: float, **arrays: np.ndarray) -> tuple[float, dict | None]:
    """``(seconds, params)`` of a lifetimes fit in a child; ``(timeout, None)`` if killed."""
    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "data.npz")
        np.savez(path, **arrays)
        queue: mp.Queue = mp.get_context("fork").Queue()
        child = mp.get_context("fork").Process(target=_lifetimes_child, args=(path, kind, queue))
        child.start()
        try:
            seconds, params = queue.get(timeout=timeout)
        except Exception:  # queue.Empty: the child is still fitting
            child.kill()
            child.join()
            return timeout, None
        child.join()
        return seconds, params


def timed(fn, repeat: int):
    """Median wall time of ``repeat`` calls of ``fn`` and the last result."""
    times, result = [], None
    for _ in range(repeat):
        began = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - began)
    return statistics.median(times), result


def show(params: dict | None, names: tuple[str, ...]) -> str:
    if params is None:
        return "(killed at the timeout)"
    return ", ".join(f"{n}={params[n]:.3f}" for n in names)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--lifetimes-timeout", type=float, default=900.0)
    parser.add_argument("--repeat", type=int, default=3, help="runs of our fits (median)")
    args = parser.parse_args()
    print(f"load average: {os.getloadavg()}")

    began = time.perf_counter()
    data = simulate(args.customers)
    x, tx, T, m = data["frequency"], data["recency"], data["T"], data["monetary"]
    print(
        f"simulated {x.size:,} customers in {time.perf_counter() - began:.1f} s: "
        f"{int((x > 0).sum()):,} repeat buyers, {int(x.sum()):,} repeat purchases"
    )

    # 1. our BG/NBD fit
    ours_bg, bg = timed(lambda: BetaGeoModel().fit(x, tx, T), args.repeat)
    ux, utx, uT, w, _ = compress(x, tx, T)
    names = ("r", "alpha", "a", "b")
    print(
        f"\nBG/NBD, ours:      {ours_bg:7.2f} s  {show(bg.params_, names)}  "
        f"({ux.size:,} unique rows; LL {bg.log_likelihood_:.2f})"
    )

    # 2. lifetimes
    secs, params = run_lifetimes("bgnbd", args.lifetimes_timeout, x=x, tx=tx, T=T)
    bound = ">= " if params is None else ""
    print(f"BG/NBD, lifetimes: {bound}{secs:7.2f} s  {show(params, names)}  (1 row a customer)")
    if params is not None:
        same = all(round(params[n], 3) == round(bg.params_[n], 3) for n in names)
        print(f"  same parameters to 3 decimals: {same}; ours is {secs / ours_bg:.0f}x faster")
    else:
        print(f"  ours is at least {secs / ours_bg:.0f}x faster")
    secs_w, params_w = run_lifetimes(
        "bgnbd-weights", args.lifetimes_timeout, x=ux, tx=utx, T=uT, w=w
    )
    print(
        f"BG/NBD, lifetimes on our compressed rows with weights: {secs_w:7.2f} s  "
        f"{show(params_w, names)}"
    )

    # 3. Gamma-Gamma
    rx, rm, _ = repeat_buyers(x, m)
    ours_gg, gg = timed(lambda: GammaGammaModel().fit(rx, rm), args.repeat)
    gnames = ("p", "q", "gamma")
    print(
        f"\nGamma-Gamma, ours:      {ours_gg:7.2f} s  {show(gg.params_, gnames)}  "
        f"({rx.size:,} repeat buyers)"
    )
    secs_g, params_g = run_lifetimes("gg", args.lifetimes_timeout, x=rx, m=rm)
    if params_g is not None:
        params_g["gamma"] = params_g.pop("v")
    print(f"Gamma-Gamma, lifetimes: {secs_g:7.2f} s  {show(params_g, gnames)}")
    if params_g is not None:
        same = all(round(params_g[n], 3) == round(gg.params_[n], 3) for n in gnames)
        print(f"  same parameters to 3 decimals: {same}")

    # 4. predictions for every customer
    began = time.perf_counter()
    p_alive = bg.probability_alive(x, tx, T)
    t_alive = time.perf_counter() - began
    expected = bg.expected_purchases(Duration(90, "days"), x, tx, T)
    t_expected = time.perf_counter() - began - t_alive
    clv = customer_lifetime_value(
        bg, gg, x, tx, T, m, horizon=Duration(12, "months"), annual_discount_rate=0.10
    )
    total = time.perf_counter() - began
    print(
        f"\npredictions for {x.size:,} customers: {total:.2f} s "
        f"(P(alive) {t_alive:.2f} s, expected purchases 90 days {t_expected:.2f} s, "
        f"12-month CLV {total - t_alive - t_expected:.2f} s)"
    )
    print(
        f"  mean P(alive) {p_alive.mean():.3f}, mean purchases 90 d {expected.mean():.3f}, "
        f"mean CLV {clv.mean():.2f}"
    )

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak RSS of this process: {peak:.0f} MB")


if __name__ == "__main__":
    main()
