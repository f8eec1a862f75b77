"""The shared life cycle: inputs, compression, not-fitted errors, uncertainty, persistence."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import norm

from rapport.errors import NotFitted, ValidationFailed
from rapport.models.base import Model
from rapport.models.clv import (
    BetaGeoModel,
    GammaGammaModel,
    ParetoNBDModel,
    ShiftedBetaGeoModel,
    compress,
)
from rapport.models.units import Duration

H = Duration(13, "weeks")


# --- compress --------------------------------------------------------------------------


@settings(max_examples=100, deadline=None)
@given(
    rows=st.lists(
        st.tuples(st.integers(0, 3), st.sampled_from([0.0, -0.0, 1.5, 2.0])), max_size=40
    ),
    data=st.data(),
)
def test_compress_gives_unique_rows_weights_and_the_way_back(rows, data):
    a = np.array([r[0] for r in rows], dtype=float)
    b = np.array([r[1] for r in rows], dtype=float)
    w = np.array(data.draw(st.lists(st.floats(0, 5), min_size=a.size, max_size=a.size)))
    ua, ub, uw, inverse = compress(a, b, weights=w)
    np.testing.assert_array_equal(ua[inverse], a)
    np.testing.assert_array_equal(ub[inverse], b)
    assert len(set(zip(ua, ub, strict=True))) == ua.size  # unique (0.0 == -0.0)
    assert uw.sum() == pytest.approx(w.sum())
    if a.size:
        assert np.all(np.bincount(inverse, minlength=ua.size) >= 1)


def test_compress_example():
    x, t, w, inv = compress(np.array([1.0, 0, 1]), np.array([2.0, 0, 2]))
    assert x.tolist() == [0, 1] and t.tolist() == [0, 2]
    assert w.tolist() == [1, 2] and inv.tolist() == [1, 0, 1]


# --- inputs ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("frequency", "recency", "T", "field", "row"),
    [
        ([1, np.nan], [1, 1], [2, 2], "frequency", 1),
        ([1, 2, -1], [1, 1, 0], [2, 2, 2], "frequency", 2),
        ([1, 1.5], [1, 1], [2, 2], "frequency", 1),
        ([1, 1], [1, -0.5], [2, 2], "recency", 1),
        ([1, 1], [1, 3], [2, 2], "recency", 1),
        ([0, 1], [1, 1], [2, 2], "recency", 0),
        ([1, 1], [1, 1], [2, np.inf], "T", 1),
    ],
    ids=["nan", "negative", "fraction", "negative recency", "after T", "x=0 t_x>0", "inf"],
)
@pytest.mark.parametrize("model", [BetaGeoModel, ParetoNBDModel])
def test_bad_purchase_inputs_name_field_and_row(model, frequency, recency, T, field, row):
    with pytest.raises(ValidationFailed) as err:
        model().fit(frequency, recency, T)
    assert err.value.field == field
    assert f"row {row}" in err.value.message


def test_lengths_and_weights_are_checked(bgnbd):
    with pytest.raises(ValidationFailed) as err:
        BetaGeoModel().fit([1, 2], [1, 1], [2, 2, 2])
    assert err.value.field == "T"
    with pytest.raises(ValidationFailed) as err:
        BetaGeoModel().fit([1, 2], [1, 1], [2, 2], weights=[1, -1])
    assert err.value.field == "weights" and "row 1" in err.value.message
    with pytest.raises(ValidationFailed):
        BetaGeoModel(time_unit="fortnights")
    with pytest.raises(ValidationFailed) as err:
        bgnbd.expected_purchases(13, [1], [1], [2])
    assert err.value.field == "horizon"


def test_repeat_purchase_on_the_first_day_is_allowed(bgnbd):
    assert np.isfinite(bgnbd.log_likelihood([3], [0], [20])).all()


# --- not fitted ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "call"),
    [
        (BetaGeoModel(), lambda m: m.probability_alive([1], [1], [2])),
        (BetaGeoModel(), lambda m: m.expected_purchases(H, [1], [1], [2])),
        (BetaGeoModel(), lambda m: m.expected_purchases_new(H)),
        (ParetoNBDModel(), lambda m: m.probability_alive([1], [1], [2])),
        (ParetoNBDModel(), lambda m: m.log_likelihood([1], [1], [2])),
        (GammaGammaModel(), lambda m: m.conditional_expected_spend([1], [2.0])),
        (GammaGammaModel(), lambda m: m.expected_spend_mean()),
        (ShiftedBetaGeoModel(), lambda m: m.survival([1])),
        (BetaGeoModel(), lambda m: m.standard_errors()),
        (BetaGeoModel(), lambda m: m.to_dict()),
    ],
)
def test_unfitted_models_raise_not_fitted(model, call):
    with pytest.raises(NotFitted) as err:
        call(model)
    assert model.label in err.value.message
    assert "call fit() first or load a fitted model" in err.value.hint
    assert "not fitted" in repr(model)


# --- uncertainty -----------------------------------------------------------------------


def test_standard_errors_and_intervals(bgnbd):
    theta = np.array(list(bgnbd.params_.values()))
    log_se = np.sqrt(np.diag(bgnbd.cov_))
    se = bgnbd.standard_errors()
    np.testing.assert_allclose(list(se.values()), theta * log_se)
    ci = bgnbd.confidence_intervals(0.9)
    z = norm.ppf(0.95)
    for (name, (low, high)), t, s in zip(ci.items(), theta, log_se, strict=True):
        assert 0 < low < bgnbd.params_[name] < high
        assert (low, high) == pytest.approx((t * np.exp(-z * s), t * np.exp(z * s)))
    with pytest.raises(ValidationFailed):
        bgnbd.confidence_intervals(1.0)


def test_fit_report(bgnbd):
    report = bgnbd.fit_report_
    assert report.converged and report.method.startswith("L-BFGS-B")
    assert report.gradient_norm < 1e-6 and report.iterations > 0 and report.seconds >= 0
    assert len(report.attempts) >= 1 and "converged" in report.attempts[-1]


# --- persistence -----------------------------------------------------------------------


def roundtrip(model: Model) -> Model:
    return Model.from_dict(json.loads(json.dumps(model.to_dict())))


def test_round_trip_reproduces_predictions(bgnbd, paretonbd, gammagamma, cdnow):
    args = (cdnow.frequency, cdnow.recency, cdnow.T)
    for model in (bgnbd, paretonbd):
        back = roundtrip(model)
        assert type(back) is type(model) and back.time_unit == "weeks"
        np.testing.assert_array_equal(back.probability_alive(*args), model.probability_alive(*args))
        np.testing.assert_array_equal(
            back.expected_purchases(H, *args), model.expected_purchases(H, *args)
        )
        np.testing.assert_array_equal(back.cov_, model.cov_)
        assert back.standard_errors() == model.standard_errors()
        assert back.log_likelihood_ == model.log_likelihood_
        assert back.fit_report_ == model.fit_report_
    back = roundtrip(gammagamma)
    np.testing.assert_array_equal(
        back.conditional_expected_spend(cdnow.frequency, cdnow.monetary),
        gammagamma.conditional_expected_spend(cdnow.frequency, cdnow.monetary),
    )
    sbg = ShiftedBetaGeoModel().fit([1000, 631, 468, 382, 326, 289, 262, 241])
    assert roundtrip(sbg).survival([5]) == sbg.survival([5])


def test_saved_document_is_plain_json(bgnbd):
    doc = bgnbd.to_dict()
    assert doc["kind"] == "bgnbd" and doc["format_version"] == 1
    assert doc["time_unit"] == "weeks" and doc["param_names"] == ["r", "alpha", "a", "b"]
    assert doc["n_customers"] == 2357
    assert json.loads(json.dumps(doc)) == doc


def test_from_dict_refuses_other_kinds(bgnbd):
    doc = bgnbd.to_dict()
    with pytest.raises(ValidationFailed) as err:
        GammaGammaModel.from_dict(doc)
    assert err.value.field == "kind"
    with pytest.raises(ValidationFailed):
        Model.from_dict({**doc, "kind": "nonsense"})
    with pytest.raises(ValidationFailed) as err:
        Model.from_dict({**doc, "format_version": 99})
    assert err.value.field == "format_version"
    assert isinstance(BetaGeoModel.from_dict(doc), BetaGeoModel)
