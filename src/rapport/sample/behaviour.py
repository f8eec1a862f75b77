"""Behaviour events: tracked sessions (before own-channel orders and for browsing),
campaign responses, social engagement, reviews and offline events."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from rapport.domain import Channel, EventKind
from rapport.sample import arrays as A
from rapport.sample.campaigns import Deliveries
from rapport.sample.context import Context
from rapport.sample.population import Population
from rapport.sample.purchases import COMPLETED, Orders

KINDS = [k.value for k in EventKind]
K = {k: i for i, k in enumerate(KINDS)}
CHANNELS = [c.value for c in Channel]
CH = {c: i for i, c in enumerate(CHANNELS)}
MONTH = 30.4375
VIEW_KINDS = (K["page_view"], K["product_view"])


@dataclass
class EventParts:
    cust: list = field(default_factory=list)
    x: list = field(default_factory=list)
    kind: list = field(default_factory=list)
    session: list = field(default_factory=list)
    channel: list = field(default_factory=list)
    product: list = field(default_factory=list)
    campaign: list = field(default_factory=list)
    dwell: list = field(default_factory=list)
    props: list = field(default_factory=list)

    def add(
        self,
        cust,
        x,
        kind,
        channel,
        *,
        session=None,
        product=None,
        campaign=None,
        dwell=None,
        props=None,
    ) -> None:
        n = len(cust)
        full = np.full
        self.cust.append(np.asarray(cust, np.int64))
        self.x.append(np.asarray(x, np.float64))
        self.kind.append(np.broadcast_to(np.asarray(kind, np.int64), (n,)))
        self.channel.append(np.broadcast_to(np.asarray(channel, np.int64), (n,)))
        self.session.append(full(n, -1, np.int64) if session is None else session)
        self.product.append(full(n, -1, np.int64) if product is None else product)
        self.campaign.append(full(n, -1, np.int64) if campaign is None else campaign)
        self.dwell.append(full(n, np.nan) if dwell is None else dwell)
        self.props.append(pa.nulls(n, pa.string()) if props is None else props)


def thinned_times(
    ctx: Context, rng: np.random.Generator, pop: Population, rate: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Poisson times at ``rate`` per day between creation and the end, thinned by each
    customer's activity (lower after dropout, decaying while drifting)."""
    p = ctx.params
    span = ctx.days - pop.created
    owner, x = A.uniform_points(rng, pop.created, pop.created + span, rng.poisson(rate * span))
    act = pop.activity_at(owner, x, p.after_dropout_activity, p.drift_decay_days)
    keep = rng.random(len(x)) < act
    return owner[keep], x[keep]


def _pref_products(ctx: Context, rng: np.random.Generator, pop: Population, cust: np.ndarray):
    """Products following each customer's category preferences."""
    return ctx.catalogue.sample(rng, A.row_choice(rng, pop.category_cdf, cust))


def _sessions(
    rng: np.random.Generator, slots: list[tuple[int, np.ndarray]], dwell_scale: np.ndarray
):
    """Events of sessions from per-session counts per slot (in slot order).

    Returns session index, kind, offset in seconds from the session start and dwell
    seconds (NaN for non-view kinds) of each event.
    """
    sess = np.concatenate([np.repeat(np.arange(len(c)), c) for _, c in slots])
    kind = np.concatenate([np.full(int(c.sum()), k) for k, c in slots])
    slot = np.concatenate([np.full(int(c.sum()), i) for i, (_, c) in enumerate(slots)])
    order = A.sort_by(sess, slot)
    sess, kind = sess[order], kind[order]
    view = np.isin(kind, VIEW_KINDS)
    dwell = np.where(view, rng.lognormal(np.log(25.0), 0.9, len(sess)) * dwell_scale[sess], np.nan)
    gap = np.where(view, dwell, 0.0) + rng.uniform(2.0, 20.0, len(sess))
    offset = A.group_cumsum_before(sess, gap)
    return sess, kind, offset, np.round(dwell, 1)


def simulate_events(
    ctx: Context,
    rng: np.random.Generator,
    pop: Population,
    orders: Orders,
    deliveries: Deliveries,
    counter: int,
    session_counter: int,
) -> tuple[dict, int]:
    """The ``events`` columns and the number of sessions used."""
    p = ctx.params
    data = ctx.locale.data
    cat = ctx.catalogue
    days = ctx.days
    parts = EventParts()
    scale = pop.engagement**0.3
    chan_names = np.array(ctx.order_channels)
    own = np.array([CH[c] for c in data.OWN_CHANNELS])
    page_pool = A.pool(
        [json.dumps({"page": "home"})]
        + [
            json.dumps({"page": "category", "category": c}, ensure_ascii=False)
            for c in cat.category_labels
        ]
        + [json.dumps({"page": "promotion"})]
    )
    search_pool = A.pool(
        [json.dumps({"query": t}, ensure_ascii=False) for ts in cat.search_terms for t in ts]
    )

    term_count = np.array([len(t) for t in cat.search_terms])
    term_start = A.starts(term_count)

    def add_sessions(cust, start, channel, slots, anchor_end, order_idx):
        nonlocal session_counter
        s_idx, kind, off, dwell = _sessions(rng, slots, scale[cust])
        last = np.zeros(len(cust))
        np.maximum.at(last, s_idx, off)
        begin = np.where(anchor_end, start - (last + 20.0) / 86400.0, start)
        ev_x = begin[s_idx] + off / 86400.0
        ec = cust[s_idx]
        keep = np.flatnonzero((ev_x >= pop.created[ec]) & (ev_x < days))
        s_idx, kind, ev_x, ec, dwell = s_idx[keep], kind[keep], ev_x[keep], ec[keep], dwell[keep]
        n = len(kind)
        product = np.full(n, -1, dtype=np.int64)
        is_prod = (kind == K["product_view"]) | (kind == K["add_to_cart"])
        product[is_prod] = _pref_products(ctx, rng, pop, ec[is_prod])
        props = pa.nulls(n, pa.string())
        if order_idx is not None:
            oi = order_idx[s_idx]
            to_order = is_prod & ((kind == K["add_to_cart"]) | (rng.random(n) < 0.5))
            product[to_order] = orders.first_product[oi[to_order]]
            co = kind == K["checkout"]
            text = A.concat('{"order": "', orders.external_id.take(pa.array(oi)), '"}')
            props = pc.if_else(pa.array(co), text, props)
        pv = kind == K["page_view"]
        page = A.take(page_pool, rng.integers(0, len(page_pool), n))
        props = pc.if_else(pa.array(pv), page, props)
        sr = kind == K["search"]
        sc = A.row_choice(rng, pop.category_cdf, ec)
        term = term_start[sc] + rng.integers(0, term_count[sc])
        props = pc.if_else(pa.array(sr), A.take(search_pool, term), props)
        parts.add(
            ec,
            ev_x,
            kind,
            channel[s_idx],
            session=session_counter + s_idx,
            product=product,
            dwell=dwell,
            props=props,
        )
        session_counter += len(cust)

    # sessions before own-channel orders
    o_chan = chan_names[orders.channel]
    tracked = np.isin(o_chan, data.OWN_CHANNELS) & (rng.random(orders.size) < p.order_session_share)
    oi = np.flatnonzero(tracked)
    if len(oi):
        m = len(oi)
        ch = np.array([CH[c] for c in o_chan[oi]])
        slots = [
            (K["app_open"], (ch == CH["app"]).astype(np.int64)),
            (K["login"], (rng.random(m) < 0.3).astype(np.int64)),
            (K["page_view"], rng.poisson(1.0, m)),
            (K["search"], (rng.random(m) < 0.3).astype(np.int64)),
            (K["product_view"], 1 + rng.poisson(1.0, m)),
            (K["add_to_cart"], np.ones(m, np.int64)),
            (K["checkout"], np.ones(m, np.int64)),
        ]
        add_sessions(orders.customer[oi], orders.x[oi], ch, slots, True, oi)

    # browsing sessions
    rate = p.browse_sessions_per_month / MONTH * pop.engagement
    bc, bx = thinned_times(ctx, rng, pop, rate)
    if len(bc):
        m = len(bc)
        bx = np.minimum(ctx.clock.at_time_of_day(rng, bx), np.nextafter(days, 0))
        bx = np.maximum(bx, pop.created[bc])
        home = np.array([CH.get(c, -1) for c in chan_names])[pop.home_channel[bc]]
        ch = np.where(
            np.isin(home, own) & (rng.random(m) < 0.7), home, own[rng.integers(0, len(own), m)]
        )
        views = rng.poisson(1.2, m)
        slots = [
            (K["app_open"], (ch == CH["app"]).astype(np.int64)),
            (K["login"], (rng.random(m) < 0.2).astype(np.int64)),
            (K["page_view"], 1 + rng.poisson(1.0, m)),
            (K["search"], (rng.random(m) < 0.35).astype(np.int64)),
            (K["product_view"], views),
            (K["add_to_cart"], ((views > 0) & (rng.random(m) < 0.4)).astype(np.int64)),
        ]
        add_sessions(bc, bx, ch, slots, False, None)

    # campaign responses
    s = ctx.schedule
    d_chan = np.array(s.channel)[deliveries.campaign]
    for chan, kind_open, kind_click, ev_chan in (
        ("email", "email_open", "email_click", "email"),
        ("sms", None, "sms_click", "sms"),
        ("wechat", None, "page_view", "wechat"),
        ("app_push", None, "page_view", "app"),
    ):
        sel = d_chan == chan
        for kind, times in ((kind_open, deliveries.opened), (kind_click, deliveries.clicked)):
            if kind is None:
                continue
            i = np.flatnonzero(sel & ~np.isnan(times))
            dw = (
                np.round(rng.lognormal(np.log(30.0), 0.8, len(i)), 1)
                if kind == "page_view"
                else None
            )
            parts.add(
                deliveries.customer[i],
                times[i],
                K[kind],
                CH[ev_chan],
                campaign=deliveries.campaign[i],
                dwell=dw,
            )

    # social engagement: shares grow with satisfaction
    rate = (
        p.social_events_per_month / MONTH * np.sqrt(pop.engagement) * np.exp(0.4 * pop.satisfaction)
    )
    sc, sx = thinned_times(ctx, rng, pop, rate)
    w_share = 0.2 * np.exp(p.share_satisfaction_log * pop.satisfaction[sc])
    u = rng.random(len(sc)) * (0.8 + w_share)
    social_kind = np.where(
        u < 0.55, K["social_like"], np.where(u < 0.8, K["social_comment"], K["social_share"])
    )
    parts.add(
        sc,
        ctx.clock.at_time_of_day(rng, sx).clip(pop.created[sc], np.nextafter(days, 0)),
        social_kind,
        CH[data.SOCIAL_CHANNEL],
    )

    # reviews of completed orders
    oc = orders.customer
    p_rev = p.review_share * np.exp(0.3 * pop.satisfaction[oc])
    rv = np.flatnonzero((orders.status == COMPLETED) & (rng.random(orders.size) < p_rev))
    rx = orders.x[rv] + 3.0 + rng.exponential(5.0, len(rv))
    rv, rx = rv[rx < days], rx[rx < days]
    z = pop.satisfaction_at(oc[rv], rx, p.drift_satisfaction_drop, p.drift_ramp_days)
    rating = A.ordinal(
        0.8 * z + 0.6 * rng.standard_normal(len(rv)), (0.03, 0.04, 0.1, 0.28, 0.55), 1
    )
    props = A.concat(
        '{"rating": ',
        A.int_text(rating),
        ', "order": "',
        orders.external_id.take(pa.array(rv)),
        '"}',
    )
    rch = np.array([CH[c] for c in chan_names])[orders.channel[rv]]
    parts.add(oc[rv], rx, K["review"], rch, product=orders.first_product[rv], props=props)

    # offline events (member salons, launches)
    retail = chan_names[pop.home_channel] == "retail_store"
    rate = p.event_attend_per_month / MONTH * pop.engagement * (1 + 2 * (retail | pop.diamond))
    ec, ex = thinned_times(ctx, rng, pop, rate)
    names = A.pool([json.dumps({"event": e}, ensure_ascii=False) for e in data.EVENT_NAMES])
    ex = np.floor(ex) + 0.75  # evening events, 18:00
    ok = (ex >= pop.created[ec]) & (ex < days)
    parts.add(
        ec[ok],
        ex[ok],
        K["event_attend"],
        CH["event"],
        props=A.take(names, rng.integers(0, len(data.EVENT_NAMES), int(ok.sum()))),
    )

    cust = np.concatenate(parts.cust)
    x = np.concatenate(parts.x)
    order = A.sort_by(cust, x)
    session = np.concatenate(parts.session)[order]
    product = np.concatenate(parts.product)[order]
    campaign = np.concatenate(parts.campaign)[order]
    n = len(order)
    cols = {
        "external_id": A.numbered("EV", counter + 1 + np.arange(n), 12),
        "customer_external_id": pop.external_id.take(pa.array(cust[order])),
        "kind": A.take(A.pool(KINDS), np.concatenate(parts.kind)[order]),
        "occurred_at": A.timestamps(ctx.window.utc_seconds(x[order])),
        "session_id": _session_ids(session),
        "channel": A.take(A.pool(CHANNELS), np.concatenate(parts.channel)[order]),
        "product_sku": A.take(A.pool(cat.sku), np.maximum(product, 0), product < 0),
        "campaign_external_id": A.take(
            A.pool(s.external_id) if s.size else A.pool([""]), np.maximum(campaign, 0), campaign < 0
        ),
        "dwell_seconds": A.floats(np.concatenate(parts.dwell)[order]),
        "properties": pa.concat_arrays(parts.props).take(pa.array(order)),
    }
    return cols, session_counter


def _session_ids(session: np.ndarray) -> pa.Array:
    ids = A.numbered("S", np.maximum(session, 0) + 1, 10)
    return pc.if_else(pa.array(session < 0), pa.nulls(len(ids), pa.string()), ids)
