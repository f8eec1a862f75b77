"""Small synthetic churn tables with a known signal, for the engine-free model tests."""

from __future__ import annotations

import numpy as np
import pyarrow as pa


def churn_table(n: int = 800, seed: int = 1, *, shift: float = 0.0) -> pa.Table:
    """``n`` customers: recency raises churn, frequency and satisfaction lower it, a third
    of the satisfaction answers are missing, ``city`` is text (never a feature).

    ``shift`` moves every log-odds (a later cut-off with another base rate)."""
    rng = np.random.default_rng(seed)
    recency = rng.uniform(0, 365, n).round()
    frequency = rng.poisson(3, n) + 1
    satisfaction = rng.uniform(0, 100, n)
    answered = rng.uniform(size=n) > 1 / 3
    logit = -0.5 + 0.012 * recency - 0.35 * frequency + shift
    logit = logit - 0.02 * np.where(answered, satisfaction - 50, 0)
    churned = rng.uniform(size=n) < 1 / (1 + np.exp(-logit))
    return pa.table(
        {
            "customer_id": pa.array(np.arange(1, n + 1), pa.int64()),
            "recency_days": pa.array(recency.astype(np.int64)),
            "frequency": pa.array(frequency.astype(np.int64)),
            "satisfaction": pa.array(satisfaction, mask=~answered),
            "city": pa.array(rng.choice(["上海", "北京"], n)),
            "churned": pa.array(churned),
        }
    )
