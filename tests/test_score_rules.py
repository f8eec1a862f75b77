"""The ``[scores]`` business rules: packaged defaults, validation, labels for every id."""

from __future__ import annotations

from pathlib import Path

import pytest

from rapport.config import LIFECYCLE_PHASES, load_rules
from rapport.domain import EventKind, InteractionChannel, LifecycleStage, ValueTier
from rapport.errors import ConfigError
from rapport.i18n.labels import LABELS


def rules_with(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, text: str):
    path = tmp_path / "rules.toml"
    path.write_text(text, encoding="utf-8")
    monkeypatch.setenv("RAPPORT_CONFIG_FILE", str(path))
    from rapport.config import get_settings

    get_settings.cache_clear()
    return load_rules()


def test_defaults_cover_every_kind_channel_and_stage() -> None:
    scores = load_rules().scores
    assert set(scores.engagement.event_weights) == set(EventKind)
    assert set(scores.engagement.interaction_weights) == set(InteractionChannel)
    assert set(scores.lifecycle.phases) == set(LifecycleStage)
    assert set(scores.lifecycle.phases.values()) == set(LIFECYCLE_PHASES)
    assert [r.tier for r in scores.tiers.rules] == [
        ValueTier.DIAMOND,
        ValueTier.GOLD,
        ValueTier.SILVER,
    ]


def test_every_segment_and_phase_has_both_labels() -> None:
    scores = load_rules().scores
    ids = {rule.id for rule in scores.rfm.segments}
    assert len(ids) == 9
    for key in [f"segment.{i}" for i in ids] + [f"phase.{p}" for p in LIFECYCLE_PHASES]:
        zh, en = LABELS[key]
        assert zh and en and zh != en


def test_default_segment_map_names_the_classic_cells() -> None:
    segments = load_rules().scores.rfm.segments

    def segment(r: int, f: int, m: int) -> str:
        return next(rule.id for rule in segments if rule.matches(r, f, m))

    assert segment(5, 5, 5) == "champions"
    assert segment(5, 5, 1) == "loyal"
    assert segment(5, 1, 5) == "new"
    assert segment(4, 3, 2) == "potential_loyalist"
    assert segment(1, 5, 5) == "at_risk"
    assert segment(1, 1, 5) == "lost"
    assert segment(1, 2, 1) == "hibernating"
    assert segment(3, 1, 3) == "about_to_sleep"
    assert segment(3, 3, 3) == "need_attention"


def test_a_segment_map_with_holes_is_refused(monkeypatch, tmp_path) -> None:
    text = '[[scores.rfm.segments]]\nid = "lost"\nr = [1, 1]\n'
    with pytest.raises(ConfigError, match="does not cover r=2 f=1 m=1"):
        rules_with(monkeypatch, tmp_path, text)


def test_a_segment_map_may_be_replaced_whole(monkeypatch, tmp_path) -> None:
    text = (
        '[scores.rfm]\nlapsed_segment = "rest"\n'
        '[[scores.rfm.segments]]\nid = "best"\nr = [5, 5]\nf = [5, 5]\n'
        '[[scores.rfm.segments]]\nid = "rest"\n'
    )
    rfm = rules_with(monkeypatch, tmp_path, text).scores.rfm
    assert [s.id for s in rfm.segments] == ["best", "rest"]


def test_the_lapsed_segment_must_be_in_the_map(monkeypatch, tmp_path) -> None:
    with pytest.raises(ConfigError, match="lapsed_segment 'gone'"):
        rules_with(monkeypatch, tmp_path, '[scores.rfm]\nlapsed_segment = "gone"\n')


def test_tiers_are_listed_from_the_top(monkeypatch, tmp_path) -> None:
    text = '[[scores.tiers.rules]]\ntier = "gold"\n[[scores.tiers.rules]]\ntier = "diamond"\n'
    with pytest.raises(ConfigError, match="from the top"):
        rules_with(monkeypatch, tmp_path, text)


def test_bronze_has_no_rule(monkeypatch, tmp_path) -> None:
    with pytest.raises(ConfigError, match="bronze has no rule"):
        rules_with(monkeypatch, tmp_path, '[[scores.tiers.rules]]\ntier = "bronze"\n')


def test_weights_must_not_all_be_zero(monkeypatch, tmp_path) -> None:
    text = "[scores.satisfaction.survey_weights]\ncsat = 0.0\nperceived_value = 0.0\n"
    with pytest.raises(ConfigError, match=r"scores\.satisfaction\.survey_weights"):
        rules_with(monkeypatch, tmp_path, text)


def test_an_unknown_event_kind_is_refused(monkeypatch, tmp_path) -> None:
    with pytest.raises(ConfigError, match="event_weights"):
        rules_with(monkeypatch, tmp_path, "[scores.engagement.event_weights]\nteleport = 1.0\n")


def test_one_weight_overrides_and_the_rest_stay(monkeypatch, tmp_path) -> None:
    scores = rules_with(
        monkeypatch, tmp_path, "[scores.engagement.event_weights]\npage_view = 0.1\n"
    ).scores
    assert scores.engagement.event_weights[EventKind.PAGE_VIEW] == 0.1
    assert scores.engagement.event_weights[EventKind.EVENT_ATTEND] == 5.0
