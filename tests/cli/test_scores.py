"""``rapport score``, ``customer``, ``segments``, ``tiers``, ``stages``, ``diamonds`` and
``movements`` on the fixture company (tests/analytics/fixture_data.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from rapport.cli.common import console
from rapport.cli.main import app
from rapport.config import get_settings
from rapport.errors import NotFound, ValidationFailed
from rapport.store.db import create_engine, upgrade
from tests.analytics import fixture_data as fx
from tests.analytics.conftest import load_dataset
from tests.conftest import built_once, configured_at, install_store

runner = CliRunner()
#: 2024-08-31 ends at 2024-08-31 16:00 UTC in Shanghai; nothing of the fixture happens
#: between then and fx.AS_OF, so the stages and tiers are those of test_scores.py.
DAY = "2024-08-31"


def invoke(*args: str) -> Result:
    get_settings.cache_clear()
    return runner.invoke(app, list(args))


#: Rich's table and panel borders, dropped before matching phrases.
BORDERS = str.maketrans({c: " " for c in "│┃┏┓┗┛┡┩└┘┌┐╭╮╰╯━─┳┻╇┼╋┬┴"})


def flat(text: str) -> str:
    """Output without borders and line wrapping, for phrase matching."""
    return " ".join(text.translate(BORDERS).split())


@pytest.fixture(autouse=True)
def _wide(monkeypatch: pytest.MonkeyPatch) -> None:
    """A wide console, so that tables are not truncated."""
    monkeypatch.setattr(console, "_width", 240)


def _load_fixture_company() -> None:
    engine = create_engine(get_settings().database_url)
    upgrade(engine)
    load_dataset(engine, fx.TABLES)
    engine.dispose()


@pytest.fixture(scope="session")
def _scored_fixture_company(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fixture company scored on 2024-06-30 and on :data:`DAY` by ``rapport score``,
    built once for all pytest-xdist workers (scoring costs seconds, copying milliseconds)."""
    with built_once(tmp_path_factory, "cli-fixture-scored") as (root, done):
        if not done:
            (root / "rapport.db").unlink(missing_ok=True)  # left by a worker that failed
            with configured_at(root):
                _load_fixture_company()
                assert invoke("score", "--as-of", "2024-06-30").exit_code == 0
                result = invoke("score", "--as-of", DAY)
                assert result.exit_code == 0, result.output
    return root


@pytest.fixture
def company() -> None:
    """The configured (temporary) SQLite store, migrated and holding the fixture company."""
    _load_fixture_company()


@pytest.fixture
def scored(_scored_fixture_company: Path) -> None:
    """The configured store holds the fixture company scored on 2024-06-30 and :data:`DAY`
    (a copy: the test may write to it)."""
    install_store(_scored_fixture_company)


def test_score_reports_rows_and_coverage(company) -> None:
    result = invoke("score", "--as-of", DAY)
    assert result.exit_code == 0, result.output
    out = flat(result.stdout)
    assert "10 客户 — 2024-08-31" in out
    # coverage: loyalty 9 of 10 (c8 never bought), RFM 7 (bought in the window)
    assert "忠诚度 9 90.0%" in out
    assert "RFM 7 70.0%" in out
    assert "满意度 7 70.0%" in out


def test_rescoring_the_same_date_keeps_one_snapshot(scored) -> None:
    again = invoke("score", "--as-of", DAY)
    assert again.exit_code == 0
    data = json.loads(invoke("tiers", "--format", "json").stdout)
    assert data["as_of"] == DAY
    assert sum(g["customers"] for g in data["groups"]) == 10


def test_tiers_sizes_and_revenue_shares(scored) -> None:
    data = json.loads(invoke("tiers", "--format", "json").stdout)
    groups = {g["group"]: g for g in data["groups"]}
    assert [g["group"] for g in data["groups"]] == ["silver", "bronze", None]
    # silver: c1 (600), c4 (100), c9 (500) of the window's 1,660
    assert groups["silver"]["customers"] == 3
    assert groups["silver"]["revenue"] == pytest.approx(1200)
    assert groups["silver"]["revenue_share"] == pytest.approx(1200 / 1660 * 100)
    assert groups[None]["customers"] == 1  # c8 never bought: no tier
    table = flat(invoke("tiers").stdout)
    assert "白银 3 30.0% 1,200.00 72.3%" in table


def test_segments_in_the_order_of_the_map_with_bilingual_names(scored, monkeypatch) -> None:
    data = json.loads(invoke("segments", "--format", "json").stdout)
    assert [g["group"] for g in data["groups"]] == ["loyal", "new", "at_risk", "lost", None]
    assert flat(invoke("segments").stdout).count("流失客户") == 1
    monkeypatch.setenv("RAPPORT_LOCALE", "en")
    english = flat(invoke("segments").stdout)
    assert "At risk / Can't lose" in english and "Lost" in english


def test_stages(scored) -> None:
    data = json.loads(invoke("stages", "--format", "json").stdout)
    sizes = {g["group"]: g["customers"] for g in data["groups"]}
    assert sizes == {
        "prospect": 1,
        "new": 1,
        "active": 3,
        "at_risk": 2,
        "churned": 2,
        "reactivated": 1,
    }


def test_customer_card(scored) -> None:
    result = invoke("customer", "1", "--entries", "5")
    assert result.exit_code == 0, result.output
    out = flat(result.stdout)
    assert "王芳 #1" in out and "上海" in out
    assert "客户时间线 (5)" in out
    assert "2024-05-21 04:00" not in out  # local times: 2024-05-20 12:00 UTC is 20:00
    assert "2024-05-20 20:00 订单 已完成 天猫 250.00" in out
    assert "满意度 53.7 问卷回答 3, 工单评分 0, 投诉 1" in out
    assert "R3 F5 M5 · 忠诚客户" in out
    assert "价值分层: 白银" in out
    # loyalty 44.4 as of 2024-08-31 16:00 UTC (44.3 eight hours later, in test_scores.py)
    assert "✓ 忠诚度: 44.4 (≥ 25)" in out
    assert "距下一层级 黄金: ✗ 忠诚度: 44.4 (≥ 45)" in out
    assert "生命周期阶段: 活跃 · 生命周期 维护" in out
    assert "变化: 2024-06-30 → 2024-08-31" in out


def test_customer_card_in_english_for_a_prospect(scored, monkeypatch) -> None:
    monkeypatch.setenv("RAPPORT_LOCALE", "en")
    out = flat(invoke("customer", "8").stdout)
    assert "Timeline" in out and "Prospect" in out and "Acquisition" in out
    assert "Value tier: —" in out


def test_a_customer_without_snapshot_gets_a_hint(company) -> None:
    out = flat(invoke("customer", "2").stdout)
    assert "尚无评分快照" in out and "rapport score" in out


def test_diamonds_lists_none_on_the_fixture(scored) -> None:
    result = invoke("diamonds")
    assert result.exit_code == 0, result.output
    assert "钻石客户 — 2024-08-31：共 0 位，显示 0 位" in result.stdout
    data = json.loads(invoke("diamonds", "--format", "json").stdout)
    assert data == {"as_of": DAY, "diamonds": 0, "customers": []}


def test_movements_between_the_two_latest_snapshots(scored) -> None:
    result = invoke("movements", "--by", "lifecycle_stage")
    assert result.exit_code == 0, result.output
    out = flat(result.stdout)
    assert "生命周期阶段: 2024-06-30 → 2024-08-31" in out


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (("movements", "--from", "2024-07-31"), "--from"),
        (("movements", "--to", "2024-07-31"), "--to"),
        (("movements", "--from", "2024-07-31", "--to", DAY), "--from"),
        (("movements", "--from", "2024-06-30", "--to", "2024-07-31"), "--to"),
        (("segments", "--as-of", "2024-07-31"), "--as-of"),
        (("tiers", "--as-of", "2024-07-31"), "--as-of"),
        (("clusters", "--as-of", "2024-07-31"), "--as-of"),
    ],
)
def test_a_date_without_snapshot_is_refused_with_the_dates_that_have_one(
    scored, args: tuple[str, ...], option: str
) -> None:
    """Not every customer "moving from —": the date is wrong, and the answer says which
    dates would do (exit code of a validation error)."""
    result = invoke(*args)
    assert isinstance(result.exception, ValidationFailed), result.output
    error = result.exception
    assert error.exit_code == 7 and error.field == option
    assert str(error).startswith("no score snapshot dated 2024-07-31")
    assert "snapshots exist on 2024-06-30, 2024-08-31 (2 in all)" in str(error)
    assert result.stdout == ""  # no table of "moves" printed


def test_movements_from_a_date_with_a_snapshot_still_works(scored) -> None:
    result = invoke("movements", "--by", "lifecycle_stage", "--from", "2024-06-30")
    assert result.exit_code == 0, result.output
    assert "生命周期阶段: 2024-06-30 → 2024-08-31" in flat(result.stdout)
    assert "—" not in flat(result.stdout).split("→", 1)[1]


def test_movements_before_any_snapshot_says_run_score(company) -> None:
    result = invoke("movements", "--from", "2024-06-30")
    assert isinstance(result.exception, NotFound)
    assert "rapport score" in str(result.exception)


def test_errors_name_what_is_wrong(company) -> None:
    missing = invoke("customer", "999")
    assert isinstance(missing.exception, NotFound)
    nothing = invoke("tiers")
    assert isinstance(nothing.exception, NotFound) and "rapport score" in str(
        nothing.exception.hint
    )
    bad = invoke("score", "--as-of", "31/08/2024")
    assert isinstance(bad.exception, ValidationFailed)
    wrong = invoke("movements", "--by", "city")
    assert isinstance(wrong.exception, ValidationFailed)
