"""The snapshot's churn reasons built column-wise equal the model's reasons row by row."""

from __future__ import annotations

import numpy as np
import pytest

from rapport.models.churn import ChurnModel
from rapport.models.pipeline import REASON_DECIMALS, reasons_array, round_half_even
from tests.models.churn.synthetic import churn_table


def _plain(reasons: list[dict]) -> list[dict]:
    """The reasons as the pipeline stored them row by row: floats rounded by Python."""
    return [
        {
            k: (None if not np.isfinite(v) else round(float(v), REASON_DECIMALS))
            if isinstance(v, float)
            else v
            for k, v in r.items()
        }
        for r in reasons
    ]


@pytest.mark.parametrize("top", [0, 1, 3, 5])
def test_reasons_array_is_the_models_reasons_rounded(top: int) -> None:
    train, rows = churn_table(800, seed=1), churn_table(300, seed=2)
    model = ChurnModel().fit(train)
    expected = [_plain(r) for r in model.reasons(rows, top=top)]
    got = reasons_array(model.explain(rows), top=top).to_pylist()
    assert got == expected
    if top >= 3:  # a missing value is among the reasons: its value is null
        assert any(item["value"] is None for r in got for item in r)


def test_a_zero_contribution_is_no_reason() -> None:
    train = churn_table(800, seed=1)
    model = ChurnModel().fit(train)
    rows = churn_table(50, seed=3)
    ex = model.explain(rows)
    ex.contributions[:, 1] = 0.0
    got = reasons_array(ex, top=3).to_pylist()
    assert all(len(r) == 2 for r in got)
    assert all(item["feature"] != ex.features[1] for r in got for item in r)


def test_rounding_is_pythons_round_even_near_ties() -> None:
    rng = np.random.default_rng(0)
    values = np.concatenate(
        [
            rng.normal(0, 50, 20_000),
            # exact decimal ties and their neighbours, where multiplying first can flip
            np.array([0.00005, 1.00005, 2.67535, -0.12345, 0.12345, 1e-9, 123456.78905]),
            np.nextafter(np.array([0.00005, 2.67535, -0.12345]), np.inf),
            np.nextafter(np.array([0.00005, 2.67535, -0.12345]), -np.inf),
        ]
    )
    expected = [round(float(v), REASON_DECIMALS) for v in values]
    assert round_half_even(values, REASON_DECIMALS).tolist() == expected
    assert np.isnan(round_half_even(np.array([np.nan, np.inf]), 4)).all()
