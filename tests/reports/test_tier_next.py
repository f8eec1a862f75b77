"""The tier above a snapshot row's, beside what :func:`tier_reasons` says is lacking for it."""

from __future__ import annotations

import json

from rapport.config import load_rules
from rapport.domain import ValueTier
from rapport.reports.tiers import next_tier, tier_reasons


def row(tier: str | None, following: str | None, missing: list[str], *, text: bool) -> dict:
    parts = {
        "rfm": {"revenue_rank": 0.93},
        "value_tier": {"next": following, "missing": missing},
    }
    return {
        "value_tier": tier,
        "loyalty": 41.0,
        "satisfaction": 80.0,
        "engagement": 55.0,
        "churn_risk": 0.2,
        "lifecycle_stage": "active",
        "components": json.dumps(parts) if text else parts,
    }


def test_the_next_tier_is_the_one_whose_failing_checks_are_lacking() -> None:
    rules = load_rules()
    for text in (True, False):  # stored as JSON text, or read as a mapping
        silver = row("silver", "gold", ["loyalty"], text=text)
        assert next_tier(silver) is ValueTier.GOLD
        _, lacking = tier_reasons(silver, rules, "en")
        assert len(lacking) == 1 and lacking[0] == "Loyalty: 41.0 (≥ 45)"


def test_no_next_tier_at_the_top_or_without_a_tier() -> None:
    assert next_tier(row("diamond", None, [], text=False)) is None
    assert next_tier({"value_tier": None, "components": None}) is None
    assert next_tier({"value_tier": "bronze"}) is None
