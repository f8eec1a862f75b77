"""``rapport models fit|show|backtest``, ``rapport clv`` and ``rapport at-risk`` on a
generated company, and what they say when there is too little history."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import shutil
from pathlib import Path

import pytest

from rapport.config import get_settings
from rapport.errors import NotFound, ValidationFailed
from rapport.models.registry import registry
from rapport.sample import generate
from rapport.sample.load import load_company
from rapport.store.db import create_engine, upgrade
from tests.analytics import fixture_data as fx
from tests.analytics.conftest import load_dataset
from tests.cli.test_scores import _wide, flat, invoke  # noqa: F401 — _wide is autouse

DAY = "2024-12-31"


@pytest.fixture(scope="module")
def company_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """1,500 customers over 24 months in a SQLite file, copied into each test's store."""
    root = tmp_path_factory.mktemp("models-cli")
    path = root / "company.db"
    engine = create_engine(f"sqlite:///{path}")
    upgrade(engine)
    load_company(
        generate(customers=1500, months=24, seed=3, end=dt.date(2025, 1, 1)),
        engine=engine,
        work_dir=root,
    )
    engine.dispose()
    return path


@pytest.fixture
def company(company_db: Path) -> None:
    url = get_settings().database_url
    shutil.copy(company_db, url.removeprefix("sqlite:///"))


def test_fit_saves_versions_that_show_reads(company) -> None:
    result = invoke("models", "fit", "--as-of", DAY)
    assert result.exit_code == 0, result.output
    text = flat(result.output)
    # in the default locale (zh_CN): model names as published, everything else Chinese
    assert "MBG/NBD" in text and "Gamma-Gamma" in text
    assert "已收敛" in text and "95%区间" in text and "converged" not in text
    reg = registry(get_settings())
    assert reg.versions("mbgnbd") and reg.versions("gammagamma") and reg.versions("churn")
    record = reg.load("mbgnbd")
    assert record.data["time_unit"] == "weeks"
    assert record.data["fingerprint"].startswith("sha256:")
    assert record.config["purchase_model"] == "mbgnbd"

    shown = invoke("models", "show", "--json")
    assert shown.exit_code == 0, shown.output
    doc = json.loads(shown.output)
    assert set(doc) == {"mbgnbd", "gammagamma", "churn", "demand"}
    assert doc["gammagamma"]["model"]["kind"] == "gammagamma"
    table = invoke("models", "show", "mbgnbd")
    assert table.exit_code == 0 and "alpha" in table.output
    assert json.loads(invoke("models", "show", "--format", "json").output) == doc
    rows = list(csv.DictReader(io.StringIO(invoke("models", "show", "--format", "csv").output)))
    params = {(r["kind"], r["parameter"]): r for r in rows}
    saved = doc["mbgnbd"]["model"]["params"]
    assert {p for k, p in params if k == "mbgnbd"} == set(saved)
    for name, value in saved.items():
        row = params["mbgnbd", name]
        assert float(row["estimate"]) == pytest.approx(value)
        assert float(row["ci_low"]) <= value <= float(row["ci_high"])
    assert ("churn", "") in params  # a model without parameters is one row


@pytest.mark.slow  # two fits of every model (~20 s of CPU); one fit runs in the fast loop
def test_fit_json_and_a_second_fit_is_a_new_version(company) -> None:
    first = invoke("models", "fit", "--as-of", DAY, "--json")
    assert first.exit_code == 0, first.output
    doc = json.loads(first.output)
    assert doc["data"]["customers"] > 1000 and doc["notes"] == []
    second = invoke("models", "fit", "--as-of", DAY, "--json")
    assert (
        json.loads(second.output)["models"]["mbgnbd"]["version"]
        != (doc["models"]["mbgnbd"]["version"])
    )
    assert len(registry(get_settings()).versions("mbgnbd")) == 2


def test_show_without_models_says_how_to_fit(company) -> None:
    result = invoke("models", "show")
    assert result.exit_code == 0
    assert "rapport models fit" in result.output
    missing = invoke("models", "show", "churn")
    assert isinstance(missing.exception, NotFound)  # exit code 5 through `rapport`
    assert "rapport models fit" in str(missing.exception.hint)


def test_backtest_prints_every_model_and_writes_the_report(
    company, tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RAPPORT_LOCALE", "en")
    report = tmp_path / "out" / "backtest.html"
    result = invoke(
        "models", "backtest", "--as-of", DAY, "--holdout", "13w", "--report", str(report)
    )
    assert result.exit_code == 0, result.output
    text = flat(result.output)
    assert "MBG/NBD — holdout 13 weeks" in text
    assert "7+" in text and "Gamma-Gamma" in text
    assert "ROC-AUC" in text and "Baseline" in text
    assert "Seasonal naive" in text
    html = report.read_text(encoding="utf-8")
    assert html.count("<img") >= 5
    assert "http://" not in html and "https://" not in html


@pytest.mark.slow  # every model backtested again (~10 s of CPU), as JSON this time
def test_backtest_json(company) -> None:
    result = invoke("models", "backtest", "--as-of", DAY, "--holdout", "13w", "--json")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    bins = doc["purchase"]["frequency_bins"]
    assert [b["bin"] for b in bins] == ["0", "1", "2", "3", "4", "5", "6", "7+"]
    assert sum(b["customers"] for b in bins) == doc["purchase"]["customers"]
    assert doc["churn"]["model"]["roc_auc"] > 0.5
    assert doc["report"] is None or doc["report"].endswith(".html")


def test_backtest_of_some_models(company) -> None:
    result = invoke(
        "models", "backtest", "--as-of", DAY, "--holdout", "13w", "--only", "spend", "--json"
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert doc["spend"]["customers"] > 0
    assert doc["purchase"] is None and doc["churn"] is None and doc["demand"] is None
    table = invoke(
        "models",
        "backtest",
        "--as-of",
        DAY,
        "--holdout",
        "13w",
        "--only",
        "spend",
        "--format",
        "csv",
    )
    assert table.exit_code == 0, table.output
    rows = list(csv.DictReader(io.StringIO(table.output)))
    assert [r["part"] for r in rows] == ["spend"]
    assert int(rows[0]["customers"]) == doc["spend"]["customers"]
    assert float(rows[0]["actual"]) == pytest.approx(doc["spend"]["actual_mean"])
    bad = invoke("models", "backtest", "--as-of", DAY, "--only", "crystal-ball")
    assert isinstance(bad.exception, ValidationFailed)
    assert "purchase, spend, churn, demand" in str(bad.exception.hint)


def test_bad_holdout_is_refused(company) -> None:
    result = invoke("models", "backtest", "--as-of", DAY, "--holdout", "soon")
    assert isinstance(result.exception, ValidationFailed)  # exit code 7 through `rapport`
    assert "not a duration" in str(result.exception)


def test_clv_and_at_risk_read_the_snapshot(company) -> None:
    assert invoke("score", "--as-of", DAY).exit_code == 0
    clv = invoke("clv", "--as-of", DAY, "--limit", "3", "--format", "json")
    assert clv.exit_code == 0, clv.output
    rows = json.loads(clv.output)["customers"]
    assert len(rows) == 3
    values = [r["predicted_clv"] for r in rows]
    assert values == sorted(values, reverse=True)
    assert all(r["clv_low"] <= r["predicted_clv"] <= r["clv_high"] for r in rows)

    risk = invoke("at-risk", "--as-of", DAY, "--limit", "5", "--format", "json")
    assert risk.exit_code == 0, risk.output
    warnings = json.loads(risk.output)["customers"]
    assert 1 <= len(warnings) <= 5
    assert all(w["churn_risk"] >= 0.5 for w in warnings)
    at_risk = [w["value_at_risk"] for w in warnings]
    assert at_risk == sorted(at_risk, reverse=True)
    assert all(r["direction"] == "raises" for w in warnings for r in w["reasons"])
    table = invoke("at-risk", "--as-of", DAY, "--limit", "5")
    assert "流失预警" in table.output


def test_too_little_history_leaves_the_predictions_empty_and_says_why(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    engine = create_engine(get_settings().database_url)
    upgrade(engine)
    load_dataset(engine, fx.TABLES)
    engine.dispose()
    result = invoke("models", "fit", "--as-of", "2024-08-31")
    assert result.exit_code == 0, result.output
    text = flat(result.output)
    # the note in the locale, its reason too (the model's domain error, in Chinese)
    assert "购买模型未拟合" in text and "之前只有" in text and "购买模型至少需要" in text
    assert "repeat buyers" not in text
    assert invoke("score", "--as-of", "2024-08-31").exit_code == 0
    empty = invoke("clv", "--as-of", "2024-08-31", "--format", "json")
    assert json.loads(empty.output)["customers"] == []
    monkeypatch.setenv("RAPPORT_LOCALE", "en")
    english = flat(invoke("models", "fit", "--as-of", "2024-08-31").output)
    assert "Purchase model not fitted: only" in english and "repeat buyers before" in english
