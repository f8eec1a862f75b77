"""The loyalty ledger: points for purchases, birthdays and referrals, and redemptions.

Redemptions are whole blocks of ``K`` points (``redeem_block_*``). When a customer's
cumulative earned points cross ``j * K``, block ``j`` may be redeemed some time later, so
at any moment the redeemed blocks never exceed ``floor(earned / K)``: the balance never
goes negative.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from rapport.sample import arrays as A
from rapport.sample.context import Context
from rapport.sample.leads import Referrals
from rapport.sample.population import Population
from rapport.sample.purchases import COMPLETED, Orders

REASONS = ("purchase", "birthday", "referral", "redeem")


def _birthdays(ctx: Context, pop: Population) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Birthday bonus entries (customer, local time, year label) of members."""
    known = np.flatnonzero((pop.birthday >= 0) & ~np.isnan(pop.joined))
    bday = pop.birthday[known].astype("datetime64[D]")
    month = bday.astype("datetime64[M]") - bday.astype("datetime64[Y]").astype("datetime64[M]")
    day = bday - bday.astype("datetime64[M]").astype("datetime64[D]")
    start = np.datetime64(ctx.window.start, "D")
    cust, when, years = [], [], []
    for y in range(ctx.window.start.year, ctx.window.end.year + 1):
        this = (np.datetime64(f"{y}-01", "M") + month).astype("datetime64[D]") + day
        d = (this - start).astype(np.int64) + 0.375  # 09:00 local
        ok = (d >= 0) & (d < ctx.days) & (pop.joined[known] <= d)
        cust.append(known[ok])
        when.append(d[ok])
        years.extend([str(y)] * int(ok.sum()))
    return np.concatenate(cust), np.concatenate(when), years


def simulate_ledger(
    ctx: Context,
    rng: np.random.Generator,
    pop: Population,
    orders: Orders,
    referrals: Referrals,
    referral_ids: pa.Array,
    counter: int,
) -> dict:
    p = ctx.params
    days = ctx.days
    joined = pop.joined
    # purchases
    j = joined[orders.customer]
    earn = np.floor(orders.net / 100.0 * p.points_per_currency_unit).astype(np.int64)
    po = np.flatnonzero((orders.status == COMPLETED) & ~np.isnan(j) & (j <= orders.x) & (earn > 0))
    # birthdays
    bc, bx, byears = _birthdays(ctx, pop)
    # referral bonuses to members whose referral converted
    rc = np.flatnonzero(referrals.converted)
    rcust = referrals.referrer[rc]
    rx = referrals.converted_at[rc] + 1e-3
    ok = ~np.isnan(joined[rcust]) & (joined[rcust] <= rx) & (rx < days)
    rc, rcust, rx = rc[ok], rcust[ok], rx[ok]

    cust = np.concatenate([orders.customer[po], bc, rcust])
    x = np.concatenate([orders.x[po], bx, rx])
    points = np.concatenate(
        [earn[po], np.full(len(bc), p.birthday_bonus), np.full(len(rc), p.referral_bonus)]
    ).astype(np.int64)
    reason = np.concatenate(
        [np.zeros(len(po), np.int64), np.ones(len(bc), np.int64), np.full(len(rc), 2)]
    )
    reference = pa.concat_arrays(
        [
            A.concat("order:", orders.external_id.take(pa.array(po))),
            A.concat("birthday:", pa.array(byears, pa.string())),
            A.concat("referral:", referral_ids.take(pa.array(rc))),
        ]
    )
    order = A.sort_by(cust, x)
    cust, x, points, reason = cust[order], x[order], points[order], reason[order]
    reference = reference.take(pa.array(order))

    # redemptions of whole blocks crossed by the running earned total
    k = ctx.redeem_block
    before = A.group_cumsum_before(cust, points)
    crossed = (before + points) // k - before // k
    r = np.flatnonzero((crossed > 0) & (rng.random(len(cust)) < p.redeem_probability))
    rx = x[r] + 1 / 24 + rng.exponential(p.redeem_delay_days, len(r))
    keep = rx < days
    r, rx = r[keep], rx[keep]
    cust = np.concatenate([cust, cust[r]])
    x = np.concatenate([x, rx])
    points = np.concatenate([points, -crossed[r] * k])
    reason = np.concatenate([reason, np.full(len(r), 3)])
    voucher = f"reward:voucher-{k}"
    reference = pa.concat_arrays([reference, pa.array([voucher] * len(r), pa.string())])
    order = A.sort_by(cust, x)
    n = len(order)
    return {
        "external_id": A.numbered("LY", counter + 1 + np.arange(n), 10),
        "customer_external_id": pop.external_id.take(pa.array(cust[order])),
        "points": A.ints(points[order]),
        "reason": A.take(A.pool(REASONS), reason[order]),
        "reference": reference.take(pa.array(order)),
        "occurred_at": A.timestamps(ctx.window.utc_seconds(x[order])),
    }
