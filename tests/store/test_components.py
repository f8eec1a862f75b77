"""The ``components`` document: stored compact in the current layout, always read keyed."""

from __future__ import annotations

import json
import math
from typing import Any

import polars as pl
import pyarrow as pa
import pytest

from rapport import scoring
from rapport.models.pipeline import REASONS_TYPE
from rapport.store.components import CURRENT, LAYOUTS, REASON_FIELDS, compact, expand

REASONS = [
    {"feature": "p_alive", "value": 0.0149, "contribution": 2.1191, "direction": "raises"},
    {"feature": "tenure_days", "value": None, "contribution": -0.5, "direction": "lowers"},
]


def keyed(*, models: bool = True, **groups: Any) -> dict[str, Any]:
    """A keyed document of the current layout: each group's values numbered, ``groups``
    replacing some."""
    out: dict[str, Any] = {}
    for key, names in LAYOUTS[CURRENT]:
        if not models and key in ("prediction", "churn"):
            continue
        out[key] = {name: float(i) for i, name in enumerate(names)}
    out["value_tier"] = {"next": "gold", "missing": ["revenue", "loyalty"]}
    out["lifecycle"]["phase"] = "win_back"
    if models:
        out["churn"] = {"source": "classifier", "reasons": REASONS}
    out.update(groups)
    return out


@pytest.mark.parametrize(
    "document",
    [
        keyed(),
        keyed(models=False),
        keyed(satisfaction=None, advocacy=None, rfm=None),
        keyed(churn={"source": "mbgnbd", "reasons": None}),
        keyed(churn={"source": "classifier", "reasons": []}),
        keyed(prediction=None, churn=None),
    ],
)
def test_a_keyed_document_of_the_layout_is_stored_compact_and_read_back_the_same(
    document: dict[str, Any],
) -> None:
    stored = compact(document)
    assert isinstance(stored, list) and stored[0] == CURRENT
    assert len(stored) == 1 + len(document)
    # no name is written; the values are, in the layout's order
    text = json.dumps(stored)
    assert '"answers"' not in text and '"feature"' not in text
    assert len(text) < len(json.dumps(document)) / 2
    back = expand(json.loads(text))
    assert back == document
    assert list(back) == list(document)  # the groups in the document's order


def test_each_reason_is_stored_as_its_values_in_order() -> None:
    stored = compact(keyed())
    churn = stored[1 + [k for k, _ in LAYOUTS[CURRENT]].index("churn")]
    assert churn == ["classifier", [[r[f] for f in REASON_FIELDS] for r in REASONS]]


@pytest.mark.parametrize(
    "document",
    [
        {"满意度": {"csat": 4.6}},  # a client's own document
        {**keyed(), "extra": {"a": 1}},  # a group the layout does not have
        {k: v for k, v in keyed().items() if k != "loyalty"},  # one left out
        dict(reversed(list(keyed().items()))),  # groups in another order
        keyed(loyalty={"recency": 1.0, "repeat": 2.0, "tenure": 3.0, "membership": 4.0}),
        keyed(loyalty={"repeat": 1.0}),
        keyed(churn={"source": "classifier", "reasons": [{"feature": "x", "value": 1.0}]}),
        keyed(loyalty=[1, 2, 3, 4]),
        {"satisfaction": None},  # fewer groups than a snapshot without the models
        [1, 2, 3],
        "text",
        None,
    ],
)
def test_a_document_in_no_layout_is_stored_and_read_as_it_is(document: Any) -> None:
    assert compact(document) is document
    assert expand(document) == document


@pytest.mark.parametrize(
    "stored",
    [
        [99, [1]],  # a version this release does not know
        [CURRENT, [1, 2]],  # a group of the wrong length
        [CURRENT, *[None] * (len(LAYOUTS[CURRENT]) + 1)],  # more groups than the layout
        ["1", None],
        [True, None],
        [],
    ],
)
def test_a_list_in_no_known_layout_is_read_as_it_is(stored: list[Any]) -> None:
    assert expand(stored) == stored


def test_json_text_is_parsed_and_text_that_is_not_json_left_alone() -> None:
    document = keyed()
    assert expand(json.dumps(compact(document))) == document
    assert expand(json.dumps(document)) == document
    assert expand("not json") == "not json"


def test_the_scoring_run_writes_the_store_s_current_layout() -> None:
    """The run's groups, inputs and extra fields are the names of the layout it writes;
    a change to them needs a new layout version (rapport.store.components)."""
    groups = []
    for key, _, inputs in scoring.COMPONENT_GROUPS + scoring.PREDICTION_GROUPS:
        names = tuple(name for name, _ in inputs)
        names += {"value_tier": ("missing",), "churn": ("reasons",)}.get(key, ())
        groups.append((key, names))
    assert tuple(groups) == LAYOUTS[CURRENT]
    assert tuple(scoring.REASONS_DTYPE.inner.fields) == tuple(  # type: ignore[attr-defined]
        pl.Field(name, dtype)
        for name, dtype in zip(
            REASON_FIELDS, (pl.String, pl.Float64, pl.Float64, pl.String), strict=True
        )
    )


def _scores(rows: list[dict[str, Any]], *, models: bool = True) -> pa.Table:
    """A table of the run's columns: every input of the rows' groups 1.5 (or 2 for whole
    numbers), ``rows`` setting some."""
    columns: dict[str, Any] = {}
    for _, score, inputs in scoring.COMPONENT_GROUPS + (
        scoring.PREDICTION_GROUPS if models else ()
    ):
        columns.setdefault(score, 50.0 if score != "value_tier" else "gold")
        for _, column in inputs:
            columns.setdefault(column, 1.5)
    for column in ("sat_answers", "eng_events", "purchases_total", "depth_categories"):
        columns[column] = 2
    for column in ("tier_next", "lifecycle_phase", "lifecycle_stage", "churn_source"):
        columns[column] = "x"
    columns["tier_missing"] = "revenue,loyalty"
    columns["r_score"] = 3
    if models:
        columns["churn_reasons"] = REASONS
    else:
        columns.pop("churn_source")
    table = [{**columns, **row} for row in rows]
    schema = None
    if models:
        fields = [pa.field(n, pa.array([r[n] for r in table]).type) for n in columns]
        reasons = REASONS_TYPE
        schema = pa.schema(
            [f if f.name != "churn_reasons" else ("churn_reasons", reasons) for f in fields]
        )
    return pa.Table.from_pylist(table, schema=schema)


def _expected(row: dict[str, Any], *, models: bool = True) -> dict[str, Any]:
    """The keyed document of one row of :func:`_scores`, built value by value."""
    out: dict[str, Any] = {}
    for key, score, inputs in scoring.COMPONENT_GROUPS + (
        scoring.PREDICTION_GROUPS if models else ()
    ):
        if row[score] is None:
            out[key] = None
            continue
        group = {}
        for name, column in inputs:
            value = row[column]
            if isinstance(value, float):
                value = round(value, 4) if math.isfinite(value) else None
            group[name] = value
        if key == "value_tier":
            group["missing"] = (
                None if row["tier_missing"] is None else row["tier_missing"].split(",")
            )
        if key == "churn":
            group["reasons"] = row["churn_reasons"]
        out[key] = group
    return out


def test_the_scoring_run_s_documents_read_back_as_their_values() -> None:
    """Numbers rounded to four decimals, non-finite ones null, text escaped as JSON, the
    reasons each as their values, a group null where its score is."""
    rows = [
        {},
        {"loy_recency": 3.14159265, "loy_tenure": math.nan, "loy_repeat": math.inf},
        {"sat_weight": None, "sat_answers": None, "adv_nps": -0.00004, "revenue_rank": 1e-7},
        {"tier_next": 'say "hi" \\ 你好\n', "tier_missing": None, "lifecycle_phase": None},
        {"satisfaction": None, "advocacy": None, "r_score": None, "churn_risk": None},
        {"churn_reasons": None},
        {"churn_reasons": []},
        {"cost_to_serve": 1e22, "relationship_depth": 12345678.123456},
    ]
    table = _scores(rows)
    written = scoring.components(table).to_pylist()
    for got, row in zip(written, table.to_pylist(), strict=True):
        assert got.startswith(f"[{CURRENT},")
        assert expand(got) == _expected(row)


def test_a_snapshot_without_the_models_ends_with_its_cost_group() -> None:
    table = _scores([{}, {"satisfaction": None}], models=False)
    for got, row in zip(scoring.components(table).to_pylist(), table.to_pylist(), strict=True):
        document = expand(got)
        assert list(document)[-1] == "cost"
        assert document == _expected(row, models=False)
