"""Interactions with staff: ticket contacts, after-sales follow-ups, sales outreach and
inbound chats."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from rapport.sample import arrays as A
from rapport.sample.behaviour import thinned_times
from rapport.sample.context import Context
from rapport.sample.population import Population
from rapport.sample.purchases import REFUNDED, Orders
from rapport.sample.service import Tickets

CHANNELS = ("phone", "email", "chat", "visit", "social", "after_sales")
PH, EM, CHAT, VISIT, SOCIAL, AFTER = range(6)
#: log-normal (median seconds, sigma) of a contact's duration; e-mail has none
DURATION = {
    PH: (240, 0.6),
    CHAT: (420, 0.7),
    VISIT: (1800, 0.5),
    SOCIAL: (300, 0.8),
    AFTER: (360, 0.6),
}
TICKET_TO_CHANNEL = {"phone": PH, "email": EM, "chat": CHAT, "wechat": CHAT, "app": CHAT}


def simulate_interactions(
    ctx: Context,
    rng: np.random.Generator,
    pop: Population,
    orders: Orders,
    tickets: Tickets,
    counter: int,
) -> dict:
    p = ctx.params
    data = ctx.locale.data
    days = ctx.days
    service = ctx.service_staff
    cust, x, chan, inbound, staff, subject, summary = [], [], [], [], [], [], []

    def add(c, t, ch, inb, st, subj, summ):
        cust.append(c)
        x.append(t)
        chan.append(np.broadcast_to(np.asarray(ch, np.int64), (len(c),)))
        inbound.append(np.broadcast_to(np.asarray(inb, bool), (len(c),)))
        staff.append(st)
        subject.append(subj)
        summary.append(summ)

    def templated(pairs, n):
        i = rng.integers(0, len(pairs), n)
        return A.take(A.pool([a for a, _ in pairs]), i), A.take(A.pool([b for _, b in pairs]), i)

    # the contact that opened each ticket
    tch = np.array([TICKET_TO_CHANNEL.get(c, CHAT) for c in tickets.channel], dtype=np.int64)
    add(
        tickets.customer,
        tickets.x,
        tch,
        True,
        tickets.assignee,
        tickets.subject,
        tickets.description,
    )

    # after-sales follow-up of refunds
    ref = np.flatnonzero((orders.status == REFUNDED) | (orders.refunded > 0))
    rx = orders.x[ref] + rng.uniform(1.0, 10.0, len(ref))
    ref, rx = ref[rx < days], rx[rx < days]
    s, m = templated(data.AFTER_SALES, len(ref))
    add(
        orders.customer[ref],
        rx,
        AFTER,
        False,
        service[rng.integers(0, len(service), len(ref))],
        s,
        m,
    )

    # outreach by the customer's owner
    owned = pop.owner >= 0
    rate = p.outbound_per_year / 365.25 * owned * (1 + 4 * pop.diamond) * pop.engagement**0.3
    oc, ox = thinned_times(ctx, rng, pop, rate)
    och = A.choice(rng, (0.4, 0.15, 0.1, 0.35), len(oc))
    och = np.array([PH, EM, VISIT, SOCIAL])[och]
    ox = np.floor(ox) + 0.375 + 0.375 * rng.random(len(ox))  # office hours 9:00-18:00
    ok = (ox >= pop.created[oc]) & (ox < days)
    oc, ox, och = oc[ok], ox[ok], och[ok]
    s, m = templated(data.OUTBOUND, len(oc))
    add(oc, ox, och, False, pop.owner[oc], s, m)

    # inbound chats that did not need a ticket
    rate = p.inbound_chat_per_year / 365.25 * pop.engagement
    ic, ix = thinned_times(ctx, rng, pop, rate)
    ix = np.clip(ctx.clock.at_time_of_day(rng, ix), pop.created[ic], np.nextafter(days, 0))
    s, m = templated(data.INBOUND, len(ic))
    add(ic, ix, CHAT, True, service[rng.integers(0, len(service), len(ic))], s, m)

    c = np.concatenate(cust)
    t = np.concatenate(x)
    ch = np.concatenate(chan)
    n = len(c)
    duration = np.full(n, np.nan)
    for code, (median, sigma) in DURATION.items():
        sel = ch == code
        duration[sel] = np.round(rng.lognormal(np.log(median), sigma, int(sel.sum())))
    order = A.sort_by(c, t)
    return {
        "external_id": A.numbered("IN", counter + 1 + np.arange(n), 10),
        "customer_external_id": pop.external_id.take(pa.array(c[order])),
        "channel": A.take(A.pool(CHANNELS), ch[order]),
        "direction": A.take(A.pool(("outbound", "inbound")), np.concatenate(inbound)[order]),
        "staff_username": A.take(ctx.staff_username, np.concatenate(staff)[order]),
        "occurred_at": A.timestamps(ctx.window.utc_seconds(t[order])),
        "duration_seconds": A.ints(duration[order], pa.int32()),
        "subject": pa.concat_arrays(subject).take(pa.array(order)),
        "summary": pa.concat_arrays(summary).take(pa.array(order)),
    }
