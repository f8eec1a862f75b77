"""Versioned persistence of fitted models as JSON — never pickles.

A fitted model is saved as ``<data_dir>/models/<kind>/<version>.json``::

    {
      "format": 1,
      "kind": "bgnbd",
      "version": "20261125T031500Z-1a2b3c",
      "created_at": "2026-11-25T03:15:00+00:00",
      "software": {"rapport": "0.1.0", "numpy": "...", "scipy": "...", "scikit-learn": "..."},
      "config": {...the rules it was fitted with...},
      "data": {"fingerprint": "sha256:...", "customers": 20000, ...},
      "metrics": {...fit report, backtest figures...},
      "model": {...the model's own to_dict()...}
    }

Versions sort by time, so the latest is the greatest; older versions stay (a model can be
compared with, or rolled back to, an earlier one). A file in a newer format than this
version of Rapport understands is refused with what to do.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib.metadata
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rapport.errors import NotFound, ValidationFailed

FORMAT = 1
#: Model kinds and what they are.
KINDS: dict[str, str] = {
    "bgnbd": "BG/NBD purchase model (Fader, Hardie & Lee 2005)",
    "mbgnbd": "MBG/NBD purchase model (Batislam, Denizel & Filiztekin 2007)",
    "paretonbd": "Pareto/NBD purchase model (Schmittlein, Morrison & Colombo 1987)",
    "gammagamma": "Gamma-Gamma spend model (Fader, Hardie & Lee 2005)",
    "churn": "churn early-warning classifier",
    "demand": "category demand forecaster",
}
SOFTWARE = ("rapport", "numpy", "scipy", "scikit-learn")


@dataclass(frozen=True)
class ModelRecord:
    """One saved model: its identity, provenance and the model's own document."""

    kind: str
    version: str
    created_at: str
    model: dict[str, Any]
    config: dict[str, Any] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    software: dict[str, str] = field(default_factory=dict)
    path: Path | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "kind": self.kind,
            "version": self.version,
            "created_at": self.created_at,
            "software": self.software,
            "config": self.config,
            "data": self.data,
            "metrics": self.metrics,
            "model": self.model,
        }


def _software() -> dict[str, str]:
    out = {}
    for name in SOFTWARE:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def _check_kind(kind: str) -> str:
    if kind not in KINDS:
        raise ValidationFailed(
            "unknown model kind {kind!r}",
            field="kind",
            value=kind,
            hint="use one of: {kinds}",
            key="model_kind_unknown",
            params={"kind": kind, "kinds": ", ".join(KINDS)},
        )
    return kind


def _default(value: Any) -> Any:
    """JSON for numpy scalars and arrays, dates; anything else is refused."""
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


class ModelRegistry:
    """The saved models under ``root`` (usually ``<data_dir>/models``)."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def save(
        self,
        kind: str,
        model: dict[str, Any],
        *,
        config: dict[str, Any] | None = None,
        data: dict[str, Any] | None = None,
        metrics: dict[str, Any] | None = None,
        now: dt.datetime | None = None,
    ) -> ModelRecord:
        """Write a new version of ``kind`` and return its record."""
        _check_kind(kind)
        moment = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
        body = json.dumps(model, sort_keys=True, default=_default).encode()
        version = (
            f"{moment:%Y%m%dT%H%M%S}{moment.microsecond:06d}Z-"
            + (hashlib.sha256(body).hexdigest()[:6])
        )
        record = ModelRecord(
            kind=kind,
            version=version,
            created_at=moment.isoformat(),
            model=model,
            config=config or {},
            data=data or {},
            metrics=metrics or {},
            software=_software(),
        )
        folder = self.root / kind
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{version}.json"
        tmp = path.with_suffix(".json.tmp")
        text = json.dumps(record.to_dict(), indent=1, ensure_ascii=False, default=_default)
        tmp.write_text(text + "\n", encoding="utf-8")
        os.replace(tmp, path)  # readers never see half a file
        return ModelRecord(**{**record.__dict__, "path": path})

    def versions(self, kind: str) -> list[str]:
        """Saved versions of ``kind``, oldest first."""
        folder = self.root / _check_kind(kind)
        if not folder.is_dir():
            return []
        return sorted(p.stem for p in folder.glob("*.json"))

    def load(self, kind: str, version: str | None = None) -> ModelRecord:
        """The saved ``version`` of ``kind`` (default: the latest).

        Raises
        ------
        NotFound
            When nothing (or not that version) is saved.
        ValidationFailed
            When the file is not a model document this Rapport can read.
        """
        versions = self.versions(kind)
        if not versions:
            raise NotFound(
                "no {kind} model is saved under {root}",
                hint="fit one with `rapport models fit`",
                key="model_not_saved",
                params={"kind": kind, "root": self.root},
            )
        chosen = version or versions[-1]
        path = self.root / kind / f"{chosen}.json"
        if not path.is_file():
            raise NotFound(
                "no {kind} model version {version}",
                hint="saved versions: {versions}",
                key="model_version_missing",
                params={"kind": kind, "version": chosen, "versions": ", ".join(versions[-5:])},
            )
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ValidationFailed(
                "{path}: not a readable model document ({reason})",
                hint="refit the model with `rapport models fit`",
                key="model_document_unreadable",
                params={"path": str(path), "reason": str(exc)},
                hint_key="model_refit.hint",
            ) from exc
        if not isinstance(doc, dict) or doc.get("kind") != kind or "model" not in doc:
            raise ValidationFailed(
                "{path}: not a {kind} model document",
                hint="refit the model with `rapport models fit`",
                key="model_document_kind",
                params={"path": str(path), "kind": kind},
                hint_key="model_refit.hint",
            )
        if doc.get("format", 0) > FORMAT:
            raise ValidationFailed(
                "{path}: model format {format} is newer than this Rapport reads ({reads})",
                hint="upgrade Rapport, or refit the model with `rapport models fit`",
                key="model_document_newer",
                params={"path": str(path), "format": doc.get("format"), "reads": FORMAT},
            )
        return ModelRecord(
            kind=kind,
            version=doc["version"],
            created_at=doc.get("created_at", ""),
            model=doc["model"],
            config=doc.get("config", {}),
            data=doc.get("data", {}),
            metrics=doc.get("metrics", {}),
            software=doc.get("software", {}),
            path=path,
        )

    def latest(self) -> dict[str, ModelRecord]:
        """The latest record of every kind that has one."""
        out = {}
        for kind in KINDS:
            if self.versions(kind):
                out[kind] = self.load(kind)
        return out


def registry(settings: Any) -> ModelRegistry:
    """The registry of a :class:`~rapport.config.Settings`: ``<data_dir>/models``."""
    return ModelRegistry(Path(settings.data_dir) / "models")


__all__ = ["FORMAT", "KINDS", "ModelRecord", "ModelRegistry", "registry"]
