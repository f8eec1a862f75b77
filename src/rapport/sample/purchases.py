"""Purchases: BG/NBD-like order times, order values (Gamma-Gamma), lines and statuses.

Each buyer orders first shortly after registering, then repeats as a Poisson process with
rate ``lambda`` on a seasonally warped clock, and after every order becomes inactive with
probability ``p``. Drifting customers' rate decays after their drift start (thinning).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from rapport.sample import arrays as A
from rapport.sample.context import Context
from rapport.sample.population import Population

# order status codes
COMPLETED, CANCELLED, REFUNDED = 0, 1, 2
STATUS = ("completed", "cancelled", "refunded")
PRODUCT_CANDIDATES = 8


def simulate_order_times(
    ctx: Context, rng: np.random.Generator, pop: Population
) -> tuple[np.ndarray, np.ndarray]:
    """Organic orders sorted by customer then time; sets ``pop.dropout``."""
    p = ctx.params
    days = ctx.days
    clock = ctx.clock
    n = pop.n
    same = rng.random(n) < p.first_order_same_session
    delay = np.where(
        same, rng.exponential(20 / 1440, n), rng.exponential(p.first_order_delay_days, n)
    )
    first = pop.created + np.minimum(delay, np.maximum(days - pop.created, 0) * 0.5)
    buyer = ~pop.never_buy & (first < days)
    first = np.where(buyer, first, np.nan)

    # purchases until dropout (inclusive): Nd ~ Geometric(p) on {1, 2, ...}
    nd = rng.geometric(pop.p_dropout)
    w0 = clock.warped(np.nan_to_num(first, nan=days))
    span = clock.warp[-1] - w0
    m = rng.poisson(pop.rate * np.maximum(span, 0.0))
    m[~buyer] = 0
    owner, w = A.uniform_points(rng, w0, w0 + span, m)
    x = clock.unwarp(w)
    ds = pop.drift_start[owner]
    drifting = ~np.isnan(ds) & (x > np.nan_to_num(ds))
    if drifting.any():
        accept = rng.random(len(x)) < np.exp(-(x - np.nan_to_num(ds)) / p.drift_decay_days)
        keep = ~drifting | accept
        owner, x = owner[keep], x[keep]
    order = A.sort_by(owner, x)
    owner, x = owner[order], x[order]
    rank = A.rank_in_group(owner)
    allowed = nd - 1 if p.dropout_after_first else nd
    keep = rank < allowed[owner]
    counts = np.bincount(owner, minlength=n)
    # dropout happens after the Nd-th purchase if it falls inside the window
    dropped = buyer & (counts >= allowed)
    owner, x = owner[keep], x[keep]
    x = clock.at_time_of_day(rng, x)
    x = np.maximum(x, first[owner] + 1e-3)
    x = np.minimum(x, np.nextafter(days, 0))
    b = np.flatnonzero(buyer)
    cust = np.concatenate([b, owner])
    times = np.concatenate([first[b], x])
    order = A.sort_by(cust, times)
    cust, times = cust[order], times[order]
    last = np.full(n, np.nan)
    if len(cust):
        last_pos = np.flatnonzero(np.r_[cust[1:] != cust[:-1], True])
        last[cust[last_pos]] = times[last_pos]
    pop.dropout = np.where(dropped, last, np.nan)
    return cust, times


@dataclass
class Orders:
    """Orders of a block sorted by time, with their lines."""

    customer: np.ndarray
    x: np.ndarray
    status: np.ndarray
    gross: np.ndarray  # cents
    discount: np.ndarray
    refunded: np.ndarray
    net: np.ndarray
    channel: np.ndarray  # index into ctx.order_channels
    store: np.ndarray  # index into ctx.store_name or -1
    external_id: pa.Array
    line_order: np.ndarray  # order index of each line
    line_no: np.ndarray
    line_product: np.ndarray
    line_quantity: np.ndarray
    line_price: np.ndarray
    first_product: np.ndarray  # per order
    from_combined: np.ndarray  # combined (organic then incremental) index -> order index

    @property
    def size(self) -> int:
        return len(self.customer)


def order_lines(
    ctx: Context, rng: np.random.Generator, pop: Population, cust: np.ndarray, target: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Lines whose value approximates each order's ``target`` (cents).

    Larger targets get more lines (``1 + Poisson(lines_extra_mean * target / median
    price)``, at most 6); each line gets a Dirichlet share of the target, takes the
    product (from the customer's preferred categories) whose price is closest to its
    share among ``PRODUCT_CANDIDATES`` popularity-weighted candidates, and a quantity of
    ``round(share / price)`` clipped to ``1..max_quantity``.

    Returns the order index, product and quantity of every line.
    """
    p = ctx.params
    cat = ctx.catalogue
    n = len(cust)
    median_price = float(np.median(cat.price_cents))
    extra = rng.poisson(p.lines_extra_mean * np.clip(target / median_price, 0.2, 5.0))
    lines = 1 + np.minimum(extra, 5)
    line_order = np.repeat(np.arange(n), lines)
    share = rng.gamma(4.0, 1.0, len(line_order))
    share /= np.bincount(line_order, weights=share, minlength=n)[line_order]
    budget = target[line_order] * share
    owner = cust[line_order]
    best = np.zeros(len(line_order), dtype=np.int64)
    best_cost = np.full(len(line_order), np.inf)
    for _ in range(PRODUCT_CANDIDATES):
        cand = cat.sample(rng, A.row_choice(rng, pop.category_cdf, owner))
        cost = np.abs(np.log(cat.price_cents[cand] / budget))
        better = cost < best_cost
        best[better], best_cost[better] = cand[better], cost[better]
    qty = np.clip(np.round(budget / cat.price_cents[best]), 1, p.max_quantity).astype(np.int64)
    return line_order, best, qty


def simulate_orders(
    ctx: Context,
    rng: np.random.Generator,
    pop: Population,
    cust: np.ndarray,
    x: np.ndarray,
    counter: int,
) -> Orders:
    """Values, lines, discounts and statuses of the orders at ``(cust, x)``."""
    p = ctx.params
    cat = ctx.catalogue
    perm = np.argsort(x, kind="stable")
    cust, x = cust[perm], x[perm]
    n = len(cust)
    from_combined = np.empty(n, dtype=np.int64)
    from_combined[perm] = np.arange(n)

    # channel and store
    home = rng.random(n) < p.home_channel_share
    channel = np.where(home, pop.home_channel[cust], A.choice(rng, ctx.order_channel_p, n))
    retail = np.array(ctx.order_channels)[channel] == "retail_store"
    store = np.where(retail, pop.home_store[cust], -1)

    # order value target ~ Gamma(p, nu_i); lines fill it (see order_lines)
    target = rng.gamma(p.spend_p, 1.0 / pop.spend_nu[cust]) * 100.0  # cents
    if p.exact_order_values:  # one line priced at the draw itself
        line_order = np.arange(n)
        product = cat.sample(rng, A.row_choice(rng, pop.category_cdf, cust))
        qty = np.ones(n, dtype=np.int64)
        price = np.maximum(np.round(target), 1).astype(np.int64)
    else:
        line_order, product, qty = order_lines(ctx, rng, pop, cust, target)
        price = cat.price_cents[product]
    line_no = A.rank_in_group(line_order) + 1
    gross = np.bincount(line_order, weights=qty * price, minlength=n).astype(np.int64)

    # discounts (more on peak days), statuses and refunds
    peak = ctx.clock.season[np.clip(np.floor(x).astype(np.int64), 0, ctx.days - 1)] >= 2.0
    has_disc = rng.random(n) < np.where(peak, 0.8, p.discount_share)
    has_disc &= not p.exact_order_values
    lo, hi = p.discount_range
    frac = lo + (hi - lo) * rng.random(n)
    discount = np.where(has_disc, np.floor(gross * frac / 100.0) * 100, 0).astype(np.int64)
    u = rng.random(n)
    status = np.where(
        u < p.cancel_share,
        CANCELLED,
        np.where(u < p.cancel_share + p.refund_share, REFUNDED, COMPLETED),
    )
    paid = gross - discount
    partial = (status == COMPLETED) & (rng.random(n) < p.partial_refund_share)
    refunded = np.where(status == REFUNDED, paid, 0)
    part = np.round(paid * (0.1 + 0.5 * rng.random(n)) / 100.0) * 100
    refunded = np.where(partial, np.minimum(part, paid), refunded).astype(np.int64)
    net = np.where(status == CANCELLED, 0, paid - refunded).astype(np.int64)

    first_line = A.starts(np.bincount(line_order, minlength=n))
    return Orders(
        customer=cust,
        x=x,
        status=status,
        gross=gross,
        discount=discount,
        refunded=refunded,
        net=net,
        channel=channel,
        store=store,
        external_id=A.numbered("SO", counter + 1 + np.arange(n), 10),
        line_order=line_order,
        line_no=line_no,
        line_product=product,
        line_quantity=qty,
        line_price=price,
        first_product=product[first_line],
        from_combined=from_combined,
    )


def order_columns(ctx: Context, pop: Population, o: Orders) -> tuple[dict, dict]:
    """``orders`` and ``order_items`` columns."""
    n = o.size
    orders = {
        "external_id": o.external_id,
        "customer_external_id": pop.external_id.take(pa.array(o.customer)),
        "status": A.take(A.pool(STATUS), o.status),
        "ordered_at": A.timestamps(ctx.window.utc_seconds(o.x)),
        "gross_amount": A.money(o.gross),
        "discount_amount": A.money(o.discount),
        "refunded_amount": A.money(o.refunded),
        "net_amount": A.money(o.net),
        "currency": pa.array([ctx.currency] * n, pa.string()) if n else pa.array([], pa.string()),
        "channel": A.take(A.pool(ctx.order_channels), o.channel),
        "store": A.take(ctx.store_name, np.maximum(o.store, 0), o.store < 0),
    }
    items = {
        "order_external_id": o.external_id.take(pa.array(o.line_order)),
        "line_no": A.ints(o.line_no, pa.int32()),
        "product_sku": A.take(A.pool(ctx.catalogue.sku), o.line_product),
        "quantity": A.ints(o.line_quantity, pa.int32()),
        "unit_price": A.money(o.line_price),
        "net_amount": A.money(o.line_quantity * o.line_price),
    }
    return orders, items
