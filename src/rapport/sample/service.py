"""Service tickets and survey responses, both driven by latent satisfaction."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from rapport.domain import TicketKind
from rapport.sample import arrays as A
from rapport.sample.campaigns import Deliveries
from rapport.sample.context import Context
from rapport.sample.locales import shares
from rapport.sample.params import FIRST_RESPONSE_HOURS, RESOLUTION_HOURS
from rapport.sample.population import Population
from rapport.sample.purchases import COMPLETED, Orders

TICKET_KINDS = [k.value for k in TicketKind]
PRIORITIES = ("low", "normal", "high", "urgent")
PRIORITY_BY_KIND = {
    "complaint": (0.10, 0.45, 0.35, 0.10),
    "inquiry": (0.40, 0.50, 0.10, 0.0),
    "suggestion": (0.70, 0.30, 0.0, 0.0),
    "praise": (0.90, 0.10, 0.0, 0.0),
    "service_request": (0.20, 0.60, 0.15, 0.05),
}
ENGAGEMENT_LOG = {"inquiry": 0.3, "suggestion": 0.3, "service_request": 0.3}
TICKET_STATUSES = ("open", "in_progress", "waiting_customer", "resolved", "closed")


@dataclass
class Tickets:
    customer: np.ndarray
    kind: np.ndarray
    x: np.ndarray
    resolved: np.ndarray  # NaN when not (yet) resolved
    rating: np.ndarray  # NaN when not rated
    channel: list[str]
    assignee: np.ndarray
    subject: pa.Array
    description: pa.Array
    external_id: pa.Array

    @property
    def size(self) -> int:
        return len(self.customer)


def simulate_tickets(
    ctx: Context, rng: np.random.Generator, pop: Population, counter: int
) -> tuple[dict, Tickets]:
    p = ctx.params
    data = ctx.locale.data
    days = ctx.days
    drop = p.drift_satisfaction_drop
    parts_c, parts_k, parts_x = [], [], []
    for k, name in enumerate(TICKET_KINDS):
        beta = p.ticket_satisfaction_log[name]
        # the customer's highest rate over time, for thinning
        z_ref = pop.satisfaction - (drop * pop.drifting if beta < 0 else 0.0)
        rate = (
            p.ticket_rates_per_year[name]
            / 365.25
            * np.exp(beta * z_ref)
            * pop.engagement ** ENGAGEMENT_LOG.get(name, 0.0)
        )
        span = days - pop.created
        owner, x = A.uniform_points(rng, pop.created, pop.created + span, rng.poisson(rate * span))
        z_t = pop.satisfaction_at(owner, x, drop, p.drift_ramp_days)
        act = pop.activity_at(owner, x, p.after_dropout_activity, p.drift_decay_days)
        keep = rng.random(len(x)) < act * np.exp(beta * (z_t - z_ref[owner]))
        parts_c.append(owner[keep])
        parts_x.append(x[keep])
        parts_k.append(np.full(int(keep.sum()), k))
    cust = np.concatenate(parts_c)
    kind = np.concatenate(parts_k)
    x = ctx.clock.at_time_of_day(rng, np.concatenate(parts_x))
    x = np.clip(x, pop.created[cust], np.nextafter(days, 0))
    order = A.sort_by(x)
    cust, kind, x = cust[order], kind[order], x[order]
    n = len(cust)

    prio = np.empty(n, dtype=np.int64)
    for k, name in enumerate(TICKET_KINDS):
        sel = kind == k
        prio[sel] = A.choice(rng, PRIORITY_BY_KIND[name], int(sel.sum()))
    fr_target = np.array([FIRST_RESPONSE_HOURS[q] for q in PRIORITIES])[prio]
    rs_target = np.array([RESOLUTION_HOURS[q] for q in PRIORITIES])[prio]
    fr_h = rng.lognormal(np.log(fr_target * p.first_response_target_share), p.first_response_sigma)
    rs_h = fr_h + rng.lognormal(np.log(rs_target * p.resolution_target_share), p.resolution_sigma)
    first = x + fr_h / 24.0
    resolved = x + rs_h / 24.0
    closed = resolved + rng.uniform(0.0, 3.0, n)
    will_close = rng.random(n) < p.closed_share
    status = np.where(will_close, 4, 3)
    waiting = rng.random(n) < 0.3
    status = np.where(resolved >= days, np.where(waiting, 2, 1), status)
    status = np.where(first >= days, 0, status)
    first = np.where(first < days, first, np.nan)
    resolved = np.where(resolved < days, resolved, np.nan)
    closed = np.where(will_close & (closed < days) & ~np.isnan(resolved), closed, np.nan)
    status = np.where((status == 4) & np.isnan(closed), 3, status)

    breach = (fr_h > fr_target) | (rs_h > rs_target)
    z_t = pop.satisfaction_at(cust, x, p.drift_satisfaction_drop, p.drift_ramp_days)
    latent = (0.7 * z_t - 0.9 * breach + 0.7 * rng.standard_normal(n)) / 1.05
    rated = ~np.isnan(resolved) & (rng.random(n) < p.rating_share)
    rating = np.where(rated, A.ordinal(latent, p.rating_probs, 1), np.nan)

    ch_names, ch_p = shares(data.TICKET_CHANNELS)
    channel = A.choice(rng, ch_p, n)
    templates = [data.TICKETS[name] for name in TICKET_KINDS]
    flat = [t for ts in templates for t in ts]
    t_count = np.array([len(ts) for ts in templates])
    t_idx = A.starts(t_count)[kind] + rng.integers(0, t_count[kind])
    assignee = ctx.service_staff[rng.integers(0, len(ctx.service_staff), n)]
    w = ctx.window

    def ts(v: np.ndarray) -> pa.Array:
        return A.timestamps(np.where(np.isnan(v), A.NULL_TS, w.utc_seconds(v)))

    t = Tickets(
        customer=cust,
        kind=kind,
        x=x,
        resolved=resolved,
        rating=rating,
        channel=list(np.array(ch_names)[channel]),
        assignee=assignee,
        subject=A.take(A.pool([s for s, _ in flat]), t_idx),
        description=A.take(A.pool([d for _, d in flat]), t_idx),
        external_id=A.numbered("TK", counter + 1 + np.arange(n), 8),
    )
    cols = {
        "external_id": t.external_id,
        "customer_external_id": pop.external_id.take(pa.array(cust)),
        "kind": A.take(A.pool(TICKET_KINDS), kind),
        "channel": A.take(A.pool(ch_names), channel),
        "priority": A.take(A.pool(PRIORITIES), prio),
        "status": A.take(A.pool(TICKET_STATUSES), status),
        "subject": t.subject,
        "description": t.description,
        "assignee_username": A.take(ctx.staff_username, assignee),
        "opened_at": ts(x),
        "first_response_at": ts(first),
        "resolved_at": ts(resolved),
        "closed_at": ts(closed),
        "satisfaction_rating": A.ints(rating, pa.int32()),
    }
    return cols, t


SURVEY_SCALES = {  # kind: (scale_min, scale_max, probability attribute)
    "csat": (1, 5, "csat_probs"),
    "nps": (0, 10, "nps_probs"),
    "perceived_value": (1, 7, "perceived_value_probs"),
    "expectation": (1, 7, "expectation_probs"),
}
SURVEY_KINDS = list(SURVEY_SCALES)


def simulate_surveys(
    ctx: Context,
    rng: np.random.Generator,
    pop: Population,
    orders: Orders,
    tickets: Tickets,
    deliveries: Deliveries,
    counter: int,
) -> dict:
    p = ctx.params
    data = ctx.locale.data
    days = ctx.days
    # post-purchase surveys of responding buyers, after a random completed order
    done = np.flatnonzero(orders.status == COMPLETED)
    dc = orders.customer[done]
    by_cust = done[np.argsort(dc, kind="stable")]
    count = np.bincount(dc, minlength=pop.n)
    first = A.starts(count)
    responder = (count > 0) & (
        rng.random(pop.n) < np.minimum(0.95, p.survey_share * np.sqrt(pop.engagement))
    )
    r = np.flatnonzero(responder)
    occ = 1 + rng.poisson(p.survey_extra_occasions, len(r))
    oc = np.repeat(r, occ)
    pick = by_cust[first[oc] + rng.integers(0, count[oc])]
    ox = orders.x[pick] + 1.0 + rng.exponential(3.0, len(oc))
    ok = ox < days
    oc, ox = oc[ok], ox[ok]
    s_names, s_p = shares(data.SURVEY_CHANNELS)
    o_chan = np.array(s_names)[A.choice(rng, s_p, len(oc))]
    cust, x, kind, chan = [], [], [], []
    for k, share in ((0, 1.0), (1, 0.8), (2, 0.5), (3, 0.5)):
        sel = rng.random(len(oc)) < share
        cust.append(oc[sel])
        x.append(np.minimum(ox[sel] + 0.001 * k, np.nextafter(days, 0)))
        kind.append(np.full(int(sel.sum()), k))
        chan.append(o_chan[sel])
    n_post = sum(len(c) for c in cust)
    # csat recorded for some rated tickets
    tr = np.flatnonzero(
        ~np.isnan(tickets.rating) & (rng.random(tickets.size) < p.ticket_survey_share)
    )
    tx = tickets.resolved[tr] + rng.exponential(1.0, len(tr))
    tr, tx = tr[tx < days], tx[tx < days]
    cust.append(tickets.customer[tr])
    x.append(tx)
    kind.append(np.zeros(len(tr), np.int64))
    chan.append(
        np.array(tickets.channel, dtype=object)[tr].astype(str) if len(tr) else np.array([], str)
    )
    # nps answers to survey campaigns
    s = ctx.schedule
    is_survey = np.array([*s.objective, ""])[deliveries.campaign] == "nps_survey"
    ci = np.flatnonzero(
        is_survey
        & ~np.isnan(deliveries.opened)
        & (rng.random(deliveries.size) < p.campaign_survey_response)
    )
    cx = deliveries.opened[ci] + rng.exponential(20 / 1440, len(ci))
    ci, cx = ci[cx < days], cx[cx < days]
    cust.append(deliveries.customer[ci])
    x.append(cx)
    kind.append(np.ones(len(ci), np.int64))
    chan.append(np.array([*s.channel, ""])[deliveries.campaign[ci]])

    cust_a = np.concatenate(cust)
    x_a = np.concatenate(x)
    kind_a = np.concatenate(kind)
    chan_a = np.concatenate(chan)
    n = len(cust_a)
    z = pop.satisfaction_at(cust_a, x_a, p.drift_satisfaction_drop, p.drift_ramp_days)
    noise = rng.standard_normal(n)
    sat_latent = (p.survey_loading * z + p.survey_noise * noise) / np.hypot(
        p.survey_loading, p.survey_noise
    )
    exp_latent = p.expectation_loading * z + np.sqrt(1 - p.expectation_loading**2) * noise
    score = np.empty(n, dtype=np.float64)
    lo_a, hi_a = np.empty(n), np.empty(n)
    for k, name in enumerate(SURVEY_KINDS):
        sel = kind_a == k
        lo, hi, attr = SURVEY_SCALES[name]
        lat = exp_latent[sel] if name == "expectation" else sat_latent[sel]
        score[sel] = A.ordinal(lat, getattr(p, attr), lo)
        lo_a[sel], hi_a[sel] = lo, hi
    n_ticket = len(tr)
    tsel = slice(n_post, n_post + n_ticket)
    score[tsel] = tickets.rating[tr]
    norm = (score - lo_a) / (hi_a - lo_a)
    has_comment = (kind_a <= 1) & (rng.random(n) < p.comment_share)
    tone = np.where(norm < 0.4, 0, np.where(norm < 0.7, 1, 2))
    comments = [data.COMMENTS[t] for t in ("negative", "neutral", "positive")]
    c_count = np.array([len(c) for c in comments])
    c_idx = A.starts(c_count)[tone] + rng.integers(0, c_count[tone])
    flat = A.pool([c for cs in comments for c in cs])
    ticket_ref = np.full(n, -1)
    ticket_ref[tsel] = tr
    camp_ref = np.full(n, -1)
    camp_ref[n_post + n_ticket :] = deliveries.campaign[ci]
    order = A.sort_by(cust_a, x_a)
    w = ctx.window
    return {
        "external_id": A.numbered("SR", counter + 1 + np.arange(n), 10),
        "customer_external_id": pop.external_id.take(pa.array(cust_a[order])),
        "kind": A.take(A.pool(SURVEY_KINDS), kind_a[order]),
        "score": pa.array(score[order], pa.float64()),
        "scale_min": pa.array(lo_a[order], pa.float64()),
        "scale_max": pa.array(hi_a[order], pa.float64()),
        "comment": A.take(flat, c_idx[order], ~has_comment[order]),
        "channel": pa.array(chan_a[order].astype(str), pa.string()),
        "responded_at": A.timestamps(w.utc_seconds(x_a[order])),
        "ticket_external_id": A.take(
            tickets.external_id if tickets.size else A.pool([""]),
            np.maximum(ticket_ref[order], 0),
            ticket_ref[order] < 0,
        ),
        "campaign_external_id": A.take(
            A.pool(s.external_id) if s.size else A.pool([""]),
            np.maximum(camp_ref[order], 0),
            camp_ref[order] < 0,
        ),
    }
