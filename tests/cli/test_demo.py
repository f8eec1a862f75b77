"""`rapport demo` and `rapport sample`: the README's main job works on embedded defaults."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from rapport.cli.main import app
from rapport.config import get_settings
from rapport.store import schema
from rapport.store.db import create_engine

runner = CliRunner()


def _count(table: sa.Table) -> int:
    engine = create_engine(get_settings().database_url)
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()


@pytest.mark.slow  # the demo twice on 400 customers: ~25 s of CPU (the English one is fast)
def test_demo_builds_and_summarizes_the_company() -> None:
    result = runner.invoke(app, ["demo", "--customers", "400", "--months", "6"])
    assert result.exit_code == 0, result.output
    assert "样例公司" in result.stdout and "销售额" in result.stdout
    # the headline metrics, with Chinese labels and their definition ids
    for label in ("客户留存率 (retention_rate)", "净推荐值 (nps)", "SLA达成率 (sla_attainment)"):
        assert label in result.stdout
    # the scores: four-degree averages, tiers, RFM segments, top diamonds
    for title in ("客户四度", "价值分层", "RFM", "钻石"):
        assert title in result.stdout, title
    assert _count(schema.customers) == 400
    assert _count(schema.orders) > 400
    # the snapshot the demo wrote feeds the analysis commands
    for command in ("relations", "clusters", "tiers", "diamonds"):
        follow = runner.invoke(app, [command])
        assert follow.exit_code == 0, (command, follow.output)
    # a second run finds everything in place
    again = runner.invoke(app, ["demo", "--customers", "400", "--months", "6"])
    assert again.exit_code == 0
    assert _count(schema.customers) == 400


def test_demo_in_english(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAPPORT_LOCALE", "en")
    get_settings.cache_clear()
    result = runner.invoke(app, ["demo", "--customers", "200", "--months", "3"])
    assert result.exit_code == 0, result.output
    assert "Sample company" in result.stdout and "Revenue" in result.stdout
    assert "Retention rate (retention_rate)" in result.stdout


def test_sample_to_files(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = runner.invoke(
        app,
        ["sample", "--customers", "300", "--months", "4", "--out", str(out), "--format", "parquet"],
    )
    assert result.exit_code == 0, result.output
    assert (out / "orders.parquet").is_file() and (out / "params.json").is_file()


def test_sample_cdnow_into_store() -> None:
    assert runner.invoke(app, ["init"]).exit_code == 0
    result = runner.invoke(app, ["sample", "--dataset", "cdnow"])
    assert result.exit_code == 0, result.output
    assert _count(schema.customers) == 2357
    assert _count(schema.orders) == 6919
