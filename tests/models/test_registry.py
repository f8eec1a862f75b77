"""Versioned JSON persistence of fitted models."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pytest

from rapport.errors import NotFound, ValidationFailed
from rapport.models.registry import FORMAT, ModelRegistry, registry


def test_save_and_load_latest(tmp_path):
    reg = ModelRegistry(tmp_path)
    t0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    first = reg.save("bgnbd", {"params": {"r": 0.2}}, data={"customers": 10}, now=t0)
    second = reg.save(
        "bgnbd",
        {"params": {"r": 0.3}, "cov": np.eye(2)},
        config={"time_unit": "weeks"},
        now=t0 + dt.timedelta(seconds=1),
    )
    assert reg.versions("bgnbd") == [first.version, second.version]
    latest = reg.load("bgnbd")
    assert latest.version == second.version
    assert latest.model == {"params": {"r": 0.3}, "cov": [[1.0, 0.0], [0.0, 1.0]]}
    assert latest.config == {"time_unit": "weeks"}
    assert latest.software["rapport"]
    assert reg.load("bgnbd", first.version).model == {"params": {"r": 0.2}}
    assert set(reg.latest()) == {"bgnbd"}
    doc = json.loads(second.path.read_text(encoding="utf-8"))
    assert doc["format"] == FORMAT and doc["kind"] == "bgnbd"
    assert not list(tmp_path.rglob("*.tmp"))


def test_missing_and_unknown(tmp_path):
    reg = ModelRegistry(tmp_path)
    with pytest.raises(NotFound, match="rapport models fit"):
        reg.load("churn")
    reg.save("churn", {"x": 1})
    with pytest.raises(NotFound, match="no churn model version nope"):
        reg.load("churn", "nope")
    with pytest.raises(ValidationFailed, match="unknown model kind"):
        reg.save("xgboost", {})


def test_refuses_newer_format_and_garbage(tmp_path):
    reg = ModelRegistry(tmp_path)
    rec = reg.save("gammagamma", {"p": 6.25})
    doc = json.loads(rec.path.read_text(encoding="utf-8"))
    doc["format"] = FORMAT + 1
    rec.path.write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(ValidationFailed, match="newer than this Rapport reads"):
        reg.load("gammagamma")
    rec.path.write_text("{not json", encoding="utf-8")
    with pytest.raises(ValidationFailed, match="not a readable model document"):
        reg.load("gammagamma")


def test_registry_lives_in_the_data_dir(tmp_path):
    from rapport.config import Settings

    settings = Settings(data_dir=str(tmp_path / "d"))
    assert registry(settings).root == tmp_path / "d" / "models"
