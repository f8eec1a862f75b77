"""The models recover the sample company's generating parameters.

The sample generator (docs/sample.md) draws purchase rates ``lambda ~ Gamma(r, alpha)`` per
week, dropout probabilities ``p ~ Beta(a, b)`` and order values ``Gamma(p, nu)`` with
``nu ~ Gamma(q, gamma)``. In its *pure model world* — no seasonality, dropout only after
repeat orders (the BG/NBD timing), no satisfaction effects, no diamonds or drifting
customers, no cancellations, refunds, discounts or campaign-driven orders, and each order
worth exactly its Gamma draw — the data are exactly what BG/NBD and Gamma-Gamma assume, so
their maximum-likelihood estimates must cover the truth with their 95 % intervals. The
whole product path is used: generator → importer → store → engine summary → fit. Times at
``exact`` resolution: merging same-day purchases (the published convention) drops the
purchases of the rare very frequent buyers and biases the rate parameters.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from rapport.analytics.connect import connect
from rapport.analytics.sources import Sources
from rapport.config import Settings
from rapport.models.clv.bgnbd import BetaGeoModel
from rapport.models.clv.gammagamma import GammaGammaModel
from rapport.models.clv.mbgnbd import ModifiedBetaGeoModel
from rapport.models.data import compute_summary
from rapport.sample import generate
from rapport.sample.load import load_company
from rapport.sample.params import ModelParams
from rapport.store.db import create_engine, upgrade

PURE = ModelParams(
    seasonality=False,
    dropout_after_first=False,
    exact_order_values=True,
    satisfaction_dropout_logit=0.0,
    satisfaction_rate_log=0.0,
    diamond_share=0.0,
    drifting_share=0.0,
    cancel_share=0.0,
    refund_share=0.0,
    partial_refund_share=0.0,
    uplift_base=0.0,
    uplift_click=0.0,
)
END = dt.date(2025, 1, 1)
SHANGHAI = ZoneInfo("Asia/Shanghai")


#: The same world with the MBG/NBD timing: a customer may leave right after the first order.
PURE_MBG = dataclasses.replace(PURE, dropout_after_first=True)


def _summaries(root, params: ModelParams, resolutions=("exact", "day")):
    url = f"sqlite:///{root / 'pure.db'}"
    engine = create_engine(url)
    upgrade(engine)
    company = generate(customers=5000, months=24, seed=7, end=END, params=params)
    load_company(company, engine=engine, work_dir=root)
    engine.dispose()
    settings = Settings(_env_file=None, database_url=url, data_dir=root / "data")
    end = dt.datetime(2024, 12, 31, 16)  # 2025-01-01 00:00 in Shanghai
    with connect(settings) as eng:
        return {
            resolution: compute_summary(
                eng.con, Sources(eng), end, zone=SHANGHAI, resolution=resolution
            )
            for resolution in resolutions
        }


@pytest.fixture(scope="module")
def summaries(tmp_path_factory: pytest.TempPathFactory):
    return _summaries(tmp_path_factory.mktemp("pure"), PURE)


def covers(model, truth: dict[str, float]) -> dict[str, tuple[float, float, float]]:
    """The parameters whose 95 % interval misses the truth: name → (low, truth, high)."""
    intervals = model.confidence_intervals(0.95)
    return {
        name: (intervals[name][0], value, intervals[name][1])
        for name, value in truth.items()
        if not intervals[name][0] <= value <= intervals[name][1]
    }


def test_bgnbd_recovers_the_purchase_process(summaries) -> None:
    s = summaries["exact"]
    assert s.time_unit == "weeks"
    model = BetaGeoModel(time_unit="weeks").fit(s.frequency, s.recency, s.T)
    truth = {
        "r": PURE.purchase_r,
        "alpha": PURE.purchase_alpha,
        "a": PURE.dropout_a,
        "b": PURE.dropout_b,
    }
    assert model.fit_report_.converged
    assert covers(model, truth) == {}


def test_gamma_gamma_recovers_the_spend_process(summaries) -> None:
    s = summaries["exact"]
    repeat = s.repeat_buyers
    model = GammaGammaModel().fit(s.frequency[repeat], s.monetary_value[repeat])
    truth = {"p": PURE.spend_p, "q": PURE.spend_q, "gamma": PURE.spend_gamma_cny}
    assert covers(model, truth) == {}


def test_merging_same_day_purchases_loses_some(summaries) -> None:
    exact, day = summaries["exact"], summaries["day"]
    assert len(exact) == len(day)
    assert day.frequency.sum() < exact.frequency.sum()
    assert (day.frequency <= exact.frequency).all()


def test_mbgnbd_recovers_the_purchase_process_with_early_dropout(tmp_path) -> None:
    s = _summaries(tmp_path, PURE_MBG, ("exact",))["exact"]
    model = ModifiedBetaGeoModel(time_unit="weeks").fit(s.frequency, s.recency, s.T)
    truth = {
        "r": PURE.purchase_r,
        "alpha": PURE.purchase_alpha,
        "a": PURE.dropout_a,
        "b": PURE.dropout_b,
    }
    assert covers(model, truth) == {}
    # BG/NBD, which cannot lose a customer before a repeat purchase, misses the truth
    wrong = BetaGeoModel(time_unit="weeks").fit(s.frequency, s.recency, s.T)
    assert covers(wrong, truth) != {}
