"""What every block of simulated customers shares: arguments, parameters, calendar,
catalogue, staff, stores and campaigns — all deterministic given the arguments."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa

from rapport.errors import ValidationFailed
from rapport.sample.arrays import pool
from rapport.sample.calendar import Clock, Window
from rapport.sample.catalogue import Catalogue, build_catalogue
from rapport.sample.locales import Locale, build_locale, shares
from rapport.sample.params import ModelParams

if TYPE_CHECKING:
    from rapport.sample.campaigns import CampaignSchedule

#: Customers simulated together; blocks are independent given the context, so the data
#: does not depend on how the output is chunked.
BLOCK = 10_000
#: Largest population whose phone numbers and e-mails stay unique (they are bijections of
#: customer and lead numbers into the locale's number space).
MAX_CUSTOMERS = {"zh_CN": 45_000_000, "en_US": 3_500_000}


@dataclass
class Context:
    customers: int
    months: int
    seed: int
    end: date
    locale: Locale
    params: ModelParams
    window: Window
    clock: Clock
    catalogue: Catalogue
    staff_username: pa.Array
    sales_staff: np.ndarray
    service_staff: np.ndarray
    store_name: pa.Array
    store_city: np.ndarray
    city_store: np.ndarray  # per city: index of its store or -1
    order_channels: list[str]
    order_channel_p: np.ndarray
    own_channel: np.ndarray  # per order channel: tracked sessions
    source_channels: list[str]
    source_channel_p: np.ndarray
    campaigns: CampaignSchedule | None = None

    @property
    def schedule(self) -> CampaignSchedule:
        assert self.campaigns is not None, "build_context sets the schedule"
        return self.campaigns

    @property
    def days(self) -> int:
        return self.window.days

    @property
    def currency(self) -> str:
        return self.catalogue.currency

    @property
    def spend_gamma(self) -> float:
        p = self.params
        return p.spend_gamma_cny if self.locale.zh else p.spend_gamma_usd

    @property
    def redeem_block(self) -> int:
        p = self.params
        return p.redeem_block_cny if self.locale.zh else p.redeem_block_usd

    def block_rng(self, block: int, stream: int) -> np.random.Generator:
        return np.random.default_rng([self.seed, 1, block, stream])


def default_end() -> date:
    return date.today().replace(day=1)


def build_context(
    customers: int,
    months: int,
    seed: int,
    locale: str,
    end: date | None,
    params: ModelParams | None = None,
) -> Context:
    from rapport.sample.campaigns import build_schedule

    if customers < 1:
        raise ValidationFailed(
            "{name} must be at least 1",
            field="customers",
            value=customers,
            key="at_least_one",
            params={"name": "customers"},
        )
    if months < 1:
        raise ValidationFailed(
            "{name} must be at least 1",
            field="months",
            value=months,
            key="at_least_one",
            params={"name": "months"},
        )
    end = end or default_end()
    params = params or ModelParams()
    loc = build_locale(locale, seed)
    if customers > MAX_CUSTOMERS[locale]:
        raise ValidationFailed(
            "at most {maximum:,} customers in {locale}",
            field="customers",
            value=customers,
            hint="contact details would no longer be unique",
            key="sample_too_many",
            params={"maximum": MAX_CUSTOMERS[locale], "locale": locale},
        )
    window = Window.build(end, months, loc.timezone)
    clock = Clock(window, locale, seasonal=params.seasonality)
    rng = np.random.default_rng([seed, 0])
    catalogue = build_catalogue(locale, rng)
    staff = loc.data.STAFF
    roles = np.array([s[2] for s in staff])
    # one store per tier-1/2 city, named after its first district
    store_names, store_city = [], []
    for i, c in enumerate(loc.data.CITIES):
        if c[2] <= 2:
            store_names.append(loc.data.STORE_FORMAT.format(city=c[1], district=c[4][0]))
            store_city.append(i)
    city_store = np.full(len(loc.data.CITIES), -1, dtype=np.int64)
    city_store[np.array(store_city)] = np.arange(len(store_city))
    channels, channel_p = shares(loc.data.ORDER_CHANNELS)
    sources, source_p = shares(loc.data.SOURCE_CHANNELS)
    ctx = Context(
        customers=customers,
        months=months,
        seed=seed,
        end=end,
        locale=loc,
        params=params,
        window=window,
        clock=clock,
        catalogue=catalogue,
        staff_username=pool([s[0] for s in staff]),
        sales_staff=np.flatnonzero(roles == "sales"),
        service_staff=np.flatnonzero(roles == "service"),
        store_name=pool(store_names),
        store_city=np.asarray(store_city, dtype=np.int64),
        city_store=city_store,
        order_channels=channels,
        order_channel_p=channel_p,
        own_channel=np.array([c in loc.data.OWN_CHANNELS for c in channels]),
        source_channels=sources,
        source_channel_p=source_p,
    )
    ctx.campaigns = build_schedule(ctx, rng)
    return ctx
