"""The snapshot's CLV and its delta-method interval against the reference implementation
and its parameter-draw interval (rapport.models.clv.value), on CDNOW."""

from __future__ import annotations

import numpy as np
import pytest

from rapport.models.clv import BetaGeoModel, GammaGammaModel, ModifiedBetaGeoModel
from rapport.models.clv.value import clv_interval, customer_lifetime_value
from rapport.models.pipeline import clv_with_interval
from rapport.models.units import Duration
from tests.models.clv.cdnow import cdnow_summary

KW = {"horizon": Duration(52, "weeks"), "annual_discount_rate": 0.12, "margin": 0.3}


@pytest.fixture(scope="module", params=[BetaGeoModel, ModifiedBetaGeoModel])
def fitted(request):
    s = cdnow_summary()
    purchase = request.param(time_unit="weeks").fit(s.frequency, s.recency, s.T)
    repeat = s.frequency > 0
    spend = GammaGammaModel().fit(s.frequency[repeat], s.monetary[repeat])
    monetary = np.where(repeat, s.monetary, np.nan)
    return s, purchase, spend, monetary


def test_value_is_the_reference_clv(fitted) -> None:
    s, purchase, spend, monetary = fitted
    value, low, high = clv_with_interval(
        purchase, spend, s.frequency, s.recency, s.T, monetary, **KW
    )
    reference = customer_lifetime_value(
        purchase, spend, s.frequency, s.recency, s.T, np.nan_to_num(monetary), **KW
    )
    np.testing.assert_allclose(value, reference, rtol=1e-12)
    assert (low <= value).all() and (value <= high).all()
    assert (low > 0).all()


def test_interval_agrees_with_parameter_draws(fitted) -> None:
    s, purchase, spend, monetary = fitted
    _, low, high = clv_with_interval(purchase, spend, s.frequency, s.recency, s.T, monetary, **KW)
    draw_low, draw_high = clv_interval(
        purchase,
        spend,
        s.frequency,
        s.recency,
        s.T,
        np.nan_to_num(monetary),
        **KW,
        draws=400,
        seed=1,
    )
    ratio = (high - low) / (draw_high - draw_low)
    # the delta method and 400 draws agree on the width to within sampling noise
    assert np.median(ratio) == pytest.approx(1.0, abs=0.1)
    assert np.corrcoef(high - low, draw_high - draw_low)[0, 1] > 0.95


def test_a_repeat_buyer_without_spend_gets_the_mean_spend(fitted) -> None:
    _, purchase, spend, _ = fitted
    value, _, _ = clv_with_interval(
        purchase,
        spend,
        np.array([2.0, 0.0]),
        np.array([10.0, 0.0]),
        np.array([30.0, 30.0]),
        np.array([0.0, np.nan]),
        **KW,
    )
    # the same purchase row with a known spend gives the discounted purchases D
    ref = customer_lifetime_value(purchase, spend, [2.0], [10.0], [30.0], [50.0], **KW)
    discounted = ref[0] / (KW["margin"] * spend.conditional_expected_spend([2.0], [50.0])[0])
    assert value[0] == pytest.approx(KW["margin"] * spend.expected_spend_mean() * discounted)


def test_the_curves_on_threads_give_the_interval_of_one_thread(fitted, monkeypatch) -> None:
    from rapport.models import pipeline

    s, purchase, spend, monetary = fitted
    args = (purchase, spend, s.frequency, s.recency, s.T, monetary)
    monkeypatch.setattr(pipeline, "CLV_THREADS", 1)
    alone = clv_with_interval(*args, **KW)
    monkeypatch.setattr(pipeline, "CLV_THREADS", 4)
    side_by_side = clv_with_interval(*args, **KW)
    for one, other in zip(alone, side_by_side, strict=True):
        np.testing.assert_array_equal(one, other)
