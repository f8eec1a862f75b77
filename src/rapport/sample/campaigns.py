"""Campaigns (one schedule for the company) and their deliveries to each block's customers.

Deliveries go to customers with marketing consent who have not opted out, created before
the campaign starts. A holdout share gets nothing (no ``sent_at``). A delivery converts
when the customer orders within ``conversion_window_days`` of the (would-be) send time;
treated customers also place extra, campaign-caused orders with a probability that grows
with clicking, so conversion is higher in the treated group than in the holdout (uplift).
"""

from __future__ import annotations

import calendar as _cal
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pyarrow as pa

from rapport.sample import arrays as A
from rapport.sample.calendar import CHINESE_NEW_YEAR
from rapport.sample.context import Context
from rapport.sample.population import Population

TARGET_SHARE = {
    "promotion": 0.5,
    "loyalty": 0.3,
    "new_arrivals": 0.25,
    "upsell": 0.2,
    "win_back": 0.7,
    "nps_survey": 0.3,
}
HOLDOUT_SHARE = {"promotion": 0.05, "win_back": 0.2, "nps_survey": 0.0}
DELIVERY_RATE = {"email": 0.96, "sms": 0.98, "wechat": 0.99, "app_push": 0.9}
OPEN_RATE = {"email": 0.22, "wechat": 0.35, "app_push": 0.12, "sms": 0.0}  # sms: no opens
SMS_CLICK_RATE = 0.06
LAPSED_DAYS = 90.0


@dataclass
class CampaignSchedule:
    external_id: list[str]
    name: list[str]
    channel: list[str]
    objective: list[str]
    start: np.ndarray  # local days
    end: np.ndarray
    budget_cents: np.ndarray
    holdout_share: np.ndarray
    target_share: np.ndarray

    @property
    def size(self) -> int:
        return len(self.external_id)


def build_schedule(ctx: Context, rng: np.random.Generator) -> CampaignSchedule:
    """Monthly member/new-arrival/upsell campaigns, the locale's seasonal promotions,
    quarterly win-back and NPS survey campaigns, all inside the window."""
    data = ctx.locale.data
    w = ctx.window
    rows: list[tuple[str, str, str, date, int]] = []
    y, m = w.start.year, w.start.month
    k = 0
    while date(y, m, 1) < w.end:
        fmt = {
            "year": y,
            "month": m,
            "month_name": _cal.month_name[m],
            "quarter": (m - 1) // 3 + 1,
        }
        chans = data.CAMPAIGN_CHANNELS
        tpl, obj = data.MONTHLY_CAMPAIGNS[k % len(data.MONTHLY_CAMPAIGNS)]
        day = int(rng.integers(8, 16))
        rows.append(
            (tpl.format(**fmt), obj, chans[int(rng.integers(0, len(chans)))], date(y, m, day), 7)
        )
        if m in data.SPECIAL_CAMPAIGNS:
            tpl, obj, day, length, options = data.SPECIAL_CAMPAIGNS[m]
            ch = options[int(rng.integers(0, len(options)))]
            rows.append((tpl.format(**fmt), obj, ch, date(y, m, day), length))
        cny = CHINESE_NEW_YEAR.get(y if m < 6 else y + 1)
        if data.CNY_CAMPAIGN and cny is not None:
            start = cny - timedelta(days=21)
            if (start.year, start.month) == (y, m):
                rows.append(
                    (
                        data.CNY_CAMPAIGN.format(year=cny.year),
                        "promotion",
                        "wechat" if "wechat" in chans else "sms",
                        start,
                        20,
                    )
                )
        if m % 3 == 1:
            rows.append(
                (
                    data.WIN_BACK.format(**fmt),
                    "win_back",
                    "sms" if k % 2 else "email",
                    date(y, m, 20),
                    10,
                )
            )
        if m % 3 == 0:
            rows.append(
                (
                    data.NPS_SURVEY.format(**fmt),
                    "nps_survey",
                    "wechat" if "wechat" in chans and k % 2 else "email",
                    date(y, m, 22),
                    7,
                )
            )
        k += 1
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    rows = [r for r in rows if w.start <= r[3] and r[3] + timedelta(days=r[4]) <= w.end]
    rows.sort(key=lambda r: (r[3], r[0]))
    n = len(rows)
    start_day = np.array([w.day_of(r[3]) for r in rows], dtype=np.float64)
    length = np.array([r[4] for r in rows], dtype=np.float64)
    objective = [r[1] for r in rows]
    big = np.array([o == "promotion" for o in objective])
    budget = np.where(big, rng.uniform(200_000, 500_000, n), rng.uniform(20_000, 80_000, n))
    if not ctx.locale.zh:
        budget = budget / 6.5
    return CampaignSchedule(
        external_id=[f"CP{i + 1:04d}" for i in range(n)],
        name=[r[0] for r in rows],
        channel=[r[2] for r in rows],
        objective=objective,
        start=start_day,
        end=start_day + length,
        budget_cents=(np.round(budget / 100.0) * 10_000).astype(np.int64),
        holdout_share=np.array([HOLDOUT_SHARE.get(o, ctx.params.holdout_share) for o in objective]),
        target_share=np.array([TARGET_SHARE[o] for o in objective]),
    )


def campaign_columns(ctx: Context) -> dict:
    s = ctx.schedule
    w = ctx.window
    return {
        "external_id": pa.array(s.external_id, pa.string()),
        "name": pa.array(s.name, pa.string()),
        "channel": pa.array(s.channel, pa.string()),
        "objective": pa.array(s.objective, pa.string()),
        "started_at": A.timestamps(w.utc_seconds(s.start)),
        "ended_at": A.timestamps(w.utc_seconds(s.end)),
        "budget": A.money(s.budget_cents),
        "holdout_share": pa.array(s.holdout_share, pa.float64()),
    }


@dataclass
class Deliveries:
    campaign: np.ndarray
    customer: np.ndarray
    holdout: np.ndarray
    sent: np.ndarray  # local days, NaN = not sent (holdout)
    delivered: np.ndarray
    opened: np.ndarray
    clicked: np.ndarray
    converted: np.ndarray
    order: np.ndarray  # index into the organic orders, or -1
    incremental: np.ndarray  # delivery positions that caused an extra order
    incremental_time: np.ndarray

    @property
    def size(self) -> int:
        return len(self.campaign)


def _first_at_or_after(keys: np.ndarray, span: float, cust: np.ndarray, t: np.ndarray):
    """Index of each customer's first order at or after ``t`` (or -1) in sorted ``keys``."""
    pos = np.searchsorted(keys, cust * span + t, side="left")
    ok = pos < len(keys)
    ok[ok] = (keys[pos[ok]] // span).astype(np.int64) == cust[ok]
    return np.where(ok, pos, -1)


def simulate_deliveries(
    ctx: Context,
    rng: np.random.Generator,
    pop: Population,
    order_cust: np.ndarray,
    order_x: np.ndarray,
) -> Deliveries:
    """Deliveries of every campaign to the block; ``order_*`` are the organic orders sorted
    by customer then time."""
    p = ctx.params
    s = ctx.schedule
    span = float(ctx.days + 10)
    keys = order_cust * span + order_x
    reachable = pop.reachable
    camp_parts, cust_parts = [], []
    for c in range(s.size):
        ok = reachable & (pop.created < s.start[c])
        if s.objective[c] == "win_back":
            idx = np.flatnonzero(ok)
            # each candidate's last order before the start
            pos = np.searchsorted(keys, idx * span + s.start[c], side="left") - 1
            had = pos >= 0
            had[had] = (keys[pos[had]] // span).astype(np.int64) == idx[had]
            lapsed = had.copy()
            lapsed[had] = order_x[pos[had]] < s.start[c] - LAPSED_DAYS
            ok = np.zeros(pop.n, dtype=bool)
            ok[idx[lapsed]] = True
        chosen = np.flatnonzero(ok & (rng.random(pop.n) < s.target_share[c]))
        camp_parts.append(np.full(len(chosen), c, dtype=np.int64))
        cust_parts.append(chosen)
    camp = np.concatenate(camp_parts) if camp_parts else np.zeros(0, np.int64)
    cust = np.concatenate(cust_parts) if cust_parts else np.zeros(0, np.int64)
    n = len(camp)
    chan = np.array(s.channel)[camp]
    holdout = rng.random(n) < s.holdout_share[camp]
    ref = s.start[camp] + 0.375 + 0.5 * rng.random(n)  # (would-be) send time, 9:00-21:00
    act = pop.activity_at(cust, ref, p.after_dropout_activity, p.drift_decay_days)
    log_e = np.log(pop.engagement[cust]) + np.log(np.maximum(act, 1e-9))
    nan = np.full(n, np.nan)
    sent = np.where(holdout, np.nan, ref)
    dr = np.array([DELIVERY_RATE[x] for x in s.channel])[camp]
    is_del = ~holdout & (rng.random(n) < dr)
    delivered = np.where(is_del, sent + rng.exponential(2 / 1440, n), nan)
    base_open = np.array([OPEN_RATE[x] for x in s.channel])[camp]
    p_open = A.sigmoid(A.logit(np.clip(base_open, 1e-6, 1)) + p.open_logit_engagement * log_e)
    is_open = is_del & (base_open > 0) & (rng.random(n) < p_open)
    opened = np.where(is_open, delivered + rng.exponential(0.25, n), nan)
    p_click = A.sigmoid(A.logit(p.click_given_open) + 0.7 * log_e)
    p_sms = A.sigmoid(A.logit(SMS_CLICK_RATE) + 0.7 * log_e)
    is_click = np.where(
        chan == "sms", is_del & (rng.random(n) < p_sms), is_open & (rng.random(n) < p_click)
    )
    clicked = np.where(
        is_click,
        np.where(chan == "sms", delivered + rng.exponential(1 / 24, n), opened)
        + rng.exponential(10 / 1440, n),
        nan,
    )
    days = ctx.days
    for t in (opened, clicked):
        t[t >= days] = np.nan
    is_click &= ~np.isnan(clicked)

    window = p.conversion_window_days
    first = _first_at_or_after(keys, span, cust, ref)
    organic = first >= 0
    organic[organic] = order_x[first[organic]] < ref[organic] + window
    order = np.where(organic, first, -1)
    converted = np.where(organic, order_x[np.maximum(first, 0)], np.nan)

    objective = np.array(s.objective)[camp]
    p_inc = (p.uplift_base + p.uplift_click * is_click) * act
    inc = is_del & ~organic & (objective != "nps_survey") & ~pop.never_buy[cust]
    inc &= rng.random(n) < p_inc
    trigger = np.where(is_click, clicked, np.where(is_open, opened, delivered))
    inc_time = trigger + rng.exponential(0.1, n)
    inc &= (inc_time < days) & (inc_time < ref + window)
    incremental = np.flatnonzero(inc)
    converted[incremental] = inc_time[incremental]
    return Deliveries(
        campaign=camp,
        customer=cust,
        holdout=holdout,
        sent=sent,
        delivered=delivered,
        opened=opened,
        clicked=clicked,
        converted=converted,
        order=order,
        incremental=incremental,
        incremental_time=inc_time[incremental],
    )


def delivery_columns(
    ctx: Context, pop: Population, d: Deliveries, order_ids: pa.Array, counter: int
) -> dict:
    """Columns of ``campaign_deliveries``; ``order_ids`` maps ``d.order`` to external ids."""
    w = ctx.window
    s = ctx.schedule

    def ts(x: np.ndarray) -> pa.Array:
        return A.timestamps(np.where(np.isnan(x), A.NULL_TS, w.utc_seconds(x)))

    return {
        "external_id": A.numbered("CD", counter + 1 + np.arange(d.size), 10),
        "campaign_external_id": A.take(A.pool(s.external_id), d.campaign),
        "customer_external_id": pop.external_id.take(pa.array(d.customer)),
        "holdout": A.bools(d.holdout),
        "sent_at": ts(d.sent),
        "delivered_at": ts(d.delivered),
        "opened_at": ts(d.opened),
        "clicked_at": ts(d.clicked),
        "converted_at": ts(d.converted),
        "order_external_id": A.take(order_ids, np.maximum(d.order, 0), d.order < 0),
    }
