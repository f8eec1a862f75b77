"""Customers: profile attributes and the latent truths that drive their behaviour."""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from rapport.sample import arrays as A
from rapport.sample.context import Context
from rapport.sample.locales import shares

GENDERS = ("female", "male", "other", "unknown")
EPOCH_ORDINAL = 719163  # date(1970, 1, 1).toordinal()


def scramble(k: np.ndarray, modulus: int, a: int = 7_919, b: int = 1_234_567) -> np.ndarray:
    """A bijection of ``[0, modulus)`` (``a`` coprime with ``modulus``): unique, not sequential."""
    return (np.asarray(k, dtype=np.int64) * a + b) % modulus


@dataclass
class Population:
    """One block of customers; index ``i`` is a customer, times are local days."""

    number: np.ndarray  # global 1-based customer number
    external_id: pa.Array
    created: np.ndarray
    diamond: np.ndarray
    drifting: np.ndarray
    satisfaction: np.ndarray  # latent z, standard normal for ordinary customers
    engagement: np.ndarray  # multiplicative activity intensity, median ~1
    rate: np.ndarray  # purchases per day while active (lambda / 7)
    p_dropout: np.ndarray
    spend_nu: np.ndarray  # Gamma-Gamma scale: mean spend = spend_p / nu
    never_buy: np.ndarray
    drift_start: np.ndarray  # NaN unless drifting
    category_cdf: np.ndarray  # (n, categories) cumulative preferences
    top_category: np.ndarray
    home_channel: np.ndarray  # index into ctx.order_channels
    home_store: np.ndarray  # index into ctx.store_name
    city: np.ndarray
    tier: np.ndarray
    consent: np.ndarray
    opt_out: np.ndarray
    owner: np.ndarray  # index into staff or -1
    joined: np.ndarray  # loyalty programme join time, NaN if not a member
    birthday: np.ndarray  # days since epoch, -1 if unknown
    source: np.ndarray  # index into source channels
    dropout: np.ndarray  # latent dropout time (set by purchases), NaN = alive at end

    @property
    def n(self) -> int:
        return len(self.number)

    @property
    def reachable(self) -> np.ndarray:
        """Marketing consent given and not withdrawn."""
        return self.consent & ~self.opt_out

    def satisfaction_at(
        self, who: np.ndarray, x: np.ndarray, drop: float, ramp: float
    ) -> np.ndarray:
        """Latent satisfaction of customers ``who`` at times ``x`` (drifting ones decline)."""
        z = self.satisfaction[who]
        ds = self.drift_start[who]
        since = np.where(np.isnan(ds), 0.0, np.clip((x - np.nan_to_num(ds)) / ramp, 0.0, 1.0))
        return z - drop * since

    def activity_at(self, who: np.ndarray, x: np.ndarray, after: float, decay: float) -> np.ndarray:
        """Activity multiplier in [0, 1]: lower after latent dropout, decaying when drifting."""
        d = self.dropout[who]
        f = np.where(~np.isnan(d) & (x > np.nan_to_num(d, nan=np.inf)), after, 1.0)
        ds = self.drift_start[who]
        drift = np.where(
            ~np.isnan(ds) & (x > np.nan_to_num(ds, nan=np.inf)),
            np.exp(-(x - np.nan_to_num(ds)) / decay),
            1.0,
        )
        return f * drift


def simulate_population(ctx: Context, rng: np.random.Generator, first: int, n: int) -> Population:
    """Latent truths and profile indices of customers ``first .. first + n - 1`` (0-based)."""
    p = ctx.params
    days = ctx.days
    number = np.arange(first + 1, first + n + 1, dtype=np.int64)
    u = rng.random(n)
    diamond = u < p.diamond_share
    drifting = (u >= p.diamond_share) & (u < p.diamond_share + p.drifting_share)
    ordinary = ~diamond & ~drifting

    limit = np.where(diamond, p.diamond_created_before, 1.0)
    limit = np.where(drifting, p.drifting_created_before, limit)
    day = ctx.clock.acquisition_days(rng, n, p.acquisition_growth, limit)
    created = day + ctx.clock.time_of_day(rng, n)

    z = rng.standard_normal(n)
    z[diamond] = p.diamond_satisfaction_mean + p.diamond_satisfaction_sd * z[diamond]
    log_e = p.engagement_satisfaction_loading * z + p.engagement_sd * rng.standard_normal(n)
    engagement = np.exp(log_e - 0.5 * (p.engagement_satisfaction_loading**2 + p.engagement_sd**2))
    engagement[diamond] *= p.diamond_engagement_multiplier

    lam = rng.gamma(p.purchase_r, 1.0 / p.purchase_alpha, n) * np.exp(p.satisfaction_rate_log * z)
    lam[diamond] = rng.gamma(p.diamond_lambda_shape, p.diamond_lambda_scale, diamond.sum())
    lam[drifting] = rng.gamma(p.drifting_lambda_shape, p.drifting_lambda_scale, drifting.sum())
    p0 = np.clip(rng.beta(p.dropout_a, p.dropout_b, n), 1e-6, 1 - 1e-6)
    p_drop = A.sigmoid(A.logit(p0) + p.satisfaction_dropout_logit * z)
    p_drop[diamond] = rng.beta(1.0, p.diamond_dropout_b, diamond.sum())
    p_drop[drifting] = rng.beta(1.0, p.drifting_dropout_b, drifting.sum())
    nu = rng.gamma(p.spend_q, 1.0 / ctx.spend_gamma, n)
    nu[diamond] /= p.diamond_spend_multiplier
    never_buy = ordinary & (rng.random(n) < p.never_buy_share)
    lo, hi = p.drift_start_range
    drift_start = np.where(drifting, days * (1.0 - (lo + (hi - lo) * rng.random(n))), np.nan)

    cat = ctx.catalogue
    prefs = rng.dirichlet(cat.category_shares * 4.0, n)
    top_category = prefs.argmax(axis=1)
    category_cdf = np.cumsum(prefs, axis=1)

    loc = ctx.locale
    city = A.choice(rng, loc.city_weight, n)
    tier = loc.tier[city]
    src_names = ctx.source_channels
    source = A.choice(rng, ctx.source_channel_p, n)
    # usual order channel: the source if it is an order channel, else a random one
    src_to_order = np.array(
        [ctx.order_channels.index(s) if s in ctx.order_channels else -1 for s in src_names]
    )
    home = src_to_order[source]
    home = np.where(home < 0, A.choice(rng, ctx.order_channel_p, n), home)
    store = ctx.city_store[city]
    home_store = np.where(store >= 0, store, rng.integers(0, len(ctx.store_city), n))

    consent = rng.random(n) < p.marketing_consent_share
    opt_out = consent & (rng.random(n) < p.opt_out_share_of_consented)
    owned = diamond | (rng.random(n) < p.owned_share)
    owner = np.where(owned, ctx.sales_staff[rng.integers(0, len(ctx.sales_staff), n)], -1)
    join_p = p.loyalty_join_base + 0.25 * np.tanh(np.log(engagement)) + 0.3 * diamond
    joins = rng.random(n) < join_p
    delay = np.where(rng.random(n) < 0.5, 0.0, rng.exponential(30.0, n))
    joined = created + delay + 1e-4  # just after registering: never before it
    joined = np.where(joins & (joined < days), joined, np.nan)

    end_ord = ctx.end.toordinal() - EPOCH_ORDINAL
    age = np.clip(rng.normal(33.0, 10.0, n), 18.0, 75.0)
    birthday = (end_ord - age * 365.25).astype(np.int64)
    birthday[rng.random(n) < 0.08] = -1

    return Population(
        number=number,
        external_id=A.numbered("C", number, 8),
        created=created,
        diamond=diamond,
        drifting=drifting,
        satisfaction=z,
        engagement=engagement,
        rate=lam / 7.0,
        p_dropout=p_drop,
        spend_nu=nu,
        never_buy=never_buy,
        drift_start=drift_start,
        category_cdf=category_cdf,
        top_category=top_category,
        home_channel=home,
        home_store=home_store,
        city=city,
        tier=tier,
        consent=consent,
        opt_out=opt_out,
        owner=owner,
        joined=joined,
        birthday=birthday,
        source=source,
        dropout=np.full(n, np.nan),
    )


def person_names(ctx: Context, rng: np.random.Generator, gender: np.ndarray) -> pa.Array:
    loc = ctx.locale
    n = len(gender)
    female = (gender == 0) | ((gender >= 2) & (rng.random(n) < 0.6))
    f_idx = rng.integers(0, len(loc.female_first), n)
    m_idx = rng.integers(0, len(loc.male_first), n)
    first = A.take(loc.female_first, f_idx)
    male_first = A.take(loc.male_first, m_idx)
    import pyarrow.compute as pc

    first = pc.if_else(pa.array(female), first, male_first)
    last = A.take(loc.last_names, rng.integers(0, len(loc.last_names), n))
    return A.concat(last, first) if loc.zh else A.concat(first, " ", last)


def contact_details(
    ctx: Context, rng: np.random.Generator, key: np.ndarray
) -> tuple[pa.Array, pa.Array, pa.Array]:
    """Unique e-mail, E.164 mobile number and WeChat id derived from the unique ``key``."""
    loc = ctx.locale
    data = loc.data
    n = len(key)
    user = A.take(loc.usernames, rng.integers(0, len(loc.usernames), n))
    domains, dom_p = zip(*data.EMAIL_DOMAINS, strict=True)
    domain = A.take(A.pool(domains), A.choice(rng, dom_p, n))
    email_mask = rng.random(n) >= data.EMAIL_SHARE
    email = A.concat(user, ".", A.int_text(scramble(key, 10**8, 104_729, 7)), "@", domain)
    email = _null_where(email, email_mask)
    if loc.zh:
        prefix = A.take(A.pool(data.MOBILE_PREFIXES), rng.integers(0, len(data.MOBILE_PREFIXES), n))
        digits = A.numbered("", scramble(key, 10**8), 8)
        phone = A.concat("+86", prefix, digits)
        phone_mask = rng.random(n) < 0.03
    else:
        area = A.take(A.pool(data.AREA_CODES), rng.integers(0, len(data.AREA_CODES), n))
        digits = A.int_text(2_000_000 + scramble(key, 8 * 10**6))
        phone = A.concat("+1", area, digits)
        phone_mask = rng.random(n) < 0.2
    phone = _null_where(phone, phone_mask)
    wechat = A.concat("wxid_", A.numbered("", scramble(key, 10**10, 1_000_003, 99), 10))
    wechat = _null_where(wechat, rng.random(n) >= data.WECHAT_SHARE)
    return email, phone, wechat


def _null_where(arr: pa.Array, mask: np.ndarray) -> pa.Array:
    import pyarrow.compute as pc

    return pc.if_else(pa.array(mask), pa.nulls(len(arr), pa.string()), arr)


def customer_columns(ctx: Context, rng: np.random.Generator, pop: Population) -> dict:
    """The ``customers`` entity of a block (profile drawn from the locale's pools)."""
    loc = ctx.locale
    data = loc.data
    n = pop.n
    _, g_p = shares(data.GENDER_SHARES)
    gender = A.choice(rng, g_p, n)
    # key space of customers: their number (leads use a disjoint range)
    email, phone, wechat = contact_details(ctx, rng, pop.number)
    d_off = rng.integers(0, 1 << 30, n) % loc.district_count[pop.city]
    occ, occ_p = zip(*data.OCCUPATIONS, strict=True)
    income = np.empty(n, dtype=np.int64)
    for t in range(1, 5):
        m = pop.tier == t
        income[m] = A.choice(rng, data.INCOME_BY_TIER[t - 1], int(m.sum()))
    tag_texts, tag_index = _tags(ctx, pop)
    ends = ctx.window
    created_s = ends.utc_seconds(pop.created)
    joined_s = np.where(np.isnan(pop.joined), A.NULL_TS, ends.utc_seconds(pop.joined))
    postal_len = 3 if loc.zh else 2
    postal = A.concat(
        A.take(loc.postal_prefix, pop.city),
        A.numbered("", rng.integers(0, 10**postal_len, n), postal_len),
    )
    return {
        "external_id": pop.external_id,
        "name": person_names(ctx, rng, gender),
        "email": email,
        "phone": phone,
        "wechat_id": wechat,
        "country": pa.array([data.COUNTRY] * n, pa.string()),
        "province": A.take(loc.province, pop.city),
        "city": A.take(loc.city, pop.city),
        "district": A.take(loc.district, loc.district_start[pop.city] + d_off),
        "street": A.take(loc.streets, rng.integers(0, len(loc.streets), n)),
        "postal_code": postal,
        "birthday": A.dates(np.maximum(pop.birthday, 0), mask=pop.birthday < 0),
        "gender": A.take(A.pool(GENDERS), gender),
        "occupation": A.take(A.pool(occ), A.choice(rng, occ_p, n)),
        "income_band": A.take(A.pool(data.INCOME_BANDS), income),
        "source_channel": A.take(A.pool(ctx.source_channels), pop.source),
        "owner_username": A.take(ctx.staff_username, np.maximum(pop.owner, 0), pop.owner < 0),
        "marketing_consent": A.bools(pop.consent),
        "marketing_opt_out": A.bools(pop.opt_out),
        "loyalty_joined_at": A.timestamps(joined_s),
        "tags": A.take(tag_texts, tag_index),
        "created_at": A.timestamps(created_s),
    }


def _tags(ctx: Context, pop: Population) -> tuple[pa.Array, np.ndarray]:
    """JSON lists: the favourite category's tag and, for some sources, a channel tag."""
    data = ctx.locale.data
    names = ctx.source_channels
    channel_tag = [data.CHANNEL_TAGS.get(s) for s in names]
    texts = []
    for c in range(len(data.CATEGORY_TAGS)):
        for t in channel_tag:
            tags = [data.CATEGORY_TAGS[c]] + ([t] if t else [])
            texts.append(json.dumps(tags, ensure_ascii=False))
    index = pop.top_category * len(names) + pop.source
    return A.pool(texts), index


def latent_columns(ctx: Context, pop: Population) -> dict:
    w = ctx.window
    drop_s = np.where(np.isnan(pop.dropout), A.NULL_TS, w.utc_seconds(pop.dropout))
    ds_s = np.where(np.isnan(pop.drift_start), A.NULL_TS, w.utc_seconds(pop.drift_start))
    return {
        "customer_external_id": pop.external_id,
        "lambda": A.floats(pop.rate * 7.0),
        "p_dropout": A.floats(pop.p_dropout),
        "dropout_time": A.timestamps(drop_s),
        "satisfaction": A.floats(pop.satisfaction),
        "engagement": A.floats(pop.engagement),
        "mean_spend": A.floats(ctx.params.spend_p / pop.spend_nu),
        "is_diamond": A.bools(pop.diamond),
        "is_drifting": A.bools(pop.drifting),
        "drift_start": A.timestamps(ds_s),
        "never_buys": A.bools(pop.never_buy),
        "city_tier": A.ints(pop.tier, pa.int8()),
        "favourite_category": A.take(A.pool(ctx.catalogue.category_labels), pop.top_category),
    }
