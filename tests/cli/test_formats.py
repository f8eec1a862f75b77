"""``--format table|json|csv`` of every list and report command, on a generated shop with
two score snapshots (the later one with the predictive models).

For each command: the JSON parses, the CSV parses with the expected header, the two agree
value for value and with the store; at 80 columns (a terminal, or a pipe) the table shows
every number of its essential columns uncut and no cell is cut short with '…'.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import shutil
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner, Result

from rapport.cli.common import console
from rapport.cli.main import app
from rapport.config import get_settings
from rapport.models.clusters import FEATURES
from rapport.store import schema
from rapport.store.db import create_engine
from tests.conftest import SCORED_DAY, SCORED_EARLIER, ScoredStore

runner = CliRunner()
DAY = SCORED_DAY.isoformat()
EARLIER = SCORED_EARLIER.isoformat()


def invoke(*args: str) -> Result:
    get_settings.cache_clear()
    return runner.invoke(app, list(args))


@pytest.fixture
def shop(scored_store: ScoredStore, monkeypatch: pytest.MonkeyPatch) -> None:
    """The session's scored company (EARLIER without models, DAY with them) as the store."""
    shutil.copy(scored_store.path, get_settings().database_url.removeprefix("sqlite:///"))
    monkeypatch.setattr(console, "_width", 80)


# --- how the table shows a value -----------------------------------------------------------


def whole(v: int) -> str:
    return f"{v:,}"


def money(v: float) -> str:
    return f"{v:,.2f}"


def pct(v: float) -> str:  # already 0–100
    return f"{v:.1f}%"


def share(v: float) -> str:  # 0–1
    return f"{v * 100:.1f}%"


def risk(v: float) -> str:
    return f"{v:.0%}"


def two(v: float) -> str:
    return f"{v:.2f}"


GROUP_CSV = [
    "group",
    "customers",
    "customer_share",
    "revenue",
    "revenue_share",
    "avg_satisfaction",
    "avg_loyalty",
    "avg_engagement",
    "avg_advocacy",
    "avg_relationship_index",
]
GROUP_SHOWN = {"customers": whole, "customer_share": pct, "revenue": money}

#: command → (arguments, JSON key of the rows, CSV header, essential numbers and their text)
COMMANDS: dict[str, tuple[tuple[str, ...], str, list[str], dict[str, Callable[[Any], str]]]] = {
    "segments": (("segments",), "groups", GROUP_CSV, GROUP_SHOWN),
    "tiers": (("tiers",), "groups", GROUP_CSV, GROUP_SHOWN),
    "stages": (("stages", "--as-of", EARLIER), "groups", GROUP_CSV, GROUP_SHOWN),
    "movements": (
        ("movements", "--by", "lifecycle_stage"),
        "movements",
        ["from", "to", "customers"],
        {"customers": whole},
    ),
    "diamonds": (
        ("diamonds", "--limit", "8"),
        "customers",
        [
            "customer_id",
            "name",
            "external_id",
            "city",
            "monetary",
            "frequency",
            "relationship_index",
            "reasons",
        ],
        {"monetary": money},
    ),
    "clv": (
        ("clv", "--limit", "8"),
        "customers",
        [
            "id",
            "name",
            "external_id",
            "value_tier",
            "lifecycle_stage",
            "predicted_clv",
            "clv_low",
            "clv_high",
            "p_alive",
            "expected_purchases_90d",
        ],
        {"predicted_clv": money, "clv_low": money, "clv_high": money, "p_alive": two},
    ),
    "at-risk": (
        ("at-risk", "--limit", "8"),
        "customers",
        [
            "id",
            "name",
            "external_id",
            "value_tier",
            "churn_risk",
            "predicted_clv",
            "value_at_risk",
            "reasons",
        ],
        {"churn_risk": risk, "value_at_risk": money},
    ),
    "clusters": (
        ("clusters",),
        "clusters",
        ["cluster", "customers", "share", *(f"z_{f}" for f in FEATURES), "description"],
        {"customers": whole, "share": share},
    ),
    "relations": (
        ("relations",),
        "correlations",
        ["degree", "other", "correlation", "customers"],
        {"correlation": two},
    ),
    "status": (("status",), "tables", ["table", "rows"], {"rows": whole}),
}


def _json_rows(name: str, doc: dict) -> list[dict]:
    if name == "status":  # {table: rows}, as scripts have read it
        return [{"table": k, "rows": v} for k, v in doc["tables"].items()]
    return doc[COMMANDS[name][1]]


def agrees(cell: str, value: Any) -> bool:
    """A CSV cell holds the JSON value: raw, no thousands separators, empty for null."""
    if value is None:
        return cell == ""
    if isinstance(value, bool):
        return cell == str(value)
    if isinstance(value, int | float):
        return float(cell) == pytest.approx(value, rel=1e-9, abs=1e-9)
    if isinstance(value, list | dict):
        return json.loads(cell) == value
    return cell == value


@pytest.mark.usefixtures("shop")
@pytest.mark.parametrize("name", list(COMMANDS))
def test_json_and_csv_parse_and_agree(name: str) -> None:
    args, _, header, _ = COMMANDS[name]
    out = invoke(*args, "--format", "json")
    assert out.exit_code == 0, out.output
    rows = _json_rows(name, json.loads(out.stdout))
    assert rows, f"{name}: nothing to compare"
    got = invoke(*args, "--format", "csv")
    assert got.exit_code == 0, got.output
    reader = csv.DictReader(io.StringIO(got.stdout))
    assert reader.fieldnames == header
    lines = list(reader)
    assert len(lines) == len(rows)
    for line, row in zip(lines, rows, strict=True):
        for key in header:
            assert agrees(line[key], row.get(key)), (name, key, line[key], row.get(key))


@pytest.mark.usefixtures("shop")
@pytest.mark.parametrize("name", list(COMMANDS))
def test_tables_at_80_columns_show_every_number_uncut(name: str) -> None:
    args, _, _, shown = COMMANDS[name]
    rows = _json_rows(name, json.loads(invoke(*args, "--format", "json").stdout))
    table = invoke(*args)
    assert table.exit_code == 0, table.output
    text = table.stdout
    assert "…" not in text
    assert max(len(line) for line in text.splitlines()) <= 80
    for row in rows:
        for key, fmt in shown.items():
            if row.get(key) is not None:
                assert fmt(row[key]) in text, (name, key, fmt(row[key]))


@pytest.mark.usefixtures("shop")
def test_the_reports_read_the_store() -> None:
    """The JSON figures are the snapshot's: sizes add up to the customers scored, the CLV
    list is the snapshot's highest predicted CLV, status counts the rows."""
    engine = create_engine(get_settings().database_url)
    s = schema.customer_scores
    with engine.connect() as conn:
        scored = conn.execute(
            sa.select(sa.func.count()).where(s.c.as_of == dt.date.fromisoformat(DAY))
        ).scalar_one()
        top = conn.execute(
            sa.select(s.c.customer_id, s.c.predicted_clv)
            .where(s.c.as_of == dt.date.fromisoformat(DAY), s.c.predicted_clv.is_not(None))
            .order_by(s.c.predicted_clv.desc(), s.c.customer_id)
            .limit(8)
        ).all()
        diamonds = conn.execute(
            sa.select(sa.func.count()).where(
                s.c.as_of == dt.date.fromisoformat(DAY), s.c.value_tier == "diamond"
            )
        ).scalar_one()
        orders = conn.execute(sa.select(sa.func.count()).select_from(schema.orders)).scalar_one()
    engine.dispose()
    tiers = json.loads(invoke("tiers", "--format", "json").stdout)
    assert tiers["as_of"] == DAY and sum(g["customers"] for g in tiers["groups"]) == scored
    clv = json.loads(invoke("clv", "--limit", "8", "--format", "json").stdout)["customers"]
    assert [(r["id"], r["predicted_clv"]) for r in clv] == [
        (i, pytest.approx(float(v))) for i, v in top
    ]
    found = json.loads(invoke("diamonds", "--limit", "8", "--format", "json").stdout)
    assert found["diamonds"] == diamonds and len(found["customers"]) == min(8, diamonds)
    status = json.loads(invoke("status", "--format", "json").stdout)
    assert status["tables"]["orders"] == orders
    assert json.loads(invoke("status", "--json").stdout) == status


@pytest.mark.usefixtures("shop")
def test_a_narrow_table_names_the_columns_it_leaves_out() -> None:
    text = invoke("tiers").stdout
    flat = " ".join(text.split())
    for header in ("价值分层", "客户", "客户占比", "销售额"):
        assert header in flat
    assert "终端太窄，未显示：" in flat and "推荐度" in flat.split("终端太窄，未显示：")[1]
    console._width = 240
    wide = invoke("tiers").stdout
    assert "终端太窄" not in wide and "推荐度" in wide


# --- churn reasons say which way they move the risk -------------------------------------------


@pytest.mark.usefixtures("shop")
def test_at_risk_reasons_state_their_direction(monkeypatch: pytest.MonkeyPatch) -> None:
    from rapport.i18n.labels import t

    warnings = json.loads(invoke("at-risk", "--limit", "5", "--format", "json").stdout)
    rows = warnings["customers"]
    assert rows and all(r["reasons"] for r in rows)
    text = " ".join(invoke("at-risk", "--limit", "5").stdout.split())
    for r in rows:
        for reason in r["reasons"]:
            word = "提高风险" if reason["direction"] == "raises" else "降低风险"
            assert f"{t('feature.' + reason['feature'])}" in text
            assert word in text
    monkeypatch.setenv("RAPPORT_LOCALE", "en")
    english = invoke("at-risk", "--limit", "5").stdout
    assert "↑ raises risk" in english and "提高风险" not in english


@pytest.mark.usefixtures("shop")
def test_the_card_shows_predictions_and_each_reasons_direction() -> None:
    from rapport.i18n.labels import t

    first = json.loads(invoke("at-risk", "--limit", "1", "--format", "json").stdout)
    customer = first["customers"][0]
    doc = json.loads(invoke("customer", str(customer["id"]), "--format", "json").stdout)
    snap = doc["snapshot"]
    assert snap["as_of"] == DAY
    assert snap["predicted_clv"] == pytest.approx(customer["predicted_clv"])
    assert snap["clv_low"] <= snap["predicted_clv"] <= snap["clv_high"]
    assert 0 <= snap["p_alive"] <= 1 and snap["churn_source"] == "classifier"
    # the card lists every stored reason, both ways; at-risk only those that raise the risk
    directions = {r["direction"] for r in snap["churn_reasons"]}
    assert directions <= {"raises", "lowers"}
    assert [r for r in snap["churn_reasons"] if r["direction"] == "raises"] == customer["reasons"]
    card = invoke("customer", customer["external_id"])  # by the customer number
    assert card.exit_code == 0, card.output
    text = card.stdout
    assert "…" not in text
    flat = " ".join(text.split())
    for key in ("predicted_clv", "clv_low", "clv_high"):
        assert money(snap[key]) in text
    assert f"存活概率: {two(snap['p_alive'])}" in flat
    assert f"流失风险: {snap['churn_risk'] * 100:.0f}%" in flat
    for reason in snap["churn_reasons"]:
        word = "↑ 提高风险" if reason["direction"] == "raises" else "↓ 降低风险"
        assert f"{t('feature.' + reason['feature'])}" in flat
        assert word in flat
    row = next(
        csv.DictReader(
            io.StringIO(invoke("customer", str(customer["id"]), "--format", "csv").stdout)
        )
    )
    for key in ("predicted_clv", "clv_low", "clv_high", "p_alive", "churn_risk"):
        assert float(row[key]) == pytest.approx(snap[key])
