"""`rapport loyalty tiers|tier`: the tier evaluation from the command line (a dry run, the
run, nothing more the second time, a grace and then a downgrade at later dates) and a
member's tier card."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from typer.testing import CliRunner

from rapport.cli.main import app
from rapport.config import get_settings
from rapport.domain import LoyaltyReason
from rapport.store import customers, loyalty, session_scope
from rapport.store.db import create_engine, upgrade

runner = CliRunner()
EARNED = dt.datetime(2024, 6, 1, 4, tzinfo=dt.UTC)


@pytest.fixture
def members() -> tuple[int, int]:
    """A member who earned 2,500 points on 2024-06-01 (silver by the default rules) and a
    customer outside the programme."""
    engine = create_engine(get_settings().database_url)
    try:
        upgrade(engine)
        with session_scope(engine) as session:
            joined = dt.datetime(2023, 1, 1, tzinfo=dt.UTC)
            cid = customers.repo.create(
                session=session,
                values={"external_id": "C-1", "name": "王芳", "loyalty_joined_at": joined},
            )["id"]
            other = customers.repo.create(
                session=session, values={"external_id": "C-2", "name": "李雷"}
            )["id"]
            loyalty.append(
                session=session,
                values={
                    "customer_id": cid,
                    "points": 2500,
                    "reason": LoyaltyReason.PURCHASE,
                    "occurred_at": EARNED,
                },
            )
    finally:
        engine.dispose()
    return int(cid), int(other)


def _json(*args: str) -> Any:
    result = runner.invoke(app, ["loyalty", *args, "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _counts(row: dict[str, Any]) -> tuple[int, ...]:
    names = ("members", "initial", "upgrades", "downgrades", "graces", "written")
    return tuple(row[n] for n in names)


def test_tiers_dry_run_then_run_then_nothing_more_then_grace_and_downgrade(
    members: tuple[int, int],
) -> None:
    cid, _ = members
    dry = _json("tiers", "--as-of", "2024-06-30", "--dry-run")["run"][0]
    assert _counts(dry) == (1, 1, 0, 0, 0, 1) and dry["dry_run"] is True
    assert dry["basis"] == "points"
    assert _json("tier", str(cid))["tier"][0]["evaluated"] is False
    done = _json("tiers", "--as-of", "2024-06-30")["run"][0]
    assert _counts(done) == (1, 1, 0, 0, 0, 1)
    assert _json("tiers", "--as-of", "2024-06-30")["run"][0]["written"] == 0
    card = _json("tier", str(cid))["tier"][0]
    assert card["tier"]["code"] == "silver" and card["evaluated"] is True
    assert (card["since"], card["review_on"]) == ("2024-06-30", "2024-07-01")
    # a year on the points have left the window: a grace from the review, then down
    graced = _json("tiers", "--as-of", "2025-07-01")["run"][0]
    assert (graced["graces"], graced["downgrades"]) == (1, 0)
    down = _json("tiers", "--as-of", "2025-07-31")["run"][0]
    assert down["downgrades"] == 1
    card = _json("tier", str(cid))["tier"][0]
    assert card["tier"]["code"] == "member" and card["since"] == "2025-07-31"


def test_the_tables_speak_the_locale_and_a_non_member_is_said_so(
    members: tuple[int, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    cid, other = members
    monkeypatch.setenv("RAPPORT_LOCALE", "en")
    get_settings.cache_clear()
    result = runner.invoke(app, ["loyalty", "tiers", "--as-of", "2024-06-30"])
    assert result.exit_code == 0, result.output
    assert "Programme tiers evaluated (as of 2024-06-30, by points earned)" in result.output
    result = runner.invoke(app, ["loyalty", "tier", str(cid)])
    assert "Silver" in result.output and "Next review" in result.output
    outsider = runner.invoke(app, ["loyalty", "tier", str(other)])
    assert f"Customer {other} is not a member" in outsider.output
    missing = runner.invoke(app, ["loyalty", "tier", "999"])
    assert missing.exit_code != 0
    bad = runner.invoke(app, ["loyalty", "tiers", "--as-of", "June"])
    assert bad.exit_code != 0 and "--as-of 'June'" in str(bad.exception)
