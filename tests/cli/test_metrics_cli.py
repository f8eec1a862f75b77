"""`rapport metrics` from the command line: formats, segments, series, errors."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

import pytest
from typer.testing import CliRunner

from rapport.cli.main import app
from rapport.errors import ValidationFailed

runner = CliRunner()
AS_OF = ["--as-of", "2024-12-31"]


def test_json_is_exact_and_traceable(company: None) -> None:
    result = runner.invoke(
        app,
        ["metrics", *AS_OF, "--last", "6m", "--metrics", "repurchase_rate,nps", "--format", "json"],
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    rows = {r["metric"]: r for r in payload["metrics"]}
    assert set(rows) == {"repurchase_rate", "nps"}
    rr = rows["repurchase_rate"]
    assert rr["unit"] == "percent" and rr["formula"]
    assert rr["value"] == pytest.approx(rr["numerator"] / rr["denominator"] * 100)


def test_series_csv_has_one_row_per_bucket(company: None) -> None:
    result = runner.invoke(
        app,
        [
            "metrics",
            "--period",
            "2024-01..2024-06",
            "--granularity",
            "month",
            "--metrics",
            "customers_new",
            "--format",
            "csv",
        ],
    )
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert len(rows) == 6
    assert all(r["metric"] == "customers_new" for r in rows)


def test_by_attribute_and_by_score_segment(company: None) -> None:
    result = runner.invoke(
        app, ["metrics", *AS_OF, "--by", "gender", "--metrics", "customers_end", "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    segments = {r["segment"] for r in json.loads(result.stdout)["metrics"]}
    assert {"female", "male"} <= segments
    assert runner.invoke(app, ["score", "--as-of", "2024-12-31"]).exit_code == 0
    result = runner.invoke(
        app,
        ["metrics", *AS_OF, "--by", "value_tier", "--metrics", "customers_end", "--format", "json"],
    )
    assert result.exit_code == 0, result.output
    tiers = {r["segment"] for r in json.loads(result.stdout)["metrics"]}
    assert tiers & {"diamond", "gold", "silver", "bronze"}


def test_by_age_band_groups_each_customer_by_their_age_on_as_of(company: None) -> None:
    from rapport.analytics.connect import connect
    from rapport.analytics.metrics import execute
    from rapport.analytics.sources import Sources
    from rapport.config import get_settings
    from rapport.reports.groups import grouping

    args = ["metrics", *AS_OF, "--by", "age_band", "--metrics", "customers_end"]
    result = runner.invoke(app, [*args, "--format", "json"])
    assert result.exit_code == 0, result.output
    shown = {r["segment"] for r in json.loads(result.stdout)["metrics"]}
    assert shown and shown <= {"<25", "25-34", "35-44", "45-54", "55+", None}
    # the grouping, against each customer's age on 2024-12-31 counted by hand
    settings = get_settings()
    end = dt.datetime(2024, 12, 31, 16)  # the end of 2024-12-31 in Shanghai, UTC
    with connect(settings) as eng:
        src = Sources(eng)
        groups = execute(grouping(src, "age_band", as_of=end, tz=settings.tz), eng.con)
        born = execute(src.customers.select("id", "birthday"), eng.con)
    day = dt.date(2024, 12, 31)
    bands = {}
    for row in born.to_pylist():
        b = row["birthday"]
        age = None if b is None else day.year - b.year - ((day.month, day.day) < (b.month, b.day))
        bands[row["id"]] = next(
            (
                name
                for name, low, high in (
                    ("<25", 0, 24), ("25-34", 25, 34), ("35-44", 35, 44), ("45-54", 45, 54),
                    ("55+", 55, 200),
                )
                if age is not None and low <= age <= high
            ),
            None,
        )  # fmt: skip
    assert {r["customer_id"]: r["segment"] for r in groups.to_pylist()} == bands
    assert len(set(bands.values())) >= 3


def test_table_has_chinese_labels(company: None) -> None:
    result = runner.invoke(app, ["metrics", *AS_OF, "--metrics", "retention_rate"])
    assert result.exit_code == 0, result.output
    assert "客户留存率 (retention_rate)" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--metrics", "happiness"], "happiness"),
        (["--period", "2024", "--last", "90d"], "not both"),
        (["--by", "shoe_size"], "shoe_size"),
        (["--period", "2024-13"], "2024-13"),
    ],
)
def test_bad_options_are_validation_errors(company: None, args: list[str], message: str) -> None:
    result = runner.invoke(app, ["metrics", *args])
    assert result.exit_code != 0
    assert isinstance(result.exception, ValidationFailed)
    assert message in str(result.exception)
