"""Leads (converted and not) and referrals of one block."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from rapport.sample import arrays as A
from rapport.sample.context import Context
from rapport.sample.locales import shares
from rapport.sample.population import Population, contact_details, person_names

#: Contact keys of unconverted leads start here, disjoint from customer numbers.
LEAD_KEY_OFFSET = {"zh_CN": 50_000_000, "en_US": 4_000_000}
REFERRAL_CHANNELS = {
    "zh_CN": {"wechat": 0.65, "sms": 0.1, "douyin": 0.15, "email": 0.1},
    "en_US": {"social": 0.4, "email": 0.3, "sms": 0.2, "app": 0.1},
}


@dataclass
class Referrals:
    referrer: np.ndarray  # customer index
    converted: np.ndarray  # bool
    converted_at: np.ndarray  # local days, NaN if not converted


def pick_referrers(
    ctx: Context, rng: np.random.Generator, pop: Population, at: np.ndarray
) -> np.ndarray:
    """A referrer per referral time: a customer created before ``at``, chosen with weight
    ``exp(k z) * sqrt(engagement)``, retried when inactive at ``at``. -1 if none exists."""
    p = ctx.params
    order = np.argsort(pop.created, kind="stable")
    created = pop.created[order]
    weight = np.exp(p.referral_satisfaction_log * pop.satisfaction) * np.sqrt(pop.engagement)
    cum = np.cumsum(weight[order])
    eligible = np.searchsorted(created, at, side="left")
    out = np.full(len(at), -1, dtype=np.int64)
    todo = np.flatnonzero(eligible > 0)
    for _ in range(6):
        if len(todo) == 0:
            break
        u = rng.random(len(todo)) * cum[eligible[todo] - 1]
        pos = np.minimum(np.searchsorted(cum, u, side="right"), eligible[todo] - 1)
        cand = order[pos]
        act = pop.activity_at(cand, at[todo], p.after_dropout_activity, p.drift_decay_days)
        ok = rng.random(len(todo)) < act
        out[todo[ok]] = cand[ok]
        todo = todo[~ok]
    if len(todo):  # accept the last candidates rather than dropping the referral
        u = rng.random(len(todo)) * cum[eligible[todo] - 1]
        pos = np.minimum(np.searchsorted(cum, u, side="right"), eligible[todo] - 1)
        out[todo] = order[pos]
    return out


def simulate_leads(
    ctx: Context,
    rng: np.random.Generator,
    pop: Population,
    customers: dict,
    lead_counter: int,
    referral_counter: int,
) -> tuple[dict, dict, Referrals]:
    """Leads and referrals; returns their columns and the referrals for the loyalty ledger."""
    p = ctx.params
    loc = ctx.locale
    days = ctx.days
    n = pop.n
    src = np.array(ctx.source_channels)[pop.source]
    share = np.array([p.lead_share_by_source.get(s, p.lead_share_other) for s in src])
    conv = np.flatnonzero((rng.random(n) < share) | (src == "referral"))
    n_conv = len(conv)
    lead_created = np.maximum(
        pop.created[conv] - rng.exponential(p.lead_days_before_conversion, n_conv), 0.0
    )
    lead_created = np.minimum(lead_created, pop.created[conv])

    n_open = round(n_conv * (1 - p.lead_conversion_rate) / p.lead_conversion_rate)
    lsrc_names, lsrc_p = shares(loc.data.LEAD_SOURCES)
    open_src = A.choice(rng, lsrc_p, n_open)
    open_created = ctx.clock.acquisition_days(rng, n_open, p.acquisition_growth)
    open_created = open_created + ctx.clock.time_of_day(rng, n_open)
    age = days - open_created
    u = rng.random(n_open)
    status = np.where(
        age < 30, np.where(u < 0.6, "new", "qualified"), np.where(u < 0.7, "lost", "qualified")
    )
    status = np.where((age >= 30) & (u >= 0.85), "new", status)

    numbers = lead_counter + 1 + np.arange(n_conv + n_open)
    key = LEAD_KEY_OFFSET[loc.name] + numbers[n_conv:]
    o_email, o_phone, _ = contact_details(ctx, rng, key)
    o_name = person_names(ctx, rng, A.choice(rng, [0.6, 0.4], n_open))
    conv_idx = pa.array(conv)
    company_mask = rng.random(n_conv + n_open) >= 0.15
    company = A.take(loc.companies, rng.integers(0, len(loc.companies), n_conv + n_open))
    owner = np.concatenate(
        [pop.owner[conv], ctx.sales_staff[rng.integers(0, len(ctx.sales_staff), n_open)]]
    )
    owner = np.where(
        owner < 0, ctx.sales_staff[rng.integers(0, len(ctx.sales_staff), len(owner))], owner
    )
    w = ctx.window
    conv_src = np.where(np.isin(src[conv], lsrc_names), src[conv], "other")
    leads = {
        "external_id": A.numbered("L", numbers, 8),
        "name": pa.concat_arrays([customers["name"].take(conv_idx), o_name]),
        "email": pa.concat_arrays([customers["email"].take(conv_idx), o_email]),
        "phone": pa.concat_arrays([customers["phone"].take(conv_idx), o_phone]),
        "company": A.take(company, np.arange(n_conv + n_open), company_mask),
        "source": pa.array(np.concatenate([conv_src, np.array(lsrc_names)[open_src]])),
        "status": pa.array(np.concatenate([np.full(n_conv, "converted"), status])),
        "owner_username": A.take(ctx.staff_username, owner),
        "converted_customer_external_id": pa.concat_arrays(
            [pop.external_id.take(conv_idx), pa.nulls(n_open, pa.string())]
        ),
        "converted_at": A.timestamps(
            np.concatenate([w.utc_seconds(pop.created[conv]), np.full(n_open, A.NULL_TS)])
        ),
        "created_at": A.timestamps(w.utc_seconds(np.concatenate([lead_created, open_created]))),
    }

    # referrals: every referral-sourced customer, and the unconverted referral leads
    ref_conv = np.flatnonzero(src[conv] == "referral")
    ref_open = np.flatnonzero(np.array(lsrc_names)[open_src] == "referral")
    at = np.concatenate([lead_created[ref_conv], open_created[ref_open]])
    referrer = pick_referrers(ctx, rng, pop, at)
    keep = referrer >= 0
    lead_pos = np.concatenate([ref_conv, n_conv + ref_open])[keep]
    is_conv = np.concatenate([np.ones(len(ref_conv), bool), np.zeros(len(ref_open), bool)])[keep]
    referred_cust = np.concatenate([conv[ref_conv], np.full(len(ref_open), -1)])[keep]
    conv_at = np.where(is_conv, pop.created[np.maximum(referred_cust, 0)], np.nan)
    at, referrer = at[keep], referrer[keep]
    m = len(at)
    ch_names, ch_p = shares(REFERRAL_CHANNELS[loc.name])
    referrals = {
        "external_id": A.numbered("RF", referral_counter + 1 + np.arange(m), 8),
        "referrer_external_id": pop.external_id.take(pa.array(referrer)),
        "referred_lead_external_id": leads["external_id"].take(pa.array(lead_pos)),
        "referred_customer_external_id": A.take(
            pop.external_id, np.maximum(referred_cust, 0), referred_cust < 0
        ),
        "referred_at": A.timestamps(w.utc_seconds(at)),
        "channel": A.take(A.pool(ch_names), A.choice(rng, ch_p, m)),
        "converted": A.bools(is_conv),
        "converted_at": A.timestamps(
            np.where(is_conv, w.utc_seconds(np.nan_to_num(conv_at)), A.NULL_TS)
        ),
    }
    return leads, referrals, Referrals(referrer, is_conv, conv_at)
