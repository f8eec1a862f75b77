"""The scoring pipeline's snapshot stays what the straightforward pipeline computes.

``reference_run`` below is the pipeline as first written, kept here as the reference:
one engine connection per step, the churn features of the training cut-off and of the
scoring date executed one after the other, the churn reasons JSON-encoded customer by
customer and the ``components`` documents built through a whole-table Polars frame. Its
snapshot is written from its rows as mappings (``write_snapshot``: each row checked by
the store's row rules) under another date, and every column of every row of
``rapport.scoring.run``'s snapshot must equal it (``components`` compared as parsed JSON).
The faster pipeline may reorganize the work, never change a figure.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa
import pytest
import sqlalchemy as sa

from rapport import scoring
from rapport.analytics.churn_features import churn_features, churn_labels
from rapport.analytics.connect import connect
from rapport.analytics.metrics import execute
from rapport.analytics.periods import day_end
from rapport.analytics.sources import Sources
from rapport.config import Rules, Settings, load_rules
from rapport.models import pipeline
from rapport.models.churn import ChurnModel
from rapport.models.units import Duration
from rapport.store import schema, session_scope
from rapport.store.scores import write_snapshot

END = dt.date(2025, 1, 1)
DAY = END - dt.timedelta(days=1)
#: The reference snapshot is stored under this date, beside the pipeline's.
REFERENCE_DAY = DAY - dt.timedelta(days=1)


# --- the reference pipeline ----------------------------------------------------------------


def _plain(reasons: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for r in reasons:
        item = {}
        for key, value in r.items():
            if isinstance(value, float | np.floating):
                value = None if not np.isfinite(value) else round(float(value), 4)
            elif isinstance(value, np.integer):
                value = int(value)
            item[key] = value
        out.append(item)
    return out


def reference_fit(settings: Settings, rules: Rules, moment: dt.datetime) -> Any:
    h = rules.models.churn_horizon_days
    cutoff = moment - dt.timedelta(days=h)
    with connect(settings) as eng:
        src = Sources(eng, rules=rules)
        summary = pipeline.model_summary(eng, src, settings, rules, moment)
        fitted = pipeline.FittedModels(moment=moment, summary=summary)
        fitted.purchase = pipeline.fit_purchase_model(summary, rules)
        fitted.spend = pipeline.fit_spend_model(summary, rules)
        features = execute(churn_features(src, cutoff, rules=rules, horizon_days=h), eng.con)
        labels = execute(churn_labels(src, cutoff, horizon_days=h), eng.con)
        table = pipeline._join(features, labels)
        cut = pipeline.model_summary(eng, src, settings, rules, cutoff)
        cut_model = pipeline.fit_purchase_model(cut, rules)
        table = pipeline._join(table, pipeline.p_alive_table(cut_model, cut))
        assert table.num_rows <= pipeline.CHURN_TRAIN_MAX
        fitted.churn = ChurnModel().fit(table, label_column="churned")
        current = execute(churn_features(src, moment, rules=rules, horizon_days=h), eng.con)
        current = pipeline._join(current, pipeline.p_alive_table(fitted.purchase, summary))
        fitted.current_features = current.sort_by("customer_id")
    return fitted


def reference_predict(fitted: Any, rules: Rules) -> pa.Table:
    s = fitted.summary
    n = len(s)
    model = fitted.purchase
    p_alive = np.asarray(model.probability_alive(s.frequency, s.recency, s.T), np.float64)
    expected = np.asarray(
        model.expected_purchases(pipeline.EXPECTED_PURCHASES_HORIZON, s.frequency, s.recency, s.T),
        np.float64,
    )
    risk = pipeline._no_purchase_probability(
        model, s, Duration(rules.models.churn_horizon_days, "days")
    )
    source = np.full(n, model.kind, dtype=object)
    reasons = np.full(n, None, dtype=object)
    clv, low, high = pipeline._clv(fitted, rules)
    features = fitted.current_features
    ids = features.column("customer_id").to_numpy()
    proba = np.asarray(fitted.churn.predict_proba(features), np.float64)
    why = fitted.churn.reasons(features, top=rules.models.churn_reasons)
    pos = np.searchsorted(s.customer_id, ids)
    found = (pos < n) & (s.customer_id[np.minimum(pos, n - 1)] == ids)
    risk[pos[found]] = proba[found]
    source[pos[found]] = "classifier"
    for index, (i, ok) in enumerate(zip(pos, found, strict=True)):
        if ok:
            reasons[i] = json.dumps(_plain(why[index]), ensure_ascii=False)
    out = {
        "customer_id": s.customer_id,
        "p_alive": p_alive,
        "expected_purchases_90d": expected,
        "predicted_clv": np.round(clv, 2),
        "clv_low": np.round(low, 2),
        "clv_high": np.round(high, 2),
        "churn_risk": risk,
    }
    table = pa.table(
        {k: pa.array(v, from_pandas=True) if k != "customer_id" else v for k, v in out.items()}
    )
    table = table.append_column("churn_source", pa.array(source.tolist(), pa.string()))
    return table.append_column("churn_reasons", pa.array(reasons.tolist(), pa.string()))


def reference_components(scores: pa.Table) -> list[str]:
    frame = pl.from_arrow(scores)

    def value(column: str) -> pl.Expr:
        expr = pl.col(column)
        dtype = frame.schema[column]
        return expr.round(scoring.COMPONENT_DECIMALS) if dtype.is_float() else expr

    groups = []
    for key, score, inputs in scoring.COMPONENT_GROUPS + scoring.PREDICTION_GROUPS:
        fields = [value(column).alias(name) for name, column in inputs]
        if key == "value_tier":
            fields.append(pl.col("tier_missing").str.split(",").alias("missing"))
        if key == "churn":
            fields.append(
                pl.col("churn_reasons").str.json_decode(scoring.REASONS_DTYPE).alias("reasons")
            )
        group = pl.struct(fields)
        groups.append(pl.when(pl.col(score).is_not_null()).then(group).alias(key))
    encoded = frame.select(pl.struct(groups).struct.json_encode().alias("components"))
    return encoded.to_series().to_list()


def reference_rows(settings: Settings, day: dt.date) -> list[dict[str, Any]]:
    """The snapshot rows of ``day`` as the reference pipeline computes them."""
    from rapport.analytics.scores import SCORE_COLUMNS

    rules = load_rules(settings)
    moment = day_end(day, settings.tz)
    fitted = reference_fit(settings, rules, moment)
    predictions = reference_predict(fitted, rules)
    scores = scoring.compute(settings, moment, rules=rules, predictions=predictions)
    joined = scoring.with_predictions(scores, predictions)
    names = [*SCORE_COLUMNS, *scoring.PREDICTION_COLUMNS]
    rows = joined.select(names).to_pylist()
    for row, document in zip(rows, reference_components(joined), strict=True):
        row["components"] = document
    return rows


# --- the comparison ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sample_store(tmp_path_factory) -> tuple[str, Settings]:
    """2,000 customers over 24 months, loaded into a SQLite store."""
    from rapport.sample import generate
    from rapport.sample.load import load_company
    from rapport.store.db import create_engine, upgrade

    company = generate(customers=2000, months=24, seed=11, end=END)
    root = tmp_path_factory.mktemp("scoring-reference")
    url = f"sqlite:///{root / 'store.db'}"
    engine = create_engine(url)
    upgrade(engine)
    load_company(company, engine=engine, work_dir=root)
    engine.dispose()
    return url, Settings(_env_file=None, database_url=url, data_dir=root / "data")


def _stored(url: str, day: dt.date) -> dict[int, dict[str, Any]]:
    from rapport.store.db import create_engine

    engine = create_engine(url)
    s = schema.customer_scores
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.select(s).where(s.c.as_of == day)).mappings().all()
    finally:
        engine.dispose()
    out = {}
    for row in rows:
        item = {k: v for k, v in row.items() if k not in ("as_of", "computed_at")}
        if isinstance(item["components"], str):
            item["components"] = json.loads(item["components"])
        out[item["customer_id"]] = item
    return out


def test_the_snapshot_is_the_reference_pipelines(sample_store) -> None:
    from rapport.store.db import create_engine

    url, settings = sample_store
    rows = reference_rows(settings, DAY)
    engine = create_engine(url)
    try:
        with session_scope(engine) as session:
            write_snapshot(session=session, as_of=REFERENCE_DAY, rows=rows)
    finally:
        engine.dispose()
    result = scoring.run(settings, as_of=DAY)
    assert result.models is not None and not result.models.notes
    expected, actual = _stored(url, REFERENCE_DAY), _stored(url, DAY)
    assert len(actual) == len(expected) == 2000
    classified = [r for r in actual.values() if r["components"].get("churn", {}) is not None]
    assert any(
        (r["components"].get("churn") or {}).get("source") == "classifier" for r in classified
    )
    for customer, want in expected.items():
        got = actual[customer]
        for key, value in want.items():
            assert got[key] == value, (customer, key, got[key], value)
