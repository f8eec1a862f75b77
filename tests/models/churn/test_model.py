"""The churn model on synthetic tables: exact reasons, persistence, missing values,
monotonicity and the errors it raises."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from rapport.errors import FitFailed, NotFitted, ValidationFailed
from rapport.models.churn import ChurnModel
from tests.models.churn.synthetic import churn_table


@pytest.fixture(scope="module")
def train() -> pa.Table:
    return churn_table(800, seed=1)


@pytest.fixture(scope="module")
def test_rows() -> pa.Table:
    return churn_table(300, seed=2)


@pytest.fixture(scope="module")
def model(train) -> ChurnModel:
    return ChurnModel().fit(train)


def with_column(table: pa.Table, name: str, values) -> pa.Table:
    return table.set_column(table.column_names.index(name), name, values)


def test_default_features_are_the_numeric_columns_but_the_key_and_label(model) -> None:
    assert model.features_ == ["recency_days", "frequency", "satisfaction"]
    assert model.training_["rows"] == 800
    assert 0 < model.training_["base_rate"] < 1


def test_an_extra_column_such_as_p_alive_is_used_when_present(train) -> None:
    p_alive = pa.array(np.linspace(0.05, 0.95, train.num_rows))
    fitted = ChurnModel().fit(train.append_column("p_alive", p_alive))
    assert fitted.features_[-1] == "p_alive"


def test_probabilities_are_calibrated_probabilities(model, train, test_rows) -> None:
    p = model.predict_proba(test_rows)
    assert p.shape == (test_rows.num_rows,) and ((p >= 0) & (p <= 1)).all()
    # fitted on out-of-fold logits, the map keeps the training base rate on average
    assert model.predict_proba(train).mean() == pytest.approx(
        model.training_["base_rate"], abs=0.02
    )


def test_contributions_add_up_to_the_logit(model, train, test_rows) -> None:
    ex = model.explain(test_rows)
    assert ex.contributions.shape == (test_rows.num_rows, 3)
    np.testing.assert_array_equal(
        ex.baseline + ex.contributions.sum(axis=1), model.logit(test_rows)
    )
    # the baseline is the training population's mean logit: every feature's term
    # averages 0 over the training rows
    train_ex = model.explain(train)
    np.testing.assert_allclose(train_ex.contributions.mean(axis=0), 0, atol=1e-9)
    assert model.logit(train).mean() == pytest.approx(model.baseline_, abs=1e-9)


def test_one_evaluation_gives_the_probabilities_and_their_explanation(model, test_rows) -> None:
    proba, ex = model.predict_explained(test_rows)
    alone = model.explain(test_rows)
    np.testing.assert_array_equal(ex.contributions, alone.contributions)
    np.testing.assert_array_equal(ex.values, alone.values)
    assert ex.features == alone.features and ex.baseline == alone.baseline
    # the calibration of the explanation's logit, bit for bit
    np.testing.assert_array_equal(proba, model.calibration_(model.logit(test_rows)))
    np.testing.assert_array_equal(proba, model.predict_proba(test_rows))


def test_reasons_are_the_largest_signed_contributions(model, test_rows) -> None:
    logit = model.logit(test_rows)
    every = model.reasons(test_rows, top=3)
    top1 = model.reasons(test_rows, top=1)
    for row, (reasons, first) in enumerate(zip(every, top1, strict=True)):
        # all three features together are the whole explanation
        total = sum(r["contribution"] for r in reasons)
        assert model.baseline_ + total == pytest.approx(logit[row], abs=1e-9)
        sizes = [abs(r["contribution"]) for r in reasons]
        assert sizes == sorted(sizes, reverse=True)
        assert first == reasons[:1]
        for r in reasons:
            assert r["direction"] == ("raises" if r["contribution"] > 0 else "lowers")
            value = test_rows.column(r["feature"])[row].as_py()
            assert r["value"] == (None if value is None else pytest.approx(value))


def test_a_missing_value_is_imputed_and_flagged(model, test_rows) -> None:
    unanswered = pc.is_null(test_rows.column("satisfaction")).to_numpy(zero_copy_only=False)
    assert unanswered.any()
    p = model.predict_proba(test_rows)
    assert np.isfinite(p[unanswered]).all()
    reasons = model.reasons(test_rows, top=3)
    row = int(np.flatnonzero(unanswered)[0])
    (sat,) = [r for r in reasons[row] if r["feature"] == "satisfaction"]
    assert sat["value"] is None and sat["contribution"] != 0


def test_more_recency_means_more_risk_all_else_equal(model, test_rows) -> None:
    n = test_rows.num_rows
    recent = with_column(test_rows, "recency_days", pa.array([10] * n, pa.int64()))
    lapsed = with_column(test_rows, "recency_days", pa.array([300] * n, pa.int64()))
    assert (model.predict_proba(lapsed) > model.predict_proba(recent)).all()
    grid = np.arange(0, 366, 15)
    one = test_rows.slice(0, 1)
    risks = [
        model.logit(with_column(one, "recency_days", pa.array([int(d)], pa.int64())))[0]
        for d in grid
    ]
    assert np.all(np.diff(risks) >= -1e-12)  # the learnt recency curve never falls


@pytest.mark.parametrize("calibration", ["sigmoid", "isotonic"])
def test_json_round_trip_reproduces_predictions_exactly(train, test_rows, calibration) -> None:
    fitted = ChurnModel(calibration=calibration).fit(train)
    text = json.dumps(fitted.to_dict())
    loaded = ChurnModel.from_dict(json.loads(text))
    np.testing.assert_array_equal(loaded.predict_proba(test_rows), fitted.predict_proba(test_rows))
    assert loaded.reasons(test_rows) == fitted.reasons(test_rows)
    assert loaded.to_dict() == fitted.to_dict()
    assert "pickle" not in text and loaded.features_ == fitted.features_


def test_pandas_tables_work_like_arrow_ones(model, train, test_rows) -> None:
    from_pandas = ChurnModel().fit(train.to_pandas())
    np.testing.assert_array_equal(
        from_pandas.predict_proba(test_rows.to_pandas()), model.predict_proba(test_rows)
    )


def test_a_feature_nobody_has_contributes_nothing(train, test_rows) -> None:
    empty = pa.nulls(train.num_rows, pa.float64())
    fitted = ChurnModel().fit(train.append_column("nps_change", empty))
    rows = test_rows.append_column("nps_change", pa.array(np.ones(test_rows.num_rows)))
    ex = fitted.explain(rows)
    assert (ex.contributions[:, ex.features.index("nps_change")] == 0).all()


def test_booleans_and_integer_labels_are_accepted(train) -> None:
    as_int = with_column(train, "churned", pc.cast(train.column("churned"), pa.int8()))
    a, b = ChurnModel().fit(train), ChurnModel().fit(as_int)
    np.testing.assert_array_equal(a.predict_proba(train), b.predict_proba(train))


# --- errors -------------------------------------------------------------------------------


def test_an_unfitted_model_refuses_to_predict(test_rows) -> None:
    model = ChurnModel()
    for call in (model.predict_proba, model.reasons, model.logit, model.explain):
        with pytest.raises(NotFitted):
            call(test_rows)
    with pytest.raises(NotFitted):
        model.to_dict()


def test_a_missing_feature_column_is_named(model, test_rows) -> None:
    with pytest.raises(ValidationFailed, match="frequency") as info:
        model.predict_proba(test_rows.drop_columns(["frequency"]))
    assert info.value.field == "frequency"


def test_unknown_and_non_numeric_features_are_refused(train) -> None:
    with pytest.raises(ValidationFailed, match="p_alive") as info:
        ChurnModel(["recency_days", "p_alive"]).fit(train)
    assert info.value.field == "p_alive"
    with pytest.raises(ValidationFailed, match="city") as info:
        ChurnModel(["recency_days", "city"]).fit(train)
    assert info.value.field == "city"
    with pytest.raises(ValidationFailed, match="customer_id"):
        ChurnModel(["customer_id"])
    with pytest.raises(ValidationFailed, match="infinite"):
        ChurnModel().fit(with_column(train, "recency_days", pa.array([np.inf] * train.num_rows)))


def test_bad_labels_are_refused(train) -> None:
    with pytest.raises(ValidationFailed, match="label column 'left'"):
        ChurnModel().fit(train, label_column="left")
    churned = train.column("churned").to_pylist()
    with pytest.raises(ValidationFailed, match="nulls"):
        ChurnModel().fit(with_column(train, "churned", pa.array([None, *churned[1:]])))
    with pytest.raises(ValidationFailed, match="0/1"):
        ChurnModel().fit(with_column(train, "churned", pa.array([2] * train.num_rows)))


def test_fits_that_cannot_learn_fail_with_what_to_do(train) -> None:
    n = train.num_rows
    with pytest.raises(FitFailed, match="one class") as info:
        ChurnModel().fit(with_column(train, "churned", pa.array([True] * n)))
    assert info.value.hint
    with pytest.raises(FitFailed, match="at least 50"):
        ChurnModel().fit(train.slice(0, 30))
    rare = [i < 4 for i in range(n)]
    with pytest.raises(FitFailed, match="rarer class"):
        ChurnModel().fit(with_column(train, "churned", pa.array(rare)))


def test_a_fit_that_does_not_converge_fails_and_leaves_blas_as_it_was(train, monkeypatch) -> None:
    from threadpoolctl import threadpool_info

    from rapport.models.churn import model as churn_model

    before = [(p["internal_api"], p["num_threads"]) for p in threadpool_info()]
    monkeypatch.setattr(churn_model, "MAX_ITER", 1)
    with pytest.raises(FitFailed, match="did not converge in 1 iterations") as info:
        ChurnModel().fit(train)
    assert info.value.key == "churn_not_converged"
    assert [(p["internal_api"], p["num_threads"]) for p in threadpool_info()] == before


def test_the_fits_on_threads_give_the_weights_of_fits_one_after_another(
    train, test_rows, monkeypatch
) -> None:
    from rapport.models.churn import model as churn_model

    threaded = ChurnModel().fit(train)
    monkeypatch.setattr(churn_model, "FIT_THREADS", 1)
    alone = ChurnModel().fit(train)
    assert threaded.to_dict() == alone.to_dict()
    assert threaded.predict_proba(test_rows).tolist() == alone.predict_proba(test_rows).tolist()


def test_options_are_a_closed_set() -> None:
    with pytest.raises(ValidationFailed, match="sigmoid, isotonic"):
        ChurnModel(calibration="platt")
    with pytest.raises(ValidationFailed):
        ChurnModel(c=0)
    with pytest.raises(ValidationFailed, match="not a churn model"):
        ChurnModel.from_dict({"kind": "rapport.bgnbd", "version": 1})
