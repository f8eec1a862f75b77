"""`rapport cohorts`, `rapport funnel` and `rapport demand`: formats parse, figures agree with
the analytics and the saved demand model, `rapport models fit` fits the demand model."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import sys

import pytest
from typer.testing import CliRunner

from rapport.cli.main import app, run
from rapport.config import get_settings, load_rules

runner = CliRunner()
AS_OF = ["--as-of", "2024-12-31"]


def _direct(name: str, period: str) -> list[dict]:
    """The analysis computed by calling the analytics function itself."""
    from rapport.analytics.cohorts import cohort_matrix
    from rapport.analytics.connect import connect
    from rapport.analytics.funnel import funnel
    from rapport.analytics.metrics import execute
    from rapport.analytics.periods import Period
    from rapport.analytics.sources import Sources

    settings = get_settings()
    rules = load_rules(settings)
    window = Period.parse(period, tz=settings.tz)
    with connect(settings) as eng:
        src = Sources(eng, rules=rules)
        if name == "cohorts":
            expr = cohort_matrix(src, window, rules=rules, tz=settings.tz)
        else:
            expr = funnel(src, window, rules=rules)
        return execute(expr, eng.con).to_pylist()


def test_cohorts_json_agrees_with_the_cohort_matrix(company: None) -> None:
    result = runner.invoke(app, ["cohorts", "--period", "2024-01..2024-12", "--format", "json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["engine"] == "duckdb"
    assert payload["period_start"] == "2023-12-31T16:00:00+00:00"
    rows = payload["cohorts"]
    expected = _direct("cohorts", "2024-01..2024-12")
    assert len(rows) == len(expected) > 12
    for got, want in zip(rows, expected, strict=True):
        assert (got["cohort"], got["month_offset"]) == (want["cohort"], want["month_offset"])
        assert (got["customers"], got["active"]) == (want["customers"], want["active"])
        assert got["share"] == pytest.approx(want["share"])
        start = dt.datetime.fromisoformat(got["cohort_start"])
        assert start == want["cohort_start"].replace(tzinfo=dt.UTC)
    # offset 0 is the cohort's own month: every member bought in it
    assert all(r["share"] == pytest.approx(100.0) for r in rows if r["month_offset"] == 0)


def test_cohorts_csv_and_table(company: None) -> None:
    result = runner.invoke(app, ["cohorts", *AS_OF, "--last", "6m", "--format", "csv"])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert set(rows[0]) == {
        "cohort",
        "cohort_start",
        "month_offset",
        "customers",
        "active",
        "share",
    }
    cohorts = {r["cohort"] for r in rows}
    assert cohorts <= {f"2024-{m:02d}" for m in range(7, 13)} and len(cohorts) >= 5
    # a cohort has one row per month from its own to the period's last
    assert sum(r["cohort"] == "2024-07" for r in rows) == 6
    assert sum(r["cohort"] == "2024-12" for r in rows) == 1

    table = runner.invoke(app, ["cohorts", *AS_OF, "--last", "6m"])
    assert table.exit_code == 0, table.output
    assert "同期群留存" in table.stdout and "第0月" in table.stdout and "2024-07" in table.stdout


def test_funnel_json_csv_and_table_agree_with_the_funnel(company: None) -> None:
    expected = {r["stage"]: r for r in _direct("funnel", "2024")}
    result = runner.invoke(app, ["funnel", "--period", "2024", "--format", "json"])
    assert result.exit_code == 0, result.output
    stages = json.loads(result.stdout)["stages"]
    assert [s["stage"] for s in stages] == ["leads", "converted", "purchased", "repeat"]
    for stage in stages:
        want = expected[stage["stage"]]
        assert stage["count"] == want["count"]
        assert stage["share_of_leads"] == pytest.approx(want["share_of_leads"])
    counts = [s["count"] for s in stages]
    assert counts[0] > 0 and counts == sorted(counts, reverse=True)

    result = runner.invoke(app, ["funnel", "--period", "2024", "--format", "csv"])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [int(r["count"]) for r in rows] == counts
    assert rows[0]["share_of_previous"] == ""  # the first stage has no previous

    table = runner.invoke(app, ["funnel", "--period", "2024"])
    assert table.exit_code == 0, table.output
    assert "转化漏斗" in table.stdout and "复购" in table.stdout


def test_funnel_in_english(company: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAPPORT_LOCALE", "en")
    get_settings.cache_clear()
    table = runner.invoke(app, ["funnel", "--period", "2024"])
    assert table.exit_code == 0, table.output
    assert "Conversion funnel" in table.stdout and "Repeat purchase" in table.stdout
    assert "复购" not in table.stdout


def _exit(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str):
    monkeypatch.setattr(sys, "argv", ["rapport", *args])
    get_settings.cache_clear()
    with pytest.raises(SystemExit) as info:
        run()
    return info.value.code, " ".join(capsys.readouterr().err.split())


def test_period_and_last_together_are_refused(
    company: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = _exit(monkeypatch, capsys, "cohorts", "--period", "2024", "--last", "6m")
    assert code == 7 and "--period" in err and "--last" in err  # in the locale's words


def test_models_fit_saves_the_demand_model_that_demand_forecasts_from(
    company: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from rapport.models.demand import DemandForecaster
    from rapport.models.registry import registry

    code, err = _exit(monkeypatch, capsys, "demand")
    assert code == 5 and "rapport models fit" in err

    fitted = runner.invoke(app, ["models", "fit", *AS_OF, "--json"])
    assert fitted.exit_code == 0, fitted.output
    assert "demand" in json.loads(fitted.stdout)["models"]
    record = registry(get_settings()).load("demand")
    model = DemandForecaster.from_dict(record.model)
    # fitted on the whole local weeks before --as-of: the last ends Monday 2024-12-30
    assert model.first_period_start_ + dt.timedelta(weeks=model.n_periods_) == dt.datetime(
        2024, 12, 29, 16
    )

    result = runner.invoke(app, ["demand", "--horizon", "3", "--format", "json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["model_version"] == record.version
    assert payload["history_end"] == "2024-12-29T16:00:00+00:00"
    expected = model.predict(3)
    assert len(payload["forecast"]) == len(expected) == 3 * len(model.states_)
    want = {(r.category, r.period_start.to_pydatetime()): r.forecast for r in expected.itertuples()}
    for row in payload["forecast"]:
        start = dt.datetime.fromisoformat(row["period_start"]).replace(tzinfo=None)
        assert row["forecast"] == pytest.approx(want[(row["category"], start)], abs=0.005)
        end = dt.datetime.fromisoformat(row["period_end"]).replace(tzinfo=None)
        assert end - start == dt.timedelta(weeks=1)

    csv_out = runner.invoke(app, ["demand", "--horizon", "2", "--format", "csv"])
    assert csv_out.exit_code == 0, csv_out.output
    rows = list(csv.DictReader(io.StringIO(csv_out.stdout)))
    assert len(rows) == 2 * len(model.states_)
    assert set(rows[0]) == {"category", "period_start", "period_end", "forecast"}

    table = runner.invoke(app, ["demand", "--horizon", "1"])
    assert table.exit_code == 0, table.output
    assert "2024-12-30" in table.stdout and record.version in table.stdout
