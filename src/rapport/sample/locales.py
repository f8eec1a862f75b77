"""Locales of the sample company: static data plus pools of Faker-made names and streets.

Faker is slow per row, so a locale draws pools once (seeded) and the generator samples
from them with numpy.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from types import ModuleType

import numpy as np
import pyarrow as pa
from faker import Faker

from rapport.errors import ValidationFailed
from rapport.sample import locale_en, locale_zh
from rapport.sample.arrays import pool

LOCALES: dict[str, ModuleType] = {"zh_CN": locale_zh, "en_US": locale_en}


@dataclass(frozen=True)
class Locale:
    name: str
    data: ModuleType
    last_names: pa.Array
    female_first: pa.Array
    male_first: pa.Array
    streets: pa.Array
    usernames: pa.Array
    companies: pa.Array
    # cities
    province: pa.Array
    city: pa.Array
    tier: np.ndarray
    city_weight: np.ndarray
    district: pa.Array  # flattened districts of all cities
    district_start: np.ndarray
    district_count: np.ndarray
    postal_prefix: pa.Array

    @property
    def zh(self) -> bool:
        return self.name == "zh_CN"

    @property
    def timezone(self) -> str:
        return self.data.TIMEZONE

    @property
    def currency(self) -> str:
        return "CNY" if self.zh else "USD"


def _draw(fn, n: int) -> list[str]:
    return [fn() for _ in range(n)]


def build_locale(name: str, seed: int) -> Locale:
    """The locale ``name`` (zh_CN or en_US) with pools drawn by a Faker seeded by ``seed``."""
    if name not in LOCALES:
        raise ValidationFailed(
            "unknown locale {name!r}",
            field="locale",
            value=name,
            hint="use one of: {choices}",
            key="sample_locale_unknown",
            params={"name": name, "choices": ", ".join(LOCALES)},
            hint_key="option_value_unknown.hint",
        )
    data = LOCALES[name]
    fake = Faker(data.FAKER_LOCALE)
    fake.seed_instance(seed)
    users = sorted({re.sub(r"[^a-z]", "", u.lower()) for u in _draw(fake.user_name, 4000)})
    users = [u for u in users if len(u) >= 3]
    if name == "zh_CN":
        streets = [
            f"{s}{n}号"
            for s, n in zip(
                _draw(fake.street_name, 3000),
                np.random.default_rng(seed).integers(1, 999, 3000),
                strict=True,
            )
        ]
    else:
        streets = _draw(fake.street_address, 3000)
    districts = [d for c in data.CITIES for d in c[4]]
    counts = np.array([len(c[4]) for c in data.CITIES], dtype=np.int64)
    return Locale(
        name=name,
        data=data,
        last_names=pool(_draw(fake.last_name, 2000)),
        female_first=pool(_draw(fake.first_name_female, 2000)),
        male_first=pool(_draw(fake.first_name_male, 2000)),
        streets=pool(streets),
        usernames=pool(users),
        companies=pool(sorted(set(_draw(fake.company, 600)))),
        province=pool([c[0] for c in data.CITIES]),
        city=pool([c[1] for c in data.CITIES]),
        tier=np.array([c[2] for c in data.CITIES], dtype=np.int64),
        city_weight=np.array([c[3] for c in data.CITIES], dtype=np.float64),
        district=pool(districts),
        district_start=np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64),
        district_count=counts,
        postal_prefix=pool([c[5] for c in data.CITIES]),
    )


def shares(mapping: dict[str, float]) -> tuple[list[str], np.ndarray]:
    keys = list(mapping)
    p = np.array([mapping[k] for k in keys], dtype=np.float64)
    return keys, p / p.sum()
